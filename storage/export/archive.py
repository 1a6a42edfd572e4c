"""`zip`: the playlists (unchanged) and their slices under their original names, stored, streamed.

Stored, not deflated: MPEG-TS does not compress (playback.md §3.5). Entries are written one slice
at a time as the fetch pool delivers them, with ZIP64 forced so archives over 4 GiB stay valid;
only the fetch window is ever in memory. Flat names keep the archive playable after unzipping
(`ffplay <playlist>.m3u8`, VLC).
"""

from __future__ import annotations

import zipfile
from typing import Any

from storage.export.context import UnitContext
from storage.media.naming import split_key

_CHUNK = 1 << 20


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))  # fixed time: same input, same archive
    info.compress_type = zipfile.ZIP_STORED
    info.external_attr = 0o644 << 16
    return info


def export_zip(ctx: UnitContext) -> list[dict[str, Any]]:
    key = f"{ctx.unit.name}.zip"
    with ctx.dest.temp_file(key) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
            for track in ctx.unit.tracks:
                for item in ctx.fetch(track.present):
                    with zf.open(_entry(split_key(item.ref.key)[1]), "w", force_zip64=True) as member:
                        view = memoryview(item.data)
                        for start in range(0, len(view), _CHUNK):
                            member.write(view[start:start + _CHUNK])
                # The playlist last, byte for byte: it names the slices above by their bare names.
                for playlist in track.playlists:
                    zf.writestr(_entry(split_key(playlist.key)[1]), ctx.store.read(playlist.key))
        ctx.tracker.stage("write")
        return [ctx.dest.commit_file(tmp, key)]

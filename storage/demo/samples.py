"""Agora-style recordings written into any ObjectStore: for tests, the demo and the simulator.

Names follow `storage.media.naming`, slice names carry UTC start times that agree with their EXTINF, and
`faults` reproduce what goes wrong in real buckets (reference/agora.md §2.3, playback.md §1.5).
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.demo.synth import PlaylistItem, Slice, agora_playlist, make_slices
from storage.export.mp4 import remux_to_mp4
from storage.export.tracks import TrackSlice
from storage.media.naming import (
    RecordingKey,
    mp4_name,
    playlist_name,
    redelivered_playlist_name,
    slice_name,
    snapshot_name,
)
from storage.media.poster import poster_jpeg
from storage.stores.base import ObjectStore

FAULTS = frozenset({
    "missing_slice",  # a named slice is not uploaded
    "empty_slice",  # a named slice is a 0-byte object
    "truncated_slice",  # a named slice is cut mid-packet (size not a multiple of 188)
    "not_ts_slice",  # a named slice holds an XML error body
    "orphan_slice",  # one more slice uploaded than the playlist names
    "no_endlist",  # the playlist has no #EXT-X-ENDLIST (still recording / stopped abnormally)
    "no_playlist",  # slices without a playlist (still in Agora's backup)
    "hostile_uri",  # the playlist names ../<name>.ts outside its folder
    "malformed_playlist",  # the playlist object is an HTML error page
    "backup_redelivery",  # a short plain playlist beside a whole `<base>_<tick>_<index>.m3u8`
})
FAULTY_INDEX = 2  # which slice the per-slice faults hit (0-based; clamped to the last slice)
FAILOVER_GAP_S = 3.0  # seconds lost while a failed-over recorder restarts
HOSTILE_URI = "../escape_20000101000000000.ts"
REDELIVERY_TICK = 1735000000
XML_ERROR = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InternalError</Code>'
             b"<Message>We encountered an internal error.</Message></Error>\n")
HTML_ERROR = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>\n"


@dataclass(frozen=True)
class MediaSpec:
    fps: int = 15
    width: int = 160
    height: int = 120


def write_recording(store: ObjectStore, folder: str, key: RecordingKey, start: datetime, *, slices: int = 6,
                    slice_s: float = 1.0, faults: Collection[str] = frozenset(), failover_parts: int = 0,
                    media: MediaSpec = MediaSpec(), snapshots: bool = False, mp4: bool = False) -> list[str]:
    """Write one recording under `folder` ("" or ending in "/") and return the keys written.

    Individual-mode keys (`uid` + `stream`) get audio-only or video-only media as Agora records them.
    `failover_parts` adds `bak0_`, `bak1_`… parts after the original, each `slices` long, after a
    short gap. Faults (see `FAULTS`) apply to the original part only. `snapshots` adds one Agora
    screenshot `.jpg` per slice (individual video only); `mp4` adds the `<sid>_<cname>_0.mp4` that
    `hls_and_mp4` / web recording write (composite only), remuxed from the original part's slices.
    """
    unknown = set(faults) - FAULTS
    if unknown:
        raise ValueError(f"unknown faults: {sorted(unknown)}")
    if folder and not folder.endswith("/"):
        folder += "/"
    audio = key.stream != "video"
    video = key.stream != "audio"
    written: list[str] = []
    offset = 10.0  # PTS timeline offset (see media.make_slices)
    when = start.astimezone(UTC)
    for failover in [None, *range(failover_parts)]:
        extra = 1 if failover is None and "orphan_slice" in faults else 0
        pieces = make_slices((slices + extra) * slice_s, slice_s, fps=media.fps, width=media.width,
                             height=media.height, audio=audio, video=video, start_offset_s=offset)
        part_faults = set(faults) if failover is None else set()
        written += _write_part(store, folder, key, failover, when, pieces, slices, part_faults)
        if failover is None:
            written += _write_pictures(store, folder, key, when, pieces[:slices], snapshots=snapshots, mp4=mp4)
        seconds = sum(p.duration_s for p in pieces)
        offset += seconds + FAILOVER_GAP_S
        when += timedelta(seconds=seconds + FAILOVER_GAP_S)
    return written


def _write_part(store: ObjectStore, folder: str, key: RecordingKey, failover: int | None, start: datetime,
                pieces: list[Slice], named: int, faults: set[str]) -> list[str]:
    written: list[str] = []
    items: list[PlaylistItem] = []
    faulty = min(FAULTY_INDEX, named - 1)
    when = start
    for index, piece in enumerate(pieces):
        name = slice_name(key, when, failover)
        when += timedelta(seconds=piece.duration_s)
        if index < named:
            items.append(PlaylistItem(name, piece.duration_s))
        data = _faulty_data(piece.data, faults) if index == faulty else piece.data
        if data is None:
            continue
        store.write(folder + name, data)
        written.append(folder + name)
    if "hostile_uri" in faults:
        items.insert(min(len(items), faulty + 1), PlaylistItem(HOSTILE_URI, pieces[0].duration_s))
    if "no_playlist" in faults:
        return written
    track = "AUDIO" if key.stream == "audio" else "VIDEO"
    endlist = "no_endlist" not in faults
    text = HTML_ERROR if "malformed_playlist" in faults else agora_playlist(items, endlist=endlist,
                                                                               track_event=track)
    plain = folder + playlist_name(key, failover)
    if "backup_redelivery" in faults:
        # The original upload stopped half-way; Agora later transfers a whole snapshot under a new name.
        half = agora_playlist(items[: max(1, len(items) // 2)], endlist=False, track_event=track)
        store.write(plain, half.encode())
        redelivered = folder + redelivered_playlist_name(key, REDELIVERY_TICK, 0, failover)
        store.write(redelivered, text.encode())
        return [*written, plain, redelivered]
    store.write(plain, text.encode())
    return [*written, plain]


def _write_pictures(store: ObjectStore, folder: str, key: RecordingKey, start: datetime, pieces: list[Slice], *,
                    snapshots: bool, mp4: bool) -> list[str]:
    written: list[str] = []
    if snapshots:
        when = start
        for piece in pieces:
            jpeg = poster_jpeg(piece.data, width=MediaSpec().width * 2)
            if jpeg:
                written.append(folder + snapshot_name(key, when))
                store.write(written[-1], jpeg, content_type="image/jpeg")
            when += timedelta(seconds=piece.duration_s)
    if mp4:
        with tempfile.TemporaryDirectory(prefix="recshelf-demo-mp4-") as tmp:
            path = Path(tmp) / "out.mp4"
            remux_to_mp4([[TrackSlice(p.data) for p in pieces]], path)
            written.append(folder + mp4_name(key, 0))
            store.write(written[-1], path.read_bytes(), content_type="video/mp4")
    return written


def _faulty_data(data: bytes, faults: set[str]) -> bytes | None:
    """The faulty slice's bytes, or None when it is not uploaded at all."""
    if "missing_slice" in faults:
        return None
    if "empty_slice" in faults:
        return b""
    if "truncated_slice" in faults:
        return data[: len(data) // 2 + 100]  # mid-packet, as an interrupted upload leaves it
    if "not_ts_slice" in faults:
        return XML_ERROR
    return data


def demo_sid(label: str) -> str:
    """A stable 32-hex sid for a demo label."""
    return hashlib.md5(label.encode(), usedforsecurity=False).hexdigest()


DEMO_START = datetime(2026, 3, 14, 9, 30, 0, 125000, tzinfo=UTC)


def seed_demo(store: ObjectStore, folder: str = "recordings/") -> list[str]:
    """A handful of varied recordings for the demo, in a few seconds. Returns the keys written."""
    plans: list[tuple[str, RecordingKey, dict]] = [
        ("standup/", RecordingKey(demo_sid("standup"), "weekly standup"), {"slices": 8, "slice_s": 2.0, "mp4": True}),
        ("standup/", RecordingKey(demo_sid("sync"), "team_sync_01"), {"slices": 6}),
        ("class/", RecordingKey(demo_sid("class"), "class_7b", "1001", "audio"), {"slices": 6}),
        ("class/", RecordingKey(demo_sid("class"), "class_7b", "1001", "video"), {"slices": 6, "snapshots": True}),
        ("support/", RecordingKey(demo_sid("support"), "support call #42"), {"faults": {"missing_slice"}}),
        ("live/", RecordingKey(demo_sid("live"), "live_now"), {"faults": {"no_endlist"}}),
        ("backup/", RecordingKey(demo_sid("pending"), "pending upload"), {"faults": {"no_playlist"}}),
        ("backup/", RecordingKey(demo_sid("redelivered"), "re_delivered"), {"faults": {"backup_redelivery"}}),
        ("ha/", RecordingKey(demo_sid("failover"), "town hall"), {"slices": 4, "failover_parts": 1}),
    ]
    written: list[str] = []
    starts: dict[str, datetime] = {}
    for sub, key, options in plans:
        # One start per session: an individual-mode uid's audio and video are recorded side by side.
        start = starts.setdefault(key.sid, DEMO_START + timedelta(hours=len(starts)))
        written += write_recording(store, folder + sub, key, start, **options)
    return written

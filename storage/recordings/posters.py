"""A poster frame per recording, cached on disk by the source slice's identity.

The poster is the first keyframe of the recording's first non-empty video slice. The cache file is
named by a hash of the store URL, the slice key and its listed etag / size / time, so a re-uploaded
slice gets a new poster and nothing is ever invalidated by hand. A slice without a picture leaves an
empty file, so it is not decoded again on every page load.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from storage.media.poster import poster_jpeg
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectInfo, ObjectStore

HEAD_BYTES = 512 * 1024  # the first keyframe sits at the start of a slice: try this much first
MAX_SLICE_BYTES = 16 * 1024 * 1024  # never read more of one slice for a picture
VIDEO_SLICES = (".ts", ".webm")


def poster_source(rec: Recording) -> ObjectInfo | None:
    """The slice the poster comes from: the first non-empty one of a recording that has video."""
    if rec.key.stream == "audio":
        return None
    return next((s for s in rec.slices if s.size > 0 and s.key.lower().endswith(VIDEO_SLICES)), None)


def poster_path(folder: Path, store_url: str, source: ObjectInfo) -> Path:
    stamp = source.modified.isoformat() if source.modified else ""
    identity = "\0".join((store_url, source.key, source.etag or "", str(source.size), stamp))
    return folder / f"{hashlib.sha256(identity.encode()).hexdigest()[:40]}.jpg"


def cached_poster(folder: Path, store_url: str, rec: Recording) -> bytes | None:
    """The poster if it was made already (no store access), else None."""
    source = poster_source(rec)
    if source is None:
        return None
    try:
        data = poster_path(folder, store_url, source).read_bytes()
    except OSError:
        return None
    return data or None


def make_poster(folder: Path, store: ObjectStore, rec: Recording) -> bytes | None:
    """The poster, read from the store and decoded when not cached yet."""
    source = poster_source(rec)
    if source is None:
        return None
    path = poster_path(folder, store.url, source)
    if path.exists():
        return path.read_bytes() or None
    fmt = "mpegts" if source.key.lower().endswith(".ts") else None
    jpeg = poster_jpeg(store.read(source.key, 0, min(source.size, HEAD_BYTES)), container_format=fmt)
    if jpeg is None and source.size > HEAD_BYTES:
        jpeg = poster_jpeg(store.read(source.key, 0, min(source.size, MAX_SLICE_BYTES)), container_format=fmt)
    _write_atomically(path, jpeg or b"")
    return jpeg


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".poster-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

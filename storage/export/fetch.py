"""Bounded, parallel, in-order slice fetching with an on-disk resume cache.

A pool of `workers` threads downloads ahead of the consumer, at most `window` slices beyond the one
it is waiting for, so memory is bounded by the window, never by the recording's length. Slices come
out in playlist order. Each slice is checked (non-empty, same size as listed, starts as MPEG-TS)
before the consumer sees it, so a bad slice fails the export naming the slice. With a cache folder,
every fetched slice is also written there (temp name + rename), and a later run reads it back
instead of downloading it again — that is how an interrupted export resumes.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from storage.export.errors import SliceError, SourceUnavailable
from storage.export.options import DEFAULT_WORKERS
from storage.stores.base import NotFound, ObjectStore, StoreError

TS_PACKET = 188
TS_SYNC = 0x47

Check = Callable[["SliceRef", bytes, str], None]


@dataclass(frozen=True)
class SliceRef:
    key: str
    size: int | None = None  # from the listing; None when unknown
    etag: str | None = None
    kind: str = "ts"  # "ts" slices are checked as MPEG-TS; anything else only for emptiness and size


@dataclass(frozen=True)
class Fetched:
    index: int  # position in the requested sequence
    ref: SliceRef
    data: bytes
    cached: bool  # read back from the resume cache rather than downloaded


def check_ts(ref: SliceRef, data: bytes, url: str = "") -> None:
    """Raise `SliceError` unless `data` looks like a whole MPEG-TS slice matching the listing."""
    if not data:
        raise SliceError(ref.key, "is empty", url=url)
    if ref.size is not None and len(data) != ref.size:
        raise SliceError(ref.key, f"has {len(data)} bytes but was listed with {ref.size}; it changed during "
                         "the export", url=url)
    if ref.kind != "ts":
        return
    # Sync bytes at the first packets catch error pages, HTML and other files saved under a .ts name.
    if any(data[i] != TS_SYNC for i in range(0, min(len(data), 3 * TS_PACKET), TS_PACKET)):
        raise SliceError(ref.key, f"is not MPEG-TS (starts with {data[:16]!r})", url=url)


class SliceCache:
    """Finished slices of one export, kept in a work folder until the export succeeds."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path(self, ref: SliceRef) -> Path:
        # Size and etag are part of the name: a slice rewritten in the store is fetched again.
        digest = hashlib.sha1(f"{ref.key}\0{ref.size}\0{ref.etag}".encode()).hexdigest()[:20]
        return self.folder / f"{digest}.slice"

    def get(self, ref: SliceRef) -> bytes | None:
        try:
            data = self.path(ref).read_bytes()
        except OSError:
            return None
        return data if ref.size is None or len(data) == ref.size else None

    def put(self, ref: SliceRef, data: bytes) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".part-", dir=self.folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, self.path(ref))  # whole or absent: a crash never leaves half a cached slice
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def fetch_one(store: ObjectStore, ref: SliceRef, cache: SliceCache | None = None,
              check: Check = check_ts) -> tuple[bytes, bool]:
    """(bytes, cached) of one slice: from the cache when it holds it, else from the store (then cached)."""
    if cache is not None:
        data = cache.get(ref)
        if data is not None:
            return data, True
    try:
        data = store.read(ref.key)
    except NotFound:
        raise SliceError(ref.key, "is missing", url=store.url) from None
    except StoreError as exc:
        raise SourceUnavailable(f"{exc} (finished slices are kept; run the export again to resume)") from exc
    check(ref, data, store.url)
    if cache is not None:
        cache.put(ref, data)
    return data, False


def fetch_in_order(store: ObjectStore, refs: Sequence[SliceRef], *, workers: int = DEFAULT_WORKERS,
                   window: int | None = None, cache: SliceCache | None = None,
                   on_fetched: Callable[[Fetched], None] | None = None,
                   check: Check = check_ts) -> Iterator[Fetched]:
    """Yield every slice of `refs` in order while up to `window` of them are in flight or waiting.

    `on_fetched` runs on the worker thread as soon as a slice is done (progress), not when it is
    consumed. Closing the iterator early cancels pending downloads.
    """
    workers = max(1, workers)
    window = max(workers, window or 2 * workers)

    def job(index: int, ref: SliceRef) -> Fetched:
        data, cached = fetch_one(store, ref, cache, check)
        item = Fetched(index, ref, data, cached)
        if on_fetched is not None:
            on_fetched(item)
        return item

    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recshelf-fetch")
    pending: deque[Future[Fetched]] = deque()
    upcoming = iter(enumerate(refs))
    try:
        for index, ref in upcoming:
            pending.append(pool.submit(job, index, ref))
            if len(pending) >= window:
                break
        while pending:
            item = pending.popleft().result()
            nxt = next(upcoming, None)
            if nxt is not None:
                pending.append(pool.submit(job, *nxt))
            yield item
    finally:
        for fut in pending:
            fut.cancel()
        pool.shutdown(wait=True, cancel_futures=True)

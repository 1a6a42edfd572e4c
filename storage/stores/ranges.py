"""One listing of a big prefix as several key ranges fetched in parallel, yielded in key order.

Agora writes a recording's slices flat into one folder, so a busy prefix holds millions of keys
and one paginated listing is a thousand keys per round trip, one after another. Every bucket API
we speak can start a listing after a given key (S3 ``StartAfter``, OSS ``start-after``, Qiniu's
marker), so the key space is cut into ranges that are listed at the same time.

How the cut is chosen: the first two pages are listed alone, one after the other (most listings
end there, with the requests they always took). If there is more, the rest of the key space is
split at `prefix + c` and `folder + c` for the characters a sid starts with (hex digits, either
case) and a few more, where `folder` is the folder of the last key listed so far: that covers a
flat prefix and a prefix holding one big folder. Ranges that turn out empty cost one request each.

Memory stays bounded: at most `workers` ranges are in flight, each holding at most `QUEUE_PAGES`
pages, and the caller consumes ranges in key order, so the whole listing is never held.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial

from storage.stores.base import ObjectInfo

PAGE = 1000  # keys per request: the cap of S3, OSS and Qiniu alike
QUEUE_PAGES = 4  # pages a range may list ahead of the consumer
ALONE_PAGES = 2  # pages listed one after another before the rest is cut into ranges
DEFAULT_WORKERS = 8
# Where the sids of Agora recordings start (hex either case), and '~' so the range above the
# hex digits is bounded too; `sorted` puts them in code point order (= S3's UTF-8 byte order).
SPLIT_CHARS = "123456789ABCDEFGabcdefg~"
_TOP = "\U0010ffff"  # the highest code point: `x + _TOP + _TOP` sorts after every real key starting with x

# list_from(full_prefix, start_after) -> the objects under the prefix after that key, in key order,
# lazily paginated (closing the iterator stops the listing).
KeyLister = Callable[[str, str | None], Iterator[ObjectInfo]]


def before(key: str) -> str:
    """A start-after value that sorts below `key` and above every realistic key below it."""
    if not key:
        return ""
    last = ord(key[-1])
    if last == 0:
        return key[:-1]
    return key[:-1] + chr(last - 1) + _TOP + _TOP


def boundaries(prefix: str, last_key: str) -> list[str]:
    """Split points above `last_key` for the rest of a listing under `prefix` (see module doc)."""
    cut = last_key.rfind("/") + 1
    folder = last_key[:cut] if cut > len(prefix) else prefix
    points = {base + c for base in {prefix, folder} for c in SPLIT_CHARS}
    return sorted(point for point in points if point > last_key)


def ranged_listing(list_from: KeyLister, prefix: str, workers: int = DEFAULT_WORKERS) -> Iterator[ObjectInfo]:
    """Every object under `prefix` in key order: the first pages alone, the rest as parallel ranges."""
    last: str | None = None
    seen = 0
    first = list_from(prefix, None)
    try:
        for obj in first:
            yield obj
            last, seen = obj.key, seen + 1
            if seen >= ALONE_PAGES * PAGE and workers > 1:
                break
        else:
            return  # the listing ended within the pages listed alone: no range was worth a request
    finally:
        _close(first)
    assert last is not None
    cuts = boundaries(prefix, last)
    # Range i holds the keys in [lower_i, upper_i); the first one starts right after the pages listed alone.
    lowers: list[str | None] = [None, *cuts]
    uppers: list[str | None] = [*cuts, None]
    starts = [last, *(before(cut) for cut in cuts)]
    jobs = [partial(_range, list_from, prefix, s, lo, hi) for s, lo, hi in zip(starts, lowers, uppers, strict=True)]
    yield from _in_order(jobs, workers)


def _range(list_from: KeyLister, prefix: str, start_after: str, lower: str | None,
           upper: str | None) -> Iterator[ObjectInfo]:
    """Objects with lower <= key < upper, listed from `start_after` (exclusive) on."""
    objects = list_from(prefix, start_after)
    try:
        for obj in objects:
            if upper is not None and obj.key >= upper:
                return
            if lower is None or obj.key >= lower:
                yield obj
    finally:
        _close(objects)


def _close(iterator: Iterator[ObjectInfo]) -> None:
    close = getattr(iterator, "close", None)
    if close is not None:
        close()


_DONE = object()


def _in_order(ranges: list[Callable[[], Iterator[ObjectInfo]]], workers: int) -> Iterator[ObjectInfo]:
    """Run range listings on `workers` threads, a bounded window ahead, and yield them in order."""
    stop = threading.Event()
    queues: list[queue.Queue[object]] = [queue.Queue(QUEUE_PAGES) for _ in ranges]

    def fill(index: int) -> None:
        out = queues[index]
        batch: list[ObjectInfo] = []
        try:
            for obj in ranges[index]():
                batch.append(obj)
                if len(batch) >= PAGE:
                    if not _put(out, batch, stop):
                        return
                    batch = []
            if batch:
                _put(out, batch, stop)
            _put(out, _DONE, stop)
        except BaseException as exc:  # handed to the consumer, which raises it in its own thread
            _put(out, exc, stop)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recshelf-list") as pool:
        try:
            submitted = 0
            for index in range(len(ranges)):
                # Keep `workers` ranges ahead of the consumer: enough to overlap, few enough to bound memory.
                while submitted < len(ranges) and submitted < index + workers:
                    pool.submit(fill, submitted)
                    submitted += 1
                while (item := queues[index].get()) is not _DONE:
                    if isinstance(item, BaseException):
                        raise item
                    yield from item  # type: ignore[misc]
        finally:
            stop.set()


def _put(out: queue.Queue[object], item: object, stop: threading.Event) -> bool:
    """Put unless the consumer went away (then the producer ends instead of blocking forever)."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.2)
            return True
        except queue.Full:
            continue
    return False

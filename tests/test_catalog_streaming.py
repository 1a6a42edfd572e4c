"""iter_find on a flat prefix of many recordings: memory follows one recording, not the bucket."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from storage.media.naming import RecordingKey, playlist_name, slice_name
from storage.recordings.catalog import ListingStats, group, iter_find
from storage.stores.base import ObjectInfo

START = datetime(2026, 1, 1, 12, tzinfo=UTC)


class FlatBucket:
    """A listing generated on the fly, in key order: `recordings` recordings of `slices` slices side by side."""

    url = "test://flat"

    def __init__(self, recordings: int, slices: int) -> None:
        self.recordings, self.slices = recordings, slices

    def keys(self) -> Iterator[str]:
        for r in range(self.recordings):  # zero-padded hex sids: key order is numeric order
            key = RecordingKey(f"{r:032x}", "class")
            names = [playlist_name(key)] + [slice_name(key, START + timedelta(seconds=10 * i))
                                            for i in range(self.slices)]
            yield from sorted(names)

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return (ObjectInfo(k, 100, "e", START) for k in self.keys() if k.startswith(prefix))


def _peak(run) -> int:
    tracemalloc.start()
    try:
        run()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_flat_prefix_streams_with_memory_of_one_recording():
    bucket = FlatBucket(recordings=300, slices=40)  # 12,300 objects
    stats = ListingStats()
    counts: list[int] = []
    streaming = _peak(lambda: counts.extend(len(rec.slices) for rec in iter_find(bucket, stats=stats)))
    assert counts == [40] * 300 and stats.objects == 12_300
    holding = _peak(lambda: list(bucket.list()))  # the bare listing, held: what streaming must stay under
    assert streaming < holding / 4, f"streaming peak {streaming / 1e6:.1f} MB vs listing held {holding / 1e6:.1f} MB"


def test_streamed_recordings_equal_grouped_ones_with_failover_parts_elsewhere_in_the_folder():
    from storage.stores.memory import MemoryStore

    store = MemoryStore("streaming-failover")
    for r in (0x0A, 0xBA, 0xC0):  # sids before and after the "bak…" names in key order
        key = RecordingKey(f"{r:02x}" * 16, "room")
        for failover in (None, 0, 1):
            store.write(playlist_name(key, failover), b"#EXTM3U\n")
            store.write(slice_name(key, START, failover), b"x")
    store.write(f"bak0_{'dd' * 16}_lonely.m3u8", b"#EXTM3U\n")  # a failover part without its original
    streamed = list(iter_find(store))
    grouped = group(store.list())
    assert sorted((r.id, [p.failover for p in r.parts], len(r.slices)) for r in streamed) == sorted(
        (r.id, [p.failover for p in r.parts], len(r.slices)) for r in grouped)
    assert [p.failover for p in streamed[0].parts] == [None, 0, 1]
    MemoryStore.forget("streaming-failover")

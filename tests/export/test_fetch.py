"""The bounded, ordered fetcher and the checksum comparison used by copy."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from storage.export.checksums import matches, md5_hex, qetag
from storage.export.errors import SliceError
from storage.export.fetch import SliceCache, SliceRef, check_ts, fetch_in_order
from storage.stores.base import ObjectStore
from tests.fixtures.media import SpyStore


class SlowStore(SpyStore):
    """Reads take a little while; tracks how many are running at once."""

    def __init__(self, inner: ObjectStore) -> None:
        super().__init__(inner)
        self.running = self.peak = 0
        self._lock = threading.Lock()

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        time.sleep(0.01)
        try:
            return super().read(key, start, end)
        finally:
            with self._lock:
                self.running -= 1


@pytest.fixture
def ts_store(local_store_factory: Callable[..., ObjectStore], av_slices: list) -> tuple[ObjectStore, list[SliceRef]]:
    store = local_store_factory()
    refs = []
    for n in range(20):
        data = av_slices[n % len(av_slices)].data
        store.write(f"s/{n:03d}.ts", data)
        refs.append(SliceRef(f"s/{n:03d}.ts", len(data)))
    return store, refs


def test_slices_come_in_order_with_a_bounded_read_ahead(ts_store: tuple[ObjectStore, list[SliceRef]]) -> None:
    store, refs = ts_store
    slow = SlowStore(store)
    consumed = 0
    ahead = []
    for item in fetch_in_order(slow, refs, workers=3, window=4):
        assert item.ref == refs[consumed]
        consumed += 1
        ahead.append(len(slow.reads) - consumed)
        time.sleep(0.005)  # a slow consumer: downloads must wait for it, not pile up
    assert consumed == 20
    assert max(ahead) <= 4  # never more than `window` slices fetched but not yet consumed
    assert 1 < slow.peak <= 3


def test_cache_serves_finished_slices_on_a_rerun(ts_store: tuple[ObjectStore, list[SliceRef]], tmp_path: Path) -> None:
    store, refs = ts_store
    cache = SliceCache(tmp_path / "cache")
    list(fetch_in_order(store, refs[:5], workers=2, cache=cache))
    spy = SpyStore(store)
    items = list(fetch_in_order(spy, refs, workers=2, cache=cache))
    assert [i.cached for i in items] == [True] * 5 + [False] * 15
    assert spy.reads and not set(spy.reads) & {r.key for r in refs[:5]}


def test_checks_name_the_slice() -> None:
    ref = SliceRef("rec/x_20260102030405678.ts", 10)
    with pytest.raises(SliceError, match="x_20260102030405678.ts' is empty"):
        check_ts(ref, b"")
    with pytest.raises(SliceError, match="changed during the export"):
        check_ts(ref, b"G" * 11)
    with pytest.raises(SliceError, match="not MPEG-TS"):
        check_ts(SliceRef(ref.key), b"<?xml version='1.0'?><Error/>")


def test_etags_are_compared_only_when_they_are_checksums() -> None:
    data = b"slice bytes" * 1000
    assert matches(md5_hex(data), data) is True
    assert matches(f'"{md5_hex(data).upper()}"', data) is True  # OSS: upper case, quoted
    assert matches(md5_hex(b"other"), data) is False
    assert matches(qetag(data), data) is True and qetag(data).startswith("F")
    assert matches(f"{md5_hex(data)}-3", data) is None  # multipart
    assert matches("18f3a2c-1f40", data) is None  # a local store's mtime-size tag
    assert matches(None, data) is None

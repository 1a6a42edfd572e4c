"""MemoryStore specifics the conformance suite does not cover: sharing by name, threads, the registry."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.stores.base import InvalidConfig, StoreError
from storage.stores.memory import MemoryStore
from storage.stores.registry import open_store


@pytest.fixture
def name() -> Iterator[str]:
    name = f"mem-{uuid.uuid4().hex[:12]}"
    yield name
    MemoryStore.forget(name)


def test_stores_of_one_name_share_objects_and_prefixes_are_roots(name: str):
    whole = open_store(f"memory://{name}")
    rec = open_store(f"memory://{name}/rec/2024")
    assert isinstance(whole, MemoryStore) and whole.url == f"memory://{name}"
    assert rec.url == f"memory://{name}/rec/2024"
    rec.write("a.ts", b"abc")
    assert [(o.key, o.size) for o in whole.list()] == [("rec/2024/a.ts", 3)]
    assert whole.read("rec/2024/a.ts") == b"abc"
    assert rec.stat("a.ts") is not None and rec.stat("a.ts").key == "a.ts"
    assert list(open_store(f"memory://other-{name}").list()) == []
    MemoryStore.forget(name)
    assert list(MemoryStore(name).list()) == []


def test_concurrent_writers_and_readers_see_whole_objects(name: str):
    store = MemoryStore(name)
    keys = [f"k/{i:04d}.ts" for i in range(200)]

    def work(key: str) -> bytes:
        store.write(key, key.encode() * 100)
        list(store.list("k/"))
        return store.read(key)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, keys))
    assert results == [key.encode() * 100 for key in keys]
    assert [o.key for o in store.list()] == keys


def test_a_listing_is_not_disturbed_by_later_writes(name: str):
    store = MemoryStore(name)
    store.write("a.ts", b"1")
    listing = iter(store.list())
    assert next(listing).key == "a.ts"
    store.write("b.ts", b"2")  # written after the snapshot
    assert list(listing) == []


def test_signed_url_says_why_it_cannot_sign(name: str):
    store = MemoryStore(name)
    store.write("seg.ts", b"x")
    with pytest.raises(StoreError, match="cannot sign URLs") as caught:
        store.signed_url("seg.ts")
    assert f"memory://{name}" in str(caught.value)


def test_unknown_options_and_a_missing_name_are_refused():
    with pytest.raises(InvalidConfig, match="does not apply to a memory store"):
        open_store("memory://somewhere?region=x")
    with pytest.raises(InvalidConfig, match="no bucket"):
        open_store("memory:///just-a-path")

"""Parallel key-range listings (storage/stores/ranges.py), alone and through the S3 adapter on moto and SeaweedFS."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from storage.stores import ranges
from storage.stores.base import ObjectInfo, Unavailable
from storage.stores.ranges import PAGE, before, boundaries, ranged_listing
from tests.fixtures.s3 import S3Service


class SortedKeys:
    """A lister over sorted keys that pages like a bucket and records every start-after it is asked."""

    def __init__(self, keys: list[str], fail_after: str | None = None) -> None:
        self.keys = sorted(keys)
        self.starts: list[str | None] = []
        self.fail_after = fail_after
        self.lock = threading.Lock()

    def __call__(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        with self.lock:
            self.starts.append(start_after)
        for key in self.keys:
            if key.startswith(prefix) and (start_after is None or key > start_after):
                if self.fail_after is not None and key > self.fail_after:
                    raise Unavailable("listing broke", url="test://", key=key)
                yield ObjectInfo(key, 1, None, None)


def sids(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    return [f"{rng.getrandbits(128):032x}" for _ in range(n)]


def test_a_listing_of_up_to_two_pages_is_not_cut():
    lister = SortedKeys([f"rec/{s}_c.ts" for s in sids(10)])
    assert [o.key for o in ranged_listing(lister, "rec/")] == lister.keys
    assert lister.starts == [None]
    two_pages = SortedKeys([f"rec/{s}_c.ts" for s in sids(2 * PAGE - 1)])
    assert [o.key for o in ranged_listing(two_pages, "rec/")] == two_pages.keys and two_pages.starts == [None]


@pytest.mark.parametrize("workers", [1, 3, 8])
def test_a_big_flat_prefix_comes_whole_in_key_order_from_several_ranges(workers: int):
    keys = [f"rec/{sid}_class_{i:03d}.ts" for sid in sids(60) for i in range(50)]  # 3,000 keys
    keys += ["rec/" + "0" * 32 + "_edge.ts", "rec/" + "f" * 32 + "_edge.ts", "rec/~tilde.ts", "rec/_under.ts",
             "rec/A_upper.ts", "rec/sub/deeper.ts", "rec/\u00e9t\u00e9.ts", "rec/\U0001f600.ts", "rec/1", "rec/g"]
    lister = SortedKeys(keys)
    listed = [o.key for o in ranged_listing(lister, "rec/", workers=workers)]
    assert listed == lister.keys
    if workers > 1:
        assert len(lister.starts) > 3  # past two pages the rest was cut into ranges, each its own listing


def test_boundaries_follow_the_folder_of_the_first_page():
    cuts = boundaries("", "rec/0fff_x.ts")
    assert "rec/1" in cuts and "~" in cuts and "a" not in cuts and all(cut > "rec/0fff_x.ts" for cut in cuts)
    assert cuts == sorted(cuts)


def test_before_sorts_below_the_key_and_above_what_precedes_it():
    assert before("rec/1") < "rec/1" and before("rec/1") > "rec/0" + "\U0010ffff"
    assert before("") == ""


def test_an_error_in_any_range_reaches_the_consumer():
    keys = [f"{sid}_c_{i}.ts" for sid in sids(40) for i in range(40)]
    lister = SortedKeys(keys, fail_after="c")
    with pytest.raises(Unavailable):
        list(ranged_listing(lister, ""))


def test_a_consumer_that_stops_early_leaves_no_thread_behind():
    keys = [f"{sid}_c_{i}.ts" for sid in sids(100) for i in range(60)]  # 6,000: ranges fill their queues
    before_threads = threading.active_count()
    listing = ranged_listing(SortedKeys(keys), "", workers=4)
    first = [next(listing).key for _ in range(PAGE + 10)]
    assert first == sorted(keys)[: PAGE + 10]
    listing.close()
    assert threading.active_count() <= before_threads


def _write_many(service: S3Service, keys: list[str], **options: object):
    store = service.new_store(**options)
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(lambda key: store.write(key, b"x" if not key.endswith("/") else b""), keys))
    return store


@pytest.mark.parametrize("fast_listing", [True, False], ids=["obstore", "boto3"])
def test_s3_lists_a_flat_prefix_as_ranges_in_key_order(s3_service: S3Service, fast_listing: bool, monkeypatch):
    monkeypatch.setattr(ranges, "ALONE_PAGES", 0)  # cut into ranges right after the first key: few keys suffice
    keys = [f"{sid}_room_{i}.ts" for sid in sids(30, seed=7) for i in range(10)]
    store = _write_many(s3_service, keys, fast_listing=fast_listing)
    assert [o.key for o in store.list()] == sorted(keys)
    assert all(o.size == 1 and o.etag for o in store.list(keys[0][:10]))


def test_s3_fast_listing_keeps_folder_markers_and_empty_objects(s3_service: S3Service):
    # object_store drops the '/' of a folder marker; the adapter lists around zero-byte objects with boto3.
    keys = ["rec/", "rec/a.ts", "rec/empty.ts", "rec/sub/", "rec/sub/b.ts", "rec/x y#%?.ts", "rec/\u00e9.ts"]
    store = _write_many(s3_service, keys)
    store.write("rec/empty.ts", b"")
    assert [o.key for o in store.list()] == sorted(keys)
    assert [o.key for o in store.list("rec/")] == sorted(keys)


def test_s3_string_prefix_is_listed_by_obstore_and_stops_past_it(s3_service: S3Service):
    # `--sid` lists `folder + sid`, which is not a folder: object_store lists the folder from just below the
    # prefix and stops at the first key past it. Neighbours share all but the last characters of the sid,
    # a folder named like the prefix and an empty object sit inside it.
    sid = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e"
    inside = [f"rec/{sid}_room.m3u8", f"rec/{sid}_room_1.ts", f"rec/{sid}/x.ts", f"rec/{sid}_room_empty.ts"]
    neighbours = [f"rec/{sid[:-1]}d_room.m3u8", f"rec/{sid[:-1]}f_room.ts", f"rec/{sid[:-1]}_short.ts",
                  f"rec/{sid}".replace("rec/", "rec-x/"), "rec/a.ts", "rec/z.ts", f"{sid}_root.ts"]
    store = _write_many(s3_service, inside + neighbours)
    store.write(f"rec/{sid}_room_empty.ts", b"")
    calls: list[str] = []
    store.client.meta.events.register("before-call.s3.ListObjectsV2", lambda **kw: calls.append("list"))
    assert [o.key for o in store.list(f"rec/{sid}")] == sorted(inside)
    assert [o.key for o in store.list(f"rec/{sid}_room_")] == sorted(k for k in inside if "_room_" in k)
    assert [o.key for o in store.list(sid)] == [f"{sid}_root.ts"]
    assert [o.key for o in store.list("rec/zz")] == []
    # boto3 lists only the page after the empty object (object_store cannot tell it from a folder marker).
    assert len(calls) <= 2
    with store.precise_listing():
        assert [o.key for o in store.list(f"rec/{sid}")] == sorted(inside)

"""The store conformance suite: every ObjectStore adapter behaves the same (fsspec's abstract tests).

A backend's test module subclasses `StoreConformance` and overrides the `store_factory` fixture
(or just `store`, which skips the cases needing a second store or special options)::

    from storage.testing.conformance import StoreConformance

    class TestMyStore(StoreConformance):
        @pytest.fixture
        def store_factory(self, my_server):
            def factory(**options):
                if "access_key" in options:
                    pytest.skip("my store has no credentials")
                return MyStore.new_empty_bucket(my_server, **options)
            return factory

`store_factory(**options)` returns a new, empty store on each call. Options the cases use:
`bucket=` (a bucket that does not exist), `access_key=`/`secret_key=` (wrong credentials),
`endpoint=` (a URL where no server listens: every service of the backend at that address). A
factory skips, with a reason, an option that cannot apply to its kind (a folder has no credentials).
Override `gaps` to skip cases the backend or its test server cannot show, each with its reason:
"signed_url" (the store cannot sign at all: it must then say so), "expiry", "signature".

Agreed behaviour this suite pins down (the ObjectStore docstrings leave it open):
* `read(key, start, end)` clips `end` past the size; a range whose start is at or past the size
  raises `ValueError` (S3 answers 416); `read(key)` of an empty object is b"".
* a missing bucket or folder is `NotFound` for list, read and write.
* an unreachable server is `Unavailable` after bounded retries, not a hang.
* a store that cannot sign URLs raises a `StoreError` saying it cannot sign.

This module imports pytest and httpx; nothing in the library imports it.
"""

from __future__ import annotations

import io
import time
import uuid
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from storage.errors import AccessDenied, NotFound, StoreError, Unavailable
from storage.stores.base import ObjectStore
from storage.stores.classes import classes_of, listing_classes
from storage.testing.net import free_port

StoreFactory = Callable[..., ObjectStore]

SPECIAL_KEYS = [
    "with space/a b.ts",
    "hash#1.ts",
    "plus+sign.ts",
    "percent%20literal%.ts",
    "query?x=1&y=2.ts",
    "equals=sign.ts",
    "unicode/频道-ñ-✓.ts",
    "agora/sid_chan name!$()[]~.m3u8",
]


def _skip_gap(gaps: Mapping[str, str], case: str) -> None:
    reason = gaps.get(case)
    if reason:
        pytest.skip(reason)


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=10)


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused


class _ReadOnlyStream:
    """Only `read`: like a pipe, or another store's streaming body being copied."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


class StoreConformance:
    """The cases every adapter passes. Subclass it and override `store_factory` (see the module doc)."""

    @pytest.fixture
    def store_factory(self) -> StoreFactory:
        pytest.skip("override the store_factory fixture to run the cases needing a second store or options")

    @pytest.fixture
    def store(self, store_factory: StoreFactory) -> ObjectStore:
        """A fresh, empty store."""
        return store_factory()

    @pytest.fixture
    def gaps(self) -> Mapping[str, str]:
        """Case → why this backend (or its test server) cannot show it; the case is skipped with that reason."""
        return {}

    # -- listing -----------------------------------------------------------------------------------

    def test_list_past_1000_keys_in_key_order_and_by_prefix(self, store: ObjectStore) -> None:
        many = [f"many/seg{i:05d}.ts" for i in range(1050)]
        others = ["a.m3u8", "many0.ts", "many-x/b.ts", "z/deep/c.ts"]
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda k: store.write(k, k.encode()), many + others))

        everything = list(store.list())
        assert [o.key for o in everything] == sorted(many + others)
        assert all(o.size == len(o.key.encode()) for o in everything)

        assert [o.key for o in store.list("many/")] == many
        assert [o.key for o in store.list("many/seg0100")] == many[1000:1010]
        assert [o.key for o in store.list("many")] == sorted([*many, "many0.ts", "many-x/b.ts"])
        assert list(store.list("nothing/")) == []

    def test_list_is_lazy_and_reports_size(self, store: ObjectStore) -> None:
        store.write("x/one.ts", b"12345")
        listing = store.list("x/")
        assert not isinstance(listing, list)
        first = next(iter(listing))
        assert (first.key, first.size) == ("x/one.ts", 5)
        assert first.modified is None or first.modified.utcoffset() is not None  # aware, never naive

    # -- keys ------------------------------------------------------------------------------------------

    def test_special_characters_in_keys(self, store: ObjectStore) -> None:
        for i, key in enumerate(SPECIAL_KEYS):
            store.write(key, f"object {i}".encode())
        assert [o.key for o in store.list()] == sorted(SPECIAL_KEYS)
        for i, key in enumerate(SPECIAL_KEYS):
            info = store.stat(key)
            assert info is not None and info.key == key and info.size == len(f"object {i}")
            assert store.read(key) == f"object {i}".encode()

    def test_signed_urls_of_special_keys_fetch_the_object(self, store: ObjectStore, gaps: Mapping[str, str]) -> None:
        _skip_gap(gaps, "signed_url")
        for i, key in enumerate(SPECIAL_KEYS):
            store.write(key, f"object {i}".encode())
        for i, key in enumerate(SPECIAL_KEYS):
            response = _get(store.signed_url(key))
            assert response.status_code == 200, (key, response.text[:300])
            assert response.content == f"object {i}".encode()

    # -- stat and reads --------------------------------------------------------------------------------

    def test_stat_present_and_missing(self, store: ObjectStore) -> None:
        written = store.write("rec/a.ts", b"x" * 100)
        info = store.stat("rec/a.ts")
        assert info is not None
        assert (info.key, info.size) == ("rec/a.ts", 100)
        assert written.key == "rec/a.ts" and written.size == 100
        assert store.stat("rec/missing.ts") is None
        assert store.stat("rec") is None  # a "folder" is not an object

    def test_listing_reports_the_storage_class_where_the_backend_has_classes(self, store: ObjectStore) -> None:
        store.write("cls/a.ts", b"x")
        with listing_classes(store):  # an S3 listing by obstore has no classes unless asked for them
            (listed,) = list(store.list("cls/"))
        classes = classes_of(store)
        if classes is None:  # a folder or memory store: no classes, and it says none
            assert listed.storage_class is None
        else:  # a new object is in the backend's standard class, named as the backend names it
            assert listed.storage_class is not None and classes.of(listed.storage_class) == classes.default

    def test_ranged_reads(self, store: ObjectStore) -> None:
        data = bytes(range(256)) * 4
        store.write("r.ts", data)
        assert store.read("r.ts") == data
        assert store.read("r.ts", 10) == data[10:]
        assert store.read("r.ts", 10, 20) == data[10:20]
        assert store.read("r.ts", 0, 1) == data[:1]
        assert store.read("r.ts", 1000, 5000) == data[1000:]  # end past the size is clipped
        assert store.read("r.ts", 1023) == data[1023:]
        with pytest.raises(ValueError):
            store.read("r.ts", 1024)
        with pytest.raises(ValueError):
            store.read("r.ts", 5000, 6000)
        with pytest.raises(NotFound):
            store.read("missing.ts", 0, 10)

    def test_empty_object(self, store: ObjectStore) -> None:
        info = store.write("empty.ts", b"")
        assert info.size == 0
        assert store.read("empty.ts") == b""
        with store.open("empty.ts") as f:
            assert f.read() == b""

    def test_streaming_read(self, store: ObjectStore) -> None:
        data = bytes(range(256)) * 5000  # 1.28 MB: several chunks on every backend
        store.write("big.ts", data)
        chunks = []
        with store.open("big.ts") as f:
            while chunk := f.read(64 * 1024):
                chunks.append(chunk)
        assert b"".join(chunks) == data
        with pytest.raises(NotFound):
            store.open("missing.ts")
        with pytest.raises(NotFound):
            store.read("missing.ts")

    # -- writes ----------------------------------------------------------------------------------------

    def test_write_from_bytes_and_file_object_and_overwrite(self, store: ObjectStore) -> None:
        info = store.write("w/bytes.ts", b"abc")
        assert (info.key, info.size) == ("w/bytes.ts", 3)
        info = store.write("w/file.ts", io.BytesIO(b"from a file" * 1000))
        assert (info.key, info.size) == ("w/file.ts", 11000)
        assert store.read("w/file.ts") == b"from a file" * 1000
        store.write("w/bytes.ts", b"replaced")
        assert store.read("w/bytes.ts") == b"replaced"
        assert [o.key for o in store.list("w/")] == ["w/bytes.ts", "w/file.ts"]

    def test_write_from_a_stream_that_cannot_seek(self, store: ObjectStore) -> None:
        data = bytes(range(256)) * 1200  # 300 KB
        info = store.write("w/stream.ts", _ReadOnlyStream(data))  # type: ignore[arg-type]
        assert info.size == len(data)
        assert store.read("w/stream.ts") == data

    def test_copy_between_stores_streams(self, store_factory: StoreFactory) -> None:
        source, target = store_factory(), store_factory()
        source.write("c/seg.ts", b"\x47" * 188 * 100)
        with source.open("c/seg.ts") as body:
            target.write("c/seg.ts", body)
        assert target.read("c/seg.ts") == b"\x47" * 188 * 100

    def test_delete(self, store: ObjectStore) -> None:
        store.write("d/x.ts", b"1")
        store.delete("d/x.ts")
        assert store.stat("d/x.ts") is None
        assert list(store.list("d/")) == []
        store.delete("d/x.ts")  # deleting a missing key is fine

    # -- signed URLs -----------------------------------------------------------------------------------

    @pytest.mark.parametrize(("key", "content_type"), [
        ("ct/index.m3u8", "application/vnd.apple.mpegurl"),
        ("ct/seg.ts", "video/mp2t"),
        ("ct/movie.mp4", "video/mp4"),
    ])
    def test_signed_url_serves_the_right_content_type(self, store: ObjectStore, gaps: Mapping[str, str], key: str,
                                                      content_type: str) -> None:
        _skip_gap(gaps, "signed_url")
        store.write(key, b"\x47" * 188)
        response = _get(store.signed_url(key))
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0].strip() == content_type

    def test_signed_url_with_and_without_range(self, store: ObjectStore, gaps: Mapping[str, str]) -> None:
        _skip_gap(gaps, "signed_url")
        data = bytes(range(256)) * 8
        store.write("s/seg.ts", data)
        url = store.signed_url("s/seg.ts", expires_s=600)
        whole = _get(url)
        assert whole.status_code == 200 and whole.content == data
        part = _get(url, Range="bytes=100-199")
        assert part.status_code == 206
        assert part.content == data[100:200]
        assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
        tail = _get(url, Range="bytes=2000-")
        assert tail.status_code == 206 and tail.content == data[2000:]

    def test_expired_signed_url_is_refused(self, store: ObjectStore, gaps: Mapping[str, str]) -> None:
        _skip_gap(gaps, "signed_url")
        _skip_gap(gaps, "expiry")
        store.write("e/seg.ts", b"secret bytes")
        url = store.signed_url("e/seg.ts", expires_s=1)
        time.sleep(2.2)  # expiry is in whole seconds on every backend
        response = _get(url)
        assert response.status_code in (401, 403)
        assert response.content != b"secret bytes"

    def test_signed_url_for_another_key_does_not_open_it(self, store: ObjectStore, gaps: Mapping[str, str]) -> None:
        _skip_gap(gaps, "signed_url")
        _skip_gap(gaps, "signature")
        store.write("k/a.ts", b"aaa")
        store.write("k/b.ts", b"bbb")
        url = store.signed_url("k/a.ts")
        forged = url.replace("k/a.ts", "k/b.ts", 1)
        assert forged != url
        assert _get(forged).status_code in (401, 403)

    def test_a_store_that_cannot_sign_says_so(self, store: ObjectStore, gaps: Mapping[str, str]) -> None:
        if "signed_url" not in gaps:
            pytest.skip("this store signs URLs (the signed-URL cases cover it)")
        store.write("n/seg.ts", b"x")
        with pytest.raises(StoreError, match="cannot sign"):
            store.signed_url("n/seg.ts")

    # -- failures --------------------------------------------------------------------------------------

    def test_wrong_credentials_are_access_denied(self, store_factory: StoreFactory) -> None:
        store = store_factory(access_key="recshelf-wrong-key", secret_key="recshelf-wrong-secret")
        with pytest.raises(AccessDenied) as listing:
            list(store.list())
        with pytest.raises(AccessDenied):
            store.read("any.ts")
        with pytest.raises(AccessDenied):
            store.write("any.ts", b"x")
        assert "recshelf-wrong-secret" not in str(listing.value)

    def test_missing_bucket_is_not_found(self, store_factory: StoreFactory) -> None:
        name = f"missing-{uuid.uuid4().hex[:12]}"
        store = store_factory(bucket=name)
        with pytest.raises(NotFound):
            list(store.list())
        with pytest.raises(NotFound):
            store.read("any.ts")
        with pytest.raises(NotFound):
            store.write("any.ts", b"x")

    @pytest.mark.timeout(60)
    def test_unreachable_server_is_unavailable(self, store_factory: StoreFactory) -> None:
        store = store_factory(endpoint=_closed_port_url())
        with pytest.raises(Unavailable):
            list(store.list())
        with pytest.raises(Unavailable):
            store.stat("any.ts")
        with pytest.raises(Unavailable):
            store.write("any.ts", b"x")

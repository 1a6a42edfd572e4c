"""Every ObjectStore adapter behaves the same, each against a real server on 127.0.0.1.

Parametrized through `store_factory` (tests/fixtures/stores.py); a kind whose
`<kind>_store_factory` fixture does not exist yet is skipped. Factory options the cases use:
`bucket=` (a bucket that does not exist), `access_key=`/`secret_key=` (wrong credentials),
`endpoint=` (a URL where no server listens: every service of the backend at that address).
A factory skips an option that cannot apply to its kind (a folder has no credentials).

Agreed behaviour this suite pins down (the ObjectStore docstrings leave it open):
* `read(key, start, end)` clips `end` past the size; a range whose start is at or past the size
  raises `ValueError` (S3 answers 416); `read(key)` of an empty object is b"".
* a missing bucket or folder is `NotFound` for list, read and write.
* an unreachable server is `Unavailable` after bounded retries, not a hang.
"""

from __future__ import annotations

import io
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from storage.cli.commands.ui import free_port
from storage.stores.base import AccessDenied, NotFound, ObjectStore, Unavailable

# Behaviour a test server cannot show, per (kind, case), with the reason.
SERVER_GAPS: dict[tuple[str, str], str] = {
    ("s3", "expiry"): "moto does not check presigned-URL expiry (real S3 does: 403 AccessDenied)",
    ("s3", "signature"): "moto does not check presigned-URL signatures (real S3 does: 403)",
}

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


def _skip_gap(kind: str, case: str) -> None:
    reason = SERVER_GAPS.get((kind, case))
    if reason:
        pytest.skip(reason)


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, timeout=10)


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused


# -- listing ---------------------------------------------------------------------------------------


def test_list_past_1000_keys_in_key_order_and_by_prefix(any_store: ObjectStore):
    many = [f"many/seg{i:05d}.ts" for i in range(1050)]
    others = ["a.m3u8", "many0.ts", "many-x/b.ts", "z/deep/c.ts"]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda k: any_store.write(k, k.encode()), many + others))

    everything = list(any_store.list())
    assert [o.key for o in everything] == sorted(many + others)
    assert all(o.size == len(o.key.encode()) for o in everything)

    assert [o.key for o in any_store.list("many/")] == many
    assert [o.key for o in any_store.list("many/seg0100")] == many[1000:1010]
    assert [o.key for o in any_store.list("many")] == sorted([*many, "many0.ts", "many-x/b.ts"])
    assert list(any_store.list("nothing/")) == []


def test_list_is_lazy_and_reports_size(any_store: ObjectStore):
    any_store.write("x/one.ts", b"12345")
    listing = any_store.list("x/")
    assert not isinstance(listing, list)
    first = next(iter(listing))
    assert (first.key, first.size) == ("x/one.ts", 5)
    assert first.modified is None or first.modified.utcoffset() is not None  # aware, never naive


# -- keys ------------------------------------------------------------------------------------------


def test_special_characters_in_keys(any_store: ObjectStore):
    for i, key in enumerate(SPECIAL_KEYS):
        any_store.write(key, f"object {i}".encode())
    assert [o.key for o in any_store.list()] == sorted(SPECIAL_KEYS)
    for i, key in enumerate(SPECIAL_KEYS):
        info = any_store.stat(key)
        assert info is not None and info.key == key and info.size == len(f"object {i}")
        assert any_store.read(key) == f"object {i}".encode()


def test_signed_urls_of_special_keys_fetch_the_object(any_store: ObjectStore):
    for i, key in enumerate(SPECIAL_KEYS):
        any_store.write(key, f"object {i}".encode())
    for i, key in enumerate(SPECIAL_KEYS):
        response = _get(any_store.signed_url(key))
        assert response.status_code == 200, (key, response.text[:300])
        assert response.content == f"object {i}".encode()


# -- stat and reads --------------------------------------------------------------------------------


def test_stat_present_and_missing(any_store: ObjectStore):
    written = any_store.write("rec/a.ts", b"x" * 100)
    info = any_store.stat("rec/a.ts")
    assert info is not None
    assert (info.key, info.size) == ("rec/a.ts", 100)
    assert written.key == "rec/a.ts" and written.size == 100
    assert any_store.stat("rec/missing.ts") is None
    assert any_store.stat("rec") is None  # a "folder" is not an object


def test_ranged_reads(any_store: ObjectStore):
    data = bytes(range(256)) * 4
    any_store.write("r.ts", data)
    assert any_store.read("r.ts") == data
    assert any_store.read("r.ts", 10) == data[10:]
    assert any_store.read("r.ts", 10, 20) == data[10:20]
    assert any_store.read("r.ts", 0, 1) == data[:1]
    assert any_store.read("r.ts", 1000, 5000) == data[1000:]  # end past the size is clipped
    assert any_store.read("r.ts", 1023) == data[1023:]
    with pytest.raises(ValueError):
        any_store.read("r.ts", 1024)
    with pytest.raises(ValueError):
        any_store.read("r.ts", 5000, 6000)
    with pytest.raises(NotFound):
        any_store.read("missing.ts", 0, 10)


def test_empty_object(any_store: ObjectStore):
    info = any_store.write("empty.ts", b"")
    assert info.size == 0
    assert any_store.read("empty.ts") == b""
    with any_store.open("empty.ts") as f:
        assert f.read() == b""


def test_streaming_read(any_store: ObjectStore):
    data = bytes(range(256)) * 5000  # 1.28 MB: several chunks on every backend
    any_store.write("big.ts", data)
    chunks = []
    with any_store.open("big.ts") as f:
        while chunk := f.read(64 * 1024):
            chunks.append(chunk)
    assert b"".join(chunks) == data
    with pytest.raises(NotFound):
        any_store.open("missing.ts")
    with pytest.raises(NotFound):
        any_store.read("missing.ts")


# -- writes ----------------------------------------------------------------------------------------


def test_write_from_bytes_and_file_object_and_overwrite(any_store: ObjectStore):
    info = any_store.write("w/bytes.ts", b"abc")
    assert (info.key, info.size) == ("w/bytes.ts", 3)
    info = any_store.write("w/file.ts", io.BytesIO(b"from a file" * 1000))
    assert (info.key, info.size) == ("w/file.ts", 11000)
    assert any_store.read("w/file.ts") == b"from a file" * 1000
    any_store.write("w/bytes.ts", b"replaced")
    assert any_store.read("w/bytes.ts") == b"replaced"
    assert [o.key for o in any_store.list("w/")] == ["w/bytes.ts", "w/file.ts"]


class _ReadOnlyStream:
    """Only `read`: like a pipe, or another store's streaming body being copied."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._data.read(size)


def test_write_from_a_stream_that_cannot_seek(any_store: ObjectStore):
    data = bytes(range(256)) * 1200  # 300 KB
    info = any_store.write("w/stream.ts", _ReadOnlyStream(data))  # type: ignore[arg-type]
    assert info.size == len(data)
    assert any_store.read("w/stream.ts") == data


def test_copy_between_stores_streams(store_factory):
    source, target = store_factory(), store_factory()
    source.write("c/seg.ts", b"\x47" * 188 * 100)
    with source.open("c/seg.ts") as body:
        target.write("c/seg.ts", body)
    assert target.read("c/seg.ts") == b"\x47" * 188 * 100


def test_delete(any_store: ObjectStore):
    any_store.write("d/x.ts", b"1")
    any_store.delete("d/x.ts")
    assert any_store.stat("d/x.ts") is None
    assert list(any_store.list("d/")) == []
    any_store.delete("d/x.ts")  # deleting a missing key is fine


# -- signed URLs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("key", "content_type"), [
    ("ct/index.m3u8", "application/vnd.apple.mpegurl"),
    ("ct/seg.ts", "video/mp2t"),
    ("ct/movie.mp4", "video/mp4"),
])
def test_signed_url_serves_the_right_content_type(any_store: ObjectStore, key: str, content_type: str):
    any_store.write(key, b"\x47" * 188)
    response = _get(any_store.signed_url(key))
    assert response.status_code == 200
    assert response.headers["content-type"].split(";")[0].strip() == content_type


def test_signed_url_with_and_without_range(any_store: ObjectStore):
    data = bytes(range(256)) * 8
    any_store.write("s/seg.ts", data)
    url = any_store.signed_url("s/seg.ts", expires_s=600)
    whole = _get(url)
    assert whole.status_code == 200 and whole.content == data
    part = _get(url, Range="bytes=100-199")
    assert part.status_code == 206
    assert part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = _get(url, Range="bytes=2000-")
    assert tail.status_code == 206 and tail.content == data[2000:]


def test_expired_signed_url_is_refused(any_store: ObjectStore, store_kind: str):
    _skip_gap(store_kind, "expiry")
    any_store.write("e/seg.ts", b"secret bytes")
    url = any_store.signed_url("e/seg.ts", expires_s=1)
    time.sleep(2.2)  # expiry is in whole seconds on every backend
    response = _get(url)
    assert response.status_code in (401, 403)
    assert response.content != b"secret bytes"


def test_signed_url_for_another_key_does_not_open_it(any_store: ObjectStore, store_kind: str):
    _skip_gap(store_kind, "signature")
    any_store.write("k/a.ts", b"aaa")
    any_store.write("k/b.ts", b"bbb")
    url = any_store.signed_url("k/a.ts")
    forged = url.replace("k/a.ts", "k/b.ts", 1)
    assert forged != url
    assert _get(forged).status_code in (401, 403)


# -- failures --------------------------------------------------------------------------------------


def test_wrong_credentials_are_access_denied(store_factory):
    store = store_factory(access_key="recshelf-wrong-key", secret_key="recshelf-wrong-secret")
    with pytest.raises(AccessDenied) as listing:
        list(store.list())
    with pytest.raises(AccessDenied):
        store.read("any.ts")
    with pytest.raises(AccessDenied):
        store.write("any.ts", b"x")
    assert "recshelf-wrong-secret" not in str(listing.value)


def test_missing_bucket_is_not_found(store_factory):
    name = f"missing-{uuid.uuid4().hex[:12]}"
    store = store_factory(bucket=name)
    with pytest.raises(NotFound):
        list(store.list())
    with pytest.raises(NotFound):
        store.read("any.ts")
    with pytest.raises(NotFound):
        store.write("any.ts", b"x")


@pytest.mark.timeout(60)
def test_unreachable_server_is_unavailable(store_factory):
    store = store_factory(endpoint=_closed_port_url())
    with pytest.raises(Unavailable):
        list(store.list())
    with pytest.raises(Unavailable):
        store.stat("any.ts")
    with pytest.raises(Unavailable):
        store.write("any.ts", b"x")

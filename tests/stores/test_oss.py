"""OssStore against the signature-checking OSS emulator: what the conformance suite does not cover.

Both signature versions run every round trip: v4 when a region is known (the default), v1 without.
"""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from storage.stores.base import AccessDenied, InvalidConfig, NotFound, ObjectStore, Unavailable
from storage.stores.oss import OssStore, region_from_endpoint
from storage.testing.net import free_port
from tests.fixtures.oss import OssEmulator

Factory = Callable[..., OssStore]
KEY = "videos/a b#+%?&=ü/seg-001.ts"


@pytest.fixture(params=["v4", "v1"])
def store(request: pytest.FixtureRequest, oss_store_factory: Factory) -> OssStore:
    """A fresh store under a prefix, signing with each version in turn."""
    options: dict[str, Any] = {"prefix": "rec/2024"}
    if request.param == "v1":
        options["region"] = None
    created = oss_store_factory(**options)
    assert created.auth_version == request.param
    return created


def _stored(emulator: OssEmulator, store: OssStore, key: str) -> Any:
    return emulator.store.get(store.bucket, store._root + key)


def test_round_trip(store: OssStore) -> None:
    assert isinstance(store, ObjectStore)
    info = store.write(KEY, b"0123456789")
    assert (info.key, info.size) == (KEY, 10)
    assert info.etag == hashlib.md5(b"0123456789").hexdigest()  # OSS's upper-case hex, normalised
    stat = store.stat(KEY)
    assert stat is not None and stat.size == 10 and stat.etag == info.etag and stat.modified is not None
    assert store.read(KEY) == b"0123456789"
    assert store.read(KEY, 2, 5) == b"234"
    assert store.read(KEY, 7, 1000) == b"789"  # end past the object: clipped, not the whole object
    assert store.read(KEY, 3, 3) == b""
    with pytest.raises(ValueError):
        store.read(KEY, 10)
    with store.open(KEY) as stream:
        assert stream.read(4) == b"0123"
        assert stream.read() == b"456789"
    assert [o.key for o in store.list()] == [KEY]
    store.delete(KEY)
    store.delete(KEY)  # missing keys are not an error
    assert store.stat(KEY) is None
    with pytest.raises(NotFound):
        store.read(KEY)
    with pytest.raises(NotFound):
        store.open(KEY)


def test_keys_are_relative_to_the_prefix(store: OssStore, oss_emulator: OssEmulator) -> None:
    store.write("a/1.ts", b"x")
    assert _stored(oss_emulator, store, "a/1.ts") is not None  # stored as rec/2024/a/1.ts
    oss_emulator.store.put(store.bucket, "rec/2024-other/b.ts", b"y")  # shares the text prefix only
    assert [o.key for o in store.list()] == ["a/1.ts"]
    assert [o.key for o in store.list("a/")] == ["a/1.ts"]


def test_listing_pages_lazily_in_key_order(oss_store_factory: Factory, oss_emulator: OssEmulator) -> None:
    store = oss_store_factory()
    for i in range(1001, -1, -1):  # seeded in-process: 1,002 PUTs over HTTP would only cost time
        oss_emulator.store.put(store.bucket, f"many/{i:05d}.ts", b"x")
    oss_emulator.server.requests.clear()
    listing = store.list("many/")
    first = next(listing)
    assert first.key == "many/00000.ts" and first.size == 1 and first.etag
    assert len(oss_emulator.server.requests) == 1  # only the first page so far
    rest = [o.key for o in listing]
    assert rest == [f"many/{i:05d}.ts" for i in range(1, 1002)]
    assert len(oss_emulator.server.requests) == 2


def test_ts_without_explicit_type_gets_video_mp2t(store: OssStore, oss_emulator: OssEmulator) -> None:
    # oss2 alone would store `.ts` as text/vnd.trolltech.linguist (mimetypes' Qt guess).
    store.write("s/seg-1.ts", b"\x47" * 188)
    store.write("s/index.m3u8", io.BytesIO(b"#EXTM3U\n"))
    store.write("s/other.bin", b"x", content_type="application/x-custom")
    assert _stored(oss_emulator, store, "s/seg-1.ts").content_type == "video/mp2t"
    assert _stored(oss_emulator, store, "s/index.m3u8").content_type == "application/vnd.apple.mpegurl"
    assert _stored(oss_emulator, store, "s/other.bin").content_type == "application/x-custom"


def test_write_streams_file_objects(store: OssStore) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB
    source = io.BytesIO(b"skip" + payload)
    source.read(4)  # oss2 sends from the current position, sized by what is left
    info = store.write("big.ts", source)
    assert info.size == len(payload)

    class Unseekable(io.RawIOBase):  # no length known: sent chunked
        def __init__(self) -> None:
            self._inner = io.BytesIO(payload)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            return self._inner.readinto(buffer)

    assert store.write("piped.ts", Unseekable()).size == len(payload)
    with store.open("piped.ts") as stream:
        chunks = iter(lambda: stream.read(100_000), b"")
        assert b"".join(chunks) == payload


@pytest.mark.parametrize("with_range", [False, True])
def test_signed_urls_play_in_a_plain_http_client(store: OssStore, with_range: bool) -> None:
    store.write(KEY, b"0123456789", content_type="application/octet-stream")
    url = store.signed_url(KEY, expires_s=300)
    assert "rec/2024/videos/" in url  # slash_safe: '/' stays readable for relative HLS URIs
    headers = {"Origin": "http://player.example", **({"Range": "bytes=2-4"} if with_range else {})}
    response = httpx.get(url, headers=headers)
    assert response.status_code == (206 if with_range else 200), response.text
    assert response.content == (b"234" if with_range else b"0123456789")
    assert response.headers["content-type"] == "video/mp2t"  # response-content-type beats the stored type
    assert response.headers["access-control-allow-origin"] == "http://player.example"


def test_signed_urls_expire(store: OssStore, oss_emulator: OssEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    store.write(KEY, b"x")
    url = store.signed_url(KEY, expires_s=60)
    monkeypatch.setattr(oss_emulator.server, "clock", lambda: time.time() + 120)
    response = httpx.get(url)
    assert response.status_code == 403 and "<Code>AccessDenied</Code>" in response.text
    with pytest.raises(ValueError):
        store.signed_url(KEY, expires_s=0)


def test_wrong_credentials_are_access_denied_without_leaking_secrets(oss_store_factory: Factory) -> None:
    for options in ({"secret_key": "not-the-secret"}, {"region": None, "secret_key": "not-the-secret"}):
        with pytest.raises(AccessDenied) as caught:
            list(oss_store_factory(**options).list())
        assert "not-the-secret" not in str(caught.value) and "SignatureDoesNotMatch" in str(caught.value)
    with pytest.raises(AccessDenied, match="InvalidAccessKeyId"):
        oss_store_factory(access_key="nobody").stat("a.ts")


def test_session_token_signs_with_sts(oss_store_factory: Factory, oss_emulator: OssEmulator) -> None:
    for region in (oss_emulator.region, None):
        store = oss_store_factory(region=region, session_token="sts-token")
        store.write("a.ts", b"x")
        assert store.read("a.ts") == b"x"
        assert "security-token=sts-token" in store.signed_url("a.ts")  # v1 and v4 (x-oss-) spellings
        assert httpx.get(store.signed_url("a.ts")).content == b"x"


def test_missing_bucket_is_not_found(oss_store_factory: Factory) -> None:
    store = oss_store_factory(bucket="no-such-bucket")
    with pytest.raises(NotFound, match="bucket"):
        list(store.list())
    with pytest.raises(NotFound, match="bucket"):
        store.stat("a.ts")  # a missing bucket is not a missing key
    with pytest.raises(NotFound):
        store.read("a.ts")


def test_transient_failures_are_retried(store: OssStore, oss_emulator: OssEmulator) -> None:
    store.write("a.ts", b"abc")
    oss_emulator.server.fail_next(503, times=2)
    assert store.read("a.ts") == b"abc"
    oss_emulator.server.fail_next(500, times=2)
    assert [o.key for o in store.list()] == ["a.ts"]
    oss_emulator.server.fail_next(503, times=1)
    assert store.write("b.ts", io.BytesIO(b"def")).size == 3  # the stream is rewound for the retry
    assert store.read("b.ts") == b"def"


def test_broken_transfers_are_retried_or_unavailable(store: OssStore, oss_emulator: OssEmulator) -> None:
    payload = bytes(range(256)) * 64
    store.write("cut.ts", payload)
    oss_emulator.server.cut_next(times=1)
    assert store.read("cut.ts") == payload  # the short body is detected and the read repeated
    oss_emulator.server.cut_next(times=1)
    with store.open("cut.ts") as stream, pytest.raises(Unavailable):
        stream.read()  # a stream cannot be replayed transparently: the caller learns of the break
    oss_emulator.server.cuts.clear()


def test_persistent_server_errors_are_unavailable(oss_store_factory: Factory, oss_emulator: OssEmulator) -> None:
    store = oss_store_factory(attempts=3)
    oss_emulator.server.requests.clear()
    oss_emulator.server.fail_next(503, times=3)
    with pytest.raises(Unavailable, match="503"):
        store.stat("a.ts")
    assert len(oss_emulator.server.requests) == 3
    oss_emulator.server.failures.clear()


def test_dead_endpoint_is_unavailable_fast(oss_store_factory: Factory) -> None:
    # A port that was free a moment ago: nothing listens there.
    store = oss_store_factory(endpoint=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(Unavailable, match="cannot reach"):
        list(store.list())
    assert time.monotonic() - started < 5


def test_from_options_and_environment(monkeypatch: pytest.MonkeyPatch, oss_emulator: OssEmulator) -> None:
    for name in ("OSS_ENDPOINT", "OSS_REGION", "OSS_ACCESS_KEY_ID", "OSS_ACCESS_KEY_SECRET", "OSS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    bucket = oss_emulator.new_bucket()
    with pytest.raises(InvalidConfig, match="credentials"):
        OssStore.from_options(bucket, "", {"endpoint": oss_emulator.url})
    with pytest.raises(InvalidConfig, match="endpoint"):
        OssStore.from_options(bucket, "", {"access_key": "a", "secret_key": "b"})
    with pytest.raises(InvalidConfig, match="together"):
        OssStore.from_options(bucket, "", {"endpoint": oss_emulator.url, "access_key": "a"})
    with pytest.raises(InvalidConfig, match="domain"):
        OssStore.from_options(bucket, "", {"domain": "x"})
    with pytest.raises(InvalidConfig, match="region"):
        OssStore.from_options(bucket, "", {"endpoint": oss_emulator.url, "access_key": "a", "secret_key": "b",
                                           "auth_version": "v4"})
    with pytest.raises(InvalidConfig, match="bucket"):
        OssStore.from_options("No_Such!", "", {"endpoint": oss_emulator.url, "access_key": "a", "secret_key": "b"})

    monkeypatch.setenv("OSS_ENDPOINT", oss_emulator.url)
    monkeypatch.setenv("OSS_ACCESS_KEY_ID", oss_emulator.access_key)
    monkeypatch.setenv("OSS_ACCESS_KEY_SECRET", oss_emulator.secret_key)
    from storage.settings import Settings

    # The OSS_* fallbacks are declared in the registry and filled in by Settings.open_store.
    from_env = Settings.load().open_store(f"oss://{bucket}/p/")
    assert (from_env.url, from_env.auth_version) == (f"oss://{bucket}/p", "v1")
    from_env.write("x.ts", b"1")
    monkeypatch.setenv("OSS_REGION", oss_emulator.region)
    v4 = Settings.load().open_store(f"oss://{bucket}/p")
    assert v4.auth_version == "v4" and v4.read("x.ts") == b"1"
    assert oss_emulator.secret_key not in repr(v4) + v4.url


def test_region_from_standard_endpoints() -> None:
    assert region_from_endpoint("https://oss-cn-hangzhou.aliyuncs.com") == "cn-hangzhou"
    assert region_from_endpoint("oss-ap-southeast-1-internal.aliyuncs.com") == "ap-southeast-1"
    assert region_from_endpoint("http://127.0.0.1:9000") is None
    assert region_from_endpoint("https://cdn.example.com") is None

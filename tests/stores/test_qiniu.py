"""QiniuStore specifics the conformance suite does not cover, against the Kodo emulator."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import httpx
import pytest
import qiniu
import requests
from qiniu.http import regions_provider
from qiniu.http.region import ServiceName

from storage.stores.base import AccessDenied, InvalidConfig, NotFound, Unavailable
from storage.stores.qiniu import QiniuStore
from storage.testing.net import free_port
from tests.fixtures.qiniu import QiniuEmulator

Factory = Callable[..., QiniuStore]

TRICKY_KEYS = [
    "a%2Fb.ts",  # an encoded slash that must stay three characters
    "100% done.ts",
    "plus+and space.ts",
    "tilde~quote'dq\".ts",
    "double//slash.ts",
    "semi;colon,comma@at.ts",
    "hash#q?amp&eq=.ts",
    "频道/🎬 clip.ts",
    "back\\slash.ts",
]


def _options(emulator: QiniuEmulator, bucket: str, **extra: str) -> dict[str, str]:
    return {"access_key": emulator.access_key, "secret_key": emulator.secret_key,
            "endpoint": emulator.base_url, "domain": emulator.domain(bucket), **extra}


@pytest.fixture
def no_qiniu_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("QINIU_"):
            monkeypatch.delenv(name)


# -- configuration ---------------------------------------------------------------------------------


def test_url_names_bucket_and_prefix_never_secrets(qiniu_store_factory: Factory):
    store = qiniu_store_factory(prefix="/rec/2024/")
    assert store.url == f"qiniu://{store.bucket}/rec/2024"
    assert "secret" not in store.url and "secret" not in repr(store)


def test_options_are_validated(qiniu_emulator: QiniuEmulator, no_qiniu_env: None):
    good = _options(qiniu_emulator, "b")
    with pytest.raises(InvalidConfig, match="secret_kye"):
        QiniuStore.from_options("b", "", {**good, "secret_kye": "x"})
    with pytest.raises(InvalidConfig, match="credentials"):
        QiniuStore.from_options("b", "", {k: v for k, v in good.items() if k != "secret_key"})
    with pytest.raises(InvalidConfig, match="region"):
        QiniuStore.from_options("b", "", {k: v for k, v in good.items() if k != "endpoint"})
    with pytest.raises(InvalidConfig, match="z9"):
        QiniuStore.from_options("b", "", {**good, "endpoint": "", "region": "z9"})
    with pytest.raises(InvalidConfig, match="endpoint"):
        QiniuStore.from_options("b", "", {**good, "endpoint": "http://127.0.0.1:1/some/path"})
    with pytest.raises(InvalidConfig, match="private"):
        QiniuStore.from_options("b", "", {**good, "private": "maybe"})
    with pytest.raises(InvalidConfig, match="bucket"):
        QiniuStore.from_options("", "", good)


def test_region_ids_map_to_public_hosts_without_any_request(no_qiniu_env: None):
    store = QiniuStore.from_options("b", "", {"access_key": "ak", "secret_key": "sk", "region": "z1"})
    services = store._region.services
    assert [e.get_value() for e in services[ServiceName.RS]] == ["https://rs-z1.qiniuapi.com"]
    assert [e.get_value() for e in services[ServiceName.RSF]] == ["https://rsf-z1.qiniuapi.com"]
    assert "https://up-z1.qiniup.com" in [e.get_value() for e in services[ServiceName.UP]]
    z0 = QiniuStore.from_options("b", "", {"access_key": "ak", "secret_key": "sk", "region": "z0"})
    assert "https://upload.qiniup.com" in [e.get_value() for e in z0._region.services[ServiceName.UP]]
    # Per-service overrides for private deployments, in the one scheme the SDK applies to all hosts.
    custom = QiniuStore.from_options("b", "", {"access_key": "ak", "secret_key": "sk", "region": "z0",
                                               "rs_host": "rs.internal:8443"})
    assert [e.get_value() for e in custom._region.services[ServiceName.RS]] == ["https://rs.internal:8443"]
    with pytest.raises(InvalidConfig, match="scheme"):
        QiniuStore.from_options("b", "", {"access_key": "ak", "secret_key": "sk", "region": "z0",
                                          "rs_host": "http://rs.internal:8080"})
    hosts_only = QiniuStore.from_options("b", "", {"access_key": "ak", "secret_key": "sk",
                                                   "up_host": "http://up:1", "rs_host": "http://rs:2",
                                                   "rsf_host": "http://rsf:3"})
    assert hosts_only._scheme == "http"
    assert [e.host for e in hosts_only._region.services[ServiceName.RSF]] == ["rsf:3"]


def test_environment_supplies_what_options_leave_out(
    qiniu_emulator: QiniuEmulator, no_qiniu_env: None, monkeypatch: pytest.MonkeyPatch
):
    bucket = qiniu_emulator.new_bucket()
    monkeypatch.setenv("QINIU_ACCESS_KEY", qiniu_emulator.access_key)
    monkeypatch.setenv("QINIU_SECRET_KEY", qiniu_emulator.secret_key)
    monkeypatch.setenv("QINIU_ENDPOINT", qiniu_emulator.base_url)
    monkeypatch.setenv("QINIU_DOMAIN", qiniu_emulator.domain(bucket))
    from storage.settings import Settings

    # The QINIU_* fallbacks are declared in the registry and filled in by Settings.open_store.
    store = Settings.load().open_store(f"qiniu://{bucket}/env")
    assert isinstance(store, QiniuStore)
    store.write("a.ts", b"from env")
    assert store.read("a.ts") == b"from env"
    assert [o.key for o in store.list()] == ["a.ts"]


def test_without_a_domain_listing_works_and_reads_say_what_is_missing(
    qiniu_emulator: QiniuEmulator, no_qiniu_env: None
):
    bucket = qiniu_emulator.new_bucket()
    options = {k: v for k, v in _options(qiniu_emulator, bucket).items() if k != "domain"}
    store = QiniuStore.from_options(bucket, "", options)
    store.write("a.ts", b"1")
    assert [o.key for o in store.list()] == ["a.ts"]
    with pytest.raises(InvalidConfig, match="domain"):
        store.read("a.ts")
    with pytest.raises(InvalidConfig, match="domain"):
        store.signed_url("a.ts")


# -- keys ------------------------------------------------------------------------------------------


def test_keys_needing_percent_encoding_round_trip(qiniu_store_factory: Factory):
    store = qiniu_store_factory(prefix="my rec/2024+")
    for i, key in enumerate(TRICKY_KEYS):
        assert store.write(key, f"object {i}".encode()).key == key
    assert [o.key for o in store.list()] == sorted(TRICKY_KEYS)
    for i, key in enumerate(TRICKY_KEYS):
        assert store.stat(key) is not None
        assert store.read(key, 1, 4) == f"object {i}".encode()[1:4]
        url = store.signed_url(key)
        # The key travels percent-encoded in the path; only the token follows "?".
        assert "#" not in url and url.count("?") == 1 and " " not in url
        assert httpx.get(url, timeout=10).content == f"object {i}".encode()
    with store.open("a%2Fb.ts") as f:
        assert f.read() == b"object 0"
    store.delete("a%2Fb.ts")
    assert store.stat("a%2Fb.ts") is None and store.stat("a/b.ts") is None


# -- credentials and tokens ------------------------------------------------------------------------


def test_forged_management_signature_is_access_denied(qiniu_store_factory: Factory):
    good = qiniu_store_factory()
    good.write("x.ts", b"x")
    forged = qiniu_store_factory(bucket=good.bucket, secret_key="forged-secret-value")
    for call in (lambda: forged.stat("x.ts"), lambda: forged.delete("x.ts"), lambda: list(forged.list())):
        with pytest.raises(AccessDenied) as caught:
            call()
        assert "401" in str(caught.value) and "forged-secret-value" not in str(caught.value)
        assert good.bucket in str(caught.value)
    assert good.read("x.ts") == b"x"


def test_writes_use_a_short_lived_token_scoped_to_the_key(
    qiniu_store_factory: Factory, monkeypatch: pytest.MonkeyPatch
):
    calls: list[tuple] = []
    original = qiniu.Auth.upload_token

    def spy(self: qiniu.Auth, bucket: str, key: str | None = None, expires: int = 3600, **kw: object) -> str:
        calls.append((bucket, key, expires))
        return original(self, bucket, key, expires, **kw)

    monkeypatch.setattr(qiniu.Auth, "upload_token", spy)
    store = qiniu_store_factory(prefix="p")
    store.write("a.ts", b"1")
    store.write("a.ts", b"2")  # a key-scoped token may overwrite; a bucket-wide one could not
    assert calls == [(store.bucket, "p/a.ts", 3600)] * 2
    assert store.read("a.ts") == b"2"


def test_expired_download_url_is_rejected(
    qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator, monkeypatch: pytest.MonkeyPatch
):
    store = qiniu_store_factory()
    store.write("e.ts", b"bytes")
    url = store.signed_url("e.ts", expires_s=60)
    assert httpx.get(url, timeout=10).status_code == 200
    monkeypatch.setattr(qiniu_emulator.server, "clock", lambda: time.time() + 3 * 3600)
    response = httpx.get(url, timeout=10)
    assert response.status_code == 403 and response.content != b"bytes"
    # read() signs for an hour too: past that, the store says AccessDenied, not NotFound.
    with pytest.raises(AccessDenied) as caught:
        store.read("e.ts")
    assert "token=" not in str(caught.value)


def test_public_domain_gets_plain_urls(qiniu_store_factory: Factory):
    store = qiniu_store_factory(private=False)
    store.write("pub/index.m3u8", b"#EXTM3U\n")
    url = store.signed_url("pub/index.m3u8")
    assert "token=" not in url and "e=" not in urlsplit(url).query
    response = httpx.get(url, timeout=10)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert store.read("pub/index.m3u8") == b"#EXTM3U\n"


def test_private_bucket_refuses_unsigned_urls(qiniu_store_factory: Factory):
    store = qiniu_store_factory()
    store.write("a.ts", b"1")
    assert httpx.get(store.signed_url("a.ts").split("?")[0], timeout=10).status_code == 401


# -- writes ----------------------------------------------------------------------------------------


class _Unseekable(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 700))
        buffer[: len(chunk)] = chunk
        return len(chunk)


def test_large_writes_use_resumable_v2_with_the_content_type(
    qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator
):
    store = qiniu_store_factory(upload_threshold=4096, part_size=1024)
    data = bytes(range(256)) * 40  # 10,240 bytes: 10 parts
    seen = len(qiniu_emulator.server.requests)
    assert store.write("big/a.ts", data).size == len(data)
    assert store.write("big/b.ts", _Unseekable(data)).size == len(data)  # spooled, then resumable
    assert store.write("big/small.ts", _Unseekable(b"tiny")).size == 4  # form upload
    assert store.read("big/a.ts") == data and store.read("big/b.ts") == data
    assert store.read("big/small.ts") == b"tiny"
    uploads = [path for method, path in qiniu_emulator.server.requests[seen:] if path.startswith("/buckets/")]
    assert sum(1 for path in uploads if path.endswith("/uploads")) == 2  # two initiations
    assert len(uploads) == 2 * (1 + 10 + 1)  # init, 10 parts, complete — for each object
    stored = qiniu_emulator.server.store.get(store.bucket, "big/b.ts")
    assert stored is not None and stored.content_type == "video/mp2t"


def test_content_type_is_explicit(qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator):
    store = qiniu_store_factory()
    store.write("t/seg.ts", b"\x47")
    store.write("t/index.m3u8", b"#EXTM3U\n")
    store.write("t/blob.ts", b"x", content_type="application/x-custom")
    types = {key: qiniu_emulator.server.store.get(store.bucket, key).content_type  # type: ignore[union-attr]
             for key in ("t/seg.ts", "t/index.m3u8", "t/blob.ts")}
    assert types == {"t/seg.ts": "video/mp2t", "t/index.m3u8": "application/vnd.apple.mpegurl",
                     "t/blob.ts": "application/x-custom"}


def test_missing_bucket_is_not_found_for_stat_and_delete(qiniu_store_factory: Factory):
    store = qiniu_store_factory(bucket="qiniu-never-created")
    with pytest.raises(NotFound, match="does not exist"):
        store.stat("a.ts")
    with pytest.raises(NotFound):
        store.delete("a.ts")
    with pytest.raises(NotFound):
        store.open("a.ts")


# -- failures and retries --------------------------------------------------------------------------


def test_transient_server_errors_are_retried(qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator):
    store = qiniu_store_factory()
    store.write("r.ts", b"retry me")
    qiniu_emulator.server.failures.extend([503, 573])
    assert store.stat("r.ts") is not None
    qiniu_emulator.server.failures.extend([502])
    assert store.read("r.ts") == b"retry me"
    qiniu_emulator.server.failures.extend([599])
    store.write("r2.ts", b"2")
    assert store.read("r2.ts") == b"2"
    assert qiniu_emulator.server.failures == []


def test_persistent_server_errors_become_unavailable_after_bounded_attempts(
    qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator
):
    store = qiniu_store_factory()
    seen = len(qiniu_emulator.server.requests)
    qiniu_emulator.server.failures.extend([503] * 20)
    try:
        with pytest.raises(Unavailable, match="503"):
            store.stat("a.ts")
        attempts = len(qiniu_emulator.server.requests) - seen
        assert 2 <= attempts <= 4
    finally:
        qiniu_emulator.server.failures.clear()


def test_permanent_errors_are_not_retried(qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator):
    store = qiniu_store_factory(secret_key="wrong")
    seen = len(qiniu_emulator.server.requests)
    with pytest.raises(AccessDenied):
        store.stat("a.ts")
    assert len(qiniu_emulator.server.requests) - seen == 1


def test_dead_server_is_unavailable_within_seconds(qiniu_store_factory: Factory):
    store = qiniu_store_factory(endpoint=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    for call in (lambda: store.stat("a.ts"), lambda: store.read("a.ts"), lambda: store.write("a.ts", b"1")):
        with pytest.raises(Unavailable) as caught:
            call()
        assert "token" not in str(caught.value)
    assert time.monotonic() - started < 10


# -- no region service -----------------------------------------------------------------------------


@pytest.fixture
def requests_seen(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every URL any requests session sends to (the SDK's and ours), while the test runs."""
    urls: list[str] = []
    original = requests.Session.send

    def send(self: requests.Session, request: requests.PreparedRequest, **kwargs: object) -> requests.Response:
        urls.append(str(request.url))
        return original(self, request, **kwargs)

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the qiniu SDK tried to query the uc region service")

    monkeypatch.setattr(requests.Session, "send", send)
    monkeypatch.setattr(regions_provider.QueryRegionsProvider, "__iter__", refuse)
    monkeypatch.setattr(regions_provider.CachedRegionsProvider, "__init__", refuse)
    yield urls


def test_no_request_ever_goes_to_a_uc_host(
    qiniu_store_factory: Factory, qiniu_emulator: QiniuEmulator, requests_seen: list[str]
):
    cache = regions_provider._global_cache_scope.persist_path
    cache_before = os.stat(cache).st_mtime_ns if os.path.exists(cache) else None
    uc_before = qiniu_emulator.server.uc_requests
    store = qiniu_store_factory(upload_threshold=2048, part_size=1024)
    store.write("a.ts", b"small")
    store.write("b.ts", b"b" * 5000)
    assert [o.key for o in store.list()] == ["a.ts", "b.ts"]
    assert store.stat("a.ts") is not None and store.read("b.ts", 0, 10) == b"b" * 10
    with store.open("a.ts") as f:
        assert f.read() == b"small"
    store.delete("a.ts")
    hosts = {urlsplit(url).netloc for url in requests_seen}
    assert hosts == {urlsplit(qiniu_emulator.base_url).netloc}
    assert qiniu_emulator.server.uc_requests == uc_before
    assert not any("/v4/query" in url or "/v2/domains" in url for url in requests_seen)
    cache_after = os.stat(cache).st_mtime_ns if os.path.exists(cache) else None
    assert cache_after == cache_before  # the SDK's on-disk region cache is neither read nor written

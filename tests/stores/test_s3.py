"""S3-specific behaviour: SigV4 presigning, configuration from env and AWS profiles, prefixes, errors.

Tests taking `s3_service` run on moto and on SeaweedFS (which checks signatures for real).
"""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from storage.stores.base import AccessDenied, InvalidConfig, NotFound, StoreError, Unavailable
from storage.stores.s3 import S3Store, client_config, translate
from tests.fixtures.s3 import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY, S3Service


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An AWS environment with nothing set: no AWS_* variables, empty config files, no metadata service."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_DEFAULT_REGION",
                 "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "aws-config").write_text("")
    (tmp_path / "aws-credentials").write_text("")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return tmp_path


def test_presigned_urls_are_sigv4_path_style_with_content_type(s3_service: S3Service):
    store = s3_service.new_store(prefix="rec")
    url = store.signed_url("sid_chan.m3u8", expires_s=900)
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    assert parts.path == f"/{store.bucket}/rec/sid_chan.m3u8"
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]  # never SigV2, even in us-east-1
    assert query["X-Amz-Expires"] == ["900"]
    assert query["X-Amz-Credential"][0].startswith(f"{s3_service.access_key}/")
    assert query["response-content-type"] == ["application/vnd.apple.mpegurl"]
    assert "AWSAccessKeyId" not in query and "Signature" not in query
    with pytest.raises(ValueError):
        store.signed_url("x.ts", expires_s=8 * 24 * 3600)


def test_prefix_is_the_store_root(s3_service: S3Service):
    store, s3_admin = s3_service.new_store(prefix="/rec/2024/"), s3_service.admin
    assert store.url == f"s3://{store.bucket}/rec/2024"
    store.write("a.ts", b"1")
    s3_admin.put_object(Bucket=store.bucket, Key="rec/20240/sibling.ts", Body=b"2")
    s3_admin.put_object(Bucket=store.bucket, Key="outside.ts", Body=b"3")
    assert [o.key for o in store.list()] == ["a.ts"]
    assert store.stat("a.ts") is not None
    head = s3_admin.head_object(Bucket=store.bucket, Key="rec/2024/a.ts")
    assert head["ContentLength"] == 1


def test_writes_set_the_content_type(s3_service: S3Service):
    store, s3_admin = s3_service.new_store(), s3_service.admin
    store.write("seg.ts", b"\x47" * 188)
    store.write("index.m3u8", io.BytesIO(b"#EXTM3U\n"))
    store.write("blob.bin", b"x", content_type="video/mp4")
    types = {k: s3_admin.head_object(Bucket=store.bucket, Key=k)["ContentType"]
             for k in ("seg.ts", "index.m3u8", "blob.bin")}
    assert types == {"seg.ts": "video/mp2t", "index.m3u8": "application/vnd.apple.mpegurl",
                     "blob.bin": "video/mp4"}


def test_listing_asks_for_pages_of_1000(s3_service: S3Service):
    store = s3_service.new_store(fast_listing=False)  # boto3's requests: obstore's are not hooked
    store.write("a.ts", b"1")
    calls: list[dict[str, Any]] = []
    store.client.meta.events.register("before-parameter-build.s3.ListObjectsV2",
                                      lambda params, **_: calls.append(dict(params)))
    assert [o.key for o in store.list()] == ["a.ts"]
    assert calls and calls[0]["MaxKeys"] == 1000


def test_listing_of_one_folder_pages_past_1000_keys_in_key_order(s3_service: S3Service):
    # One folder: no sibling whose name sorts before '/', so SeaweedFS's directory-walk order is key
    # order here too (see SEAWEED_DEVIATIONS in tests/fixtures/seaweed.py for where it is not).
    store = s3_service.new_store(prefix="rec")
    keys = [f"many/seg{i:05d}.ts" for i in range(1010)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(lambda key: store.write(key, b"x"), keys))
    assert [o.key for o in store.list("many/")] == keys
    assert [o.key for o in store.list("many/seg0100")] == keys[1000:1010]


def test_open_is_a_buffered_binary_stream(s3_service: S3Service):
    store = s3_service.new_store()
    store.write("lines.m3u8", b"#EXTM3U\n#EXTINF:2\nseg.ts\n")
    with store.open("lines.m3u8") as f:
        assert f.readline() == b"#EXTM3U\n"
        assert f.read(3) == b"#EX"
        assert f.read() == b"TINF:2\nseg.ts\n"
    assert f.closed


def test_credentials_and_region_from_the_environment(aws_env, s3_store_factory, s3_server_url,
                                                     monkeypatch: pytest.MonkeyPatch):
    bucket = s3_store_factory().bucket
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ENVKEY")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "env-secret")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-3")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server_url)
    store = S3Store.from_options(bucket, "", {})
    store.write("env.ts", b"ok")
    assert store.read("env.ts") == b"ok"
    query = parse_qs(urlsplit(store.signed_url("env.ts")).query)
    assert query["X-Amz-Credential"][0].startswith("ENVKEY/") and "/eu-west-3/s3/" in query["X-Amz-Credential"][0]


def test_named_aws_profile(aws_env: Path, s3_store_factory, s3_server_url):
    bucket = s3_store_factory().bucket
    (aws_env / "aws-credentials").write_text(
        "[recordings]\naws_access_key_id = PROFILEKEY\naws_secret_access_key = profile-secret\n")
    (aws_env / "aws-config").write_text("[profile recordings]\nregion = ap-northeast-1\n")
    store = S3Store.from_options(bucket, "p", {"profile": "recordings", "endpoint": s3_server_url})
    store.write("x.ts", b"1")
    assert [o.key for o in store.list()] == ["x.ts"]
    credential = parse_qs(urlsplit(store.signed_url("x.ts")).query)["X-Amz-Credential"][0]
    assert credential.startswith("PROFILEKEY/") and "/ap-northeast-1/" in credential


def test_unknown_aws_profile_is_invalid_config(aws_env):
    with pytest.raises(InvalidConfig, match="'nope' is not configured"):
        S3Store.from_options("b", "", {"profile": "nope"})


def test_no_credentials_anywhere_is_invalid_config(aws_env, s3_server_url):
    store = S3Store.from_options("b", "", {"endpoint": s3_server_url})
    with pytest.raises(InvalidConfig, match="no usable S3 credentials"):
        list(store.list())
    with pytest.raises(InvalidConfig, match="no usable S3 credentials"):
        store.signed_url("x.ts")


@pytest.mark.parametrize(("options", "message"), [
    ({"access_key": "k"}, "given together"),
    ({"secret_key": "s"}, "given together"),
    ({"domain": "cdn"}, "'domain' does not apply"),
])
def test_bad_options(aws_env, options: dict[str, str], message: str):
    with pytest.raises(InvalidConfig, match=message):
        S3Store.from_options("b", "", options)


def test_errors_never_show_the_secret(s3_service: S3Service):
    store = s3_service.new_store(access_key="recshelf-bad-key", secret_key="bad-secret-9f2c")
    with pytest.raises(AccessDenied) as err:
        store.stat("x.ts")
    text = str(err.value)
    assert "bad-secret-9f2c" not in text
    assert store.url in text and "x.ts" in text


class _AlwaysBusy(BaseHTTPRequestHandler):
    requests = 0

    def _busy(self) -> None:
        type(self).requests += 1
        body = b"<Error><Code>ServiceUnavailable</Code><Message>busy</Message></Error>"
        self.send_response(503)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_HEAD = do_PUT = _busy

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture
def busy_endpoint() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _AlwaysBusy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_persistent_5xx_is_unavailable_after_bounded_retries(busy_endpoint: str):
    _AlwaysBusy.requests = 0
    store = S3Store("b", endpoint=busy_endpoint, region=S3_REGION,
                    access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY)
    with pytest.raises(Unavailable, match="ServiceUnavailable"):
        store.read("x.ts")
    # One try by obstore (the fast whole read, which then gives way to boto3), then boto3's bounded retries.
    assert 1 < _AlwaysBusy.requests <= 5


@pytest.mark.parametrize(("code", "status", "kind"), [
    ("NoSuchKey", 404, NotFound),
    ("404", 404, NotFound),
    ("NoSuchBucket", 404, NotFound),
    ("AccessDenied", 403, AccessDenied),
    ("InvalidAccessKeyId", 403, AccessDenied),
    ("SignatureDoesNotMatch", 403, AccessDenied),
    ("403", 403, AccessDenied),
    ("ExpiredToken", 400, AccessDenied),
    ("SlowDown", 503, Unavailable),
    ("InternalError", 500, Unavailable),
    ("502", 502, Unavailable),
    ("MalformedXML", 400, StoreError),
])
def test_error_codes_map_to_store_errors(code: str, status: int, kind: type[StoreError]):
    error = ClientError({"Error": {"Code": code, "Message": "why"},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject")
    translated = translate(error, url="s3://bkt/p", bucket="bkt", key="a b.ts")
    assert type(translated) is kind
    assert str(translated).startswith("s3://bkt/p key 'a b.ts': ")
    if code == "NoSuchBucket":
        assert "bucket 'bkt' does not exist" in str(translated)


def test_network_errors_are_unavailable():
    error = EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bkt")
    assert isinstance(translate(error, url="s3://bkt", bucket="bkt", key=None), Unavailable)


def test_wrong_region_says_which_region():
    error = ClientError({"Error": {"Code": "PermanentRedirect", "Message": "use the endpoint"},
                         "ResponseMetadata": {"HTTPStatusCode": 301,
                                              "HTTPHeaders": {"x-amz-bucket-region": "ap-southeast-1"}}},
                        "ListObjectsV2")
    translated = translate(error, url="s3://bkt", bucket="bkt", key=None)
    assert isinstance(translated, InvalidConfig)
    assert "region 'ap-southeast-1'" in str(translated)


def test_a_server_that_never_answers_is_unavailable():
    # The kernel completes the handshake for a listening socket nobody accepts on: reads time out.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        store = S3Store("b", endpoint=f"http://127.0.0.1:{silent.getsockname()[1]}", region=S3_REGION,
                        access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY,
                        config=client_config(connect_timeout=0.5, read_timeout=0.2))
        with pytest.raises(Unavailable, match="cannot reach"):
            store.stat("x.ts")


class _ShortBody(BaseHTTPRequestHandler):
    """Promises 1000 bytes, sends 10, hangs up: a connection reset in the middle of a slice."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


def test_a_body_cut_short_is_unavailable():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ShortBody)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        store = S3Store("b", endpoint=f"http://127.0.0.1:{server.server_address[1]}", region=S3_REGION,
                        access_key=S3_ACCESS_KEY, secret_key=S3_SECRET_KEY)
        with pytest.raises(Unavailable):
            store.read("x.ts")
        with store.open("x.ts") as f, pytest.raises(Unavailable):
            f.read()
    finally:
        server.shutdown()
        server.server_close()


def test_obstore_listings_and_reads_never_load_the_boto3_client(s3_service: S3Service):
    # Loading botocore's S3 model is ~0.2 CPU-s of every command; a `--sid` listing and whole reads by
    # obstore (what an export does) must not pay it.
    writer = s3_service.new_store()
    writer.write("rec/a_b_1.ts", b"\x47" * 188)
    reader = s3_service.new_store(bucket=writer.bucket)
    assert [o.key for o in reader.list("rec/a_b")] == ["rec/a_b_1.ts"]
    assert reader.read("rec/a_b_1.ts") == b"\x47" * 188
    assert reader._client is None
    assert reader.stat("rec/a_b_1.ts") is not None and reader._client is not None  # HEAD is boto3's


@pytest.mark.parametrize("options", [{"endpoint": "not a url"}, {"region": "no such region!"}])
def test_a_bad_endpoint_or_region_fails_when_the_store_is_opened(options: dict[str, str]):
    with pytest.raises(InvalidConfig, match="cannot configure the S3 client"):
        S3Store("bucket", access_key="k", secret_key="s", **options)

"""The OSS emulator speaks the wire protocol oss2 expects and checks signatures as OSS does."""

from __future__ import annotations

import base64
import hashlib
import hmac
import subprocess
import sys
import time
from collections.abc import Iterator
from email.utils import formatdate
from pathlib import Path

import httpx
import oss2
import pytest

from tests.fixtures.oss import OssEmulator

ROOT = Path(__file__).resolve().parents[2]
DATA = bytes(range(256)) * 4  # 1,024 bytes


@pytest.fixture
def bucket_name(oss_emulator: OssEmulator) -> str:
    name = oss_emulator.new_bucket()
    oss_emulator.store.put(name, "videos/a b/seg-001.ts", DATA, "video/mp2t")
    return name


def _bucket(emulator: OssEmulator, name: str, version: str = "v4", secret: str | None = None,
            access_key: str | None = None) -> oss2.Bucket:
    ak, sk = access_key or emulator.access_key, secret or emulator.secret_key
    if version == "v4":
        return oss2.Bucket(oss2.AuthV4(ak, sk), emulator.url, name, region=emulator.region)
    return oss2.Bucket(oss2.Auth(ak, sk), emulator.url, name)


VERSIONS = pytest.mark.parametrize("version", ["v1", "v4"])


def _v1_headers(emulator: OssEmulator, method: str, resource: str, oss_headers: dict[str, str],
                when: float | None = None) -> dict[str, str]:
    """Headers of a v1-signed request, built from the documented OSS rules rather than from oss2."""
    date = formatdate(time.time() if when is None else when, usegmt=True)
    canonical = "".join(f"{name}:{value}\n" for name, value in sorted(oss_headers.items()))
    string_to_sign = f"{method}\n\n\n{date}\n{canonical}{resource}"
    digest = hmac.new(emulator.secret_key.encode(), string_to_sign.encode(), hashlib.sha1).digest()
    authorization = f"OSS {emulator.access_key}:{base64.b64encode(digest).decode()}"
    return {"Date": date, **oss_headers, "Authorization": authorization}


# -- signatures ------------------------------------------------------------------------------------


def test_hand_signed_v1_request_follows_the_documented_string_to_sign(
    oss_emulator: OssEmulator, bucket_name: str
) -> None:
    """Built from the OSS v1 rules, not from oss2, so the emulator does not just mirror the SDK."""
    resource = f"/{bucket_name}/videos/a b/seg-001.ts"
    headers = _v1_headers(oss_emulator, "GET", resource, {"x-oss-range-behavior": "standard"})
    headers["Range"] = "bytes=1000-2000"  # Range is not signed
    url = f"{oss_emulator.url}/{bucket_name}/videos%2Fa%20b%2Fseg-001.ts"
    response = httpx.get(url, headers=headers)
    assert response.status_code == 206 and response.content == DATA[1000:]
    response = httpx.get(url, headers={**headers, "x-oss-range-behavior": "other"})  # now unsigned content
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text
    stale = _v1_headers(oss_emulator, "GET", resource, {"x-oss-range-behavior": "standard"}, when=time.time() - 3600)
    response = httpx.get(url, headers=stale)
    assert "<Code>RequestTimeTooSkewed</Code>" in response.text


@VERSIONS
def test_oss2_requests_pass_and_wrong_credentials_fail(
    oss_emulator: OssEmulator, bucket_name: str, version: str
) -> None:
    bucket = _bucket(oss_emulator, bucket_name, version)
    key = "odd/ key#+%?&=ü~!'()*.ts"
    bucket.put_object(key, b"abc", headers={"Content-Type": "video/mp2t"})
    assert bucket.get_object(key).read() == b"abc"
    assert bucket.head_object(key).content_type == "video/mp2t"
    assert bucket.get_bucket_info().name == bucket_name
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        _bucket(oss_emulator, bucket_name, version, secret="wrong").get_object(key)
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        _bucket(oss_emulator, bucket_name, version, access_key="nobody").list_objects_v2()
    assert (caught.value.status, caught.value.code) == (403, "InvalidAccessKeyId")
    anonymous = httpx.get(f"{oss_emulator.url}/{bucket_name}/videos/a%20b/seg-001.ts")
    assert anonymous.status_code == 403 and "<Code>AccessDenied</Code>" in anonymous.text


@VERSIONS
def test_presigned_urls_are_checked(oss_emulator: OssEmulator, bucket_name: str, version: str,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    bucket = _bucket(oss_emulator, bucket_name, version)
    params = {"response-content-type": "video/mp2t"}
    url = bucket.sign_url("GET", "videos/a b/seg-001.ts", 60, slash_safe=True, params=params)
    ok = httpx.get(url, headers={"Range": "bytes=0-9"})
    assert ok.status_code == 206 and ok.content == DATA[:10] and ok.headers["content-type"] == "video/mp2t"

    tampered = url.replace("video%2Fmp2t", "text%2Fhtml")  # a signed sub-resource changed
    assert httpx.get(tampered).status_code == 403
    forged = url.replace("seg-001.ts", "seg-002.ts")
    response = httpx.get(forged)
    assert response.status_code == 403 and "<Code>SignatureDoesNotMatch</Code>" in response.text

    monkeypatch.setattr(oss_emulator.server, "clock", lambda: time.time() + 61)
    expired = httpx.get(url)
    assert expired.status_code == 403 and "Request has expired" in expired.text


# -- objects ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("range_header", "standard", "status", "body"),
    [
        ("bytes=10-19", False, 206, DATA[10:20]),
        ("bytes=-24", False, 206, DATA[-24:]),
        ("bytes=1000-", False, 206, DATA[1000:]),
        ("bytes=500-2000", False, 200, DATA),  # end past the object: OSS ignores the range...
        ("bytes=500-2000", True, 206, DATA[500:]),  # ...unless asked to behave like S3
        ("bytes=1024-2000", False, 200, DATA),
        ("bytes=1024-2000", True, 416, None),
        ("bytes=-2000", False, 200, DATA),
        ("byte=0-1", True, 200, DATA),  # malformed: ignored
        ("bytes=0-1,4-5", False, 206, DATA[:2]),  # multi-range: only the first...
        ("bytes=0-1,4-5", True, 416, None),  # ...or refused
    ],
)
def test_range_behaviour(oss_emulator: OssEmulator, bucket_name: str, range_header: str, standard: bool,
                         status: int, body: bytes | None) -> None:
    headers = {"Range": range_header}
    if standard:
        headers["x-oss-range-behavior"] = "standard"
    bucket = _bucket(oss_emulator, bucket_name, "v1")
    url = bucket.sign_url("GET", "videos/a b/seg-001.ts", 60)
    # The presigned URL signs x-oss-* headers sent with it, so sign with the same header set.
    if standard:
        url = bucket.sign_url("GET", "videos/a b/seg-001.ts", 60, headers={"x-oss-range-behavior": "standard"})
    response = httpx.get(url, headers=headers)
    assert response.status_code == status, response.text
    if body is not None:
        assert response.content == body
    else:
        assert "<Code>InvalidRange</Code>" in response.text


def test_head_errors_travel_in_x_oss_err(oss_emulator: OssEmulator, bucket_name: str) -> None:
    bucket = _bucket(oss_emulator, bucket_name)
    with pytest.raises(oss2.exceptions.NoSuchKey):
        bucket.head_object("missing.ts")
    with pytest.raises(oss2.exceptions.NoSuchBucket):
        _bucket(oss_emulator, "no-such-bucket").head_object("missing.ts")
    url = bucket.sign_url("HEAD", "missing.ts", 60)
    response = httpx.head(url)
    assert response.status_code == 404 and response.content == b""
    assert b"<Code>NoSuchKey</Code>" in base64.b64decode(response.headers["x-oss-err"])


def test_put_checks_digests_and_reports_crc64(oss_emulator: OssEmulator, bucket_name: str) -> None:
    bucket = _bucket(oss_emulator, bucket_name)
    result = bucket.put_object("c.ts", DATA)  # oss2 compares the returned CRC-64 with its own
    assert result.crc == oss2.utils.Crc64().crc64.new(DATA).crcValue
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_object("d.ts", DATA, headers={"Content-MD5": base64.b64encode(b"0" * 16).decode()})
    assert caught.value.code == "InvalidDigest"
    bucket.delete_object("c.ts")
    assert not bucket.object_exists("c.ts")


# -- listing ---------------------------------------------------------------------------------------


def test_list_v1_and_v2_with_delimiter_and_pages(oss_emulator: OssEmulator, bucket_name: str) -> None:
    for key in ["a/1.ts", "a/2.ts", "b/x/1.ts", "c&<>.ts", "d\x01e.ts"]:
        oss_emulator.store.put(bucket_name, key, b"z")
    bucket = _bucket(oss_emulator, bucket_name)
    v2 = [(o.key, o.is_prefix()) for o in oss2.ObjectIteratorV2(bucket, delimiter="/", max_keys=2)]
    assert v2 == [("a/", True), ("b/", True), ("c&<>.ts", False), ("d\x01e.ts", False), ("videos/", True)]
    v1 = [o.key for o in oss2.ObjectIterator(bucket, prefix="a/", max_keys=1)]
    assert v1 == ["a/1.ts", "a/2.ts"]
    page = bucket.list_objects_v2(prefix="", start_after="b/x/1.ts", max_keys=2)
    assert [o.key for o in page.object_list] == ["c&<>.ts", "d\x01e.ts"] and page.is_truncated


def test_max_keys_is_capped_at_1000(oss_emulator: OssEmulator, bucket_name: str) -> None:
    for i in range(1005):
        oss_emulator.store.put(bucket_name, f"many/{i:04d}", b"")
    bucket = _bucket(oss_emulator, bucket_name)
    page = bucket.list_objects_v2(prefix="many/", max_keys=5000)
    assert len(page.object_list) == 1000 and page.is_truncated
    rest = bucket.list_objects_v2(prefix="many/", continuation_token=page.next_continuation_token, max_keys=5000)
    assert [o.key for o in rest.object_list] == [f"many/{i:04d}" for i in range(1000, 1005)]
    assert not rest.is_truncated


# -- browsers --------------------------------------------------------------------------------------


def test_cors_on_every_response_and_preflight(oss_emulator: OssEmulator, bucket_name: str) -> None:
    url = f"{oss_emulator.url}/{bucket_name}/videos/a%20b/seg-001.ts"
    preflight = httpx.options(url, headers={"Origin": "http://app.example", "Access-Control-Request-Method": "GET",
                                            "Access-Control-Request-Headers": "range"})
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "http://app.example"
    assert "range" in preflight.headers["access-control-allow-headers"].lower()
    denied = httpx.get(url, headers={"Origin": "http://app.example"})  # errors carry CORS headers too
    assert denied.status_code == 403
    assert "Content-Range" in denied.headers["access-control-expose-headers"]


# -- command line ----------------------------------------------------------------------------------


@pytest.fixture
def emulator_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    seeded = tmp_path / "seeded" / "rec" / "channel one"
    seeded.mkdir(parents=True)
    (seeded / "sid_channel one.m3u8").write_text("#EXTM3U\n#EXT-X-ENDLIST\n")
    (seeded / "sid_channel one_0.ts").write_bytes(DATA)
    command = [sys.executable, "-m", "tests.emulators.oss", "--port", "0", "--root", str(tmp_path),
               "--access-key", "cli-ak", "--secret-key", "cli-sk"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first_line = process.stdout.readline().strip()
        yield first_line, process
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_command_line_serves_a_seeded_folder(emulator_process: tuple[str, subprocess.Popen[str]]) -> None:
    url, process = emulator_process
    assert url.startswith("http://127.0.0.1:") and process.poll() is None
    bucket = oss2.Bucket(oss2.Auth("cli-ak", "cli-sk"), url, "seeded")
    keys = [o.key for o in oss2.ObjectIteratorV2(bucket)]
    assert keys == ["rec/channel one/sid_channel one.m3u8", "rec/channel one/sid_channel one_0.ts"]
    segment = bucket.head_object("rec/channel one/sid_channel one_0.ts")
    assert segment.content_type == "video/mp2t" and segment.content_length == len(DATA)
    assert bucket.get_object("rec/channel one/sid_channel one_0.ts", byte_range=(0, 3)).read() == DATA[:4]
    with pytest.raises(oss2.exceptions.SignatureDoesNotMatch):
        oss2.Bucket(oss2.Auth("cli-ak", "wrong"), url, "seeded").head_object("rec/channel one/sid_channel one_0.ts")


def test_names_are_validated(oss_emulator: OssEmulator, bucket_name: str) -> None:
    bucket = _bucket(oss_emulator, bucket_name)
    with pytest.raises(oss2.exceptions.ServerError) as caught:
        bucket.put_object("k" * 1024, b"x")
    assert caught.value.code == "InvalidObjectName"
    bucket.put_object("k" * 1023, b"x")
    response = httpx.put(f"{oss_emulator.url}/Bad_Name/", headers=_v1_headers(oss_emulator, "PUT", "/Bad_Name/", {}))
    assert response.status_code == 400 and "<Code>InvalidBucketName</Code>" in response.text
    response = httpx.put(f"{oss_emulator.url}/good-name/", headers=_v1_headers(oss_emulator, "PUT", "/good-name/", {}))
    assert response.status_code == 200 and oss_emulator.store.has_bucket("good-name")

"""The Kodo emulator speaks the wire protocol and refuses what real Kodo refuses.

Requests are made with the qiniu SDK where it has a call (so the SDK's own signing is what is
verified) and by hand where a test needs a forged, stale or malformed request.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import pytest
import qiniu
import requests
from qiniu.http.endpoint import Endpoint
from qiniu.http.region import Region, ServiceName
from qiniu.services.storage.uploaders import FormUploader, ResumeUploaderV2
from qiniu.utils import entry, etag_stream

from tests.emulators.qiniu import kodo_hash, parse_multipart, urlsafe_b64encode
from tests.fixtures.qiniu import QiniuEmulator

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def kodo(qiniu_emulator: QiniuEmulator) -> Iterator[tuple[QiniuEmulator, str, Region, qiniu.Auth]]:
    """(emulator, a fresh private bucket, an SDK region pointing at it, SDK auth)."""
    host = qiniu_emulator.base_url.split("://", 1)[1]
    region = Region(region_id="local", services={s: [Endpoint(host, default_scheme="http")] for s in ServiceName})
    bucket = qiniu_emulator.new_bucket()
    yield qiniu_emulator, bucket, region, qiniu.Auth(qiniu_emulator.access_key, qiniu_emulator.secret_key)


def _put(region: Region, token: str, key: str | None, data: bytes, mime: str = "video/mp2t"):
    uploader = FormUploader(None, regions=[region], preferred_scheme="http")
    return uploader.upload(key=key, data=io.BytesIO(data), mime_type=mime, up_token=token)


def _download_url(emulator: QiniuEmulator, bucket: str, key: str) -> str:
    return f"{emulator.domain(bucket)}/{quote(key, safe='/')}"


# -- hashes and parsing ----------------------------------------------------------------------------


@pytest.mark.parametrize("size", [0, 1, 4 * 1024 * 1024, 4 * 1024 * 1024 + 1, 9 * 1024 * 1024])
def test_kodo_hash_matches_the_sdk(size: int):
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    assert kodo_hash(data) == etag_stream(io.BytesIO(data))


def test_multipart_parser_reads_fields_and_files():
    body = (
        b"--XyZ\r\nContent-Disposition: form-data; name=\"token\"\r\n\r\nabc\r\n"
        b"--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"f\"\r\n"
        b"Content-Type: video/mp2t\r\n\r\n\x00\r\n\x01\r\n--XyZ--\r\n"
    )
    fields = parse_multipart(body, 'multipart/form-data; boundary="XyZ"')
    assert fields["token"].value == b"abc"
    assert (fields["file"].value, fields["file"].content_type) == (b"\x00\r\n\x01", "video/mp2t")
    with pytest.raises(ValueError):
        parse_multipart(body, "application/json")


# -- management signatures -------------------------------------------------------------------------


def test_sdk_management_calls_pass_and_every_answer_has_a_reqid(kodo):
    emulator, bucket, region, auth = kodo
    _put(region, auth.upload_token(bucket, "a.ts"), "a.ts", b"abc")
    manager = qiniu.BucketManager(auth, regions=[region])
    ret, info = manager.stat(bucket, "a.ts")
    assert info.status_code == 200 and ret["fsize"] == 3 and ret["mimeType"] == "video/mp2t"
    assert ret["hash"] == kodo_hash(b"abc") and info.req_id
    ret, info = manager.stat(bucket, "missing.ts")
    assert ret is None and info.status_code == 612 and info.req_id
    assert json.loads(info.text_body) == {"error": "no such file or directory"}
    _, info = manager.delete(bucket, "a.ts")
    assert info.status_code == 200
    _, info = manager.delete(bucket, "a.ts")
    assert info.status_code == 612


def test_legacy_qbox_signature_is_accepted(kodo):
    emulator, bucket, region, auth = kodo
    _put(region, auth.upload_token(bucket, "q.ts"), "q.ts", b"q")
    url = f"{emulator.base_url}/stat/{entry(bucket, 'q.ts')}"
    response = requests.post(url, headers={"Authorization": f"QBox {auth.token_of_request(url)}"}, timeout=5)
    assert response.status_code == 200 and response.json()["fsize"] == 1


def test_forged_or_unknown_management_credentials_are_401(kodo):
    emulator, bucket, region, auth = kodo
    _put(region, auth.upload_token(bucket, "f.ts"), "f.ts", b"f")
    # Signed for another object, sent for this one.
    other = f"{emulator.base_url}/stat/{entry(bucket, 'other.ts')}"
    url = f"{emulator.base_url}/stat/{entry(bucket, 'f.ts')}"
    forged = requests.post(url, headers={"Authorization": f"QBox {auth.token_of_request(other)}"}, timeout=5)
    assert forged.status_code == 401 and forged.json() == {"error": "bad token"}
    stranger = qiniu.Auth("someone-else", emulator.secret_key)
    response = requests.post(url, headers={"Authorization": f"QBox {stranger.token_of_request(url)}"}, timeout=5)
    assert response.status_code == 401
    assert requests.post(url, timeout=5).status_code == 401  # no Authorization at all
    ret, info = qiniu.BucketManager(qiniu.Auth(emulator.access_key, "wrong"), regions=[region]).stat(bucket, "f.ts")
    assert ret is None and info.status_code == 401


def test_stale_x_qiniu_date_is_refused(kodo):
    emulator, bucket, _, _ = kodo
    mac = qiniu.QiniuMacAuth(emulator.access_key, emulator.secret_key)
    url = f"{emulator.base_url}/stat/{entry(bucket, 'x.ts')}"
    host = url.split("/")[2]
    ctype = "application/x-www-form-urlencoded"
    for age, status in ((timedelta(minutes=1), 612), (timedelta(hours=1), 401)):
        stamp = (datetime.now(UTC) - age).strftime("%Y%m%dT%H%M%SZ")
        token = mac.token_of_request("POST", host, url, f"X-Qiniu-Date: {stamp}", ctype, None)
        headers = {"Authorization": f"Qiniu {token}", "X-Qiniu-Date": stamp, "Content-Type": ctype}
        assert requests.post(url, headers=headers, timeout=5).status_code == status


# -- listing ---------------------------------------------------------------------------------------


def test_list_caps_limit_at_1000_with_an_opaque_marker_in_key_order(kodo):
    emulator, bucket, region, auth = kodo
    keys = [f"k/{i:05d}" for i in range(1203)]
    for key in keys:
        emulator.server.store.put(bucket, key, b"1")
    manager = qiniu.BucketManager(auth, regions=[region])
    ret, eof, info = manager.list(bucket, prefix="k/", limit=5000)
    assert info.status_code == 200 and not eof
    assert [item["key"] for item in ret["items"]] == keys[:1000]
    assert ret["marker"] and "k/" not in ret["marker"]
    ret, eof, _ = manager.list(bucket, prefix="k/", marker=ret["marker"], limit=150)
    assert [item["key"] for item in ret["items"]] == keys[1000:1150] and not eof
    ret, eof, _ = manager.list(bucket, prefix="k/", marker=ret["marker"])
    assert [item["key"] for item in ret["items"]] == keys[1150:] and eof and not ret.get("marker")
    ret, _, _ = manager.list(bucket, prefix="k/0000", delimiter="/", limit=3)
    assert len(ret["items"]) == 3
    _, _, info = manager.list(bucket, marker="not-a-marker")
    assert info.status_code == 400
    _, _, info = manager.list(f"{bucket}-missing")
    assert info.status_code == 631 and json.loads(info.text_body) == {"error": "no such bucket"}


def test_list_rolls_up_common_prefixes(kodo):
    emulator, bucket, region, auth = kodo
    for key in ("a/1.ts", "a/2.ts", "b/1.ts", "c.m3u8"):
        emulator.server.store.put(bucket, key, b"1")
    ret, _, _ = qiniu.BucketManager(auth, regions=[region]).list(bucket, delimiter="/")
    assert [item["key"] for item in ret["items"]] == ["c.m3u8"]
    assert ret["commonPrefixes"] == ["a/", "b/"]


# -- upload tokens ---------------------------------------------------------------------------------


def test_form_upload_stores_data_type_and_hash(kodo):
    emulator, bucket, region, auth = kodo
    ret, info = _put(region, auth.upload_token(bucket, "v/seg.ts"), "v/seg.ts", b"\x47" * 188)
    assert info.status_code == 200 and ret == {"hash": kodo_hash(b"\x47" * 188), "key": "v/seg.ts"}
    stored = emulator.server.store.get(bucket, "v/seg.ts")
    assert stored is not None and stored.data == b"\x47" * 188 and stored.content_type == "video/mp2t"


def test_upload_token_scope_is_enforced(kodo):
    emulator, bucket, region, auth = kodo
    _, info = _put(region, auth.upload_token(bucket, "allowed.ts"), "other.ts", b"data")
    assert info.status_code == 403 and json.loads(info.text_body) == {"error": "key doesn't match with scope"}
    # The token's scope names the bucket: a token for another bucket never writes into ours.
    other_bucket = emulator.new_bucket()
    assert _put(region, auth.upload_token(other_bucket, "x.ts"), "x.ts", b"data")[1].status_code == 200
    assert emulator.server.store.get(bucket, "x.ts") is None
    assert emulator.server.store.get(other_bucket, "x.ts") is not None
    prefixal = auth.upload_token(bucket, "rec/", policy={"isPrefixalScope": 1})
    assert _put(region, prefixal, "rec/a.ts", b"1")[1].status_code == 200
    assert _put(region, prefixal, "elsewhere/a.ts", b"1")[1].status_code == 403


def test_expired_or_forged_upload_tokens_are_401(kodo):
    emulator, bucket, region, auth = kodo
    _, info = _put(region, auth.upload_token(bucket, "e.ts", expires=-5), "e.ts", b"x")
    assert info.status_code == 401 and "out of date" in info.text_body
    access_key, signature, policy = auth.upload_token(bucket, "e.ts").split(":")
    wider = urlsafe_b64encode(json.dumps({"scope": bucket, "deadline": int(time.time()) + 60}))
    _, info = _put(region, f"{access_key}:{signature}:{wider}", "e.ts", b"x")
    assert info.status_code == 401 and "bad token" in info.text_body
    _, info = _put(region, qiniu.Auth(emulator.access_key, "wrong").upload_token(bucket, "e.ts"), "e.ts", b"x")
    assert info.status_code == 401
    assert emulator.server.store.get(bucket, "e.ts") is None


def test_insert_only_scope_refuses_to_overwrite_with_614(kodo):
    _, bucket, region, auth = kodo
    bucket_token = auth.upload_token(bucket)  # no key: insert only
    assert _put(region, bucket_token, "once.ts", b"first")[1].status_code == 200
    assert _put(region, bucket_token, "once.ts", b"first")[1].status_code == 200  # same bytes: accepted
    assert _put(region, bucket_token, "once.ts", b"second")[1].status_code == 614
    assert _put(region, auth.upload_token(bucket, "once.ts"), "once.ts", b"second")[1].status_code == 200


def test_upload_errors_crc_and_missing_bucket(kodo):
    emulator, bucket, region, auth = kodo
    token = auth.upload_token(bucket, "c.ts")
    fields = {"token": token, "key": "c.ts", "crc32": str(zlib.crc32(b"other"))}
    response = requests.post(emulator.base_url, data=fields, files={"file": ("f", b"data")}, timeout=5)
    assert response.status_code == 406 and response.headers["X-Reqid"]
    _, info = _put(region, auth.upload_token("no-such-bucket", "c.ts"), "c.ts", b"x")
    assert info.status_code == 631


def test_resumable_v2_assembles_parts_and_checks_md5(kodo):
    emulator, bucket, region, auth = kodo
    data = bytes(range(256)) * 1000  # 256,000 bytes in 4 parts of 64 KiB
    uploader = ResumeUploaderV2(bucket, regions=[region], preferred_scheme="http", part_size=64 * 1024,
                                upload_progress_recorder=None)
    ret, info = uploader.upload(key="big.ts", data=io.BytesIO(data), data_size=len(data),
                                mime_type="video/mp2t", up_token=auth.upload_token(bucket, "big.ts"))
    assert info.status_code == 200 and ret["key"] == "big.ts"
    stored = emulator.server.store.get(bucket, "big.ts")
    assert stored is not None and stored.data == data and stored.content_type == "video/mp2t"
    token = auth.upload_token(bucket, "m.ts")
    base = f"{emulator.base_url}/buckets/{bucket}/objects/{urlsafe_b64encode('m.ts')}/uploads"
    headers = {"Authorization": f"UpToken {token}"}
    upload_id = requests.post(base, headers=headers, timeout=5).json()["uploadId"]
    bad = requests.put(f"{base}/{upload_id}/1", data=b"abc", timeout=5,
                       headers={**headers, "Content-MD5": "0" * 32, "Content-Type": "application/octet-stream"})
    assert bad.status_code == 400
    unknown = requests.put(f"{base}/nope/1", data=b"abc", headers=headers, timeout=5)
    assert unknown.status_code == 612
    assert requests.put(f"{base}/{upload_id}/1", data=b"abc", timeout=5).status_code == 401
    foreign = {"Authorization": f"UpToken {auth.upload_token(emulator.new_bucket(), 'm.ts')}"}
    assert requests.post(base, headers=foreign, timeout=5).status_code == 403  # URL bucket ≠ token scope


# -- downloads -------------------------------------------------------------------------------------


def test_download_tokens_ranges_and_errors(kodo):
    emulator, bucket, region, auth = kodo
    key = "dl/a b#?.ts"
    data = bytes(range(100))
    _put(region, auth.upload_token(bucket, key), key, data)
    plain = _download_url(emulator, bucket, key)
    signed = auth.private_download_url(plain, expires=60)

    whole = requests.get(signed, timeout=5)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["Content-Type"] == "video/mp2t" and whole.headers["ETag"] == f'"{kodo_hash(data)}"'
    part = requests.get(signed, headers={"Range": "bytes=10-19"}, timeout=5)
    assert part.status_code == 206 and part.content == data[10:20]
    assert part.headers["Content-Range"] == "bytes 10-19/100"
    assert requests.get(signed, headers={"Range": "bytes=90-500"}, timeout=5).content == data[90:]
    assert requests.get(signed, headers={"Range": "bytes=100-"}, timeout=5).status_code == 416
    head = requests.head(signed, timeout=5)
    assert head.status_code == 200 and head.headers["Content-Length"] == "100"

    assert requests.get(plain, timeout=5).status_code == 401  # no token
    tampered = signed.replace("e=", "e=1", 1)
    assert requests.get(tampered, timeout=5).status_code == 401
    other = auth.private_download_url(_download_url(emulator, bucket, "dl/other.ts"), expires=60)
    assert requests.get(other.replace("dl/other.ts", quote(key, safe="/")), timeout=5).status_code == 401
    assert requests.get(other, timeout=5).status_code == 404
    wrong = qiniu.Auth(emulator.access_key, "wrong").private_download_url(plain, expires=60)
    assert requests.get(wrong, timeout=5).json() == {"error": "bad token"}
    missing_bucket = auth.private_download_url(_download_url(emulator, "no-such-bucket", key), expires=60)
    assert requests.get(missing_bucket, timeout=5).status_code == 631


def test_expired_download_token_is_403(kodo, monkeypatch: pytest.MonkeyPatch):
    emulator, bucket, region, auth = kodo
    _put(region, auth.upload_token(bucket, "x.ts"), "x.ts", b"x")
    signed = auth.private_download_url(_download_url(emulator, bucket, "x.ts"), expires=60)
    assert requests.get(signed, timeout=5).status_code == 200
    monkeypatch.setattr(emulator.server, "clock", lambda: time.time() + 120)
    response = requests.get(signed, timeout=5)
    assert response.status_code == 403 and response.json() == {"error": "token out of date"}


def test_public_bucket_needs_no_token_and_cors_is_answered(kodo):
    emulator, _, region, auth = kodo
    bucket = emulator.new_bucket(private=False)
    _put(region, auth.upload_token(bucket, "p.m3u8"), "p.m3u8", b"#EXTM3U\n", "application/vnd.apple.mpegurl")
    url = _download_url(emulator, bucket, "p.m3u8")
    response = requests.get(url, headers={"Origin": "http://player.example"}, timeout=5)
    assert response.status_code == 200 and response.content == b"#EXTM3U\n"
    assert response.headers["Access-Control-Allow-Origin"] == "http://player.example"
    assert "Content-Range" in response.headers["Access-Control-Expose-Headers"]
    preflight = requests.options(url, timeout=5, headers={
        "Origin": "http://player.example", "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "range"})
    assert preflight.status_code == 200 and "GET" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "range"


def test_uc_queries_are_counted_not_answered(kodo):
    emulator = kodo[0]
    before = emulator.server.uc_requests
    response = requests.get(f"{emulator.base_url}/v4/query?ak=x&bucket=y", timeout=5)
    assert response.status_code == 404 and emulator.server.uc_requests == before + 1


def test_injected_failures_answer_the_next_requests(kodo):
    emulator, bucket, region, auth = kodo
    emulator.server.failures.extend([503])
    ret, info = qiniu.BucketManager(auth, regions=[region]).stat(bucket, "x.ts")
    assert info.status_code == 503 and emulator.server.failures == []


# -- command line ----------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_module_entry_point_prints_its_url_and_serves_a_seeded_bucket(tmp_path: Path):
    (tmp_path / "seeded" / "rec").mkdir(parents=True)
    (tmp_path / "seeded" / "rec" / "a.ts").write_bytes(b"\x47" * 376)
    (tmp_path / "seeded" / "rec" / "a.m3u8").write_text("#EXTM3U\n")
    command = [sys.executable, "-m", "tests.emulators.qiniu", "--port", "0", "--root", str(tmp_path),
               "--access-key", "cli-ak", "--secret-key", "cli-sk"]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        assert base_url.startswith("http://127.0.0.1:")
        host = base_url.split("://", 1)[1]
        region = Region(region_id="cli", services={s: [Endpoint(host, default_scheme="http")] for s in ServiceName})
        auth = qiniu.Auth("cli-ak", "cli-sk")
        ret, _, info = qiniu.BucketManager(auth, regions=[region]).list("seeded")
        assert info.status_code == 200
        assert [(i["key"], i["fsize"], i["mimeType"]) for i in ret["items"]] == [
            ("rec/a.m3u8", 8, "application/vnd.apple.mpegurl"), ("rec/a.ts", 376, "video/mp2t")]
        assert ret["items"][1]["hash"] == kodo_hash(b"\x47" * 376)
        signed = auth.private_download_url(f"{base_url}/dl/seeded/rec/a.ts", expires=60)
        assert requests.get(signed, timeout=5).content == b"\x47" * 376
    finally:
        process.terminate()
        process.wait(timeout=10)

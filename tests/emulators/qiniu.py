"""A wire-compatible emulator of Qiniu Kodo on one base URL, verifying every signature.

The qiniu SDK (7.18) talks to it unmodified when given explicit regions whose rs, rsf, up, io, api
and uc services all point at the base URL. Routes:

=================================================  =====================================================
``GET  /list?bucket=&prefix=&marker=&limit=``      rsf listing (limit capped at 1,000, opaque marker)
``POST /stat/<EncodedEntryURI>``                   rs stat (GET accepted too)
``POST /delete/<EncodedEntryURI>``                 rs delete
``POST /chtype/<EncodedEntryURI>/type/<n>``         rs change storage type (0-4)
``POST /restoreAr/<Entry>/freezeAfterDays/<n>``     rs thaw an archive / deep-archive object (never finishes)
``POST /mkbucketv3/<bucket>/region/<region>``      create a bucket (test set-up over the wire)
``POST /``                                         form upload (multipart: token, key, crc32, file)
``POST|PUT|DELETE /buckets/<b>/objects/<k>/...``   resumable upload v2 (init, part, complete, abort)
``GET|HEAD /dl/<bucket>/<percent-encoded key>``    download, ``?e=<deadline>&token=<ak:sig>`` when private
``GET  /v4/query``, ``/v2/domains``                uc: never emulated, answered 404 and counted
=================================================  =====================================================

Download domains: real Kodo serves ``http://<domain>/<key>`` with the bucket implied by the domain.
Here a bucket's download "domain" is ``<base URL>/dl/<bucket>`` (give it as the store's ``domain``
option); the download token is still HMAC-SHA1 over the whole URL up to ``&token=`` — scheme,
``Host`` header, the path exactly as sent (percent-encoded) and ``e=`` — which is what
``Auth.private_download_url`` signs. Buckets are private unless listed in ``server.public_buckets``.

Signatures checked: management ``Authorization: Qiniu ak:sig`` (QiniuMacAuth, what ``BucketManager``
sends in 7.18; ``X-Qiniu-Date`` must be within 15 minutes) and the legacy ``QBox ak:sig``; upload tokens
``ak:sig:base64(putPolicy)`` (signature, ``deadline``, ``scope`` bucket / bucket:key / prefix with
``isPrefixalScope``, insert-only when the scope names no key, ``fsizeLimit``); download tokens.

Errors are JSON ``{"error": "..."}`` with Kodo's status codes: 400 bad request, 401 bad or missing
token, 403 expired download token or upload key outside the token's scope, 404 missing download,
406 crc32 mismatch, 413 too large, 416 bad range, 612 no such file / upload, 614 file exists,
631 no such bucket. Every response carries an
``X-Reqid`` header: the SDK treats a 200 without one as "server is not qiniu".

Test hooks on the server: ``clock`` (replace to check expiry without sleeping), ``failures`` (statuses
to answer the next requests with, for retry tests), ``requests`` (every method and raw target seen),
``uc_requests`` (region queries: the adapter must never send one).

Run standalone: ``python -m tests.emulators.qiniu --port 0 --root DIR --access-key AK --secret-key SK``
(each subfolder of DIR is a private bucket; the first stdout line is the base URL).
"""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import json
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote

from tests.emulators.base import (
    BucketStore,
    EmulatorHandler,
    EmulatorServer,
    NoSuchBucket,
    RangeNotSatisfiable,
    StoredObject,
    guess_content_type,
    http_date,
    main,
    parse_range,
    serve_in_thread,
)

BLOCK_SIZE = 4 * 1024 * 1024  # Kodo's etag block size; a fixed part of the protocol
MAX_LIST_LIMIT = 1000
STORAGE_TYPES = ("standard", "low-frequency", "archive", "deep-archive", "archive-ir")
COLD_TYPES = frozenset({2, 3})  # downloadable only once thawed (restoreAr)
CLOCK_SKEW_S = 15 * 60  # how far X-Qiniu-Date may be from the server clock
DOWNLOAD_PREFIX = "/dl/"


# ------------------------------------------------------------------------------------------------
# Encodings and signatures (independent of the SDK, so the SDK is really checked against the spec)


def urlsafe_b64encode(data: bytes | str) -> str:
    """Kodo's base64: URL-safe alphabet, WITH '=' padding."""
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).decode()


def urlsafe_b64decode(text: str) -> bytes:
    """Decode URL-safe base64, tolerating missing padding; raises ValueError on garbage."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"bad base64: {text!r}") from exc


def hmac_sha1(secret: str, data: bytes | str) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return urlsafe_b64encode(hmac.new(secret.encode(), raw, hashlib.sha1).digest())


def kodo_hash(data: bytes) -> str:
    """Qiniu's etag ("hash"): sha1 of the data (≤ 4 MiB) or of the 4 MiB blocks' sha1s, tagged and encoded."""
    if len(data) <= BLOCK_SIZE:
        return urlsafe_b64encode(b"\x16" + hashlib.sha1(data).digest())
    digests = b"".join(
        hashlib.sha1(data[i : i + BLOCK_SIZE]).digest() for i in range(0, len(data), BLOCK_SIZE)
    )
    return urlsafe_b64encode(b"\x96" + hashlib.sha1(digests).digest())


def object_hash(obj: StoredObject) -> str:
    # The base store gives seeded objects an md5 hex etag (32 chars); Kodo hashes are 28 chars.
    return kodo_hash(obj.data) if len(obj.etag) == 32 else obj.etag


def canonical_header_name(name: str) -> str:
    """Go's CanonicalMIMEHeaderKey, as the SDK applies it to X-Qiniu-* names."""
    return "-".join(part[:1].upper() + part[1:].lower() for part in name.split("-"))


def qiniu_signing_string(
    method: str,
    path_and_query: str,
    host: str,
    content_type: str | None,
    qiniu_headers: dict[str, str],
    body: bytes,
) -> bytes:
    """The string a ``Qiniu`` management token signs (Kodo "access token" v2 spec)."""
    text = f"{method} {path_and_query}\nHost: {host}"
    if content_type:
        text += f"\nContent-Type: {content_type}"
    if qiniu_headers:
        text += "\n" + "\n".join(f"{name}: {qiniu_headers[name]}" for name in sorted(qiniu_headers))
    data = text.encode() + b"\n\n"
    if content_type and content_type != "application/octet-stream" and body:
        data += body
    return data


def qbox_signing_string(path_and_query: str, content_type: str | None, body: bytes) -> bytes:
    """The string a legacy ``QBox`` management token signs."""
    data = path_and_query.encode() + b"\n"
    if body and content_type == "application/x-www-form-urlencoded":
        data += body
    return data


def download_signing_string(scheme: str, host: str, raw_target: str) -> str | None:
    """What a download token signs: the whole URL before ``&token=`` (None when no token is given)."""
    cut = raw_target.rfind("&token=")
    if cut < 0:
        return None
    return f"{scheme}://{host}{raw_target[:cut]}"


class TokenError(Exception):
    """An upload or management credential was rejected; carries the HTTP status and Kodo message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class PutPolicy:
    access_key: str
    bucket: str
    key: str | None  # the scope's key (exact, or a prefix when `prefixal`)
    prefixal: bool
    deadline: int
    insert_only: bool
    fsize_limit: int | None

    def allows(self, key: str) -> bool:
        if self.key is None:
            return True
        return key.startswith(self.key) if self.prefixal else key == self.key


def verify_upload_token(token: str, credentials: dict[str, str], now: float) -> PutPolicy:
    """Check an upload token's signature and deadline; return its policy. Raises TokenError (401)."""
    parts = token.split(":")
    if len(parts) != 3:
        raise TokenError(401, "bad token")
    access_key, signature, encoded = parts
    secret = credentials.get(access_key)
    if secret is None or not hmac.compare_digest(hmac_sha1(secret, encoded), signature):
        raise TokenError(401, "bad token")
    try:
        policy = json.loads(urlsafe_b64decode(encoded))
        scope = str(policy["scope"])
        deadline = int(policy["deadline"])
    except (ValueError, KeyError, TypeError):
        raise TokenError(401, "bad token") from None
    if deadline <= now:
        raise TokenError(401, "token out of date")
    bucket, sep, key = scope.partition(":")
    limit = policy.get("fsizeLimit")
    return PutPolicy(
        access_key=access_key,
        bucket=bucket,
        key=key if sep else None,
        prefixal=bool(policy.get("isPrefixalScope")),
        deadline=deadline,
        # Kodo: a scope without a key only inserts; "bucket:key" may overwrite that key.
        insert_only=bool(policy.get("insertOnly")) or not sep,
        fsize_limit=int(limit) if limit is not None else None,
    )


# ------------------------------------------------------------------------------------------------
# Multipart form bodies (the stdlib's cgi module is deprecated)


@dataclass
class FormPart:
    value: bytes
    filename: str | None = None
    content_type: str | None = None


def parse_multipart(body: bytes, content_type: str) -> dict[str, FormPart]:
    """Fields of a multipart/form-data body by name. Raises ValueError when it is not one."""
    boundary = ""
    for param in content_type.split(";")[1:]:
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary":
            boundary = value.strip('"')
    if not content_type.lower().startswith("multipart/form-data") or not boundary:
        raise ValueError("not multipart/form-data")
    fields: dict[str, FormPart] = {}
    delimiter = b"--" + boundary.encode()
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # closing delimiter
        head, sep, value = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            raise ValueError("malformed part")
        headers: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            name, _, val = line.partition(":")
            headers[name.strip().lower()] = val.strip()
        disposition = {}
        for item in headers.get("content-disposition", "").split(";")[1:]:
            k, _, v = item.strip().partition("=")
            disposition[k.lower()] = v.strip('"')
        if "name" not in disposition:
            raise ValueError("part without a name")
        fields[disposition["name"]] = FormPart(
            value.removesuffix(b"\r\n"), disposition.get("filename"), headers.get("content-type")
        )
    return fields


# ------------------------------------------------------------------------------------------------
# Server


@dataclass
class PendingUpload:
    bucket: str
    key: str
    policy: PutPolicy
    parts: dict[int, tuple[str, bytes]] = field(default_factory=dict)  # number -> (etag, data)


class KodoServer(EmulatorServer):
    """The emulator's state: buckets (private unless in `public_buckets`), uploads, a request log."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.public_buckets: set[str] = set()
        self.uploads: dict[str, PendingUpload] = {}
        self.requests: list[tuple[str, str]] = []  # (method, raw target) of every request, for tests
        self.uc_requests = 0  # region/bucket queries: the adapter must never need them
        self.failures: list[int] = []  # statuses to answer the next requests with (retry tests)
        self.lock = threading.Lock()

    def create_bucket(self, bucket: str, *, private: bool = True) -> None:
        self.store.create_bucket(bucket)
        with self.lock:
            if private:
                self.public_buckets.discard(bucket)
            else:
                self.public_buckets.add(bucket)


class KodoHandler(EmulatorHandler):
    """Kodo rs / rsf / up / io (download) on one port."""

    server: KodoServer

    # -- plumbing

    def end_headers(self) -> None:
        self.send_header("X-Reqid", uuid.uuid4().hex[:16])
        super().end_headers()

    def send_json(self, status: int, payload: object | None) -> None:
        body = b"" if payload is None else json.dumps(payload, ensure_ascii=False).encode()
        self.send_body(status, body, content_type="application/json")

    def send_error_json(self, status: int, message: str) -> None:
        self.send_json(status, {"error": message})

    def _begin(self) -> bool:
        """Log the request; answer it with an injected failure if one is queued (True: done)."""
        with self.server.lock:
            self.server.requests.append((self.command, self.path))
            status = self.server.failures.pop(0) if self.server.failures else None
        if status is None:
            return False
        self.read_body()
        self.send_error_json(status, "injected failure")
        return True

    def _path(self) -> str:
        return self.path.split("?", 1)[0]

    # -- verbs

    def do_GET(self) -> None:  # noqa: N802 - name fixed by http.server
        if self._begin():
            return
        path = self._path()
        if path.startswith(DOWNLOAD_PREFIX):
            self.download()
        elif path == "/list":
            self.management(self.list_objects)
        elif path.startswith("/stat/"):
            self.management(self.stat)
        elif path.startswith(("/v4/query", "/v3/query", "/v2/domains")):
            with self.server.lock:
                self.server.uc_requests += 1
            self.send_error_json(404, "uc is not emulated: pass explicit regions")
        else:
            self.send_error_json(404, "no such route")

    def do_HEAD(self) -> None:  # noqa: N802
        if self._begin():
            return
        if self._path().startswith(DOWNLOAD_PREFIX):
            self.download()
        else:
            self.send_error_json(405, "method not allowed")

    def do_POST(self) -> None:  # noqa: N802
        if self._begin():
            return
        path = self._path()
        if path == "/":
            self.form_upload()
        elif path.startswith("/stat/"):
            self.management(self.stat)
        elif path.startswith("/delete/"):
            self.management(self.delete)
        elif path.startswith("/chtype/"):
            self.management(self.change_type)
        elif path.startswith("/restoreAr/"):
            self.management(self.restore_archive)
        elif path == "/batch":
            self.management(self.batch)
        elif path.startswith("/mkbucketv3/"):
            self.management(self.make_bucket)
        elif path.startswith("/buckets/"):
            self.resumable("POST")
        else:
            self.read_body()
            self.send_error_json(404, "no such route")

    def do_PUT(self) -> None:  # noqa: N802
        if self._begin():
            return
        if self._path().startswith("/buckets/"):
            self.resumable("PUT")
        else:
            self.read_body()
            self.send_error_json(404, "no such route")

    def do_DELETE(self) -> None:  # noqa: N802
        if self._begin():
            return
        if self._path().startswith("/buckets/"):
            self.resumable("DELETE")
        else:
            self.send_error_json(404, "no such route")

    # -- management (rs / rsf)

    def management(self, action: Callable[[], None]) -> None:
        body = self.body = self.read_body()
        try:
            self.verify_management(body)
        except TokenError as exc:
            self.send_error_json(exc.status, exc.message)
            return
        try:
            action()
        except NoSuchBucket:
            self.send_error_json(631, "no such bucket")
        except ValueError as exc:
            self.send_error_json(400, str(exc))

    def verify_management(self, body: bytes) -> None:
        """Check a ``Qiniu`` or ``QBox`` Authorization header against this exact request."""
        scheme, _, credential = self.headers.get("Authorization", "").partition(" ")
        access_key, _, signature = credential.strip().partition(":")
        secret = self.server.credentials.get(access_key)
        if scheme not in ("Qiniu", "QBox") or not signature:
            raise TokenError(401, "bad token")
        if secret is None:
            raise TokenError(401, "bad token")
        content_type = self.headers.get("Content-Type")
        if scheme == "Qiniu":
            qheaders = {
                canonical_header_name(name): value
                for name, value in self.headers.items()
                if name.lower().startswith("x-qiniu-") and len(name) > len("x-qiniu-")
            }
            data = qiniu_signing_string(
                self.command, self.path, self.headers.get("Host", ""), content_type, qheaders, body
            )
            stamp = qheaders.get("X-Qiniu-Date")
            if stamp is not None:
                try:
                    sent = calendar.timegm(time.strptime(stamp, "%Y%m%dT%H%M%SZ"))
                except ValueError:
                    raise TokenError(401, "bad X-Qiniu-Date") from None
                if abs(sent - self.server.clock()) > CLOCK_SKEW_S:
                    raise TokenError(401, "request time too skewed")
        else:
            data = qbox_signing_string(self.path, content_type, body)
        if not hmac.compare_digest(hmac_sha1(secret, data), signature):
            raise TokenError(401, "bad token")

    def _entry(self, prefix: str) -> tuple[str, str]:
        encoded = self._path()[len(prefix) :].split("/", 1)[0]
        bucket, sep, key = urlsafe_b64decode(encoded).decode("utf-8").partition(":")
        if not sep:
            raise ValueError("entry names no key")
        return bucket, key

    def list_objects(self) -> None:
        params = dict(self.target()[1])
        bucket = params.get("bucket", "")
        if not bucket:
            raise ValueError("bucket not specified")
        try:
            limit = int(params.get("limit") or MAX_LIST_LIMIT)
        except ValueError:
            raise ValueError("invalid limit") from None
        limit = MAX_LIST_LIMIT if limit < 1 else min(limit, MAX_LIST_LIMIT)
        after = ""
        if params.get("marker"):
            try:
                after = str(json.loads(urlsafe_b64decode(params["marker"]))["k"])
            except (ValueError, KeyError, TypeError):
                raise ValueError("invalid marker") from None
        page = self.server.store.list_page(
            bucket,
            prefix=params.get("prefix", ""),
            delimiter=params.get("delimiter", ""),
            after=after,
            max_keys=limit,
        )
        result: dict[str, object] = {
            "items": [self._item(key, obj) for key, obj in page.objects],
            "commonPrefixes": page.prefixes,
        }
        if page.truncated and page.last is not None:
            # Opaque to clients; shaped like Kodo's (base64 JSON naming the last key returned).
            result["marker"] = urlsafe_b64encode(json.dumps({"c": 0, "k": page.last}))
        self.send_json(200, result)

    @staticmethod
    def _item(key: str, obj: StoredObject) -> dict[str, object]:
        return {
            "key": key,
            "hash": object_hash(obj),
            "fsize": obj.size,
            "mimeType": obj.content_type,
            "putTime": int(obj.modified * 10_000_000),  # 100 ns units
            "type": int(obj.storage_class or 0),
            "status": 0,
            **({"restoreStatus": 1} if obj.restore == "ongoing" else {}),
        }

    def _argument(self, name: str) -> int:
        parts = self._path().split("/")
        try:
            return int(parts[parts.index(name) + 1])
        except (ValueError, IndexError):
            raise ValueError(f"invalid {name}") from None

    def change_type(self) -> None:
        bucket, key = self._entry("/chtype/")
        wanted = self._argument("type")
        obj = self.server.store.get(bucket, key)
        if obj is None:
            self.send_error_json(612, "no such file or directory")
        elif not 0 <= wanted < len(STORAGE_TYPES):
            self.send_error_json(400, "invalid storage type")
        elif int(obj.storage_class or 0) in COLD_TYPES:
            self.send_error_json(400, "archived file must be restored before changing its type")
        else:
            self.server.store.update(bucket, key, storage_class=str(wanted), restore="")
            self.send_json(200, None)

    def restore_archive(self) -> None:
        bucket, key = self._entry("/restoreAr/")
        if not 1 <= self._argument("freezeAfterDays") <= 7:
            raise ValueError("freezeAfterDays must be 1 to 7")
        obj = self.server.store.get(bucket, key)
        if obj is None:
            self.send_error_json(612, "no such file or directory")
        elif int(obj.storage_class or 0) not in COLD_TYPES:
            self.send_error_json(400, "file is not archived")
        elif obj.restore == "ongoing":
            self.send_error_json(400, "restore already in progress")
        else:
            self.server.store.update(bucket, key, restore="ongoing")
            self.send_json(200, None)

    def stat(self) -> None:
        bucket, key = self._entry("/stat/")
        obj = self.server.store.get(bucket, key)
        if obj is None:
            self.send_error_json(612, "no such file or directory")
            return
        info = self._item(key, obj)
        del info["key"], info["status"]
        info["md5"] = hashlib.md5(obj.data).hexdigest()
        self.send_json(200, info)

    def delete(self) -> None:
        bucket, key = self._entry("/delete/")
        if not self.server.store.delete(bucket, key):
            self.send_error_json(612, "no such file or directory")
            return
        self.send_json(200, None)

    def batch(self) -> None:
        """rs /batch with `op=/delete/<entry>` (and `/stat/`) operations: 200 when all succeed, else 298."""
        ops = [value for name, value in parse_qsl(self.body.decode("utf-8")) if name == "op"]
        if not ops or len(ops) > MAX_LIST_LIMIT:
            raise ValueError("invalid batch: 1 to 1000 op fields")
        results: list[dict[str, object]] = []
        for op in ops:
            action, _, encoded = op.lstrip("/").partition("/")
            bucket, sep, key = urlsafe_b64decode(encoded.split("/", 1)[0]).decode("utf-8").partition(":")
            if not sep or action not in ("delete", "stat"):
                results.append({"code": 400, "data": {"error": f"unsupported op {action!r}"}})
                continue
            if not self.server.store.has_bucket(bucket):
                results.append({"code": 631, "data": {"error": "no such bucket"}})
                continue
            obj = self.server.store.get(bucket, key)
            if obj is None or (action == "delete" and not self.server.store.delete(bucket, key)):
                results.append({"code": 612, "data": {"error": "no such file or directory"}})
            elif action == "stat":
                results.append({"code": 200, "data": {"fsize": obj.size, "hash": object_hash(obj)}})
            else:
                results.append({"code": 200})
        self.send_json(200 if all(r["code"] == 200 for r in results) else 298, results)

    def make_bucket(self) -> None:
        name = unquote(self._path()[len("/mkbucketv3/") :].split("/", 1)[0])
        if not name:
            raise ValueError("bucket not specified")
        if self.server.store.has_bucket(name):
            self.send_error_json(614, "the bucket already exists")
            return
        self.server.create_bucket(name)
        self.send_json(200, None)

    # -- uploads (up)

    def _check_write(self, policy: PutPolicy, bucket: str, key: str, size: int | None) -> None:
        if policy.bucket != bucket or not policy.allows(key):
            raise TokenError(403, "key doesn't match with scope")  # Kodo answers 403 here
        if not self.server.store.has_bucket(bucket):
            raise TokenError(631, "no such bucket")
        if size is not None and policy.fsize_limit is not None and size > policy.fsize_limit:
            raise TokenError(413, "file exceeds the size limit of the upload token")

    def _store(self, policy: PutPolicy, bucket: str, key: str, data: bytes, mime: str | None) -> None:
        digest = kodo_hash(data)
        existing = self.server.store.get(bucket, key)
        # Kodo accepts re-sending identical content in insert-only mode; anything else is 614.
        if policy.insert_only and existing is not None and object_hash(existing) != digest:
            raise TokenError(614, "file exists")
        if not mime or mime == "application/octet-stream":
            # Kodo detects the type when the client sends none or octet-stream (the SDK's default).
            mime = guess_content_type(key)
        self.server.store.put(bucket, key, data, mime, etag=digest)
        self.send_json(200, {"hash": digest, "key": key})

    def form_upload(self) -> None:
        body = self.read_body()
        try:
            fields = parse_multipart(body, self.headers.get("Content-Type", ""))
        except ValueError as exc:
            self.send_error_json(400, str(exc))
            return
        token = fields.get("token")
        upload = fields.get("file")
        if token is None:
            self.send_error_json(401, "token not specified")
            return
        if upload is None:
            self.send_error_json(400, "file not specified")
            return
        try:
            policy = verify_upload_token(token.value.decode(), self.server.credentials, self.server.clock())
            key_field = fields.get("key")
            if key_field is not None:
                key = key_field.value.decode("utf-8")
            elif policy.key is not None and not policy.prefixal:
                key = policy.key
            else:
                key = kodo_hash(upload.value)  # Kodo names keyless uploads by their hash
            self._check_write(policy, policy.bucket, key, len(upload.value))
            crc = fields.get("crc32")
            if crc is not None and int(crc.value or b"0") != zlib.crc32(upload.value):
                raise TokenError(406, "crc32 not match")
            self._store(policy, policy.bucket, key, upload.value, upload.content_type)
        except TokenError as exc:
            self.send_error_json(exc.status, exc.message)

    def resumable(self, method: str) -> None:
        """Resumable upload v2: /buckets/<b>/objects/<b64 key | ~>/uploads[/<id>[/<n>]]."""
        body = self.read_body()
        segments = self._path().strip("/").split("/")
        if len(segments) < 5 or segments[2] != "objects" or segments[4] != "uploads":
            self.send_error_json(404, "no such route")
            return
        bucket = unquote(segments[1])
        try:
            scheme, _, token = self.headers.get("Authorization", "").partition(" ")
            if scheme != "UpToken":
                raise TokenError(401, "token not specified")
            policy = verify_upload_token(token.strip(), self.server.credentials, self.server.clock())
            key = (
                urlsafe_b64decode(segments[3]).decode("utf-8")
                if segments[3] != "~"
                else policy.key or ""
            )
            self._check_write(policy, bucket, key, None)
            rest = segments[5:]
            if method == "POST" and not rest:
                self._resumable_init(policy, bucket, key)
            elif method == "PUT" and len(rest) == 2:
                self._resumable_part(rest[0], rest[1], body)
            elif method == "POST" and len(rest) == 1:
                self._resumable_complete(rest[0], policy, body)
            elif method == "DELETE" and len(rest) == 1:
                with self.server.lock:
                    self.server.uploads.pop(rest[0], None)
                self.send_json(200, None)
            else:
                self.send_error_json(404, "no such route")
        except TokenError as exc:
            self.send_error_json(exc.status, exc.message)
        except ValueError as exc:
            self.send_error_json(400, str(exc))

    def _resumable_init(self, policy: PutPolicy, bucket: str, key: str) -> None:
        upload_id = uuid.uuid4().hex
        with self.server.lock:
            self.server.uploads[upload_id] = PendingUpload(bucket, key, policy)
        self.send_json(200, {"uploadId": upload_id, "expireAt": int(self.server.clock()) + 7 * 86400})

    def _pending(self, upload_id: str) -> PendingUpload:
        with self.server.lock:
            pending = self.server.uploads.get(upload_id)
        if pending is None:
            raise TokenError(612, "no such uploadId")
        return pending

    def _resumable_part(self, upload_id: str, number: str, body: bytes) -> None:
        pending = self._pending(upload_id)
        part_no = int(number)
        if not 1 <= part_no <= 10_000:
            raise ValueError("invalid partNumber")
        md5 = hashlib.md5(body).hexdigest()
        sent_md5 = self.headers.get("Content-MD5")
        if sent_md5 is not None and sent_md5.lower() != md5:  # hex, not base64, in Kodo v2
            raise TokenError(400, "Content-MD5 not match")
        etag = kodo_hash(body)
        with self.server.lock:
            pending.parts[part_no] = (etag, body)
        self.send_json(200, {"etag": etag, "md5": md5})

    def _resumable_complete(self, upload_id: str, policy: PutPolicy, body: bytes) -> None:
        pending = self._pending(upload_id)
        request = json.loads(body or b"{}")
        chunks: list[bytes] = []
        for part in sorted(request.get("parts") or [], key=lambda p: int(p["partNumber"])):
            stored = pending.parts.get(int(part["partNumber"]))
            if stored is None or stored[0] != part.get("etag"):
                raise ValueError(f"part {part.get('partNumber')} not uploaded or etag mismatch")
            chunks.append(stored[1])
        data = b"".join(chunks)
        self._check_write(policy, pending.bucket, pending.key, len(data))
        self._store(policy, pending.bucket, pending.key, data, request.get("mimeType"))
        with self.server.lock:
            self.server.uploads.pop(upload_id, None)

    # -- download (io / CDN domain)

    def download(self) -> None:
        path, query = self.target()
        bucket, _, raw_key = path[len(DOWNLOAD_PREFIX) :].partition("/")
        bucket, key = unquote(bucket), unquote(raw_key)
        if not self.server.store.has_bucket(bucket):
            self.send_error_json(631, "no such bucket")
            return
        if bucket not in self.server.public_buckets:
            failure = self.verify_download_token(dict(query))
            if failure is not None:
                self.send_error_json(*failure)
                return
        try:
            obj = self.server.store.get(bucket, key)
        except NoSuchBucket:
            obj = None
        if obj is None:
            self.send_error_json(404, "Document not found")
            return
        if int(obj.storage_class or 0) in COLD_TYPES:
            self.send_error_json(403, "file is archived: restore it first")
            return
        headers = {
            "ETag": f'"{object_hash(obj)}"',
            "Last-Modified": http_date(obj.modified),
            "Accept-Ranges": "bytes",
        }
        try:
            wanted = parse_range(self.headers.get("Range"), obj.size)
        except RangeNotSatisfiable:
            headers["Content-Range"] = f"bytes */{obj.size}"
            self.send_body(416, b'{"error":"invalid range"}', content_type="application/json", headers=headers)
            return
        if wanted is None:
            self.send_body(200, obj.data, content_type=obj.content_type, headers=headers)
            return
        headers["Content-Range"] = wanted.content_range(obj.size)
        self.send_body(206, obj.data[wanted.start : wanted.end + 1], content_type=obj.content_type, headers=headers)

    def verify_download_token(self, query: dict[str, str]) -> tuple[int, str] | None:
        """None when the URL carries a valid, unexpired token; else (status, message)."""
        signed = download_signing_string("http", self.headers.get("Host", ""), self.path)
        if signed is None or "token" not in query:
            return 401, "download token not specified"
        access_key, _, signature = query["token"].partition(":")
        secret = self.server.credentials.get(access_key)
        if secret is None or not hmac.compare_digest(hmac_sha1(secret, signed), signature):
            return 401, "bad token"
        try:
            deadline = int(query.get("e", ""))
        except ValueError:
            return 401, "bad token"
        if deadline <= self.server.clock():
            return 403, "token out of date"
        return None


def start(
    access_key: str, secret_key: str, *, root: Path | None = None
) -> tuple[KodoServer, str, Callable[[], None]]:
    """An emulator on 127.0.0.1, a free port, serving in a daemon thread: (server, base URL, stop)."""
    store = BucketStore(root)
    server = KodoServer(("127.0.0.1", 0), KodoHandler, store, {access_key: secret_key})
    base_url, stop = serve_in_thread(server)
    return server, base_url, stop


if __name__ == "__main__":
    main(KodoHandler, server_class=KodoServer, description="Qiniu Kodo emulator (rs, rsf, up, io on one port)")

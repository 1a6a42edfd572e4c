"""A wire-compatible Aliyun OSS emulator for tests: oss2, httpx and browsers talk to it unmodified.

Path-style addressing (`/bucket/key`, which oss2 uses for IP endpoints), objects kept by
`tests.emulators.base.BucketStore`. Implemented:

* PutObject (Content-Type stored, Content-MD5 and `x-oss-hash-crc64ecma` checked when sent; the
  response carries the CRC-64 so oss2 verifies the upload end to end), GetObject (Range; with
  `x-oss-range-behavior: standard` an end past the object is clipped (206) and a start past it is
  `InvalidRange` (416); without it any such range returns the whole object with 200, as real OSS
  does), HeadObject / GetObjectMeta (`?objectMeta`), DeleteObject, `response-*` overrides.
* ListObjects (v1: marker) and ListObjectsV2 (`list-type=2`: continuation-token, start-after), with
  prefix, delimiter, max-keys (default 100, capped at 1,000) and `encoding-type=url`.
* PutBucket, GetBucketInfo (`?bucketInfo`), GetBucketLocation (`?location`).
* Storage classes: CopyObject (`x-oss-copy-source`, how OSS changes a class in place with
  `x-oss-storage-class`), RestoreObject (`POST ?restore`: 202, then 409 RestoreAlreadyInProgress; a
  restore never finishes here); listings and HEAD report the class; GET of an Archive / ColdArchive /
  DeepColdArchive object is 403 InvalidObjectState, and so is copying it to another class.
* Errors as OSS sends them: XML `<Error>` bodies, and for HEAD (no body) the same XML base64-encoded
  in the `x-oss-err` header, which oss2 decodes. Codes: NoSuchKey, NoSuchBucket, AccessDenied,
  SignatureDoesNotMatch, InvalidAccessKeyId, InvalidRange, RequestTimeTooSkewed, InvalidArgument,
  BadDigest, NotImplemented.
* Every request is authenticated, by recomputing the signature with the secret key of the access
  key it names: OSS v1 (`Authorization: OSS ak:sig`, and presigned `OSSAccessKeyId/Expires/Signature`)
  and v4 (`Authorization: OSS4-HMAC-SHA256 ...`, and presigned `x-oss-signature-version` etc.).
  Expired presigned URLs and header dates more than 15 minutes off are rejected. Anonymous requests
  are denied (every bucket is private). An STS security token is signed like any x-oss header but
  not itself validated.

Run standalone: ``python -m tests.emulators.oss --port 0 --root DIR --access-key AK --secret-key SK``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
import uuid
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import quote, unquote

import crcmod  # a dependency of oss2; its C extension makes CRC-64 of large bodies cheap

from tests.emulators.base import (
    BucketStore,
    EmulatorHandler,
    EmulatorServer,
    NoSuchBucket,
    RangeNotSatisfiable,
    StoredObject,
    http_date,
    iso8601,
    main,
    parse_range,
)

MAX_KEYS = 1000
DEFAULT_MAX_KEYS = 100
MAX_SKEW_S = 15 * 60
MAX_V4_EXPIRES_S = 7 * 24 * 3600
V4_ALGORITHM = "OSS4-HMAC-SHA256"
MAX_KEY_BYTES = 1023
BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")

# Query parameters that OSS v1 signs ("sub-resources"); all others (prefix, marker, max-keys...) are not.
V1_SUBRESOURCES = frozenset(
    {
        "acl", "append", "bucketInfo", "callback", "callback-var", "comp", "continuation-token", "cors",
        "delete", "encryption", "lifecycle", "live", "location", "logging", "objectInfo", "objectMeta",
        "partNumber", "policy", "position", "qos", "referer", "replication", "requestPayment", "restore",
        "response-cache-control", "response-content-disposition", "response-content-encoding",
        "response-content-language", "response-content-type", "response-expires", "security-token",
        "sequential", "stat", "status", "symlink", "tagging", "uploadId", "uploads", "versionId",
        "versioning", "versions", "website", "x-oss-process", "x-oss-traffic-limit",
    }
)  # fmt: skip

STORAGE_CLASSES = ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive")
COLD_CLASSES = frozenset({"Archive", "ColdArchive", "DeepColdArchive"})  # readable only once restored


def storage_class(obj: StoredObject) -> str:
    return obj.storage_class or "Standard"


RESPONSE_OVERRIDES = {
    "response-content-type": "Content-Type",
    "response-content-disposition": "Content-Disposition",
    "response-content-encoding": "Content-Encoding",
    "response-content-language": "Content-Language",
    "response-cache-control": "Cache-Control",
    "response-expires": "Expires",
}

_crc64_fn = crcmod.mkCrcFun(0x142F0E1EBA9EA3693, initCrc=0, rev=True, xorOut=0xFFFFFFFFFFFFFFFF)


def crc64(data: bytes) -> int:
    """CRC-64/ECMA as OSS reports it in `x-oss-hash-crc64ecma`."""
    return _crc64_fn(data)


def v4_encode(text: str, keep_slash: bool) -> str:
    """OSS v4 URI encoding: RFC 3986 unreserved characters kept, everything else %XX (uppercase)."""
    return quote(text.encode("utf-8"), safe="/~" if keep_slash else "~")


@dataclass
class OssFailure(Exception):
    """An OSS error response: HTTP status, error code, message and any extra detail elements."""

    status: int
    code: str
    message: str
    extra: Mapping[str, str] | None = None


def _hmac(key: bytes, msg: str, algo: str = "sha256") -> bytes:
    return hmac.new(key, msg.encode("utf-8"), algo).digest()


def parse_query(raw: str) -> list[tuple[str, str]]:
    """Query pairs in order, blanks kept; `+` stays `+` (OSS signs the decoded values, not form data)."""
    pairs = []
    for part in raw.split("&") if raw else []:
        name, _, value = part.partition("=")
        pairs.append((unquote(name), unquote(value)))
    return pairs


class OssServer(EmulatorServer):
    """The emulator's state, plus what tests use to observe and disturb it."""

    def __init__(
        self,
        address: tuple[str, int],
        handler: type[OssHandler],
        store: BucketStore,
        credentials: dict[str, str],
    ) -> None:
        super().__init__(address, handler, store, credentials)
        self.requests: deque[tuple[str, str]] = deque(maxlen=10_000)  # (method, raw target), newest last
        self.failures: deque[int] = deque()  # statuses to answer the next requests with, before any check
        self.cuts: deque[bool] = deque()  # object GETs to break off halfway through the body

    def fail_next(self, status: int = 503, times: int = 1) -> None:
        """Answer the next `times` requests with an OSS error of this status (e.g. 503, to test retries)."""
        self.failures.extend([status] * times)

    def cut_next(self, times: int = 1) -> None:
        """Break off the body of the next `times` object GETs halfway (a connection reset mid-transfer)."""
        self.cuts.extend([True] * times)


class OssHandler(EmulatorHandler):
    """Aliyun OSS, path style, with signature verification (v1 and v4, header and presigned)."""

    server: OssServer

    # -- entry points

    def do_GET(self) -> None:  # noqa: N802 - names fixed by http.server
        self._dispatch()

    def do_HEAD(self) -> None:  # noqa: N802
        self._dispatch()

    def do_PUT(self) -> None:  # noqa: N802
        self._dispatch()

    def do_DELETE(self) -> None:  # noqa: N802
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        self.request_id = uuid.uuid4().hex[:24].upper()
        raw_path, _, raw_query = self.path.partition("?")
        self.params = dict(parse_query(raw_query))
        # The first path segment is the bucket; the rest is the key, percent-decoded ('%2F' included).
        _, _, rest = raw_path.partition("/")
        raw_bucket, _, raw_key = rest.partition("/")
        self.bucket, self.key = unquote(raw_bucket), unquote(raw_key)
        body = self.read_body()  # always drained, or a stray body would corrupt the kept-alive connection
        self.server.requests.append((self.command, self.path))
        try:
            if self.server.failures:
                status = self.server.failures.popleft()
                raise OssFailure(status, "InternalError" if status < 503 else "ServiceUnavailable", "Injected failure.")
            if not self.bucket:
                raise OssFailure(400, "InvalidRequest", "Service-level operations are not emulated.")
            self._authenticate()
            if self.key:
                self._object_operation(body)
            else:
                self._bucket_operation(body)
        except OssFailure as failure:
            self._send_error(failure)
        except NoSuchBucket:
            self._send_error(OssFailure(404, "NoSuchBucket", "The specified bucket does not exist."))

    # -- responses

    def _headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        headers = {"x-oss-request-id": self.request_id, "Server": "AliyunOSS", "Date": http_date(time.time())}
        headers.update(extra or {})
        return headers

    def _send_error(self, failure: OssFailure) -> None:
        root = ET.Element("Error")
        fields = {"Code": failure.code, "Message": failure.message, "RequestId": self.request_id}
        fields.update({"HostId": self.headers.get("Host", ""), "EC": "0000-00000000"})
        fields.update(failure.extra or {})
        if self.bucket:
            fields.setdefault("BucketName", self.bucket)
        for name, value in fields.items():
            ET.SubElement(root, name).text = value
        xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        headers = self._headers()
        if self.command == "HEAD":
            # A HEAD response has no body; OSS carries the error document in this header instead.
            headers["x-oss-err"] = base64.b64encode(xml).decode("ascii")
            self.send_body(failure.status, headers=headers, content_length=0)
        else:
            self.send_body(failure.status, xml, content_type="application/xml", headers=headers)

    def _send_xml(self, root: ET.Element, status: int = 200) -> None:
        xml = ET.tostring(root, encoding="utf-8", xml_declaration=True)
        self.send_body(status, xml, content_type="application/xml", headers=self._headers())

    # -- authentication

    def _secret_for(self, access_key: str) -> str:
        secret = self.server.credentials.get(access_key)
        if secret is None:
            raise OssFailure(403, "InvalidAccessKeyId", "The OSS Access Key Id you provided does not exist.")
        return secret

    def _authenticate(self) -> None:
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("OSS "):
            self._check_v1_header(authorization)
        elif authorization.startswith(V4_ALGORITHM + " "):
            self._check_v4_header(authorization)
        elif authorization:
            raise OssFailure(400, "InvalidArgument", "Authorization header is invalid.")
        elif "Signature" in self.params and "OSSAccessKeyId" in self.params:
            self._check_v1_query()
        elif self.params.get("x-oss-signature-version") == V4_ALGORITHM:
            self._check_v4_query()
        else:
            raise OssFailure(403, "AccessDenied", "You have no right to access this object because of bucket acl.")

    def _check_skew(self, when: datetime) -> None:
        if abs(self.server.clock() - when.timestamp()) > MAX_SKEW_S:
            raise OssFailure(
                403,
                "RequestTimeTooSkewed",
                "The difference between the request time and the current time is too large.",
            )

    def _signed_oss_headers(self) -> list[tuple[str, str]]:
        return sorted(
            (name.lower(), value) for name, value in self.headers.items() if name.lower().startswith("x-oss-")
        )

    def _v1_string_to_sign(self, date: str) -> str:
        canonical_headers = "".join(f"{name}:{value}\n" for name, value in self._signed_oss_headers())
        subresources = sorted((k, v) for k, v in self.params.items() if k in V1_SUBRESOURCES)
        query = "&".join(f"{k}={v}" if v else k for k, v in subresources)
        resource = f"/{self.bucket}/{self.key}" + (f"?{query}" if query else "")
        return "\n".join(
            [
                self.command,
                self.headers.get("Content-MD5", ""),
                self.headers.get("Content-Type", ""),
                date,
                canonical_headers + resource,
            ]
        )

    def _compare(self, expected: str, given: str, detail: Mapping[str, str]) -> None:
        if not hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8")):
            raise OssFailure(
                403,
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
                detail,
            )

    def _check_v1_header(self, authorization: str) -> None:
        access_key, _, signature = authorization[len("OSS ") :].strip().partition(":")
        secret = self._secret_for(access_key)
        date = self.headers.get("x-oss-date") or self.headers.get("Date") or ""
        try:
            self._check_skew(parsedate_to_datetime(date))
        except (TypeError, ValueError):
            raise OssFailure(403, "AccessDenied", "Date header is missing or invalid.") from None
        string_to_sign = self._v1_string_to_sign(date)
        expected = base64.b64encode(_hmac(secret.encode("utf-8"), string_to_sign, "sha1")).decode("ascii")
        self._compare(expected, signature, {"StringToSign": string_to_sign, "OSSAccessKeyId": access_key})

    def _check_v1_query(self) -> None:
        access_key = self.params["OSSAccessKeyId"]
        secret = self._secret_for(access_key)
        expires = self.params.get("Expires", "")
        if not expires.isdigit():
            raise OssFailure(403, "AccessDenied", "Expires is missing or invalid.")
        if int(expires) < self.server.clock():
            raise OssFailure(403, "AccessDenied", "Request has expired.", {"Expires": expires})
        string_to_sign = self._v1_string_to_sign(expires)
        expected = base64.b64encode(_hmac(secret.encode("utf-8"), string_to_sign, "sha1")).decode("ascii")
        self._compare(expected, self.params["Signature"], {"StringToSign": string_to_sign})

    def _check_v4_header(self, authorization: str) -> None:
        fields = dict(
            part.strip().partition("=")[::2] for part in authorization[len(V4_ALGORITHM) :].split(",") if part.strip()
        )
        stamp = self.headers.get("x-oss-date", "")
        self._check_v4(fields.get("Credential", ""), stamp)
        self._check_skew(self._v4_time(stamp))
        self._verify_v4(fields.get("Signature", ""), fields.get("Credential", ""), stamp, fields, self.params)

    def _check_v4_query(self) -> None:
        params = {k: v for k, v in self.params.items() if k != "x-oss-signature"}
        stamp = params.get("x-oss-date", "")
        self._check_v4(params.get("x-oss-credential", ""), stamp)
        expires = params.get("x-oss-expires", "")
        if not expires.isdigit() or int(expires) > MAX_V4_EXPIRES_S:
            raise OssFailure(400, "InvalidArgument", "x-oss-expires is missing or invalid.")
        if self._v4_time(stamp).timestamp() + int(expires) < self.server.clock():
            raise OssFailure(403, "AccessDenied", "Request has expired.", {"x-oss-expires": expires})
        fields = {"AdditionalHeaders": params.get("x-oss-additional-headers", "")}
        self._verify_v4(self.params.get("x-oss-signature", ""), params["x-oss-credential"], stamp, fields, params)

    @staticmethod
    def _v4_time(stamp: str) -> datetime:
        try:
            return datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise OssFailure(400, "InvalidArgument", "x-oss-date is missing or invalid.") from None

    def _check_v4(self, credential: str, stamp: str) -> None:
        """Shape checks shared by header and query v4 auth, before any secret is used."""
        parts = credential.split("/")
        if len(parts) != 5 or parts[3] != "oss" or parts[4] != "aliyun_v4_request":
            raise OssFailure(400, "InvalidArgument", "Credential is invalid.")
        self._secret_for(parts[0])
        if parts[1] != stamp[:8]:
            raise OssFailure(400, "InvalidArgument", "The date in the credential scope does not match x-oss-date.")
        self._v4_time(stamp)

    def _verify_v4(
        self, signature: str, credential: str, stamp: str, fields: Mapping[str, str], params: Mapping[str, str]
    ) -> None:
        access_key, date, region, product, terminator = credential.split("/")
        secret = self._secret_for(access_key)
        additional = sorted(h.lower() for h in fields.get("AdditionalHeaders", "").split(";") if h)
        signed = [
            (name.lower(), value)
            for name, value in self.headers.items()
            if name.lower().startswith("x-oss-")
            or name.lower() in ("content-type", "content-md5")
            or name.lower() in additional
        ]
        query = "&".join(
            f"{k}={v}" if v else k
            for k, v in sorted((v4_encode(k, False), v4_encode(v, False)) for k, v in params.items())
        )
        canonical_request = "\n".join(
            [
                self.command,
                v4_encode(f"/{self.bucket}/{self.key}", True),
                query,
                "".join(f"{name}:{value}\n" for name, value in sorted(signed)),
                ";".join(additional),
                self.headers.get("x-oss-content-sha256") or "UNSIGNED-PAYLOAD",
            ]
        )
        scope = f"{date}/{region}/{product}/{terminator}"
        string_to_sign = "\n".join(
            [V4_ALGORITHM, stamp, scope, hashlib.sha256(canonical_request.encode("utf-8")).hexdigest()]
        )
        key = ("aliyun_v4" + secret).encode("utf-8")
        for part in (date, region, product, terminator):
            key = _hmac(key, part)
        expected = hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
        self._compare(expected, signature, {"CanonicalRequest": canonical_request, "StringToSign": string_to_sign})

    # -- buckets

    def _bucket_operation(self, body: bytes = b"") -> None:
        store = self.server.store
        if self.command == "PUT":
            if not BUCKET_NAME.match(self.bucket):
                raise OssFailure(400, "InvalidBucketName", "The specified bucket is not valid.")
            store.create_bucket(self.bucket)
            self.send_body(200, headers=self._headers({"Location": f"/{self.bucket}"}))
            return
        if not store.has_bucket(self.bucket):
            raise NoSuchBucket(self.bucket)
        if self.command == "GET" and "bucketInfo" in self.params:
            self._send_bucket_info()
        elif self.command == "GET" and "location" in self.params:
            root = ET.Element("LocationConstraint")
            root.text = "oss-cn-hangzhou"
            self._send_xml(root)
        elif self.command == "GET":
            self._send_listing()
        elif self.command == "HEAD":
            self.send_body(200, headers=self._headers())
        elif self.command == "POST" and "delete" in self.params:
            self._batch_delete(body)
        else:
            raise OssFailure(501, "NotImplemented", f"{self.command} on a bucket is not emulated.")

    def _batch_delete(self, body: bytes) -> None:
        """DeleteMultipleObjects: Content-MD5 is required; at most 1,000 keys; missing keys count as deleted."""
        md5 = self.headers.get("Content-MD5")
        if not md5:
            raise OssFailure(400, "MissingArgument", "Missing Some Required Arguments.")
        if base64.b64encode(hashlib.md5(body).digest()).decode("ascii") != md5:
            raise OssFailure(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            raise OssFailure(400, "MalformedXML", "The XML you provided was not well-formed.") from None
        keys = [node.findtext("Key") or "" for node in root.findall("Object")]
        if not keys or len(keys) > MAX_KEYS or any(not key for key in keys):
            raise OssFailure(400, "MalformedXML", "The XML you provided was not well-formed.")
        for key in keys:
            self.server.store.delete(self.bucket, key)
        url_encoded = self.params.get("encoding-type") == "url"
        result = ET.Element("DeleteResult")
        if url_encoded:
            ET.SubElement(result, "EncodingType").text = "url"
        if (root.findtext("Quiet") or "false").lower() != "true":
            for key in keys:
                name = quote(key.encode("utf-8"), safe="") if url_encoded else key
                ET.SubElement(ET.SubElement(result, "Deleted"), "Key").text = name
        self._send_xml(result)

    def _send_bucket_info(self) -> None:
        root = ET.Element("BucketInfo")
        bucket = ET.SubElement(root, "Bucket")
        values = {
            "Name": self.bucket,
            "CreationDate": iso8601(0),
            "StorageClass": "Standard",
            "ExtranetEndpoint": self.headers.get("Host", ""),
            "IntranetEndpoint": self.headers.get("Host", ""),
            "Location": "oss-cn-hangzhou",
        }
        for name, value in values.items():
            ET.SubElement(bucket, name).text = value
        owner = ET.SubElement(bucket, "Owner")
        ET.SubElement(owner, "DisplayName").text = "emulator"
        ET.SubElement(owner, "ID").text = "emulator"
        acl = ET.SubElement(bucket, "AccessControlList")
        ET.SubElement(acl, "Grant").text = "private"
        self._send_xml(root)

    def _send_listing(self) -> None:
        params = self.params
        v2 = params.get("list-type") == "2"
        url_encoded = params.get("encoding-type") == "url"
        if params.get("encoding-type") not in (None, "", "url"):
            raise OssFailure(400, "InvalidArgument", "encoding-type must be url.")
        raw_max = params.get("max-keys") or str(DEFAULT_MAX_KEYS)
        if not raw_max.isdigit():
            raise OssFailure(400, "InvalidArgument", "max-keys must be a number.")
        max_keys = min(int(raw_max), MAX_KEYS)  # the real service never returns more than 1,000 per page
        prefix, delimiter = params.get("prefix", ""), params.get("delimiter", "")
        if v2:
            token = params.get("continuation-token", "")
            after = _decode_token(token) if token else params.get("start-after", "")
        else:
            after = params.get("marker", "")
        page = self.server.store.list_page(
            self.bucket, prefix=prefix, delimiter=delimiter, after=after, max_keys=max_keys
        )

        def enc(text: str) -> str:
            return quote(text.encode("utf-8"), safe="") if url_encoded else text

        root = ET.Element("ListBucketResult")
        fields: list[tuple[str, str]] = [("Name", self.bucket), ("Prefix", enc(prefix))]
        if v2:
            if "start-after" in params:
                fields.append(("StartAfter", enc(params["start-after"])))
            if "continuation-token" in params:
                fields.append(("ContinuationToken", params["continuation-token"]))
        else:
            fields.append(("Marker", enc(after)))
        fields += [("MaxKeys", str(max_keys)), ("Delimiter", enc(delimiter))]
        if url_encoded:
            fields.append(("EncodingType", "url"))
        fields.append(("IsTruncated", "true" if page.truncated else "false"))
        if page.truncated and page.last is not None:
            # The v2 token is opaque (base64 of the last name); v1 hands back the last name itself.
            fields.append(("NextContinuationToken", _encode_token(page.last)) if v2 else ("NextMarker", enc(page.last)))
        if v2:
            fields.append(("KeyCount", str(len(page.objects) + len(page.prefixes))))
        for name, value in fields:
            ET.SubElement(root, name).text = value
        for key, obj in page.objects:
            contents = ET.SubElement(root, "Contents")
            for name, value in (
                ("Key", enc(key)),
                ("LastModified", iso8601(int(obj.modified))),  # oss2 parses only whole seconds ".000Z"
                ("ETag", _etag(obj)),
                ("Type", "Normal"),
                ("Size", str(obj.size)),
                ("StorageClass", storage_class(obj)),
            ):
                ET.SubElement(contents, name).text = value
        for common in page.prefixes:
            ET.SubElement(ET.SubElement(root, "CommonPrefixes"), "Prefix").text = enc(common)
        self._send_xml(root)

    # -- objects

    def _object_operation(self, body: bytes) -> None:
        store = self.server.store
        if not 0 < len(self.key.encode("utf-8")) <= MAX_KEY_BYTES:
            raise OssFailure(400, "InvalidObjectName", "The specified object is not valid.")
        if self.command == "PUT":
            self._put_object(body)
            return
        if self.command == "DELETE":
            store.delete(self.bucket, self.key)
            self.send_body(204, headers=self._headers())
            return
        if self.command not in ("GET", "HEAD", "POST") or (self.command == "POST" and "restore" not in self.params):
            raise OssFailure(501, "NotImplemented", f"{self.command} on an object is not emulated.")
        obj = store.get(self.bucket, self.key)
        if obj is None:
            raise OssFailure(404, "NoSuchKey", "The specified key does not exist.", {"Key": self.key})
        if self.command == "POST":
            self._restore(obj)
        elif self.command == "GET" and storage_class(obj) in COLD_CLASSES:
            raise OssFailure(403, "InvalidObjectState", "The operation is not valid for the object's state.")
        else:
            self._send_object(obj)

    def _restore(self, obj: StoredObject) -> None:
        """RestoreObject: 202 for the first request, 409 while it runs (the emulator never finishes one)."""
        if storage_class(obj) not in COLD_CLASSES:
            raise OssFailure(400, "OperationNotSupported", "The operation is not supported for this resource.")
        if obj.restore == "ongoing":
            raise OssFailure(409, "RestoreAlreadyInProgress", "The restore operation is in progress.")
        self.server.store.update(self.bucket, self.key, restore="ongoing")
        self.send_body(202, headers=self._headers())

    def _copy_object(self) -> None:
        """CopyObject within the emulator (how OSS changes a class: copy onto itself with x-oss-storage-class)."""
        source = unquote(self.headers["x-oss-copy-source"]).lstrip("/")
        bucket, _, key = source.partition("/")
        obj = self.server.store.get(bucket, key)
        if obj is None:
            raise OssFailure(404, "NoSuchKey", "The specified key does not exist.", {"Key": key})
        if storage_class(obj) in COLD_CLASSES:
            raise OssFailure(403, "InvalidObjectState", "The operation is not valid for the object's state.")
        wanted = self.headers.get("x-oss-storage-class", "Standard")
        if wanted not in STORAGE_CLASSES:
            raise OssFailure(400, "InvalidArgument", "Invalid storage class.")
        if (bucket, key) == (self.bucket, self.key):
            copied = self.server.store.update(bucket, key, storage_class=wanted, restore="")
        else:
            self.server.store.put(self.bucket, self.key, obj.data, obj.content_type)
            copied = self.server.store.update(self.bucket, self.key, storage_class=wanted)
        assert copied is not None
        result = ET.Element("CopyObjectResult")
        ET.SubElement(result, "ETag").text = _etag(copied)
        ET.SubElement(result, "LastModified").text = iso8601(int(copied.modified))
        self._send_xml(result)

    def _put_object(self, body: bytes) -> None:
        if "uploads" in self.params or "uploadId" in self.params:
            raise OssFailure(501, "NotImplemented", "Multipart upload is not emulated.")
        if "x-oss-copy-source" in self.headers:
            self._copy_object()
            return
        md5 = self.headers.get("Content-MD5")
        if md5 and base64.b64encode(hashlib.md5(body).digest()).decode("ascii") != md5:
            raise OssFailure(400, "InvalidDigest", "The Content-MD5 you specified is not valid.")
        crc = crc64(body)
        sent_crc = self.headers.get("x-oss-hash-crc64ecma")
        if sent_crc and sent_crc != str(crc):
            raise OssFailure(400, "InvalidDigest", "The CRC64 you specified does not match the body.")
        obj = self.server.store.put(self.bucket, self.key, body, self.headers.get("Content-Type"))
        self.send_body(200, headers=self._headers({"ETag": _etag(obj), "x-oss-hash-crc64ecma": str(crc)}))

    def _send_object(self, obj: StoredObject) -> None:
        headers = self._headers(
            {
                "ETag": _etag(obj),
                "Last-Modified": http_date(obj.modified),
                "Accept-Ranges": "bytes",
                "x-oss-object-type": "Normal",
                "x-oss-storage-class": storage_class(obj),
                **({"x-oss-restore": 'ongoing-request="true"'} if obj.restore == "ongoing" else {}),
            }
        )
        content_type = obj.content_type
        for param, header in RESPONSE_OVERRIDES.items():
            if self.params.get(param):
                if header == "Content-Type":
                    content_type = self.params[param]
                else:
                    headers[header] = self.params[param]
        standard = self.headers.get("x-oss-range-behavior", "").lower() == "standard"
        requested = self.headers.get("Range")
        if requested and "," in requested:
            # OSS serves no multi-range: standard mode refuses it, the default serves the first range.
            if standard:
                raise OssFailure(416, "InvalidRange", "Multiple ranges are not supported.")
            requested = requested.split(",", 1)[0]
        try:
            byte_range = parse_range(requested, obj.size)
        except RangeNotSatisfiable:
            if standard:
                raise OssFailure(
                    416, "InvalidRange", "The requested range cannot be satisfied.", {"ActualObjectSize": str(obj.size)}
                ) from None
            byte_range = None
        if byte_range is not None and byte_range.clipped and not standard:
            byte_range = None  # OSS by default ignores a range that reaches past the object
        if self.command == "GET" and self.server.cuts:
            self.server.cuts.popleft()
            self.send_response(200)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(obj.size))
            self.end_headers()
            self.wfile.write(obj.data[: obj.size // 2])
            self.close_connection = True  # the client sees a short body, then EOF
            return
        if byte_range is None:
            headers["x-oss-hash-crc64ecma"] = str(crc64(obj.data))
            self.send_body(200, obj.data, content_type=content_type, headers=headers)
            return
        headers["Content-Range"] = byte_range.content_range(obj.size)
        self.send_body(206, obj.data[byte_range.start : byte_range.end + 1], content_type=content_type, headers=headers)


def _etag(obj: StoredObject) -> str:
    return f'"{obj.etag.upper()}"'


def _encode_token(name: str) -> str:
    return base64.urlsafe_b64encode(name.encode("utf-8")).decode("ascii")


def _decode_token(token: str) -> str:
    try:
        return base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (ValueError, UnicodeError):
        raise OssFailure(400, "InvalidArgument", "The continuation token is invalid.") from None


def run(argv: Sequence[str] | None = None) -> None:
    main(OssHandler, argv, server_class=OssServer, description="Aliyun OSS emulator (path style, signatures verified)")


if __name__ == "__main__":
    run()

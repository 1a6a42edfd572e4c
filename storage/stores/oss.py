"""Aliyun OSS through oss2: ``oss://bucket/prefix``.

Configuration: options (``endpoint``, ``region``, ``access_key``, ``secret_key``, ``session_token``,
``auth_version``), declared in storage/stores/registry.py with their environment fallbacks as
Alibaba's tools name them (OSS_ENDPOINT, OSS_REGION, OSS_ACCESS_KEY_ID, OSS_ACCESS_KEY_SECRET,
OSS_SESSION_TOKEN); `open_store` fills those in, this module reads no environment. An endpoint
without a scheme gets ``https://``. The region, when not given, is taken from a standard endpoint
host (``oss-cn-hangzhou.aliyuncs.com`` -> ``cn-hangzhou``).

Why the bucket is set up as it is:
* Signature v4 (``AuthV4`` + ``region=``) whenever a region is known, v1 otherwise: v4 needs the
  region in its scope, and Alibaba recommends v4 for new deployments. ``auth_version`` forces one.
  A session token selects ``StsAuth`` with the same version.
* Our own bounded retries (`with_retries`): oss2 single calls never retry (its requests adapter has
  ``max_retries=0``), and only its list iterators retry 5xx. We retry network errors and 5xx.
* ``connect_timeout`` is oss2's only timeout (it becomes the requests timeout) and defaults to 60 s;
  we pass (connect, read) = (3 s, 30 s) so a dead endpoint gives Unavailable within seconds.
* Ranged reads send ``x-oss-range-behavior: standard``: by default OSS answers a range that
  reaches past the object with the whole object and 200, which would silently hand callers more
  bytes than they asked for; with it, the end is clipped (206) and a start past the end is 416.
* Content-Type is always explicit: oss2 otherwise guesses from the extension and types `.ts`
  slices as Qt linguist files, which browsers refuse to play.
* ``is_verify_object_strict=False``: oss2 otherwise refuses to sign URLs for keys starting with
  ``?``, which are legal object names and percent-encoded in the URL anyway.
* oss2 error text can hold request details (string-to-sign, canonical request, URLs), so every
  message here is built from the status and error code only.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, BinaryIO, NoReturn, Self, TypeVar

import oss2
import requests
from oss2.exceptions import ClientError, InconsistentError, OssError, RequestError
from oss2.exceptions import NotFound as OssNotFound

from storage.retry import with_retries
from storage.stores.base import (
    AccessDenied,
    InvalidConfig,
    NotFound,
    ObjectInfo,
    StoreError,
    Unavailable,
    content_type_for,
    reject_unknown_options,
)
from storage.stores.bucket import BucketKeys
from storage.stores.oss_classes import OssClasses
from storage.stores.ranges import ranged_listing
from storage.stores.registry import option_names
from storage.stores.streams import streaming_reader

T = TypeVar("T")

OPTIONS = option_names("oss")
PAGE_SIZE = 1000  # the most OSS returns per listing page
MAX_PRESIGN_S = 7 * 24 * 3600  # v4 limit; v1 has none, but one bound for both keeps behaviour alike
TIMEOUT_S = (3.0, 30.0)  # (connect, read)
# oss-cn-hangzhou.aliyuncs.com, oss-cn-hangzhou-internal.aliyuncs.com, oss-accelerate... (no region)
_ENDPOINT_REGION = re.compile(r"^oss-([a-z0-9-]+?)(?:-internal)?\.aliyuncs\.com$")


def is_transient(exc: BaseException) -> bool:
    """Worth another try: the network failed or the server had a 5xx (throttling included)."""
    if isinstance(exc, RequestError):
        return True
    return isinstance(exc, OssError) and (exc.status >= 500 or exc.status == 429)


def region_from_endpoint(endpoint: str) -> str | None:
    """The region named by a standard OSS endpoint host, or None (IPs, custom domains)."""
    host = re.sub(r"^[a-zA-Z]+://", "", endpoint).split("/")[0].split(":")[0].lower()
    match = _ENDPOINT_REGION.match(host)
    return match.group(1) if match else None


class OssStore(OssClasses, BucketKeys):
    scheme = "oss"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint: str | None = None,
        region: str | None = None,
        access_key: str | None = None,
        secret_key: str | None = None,
        session_token: str | None = None,
        auth_version: str | None = None,
        timeout: tuple[float, float] = TIMEOUT_S,
        attempts: int = 4,
    ) -> None:
        self._place(bucket, prefix)
        self._attempts = attempts

        if not endpoint:
            raise InvalidConfig("no endpoint: set 'endpoint' in the profile or OSS_ENDPOINT", url=self.url)
        if "://" not in endpoint:
            endpoint = "https://" + endpoint  # credentials and signed URLs should not travel in clear
        self.endpoint = endpoint.rstrip("/")
        if bool(access_key) != bool(secret_key):
            raise InvalidConfig("access_key and secret_key must be given together", url=self.url)
        if not access_key or not secret_key:
            raise InvalidConfig(
                "no credentials: set access_key/secret_key in a profile, or OSS_ACCESS_KEY_ID/"
                "OSS_ACCESS_KEY_SECRET",
                url=self.url,
            )
        self.region = region or region_from_endpoint(self.endpoint)
        version = (auth_version or ("v4" if self.region else "v1")).lower()
        if version not in ("v1", "v4"):
            raise InvalidConfig(f"auth_version must be 'v1' or 'v4', not {auth_version!r}", url=self.url)
        if version == "v4" and not self.region:
            raise InvalidConfig("signature v4 needs a region: set 'region' or OSS_REGION", url=self.url)
        self.auth_version = version
        auth: Any
        if session_token:
            sts_version = oss2.AUTH_VERSION_4 if version == "v4" else oss2.AUTH_VERSION_1
            auth = oss2.StsAuth(access_key, secret_key, session_token, auth_version=sts_version)
        elif version == "v4":
            auth = oss2.AuthV4(access_key, secret_key)
        else:
            auth = oss2.Auth(access_key, secret_key)
        try:
            self._bucket = oss2.Bucket(
                auth,
                self.endpoint,
                bucket,
                connect_timeout=timeout,
                region=self.region if version == "v4" else None,
                is_verify_object_strict=False,
            )
        except ClientError:
            # oss2 rejects malformed bucket names and endpoints before any request.
            raise InvalidConfig(
                f"invalid bucket name {bucket!r} or endpoint {self.endpoint!r}", url=self.url
            ) from None

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str]) -> Self:
        reject_unknown_options(options, OPTIONS, "an OSS store", f"oss://{bucket}/{prefix}".rstrip("/"))
        return cls(bucket, prefix, **{name: options.get(name) or None for name in OPTIONS})

    def __repr__(self) -> str:
        return f"OssStore({self.url!r})"

    # -- reading ---------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Parallel key ranges (storage/stores/ranges.py): start-after cuts them.
        return ranged_listing(self._list_from, prefix)

    def _list_from(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        # One page at a time, so a folder with millions of slices never sits in memory at once.
        # No delimiter: the listing is recursive. encoding-type=url (oss2's default) keeps keys with
        # control characters intact through the XML.
        full_prefix = self._root + prefix
        after = self._root + start_after if start_after else ""
        cut = len(self._root)
        token = ""
        while True:
            page = self._call(
                lambda t=token: self._bucket.list_objects_v2(
                    prefix=full_prefix, continuation_token=t, start_after="" if t else after, max_keys=PAGE_SIZE
                ),
                None,
            )
            for item in page.object_list:
                yield ObjectInfo(item.key[cut:], item.size, _etag(item.etag), _time(item.last_modified),
                                 item.storage_class or "Standard")
            if not page.is_truncated or not page.next_continuation_token:
                return
            token = page.next_continuation_token

    def stat(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        try:
            head = with_retries(
                lambda: self._bucket.head_object(full), is_transient=is_transient, attempts=self._attempts
            )
        except oss2.exceptions.NoSuchBucket as exc:
            self._raise(exc, key)
        except OssNotFound:
            # HEAD has no body: without the x-oss-err header oss2 raises a bare NotFound (code ''),
            # so catch the base class, not NoSuchKey.
            return None
        except Exception as exc:
            self._raise(exc, key)
        return ObjectInfo(key, head.content_length or 0, _etag(head.etag), _time(head.last_modified),
                          head.headers.get("x-oss-storage-class") or "Standard")

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"byte range must not be negative (start={start}, end={end})")
        if end is not None and end <= start:
            return b""
        full = self._full(key)
        headers: dict[str, str] = {}
        byte_range: tuple[int | None, int | None] | None = None
        # No Range for a whole read: "bytes=0-" on an empty object would be a 416.
        if start > 0 or end is not None:
            byte_range = (start, None if end is None else end - 1)  # oss2 ranges are inclusive
            headers["x-oss-range-behavior"] = "standard"

        def fetch() -> bytes:
            # Request and body in one attempt: a connection reset mid-body is retried as a whole.
            with self._bucket.get_object(full, byte_range=byte_range, headers=headers) as result:
                try:
                    return bytes(result.read())
                except (requests.RequestException, OSError) as exc:
                    raise RequestError(exc) from exc  # oss2 wraps request errors, not body errors

        try:
            return with_retries(fetch, is_transient=is_transient, attempts=self._attempts)
        except OssError as exc:
            if exc.status == 416 or exc.code == "InvalidRange":
                raise ValueError(f"{self.url} key {key!r}: range start {start} is not below the object size") from None
            self._raise(exc, key)
        except Exception as exc:
            self._raise(exc, key)

    def open(self, key: str) -> BinaryIO:
        full = self._full(key)
        result = self._call(lambda: self._bucket.get_object(full), key)
        def on_error(exc: Exception) -> NoReturn:
            # Mid-body failures (resets, CRC mismatch at the end) surface as store errors.
            self._raise(exc if isinstance(exc, OssError) else RequestError(exc), key)

        return streaming_reader(result.read, result.close, on_error)

    # -- writing ---------------------------------------------------------------------------------

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        full = self._full(key)
        headers = {"Content-Type": content_type or content_type_for(key)}
        if isinstance(data, bytes | bytearray | memoryview):
            body = bytes(data)
            result = self._call(lambda: self._bucket.put_object(full, body, headers=headers), key)
            return ObjectInfo(key, len(body), _etag(result.etag), None)
        # A file object is streamed (oss2 sends it sized from its position, or chunked); it can be
        # sent again only if we can rewind it, so an unseekable stream gets one attempt.
        stream = data
        start = _position(stream)

        def put() -> object:
            if start is None:
                # oss2 sizes anything with seek/tell by seeking, which unseekable io objects refuse;
                # a read-only view makes it send the stream chunked instead.
                return self._bucket.put_object(full, _ReadOnly(stream), headers=headers)
            stream.seek(start)
            return self._bucket.put_object(full, stream, headers=headers)

        self._call(put, key, attempts=self._attempts if start is not None else 1)
        info = self.stat(key)
        if info is None:
            raise Unavailable("the object was not visible after it was written", url=self.url, key=key)
        return info

    def delete(self, key: str) -> None:
        full = self._full(key)
        # OSS answers 204 for a missing key too, so only a missing bucket is an error here.
        self._call(lambda: self._bucket.delete_object(full), key)

    def delete_many(self, keys: Sequence[str]) -> list[str]:
        """batch_delete_objects, 1,000 keys a request; returns the keys OSS did not report deleted."""
        failed: list[str] = []
        for start in range(0, len(keys), PAGE_SIZE):
            chunk = list(keys[start:start + PAGE_SIZE])
            full = [self._full(key) for key in chunk]
            # Not quiet: OSS names every key it deleted (a missing key included), so a key it leaves out failed.
            result = self._call(lambda full=full: self._bucket.batch_delete_objects(full), None)
            deleted = set(result.deleted_keys)
            failed += [key for key, name in zip(chunk, full, strict=True) if name not in deleted]
        return failed

    # -- sharing ---------------------------------------------------------------------------------

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        if not 0 < expires_s <= MAX_PRESIGN_S:
            raise ValueError(f"expires_s must be between 1 and {MAX_PRESIGN_S}")
        full = self._full(key)
        # slash_safe keeps '/' readable (and relative playlist URIs resolvable); the response type
        # makes a browser see a playable type whatever the uploader stored.
        params = {"response-content-type": content_type_for(key)}
        try:
            url: str = self._bucket.sign_url("GET", full, expires_s, slash_safe=True, params=params)
        except Exception as exc:
            self._raise(exc, key)
        return url

    # -- helpers ---------------------------------------------------------------------------------

    def _call(self, call: Callable[[], T], key: str | None, attempts: int | None = None) -> T:
        """Run an oss2 call with bounded retries; translate what still fails."""
        try:
            return with_retries(call, is_transient=is_transient, attempts=attempts or self._attempts)
        except Exception as exc:
            self._raise(exc, key)

    def _raise(self, exc: BaseException, key: str | None) -> NoReturn:
        if isinstance(exc, StoreError | ValueError) and not isinstance(exc, OssError):
            raise exc
        raise translate(exc, url=self.url, bucket=self.bucket, endpoint=self.endpoint, key=key) from exc


def translate(exc: BaseException, *, url: str, bucket: str, endpoint: str, key: str | None) -> StoreError:
    """The StoreError for an oss2 exception; messages are ours (status and code only, never secrets)."""
    if isinstance(exc, RequestError):
        cause = type(getattr(exc, "exception", None) or exc).__name__
        return Unavailable(f"cannot reach the OSS endpoint {endpoint} ({cause})", url=url, key=key)
    if isinstance(exc, InconsistentError):
        return StoreError("data corrupted in transfer (CRC-64 mismatch)", url=url, key=key)
    if isinstance(exc, ClientError):
        return InvalidConfig("the OSS client refused the request (invalid key, bucket or settings)", url=url, key=key)
    if isinstance(exc, OssError):
        status, code = exc.status, exc.code or str(exc.status)
        if code == "NoSuchBucket":
            return NotFound(f"bucket {bucket!r} does not exist", url=url, key=key)
        if status == 404:
            return NotFound("no such object", url=url, key=key)
        if status in (401, 403):
            return AccessDenied(f"access denied ({code})", url=url, key=key)
        if status >= 500 or status == 429:
            return Unavailable(f"server error after retries (HTTP {status} {code})", url=url, key=key)
        if code in ("InvalidBucketName", "InvalidObjectName", "InvalidArgument"):
            return InvalidConfig(f"rejected by OSS ({code})", url=url, key=key)
        return StoreError(f"OSS error HTTP {status} {code}", url=url, key=key)
    return StoreError(f"OSS request failed ({type(exc).__name__})", url=url, key=key)


class _ReadOnly:
    """Only `read`: how oss2 recognises a stream of unknown length."""

    def __init__(self, stream: BinaryIO) -> None:
        self._stream = stream

    def read(self, amt: int | None = None) -> bytes:
        return self._stream.read(-1 if amt is None else amt)


def _etag(value: str | None) -> str | None:
    # OSS ETags are hex (an MD5, or "<hex>-<parts>") in upper case; lower case compares equal to the
    # MD5 hex S3 and local stores report, so copies between stores can be checked by ETag.
    return value.strip('"').lower() if value else None


def _time(epoch: int | float | None) -> datetime | None:
    return datetime.fromtimestamp(epoch, tz=UTC) if epoch else None


def _position(stream: BinaryIO) -> int | None:
    """The stream's position if it can be rewound to it, else None."""
    try:
        if stream.seekable():
            return stream.tell()
    except (AttributeError, OSError, ValueError):
        pass
    return None

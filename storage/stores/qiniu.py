"""Qiniu Kodo through the qiniu SDK: ``qiniu://bucket/prefix``.

Configuration: options, declared in storage/stores/registry.py; `open_store` fills unset ones from
the environment variables below (as `Settings` captured them), this module reads no environment:

========================  ==========================  ==============================================
option                    environment                 meaning
========================  ==========================  ==============================================
``access_key``            ``QINIU_ACCESS_KEY``        required
``secret_key``            ``QINIU_SECRET_KEY``        required (never shown in messages)
``domain``                ``QINIU_DOMAIN``            download domain bound to the bucket, e.g.
                                                      ``http://cdn.example.com`` (bare host → http);
                                                      needed only to read and sign URLs
``private``               ``QINIU_PRIVATE``           ``true`` (default): sign download URLs
``region``                ``QINIU_REGION``            ``z0``, ``z1``, ``z2``, ``na0``, ``as0``: public hosts
``endpoint``              ``QINIU_ENDPOINT``          one base URL serving rs, rsf, up, io and api
                                                      (private deployments, the test emulator)
``up_host``, ``rs_host``,  —                          override one service's host (URL or host[:port])
``rsf_host``, ``api_host``,
``uc_host``
========================  ==========================  ==============================================

Why it is built this way:

* Hosts are always explicit (``BucketManager(auth, regions=[Region(...)])`` and uploaders built with
  the same regions): otherwise the SDK asks the uc region service, needs the internet, and caches the
  answer on disk in the temp folder. Neither region nor endpoint → InvalidConfig, never a uc query.
* The SDK returns ``(None, ResponseInfo)`` instead of raising and does not back off; every call goes
  through `with_retries` (network errors and 5xx/573 are transient) and `ResponseInfo` codes are
  mapped to our errors: 612 → missing key, 631 → missing bucket, 401/403 → AccessDenied.
* The SDK has no download call. Reads GET the (signed) download URL with a pooled ``requests``
  session: the SDK already depends on requests, and ``Response.raw`` is a real file object, so
  `open` streams without an adapter layer of our own.
* Writes use a key-scoped upload token (``bucket:key``, which Kodo lets overwrite) and an explicit
  mime type (the SDK's default is octet-stream); objects above ``upload_threshold`` (4 MiB) go through
  resumable upload v2 in ``part_size`` parts, without the SDK's on-disk progress recorder.
* Timeouts: the SDK reads one process-wide ``connection_timeout`` (no client takes its own, so this
  cannot be per store); constructing a store sets it to (connect, read) = (3 s, 30 s) so a dead host
  fails in seconds instead of 30 s.
"""

from __future__ import annotations

import functools
import io
import json
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any, BinaryIO, NoReturn, Self
from urllib.parse import quote, urlsplit

import qiniu
import qiniu.config
import requests
from qiniu.http.response import ResponseInfo
from qiniu.services.storage.uploaders import FormUploader, ResumeUploaderV2
from requests.adapters import HTTPAdapter

from storage.retry import with_retries
from storage.stores.base import (
    InvalidConfig,
    ObjectInfo,
    Unavailable,
    content_type_for,
    reject_unknown_options,
)
from storage.stores.bucket import BucketKeys
from storage.stores.qiniu_classes import QiniuClasses, qiniu_class
from storage.stores.qiniu_errors import (
    Transient,
    error_text,
    is_transient,
    raise_for_info,
    raise_for_status,
    status_is_transient,
)
from storage.stores.qiniu_hosts import SERVICE_OPTIONS, build_region, parse_domain
from storage.stores.qiniu_marker import marker_after
from storage.stores.ranges import ranged_listing
from storage.stores.registry import option_names
from storage.stores.streams import read_up_to, streaming_reader

OPTIONS = option_names("qiniu")
PAGE_SIZE = 1000  # rsf's maximum
UPLOAD_THRESHOLD = 4 * 1024 * 1024
PART_SIZE = 4 * 1024 * 1024
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 30.0
TOKEN_TTL_S = 3600  # upload tokens and the download URLs used internally by read/open
_CHUNK = 256 * 1024


def _parse_bool(name: str, value: str, url: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise InvalidConfig(f"option {name!r} must be true or false, not {value!r}", url=url)


class QiniuStore(QiniuClasses, BucketKeys):
    scheme = "qiniu"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        access_key: str,
        secret_key: str,
        domain: str | None = None,
        private: bool = True,
        region: str | None = None,
        endpoint: str | None = None,
        hosts: Mapping[str, str] | None = None,
        upload_threshold: int = UPLOAD_THRESHOLD,
        part_size: int = PART_SIZE,
        connect_timeout_s: float = CONNECT_TIMEOUT_S,
        read_timeout_s: float = READ_TIMEOUT_S,
    ) -> None:
        self._place(bucket, prefix)
        if not access_key or not secret_key:
            raise InvalidConfig(
                "no Qiniu credentials: set access_key/secret_key in a profile or QINIU_ACCESS_KEY/"
                "QINIU_SECRET_KEY", url=self.url)
        if upload_threshold < 1 or part_size < 1:
            raise InvalidConfig("upload_threshold and part_size must be positive", url=self.url)
        self.private = private
        self.upload_threshold = upload_threshold
        self.part_size = part_size
        self._domain = parse_domain(domain, self.url) if domain else None
        self._region, self._scheme = build_region(region, endpoint, hosts or {}, self.url)
        self._auth = qiniu.Auth(access_key, secret_key)
        self._manager = qiniu.BucketManager(self._auth, regions=[self._region], preferred_scheme=self._scheme)
        self._timeout = (connect_timeout_s, read_timeout_s)
        # Process-wide in the SDK: its module-level _get/_post pass config.get_default('connection_timeout')
        # on every call and no client takes a timeout of its own, so this cannot be per store.
        # Without it a dead host takes 30 s.
        qiniu.config.set_default(connection_timeout=self._timeout)
        # Our own pool for downloads; retries are ours (with backoff), not urllib3's.
        self._http = requests.Session()
        self._http.mount("http://", HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))
        self._http.mount("https://", HTTPAdapter(pool_connections=4, pool_maxsize=16, max_retries=0))

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str]) -> Self:
        url = f"qiniu://{bucket}/{prefix}".rstrip("/")
        reject_unknown_options(options, OPTIONS, "a Qiniu store", url)

        private = options.get("private") or None
        return cls(
            bucket,
            prefix,
            access_key=options.get("access_key") or "",
            secret_key=options.get("secret_key") or "",
            domain=options.get("domain") or None,
            private=True if private is None else _parse_bool("private", private, url),
            region=options.get("region") or None,
            endpoint=options.get("endpoint") or None,
            hosts={name: options[name] for name in SERVICE_OPTIONS if options.get(name)},
        )

    def __repr__(self) -> str:
        return f"QiniuStore({self.url!r})"

    # -- reading ---------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return ranged_listing(self._list_from, prefix)  # parallel key ranges (storage/stores/ranges.py)

    def _list_from(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        cut = len(self._root)
        marker: str | None = marker_after(self._root + start_after) if start_after else None
        while True:
            ret, info = self._sdk(
                functools.partial(self._list_page, self._root + prefix, marker), None, "list")
            if not info.ok() or ret is None:
                self._raise(info, None, "list")
            for item in ret.get("items") or ():
                yield ObjectInfo(item["key"][cut:], int(item["fsize"]), item.get("hash"), _put_time(item),
                                 qiniu_class(item))
            marker = ret.get("marker")
            if not marker:
                return

    def _list_page(self, prefix: str, marker: str | None) -> tuple[Any, ResponseInfo]:
        ret, _eof, info = self._manager.list(self.bucket, prefix=prefix, marker=marker, limit=PAGE_SIZE)
        return ret, info

    def stat(self, key: str) -> ObjectInfo | None:
        full = self._full(key)
        ret, info = self._sdk(lambda: self._manager.stat(self.bucket, full), key, "stat")
        if info.status_code == 612:
            return None
        if not info.ok() or ret is None:
            self._raise(info, key, "stat")
        return ObjectInfo(key, int(ret["fsize"]), ret.get("hash"), _put_time(ret), qiniu_class(ret))

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"byte range must not be negative (start={start}, end={end})")
        if end is not None and end <= start:
            return b""
        headers = {}
        # No Range header for a whole read: "bytes=0-" on an empty object is a 416.
        if start > 0 or end is not None:
            headers["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        response = self._download(key, headers, stream=False)
        if response.status_code == 416:
            raise ValueError(f"{self.url} key {key!r}: range start {start} is not below the object size")
        data = response.content
        if response.status_code == 200 and headers:
            # A server (or CDN) that ignores Range sends the whole object: cut it ourselves.
            data = data[start:end]
        return data

    def open(self, key: str) -> BinaryIO:
        response = self._download(key, {}, stream=True)
        raw = response.raw
        raw.decode_content = True

        def on_error(exc: Exception) -> NoReturn:
            raise Unavailable(f"download interrupted ({type(exc).__name__})", url=self.url, key=key) from None

        return streaming_reader(raw.read, response.close, on_error, buffer_size=_CHUNK)

    def _download(self, key: str, headers: dict[str, str], *, stream: bool) -> requests.Response:
        url = self._download_url(key, TOKEN_TTL_S)

        def attempt() -> requests.Response:
            try:
                response = self._http.get(url, headers=headers, stream=stream, timeout=self._timeout)
            except requests.ConnectTimeout:
                raise
            except requests.RequestException as exc:
                raise _NetworkError(exc) from None
            if status_is_transient(response.status_code):
                response.close()
                raise _HttpError(response.status_code, error_text(response))
            return response

        try:
            response = with_retries(
                attempt, is_transient=lambda exc: isinstance(exc, _NetworkError | _HttpError))
        except requests.ConnectTimeout:
            raise Unavailable(f"download host {self._domain_host()} did not answer (connect timeout)",
                              url=self.url, key=key) from None
        except _NetworkError as exc:
            raise Unavailable(f"cannot reach download host {self._domain_host()}: "
                              f"{type(exc.cause).__name__}", url=self.url, key=key) from None
        except _HttpError as exc:
            raise Unavailable(f"download failed after retries (HTTP {exc.status}: {exc.message})",
                              url=self.url, key=key) from None
        if response.status_code in (200, 206, 416):
            return response
        status, message = response.status_code, error_text(response)
        response.close()
        self._raise_status(status, message, key, "download")

    # -- writing ---------------------------------------------------------------------------------

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        full = self._full(key)
        mime = content_type or content_type_for(key)
        token = self._auth.upload_token(self.bucket, full, TOKEN_TTL_S)
        if isinstance(data, bytes | bytearray | memoryview):
            body = bytes(data)
            if len(body) <= self.upload_threshold:
                return self._form_upload(key, full, token, body, mime)
            return self._resumable_upload(key, full, token, io.BytesIO(body), len(body), mime)
        head = read_up_to(data, self.upload_threshold + 1)
        if len(head) <= self.upload_threshold:
            return self._form_upload(key, full, token, head, mime)
        # Large stream of unknown size: the resumable uploader seeks to each part, so spool it.
        with tempfile.SpooledTemporaryFile(max_size=self.upload_threshold * 4) as spool:
            spool.write(head)
            while chunk := data.read(_CHUNK * 4):
                spool.write(chunk)
            size = spool.tell()
            spool.seek(0)
            return self._resumable_upload(key, full, token, spool, size, mime)

    def _form_upload(self, key: str, full: str, token: str, body: bytes, mime: str) -> ObjectInfo:
        uploader = FormUploader(self.bucket, regions=[self._region], preferred_scheme=self._scheme)
        # A BytesIO, not bytes: the SDK refuses empty bytes ("must provide data"), and Agora
        # leaves empty slices that copies must reproduce.
        ret, info = self._sdk(
            lambda: uploader.upload(key=full, data=io.BytesIO(body), mime_type=mime, up_token=token),
            key, "write")
        return self._written(key, len(body), ret, info)

    def _resumable_upload(self, key: str, full: str, token: str, stream: BinaryIO, size: int,
                          mime: str) -> ObjectInfo:
        with ThreadPoolExecutor(max_workers=3, thread_name_prefix="qiniu-part") as pool:
            uploader = ResumeUploaderV2(
                self.bucket, regions=[self._region], preferred_scheme=self._scheme, part_size=self.part_size,
                upload_progress_recorder=None,  # the SDK's default writes records into the temp folder
                concurrent_executor=pool,
            )

            def upload() -> tuple[Any, ResponseInfo]:
                stream.seek(0)
                result: tuple[Any, ResponseInfo] = uploader.upload(
                    key=full, data=stream, data_size=size, part_size=self.part_size, mime_type=mime,
                    up_token=token)
                return result

            ret, info = self._sdk(upload, key, "write")
        return self._written(key, size, ret, info)

    def _written(self, key: str, size: int, ret: Any, info: ResponseInfo) -> ObjectInfo:
        if not info.ok() or not ret:
            self._raise(info, key, "write")
        return ObjectInfo(key, size, ret.get("hash"), datetime.now(UTC))

    def delete(self, key: str) -> None:
        full = self._full(key)
        _, info = self._sdk(lambda: self._manager.delete(self.bucket, full), key, "delete")
        if info.ok() or info.status_code == 612:
            return
        self._raise(info, key, "delete")

    def delete_many(self, keys: Sequence[str]) -> list[str]:
        """BucketManager.batch of build_batch_delete ops, 1,000 a request; returns the keys refused."""
        failed: list[str] = []
        for start in range(0, len(keys), PAGE_SIZE):
            chunk = list(keys[start:start + PAGE_SIZE])
            ops = qiniu.build_batch_delete(self.bucket, [self._full(key) for key in chunk])
            ret, info = self._sdk(lambda ops=ops: self._manager.batch(ops), None, "delete")
            if info.status_code == 298 and ret is None:  # some ops failed: the SDK drops the body it holds
                ret = json.loads(info.text_body or "null")
            if not info.ok() or not isinstance(ret, list):
                self._raise(info, None, "delete")
            codes = [item.get("code") for item in ret] + [None] * (len(chunk) - len(ret))  # 612: already gone
            failed += [key for key, code in zip(chunk, codes, strict=False) if code not in (200, 612)]
        return failed

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        if expires_s <= 0:
            raise ValueError("expires_s must be positive")
        return self._download_url(key, expires_s)

    def _download_url(self, key: str, expires_s: int) -> str:
        if self._domain is None:
            raise InvalidConfig("no download domain: set domain (or QINIU_DOMAIN) to read or share objects",
                                url=self.url, key=key)
        # Kodo takes the key from the percent-encoded path; the SDK neither encodes nor signs it for us.
        url = f"{self._domain}/{quote(self._full(key), safe='/')}"
        return self._auth.private_download_url(url, expires_s) if self.private else url

    # -- helpers ---------------------------------------------------------------------------------

    def _domain_host(self) -> str:
        return urlsplit(self._domain or "").netloc

    def _sdk(self, call: Callable[[], Any], key: str | None, action: str) -> tuple[Any, ResponseInfo]:
        """Run an SDK call returning (ret, ResponseInfo), retrying transient failures with backoff."""

        def attempt() -> tuple[Any, ResponseInfo]:
            ret, info = call()
            if not info.ok() and is_transient(info):
                raise Transient(info)
            return ret, info

        try:
            return with_retries(attempt, is_transient=lambda exc: isinstance(exc, Transient))
        except Transient as exc:
            return None, exc.info

    def _raise(self, info: ResponseInfo, key: str | None, action: str) -> NoReturn:
        raise_for_info(info, self.url, self.bucket, key, action)

    def _raise_status(self, status: int, message: str, key: str | None, action: str) -> NoReturn:
        raise_for_status(status, message, self.url, self.bucket, key, action)


class _NetworkError(Exception):
    def __init__(self, cause: BaseException) -> None:
        super().__init__(type(cause).__name__)
        self.cause = cause


class _HttpError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(status)
        self.status = status
        self.message = message


def _put_time(item: Mapping[str, Any]) -> datetime | None:
    put_time = item.get("putTime")
    # Kodo counts putTime in 100 ns units since the epoch.
    return datetime.fromtimestamp(int(put_time) / 10_000_000, UTC) if put_time else None


__all__ = ["QiniuStore"]

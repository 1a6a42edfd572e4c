"""Amazon S3 (and S3-compatible services) through boto3: ``s3://bucket/prefix``.

Configuration: options (``endpoint``, ``region``, ``access_key``, ``secret_key``,
``session_token``, ``profile``) first; anything unset comes from the standard AWS chain as
boto3 reads it (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_DEFAULT_REGION,
AWS_ENDPOINT_URL, AWS_PROFILE, ~/.aws/config and credentials, instance roles).

Why the client is configured as it is:
* ``signature_version="s3v4"``: in us-east-1 botocore otherwise presigns with SigV2, which newer
  regions and many S3-compatible servers refuse.
* path-style addressing: works for endpoints given as hostnames like ``localhost`` or a MinIO host.
* standard retries, a few attempts, short timeouts: a dead endpoint surfaces as Unavailable in
  seconds instead of hanging a listing.
* checksums only when required: S3-compatible servers that predate flexible checksums reject the
  CRC headers botocore 1.36+ sends by default.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any, BinaryIO, NoReturn, Self

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config as BotoConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    CredentialRetrievalError,
    HTTPClientError,
    IncompleteReadError,
    NoCredentialsError,
    ParamValidationError,
    PartialCredentialsError,
    ProfileNotFound,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from storage.stores import s3_list
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
from storage.stores.ranges import ranged_listing
from storage.stores.registry import option_names, redact
from storage.stores.s3_classes import S3Classes
from storage.stores.s3_list import PAGE_SIZE, FastLister
from storage.stores.streams import streaming_reader

OPTIONS = option_names("s3")
DEFAULT_REGION = "us-east-1"
MAX_PRESIGN_S = 7 * 24 * 3600  # SigV4 limit

_NOT_FOUND_CODES = {"NoSuchKey", "404", "NotFound"}
_DENIED_CODES = {
    "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "403", "InvalidToken",
    "ExpiredToken", "TokenRefreshRequired", "AllAccessDisabled", "InvalidSecurity",
    "AccountProblem", "RequestTimeTooSkewed",
}
_WRONG_REGION_CODES = {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}
_UNAVAILABLE_CODES = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "Throttling"}


def client_config(connect_timeout: float = 3, read_timeout: float = 20) -> BotoConfig:
    return BotoConfig(
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        retries={"mode": "standard", "max_attempts": 3},
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
        max_pool_connections=32,
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


class S3Store(S3Classes, BucketKeys):
    scheme = "s3"

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
        profile: str | None = None,
        config: BotoConfig | None = None,
        fast_listing: bool = True,
    ) -> None:
        self._place(bucket, prefix)
        self._secrets = [s for s in (secret_key, session_token) if s]
        if bool(access_key) != bool(secret_key):
            raise InvalidConfig("access_key and secret_key must be given together", url=self.url)
        try:
            session = boto3.session.Session(
                botocore_session=s3_list.botocore_session(),
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                aws_session_token=session_token or None,
                region_name=region or None,
                profile_name=profile or None,
            )
            self._session = session
            self._endpoint = endpoint or None
            self._region = session.region_name or DEFAULT_REGION
            self._config = config or client_config()
            # Made on the first listing or whole read (many commands do neither); fast_listing=False: boto3 only.
            self._fast: FastLister | None = None if fast_listing else FastLister.off()
            # The boto3 client is made on first use: loading botocore's S3 model costs ~0.2 CPU-s, and an
            # export or `ls --no-classes` that obstore serves never needs it. What its creation would
            # refuse is checked here, so a bad endpoint or region still fails when the store is opened.
            _check_endpoint_and_region(self._endpoint, self._region)
        except ProfileNotFound:
            raise InvalidConfig(f"AWS profile {profile!r} is not configured", url=self.url) from None
        except (BotoCoreError, ValueError) as exc:
            raise InvalidConfig(self._clean(f"cannot configure the S3 client: {exc}"), url=self.url) from None
        self._client: Any = None
        self._client_lock = threading.Lock()

    @property
    def client(self) -> Any:
        if self._client is None:
            with self._client_lock:
                if self._client is None:
                    try:
                        self._client = self._session.client("s3", endpoint_url=self._endpoint,
                                                            region_name=self._region, config=self._config)
                    except (BotoCoreError, ValueError) as exc:
                        raise InvalidConfig(self._clean(f"cannot configure the S3 client: {exc}"),
                                            url=self.url) from None
        return self._client

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str]) -> Self:
        reject_unknown_options(options, OPTIONS, "an S3 store", f"s3://{bucket}/{prefix}")
        return cls(bucket, prefix, **{name: options.get(name) for name in OPTIONS})

    def __repr__(self) -> str:
        return f"S3Store({self.url!r})"

    # -- reading ---------------------------------------------------------------------------------

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        # Parallel key ranges (storage/stores/ranges.py), each listed by obstore or boto3 (s3_list.py).
        try:
            yield from ranged_listing(self._list_from, prefix)
        except Exception as exc:
            self._raise(exc, None)

    @contextmanager
    def precise_listing(self) -> Iterator[None]:
        """Listings by boto3 within it: object_store's listing drops each object's storage class."""
        saved, self._fast = self._fast, FastLister.off()
        try:
            yield
        finally:
            self._fast = saved

    def _list_from(self, prefix: str, start_after: str | None) -> Iterator[ObjectInfo]:
        return s3_list.listing(lambda: self.client, self._fast_lister(), self.bucket, self._root, prefix, start_after)

    def _fast_lister(self) -> FastLister:
        if self._fast is None:
            self._fast = FastLister(self._region, self._session, self.bucket, self._endpoint)
        return self._fast

    def stat(self, key: str) -> ObjectInfo | None:
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND_CODES:
                return None
            self._raise(exc, key)
        except Exception as exc:
            self._raise(exc, key)
        return ObjectInfo(key, head["ContentLength"], _etag(head.get("ETag")), head.get("LastModified"),
                          head.get("StorageClass") or "STANDARD")

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if start < 0 or (end is not None and end < 0):
            raise ValueError(f"byte range must not be negative (start={start}, end={end})")
        if end is not None and end <= start:
            return b""
        if start == 0 and end is None:
            data = self._fast_lister().get(self._full(key))  # obstore when it can (s3_list.py says why)
            if data is not None:
                return data
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._full(key)}
        # No Range header for a whole read: "bytes=0-" on an empty object is a 416.
        if start > 0 or end is not None:
            params["Range"] = f"bytes={start}-" + ("" if end is None else str(end - 1))
        try:
            response = self.client.get_object(**params)
            with response["Body"] as body:
                return body.read()
        except ClientError as exc:
            if _code(exc) == "InvalidRange":
                raise ValueError(f"{self.url} key {key!r}: range start {start} is not below the "
                                 "object size") from None
            self._raise(exc, key)
        except Exception as exc:
            self._raise(exc, key)

    def open(self, key: str) -> BinaryIO:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
        except Exception as exc:
            self._raise(exc, key)
        body = response["Body"]
        return streaming_reader(body.read, body.close, lambda exc: self._raise(exc, key))

    # -- writing ---------------------------------------------------------------------------------

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        ctype = content_type or content_type_for(key)
        full = self._full(key)
        try:
            if isinstance(data, bytes | bytearray | memoryview):
                body = bytes(data)
                response = self.client.put_object(Bucket=self.bucket, Key=full, Body=body, ContentType=ctype)
                return ObjectInfo(key, len(body), _etag(response.get("ETag")), None)
            # Managed transfer: multipart with parallel parts for big files, one PUT for small ones.
            self.client.upload_fileobj(data, self.bucket, full, ExtraArgs={"ContentType": ctype},
                                       Config=TransferConfig(use_threads=True, max_concurrency=4))
        except Exception as exc:
            self._raise(exc, key)
        info = self.stat(key)
        if info is None:
            raise Unavailable("the object was not visible after it was written", url=self.url, key=key)
        return info

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))
        except ClientError as exc:
            if _code(exc) in ("NoSuchKey", "404"):
                return
            self._raise(exc, key)
        except Exception as exc:
            self._raise(exc, key)

    def delete_many(self, keys: Sequence[str]) -> list[str]:
        """DeleteObjects, 1,000 keys a request (quiet: only failures come back); returns the keys refused."""
        failed: list[str] = []
        cut = len(self._root)
        for start in range(0, len(keys), PAGE_SIZE):
            chunk = [{"Key": self._full(key)} for key in keys[start:start + PAGE_SIZE]]
            try:
                response = self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": chunk, "Quiet": True})
            except Exception as exc:
                self._raise(exc, None)
            failed += [error["Key"][cut:] for error in response.get("Errors", ())
                       if error.get("Code") not in _NOT_FOUND_CODES]
        return failed

    # -- sharing ---------------------------------------------------------------------------------

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        if not 0 < expires_s <= MAX_PRESIGN_S:
            raise ValueError(f"expires_s must be between 1 and {MAX_PRESIGN_S} (SigV4 limit)")
        # ResponseContentType makes the browser see a playable type whatever the uploader set.
        params = {"Bucket": self.bucket, "Key": self._full(key), "ResponseContentType": content_type_for(key)}
        try:
            url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expires_s)
        except Exception as exc:
            self._raise(exc, key)
        return url

    # -- helpers ---------------------------------------------------------------------------------

    def _clean(self, text: str) -> str:
        return redact(text, self._secrets)

    def _raise(self, exc: BaseException, key: str | None) -> NoReturn:
        """Re-raise an SDK exception as the StoreError it means."""
        if isinstance(exc, StoreError | ValueError) and not isinstance(exc, BotoCoreError):
            raise exc
        raise translate(exc, url=self.url, bucket=self.bucket, key=key, clean=self._clean) from exc


def _check_endpoint_and_region(endpoint: str | None, region: str) -> None:
    """Raise what botocore's client creation would for this endpoint and region (ValueError, BotoCoreError)."""
    from botocore.utils import is_valid_endpoint_url, is_valid_ipv6_endpoint_url, validate_region_name

    validate_region_name(region)
    if endpoint is not None and not (is_valid_endpoint_url(endpoint) or is_valid_ipv6_endpoint_url(endpoint)):
        raise ValueError(f"Invalid endpoint: {endpoint}")


def translate(exc: BaseException, *, url: str, bucket: str, key: str | None,
              clean: Any = lambda text: text) -> StoreError:
    """The StoreError for a boto3/botocore exception; messages name URL and key, never secrets."""
    if isinstance(exc, ClientError):
        code = _code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        message = clean(exc.response.get("Error", {}).get("Message") or code)
        if code == "NoSuchBucket":
            return NotFound(f"bucket {bucket!r} does not exist", url=url, key=key)
        if code in _WRONG_REGION_CODES or status == 301:
            # botocore follows most region redirects itself; what is left needs the right region
            # in the configuration (presigned URLs are signed for it too).
            region = (exc.response.get("Error", {}).get("Region")
                      or exc.response.get("ResponseMetadata", {}).get("HTTPHeaders", {}).get("x-amz-bucket-region"))
            where = f"region {region!r}" if region else "another region or endpoint"
            return InvalidConfig(f"bucket {bucket!r} is in {where}; set the store's region ({code})",
                                 url=url, key=key)
        if code in _NOT_FOUND_CODES:
            return NotFound("no such object", url=url, key=key)
        if code == "InvalidObjectState":  # a GLACIER / DEEP_ARCHIVE object: `recshelf restore` first
            return StoreError("the object is archived and must be restored before it is read", url=url, key=key)
        if code in _DENIED_CODES or status in (401, 403):
            return AccessDenied(f"access denied ({code}: {message})", url=url, key=key)
        if code in _UNAVAILABLE_CODES or status >= 500:
            return Unavailable(f"server error after retries ({code}: {message})", url=url, key=key)
        return StoreError(f"S3 error {code}: {message}", url=url, key=key)
    if isinstance(exc, NoCredentialsError | PartialCredentialsError | CredentialRetrievalError):
        return InvalidConfig(
            "no usable S3 credentials: set access_key/secret_key in a profile, AWS_ACCESS_KEY_ID/"
            "AWS_SECRET_ACCESS_KEY, or an AWS profile", url=url, key=key)
    if isinstance(exc, ParamValidationError):
        return InvalidConfig(clean(f"invalid request: {exc}"), url=url, key=key)
    # urllib3 errors escape botocore while a body is being read (connection broken mid-object).
    if isinstance(exc, ConnectionError | HTTPClientError | IncompleteReadError | Urllib3Error):
        return Unavailable(clean(f"cannot reach the S3 endpoint: {exc}"), url=url, key=key)
    return StoreError(clean(f"S3 request failed: {type(exc).__name__}: {exc}"), url=url, key=key)


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _etag(value: str | None) -> str | None:
    return value.strip('"') if value else None

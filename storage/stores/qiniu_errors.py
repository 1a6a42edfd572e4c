"""How Qiniu answers become recshelf errors, and which of them are worth a retry.

The SDK returns ``(None, ResponseInfo)`` instead of raising; these map `ResponseInfo` codes (and the
status of our own download requests) to StoreErrors naming the store and key, never a URL or secret.
"""

from __future__ import annotations

from typing import NoReturn

import requests
from qiniu.http.response import ResponseInfo

from storage.stores.base import AccessDenied, NotFound, StoreError, Unavailable

# Kodo's rate limit (573) is transient although the SDK's need_retry() refuses to retry it; Kodo's
# 6xx codes (612 no such file, 631 no such bucket, ...) are permanent, not server errors.
_TRANSIENT_CODES = frozenset({573})
_PERMANENT_5XX = frozenset({501, 509, 579})  # as qiniu's ResponseInfo.need_retry() has them



class Transient(Exception):
    """A failed SDK answer worth retrying; carries the ResponseInfo for the final error."""

    def __init__(self, info: ResponseInfo) -> None:
        super().__init__(info.status_code)
        self.info = info


def is_transient(info: ResponseInfo) -> bool:
    if info.status_code == -1:
        # A host that does not answer the TCP handshake will not in 100 ms either: fail fast.
        return not isinstance(info.exception, requests.ConnectTimeout)
    return info.status_code in _TRANSIENT_CODES or info.need_retry()


def status_is_transient(status: int) -> bool:
    """For answers we get ourselves (downloads): 5xx except the permanent ones, and 573."""
    return status in _TRANSIENT_CODES or (500 <= status < 600 and status not in _PERMANENT_5XX)


def raise_for_info(info: ResponseInfo, url: str, bucket: str, key: str | None, action: str) -> NoReturn:
    if info.status_code == -1:
        exc = info.exception
        what = "did not answer (connect timeout)" if isinstance(exc, requests.ConnectTimeout) else (
            f"cannot be reached ({type(exc).__name__})")
        raise Unavailable(f"{action} failed: the Qiniu service {what}", url=url, key=key)
    raise_for_status(info.status_code, info_error(info), url, bucket, key, action)

def raise_for_status(status: int, message: str, url: str, bucket: str, key: str | None, action: str) -> NoReturn:
    detail = f"{action} failed (HTTP {status}: {message})"
    if status == 631:
        raise NotFound(f"bucket {bucket!r} does not exist ({action}, HTTP 631)", url=url, key=key)
    if status in (404, 612):
        raise NotFound(f"no such object ({action}, HTTP {status})", url=url, key=key)
    if status in (401, 403):
        raise AccessDenied(f"access denied: {detail}", url=url, key=key)
    if status_is_transient(status) or 500 <= status < 600:
        raise Unavailable(f"server error after retries: {detail}", url=url, key=key)
    raise StoreError(detail, url=url, key=key)


def error_text(response: requests.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.reason or "no detail"
    return str(payload.get("error", "no detail")) if isinstance(payload, dict) else "no detail"


def info_error(info: ResponseInfo) -> str:
    """Kodo's own message ({"error": ...}) from a ResponseInfo; never the request URL."""
    body = info.json() if info.text_body else {}
    if isinstance(body, dict) and body.get("error"):
        return str(body["error"])
    return "no detail"

"""Agora Cloud Recording REST errors (reference/agora.md §1.10) as exceptions.

Every documented service `code` maps to an exception class carrying the doc's meaning and advice;
gateway errors (`{"message": ...}`: 401, 404 no route, 429) and transport failures get their own
classes. Messages name the call and HTTP status, never the request body (it holds storage keys)
nor the Authorization header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The base lives in storage.errors with the rest of the tree; re-exported for `errors.AgoraError`.
from storage.errors import AgoraError as AgoraError


class AgoraTransportError(AgoraError):
    """The request could not be completed over the network."""

    meaning = "network error talking to the Agora REST API"

    def __init__(self, message: str = "", *, call: str = "", sent: bool = False) -> None:
        # `sent` = the request may have reached Agora (read timeout, reset after sending): a
        # non-idempotent call may then have taken effect, so it must not be blindly repeated.
        self.sent = sent
        super().__init__(message, call=call)


class AgoraAuthError(AgoraError):
    meaning = "authentication failed (missing or wrong Customer ID / Customer Secret)"
    advice = "check AGORA_CUSTOMER_ID / AGORA_CUSTOMER_SECRET (Console → RESTful API)"


class RouteNotFound(AgoraError):
    meaning = "no route matched (wrong method or URL)"
    advice = "check the base URL, the mode and the call's path"


class RateLimited(AgoraError):
    meaning = "API rate limit exceeded (10 QPS per App ID by default)"
    advice = "back off (1 s, 3 s, 6 s) and retry; ask Agora support for a higher QPS"
    retry_same_request = True


class AgoraServiceError(AgoraError):
    """A service error with a documented (or undocumented) numeric `code`."""


@dataclass(frozen=True)
class CodeInfo:
    name: str
    meaning: str
    advice: str


# code -> (class name, meaning, advice), from the status-codes page and the old common-errors page.
CODES: dict[int, CodeInfo] = {
    2: CodeInfo("InvalidParameter", "invalid parameter (type, spelling — case-sensitive —, range, or missing)",
                "fix the request body"),
    7: CodeInfo("AlreadyStarted", "recording already running for this resource ID (repeated start)",
                "do not call start twice with one resource ID; query the running task"),
    8: CodeInfo("BadHttpRequest", "HTTP header, URL, method or JSON body is wrong",
                "send Content-Type application/json and a URL containing cloud_recording"),
    49: CodeInfo("TaskExiting", "invalid operation: the task is already exiting (repeated stop, bot kicked, "
                 "maxIdleTime reached)", "treat the recording as stopping; check files in your storage"),
    50: CodeInfo("UploadTimeout", "upload timeout (synchronous stop waited more than 20 s)",
                 "files keep uploading; verify your storage later or stop with async_stop"),
    52: CodeInfo("ServiceStartTimeout", "timeout starting the recording service", "acquire and start again"),
    53: CodeInfo("TaskConflict", "a task with the same cname and uid is already recording",
                 "acquire and start again with another recording uid"),
    62: CodeInfo("RequestTimeout", "request timeout (on acquire in old docs: cloud recording not enabled)",
                 "check that cloud recording is enabled; back off and retry"),
    65: CodeInfo("RequestNotCompleted", "request not completed (network jitter between Agora services)",
                 "retry the same request with the same resource ID, backing off 3 s, 6 s"),
    109: CodeInfo("TokenExpired", "RTC token expired", "generate a new token and start again"),
    110: CodeInfo("TokenInvalid", "RTC token invalid", "check the App Certificate, channel and uid of the token"),
    400: CodeInfo("InvalidAppId", "invalid_appid (or cloud recording not enabled for the project)",
                  "check the App ID and enable cloud recording in Console"),
    401: CodeInfo("InvalidChannelName", "invalid_channel_name", "check the channel name"),
    404: CodeInfo("WorkerNotFound", "failed to find worker: the task never started, has ended, or is in a "
                  "high-availability failover (up to 90 s)", "query again later; if it persists the task is gone"),
    405: CodeInfo("AccountInactive", "no_active_status: the account is overdue or suspended",
                  "settle the account in Console"),
    406: CodeInfo("VendorOverload", "vendor_over_load: peak concurrent workers (PCW) limit reached",
                  "stop other recordings or ask support for a higher PCW"),
    432: CodeInfo("ParameterMismatch", "appid, cname or uid does not match the resource ID",
                  "use the same appid, cname and uid as in acquire"),
    433: CodeInfo("ResourceExpired", "resource ID expired (start more than 5 minutes after acquire)",
                  "acquire a new resource ID and start immediately"),
    435: CodeInfo("NoRecordedData", "no recorded data: nobody published in the channel",
                  "make sure a host publishes before stopping; nothing was written to storage"),
    500: CodeInfo("InternalError", "internal_error", "back off and retry, or acquire again"),
    501: CodeInfo("NoWorkerManager", "no_worker_manager_available", "back off and retry, or acquire again"),
    502: CodeInfo("WorkerAllocationFailed", "failed to allocate worker", "back off and retry, or acquire again"),
    504: CodeInfo("AllocateTimeout", "allocate_timeout", "back off and retry, or acquire again"),
    1001: CodeInfo("ResourceIdUnparseable", "cannot parse the resource ID", "use the resourceId from acquire"),
    1003: CodeInfo("SidMismatch", "appid or sid does not match the resource ID",
                   "use the sid returned by start for this resource ID"),
    1013: CodeInfo("InvalidChannelNameChars", "invalid channel name (< 64 bytes; letters, digits, space and "
                   "!#$%&()+-:;<=.>?@[]^_{}|~,)", "rename the channel"),
    1028: CodeInfo("InvalidLayout", "invalid updateLayout body", "fix the layout parameters"),
}

# NCS uploader error codes (event 1, module 1) and warnings (event 2): informative, never raised.
UPLOADER_ERRORS: dict[int, str] = {
    32: "storage configuration error (vendor, region, bucket or keys)",
    47: "upload failed",
    51: "uploader processing error",
}
UPLOADER_WARNINGS: dict[int, str] = {
    31: "re-uploading a slice to your storage",
    32: "re-uploading a slice to the Agora backup cloud",
}

_RETRY_SAME = {65, 500, 501, 502, 504}


def _make_class(code: int, info: CodeInfo) -> type[AgoraServiceError]:
    attrs = {"meaning": info.meaning, "advice": info.advice, "code_value": code,
             "retry_same_request": code in _RETRY_SAME, "__doc__": f"Agora code {code}: {info.meaning}."}
    return type(info.name, (AgoraServiceError,), attrs)


ERROR_CLASSES: dict[int, type[AgoraServiceError]] = {code: _make_class(code, info) for code, info in CODES.items()}

# Module-level names so callers can `except errors.NoRecordedData`; built from the table above so
# the meanings live in one place.
InvalidParameter = ERROR_CLASSES[2]
AlreadyStarted = ERROR_CLASSES[7]
BadHttpRequest = ERROR_CLASSES[8]
TaskExiting = ERROR_CLASSES[49]
UploadTimeout = ERROR_CLASSES[50]
ServiceStartTimeout = ERROR_CLASSES[52]
TaskConflict = ERROR_CLASSES[53]
RequestTimeout = ERROR_CLASSES[62]
RequestNotCompleted = ERROR_CLASSES[65]
TokenExpired = ERROR_CLASSES[109]
TokenInvalid = ERROR_CLASSES[110]
InvalidAppId = ERROR_CLASSES[400]
InvalidChannelName = ERROR_CLASSES[401]
WorkerNotFound = ERROR_CLASSES[404]
AccountInactive = ERROR_CLASSES[405]
VendorOverload = ERROR_CLASSES[406]
ParameterMismatch = ERROR_CLASSES[432]
ResourceExpired = ERROR_CLASSES[433]
NoRecordedData = ERROR_CLASSES[435]
InternalError = ERROR_CLASSES[500]
NoWorkerManager = ERROR_CLASSES[501]
WorkerAllocationFailed = ERROR_CLASSES[502]
AllocateTimeout = ERROR_CLASSES[504]
ResourceIdUnparseable = ERROR_CLASSES[1001]
SidMismatch = ERROR_CLASSES[1003]
InvalidChannelNameChars = ERROR_CLASSES[1013]
InvalidLayout = ERROR_CLASSES[1028]


def error_from_response(call: str, http_status: int, body: Any) -> AgoraError:
    """The exception for a non-success answer; parses all three body shapes defensively."""
    data: dict[str, Any] = body if isinstance(body, dict) else {}
    raw_code = data.get("code")
    code: int | None
    try:
        code = int(raw_code) if raw_code is not None else None
    except (TypeError, ValueError):
        code = None
    reason = data.get("reason") or data.get("message")
    reason = str(reason) if reason is not None else None
    kwargs: dict[str, Any] = {"call": call, "http_status": http_status, "code": code, "reason": reason,
                              "body": data}
    if code is not None:
        cls = ERROR_CLASSES.get(code, AgoraServiceError)
        return cls("" if cls is not AgoraServiceError else f"undocumented Agora code {code}", **kwargs)
    if http_status == 401:
        return AgoraAuthError(**kwargs)
    if http_status == 429:
        return RateLimited(**kwargs)
    if http_status == 404:
        return RouteNotFound(**kwargs)
    if http_status >= 500:
        return AgoraServiceError(f"server error HTTP {http_status}", **kwargs)
    return AgoraError(f"unexpected HTTP {http_status}", **kwargs)

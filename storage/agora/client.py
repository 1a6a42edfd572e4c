"""HTTP client for the Agora Cloud Recording REST API (reference/agora.md §1).

acquire → start → query / update / updateLayout → stop, for the `mix`, `individual` and `web` modes.

Retries follow Agora's domain advice (§1.1: retry the same domain, then the other primary, then a
regional domain, backing off 1 s, 3 s, 6 s) but only where a repeat cannot do harm:

* the request never left (connect error / connect or pool timeout): any call;
* HTTP 429 (the gateway's rate limiter rejected it before any work): any call;
* 5xx, code 65 (HTTP 206) and read timeouts / dropped connections: only idempotent calls (`query`).
  A `start` or `stop` that timed out may have taken effect, so repeating it blindly could start a
  second recording or turn a good stop into a code 49; the caller gets the error and decides
  (usually: `query`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, ValidationError

from storage.agora.errors import AgoraAuthError, AgoraError, AgoraTransportError, error_from_response
from storage.agora.models import (
    AcquireResponse,
    QueryResponse,
    StartResponse,
    StopResponse,
    StorageConfig,
    UpdateResponse,
    normalise_mode,
)
from storage.retry import retry_on_schedule

log = logging.getLogger(__name__)

PRIMARY_DOMAINS = ("https://api.agora.io", "https://api.sd-rtn.com")
REGIONS = ("us-west-1", "us-east-1", "ap-southeast-1", "ap-northeast-1", "eu-west-1", "eu-central-1",
           "cn-east-1", "cn-north-1")
REGIONAL_DOMAINS = tuple(f"https://api-{r}.{d}" for d in ("agora.io", "sd-rtn.com") for r in REGIONS)
DEFAULT_BASE_URLS: tuple[str, ...] = PRIMARY_DOMAINS + REGIONAL_DOMAINS
DEFAULT_RETRY_DELAYS: tuple[float, ...] = (1.0, 3.0, 6.0)

# Nothing reached the server: safe to repeat any call.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# The server may have acted on the request.
_MAYBE_SENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)

R = TypeVar("R", bound=BaseModel)


class AgoraClient:
    """One App ID's Cloud Recording calls. Credentials default to AGORA_CUSTOMER_ID / _SECRET."""

    def __init__(self, app_id: str, customer_id: str | None = None, customer_secret: str | None = None, *,
                 base_url: str | None = None, fallback_urls: Sequence[str] | None = None,
                 timeout_s: float = 10.0, stop_timeout_s: float = 30.0,
                 retry_delays: Sequence[float] = DEFAULT_RETRY_DELAYS,
                 transport: httpx.BaseTransport | None = None) -> None:
        if not app_id:
            raise AgoraError("an App ID is required")
        if not customer_id or not customer_secret:
            raise AgoraAuthError("no REST credentials: pass customer_id/customer_secret or set "
                                 "AGORA_CUSTOMER_ID and AGORA_CUSTOMER_SECRET")
        self.app_id = app_id
        if base_url is None:
            urls = list(DEFAULT_BASE_URLS) if fallback_urls is None else list(fallback_urls)
        else:
            urls = [base_url, *(fallback_urls or [])]
        self.base_urls = [u.rstrip("/") for u in urls]
        self.retry_delays = tuple(retry_delays)
        self.stop_timeout_s = max(stop_timeout_s, timeout_s)
        # httpx keeps the password out of its own reprs; we never log headers or bodies.
        self._http = httpx.Client(auth=httpx.BasicAuth(customer_id, customer_secret), timeout=timeout_s,
                                  transport=transport,
                                  headers={"Content-Type": "application/json;charset=utf-8"})

    def __repr__(self) -> str:
        return f"AgoraClient(app_id={self.app_id!r}, base_url={self.base_urls[0]!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> AgoraClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------------------------------- calls

    def acquire(self, cname: str, uid: str | int, *, scene: int | None = None,
                resource_expired_hour: int | None = None, region: str | None = None,
                start_parameter: dict[str, Any] | None = None,
                exclude_resource_ids: Sequence[str] | None = None) -> AcquireResponse:
        client_request: dict[str, Any] = {}
        if scene is not None:
            client_request["scene"] = scene
        if resource_expired_hour is not None:
            client_request["resourceExpiredHour"] = resource_expired_hour
        if region is not None:
            client_request["region"] = region
        if exclude_resource_ids:
            client_request["excludeResourceIds"] = list(exclude_resource_ids)
        if start_parameter is not None:
            client_request["startParameter"] = start_parameter
        body = {"cname": cname, "uid": str(uid), "clientRequest": client_request}
        return self._call("acquire", "POST", "acquire", body, AcquireResponse, idempotent=False)

    def start(self, resource_id: str, cname: str, uid: str | int, mode: str = "mix", *,
              storage_config: StorageConfig | dict[str, Any] | None = None,
              recording_config: dict[str, Any] | None = None,
              recording_file_config: dict[str, Any] | None = None, token: str | None = None,
              extra: dict[str, Any] | None = None) -> StartResponse:
        """`extra` is merged into clientRequest as is (snapshotConfig, extensionServiceConfig, …)."""
        mode = normalise_mode(mode)
        body = {"cname": cname, "uid": str(uid),
                "clientRequest": build_start_request(storage_config, recording_config, recording_file_config,
                                                     token, extra)}
        return self._call("start", "POST", f"resourceid/{resource_id}/mode/{mode}/start", body, StartResponse,
                          idempotent=False)

    def query(self, resource_id: str, sid: str, mode: str = "mix") -> QueryResponse:
        mode = normalise_mode(mode)
        return self._call("query", "GET", f"resourceid/{resource_id}/sid/{sid}/mode/{mode}/query", None,
                          QueryResponse, idempotent=True)

    def update(self, resource_id: str, sid: str, cname: str, uid: str | int, mode: str = "mix", *,
               client_request: dict[str, Any]) -> UpdateResponse:
        """clientRequest: streamSubscribe, webRecordingConfig, rtmpPublishConfig or storageConfig."""
        mode = normalise_mode(mode)
        body = {"cname": cname, "uid": str(uid), "clientRequest": _wire(client_request)}
        return self._call("update", "POST", f"resourceid/{resource_id}/sid/{sid}/mode/{mode}/update", body,
                          UpdateResponse, idempotent=False)

    def update_layout(self, resource_id: str, sid: str, cname: str, uid: str | int, *,
                      layout: dict[str, Any], mode: str = "mix") -> UpdateResponse:
        mode = normalise_mode(mode)
        body = {"cname": cname, "uid": str(uid), "clientRequest": layout}
        return self._call("updateLayout", "POST",
                          f"resourceid/{resource_id}/sid/{sid}/mode/{mode}/updateLayout", body, UpdateResponse,
                          idempotent=False)

    def stop(self, resource_id: str, sid: str, cname: str, uid: str | int, mode: str = "mix", *,
             async_stop: bool = False) -> StopResponse:
        mode = normalise_mode(mode)
        body = {"cname": cname, "uid": str(uid), "clientRequest": {"async_stop": async_stop}}
        # A synchronous stop waits for uploads (Agora allows itself 20 s), so it gets a longer timeout.
        return self._call("stop", "POST", f"resourceid/{resource_id}/sid/{sid}/mode/{mode}/stop", body,
                          StopResponse, idempotent=False, timeout_s=self.stop_timeout_s)

    # ------------------------------------------------------------------------------------------ engine

    def _call(self, call: str, method: str, path: str, body: dict[str, Any] | None, model: type[R], *,
              idempotent: bool, timeout_s: float | None = None) -> R:
        data = self._request(call, method, path, body, idempotent=idempotent, timeout_s=timeout_s)
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            raise AgoraError(f"unexpected response shape: {exc.error_count()} problem(s), first: "
                             f"{exc.errors()[0]['loc']} {exc.errors()[0]['msg']}", call=call) from None

    def _request(self, call: str, method: str, path: str, body: dict[str, Any] | None, *, idempotent: bool,
                 timeout_s: float | None) -> dict[str, Any]:
        attempts = len(self.retry_delays) + 1
        tries = 0
        domain = 0

        def once() -> dict[str, Any]:
            nonlocal tries, domain
            attempt, tries = tries, tries + 1
            url = f"{self.base_urls[domain]}/v1/apps/{self.app_id}/cloud_recording/{path}"
            try:
                response = self._http.request(method, url, json=body,
                                              timeout=timeout_s if timeout_s is not None else httpx.USE_CLIENT_DEFAULT)
            except _NOT_SENT as exc:
                log.warning("agora %s: %s to %s (attempt %d/%d)", call, type(exc).__name__,
                            self.base_urls[domain], attempt + 1, attempts)
                # Agora's order: same domain once more, then the other primary, then regional ones.
                if attempt >= 1:
                    domain = min(domain + 1, len(self.base_urls) - 1)
                raise _Again(AgoraTransportError(f"cannot connect: {type(exc).__name__}", call=call)) from None
            except _MAYBE_SENT as exc:
                log.warning("agora %s: %s after sending (attempt %d/%d)", call, type(exc).__name__,
                            attempt + 1, attempts)
                if not idempotent:
                    raise AgoraTransportError(f"{type(exc).__name__} after the request was sent; it may have "
                                              "taken effect — query before repeating it", call=call,
                                              sent=True) from None
                raise _Again(AgoraTransportError(f"{type(exc).__name__} on every attempt ({attempts})", call=call,
                                                 sent=True)) from None
            except httpx.HTTPError as exc:  # a bad URL or protocol: nothing was sent, retrying cannot help
                raise AgoraTransportError(f"request not sent: {type(exc).__name__}", call=call) from None
            log.debug("agora %s %s -> HTTP %d", call, path, response.status_code)
            payload = _json(response)
            if response.status_code == 200:
                return payload
            error = error_from_response(call, response.status_code, payload)
            if response.status_code == 429 or (idempotent and error.retry_same_request):
                log.warning("agora %s: %s (attempt %d/%d)", call, error, attempt + 1, attempts)
                raise _Again(error)
            raise error

        try:
            return retry_on_schedule(once, delays=self.retry_delays, retry_on=lambda exc: isinstance(exc, _Again))
        except _Again as exc:
            raise exc.error from None


class _Again(Exception):
    """One attempt failed in a way a repeat may fix; `error` is what the caller gets when no attempt is left."""

    def __init__(self, error: AgoraError) -> None:
        super().__init__(str(error))
        self.error = error


def build_start_request(storage_config: StorageConfig | dict[str, Any] | None,
                        recording_config: dict[str, Any] | None = None,
                        recording_file_config: dict[str, Any] | None = None, token: str | None = None,
                        extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The `clientRequest` of start (also what acquire's `startParameter` must equal)."""
    request: dict[str, Any] = {}
    if token:
        request["token"] = token
    if recording_config is not None:
        request["recordingConfig"] = recording_config
    if recording_file_config is not None:
        request["recordingFileConfig"] = recording_file_config
    if storage_config is not None:
        request["storageConfig"] = _wire(storage_config)
    request.update(_wire(extra or {}))
    return request


def _wire(value: Any) -> Any:
    """Models inside a body become their camelCase JSON form (the only place secrets are revealed)."""
    if isinstance(value, BaseModel):
        return value.model_dump(by_alias=True, exclude_none=True, mode="json")
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_wire(v) for v in value]
    return value


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:200]}
    return data if isinstance(data, dict) else {"message": str(data)[:200]}

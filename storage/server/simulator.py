"""FastAPI router exposing `AgoraSimulator` on Agora's own REST paths (reference/agora.md §1.3).

Point an `AgoraClient` at the server's base URL and it cannot tell the difference: same paths,
HTTP Basic auth, body shapes and status codes. `storage/server/app.py` includes `router_from_env()`,
which is empty unless `RECSHELF_SIMULATOR=1`; tests build `simulator_router(sim)` directly.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from storage.settings import Settings
from storage.stores.base import InvalidConfig

if TYPE_CHECKING:  # the simulator pulls in PyAV and numpy: imported only when it is enabled
    from storage.demo.simulator import AgoraSimulator, SimulatorSettings

PREFIX = "/v1/apps/{app_id}/cloud_recording"
ENV_ENABLE = "RECSHELF_SIMULATOR"
ENV_STORES = "RECSHELF_SIMULATOR_STORES"  # vendor-100 targets the simulator may write to  # `recshelf demo` sets it


def simulator_router(sim: AgoraSimulator) -> APIRouter:
    from storage.demo.simulator import SimulatorError

    router = APIRouter(prefix=PREFIX, tags=["agora-simulator"])

    async def handle(request: Request, call: str, action: Any, *args: str) -> JSONResponse:
        denied = _auth_problem(sim, request.headers.get("authorization"))
        if denied:
            return JSONResponse({"message": denied}, status_code=401)
        raw = await request.body() if request.method == "POST" else b""
        fault = sim.take_fault(call)
        if isinstance(fault, int):
            return _fault_response(fault)
        if fault == "code65":
            return JSONResponse({"code": 65, "reason": "request not completed"}, status_code=206)
        if isinstance(fault, tuple) and fault[0] == "delay":
            # The work still happens after the client gave up: a timed-out start may have started.
            await asyncio.sleep(float(fault[1]))
        body: dict[str, Any] = {}
        if request.method == "POST":
            try:
                parsed = json.loads(raw or b"null")
            except ValueError:
                return JSONResponse({"code": 8, "reason": "invalid JSON body"}, status_code=400)
            if not isinstance(parsed, dict):
                return JSONResponse({"code": 8, "reason": "the body must be a JSON object"}, status_code=400)
            body = parsed
        try:
            # Simulator calls may block (a synchronous stop waits for the last upload).
            result = await run_in_threadpool(action, *args, *([body] if request.method == "POST" else []))
        except SimulatorError as exc:
            return JSONResponse(exc.body, status_code=exc.http_status)
        return JSONResponse(result)

    @router.post("/acquire")
    async def acquire(request: Request, app_id: str) -> JSONResponse:
        return await handle(request, "acquire", sim.acquire, app_id)

    @router.post("/resourceid/{resource_id}/mode/{mode}/start")
    async def start(request: Request, app_id: str, resource_id: str, mode: str) -> JSONResponse:
        return await handle(request, "start", sim.start, app_id, resource_id, mode)

    @router.get("/resourceid/{resource_id}/sid/{sid}/mode/{mode}/query")
    async def query(request: Request, app_id: str, resource_id: str, sid: str, mode: str) -> JSONResponse:
        return await handle(request, "query", sim.query, app_id, resource_id, sid, mode)

    @router.post("/resourceid/{resource_id}/sid/{sid}/mode/{mode}/update")
    async def update(request: Request, app_id: str, resource_id: str, sid: str, mode: str) -> JSONResponse:
        return await handle(request, "update", sim.update, app_id, resource_id, sid, mode)

    @router.post("/resourceid/{resource_id}/sid/{sid}/mode/{mode}/updateLayout")
    async def update_layout(request: Request, app_id: str, resource_id: str, sid: str, mode: str) -> JSONResponse:
        return await handle(request, "updateLayout", _layout(sim), app_id, resource_id, sid, mode)

    @router.post("/resourceid/{resource_id}/sid/{sid}/mode/{mode}/stop")
    async def stop(request: Request, app_id: str, resource_id: str, sid: str, mode: str) -> JSONResponse:
        return await handle(request, "stop", sim.stop, app_id, resource_id, sid, mode)

    return router


def _layout(sim: AgoraSimulator) -> Any:
    def call(app_id: str, resource_id: str, sid: str, mode: str, body: dict[str, Any]) -> dict[str, Any]:
        return sim.update(app_id, resource_id, sid, mode, body, layout=True)

    return call


def _auth_problem(sim: AgoraSimulator, header: str | None) -> str | None:
    """Agora gateway wording: "Unauthorized" without a header, else "Invalid authentication credentials"."""
    if not header:
        return "Unauthorized"
    scheme, _, value = header.partition(" ")
    try:
        user, _, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return "Invalid authentication credentials"
    if scheme.lower() != "basic" or not sim.check_auth(user, password):
        return "Invalid authentication credentials"
    return None


def _fault_response(status: int) -> JSONResponse:
    if status == 429:
        return JSONResponse({"message": "API rate limit exceeded"}, status_code=429)
    reasons = {500: "internal_error", 501: "no_worker_manager_available", 502: "Failed to allocate worker",
               504: "allocate_timeout"}
    return JSONResponse({"code": status, "reason": reasons.get(status, "injected fault")}, status_code=status)


def settings_from_env(settings: Settings) -> SimulatorSettings:
    """Settings for the server-embedded simulator, from the environment `settings` captured.

    Credentials: RECSHELF_SIMULATOR_CUSTOMER_ID / _SECRET, else AGORA_CUSTOMER_ID / _SECRET (so a
    client configured once talks to either); with neither the simulator refuses to start, because it
    writes into stores and must not answer to well-known default credentials. Vendor 100 (a store URL
    in extensionParams) may only target the comma-separated RECSHELF_SIMULATOR_STORES. Callbacks go to
    RECSHELF_SIMULATOR_CALLBACK_URL (e.g. the server's own /agora/events), signed with
    AGORA_NCS_SECRET (the receiver's secret). RECSHELF_SIMULATOR_SLICE_SECONDS sets the slice length.
    """
    from storage.demo.simulator import SimulatorSettings

    env = settings.env
    customer_id = env.simulator_customer_id or env.agora_customer_id
    secret = env.simulator_customer_secret or env.agora_customer_secret
    if not customer_id or not secret:
        raise InvalidConfig(f"{ENV_ENABLE}=1 needs RECSHELF_SIMULATOR_CUSTOMER_ID and "
                            "RECSHELF_SIMULATOR_CUSTOMER_SECRET (or AGORA_CUSTOMER_ID and AGORA_CUSTOMER_SECRET); "
                            "`recshelf demo` generates them")
    sim = SimulatorSettings(customer_id=customer_id, customer_secret=secret.get_secret_value())
    sim.extension_stores = frozenset(u.strip() for u in (env.simulator_stores or "").split(",") if u.strip())
    sim.callback_url = env.simulator_callback_url or None
    sim.callback_secret = env.agora_ncs_secret.get_secret_value() if env.agora_ncs_secret else ""
    if env.simulator_slice_seconds is not None:
        sim.slice_seconds = env.simulator_slice_seconds
    return sim


def router_from_env(settings: Settings) -> APIRouter:
    """The simulator's router when RECSHELF_SIMULATOR is 1/true/yes, else an empty router."""
    if (settings.env.simulator or "").strip().lower() not in ("1", "true", "yes"):
        return APIRouter()
    from storage.demo.simulator import AgoraSimulator

    return simulator_router(AgoraSimulator(settings_from_env(settings)))

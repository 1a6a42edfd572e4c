"""`POST /agora/events`: Agora NCS callbacks, checked and stored durably before the 200 (reference/agora.md §3.4).

The request path does only what must happen before answering: read the raw body (at most `MAX_BODY`),
check the HMAC signature over those exact bytes, validate the envelope, and hand it to the
`storage.service.intake.EventIntake`, which group-commits it. Only after the COMMIT returns is the request
answered `200 {}` (a duplicate `noticeId` too). Verification and exports run later in `storage.service.jobs`,
never in the request, so the answer comes well within Agora's 10 s.
"""

from __future__ import annotations

import asyncio
import logging

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.requests import ClientDisconnect

from storage.service.intake import EnvelopeError, EventIntake, parse_envelope

log = logging.getLogger(__name__)

PATH = "/agora/events"
MAX_BODY = 1 << 20  # real NCS bodies are a few KB; anything near this is not Agora
ANSWER_WITHIN_S = 8.0  # Agora waits 10 s; answer 503 (it resends) rather than be cut off
STATE_KEY = "agora_events"  # app.state attribute holding the EventIntake


class _LoopWaiter:
    """Resolves an asyncio future from the writer thread: cheaper than wrapping a concurrent Future."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[bool] = loop.create_future()

    def set_result(self, result: bool) -> None:
        self.loop.call_soon_threadsafe(_resolve, self.future, result, None)

    def set_exception(self, exception: BaseException) -> None:
        self.loop.call_soon_threadsafe(_resolve, self.future, None, exception)


def _resolve(future: asyncio.Future[bool], result: bool | None, exception: BaseException | None) -> None:
    if future.done():  # the request gave up waiting (timeout)
        return
    if exception is not None:
        future.set_exception(exception)
    else:
        future.set_result(bool(result))


def attach(app: FastAPI, intake: EventIntake) -> None:
    """Give the router its intake (the server process does this once, before serving)."""
    setattr(app.state, STATE_KEY, intake)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request) -> bytes:
    """The raw body; _TooLarge as soon as it is larger than MAX_BODY (ClientDisconnect if the client left)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        raise _TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def callbacks_router() -> APIRouter:
    router = APIRouter(tags=["agora-callbacks"])

    @router.post(PATH)
    async def agora_events(request: Request) -> Response:
        intake: EventIntake | None = getattr(request.app.state, STATE_KEY, None)
        if intake is None:
            return _error(503, "the Agora callback endpoint is not configured (no NCS secret)")
        try:
            raw = await _read_body(request)
        except _TooLarge:
            return _error(413, f"body larger than {MAX_BODY} bytes")
        except ClientDisconnect:  # nobody is left to answer; Agora resends what it did not see acknowledged
            log.info("an Agora callback client disconnected before sending its whole body")
            return _error(400, "client disconnected")
        if not intake.signature_ok(raw, request.headers):
            return _error(401, "invalid signature")
        try:
            envelope = parse_envelope(raw)
        except EnvelopeError as exc:
            return _error(400, str(exc))
        waiter = _LoopWaiter(asyncio.get_running_loop())
        intake.submit(envelope, raw, waiter)
        try:
            async with asyncio.timeout(ANSWER_WITHIN_S):
                await waiter.future
        except Exception:  # not stored (or not yet): Agora resends on a non-200, and the duplicate is harmless
            return _error(503, "event not stored, please retry")
        return Response(b"{}", media_type="application/json")

    return router

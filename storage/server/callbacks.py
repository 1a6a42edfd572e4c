"""`POST /agora/events`: Agora NCS callbacks, checked and stored durably before the 200 (reference/agora.md §3.4).

The request path does only what must happen before answering: read the raw body (at most `MAX_BODY`),
check the HMAC signature over those exact bytes, validate the envelope, and hand it to the `EventIntake`.
The intake's single writer thread stores every event waiting at that moment in one transaction — the event
row plus, for upload/exit events, a queued job — and only after the COMMIT returns are the requests answered
`200 {}`. This group commit keeps `synchronous=FULL` affordable under load: one fsync per batch, not per event.
Duplicates (same `noticeId`, e.g. an NCS resend) hit the unique key and are answered 200 too. Verification and
exports run later in `storage.service.jobs`, never in the request, so the answer comes well within Agora's 10 s.
"""

from __future__ import annotations

import asyncio
import json
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from storage.agora.events import PRODUCT_CLOUD_RECORDING
from storage.agora.signature import signature_ok
from storage.service.db import Database, transaction
from storage.service.jobs import JOB_EVENTS, Rules, enqueue_for_event

log = logging.getLogger(__name__)

PATH = "/agora/events"
MAX_BODY = 1 << 20  # real NCS bodies are a few KB; anything near this is not Agora
MAX_BATCH = 512
CHECKPOINT_EVERY_S = 1.0
ANSWER_WITHIN_S = 8.0  # Agora waits 10 s; answer 503 (it resends) rather than be cut off
STATE_KEY = "agora_events"  # app.state attribute holding the EventIntake


class EnvelopeError(ValueError):
    pass


@dataclass(frozen=True)
class Envelope:
    notice_id: str
    event_type: int
    product_id: int | None
    notify_ms: int | None
    sid: str | None
    cname: str | None


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_envelope(raw: bytes) -> Envelope:
    """The fields we index, from an NCS body; EnvelopeError when it is not a plausible envelope."""
    try:
        # Decoded here, strictly: json.loads(bytes) would also take UTF-16/32, which the intake then
        # could not store as text, and every event sharing its batch would fail with it.
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError
        raise EnvelopeError("the body is not JSON") from None
    if not isinstance(data, dict):
        raise EnvelopeError("the body is not a JSON object")
    notice_id = data.get("noticeId", data.get("notificationId"))  # notificationId: the old v1.2 envelope
    if not isinstance(notice_id, str) or not notice_id or len(notice_id) > 256:
        raise EnvelopeError("noticeId is missing or not a string")
    event_type = _int_or_none(data.get("eventType"))
    if event_type is None:
        raise EnvelopeError("eventType is missing or not an integer")
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise EnvelopeError("payload is not an object")
    sid, cname = payload.get("sid"), payload.get("cname")
    return Envelope(notice_id, event_type, _int_or_none(data.get("productId")),
                    _int_or_none(data.get("notifyMs", data.get("eventMs"))),
                    sid if isinstance(sid, str) and sid else None, cname if isinstance(cname, str) else None)


class _Waiter(Protocol):
    def set_result(self, result: bool) -> None: ...
    def set_exception(self, exception: BaseException) -> None: ...


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


_Item = tuple[Envelope, bytes, _Waiter]


class EventIntake:
    """The single writer that stores callbacks in batches (group commit) and queues their jobs."""

    def __init__(self, db: Database, secret: str, rules: Rules | None = None, *,
                 on_jobs: Callable[[], None] | None = None, max_batch: int = MAX_BATCH) -> None:
        if not secret:
            raise ValueError("the Agora callback endpoint needs the NCS secret: set AGORA_NCS_SECRET or "
                             "[server] ncs_secret in recshelf.toml")
        self.db = db
        self._secret = secret
        self.rules = rules or Rules()
        self.on_jobs = on_jobs
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._checkpointer: threading.Thread | None = None
        self._stopping = threading.Event()
        self.batches = 0
        self.stored = 0
        self.duplicates = 0

    def __repr__(self) -> str:
        return f"EventIntake(db={self.db!r})"

    def signature_ok(self, raw: bytes, headers: Any) -> bool:
        return signature_ok(self._secret, raw, headers)

    def start(self) -> None:
        if self._thread is None:
            self._stopping.clear()
            self._thread = threading.Thread(target=self._run, name="recshelf-event-writer", daemon=True)
            self._thread.start()
            self._checkpointer = threading.Thread(target=self._checkpoint, name="recshelf-wal-checkpoint",
                                                  daemon=True)
            self._checkpointer.start()

    def stop(self) -> None:
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join(10)
            self._thread = None
        if self._checkpointer is not None:
            self._stopping.set()
            self._checkpointer.join(10)
            self._checkpointer = None

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file from this thread, so no acknowledgement waits for a checkpoint.

        The writer's connection has automatic checkpoints off: otherwise, every ~1000 pages, one commit
        (and every request in its batch) would also wait for the database file to be written and fsynced.
        """
        while not self._stopping.wait(CHECKPOINT_EVERY_S):
            try:
                self.db.conn().execute("PRAGMA wal_checkpoint(PASSIVE)")
            except Exception:  # a busy database is retried next time
                log.debug("WAL checkpoint skipped", exc_info=True)

    def submit(self, envelope: Envelope, raw: bytes, waiter: _Waiter | None = None) -> _Waiter:
        """`waiter` (default: a new concurrent Future) gets True (stored) or False (duplicate) once the batch
        holding the event committed, or the exception that rolled the batch back."""
        done: _Waiter = waiter if waiter is not None else Future()
        self._queue.put((envelope, raw, done))
        return done

    def _run(self) -> None:
        self.db.conn().execute("PRAGMA wal_autocheckpoint=0")  # see _checkpoint
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            # Whatever arrived while the previous batch was committing goes into this one.
            while len(batch) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    break
                batch.append(item)
            try:
                self._write(batch)
            except Exception:  # never let the only writer die: every later request would time out unstored
                log.exception("callback writer error")
            if stopping:
                return

    def _write(self, batch: list[_Item]) -> None:
        conn = self.db.conn()
        now = self.db.clock()
        results: list[bool] = []
        jobs = False
        try:
            with transaction(conn, immediate=True):
                for envelope, raw, _ in batch:
                    new = self._insert(conn, envelope, raw, now)
                    results.append(new)
                    jobs = jobs or (new and envelope.event_type in JOB_EVENTS)
        except Exception as exc:  # the whole batch rolled back: none of them is acknowledged
            log.exception("storing %d callback(s) failed", len(batch))
            for _, _, future in batch:
                future.set_exception(exc)
            return
        self.batches += 1
        self.stored += sum(results)
        self.duplicates += len(results) - sum(results)
        for (_, _, future), new in zip(batch, results, strict=True):
            future.set_result(new)
        if jobs and self.on_jobs is not None:
            self.on_jobs()

    def _insert(self, conn: Any, env: Envelope, raw: bytes, now: float) -> bool:
        cur = conn.execute(
            "INSERT INTO events (notice_id, event_type, product_id, sid, cname, notify_ms, received_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (notice_id) DO NOTHING",
            (env.notice_id, env.event_type, env.product_id, env.sid, env.cname, env.notify_ms, now,
             raw.decode("utf-8")))
        if cur.rowcount != 1:
            return False
        if env.product_id in (None, PRODUCT_CLOUD_RECORDING):
            enqueue_for_event(conn, self.rules, int(cur.lastrowid or 0), env.event_type, env.sid, env.cname, now)
        return True


def attach(app: FastAPI, intake: EventIntake) -> None:
    """Give the router its intake (the server process does this once, before serving)."""
    setattr(app.state, STATE_KEY, intake)


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def _read_body(request: Request) -> bytes | None:
    """The raw body, or None when it is larger than MAX_BODY (stopped reading as soon as it is)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_BODY:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def callbacks_router() -> APIRouter:
    router = APIRouter(tags=["agora-callbacks"])

    @router.post(PATH)
    async def agora_events(request: Request) -> Response:
        intake: EventIntake | None = getattr(request.app.state, STATE_KEY, None)
        if intake is None:
            return _error(503, "the Agora callback endpoint is not configured (no NCS secret)")
        raw = await _read_body(request)
        if raw is None:
            return _error(413, f"body larger than {MAX_BODY} bytes")
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

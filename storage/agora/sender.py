"""Sending Agora NCS callbacks (reference/agora.md §3): signed posts, best-effort delivery.

Used by the simulator to behave like Agora's notification service: a background thread posts each
event with `Agora-Signature` / `Agora-Signature-V2` over the exact body bytes, retries a few times
with growing pauses (NCS "stops after three retries"), and never blocks the caller.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence

import httpx

from storage.agora.events import Notice
from storage.agora.signature import signature_headers
from storage.retry import retry_on_schedule

log = logging.getLogger(__name__)


class CallbackSender:
    """Posts notices to one URL from a daemon thread; `send` only enqueues."""

    def __init__(self, url: str, secret: str, *, retry_delays: Sequence[float] = (0.2, 0.5, 1.0),
                 timeout_s: float = 10.0, on_delivered: Callable[[Notice], None] | None = None) -> None:
        self.url = url
        self.on_delivered = on_delivered  # called (from the sender's thread) with each notice answered 200
        self._secret = secret
        self.retry_delays = tuple(retry_delays)
        self._http = httpx.Client(timeout=timeout_s)
        self._queue: queue.Queue[Notice | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="agora-ncs-sender", daemon=True)
        self._thread.start()
        self.delivered = 0  # counters for a status line; each notice counts once either way
        self.failed = 0

    def __repr__(self) -> str:
        return f"CallbackSender(url={self.url!r})"

    def send(self, notice: Notice) -> None:
        self._queue.put(notice)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued notice was delivered or given up; True when the queue drained."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.02)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._http.close()

    def _run(self) -> None:
        while True:
            notice = self._queue.get()
            try:
                if notice is None:
                    return
                self._deliver(notice)
            finally:
                self._queue.task_done()

    def _deliver(self, notice: Notice) -> None:
        tries = 0

        def post() -> None:
            nonlocal tries
            tries += 1
            # notifyMs changes on every resend (as NCS does), so the body and signature are rebuilt.
            raw = notice.body(int(time.time() * 1000))
            headers = {"Content-Type": "application/json", **signature_headers(self._secret, raw)}
            try:
                response = self._http.post(self.url, content=raw, headers=headers)
                problem = None if response.status_code == 200 else f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                problem = type(exc).__name__
            if problem is not None:
                log.info("NCS event %d for sid %s not delivered (%s), attempt %d", notice.event_type, notice.sid,
                         problem, tries)
                raise _NotDelivered(problem)

        try:
            retry_on_schedule(post, delays=self.retry_delays, retry_on=lambda exc: isinstance(exc, _NotDelivered))
        except _NotDelivered:
            self.failed += 1
            return
        self.delivered += 1
        if self.on_delivered is not None:
            self.on_delivered(notice)


class _NotDelivered(Exception):
    """One POST of a notice failed; carries the reason for the log."""

"""Sending Agora NCS callbacks (reference/agora.md §3): the envelope, signatures, best-effort delivery.

Used by the simulator to behave like Agora's notification service: a background thread posts each
event with `Agora-Signature` / `Agora-Signature-V2` over the exact body bytes, retries a few times
with growing pauses (NCS "stops after three retries"), and never blocks the caller.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from storage.agora.signature import signature_headers
from storage.retry import retry_on_schedule

log = logging.getLogger(__name__)

PRODUCT_CLOUD_RECORDING = 3

# eventType -> (serviceType, msgName), from the NCS event-types page.
EVENTS: dict[int, tuple[int, str]] = {
    1: (0, "cloud_recording_error"),
    2: (0, "cloud_recording_warning"),
    3: (0, "cloud_recording_status_update"),
    4: (0, "cloud_recording_file_infos"),
    11: (0, "session_exit"),
    12: (0, "session_failover"),
    30: (2, "uploader_started"),
    31: (2, "uploaded"),
    32: (2, "backuped"),
    33: (2, "uploading_progress"),
    40: (1, "recorder_started"),
    41: (1, "recorder_leave"),
    42: (1, "recorder_slice_start"),
    43: (1, "recorder_audio_stream_state_changed"),
    44: (1, "recorder_video_stream_state_changed"),
}


@dataclass
class Notice:
    event_type: int
    cname: str
    uid: str
    sid: str
    sequence: int
    details: dict[str, Any]
    notice_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sendts: int = field(default_factory=lambda: int(time.time() * 1000))

    def body(self, notify_ms: int) -> bytes:
        """The raw JSON bytes that are both sent and signed."""
        service_type, msg_name = EVENTS.get(self.event_type, (0, ""))
        details = {"msgName": msg_name, **self.details} if msg_name else dict(self.details)
        envelope = {
            "noticeId": self.notice_id, "productId": PRODUCT_CLOUD_RECORDING, "eventType": self.event_type,
            "notifyMs": notify_ms,
            "payload": {"cname": self.cname, "uid": self.uid, "sid": self.sid, "sequence": self.sequence,
                        "sendts": self.sendts, "serviceType": service_type, "details": details},
        }
        return json.dumps(envelope, separators=(",", ":")).encode()


class CallbackSender:
    """Posts notices to one URL from a daemon thread; `send` only enqueues."""

    def __init__(self, url: str, secret: str, *, retry_delays: Sequence[float] = (0.2, 0.5, 1.0),
                 timeout_s: float = 10.0) -> None:
        self.url = url
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


class _NotDelivered(Exception):
    """One POST of a notice failed; carries the reason for the log."""

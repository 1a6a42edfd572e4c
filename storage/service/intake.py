"""Agora callbacks into the database: strict envelope validation, then one writer that group-commits them.

`parse_envelope` refuses anything the database could not store as given — text that is not UTF-8 (a lone
surrogate such as ``"\\ud800"`` is valid JSON but not UTF-8) or holds NUL, integers outside signed 64 bits,
absurd sizes or nesting — so such an event is the sender's own 400 and never reaches a batch.

The `EventIntake`'s single writer thread stores every event waiting at that moment in one transaction — the
event row plus, for upload/exit events, a queued job — and only after the COMMIT returns are the waiters told.
This group commit keeps `synchronous=FULL` affordable under load: one fsync per batch, not per event. Should a
batch fail all the same, each of its events is stored on its own, so one bad event never costs the others.
Duplicates (same `noticeId`, e.g. an NCS resend) hit the unique key and count as answered.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

from storage.agora.events import PRODUCT_CLOUD_RECORDING
from storage.agora.signature import signature_ok
from storage.service.jobs import enqueue_for_event
from storage.service.repo import NewEvent, Repo
from storage.service.rules import JOB_EVENTS, Rules

log = logging.getLogger(__name__)

MAX_BATCH = 512
CHECKPOINT_EVERY_S = 1.0
INT64 = range(-(1 << 63), 1 << 63)  # what an SQLite INTEGER holds
MAX_NOTICE_ID = 256
MAX_SID = 256  # Agora's sids are 32 hex digits
MAX_CNAME = 1024  # Agora allows 64 bytes


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


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _integer(data: dict[str, Any], name: str) -> int | None:
    """The field when it is an integer (bool is not), else None; EnvelopeError when SQLite cannot hold it."""
    value = data.get(name)
    if not isinstance(value, int) or isinstance(value, bool):
        return None
    if value not in INT64:
        raise EnvelopeError(f"{name} is out of range")
    return value


def _text(value: Any, name: str, limit: int) -> str | None:
    """The field when it is a string, else None; EnvelopeError when it is too long or not UTF-8."""
    if not isinstance(value, str):
        return None
    if len(value) > limit:
        raise EnvelopeError(f"{name} is longer than {limit} characters")
    if not _utf8(value):
        raise EnvelopeError(f"{name} is not valid UTF-8 text")
    if "\x00" in value:  # PostgreSQL's TEXT cannot hold NUL: refused the same way in both backends
        raise EnvelopeError(f"{name} holds a NUL character")
    return value


def parse_envelope(raw: bytes) -> Envelope:
    """The fields we index, from an NCS body; EnvelopeError when it is not a plausible, storable envelope."""
    try:
        # Decoded here, strictly: json.loads(bytes) would also take UTF-16/32, which could not be stored as text.
        data = json.loads(raw.decode("utf-8"))
    except ValueError:  # includes UnicodeDecodeError
        raise EnvelopeError("the body is not JSON") from None
    except RecursionError:
        raise EnvelopeError("the body is not JSON an envelope could be (nested too deeply)") from None
    if not isinstance(data, dict):
        raise EnvelopeError("the body is not a JSON object")
    notice_id = data.get("noticeId", data.get("notificationId"))  # notificationId: the old v1.2 envelope
    if not isinstance(notice_id, str) or not notice_id:
        raise EnvelopeError("noticeId is missing or not a string")
    _text(notice_id, "noticeId", MAX_NOTICE_ID)
    event_type = _integer(data, "eventType")
    if event_type is None:
        raise EnvelopeError("eventType is missing or not an integer")
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise EnvelopeError("payload is not an object")
    notify_ms = _integer(data, "notifyMs" if "notifyMs" in data else "eventMs")
    sid = _text(payload.get("sid"), "payload.sid", MAX_SID)
    return Envelope(notice_id, event_type, _integer(data, "productId"), notify_ms, sid or None,
                    _text(payload.get("cname"), "payload.cname", MAX_CNAME))


class Waiter(Protocol):
    def set_result(self, result: bool) -> None: ...
    def set_exception(self, exception: BaseException) -> None: ...


_Item = tuple[Envelope, bytes, Waiter]


class EventIntake:
    """The single writer that stores callbacks in batches (group commit) and queues their jobs."""

    def __init__(self, repo: Repo, secret: str, rules: Rules | None = None, *,
                 on_jobs: Callable[[], None] | None = None, max_batch: int = MAX_BATCH) -> None:
        if not secret:
            raise ValueError("the Agora callback endpoint needs the NCS secret: set AGORA_NCS_SECRET or "
                             "[server] ncs_secret in recshelf.toml")
        self.repo = repo
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
        return f"EventIntake(repo={self.repo!r})"

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
                self.repo.db.checkpoint()
            except Exception:  # a busy database is retried next time
                log.debug("WAL checkpoint skipped", exc_info=True)

    def submit(self, envelope: Envelope, raw: bytes, waiter: Waiter | None = None) -> Waiter:
        """`waiter` (default: a new concurrent Future) gets True (stored) or False (duplicate) once the
        transaction holding the event committed, or the exception that kept it from being stored."""
        done: Waiter = waiter if waiter is not None else Future()
        self._queue.put((envelope, raw, done))
        return done

    def _run(self) -> None:
        self.repo.db.disable_auto_checkpoint()  # see _checkpoint
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
        try:
            self._commit(batch)
        except Exception as exc:  # the whole transaction rolled back: nothing of it is acknowledged
            if len(batch) > 1:
                log.warning("storing %d callbacks together failed (%s); storing each alone", len(batch), exc)
                for item in batch:
                    self._write([item])
                return
            log.exception("storing callback %r failed", batch[0][0].notice_id)
            batch[0][2].set_exception(exc)

    def _commit(self, batch: list[_Item]) -> None:
        now = self.repo.clock()
        results: list[bool] = []
        jobs = False
        with self.repo.write() as tx:
            for env, raw, _ in batch:
                event_id = tx.insert_event(NewEvent(env.notice_id, env.event_type, env.product_id, env.notify_ms,
                                                    env.sid, env.cname, raw.decode("utf-8")), now)
                if event_id is not None and env.product_id in (None, PRODUCT_CLOUD_RECORDING):
                    enqueue_for_event(tx, self.rules, event_id, env.event_type, env.sid, env.cname, now)
                results.append(event_id is not None)
                jobs = jobs or (event_id is not None and env.event_type in JOB_EVENTS)
        self.batches += 1
        self.stored += sum(results)
        self.duplicates += len(results) - sum(results)
        for (_, _, waiter), new in zip(batch, results, strict=True):
            waiter.set_result(new)
        if jobs and self.on_jobs is not None:
            self.on_jobs()

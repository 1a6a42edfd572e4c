"""Durable jobs: verify after `uploaded`, watch after `backuped`, export when complete (reference/agora.md §4).

Jobs live in the `jobs` table of the service database, so they survive a restart. A worker *claims* a
due job by setting a lease (`lease_until`) in one `BEGIN IMMEDIATE` transaction; a heartbeat extends the
leases a live process holds. A job whose lease ran out belongs to a dead process (`kill -9` included) and
is claimed again. A claim skips any job whose recording (`rkey`, the sid) has another job under a live
lease, so at most one job runs per recording at a time.

Rules (``[rules]`` in recshelf.toml, all optional):

```toml
[rules]
store = "prod"                  # profile or store URL where Agora writes the recordings
prefix = "recordings/{cname}/"  # folder inside it; {sid} and {cname} come from the callback
backoff_initial_s = 60          # after `backuped`: check again after 1 min, 2, 4 … up to backoff_max_s
backoff_max_s = 3600
deadline_s = 259200             # 72 h, then the recording is `overdue`
exit_grace_s = 60               # session_exit without an upload event: verify after this wait
webhook = "https://example.com/hook"   # POSTed when a recording becomes complete, incomplete or overdue
[[rules.export]]
format = "mp4"                  # storage.export formats: mp4, ts, zip, hls, copy
dest = "archive"                # folder, store URL or profile
```
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sqlite3
import threading
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from storage.agora.events import EVENT_BACKUPED, EVENT_SESSION_EXIT, EVENT_UPLOADED
from storage.service.db import Database, job_dict, transaction
from storage.service.notify import Notifier
from storage.stores.base import InvalidConfig, ObjectStore

log = logging.getLogger(__name__)

JOB_EVENTS = frozenset({EVENT_SESSION_EXIT, EVENT_UPLOADED, EVENT_BACKUPED})
MAX_LEASE_LOSSES = 5  # a job whose process died this many times is failed, not re-run forever


@dataclass(frozen=True)
class ExportRule:
    format: str
    dest: str
    allow_incomplete: bool = False


@dataclass(frozen=True)
class Rules:
    store: str | None = None
    prefix: str = ""
    exit_grace_s: float = 60.0
    backoff_initial_s: float = 60.0
    backoff_max_s: float = 3600.0
    backoff_factor: float = 2.0
    deadline_s: float = 72 * 3600.0
    retry_initial_s: float = 30.0  # store errors while verifying after `uploaded`, or exporting
    max_attempts: int = 6
    workers: int = 2
    lease_s: float = 60.0
    poll_s: float = 1.0
    webhook: str | None = field(default=None, repr=False)  # may hold a token; never logged
    exports: tuple[ExportRule, ...] = ()

    @classmethod
    def from_table(cls, table: Mapping[str, Any], where: str = "[rules]") -> Rules:
        """Validate a `[rules]` table; an unknown key is an error naming it (like the rest of recshelf.toml)."""
        names = {f.name: f for f in fields(cls)} | {"export": None}
        values: dict[str, Any] = {}
        for name, value in table.items():
            if name not in names or name == "exports":
                known = ", ".join(sorted(set(names) - {"exports"}))
                raise InvalidConfig(f"{where}: unknown key {name!r} (known: {known})")
            if name == "export":
                values["exports"] = tuple(_export_rule(item, f"{where}.export") for item in _list(value, where))
            elif name in ("store", "prefix", "webhook"):
                if not isinstance(value, str):
                    raise InvalidConfig(f"{where}: {name!r} must be a string")
                values[name] = value
            elif name in ("workers", "max_attempts"):
                if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                    raise InvalidConfig(f"{where}: {name!r} must be a positive integer")
                values[name] = value
            else:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise InvalidConfig(f"{where}: {name!r} must be a number of seconds (>= 0)")
                values[name] = float(value)
        return cls(**values)

    def backoff(self, step: int) -> float:
        return min(self.backoff_max_s, self.backoff_initial_s * self.backoff_factor ** min(step, 64))

    def prefix_for(self, sid: str, cname: str) -> str:
        return self.prefix.replace("{sid}", sid).replace("{cname}", cname)


def _list(value: Any, where: str) -> list[Any]:
    if isinstance(value, Mapping):
        return [value]
    if not isinstance(value, list):
        raise InvalidConfig(f"{where}: 'export' must be a table or an array of tables")
    return value


def _export_rule(item: Any, where: str) -> ExportRule:
    if not isinstance(item, Mapping):
        raise InvalidConfig(f"{where} must be a table")
    unknown = set(item) - {"format", "dest", "allow_incomplete"}
    if unknown:
        raise InvalidConfig(f"{where}: unknown key {sorted(unknown)[0]!r} (known: allow_incomplete, dest, format)")
    from storage.export.options import FORMATS  # light: no PyAV

    fmt, dest = item.get("format"), item.get("dest")
    if not isinstance(fmt, str) or not isinstance(dest, str) or not dest:
        raise InvalidConfig(f"{where}: 'format' and 'dest' are required strings")
    if fmt not in FORMATS:
        # Caught when `recshelf serve` starts, not after a recording completes and its export job fails.
        raise InvalidConfig(f"{where}: 'format' must be one of {', '.join(FORMATS)} (got {fmt!r})")
    return ExportRule(fmt, dest, bool(item.get("allow_incomplete", False)))


# -- enqueueing (runs inside the callback intake's transaction: keep it to a couple of statements) ------


def enqueue_for_event(conn: sqlite3.Connection, rules: Rules, event_id: int, event_type: int, sid: str | None,
                      cname: str | None, now: float) -> None:
    """Queue (or merge into a queued) verify job for an upload or exit event of a cloud recording."""
    if not sid or event_type not in JOB_EVENTS:
        return
    mode, reason, run_at, deadline = "once", "uploaded", now, None
    if event_type == EVENT_BACKUPED:
        mode, reason, deadline = "watch", "backuped", now + rules.deadline_s
    elif event_type == EVENT_SESSION_EXIT:
        # Upload events may come after the exit (no ordering): give them time, then check they did.
        reason, run_at = "session_exit", now + rules.exit_grace_s
    queued = conn.execute("SELECT id, mode, reason FROM jobs WHERE rkey = ? AND kind = 'verify' AND state = 'queued' "
                          "ORDER BY id LIMIT 1", (sid,)).fetchone()
    if queued is not None:
        if event_type == EVENT_SESSION_EXIT:
            return  # a pending check already covers this recording
        if mode == "watch" and queued["mode"] != "watch":
            conn.execute("UPDATE jobs SET mode = 'watch', reason = ?, deadline = ?, run_at = min(run_at, ?), "
                         "updated_at = ? WHERE id = ?", (reason, deadline, run_at, now, queued["id"]))
        else:
            new_reason = reason if queued["reason"] == "session_exit" else queued["reason"]
            conn.execute("UPDATE jobs SET run_at = min(run_at, ?), reason = ?, updated_at = ? WHERE id = ?",
                         (run_at, new_reason, now, queued["id"]))
        return
    if mode == "watch" and conn.execute("SELECT 1 FROM jobs WHERE rkey = ? AND kind = 'verify' AND mode = 'watch' "
                                        "AND state = 'running'", (sid,)).fetchone():
        return  # already watching this recording
    insert_job(conn, "verify", sid, cname or "", reason, mode, run_at, now, deadline=deadline, event_id=event_id)


def insert_job(conn: sqlite3.Connection, kind: str, sid: str, cname: str, reason: str, mode: str, run_at: float,
               now: float, *, deadline: float | None = None, event_id: int | None = None,
               options: Mapping[str, Any] | None = None) -> int:
    cur = conn.execute(
        "INSERT INTO jobs (kind, rkey, sid, cname, reason, mode, state, run_at, deadline, event_id, options, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
        (kind, sid, sid, cname, reason, mode, run_at, deadline, event_id,
         json.dumps(dict(options)) if options else None, now, now))
    return int(cur.lastrowid or 0)


# -- claiming and finishing --------------------------------------------------------------------------

_CLAIM = """
SELECT * FROM jobs AS j
WHERE ((j.state = 'queued' AND j.run_at <= :now) OR (j.state = 'running' AND j.lease_until < :now))
  AND NOT EXISTS (SELECT 1 FROM jobs AS o WHERE o.rkey = j.rkey AND o.id <> j.id
                  AND o.state = 'running' AND o.lease_until >= :now)
ORDER BY j.run_at, j.id LIMIT 1
"""


_ANY_DUE = """
SELECT 1 FROM jobs WHERE (state = 'queued' AND run_at <= :now) OR (state = 'running' AND lease_until < :now) LIMIT 1
"""


def claim(conn: sqlite3.Connection, owner: str, now: float, lease_s: float) -> sqlite3.Row | None:
    """Take the next due job (or one whose owner died) under a lease; None when nothing is due."""
    # Idle workers poll: look without the write lock first, so polling never delays the callback writer.
    if conn.execute(_ANY_DUE, {"now": now}).fetchone() is None:
        return None
    with transaction(conn, immediate=True):
        row = conn.execute(_CLAIM, {"now": now}).fetchone()
        if row is None:
            return None
        if row["state"] == "running" and row["attempts"] >= MAX_LEASE_LOSSES:
            conn.execute("UPDATE jobs SET state = 'failed', error = ?, lease_owner = NULL, updated_at = ? "
                         "WHERE id = ?", (f"its worker died {row['attempts']} times", now, row["id"]))
            return None
        conn.execute("UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, "
                     "updated_at = ? WHERE id = ?", (owner, now + lease_s, now, row["id"]))
        return conn.execute("SELECT * FROM jobs WHERE id = ?", (row["id"],)).fetchone()


def _finish(conn: sqlite3.Connection, job: sqlite3.Row, owner: str, now: float, state: str,
            result: Mapping[str, Any] | None = None, error: str | None = None,
            run_at: float | None = None, step: int | None = None) -> bool:
    """Record a job's outcome; False when the lease was lost meanwhile (another worker owns it now)."""
    cur = conn.execute(
        "UPDATE jobs SET state = ?, result = coalesce(?, result), error = ?, run_at = coalesce(?, run_at), "
        "step = coalesce(?, step), lease_owner = NULL, lease_until = NULL, updated_at = ?, "
        "attempts = CASE WHEN ? = 'queued' AND ? IS NULL THEN 0 ELSE attempts END "
        "WHERE id = ? AND lease_owner = ?",
        (state, json.dumps(dict(result)) if result is not None else None, error, run_at, step, now, state, error,
         job["id"], owner))
    return cur.rowcount == 1


def _set_recording(conn: sqlite3.Connection, job: sqlite3.Row, state: str, status: str | None, now: float, *,
                   store: str | None, prefix: str, fingerprint: str | None = None) -> None:
    conn.execute(
        "INSERT INTO recordings (sid, cname, state, status, store, prefix, deadline, fingerprint, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sid) DO UPDATE SET cname = excluded.cname, "
        "state = excluded.state, status = coalesce(excluded.status, status), store = excluded.store, "
        "prefix = excluded.prefix, deadline = coalesce(excluded.deadline, deadline), "
        "fingerprint = coalesce(excluded.fingerprint, fingerprint), updated_at = excluded.updated_at",
        (job["sid"], job["cname"], state, status, store, prefix, job["deadline"], fingerprint, now))


# -- running -----------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What a handler decided; the runner writes it, with the checks, in one transaction."""

    state: str  # queued (again) | done | failed | overdue | skipped
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    run_at: float | None = None
    step: int | None = None
    recording_state: str | None = None  # new recordings.state, if any
    status: str | None = None
    fingerprint: str | None = None
    checks: list[tuple[Any, ...]] = field(default_factory=list)
    notify: str | None = None  # complete | incomplete | overdue
    exports: bool = False


StoreOpener = Callable[[str], ObjectStore]


def _default_opener(url_or_profile: str) -> ObjectStore:
    from storage.stores.registry import open_store

    return open_store(url_or_profile)


class JobRunner:
    """A pool of worker threads running due jobs from the database, plus a lease heartbeat."""

    def __init__(self, db: Database, rules: Rules, *, clock: Callable[[], float] | None = None,
                 store_opener: StoreOpener = _default_opener, notifier: Notifier | None = None) -> None:
        self.db = db
        self.rules = rules
        self.clock = clock or db.clock
        self.open_store = store_opener
        self.notifier = notifier if notifier is not None else Notifier(rules.webhook)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._threads: list[threading.Thread] = []
        self._held: set[int] = set()
        self._held_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JobRunner(owner={self.owner!r}, workers={self.rules.workers})"

    def start(self) -> None:
        for n in range(self.rules.workers):
            thread = threading.Thread(target=self._work, name=f"recshelf-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._heartbeat, name="recshelf-job-lease", daemon=True)
        beat.start()
        self._threads.append(beat)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def wake(self) -> None:
        """New work was queued: stop waiting for the next poll."""
        with self._wake:
            self._wake.notify_all()

    def run_once(self) -> dict[str, Any] | None:
        """Claim and run one due job in this thread; the job row after it ran, or None when none was due."""
        conn = self.db.conn()
        job = claim(conn, self.owner, self.clock(), self.rules.lease_s)
        if job is None:
            return None
        with self._held_lock:
            self._held.add(job["id"])
        try:
            self._run(conn, job)
        finally:
            with self._held_lock:
                self._held.discard(job["id"])
        return job_dict(conn.execute("SELECT * FROM jobs WHERE id = ?", (job["id"],)).fetchone())

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # a bug in one job must not kill the worker; the lease makes it re-run later
                log.exception("job runner error")
                ran = None
            if ran is None:
                with self._wake:
                    self._wake.wait(self.rules.poll_s)

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(0.05, self.rules.lease_s / 3)):
            with self._held_lock:
                held = list(self._held)
            if not held:
                continue
            try:
                conn = self.db.conn()
                marks = ", ".join("?" for _ in held)
                conn.execute(f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({marks})",
                             (self.clock() + self.rules.lease_s, self.owner, *held))
            except sqlite3.Error:
                log.exception("lease heartbeat failed")

    def _run(self, conn: sqlite3.Connection, job: sqlite3.Row) -> None:
        from storage.service.handlers import run_export, run_verify

        handler = run_verify if job["kind"] == "verify" else run_export
        try:
            outcome = handler(self, conn, job)
        except Exception as exc:  # unexpected: keep the message, retry like a store error
            log.exception("job %s (%s %s) failed", job["id"], job["kind"], job["sid"])
            outcome = self.retry_or_fail(job, f"{type(exc).__name__}: {exc}")
        self._record(conn, job, outcome)

    def retry_or_fail(self, job: sqlite3.Row, error: str) -> Outcome:
        if job["attempts"] >= self.rules.max_attempts:
            return Outcome("failed", error=error)
        delay = min(self.rules.backoff_max_s, self.rules.retry_initial_s * 2 ** (job["attempts"] - 1))
        return Outcome("queued", error=error, run_at=self.clock() + delay)

    def _record(self, conn: sqlite3.Connection, job: sqlite3.Row, outcome: Outcome) -> None:
        now = self.clock()
        store, prefix = self.rules.store, self.rules.prefix_for(job["sid"], job["cname"])
        with transaction(conn, immediate=True):
            if not _finish(conn, job, self.owner, now, outcome.state, outcome.result, outcome.error,
                           outcome.run_at, outcome.step):
                log.warning("job %s lost its lease while running; its result is dropped", job["id"])
                return
            conn.executemany("INSERT INTO checks (job_id, sid, cname, recording, checked_at, status, segments, "
                             "bytes, missing, report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", outcome.checks)
            if outcome.recording_state:
                _set_recording(conn, job, outcome.recording_state, outcome.status, now, store=store, prefix=prefix,
                               fingerprint=outcome.fingerprint)
            if outcome.exports:
                for rule in self.rules.exports:
                    insert_job(conn, "export", job["sid"], job["cname"], "complete", "once", now, now,
                               options={"format": rule.format, "dest": rule.dest,
                                        "allow_incomplete": rule.allow_incomplete})
        if outcome.exports and self.rules.exports:
            self.wake()
        if outcome.notify:
            self.notifier.send({"event": outcome.notify, "sid": job["sid"], "cname": job["cname"],
                                "status": outcome.status, "store": store, "prefix": prefix, "jobId": job["id"],
                                "reason": job["reason"]})

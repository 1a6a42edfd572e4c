"""Every SQL statement of the service: events, jobs, checks and recording states, as named records.

`Repo` reads (the CLI, the web UI, the job runner) and takes job leases; `Repo.write()` opens one
write transaction and hands out a `Writes` whose methods are its statements, so the callback intake and the
job runner decide *what* to write and this module alone says *how*. The statements are written once, in the
portable subset of `storage.service.db`: SQLite runs them as they are, PostgreSQL through the translation of
`storage.service.db_postgres` (one statement, `_SUMMARIES`, spells its aggregate per dialect).

The `*_dict` functions give the JSON shapes `recshelf events|jobs|checks --json` print.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from storage.service.db import Database, Row, Variants, transaction


@dataclass(frozen=True)
class NewEvent:
    """An Agora callback to store: the indexed fields and the raw body, exactly as signed."""

    notice_id: str
    event_type: int
    product_id: int | None
    notify_ms: int | None
    sid: str | None
    cname: str | None
    body: str


@dataclass(frozen=True)
class Job:
    """One row of `jobs`; `options` and `result` already decoded from JSON."""

    id: int
    kind: str
    rkey: str
    sid: str
    cname: str
    reason: str
    mode: str
    state: str
    run_at: float
    deadline: float | None
    step: int
    attempts: int
    lease_owner: str | None
    lease_until: float | None
    event_id: int | None
    options: dict[str, Any]
    result: Any
    error: str | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: Row) -> Job:
        values = dict(row)
        values["options"] = _json(values["options"]) or {}
        values["result"] = _json(values["result"])
        return cls(**values)


@dataclass(frozen=True)
class CheckRow:
    """One verification result of a job, as stored in `checks`."""

    job_id: int | None
    sid: str
    cname: str
    recording: str | None  # catalog Recording.id, None when nothing was found
    checked_at: float
    status: str
    segments: int = 0
    bytes: int = 0
    missing: int = 0
    report: str | None = None  # JSON text


@dataclass(frozen=True)
class RecordingState:
    """A recording's row in `recordings`; a None status, deadline or fingerprint keeps the stored one."""

    sid: str
    cname: str
    state: str
    status: str | None
    store: str | None
    prefix: str
    deadline: float | None
    fingerprint: str | None
    updated_at: float


@dataclass(frozen=True)
class JobFinish:
    """A job's new state after a run; None for result, run_at or step keeps the stored value."""

    state: str
    result: Mapping[str, Any] | None = None
    error: str | None = None
    run_at: float | None = None
    step: int | None = None


# Hands a queued job run to a job engine (procrastinate) on the transaction's own connection:
# (connection, job id, recording key, run_at in Unix seconds). None: the embedded queue polls the table.
Dispatch = Callable[[Any, int, str, float], None]


class Writes:
    """The statements of one write transaction (see `Repo.write`)."""

    def __init__(self, conn: Any, dispatch: Dispatch | None = None) -> None:
        self._conn = conn
        self._dispatch = dispatch

    @property
    def conn(self) -> Any:  # for the repo_<feature> modules' statements in this same transaction
        return self._conn

    def _queued(self, job_id: int) -> None:
        """A job is queued (new, merged, retried or watching): tell the engine, in this same transaction."""
        if self._dispatch is not None:
            row = self._conn.execute("SELECT rkey, run_at FROM jobs WHERE id = ?", (job_id,)).fetchone()
            self._dispatch(self._conn, job_id, row["rkey"], row["run_at"])

    def insert_event(self, event: NewEvent, now: float) -> int | None:
        """The new event's id, or None when its noticeId is already stored (an NCS resend)."""
        cur = self._conn.execute(
            "INSERT INTO events (notice_id, event_type, product_id, sid, cname, notify_ms, received_at, body) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (notice_id) DO NOTHING",
            (event.notice_id, event.event_type, event.product_id, event.sid, event.cname, event.notify_ms, now,
             event.body))
        return int(cur.lastrowid or 0) if cur.rowcount == 1 else None

    def queued_verify_job(self, rkey: str) -> Job | None:
        row = self._conn.execute("SELECT * FROM jobs WHERE rkey = ? AND kind = 'verify' AND state = 'queued' "
                                 "ORDER BY id LIMIT 1", (rkey,)).fetchone()
        return Job.from_row(row) if row is not None else None

    def is_watching(self, rkey: str) -> bool:
        return self._conn.execute("SELECT 1 FROM jobs WHERE rkey = ? AND kind = 'verify' AND mode = 'watch' "
                                  "AND state = 'running'", (rkey,)).fetchone() is not None

    def merge_into_job(self, job_id: int, *, run_at: float, reason: str, now: float,
                       watch_until: float | None = None) -> None:
        """Run a queued job no later than `run_at`; with `watch_until`, turn it into a watch with that deadline."""
        if watch_until is not None:
            self._conn.execute("UPDATE jobs SET mode = 'watch', reason = ?, deadline = ?, updated_at = ? WHERE id = ?",
                               (reason, watch_until, now, job_id))
        # run_at = the earlier of the two, without SQLite's two-argument min() (PostgreSQL spells it LEAST)
        self._conn.execute("UPDATE jobs SET run_at = CASE WHEN run_at < ? THEN run_at ELSE ? END, reason = ?, "
                           "updated_at = ? WHERE id = ?", (run_at, run_at, reason, now, job_id))
        self._queued(job_id)

    def insert_job(self, kind: str, sid: str, cname: str, reason: str, mode: str, run_at: float, now: float, *,
                   deadline: float | None = None, event_id: int | None = None,
                   options: Mapping[str, Any] | None = None) -> int:
        cur = self._conn.execute(
            "INSERT INTO jobs (kind, rkey, sid, cname, reason, mode, state, run_at, deadline, event_id, options, "
            "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?, ?, ?)",
            (kind, sid, sid, cname, reason, mode, run_at, deadline, event_id,
             json.dumps(dict(options)) if options else None, now, now))
        job_id = int(cur.lastrowid or 0)
        self._queued(job_id)
        return job_id

    def finish_job(self, job_id: int, owner: str, now: float, finish: JobFinish) -> bool:
        """Record a run's outcome; False when the lease was lost meanwhile (another worker owns the job now)."""
        result = json.dumps(dict(finish.result)) if finish.result is not None else None
        cur = self._conn.execute(
            "UPDATE jobs SET state = ?, result = coalesce(?, result), error = ?, run_at = coalesce(?, run_at), "
            "step = coalesce(?, step), lease_owner = NULL, lease_until = NULL, updated_at = ?, "
            "attempts = CASE WHEN ? = 'queued' AND ? IS NULL THEN 0 ELSE attempts END "
            "WHERE id = ? AND lease_owner = ?",
            (finish.state, result, finish.error, finish.run_at, finish.step, now, finish.state, finish.error,
             job_id, owner))
        if cur.rowcount == 1 and finish.state == "queued":
            self._queued(job_id)
        return cur.rowcount == 1

    def insert_checks(self, checks: Sequence[CheckRow]) -> None:
        self._conn.executemany(
            "INSERT INTO checks (job_id, sid, cname, recording, checked_at, status, segments, bytes, missing, "
            "report) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(c.job_id, c.sid, c.cname, c.recording, c.checked_at, c.status, c.segments, c.bytes, c.missing,
              c.report) for c in checks])

    def set_recording(self, rec: RecordingState) -> None:
        self._conn.execute(
            "INSERT INTO recordings (sid, cname, state, status, store, prefix, deadline, fingerprint, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sid) DO UPDATE SET cname = excluded.cname, "
            "state = excluded.state, status = coalesce(excluded.status, recordings.status), store = excluded.store, "
            "prefix = excluded.prefix, deadline = coalesce(excluded.deadline, recordings.deadline), "
            "fingerprint = coalesce(excluded.fingerprint, recordings.fingerprint), updated_at = excluded.updated_at",
            (rec.sid, rec.cname, rec.state, rec.status, rec.store, rec.prefix, rec.deadline, rec.fingerprint,
             rec.updated_at))


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

# A sid with no checks yet is "pending" while a job is queued for it; "events only" when none will run
# (e.g. only progress events were received).
_SUMMARIES_SQL = """
SELECT e.sid, max(e.cname) AS cname, min(e.received_at) AS first_at, max(e.received_at) AS last_at,
       count(*) AS events, {types} AS types,
       r.state, r.status, r.deadline,
       (SELECT min(j.run_at) FROM jobs AS j WHERE j.rkey = e.sid AND j.state IN ('queued', 'running')) AS next_at
FROM events AS e LEFT JOIN recordings AS r ON r.sid = e.sid
WHERE e.sid IS NOT NULL
GROUP BY e.sid, r.state, r.status, r.deadline ORDER BY last_at DESC LIMIT ?
"""
_SUMMARIES = Variants(_SUMMARIES_SQL.format(types="group_concat(DISTINCT e.event_type)"),
                      postgresql=_SUMMARIES_SQL.format(types="string_agg(DISTINCT CAST(e.event_type AS TEXT), ',')"))


class Repo:
    """The service's durable state, over one `Database` (a connection per thread)."""

    def __init__(self, db: Database, dispatch: Dispatch | None = None) -> None:
        self.db = db
        self.dispatch = dispatch

    def __repr__(self) -> str:
        return f"Repo({self.db!r})"

    @property
    def clock(self) -> Callable[[], float]:
        return self.db.clock

    def close(self) -> None:
        self.db.close()

    @contextmanager
    def write(self) -> Iterator[Writes]:
        """One write transaction (it takes the write lock up front): all its statements commit, or none."""
        with transaction(self.db.conn(), immediate=True) as conn:
            yield Writes(conn, self.dispatch)

    # -- jobs: claims and leases ------------------------------------------------------------------------

    def claim(self, owner: str, now: float, lease_s: float, *, max_lease_losses: int) -> Job | None:
        """Take the next due job (or one whose owner died) under a lease; None when nothing is due.

        A job whose worker died `max_lease_losses` times is failed instead of run again.
        """
        conn = self.db.conn()
        # Idle workers poll: look without the write lock first, so polling never delays the callback writer.
        if conn.execute(_ANY_DUE, {"now": now}).fetchone() is None:
            return None
        with transaction(conn, immediate=True):
            row = conn.execute(_CLAIM, {"now": now}).fetchone()
            return take_lease(conn, row, owner, now, lease_s, max_lease_losses) if row is not None else None

    def extend_leases(self, owner: str, job_ids: Sequence[int], until: float) -> None:
        marks = ", ".join("?" for _ in job_ids)
        self.db.conn().execute(f"UPDATE jobs SET lease_until = ? WHERE lease_owner = ? AND id IN ({marks})",
                               (until, owner, *job_ids))

    def job(self, job_id: int) -> Job | None:
        return self._job(self.db.conn(), job_id)

    @staticmethod
    def _job(conn: Any, job_id: int) -> Job | None:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job.from_row(row) if row is not None else None

    def has_event(self, sid: str, event_types: Sequence[int]) -> bool:
        marks = ", ".join("?" for _ in event_types)
        return self.db.conn().execute(f"SELECT 1 FROM events WHERE sid = ? AND event_type IN ({marks}) LIMIT 1",
                                      (sid, *event_types)).fetchone() is not None

    # -- history (read-only; the CLI and the web UI use it) ------------------------------------------

    def events(self, sid: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM events" + (" WHERE sid = ?" if sid else "") + " ORDER BY id"
        rows = self.db.conn().execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (sid,) if sid else ())
        return [event_dict(row) for row in rows]

    def event_count(self) -> int:
        return int(self.db.conn().execute("SELECT count(*) FROM events").fetchone()[0])

    def notice_ids(self) -> set[str]:
        return {row[0] for row in self.db.conn().execute("SELECT notice_id FROM events")}

    def jobs(self, sid: str | None = None, states: Sequence[str] = ()) -> list[dict[str, Any]]:
        where, args = _filters(sid, states)
        rows = self.db.conn().execute(f"SELECT * FROM jobs{where} ORDER BY id", args)
        return [job_dict(Job.from_row(row)) for row in rows]

    def checks(self, sid: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM checks" + (" WHERE sid = ?" if sid else "") + " ORDER BY id"
        return [check_dict(row) for row in self.db.conn().execute(sql, (sid,) if sid else ())]

    def recordings(self) -> list[dict[str, Any]]:
        rows = self.db.conn().execute("SELECT * FROM recordings ORDER BY updated_at DESC")
        return [dict(row) for row in rows]

    def recording_summaries(self, limit: int = 500) -> list[dict[str, Any]]:
        """One row per sid that sent events, newest first: its events, check state and next pending run."""
        rows = self.db.conn().execute(_SUMMARIES, (limit,))
        return [_summary(row) for row in rows]

    def timeline(self, sid: str) -> list[dict[str, Any]]:
        """A recording's events and checks in time order (`at` in Unix seconds, `kind` event | check)."""
        items = [{"at": e["receivedAt"], "kind": "event", "what": e["eventType"], "detail": e["payload"]}
                 for e in self.events(sid=sid)]
        items += [{"at": c["checkedAt"], "kind": "check", "what": c["status"],
                   "detail": {"recording": c["recording"], "segments": c["segments"], "missing": c["missing"],
                              "bytes": c["bytes"]}} for c in self.checks(sid=sid)]
        return sorted(items, key=lambda item: item["at"])


def take_lease(conn: Any, row: Row, owner: str, now: float, lease_s: float, max_lease_losses: int) -> Job | None:
    """Inside a claim's transaction: lease the job `row` is (None, and fail it, once its worker died too often)."""
    if row["state"] == "running" and row["attempts"] >= max_lease_losses:
        conn.execute("UPDATE jobs SET state = 'failed', error = ?, lease_owner = NULL, updated_at = ? WHERE id = ?",
                     (f"its worker died {row['attempts']} times", now, row["id"]))
        return None
    conn.execute("UPDATE jobs SET state = 'running', lease_owner = ?, lease_until = ?, attempts = attempts + 1, "
                 "updated_at = ? WHERE id = ?", (owner, now + lease_s, now, row["id"]))
    return Repo._job(conn, row["id"])


def _summary(row: Row) -> dict[str, Any]:
    state = row["state"] or ("pending" if row["next_at"] is not None else "events only")
    types = sorted({int(t) for t in str(row["types"] or "").split(",") if t})
    return {"sid": row["sid"], "cname": row["cname"], "state": state, "status": row["status"],
            "events": row["events"], "eventTypes": types, "firstEvent": iso(row["first_at"]),
            "lastEvent": iso(row["last_at"]), "nextCheck": iso(row["next_at"]), "deadline": iso(row["deadline"])}


def _filters(sid: str | None, states: Sequence[str]) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if sid:
        clauses.append("sid = ?")
        args.append(sid)
    if states:
        clauses.append(f"state IN ({', '.join('?' for _ in states)})")
        args += list(states)
    return (" WHERE " + " AND ".join(clauses) if clauses else ""), args


def _json(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def event_dict(row: Row) -> dict[str, Any]:
    """The CLI's JSON shape of one stored event."""
    envelope = _json(row["body"])
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    return {"id": row["id"], "noticeId": row["notice_id"], "eventType": row["event_type"],
            "productId": row["product_id"], "sid": row["sid"], "cname": row["cname"], "notifyMs": row["notify_ms"],
            "received": iso(row["received_at"]), "receivedAt": row["received_at"], "payload": payload}


def job_dict(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "sid": job.sid, "cname": job.cname, "reason": job.reason,
            "mode": job.mode, "state": job.state, "runAt": iso(job.run_at), "deadline": iso(job.deadline),
            "step": job.step, "attempts": job.attempts, "eventId": job.event_id,
            "options": job.options or None, "result": job.result, "error": job.error,
            "created": iso(job.created_at), "updated": iso(job.updated_at)}


def check_dict(row: Row) -> dict[str, Any]:
    return {"id": row["id"], "jobId": row["job_id"], "sid": row["sid"], "cname": row["cname"],
            "recording": row["recording"], "checked": iso(row["checked_at"]), "checkedAt": row["checked_at"],
            "status": row["status"], "segments": row["segments"], "bytes": row["bytes"], "missing": row["missing"],
            "report": _json(row["report"])}


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"

"""Durable service state in one SQLite file (WAL) under the data folder: events, jobs, verification history.

Why SQLite in WAL mode: one file, no daemon, readers (`recshelf events`, the web UI) never block the
single writer, and a commit is durable once `sqlite3` returns. Every thread uses its own connection
(`Database.conn()`), because a `sqlite3.Connection` must not be shared across threads without a lock,
and SQLite serialises writers itself (`busy_timeout` makes a writer wait instead of failing).

Durability: `synchronous=FULL` by default — each commit fsyncs the WAL, so an acknowledged event survives
a power cut, not only a `kill -9`. `NORMAL` (survives a process crash, may lose the last commits on a power
cut) can be chosen with ``RECSHELF_SQLITE_SYNC=NORMAL``; benchmarks/callbacks_bench.py measures both. The
callback intake batches concurrent events into one transaction (group commit), so FULL costs one fsync per
batch, not per event.

Migrations are a list of SQL scripts; `PRAGMA user_version` says how many have run. Append, never edit.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

DB_NAME = "recshelf.sqlite3"
DATA_ENV = "RECSHELF_DATA"
DEFAULT_DATA = "recshelf-data"
SYNC_ENV = "RECSHELF_SQLITE_SYNC"
SYNC_MODES = ("FULL", "NORMAL")
BUSY_TIMEOUT_MS = 10_000

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        id INTEGER PRIMARY KEY,
        notice_id TEXT NOT NULL UNIQUE,      -- NCS dedupe key (notifyMs changes on resend, so not part of it)
        event_type INTEGER NOT NULL,
        product_id INTEGER,
        sid TEXT,
        cname TEXT,
        notify_ms INTEGER,
        received_at REAL NOT NULL,           -- Unix seconds when it was stored
        body TEXT NOT NULL                   -- the raw body, exactly as signed
    );
    CREATE INDEX events_sid ON events (sid, id);
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        kind TEXT NOT NULL,                  -- verify | export
        rkey TEXT NOT NULL,                  -- the recording it works on (its sid): one running job per rkey
        sid TEXT NOT NULL,
        cname TEXT NOT NULL,
        reason TEXT NOT NULL,                -- uploaded | backuped | session_exit | complete | manual
        mode TEXT NOT NULL,                  -- once | watch (re-run with backoff until stable or deadline)
        state TEXT NOT NULL,                 -- queued | running | done | failed | overdue | skipped
        run_at REAL NOT NULL,
        deadline REAL,
        step INTEGER NOT NULL DEFAULT 0,     -- backoff step of a watch job
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until REAL,
        event_id INTEGER,
        options TEXT,                        -- JSON, e.g. an export rule
        result TEXT,                         -- JSON of the last run
        error TEXT,
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX jobs_due ON jobs (state, run_at);
    CREATE INDEX jobs_rkey ON jobs (rkey, state);
    CREATE TABLE checks (
        id INTEGER PRIMARY KEY,
        job_id INTEGER,
        sid TEXT NOT NULL,
        cname TEXT NOT NULL,
        recording TEXT,                      -- catalog Recording.id, NULL when nothing was found
        checked_at REAL NOT NULL,
        status TEXT NOT NULL,                -- a verify status, or not_found / error
        segments INTEGER NOT NULL DEFAULT 0,
        bytes INTEGER NOT NULL DEFAULT 0,
        missing INTEGER NOT NULL DEFAULT 0,
        report TEXT                          -- Report.to_dict() as JSON, or the error message
    );
    CREATE INDEX checks_sid ON checks (sid, id);
    CREATE TABLE recordings (
        sid TEXT PRIMARY KEY,
        cname TEXT NOT NULL,
        state TEXT NOT NULL,                 -- verifying | waiting_backup | complete | incomplete | overdue | error
        status TEXT,                         -- worst verify status of the last check
        store TEXT,
        prefix TEXT,
        deadline REAL,
        fingerprint TEXT,                    -- segments + bytes of the last check, for "unchanged"
        updated_at REAL NOT NULL
    );
    """,
)


def data_dir(given: str | Path | None = None, configured: str | Path | None = None) -> Path:
    """The data folder: the given one, else `configured` (`Settings.data_dir()`), else ./recshelf-data."""
    return Path(given or configured or DEFAULT_DATA).expanduser()


def sync_mode(given: str | None = None) -> str:
    mode = (given or "FULL").upper()  # $RECSHELF_SQLITE_SYNC reaches here through Settings
    if mode not in SYNC_MODES:
        raise ValueError(f"{SYNC_ENV} must be one of {', '.join(SYNC_MODES)}, not {mode!r}")
    return mode


def connect(path: Path, synchronous: str = "FULL") -> sqlite3.Connection:
    # isolation_level=None: we issue BEGIN ourselves, so a claim can use BEGIN IMMEDIATE.
    conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={synchronous}")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Run the migrations not yet applied; returns the schema version."""
    if conn.execute("PRAGMA user_version").fetchone()[0] >= len(MIGRATIONS):
        return len(MIGRATIONS)  # readers (CLI, web UI) open the database without taking the write lock
    with transaction(conn, immediate=True):
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={number}")
    return len(MIGRATIONS)


@contextmanager
def transaction(conn: sqlite3.Connection, immediate: bool = False) -> Iterator[sqlite3.Connection]:
    """BEGIN … COMMIT, or ROLLBACK on error. IMMEDIATE takes the write lock up front (no upgrade deadlock)."""
    conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Database:
    """The data folder's SQLite file, with one connection per thread."""

    def __init__(self, folder: str | Path | None = None, *, synchronous: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.folder = data_dir(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self.synchronous = sync_mode(synchronous)
        self.clock = clock
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        migrate(self.conn())

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    def conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect(self.path, self.synchronous)
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- history queries (read-only; the CLI and the web UI use them) --------------------------------

    def events(self, sid: str | None = None, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM events" + (" WHERE sid = ?" if sid else "") + " ORDER BY id"
        rows = self.conn().execute(sql + (f" LIMIT {int(limit)}" if limit else ""), (sid,) if sid else ())
        return [event_dict(row) for row in rows]

    def event_count(self) -> int:
        return int(self.conn().execute("SELECT count(*) FROM events").fetchone()[0])

    def notice_ids(self) -> set[str]:
        return {row[0] for row in self.conn().execute("SELECT notice_id FROM events")}

    def jobs(self, sid: str | None = None, states: Sequence[str] = ()) -> list[dict[str, Any]]:
        where, args = _filters(sid, states)
        rows = self.conn().execute(f"SELECT * FROM jobs{where} ORDER BY id", args)
        return [job_dict(row) for row in rows]

    def checks(self, sid: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM checks" + (" WHERE sid = ?" if sid else "") + " ORDER BY id"
        return [check_dict(row) for row in self.conn().execute(sql, (sid,) if sid else ())]

    def recordings(self) -> list[dict[str, Any]]:
        rows = self.conn().execute("SELECT * FROM recordings ORDER BY updated_at DESC")
        return [dict(row) for row in rows]

    def recording_summaries(self, limit: int = 500) -> list[dict[str, Any]]:
        """One row per sid that sent events, newest first: its events, check state and next pending run."""
        rows = self.conn().execute(_SUMMARIES, (limit,))
        return [_summary(row) for row in rows]

    def timeline(self, sid: str) -> list[dict[str, Any]]:
        """A recording's events and checks in time order (`at` in Unix seconds, `kind` event | check)."""
        items = [{"at": e["receivedAt"], "kind": "event", "what": e["eventType"], "detail": e["payload"]}
                 for e in self.events(sid=sid)]
        items += [{"at": c["checkedAt"], "kind": "check", "what": c["status"],
                   "detail": {"recording": c["recording"], "segments": c["segments"], "missing": c["missing"],
                              "bytes": c["bytes"]}} for c in self.checks(sid=sid)]
        return sorted(items, key=lambda item: item["at"])


# A sid with no checks yet is "pending" while a job is queued for it; "events only" when none will run
# (e.g. only progress events were received).
_SUMMARIES = """
SELECT e.sid, max(e.cname) AS cname, min(e.received_at) AS first_at, max(e.received_at) AS last_at,
       count(*) AS events, group_concat(DISTINCT e.event_type) AS types,
       r.state, r.status, r.deadline,
       (SELECT min(j.run_at) FROM jobs AS j WHERE j.rkey = e.sid AND j.state IN ('queued', 'running')) AS next_at
FROM events AS e LEFT JOIN recordings AS r ON r.sid = e.sid
WHERE e.sid IS NOT NULL
GROUP BY e.sid ORDER BY last_at DESC LIMIT ?
"""


def _summary(row: sqlite3.Row) -> dict[str, Any]:
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


def event_dict(row: sqlite3.Row) -> dict[str, Any]:
    """The CLI's JSON shape of one stored event."""
    envelope = _json(row["body"])
    payload = envelope.get("payload") if isinstance(envelope, dict) else None
    return {"id": row["id"], "noticeId": row["notice_id"], "eventType": row["event_type"],
            "productId": row["product_id"], "sid": row["sid"], "cname": row["cname"], "notifyMs": row["notify_ms"],
            "received": iso(row["received_at"]), "receivedAt": row["received_at"], "payload": payload}


def job_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "kind": row["kind"], "sid": row["sid"], "cname": row["cname"], "reason": row["reason"],
            "mode": row["mode"], "state": row["state"], "runAt": iso(row["run_at"]), "deadline": iso(row["deadline"]),
            "step": row["step"], "attempts": row["attempts"], "eventId": row["event_id"],
            "options": _json(row["options"]), "result": _json(row["result"]), "error": row["error"],
            "created": iso(row["created_at"]), "updated": iso(row["updated_at"])}


def check_dict(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": row["id"], "jobId": row["job_id"], "sid": row["sid"], "cname": row["cname"],
            "recording": row["recording"], "checked": iso(row["checked_at"]), "checkedAt": row["checked_at"],
            "status": row["status"], "segments": row["segments"], "bytes": row["bytes"], "missing": row["missing"],
            "report": _json(row["report"])}


def iso(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{int(seconds % 1 * 1000):03d}Z"

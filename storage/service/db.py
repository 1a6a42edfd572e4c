"""The service database's connection and schema: one SQLite file (WAL) under the data folder.

Why SQLite in WAL mode: one file, no daemon, readers (`recshelf events`, the web UI) never block the
single writer, and a commit is durable once `sqlite3` returns. Every thread uses its own connection
(`Database.conn()`), because a `sqlite3.Connection` must not be shared across threads without a lock,
and SQLite serialises writers itself (`busy_timeout` makes a writer wait instead of failing).

Durability: `synchronous=FULL` by default — each commit fsyncs the WAL, so an acknowledged event survives
a power cut, not only a `kill -9`. `NORMAL` (survives a process crash, may lose the last commits on a power
cut) can be chosen with ``RECSHELF_SQLITE_SYNC=NORMAL``; benchmarks/callbacks_bench.py measures both. The
callback intake batches concurrent events into one transaction (group commit), so FULL costs one fsync per
batch, not per event.

Migrations are a list of statement lists; `PRAGMA user_version` says how many have run. Append, never edit.
Every other SQL statement lives in `storage.service.repo` (and its `repo_<feature>` siblings).

PostgreSQL (`[server] database = "postgresql://…"` or ``$RECSHELF_DATABASE``) runs the
same migrations and statements, translated in `storage.service.db_postgres`; `storage.service.database`
opens whichever is configured. So write both in the portable
subset: `?` (or `:name`) placeholders; types INTEGER, TEXT, REAL; ids as `id INTEGER PRIMARY KEY` (read back
with `cursor.lastrowid`); `ON CONFLICT … DO NOTHING / DO UPDATE` with table-qualified columns on the right;
no SQLite-only functions (`min(a, b)`, `group_concat`, `strftime`, `json_*`), no PRAGMA. A statement that
needs another spelling on PostgreSQL is a `Variants` (a `str`, so SQLite runs it as it is).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

DB_NAME = "recshelf.sqlite3"
DATA_ENV = "RECSHELF_DATA"
DEFAULT_DATA = "recshelf-data"
SYNC_ENV = "RECSHELF_SQLITE_SYNC"
SYNC_MODES = ("FULL", "NORMAL")
BUSY_TIMEOUT_MS = 10_000

# Each migration is a list of whole statements run in order, never a script split on ';' (a ';' inside a
# comment, string or trigger body would cut a statement in two).
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
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
        )
        """,
        """
        CREATE INDEX events_sid ON events (sid, id)
        """,
        """
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
        )
        """,
        """
        CREATE INDEX jobs_due ON jobs (state, run_at)
        """,
        """
        CREATE INDEX jobs_rkey ON jobs (rkey, state)
        """,
        """
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
        )
        """,
        """
        CREATE INDEX checks_sid ON checks (sid, id)
        """,
        """
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
        )
        """,
    ),
    (
        # Share links (storage/service/repo_shares.py): the random token is the whole link; what it
        # opens stays here. A row is never deleted, so a revoked or expired link keeps answering 410.
        """
        CREATE TABLE shares (
            id INTEGER PRIMARY KEY,
            token TEXT NOT NULL UNIQUE,          -- storage.signing.new_share_token(): 256 random bits
            store TEXT NOT NULL,                 -- a profile name or a store URL (never holds secrets)
            folder TEXT NOT NULL,                -- the recording's folder ("" or "a/b/")
            sid TEXT NOT NULL,
            cname TEXT NOT NULL,
            uid TEXT,                            -- NULL: the composite recording
            recording TEXT NOT NULL,             -- catalog Recording.id it was made for
            title TEXT NOT NULL,                 -- shown on the share page
            created_at REAL NOT NULL,
            expires_at REAL NOT NULL,
            revoked_at REAL,
            allow_download INTEGER NOT NULL DEFAULT 1
        )
        """,
        """
        CREATE INDEX shares_created ON shares (created_at)
        """,
    ),
    (
        # Notes (issue 13 item 8): one per recording of a store; uid '' = the whole recording (composite
        # mode, or every uid of an individual one). Tags in their own table so a tag filter is an index lookup.
        """
        CREATE TABLE notes (
            id INTEGER PRIMARY KEY,
            store TEXT NOT NULL,                 -- the store's URL (ObjectStore.url: never holds secrets)
            sid TEXT NOT NULL,
            uid TEXT NOT NULL DEFAULT '',
            cname TEXT NOT NULL DEFAULT '',      -- for showing the note without listing the store
            title TEXT NOT NULL DEFAULT '',
            body TEXT NOT NULL DEFAULT '',
            updated_at REAL NOT NULL,
            updated_by TEXT NOT NULL,
            UNIQUE (store, sid, uid)
        )
        """,
        """
        CREATE TABLE note_tags (
            note_id INTEGER NOT NULL,
            tag TEXT NOT NULL,                   -- lower-case, trimmed
            PRIMARY KEY (note_id, tag)
        )
        """,
        """
        CREATE INDEX note_tags_tag ON note_tags (tag, note_id)
        """,
        # The audit trail (item 9): one row per change or refused attempt; a run cut short stays 'started'.
        """
        CREATE TABLE audit (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,                    -- Unix seconds
            actor TEXT NOT NULL,
            role TEXT NOT NULL,
            via TEXT NOT NULL,                   -- cli | ui | server
            action TEXT NOT NULL,                -- delete | move | clean | tag | share_create | share_revoke | …
            store TEXT NOT NULL DEFAULT '',
            target TEXT NOT NULL DEFAULT '',     -- sid [uid], plan id, … what the action was about
            objects INTEGER NOT NULL DEFAULT 0,
            bytes INTEGER NOT NULL DEFAULT 0,
            outcome TEXT NOT NULL,               -- started | done | partial | refused | denied | failed | interrupted
            detail TEXT                          -- JSON
        )
        """,
        """
        CREATE INDEX audit_at ON audit (at)
        """,
    ),
    (
        # The web UI's verification results, so a reload shows statuses at once (storage.service.repo_verification).
        """
        CREATE TABLE verifications (
            id INTEGER PRIMARY KEY,
            store TEXT NOT NULL,                 -- the store as the UI names it (profile or URL, never a secret)
            recording TEXT NOT NULL,             -- catalog Recording.id
            fingerprint TEXT NOT NULL,           -- hash of the listing's names, sizes, etags: changed -> re-verify
            status TEXT NOT NULL,
            duration_s REAL,
            report TEXT NOT NULL,                -- Report.to_dict() as JSON
            verified_at REAL NOT NULL,
            UNIQUE (store, recording)
        )
        """,
    ),
    (
        # Bulk jobs (`export|verify --all --queue`): the parameters, then one item per recording (or export
        # unit), in batches; each batch runs as one row of `jobs` (kind 'bulk'). storage.service.repo_bulk.
        """
        CREATE TABLE bulk_jobs (
            id INTEGER PRIMARY KEY,
            kind TEXT NOT NULL,                  -- verify | export
            params TEXT NOT NULL,                -- JSON: store, prefix, sid, cname, format, dest, …
            total INTEGER NOT NULL,
            batches INTEGER NOT NULL,
            created_at REAL NOT NULL
        )
        """,
        """
        CREATE TABLE bulk_items (
            id INTEGER PRIMARY KEY,
            bulk_id INTEGER NOT NULL,
            batch INTEGER NOT NULL,
            item TEXT NOT NULL,                  -- Recording.id (verify) or folder + unit name (export)
            folder TEXT NOT NULL,
            sid TEXT NOT NULL,
            state TEXT NOT NULL,                 -- queued | running | done | failed
            status TEXT,                         -- the report's status, or the export's (exported, skipped, …)
            result TEXT,                         -- JSON: the report or export result
            runs INTEGER NOT NULL DEFAULT 0,
            started_at REAL,
            finished_at REAL,
            UNIQUE (bulk_id, item)
        )
        """,
        """
        CREATE INDEX bulk_items_batch ON bulk_items (bulk_id, batch)
        """,
    ),
)


class Variants(str):
    """A statement written for SQLite (the `str` itself) with its PostgreSQL spelling beside it."""

    postgresql: str

    def __new__(cls, sqlite: str, *, postgresql: str) -> Variants:
        made = super().__new__(cls, sqlite)
        made.postgresql = postgresql
        return made


class Row(Protocol):
    """A result row: by position or column name, and `dict(row)`-able (sqlite3.Row, db_postgres.Row)."""

    def __getitem__(self, key: Any) -> Any: ...
    def keys(self) -> list[str]: ...


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
        for number, statements in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in statements:
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


class PerThreadConnections:
    """One connection per thread (neither sqlite3 nor psycopg connections may be shared without a lock)."""

    def __init__(self) -> None:
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()

    def _connect(self) -> Any:
        raise NotImplementedError

    def _alive(self, conn: Any) -> bool:
        return True

    def conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or not self._alive(conn):
            conn = self._connect()
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


class Database(PerThreadConnections):
    """The data folder's SQLite file, with one connection per thread."""

    dialect = "sqlite"

    def __init__(self, folder: str | Path | None = None, *, synchronous: str | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.folder = data_dir(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.path = self.folder / DB_NAME
        self.synchronous = sync_mode(synchronous)
        self.clock = clock
        migrate(self.conn())

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    @property
    def where(self) -> str:
        """What `recshelf events` and friends name as the data's home."""
        return str(self.folder)

    def _connect(self) -> sqlite3.Connection:
        return connect(self.path, self.synchronous)

    def checkpoint(self) -> None:
        """Copy the WAL into the database file now, without waiting for readers (PASSIVE)."""
        self.conn().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def disable_auto_checkpoint(self) -> None:
        """This thread's connection stops checkpointing on commit (someone calls `checkpoint()` instead)."""
        self.conn().execute("PRAGMA wal_autocheckpoint=0")

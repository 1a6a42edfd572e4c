"""Every SQL statement of share links: create, look up by token, list, revoke.

A share is a row of `shares` (migration 2 in storage/service/db.py). The token is the only thing a
link carries; rows are never deleted, so an expired or revoked link can still be told apart from
one that never existed (410 vs 404).
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from storage.service.db import Database, transaction

ACTIVE, EXPIRED, REVOKED = "active", "expired", "revoked"


@dataclass(frozen=True, kw_only=True)
class NewShare:
    token: str
    store: str
    folder: str
    sid: str
    cname: str
    uid: str | None
    recording: str
    title: str
    expires_at: float
    allow_download: bool = True


@dataclass(frozen=True, kw_only=True)
class Share(NewShare):
    """One row of `shares`: what was asked for, plus its id, when it was made and when revoked."""

    id: int
    created_at: float
    revoked_at: float | None

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Share:
        values = {name: row[name] for name in row.keys()}  # noqa: SIM118 - sqlite3.Row has no items()
        values["allow_download"] = bool(values["allow_download"])
        return cls(**values)

    def state(self, now: float) -> str:
        if self.revoked_at is not None:
            return REVOKED
        return EXPIRED if self.expires_at <= now else ACTIVE

    def to_dict(self, now: float, url: str | None = None) -> dict[str, Any]:
        """The JSON shape of `recshelf share --list --json` (the token only inside `url`)."""
        values = asdict(self)
        del values["token"]
        for name in ("created_at", "expires_at", "revoked_at"):
            stamp = values[name]
            values[name] = datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds") if stamp else None
        return {**values, "state": self.state(now), "url": url}


_COLUMNS = ("id, token, store, folder, sid, cname, uid, recording, title, created_at, expires_at, revoked_at, "
            "allow_download")


class ShareRepo:
    """Share links in the service database (one per data folder, shared by the CLI, UI and server)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def create(self, new: NewShare) -> Share:
        conn = self.db.conn()
        with transaction(conn, immediate=True):
            cursor = conn.execute(
                "INSERT INTO shares (token, store, folder, sid, cname, uid, recording, title, created_at, "
                "expires_at, allow_download) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (new.token, new.store, new.folder, new.sid, new.cname, new.uid, new.recording, new.title,
                 self.db.clock(), new.expires_at, 1 if new.allow_download else 0))
            share_id = cursor.lastrowid
        found = self.by_id(int(share_id or 0))
        assert found is not None
        return found

    def by_token(self, token: str) -> Share | None:
        row = self.db.conn().execute(f"SELECT {_COLUMNS} FROM shares WHERE token = ?", (token,)).fetchone()
        return Share.from_row(row) if row else None

    def by_id(self, share_id: int) -> Share | None:
        row = self.db.conn().execute(f"SELECT {_COLUMNS} FROM shares WHERE id = ?", (share_id,)).fetchone()
        return Share.from_row(row) if row else None

    def list(self, limit: int = 1000) -> list[Share]:
        """Newest first."""
        rows = self.db.conn().execute(f"SELECT {_COLUMNS} FROM shares ORDER BY created_at DESC, id DESC LIMIT ?",
                                      (limit,)).fetchall()
        return [Share.from_row(row) for row in rows]

    def active_stores(self) -> list[str]:
        """The stores that active links open (the server serves their local folders' media)."""
        rows = self.db.conn().execute(
            "SELECT DISTINCT store FROM shares WHERE revoked_at IS NULL AND expires_at > ?",
            (self.db.clock(),)).fetchall()
        return [row["store"] for row in rows]

    def revoke(self, share_id: int) -> Share | None:
        """Revoke the link (again is harmless: the first time is kept); None when there is no such id."""
        conn = self.db.conn()
        with transaction(conn, immediate=True):
            conn.execute("UPDATE shares SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                         (self.db.clock(), share_id))
        return self.by_id(share_id)

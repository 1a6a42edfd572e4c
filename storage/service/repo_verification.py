"""Verification results of the web UI, kept in the service database (table `verifications`).

One row per (store, recording): the latest report and the fingerprint of the listing it was made
from. A reader compares fingerprints itself, so a recording whose objects changed counts as not
verified without any extra query. The table page reads statuses only (`statuses`); the full report,
with its lists of missing slices, is read for one recording at a time (`report`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from storage.service.db import Database, transaction


@dataclass(frozen=True)
class CachedStatus:
    fingerprint: str
    status: str
    duration_s: float | None


@dataclass(frozen=True)
class Verified:
    """One result to store: which recording, the listing it saw, and `Report.to_dict()`."""

    recording: str
    fingerprint: str
    report: dict[str, Any]


class VerificationRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def statuses(self, store: str) -> dict[str, CachedStatus]:
        """Every cached status of a store by recording id: one query, no report decoded."""
        rows = self.db.conn().execute(
            "SELECT recording, fingerprint, status, duration_s FROM verifications WHERE store = ?", (store,))
        return {row["recording"]: CachedStatus(row["fingerprint"], row["status"], row["duration_s"])
                for row in rows}

    def report(self, store: str, recording: str, fingerprint: str) -> dict[str, Any] | None:
        """The stored report when it was made from this very listing, else None."""
        row = self.db.conn().execute(
            "SELECT report FROM verifications WHERE store = ? AND recording = ? AND fingerprint = ?",
            (store, recording, fingerprint)).fetchone()
        return json.loads(row["report"]) if row else None

    def save(self, store: str, results: Iterable[Verified]) -> None:
        """Store (or replace) results in one transaction."""
        now = self.db.clock()
        rows = [(store, r.recording, r.fingerprint, str(r.report.get("status", "error")),
                 r.report.get("duration_s"), json.dumps(r.report), now) for r in results]
        if not rows:
            return
        with transaction(self.db.conn(), immediate=True) as conn:
            conn.executemany(
                "INSERT INTO verifications (store, recording, fingerprint, status, duration_s, report, verified_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (store, recording) DO UPDATE SET fingerprint = excluded.fingerprint,"
                " status = excluded.status, duration_s = excluded.duration_s, report = excluded.report,"
                " verified_at = excluded.verified_at", rows)

    def forget(self, store: str) -> None:
        with transaction(self.db.conn(), immediate=True) as conn:
            conn.execute("DELETE FROM verifications WHERE store = ?", (store,))

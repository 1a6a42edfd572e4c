"""Every SQL statement of the audit trail: who changed what, when, how many objects and bytes, and the outcome."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from storage.service.db import Database


@dataclass(frozen=True)
class AuditEntry:
    at: float
    actor: str
    role: str
    via: str  # cli | ui | server
    action: str
    outcome: str
    store: str = ""
    target: str = ""
    objects: int = 0
    bytes: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "role": self.role, "via": self.via,
                "action": self.action, "store": self.store, "target": self.target, "objects": self.objects,
                "bytes": self.bytes, "outcome": self.outcome, "detail": self.detail}


class AuditRepo:
    def __init__(self, db: Database) -> None:
        self.db = db

    def add(self, entry: AuditEntry) -> int:
        cur = self.db.conn().execute(
            "INSERT INTO audit (at, actor, role, via, action, store, target, objects, bytes, outcome, detail) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (entry.at, entry.actor, entry.role, entry.via, entry.action, entry.store, entry.target, entry.objects,
             entry.bytes, entry.outcome, json.dumps(entry.detail, sort_keys=True) if entry.detail else None))
        return int(cur.lastrowid or 0)

    def finish(self, entry_id: int, *, outcome: str, objects: int, bytes: int, detail: dict[str, Any]) -> None:
        """The outcome of an entry written as 'started' before a long change ran."""
        self.db.conn().execute("UPDATE audit SET outcome = ?, objects = ?, bytes = ?, detail = ? WHERE id = ?",
                               (outcome, objects, bytes, json.dumps(detail, sort_keys=True), entry_id))

    def entries(self, *, since: float | None = None, action: str | None = None, actor: str | None = None,
                outcome: str | None = None, limit: int = 1000) -> list[AuditEntry]:
        """Newest first."""
        where, args = ["1 = 1"], []
        for column, value in (("action", action), ("actor", actor), ("outcome", outcome)):
            if value:
                where.append(f"{column} = ?")
                args.append(value)
        if since is not None:
            where.append("at >= ?")
            args.append(since)
        rows = self.db.conn().execute(f"SELECT * FROM audit WHERE {' AND '.join(where)} ORDER BY at DESC, id DESC "
                                      "LIMIT ?", (*args, limit)).fetchall()
        return [_entry(row) for row in rows]


def _entry(row: sqlite3.Row) -> AuditEntry:
    return AuditEntry(float(row["at"]), row["actor"], row["role"], row["via"], row["action"], row["outcome"],
                      row["store"], row["target"], int(row["objects"]), int(row["bytes"]),
                      json.loads(row["detail"]) if row["detail"] else {}, int(row["id"]))

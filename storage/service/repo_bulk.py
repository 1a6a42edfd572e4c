"""The SQL of bulk jobs (`recshelf export|verify --all --queue`, `recshelf jobs --watch`).

A bulk job is a `bulk_jobs` row (its parameters) and one `bulk_items` row per recording, numbered into
batches; each batch is one `jobs` row of kind 'bulk' (rkey `bulk:<id>:<batch>`), queued through
`Writes.insert_job`, so the embedded queue and procrastinate run it alike. An item's result is committed as
soon as that recording is done, so a batch re-run after its worker died skips what is finished.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from storage.service.db import transaction
from storage.service.repo import Repo, Writes

BATCH_KIND = "bulk"
ITEM_STATES = ("queued", "running", "done", "failed")


@dataclass(frozen=True)
class BulkItem:
    """One recording (or export unit) of a bulk job."""

    item: str
    folder: str
    sid: str


def batch_rkey(bulk_id: int, batch: int) -> str:
    return f"bulk:{bulk_id}:{batch}"


def create_bulk(tx: Writes, kind: str, params: dict[str, Any], items: Sequence[BulkItem], batch_size: int,
                now: float) -> int:
    """Store the bulk job and its items and queue one batch job per `batch_size` items (one transaction)."""
    conn = tx.conn
    batches = (len(items) + batch_size - 1) // batch_size
    cur = conn.execute("INSERT INTO bulk_jobs (kind, params, total, batches, created_at) VALUES (?, ?, ?, ?, ?)",
                       (kind, json.dumps(params), len(items), batches, now))
    bulk_id = int(cur.lastrowid or 0)
    conn.executemany("INSERT INTO bulk_items (bulk_id, batch, item, folder, sid, state) VALUES (?, ?, ?, ?, ?, ?)",
                     [(bulk_id, n // batch_size, item.item, item.folder, item.sid, "queued")
                      for n, item in enumerate(items)])
    for batch in range(batches):
        rkey = batch_rkey(bulk_id, batch)
        tx.insert_job(BATCH_KIND, rkey, "", kind, "once", now, now, options={"bulk": bulk_id, "batch": batch})
    return bulk_id


def bulk_job(repo: Repo, bulk_id: int) -> dict[str, Any] | None:
    row = repo.db.conn().execute("SELECT * FROM bulk_jobs WHERE id = ?", (bulk_id,)).fetchone()
    return _bulk_dict(row) if row is not None else None


def latest_bulk_id(repo: Repo) -> int | None:
    row = repo.db.conn().execute("SELECT id FROM bulk_jobs ORDER BY id DESC LIMIT 1").fetchone()
    return int(row["id"]) if row is not None else None


def bulk_jobs(repo: Repo, limit: int = 100) -> list[dict[str, Any]]:
    rows = repo.db.conn().execute("SELECT * FROM bulk_jobs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_bulk_dict(row) for row in rows]


def pending_items(repo: Repo, bulk_id: int, batch: int) -> list[BulkItem]:
    """The batch's items not finished yet (a re-run after a dead worker skips the others)."""
    rows = repo.db.conn().execute(
        "SELECT item, folder, sid FROM bulk_items WHERE bulk_id = ? AND batch = ? AND state IN ('queued', 'running') "
        "ORDER BY id", (bulk_id, batch)).fetchall()
    return [BulkItem(row["item"], row["folder"], row["sid"]) for row in rows]


def start_item(repo: Repo, bulk_id: int, item: str, now: float) -> None:
    conn = repo.db.conn()
    with transaction(conn, immediate=True):
        conn.execute("UPDATE bulk_items SET state = 'running', runs = runs + 1, started_at = ? "
                     "WHERE bulk_id = ? AND item = ?", (now, bulk_id, item))


def finish_item(repo: Repo, bulk_id: int, item: str, ok: bool, status: str, result: Any, now: float) -> None:
    conn = repo.db.conn()
    with transaction(conn, immediate=True):
        conn.execute("UPDATE bulk_items SET state = ?, status = ?, result = ?, finished_at = ? "
                     "WHERE bulk_id = ? AND item = ?",
                     ("done" if ok else "failed", status, json.dumps(result), now, bulk_id, item))


def item_counts(repo: Repo, bulk_id: int) -> dict[str, Any]:
    """Items per state and per status, and when the first started and the last finished."""
    conn = repo.db.conn()
    states = {state: 0 for state in ITEM_STATES}
    for row in conn.execute("SELECT state, COUNT(*) AS n FROM bulk_items WHERE bulk_id = ? GROUP BY state",
                            (bulk_id,)):
        states[row["state"]] = int(row["n"])
    statuses = {row["status"]: int(row["n"]) for row in conn.execute(
        "SELECT status, COUNT(*) AS n FROM bulk_items WHERE bulk_id = ? AND status IS NOT NULL GROUP BY status",
        (bulk_id,))}
    times = conn.execute("SELECT MIN(started_at) AS first, MAX(finished_at) AS last FROM bulk_items "
                         "WHERE bulk_id = ?", (bulk_id,)).fetchone()
    return {"states": states, "statuses": statuses, "first_started": times["first"], "last_finished": times["last"]}


def failed_batches(repo: Repo, bulk_id: int) -> list[int]:
    """The batches whose job failed (out of retries, or its workers died too often)."""
    rows = repo.db.conn().execute("SELECT options FROM jobs WHERE kind = ? AND state = 'failed' AND rkey LIKE ?",
                                  (BATCH_KIND, f"bulk:{bulk_id}:%")).fetchall()
    return sorted(int(json.loads(row["options"])["batch"]) for row in rows)


def unfinished_items(repo: Repo, bulk_id: int, batches: Sequence[int]) -> int:
    """How many items of `batches` never finished."""
    if not batches:
        return 0
    marks = ", ".join("?" for _ in batches)
    row = repo.db.conn().execute(f"SELECT COUNT(*) AS n FROM bulk_items WHERE bulk_id = ? AND batch IN ({marks}) "
                                 "AND state IN ('queued', 'running')", (bulk_id, *batches)).fetchone()
    return int(row["n"])


def bulk_items(repo: Repo, bulk_id: int) -> list[dict[str, Any]]:
    rows = repo.db.conn().execute("SELECT * FROM bulk_items WHERE bulk_id = ? ORDER BY id", (bulk_id,)).fetchall()
    return [{"item": r["item"], "batch": r["batch"], "state": r["state"], "status": r["status"], "runs": r["runs"],
             "result": json.loads(r["result"]) if r["result"] else None} for r in rows]


def _bulk_dict(row: Any) -> dict[str, Any]:
    return {"id": int(row["id"]), "kind": row["kind"], "params": json.loads(row["params"]), "total": int(row["total"]),
            "batches": int(row["batches"]), "created_at": float(row["created_at"])}

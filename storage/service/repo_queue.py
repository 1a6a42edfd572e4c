"""The statements a job engine (procrastinate) needs on top of `storage.service.repo`: claim one given job.

With an engine, the `jobs` table stays the record of every job (state, backoff step, result, history) and
the engine only says *when* and *where* a job runs. So a run first claims its row here, under the same lease
as the embedded queue: a run whose job already ended, is not due yet (its time moved), or is held by a live
worker claims nothing — a stale or duplicate wake-up costs one statement, never a second run.
"""

from __future__ import annotations

from typing import Any

from storage.service.db import transaction
from storage.service.repo import Job, Repo, take_lease

_CLAIMABLE = ("(state = 'queued' AND run_at <= ?) OR (state = 'running' AND (lease_until IS NULL OR lease_until < ?))")


def claim_job(repo: Repo, job_id: int, owner: str, now: float, lease_s: float, *, due_by: float,
              max_lease_losses: int) -> Job | None:
    """Take job `job_id` under a lease when it is due by `due_by` (or its worker's lease ran out at `now`);
    None when it is not claimable.

    A job whose worker died `max_lease_losses` times is failed instead of run again.
    """
    conn = repo.db.conn()
    with transaction(conn, immediate=True):
        row = conn.execute(f"SELECT * FROM jobs WHERE id = ? AND ({_CLAIMABLE})", (job_id, due_by, now)).fetchone()
        return take_lease(conn, row, owner, now, lease_s, max_lease_losses) if row is not None else None


def lease_held(repo: Repo, job_id: int, now: float) -> bool:
    """The job runs under a live lease (another worker has it): its wake-up should come back later."""
    return repo.db.conn().execute("SELECT 1 FROM jobs WHERE id = ? AND state = 'running' AND lease_until >= ?",
                                  (job_id, now)).fetchone() is not None


def overdue_runs(repo: Repo, due_before: float, limit: int = 1000) -> list[dict[str, Any]]:
    """Queued jobs that should have run before `due_before`, or running ones whose lease ran out (a sweep
    hands them to the engine again) — unless a run of theirs, already due, still waits in procrastinate's queue.

    A backlog is not lost work: without that exception every sweep re-deferred up to `limit` waiting jobs
    (each a round trip, most refused by the queueing lock), which under 10,000 queued jobs starved the
    workers and the intake alike (issue 14's scale run).
    """
    rows = repo.db.conn().execute(
        "SELECT id, rkey, run_at FROM jobs WHERE ((state = 'queued' AND run_at < ?) "
        "OR (state = 'running' AND lease_until < ?)) AND NOT EXISTS (SELECT 1 FROM procrastinate_jobs p "
        "WHERE p.status = 'todo' AND p.task_name = 'recshelf.run' AND p.args->>'job_id' = CAST(jobs.id AS TEXT) "
        "AND (p.scheduled_at IS NULL OR p.scheduled_at <= now())) "
        "ORDER BY run_at LIMIT ?", (due_before, due_before, limit))
    return [dict(row) for row in rows]

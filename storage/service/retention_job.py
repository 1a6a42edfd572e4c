"""The periodic retention run of `recshelf serve`: `[[rules.retention]]` applied every `[rules] retention_every`.

One `retention` job row stands for the schedule. Each run plans the rules against `[rules] store` now (the
plan `recshelf retention plan` prints), applies exactly that plan (storage.manage.retention, one journal per
recording under the data folder; what a run killed half-way left of its deletes, archives or tiers, the next
run finishes first, before it plans anew), writes one audit row (actor `server`, action `retention`) with the
objects, bytes and outcome (each step saying whether it resumed), and queues its own row again one period
later. The queue runs it like any other job: the embedded SQLite runner's threads, or procrastinate workers in
PostgreSQL mode (the repo dispatches the re-queued row as a timed wake-up) — this very handler either way.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from storage.service.audit import AuditTrail
from storage.service.handlers import JobContext, Outcome
from storage.service.repo import Job, Repo
from storage.service.repo_retention import RETENTION_KIND, pending_retention_job
from storage.service.rules import Rules
from storage.service.users import Actor
from storage.stores.base import StoreError

log = logging.getLogger(__name__)

SERVER = Actor("server", "admin", "server")


def schedule_retention(repo: Repo, rules: Rules, now: float) -> int | None:
    """Queue the first retention run one period from now, unless one is pending (a restart keeps its time)."""
    if not rules.runs_retention:
        return None
    pending = pending_retention_job(repo.db.conn())
    if pending is not None:
        return pending
    with repo.write() as tx:
        return tx.insert_job(RETENTION_KIND, RETENTION_KIND, "", "every", "periodic", now + rules.retention_every_s,
                             now)


def run_retention(ctx: JobContext, job: Job) -> Outcome:
    """Plan and apply the retention rules once, audit the run, and come back one period later."""
    rules = ctx.rules
    if not rules.runs_retention:
        return Outcome("skipped", result={"note": "no retention rules, or retention_every is off"})
    first = pending_retention_job(ctx.repo.db.conn())
    if first is not None and first != job.id:  # two processes scheduled at once: the older schedule stays
        return Outcome("skipped", result={"note": f"retention job {first} is the schedule"})
    trail = AuditTrail(ctx.repo.db, ctx.clock)
    entry = trail.record(SERVER, "retention", "started", store=rules.store or "", target="[[rules.retention]]",
                         detail={"job": job.id, "rules": [rule.name for rule in rules.retention]})
    try:
        summary = _apply(ctx, Path(ctx.repo.db.folder))
    except StoreError as exc:
        trail.finish(entry, outcome="failed", detail={"job": job.id, "error": str(exc)})
        return Outcome("queued", error=str(exc), run_at=ctx.clock() + rules.retention_every_s)
    except BaseException as exc:
        trail.finish(entry, outcome="failed", detail={"job": job.id, "error": f"{type(exc).__name__}: {exc}"})
        raise
    trail.finish(entry, outcome=summary["outcome"], objects=summary["objects"], bytes=summary["bytes"],
                 detail={"job": job.id, **summary})
    log.info("retention run: %s, %s object(s), %s byte(s)", summary["outcome"], summary["objects"], summary["bytes"])
    return Outcome("queued", result=summary, run_at=ctx.clock() + rules.retention_every_s)


def _apply(ctx: JobContext, data_dir: Path) -> dict[str, Any]:
    from storage.export.jobs import copy_recordings  # the move engine: only when an archive rule runs
    from storage.manage.retention import apply_retention, plan_retention

    store = ctx.open_store(ctx.rules.store or "")
    # The data folder makes the plan begin with this store's interrupted retention runs (delete, archive, tier).
    plan = plan_retention(store, ctx.rules.retention, ctx.open_store, data_dir=data_dir)
    outcomes = apply_retention(store, plan, data_dir, ctx.open_store, copy_recordings)
    steps = [(rule.name, rule.action, step) for rule, step in plan.steps]
    statuses = [outcome.status for outcome in outcomes]
    if all(status == "done" for status in statuses):
        outcome = "done"
    elif any(status == "done" for status in statuses):
        outcome = "partial"
    else:
        outcome = "refused" if all(status == "refused" for status in statuses) else "failed"
    return {"outcome": outcome, "recordings": len(steps), "objects": sum(o.deleted for o in outcomes),
            "bytes": sum(o.bytes for o in outcomes),
            "steps": [{"rule": rule, "action": action, "plan_id": step.id, "status": result.status,
                       "resumed": result.resumed, "error": result.error}
                      for (rule, action, step), result in zip(steps, outcomes, strict=True)]}

"""Move (archive) recordings to another store: copy, prove the copy, only then delete the source.

The copy is passed in as a `Copier` (the faces pass export's `copy_recordings`: same keys, per-object
checks, its own resume journal, and a verify of the target), so this feature imports no other feature
and adds no copier of its own. Before a single source
object is deleted, `copy_problems` checks the destination again from a fresh listing: every planned
object there with its size, each recording verifying no worse than the source did. So an interrupted
move, resumed or not, can lose the source only after a proven copy exists.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from storage.manage.apply import BatchCallback, Outcome, delete_planned, finish, open_journal
from storage.manage.delete import copy_problems, fill, select
from storage.manage.journal import Journal
from storage.manage.plan import Plan
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError

# (source, recordings, target, allow_incomplete) -> failure messages, [] when every copy verified whole
Copier = Callable[[ObjectStore, Sequence[Recording], ObjectStore, bool], list[str]]


def plan_move(store: ObjectStore, dest: ObjectStore, sid: str, uid: str | None = None, *, force: bool = False,
              prefix: str = "", recordings: Sequence[Recording] | None = None, retention: str | None = None) -> Plan:
    """The move plan of `sid` (and `uid`), or of exactly `recordings` (retention: each its own plan).

    `retention` names the rule that planned it: the request keeps it, so the periodic run can tell its own
    interrupted journals (to resume them) from those of a person's `mv` or Archive….
    """
    request: dict[str, object] = {"sid": sid, "uid": uid, "prefix": prefix, "force": force, "to": dest.url}
    if recordings is not None:
        request["recordings"] = sorted(rec.id for rec in recordings)
    if retention is not None:
        request["retention"] = retention
    plan = Plan("move", store.url, request, dest=dest.url)
    if dest.url == store.url:
        plan.refusals.append("--to is the source store itself; a move needs another store")
        return plan
    fill(plan, store, select(store, sid, uid, prefix) if recordings is None else recordings, force=force)
    return plan


def apply_move(store: ObjectStore, dest: ObjectStore, plan: Plan, data_dir: Path, copier: Copier, *,
               on_batch: BatchCallback | None = None) -> Outcome:
    if plan.refused:
        return Outcome(plan.id, "refused", error="; ".join(plan.refusals))
    journal, resumed = open_journal(data_dir, plan)
    if not journal.steps("copy"):
        error = _copy(store, dest, plan, copier)
        if error is not None:
            return _failed(journal, plan, resumed, error)
        journal.add({"step": "copy", "to": dest.url, "at": time.time()})
    problems = copy_problems(dest, plan.recordings, plan.objects)
    if problems:
        return _failed(journal, plan, resumed, "; ".join(problems) + " (the source is kept)")
    failed, remaining = delete_planned(store, plan, journal, on_batch)
    return finish(journal, plan, failed, remaining, resumed)


def _copy(store: ObjectStore, dest: ObjectStore, plan: Plan, copier: Copier) -> str | None:
    # Nothing of the source is deleted before the "copy" step is journaled, so it is still whole here.
    wanted = {rec.id for rec in plan.recordings}
    request = plan.request
    recordings = [rec for rec in select(store, request["sid"], request["uid"], request["prefix"]) if rec.id in wanted]
    if {rec.id for rec in recordings} != wanted:
        return f"{store.url}: the recordings of the plan are no longer all there (nothing deleted)"
    try:
        failures = copier(store, recordings, dest, bool(request["force"]))
    except StoreError as exc:
        return f"{exc} (nothing deleted; run again to resume)"
    return "; ".join(failures) + " (nothing deleted; run again to resume)" if failures else None


def _failed(journal: Journal, plan: Plan, resumed: bool, error: str) -> Outcome:
    journal.add({"outcome": "failed", "error": error, "at": time.time()})
    return Outcome(plan.id, "failed", resumed=resumed, error=error, journal=str(journal.path))

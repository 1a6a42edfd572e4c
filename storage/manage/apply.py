"""Carry out a plan's deletes: in batches (each journaled), then a re-listing to confirm none remain.

Shared by delete, move (after its copy is proven) and clean-up. Batches already in the journal are
skipped on a resumed run; deleting a key twice is harmless anyway, so a batch cut mid-request by a
crash is simply sent again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from storage.errors import ManageError
from storage.manage.journal import Journal
from storage.manage.plan import Plan
from storage.media.naming import split_key
from storage.stores.base import BATCH_DELETE_MAX, ObjectStore, delete_keys

BatchCallback = Callable[[int, int], None]  # (objects done, objects total)


@dataclass
class Outcome:
    plan_id: str
    status: str  # "done" | "partial" (some objects remain / unchanged) | "refused" | "failed"
    deleted: int = 0  # objects of the plan gone at the end (tier: changed; restore: restores asked for)
    bytes: int = 0
    failed: list[str] = field(default_factory=list)  # keys the store refused to delete
    remaining: list[str] = field(default_factory=list)  # keys of the plan still listed afterwards
    resumed: bool = False
    error: str | None = None
    journal: str = ""
    repaired: list[str] = field(default_factory=list)  # repair: recordings written and now verifying complete

    @property
    def ok(self) -> bool:
        return self.status == "done"

    def to_dict(self) -> dict[str, Any]:
        return {"plan_id": self.plan_id, "status": self.status, "deleted": self.deleted, "bytes": self.bytes,
                "failed": self.failed, "remaining": self.remaining, "resumed": self.resumed,
                "error": self.error, "journal": self.journal} | ({"repaired": self.repaired} if self.repaired else {})


def pending_plan(data_dir: Path, plan: Plan) -> Plan | None:
    """The plan an interrupted run of the same request left unfinished, or None."""
    return Journal(data_dir, plan.id).unfinished_plan


def open_journal(data_dir: Path, plan: Plan) -> tuple[Journal, bool]:
    """The journal to apply `plan` with, and whether it resumes an interrupted run of the very same plan."""
    journal = Journal(data_dir, plan.id)
    previous = journal.unfinished_plan
    if previous is not None and previous.to_dict() == plan.to_dict():
        return journal, True
    if previous is not None:
        raise ManageError(f"an unfinished run of {plan.id} exists ({journal.path}); resume that plan first")
    journal.start(plan)
    return journal, False


def delete_planned(store: ObjectStore, plan: Plan, journal: Journal,
                   on_batch: BatchCallback | None = None) -> tuple[list[str], list[str]]:
    """Delete the plan's objects batch by batch; returns (keys refused, keys still listed afterwards)."""
    keys = plan.keys
    done = {line["batch"]: line for line in journal.steps("delete")}
    failed: list[str] = []
    for number, start in enumerate(range(0, len(keys), BATCH_DELETE_MAX)):
        batch = keys[start:start + BATCH_DELETE_MAX]
        if number in done:
            failed += done[number]["failed"]
        else:
            refused = delete_keys(store, batch)
            journal.add({"step": "delete", "batch": number, "keys": len(batch), "failed": refused,
                         "at": time.time()})
            failed += refused
        if on_batch is not None:
            on_batch(min(start + len(batch), len(keys)), len(keys))
    return failed, still_listed(store, keys, plan.confirm_prefix)


def still_listed(store: ObjectStore, keys: list[str], prefix: str | None = None) -> list[str]:
    """Which of `keys` a fresh listing still shows: one listing of `prefix` when given (a plan of many
    recordings, made from one listing of it), else only the narrow prefixes the keys start with."""
    wanted = set(keys)
    remaining: set[str] = set()
    for listed in [prefix] if prefix is not None else sorted(listing_prefixes(keys)):
        remaining |= {obj.key for obj in store.list(listed) if obj.key in wanted}
    return sorted(remaining)


def listing_prefixes(keys: list[str]) -> set[str]:
    """Folder + the name up to its first '_' (a sid, or `bak<n>`): narrow listings that cover every key."""
    prefixes = set()
    for key in keys:
        folder, name = split_key(key)
        prefixes.add(folder + name.split("_", 1)[0])
    return prefixes


def finish(journal: Journal, plan: Plan, failed: list[str], remaining: list[str], resumed: bool) -> Outcome:
    gone = set(plan.keys) - set(remaining)
    outcome = Outcome(plan.id, "done" if not remaining else "partial", len(gone),
                      sum(obj.size for obj in plan.objects if obj.key in gone),
                      failed=[key for key in failed if key in remaining], remaining=remaining, resumed=resumed,
                      journal=str(journal.path))
    journal.add({"outcome": outcome.status, "deleted": outcome.deleted, "bytes": outcome.bytes,
                 "remaining": remaining, "at": time.time()})
    return outcome


def apply_deletes(store: ObjectStore, plan: Plan, data_dir: Path, on_batch: BatchCallback | None = None) -> Outcome:
    """Apply a delete or clean-up plan (refused plans are not applied), resuming an interrupted run."""
    if plan.refused:
        return Outcome(plan.id, "refused", error="; ".join(plan.refusals))
    journal, resumed = open_journal(data_dir, plan)
    failed, remaining = delete_planned(store, plan, journal, on_batch)
    return finish(journal, plan, failed, remaining, resumed)

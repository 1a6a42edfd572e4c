"""Cold storage: change the storage class of recordings in place (tier), start restores of archived ones.

A tier plan holds every object of the recordings (the catalog's grouping, as for a delete) that is not
yet in the wanted class; apply changes each with the store's own call (storage/stores/classes.py) in
journaled batches, then lists again to prove every planned object reports the class. Apply lists the
objects once before it starts, so a resumed run (or a batch cut by a crash) skips what already changed
— S3 even refuses a self-copy that changes nothing.

Objects in a cold class (S3 GLACIER / DEEP_ARCHIVE, OSS Archive / ColdArchive / DeepColdArchive, Qiniu
archive / deep-archive) cannot be read, nor moved to another class, until restored: a restore plan holds
them, and apply asks the store to restore each (the backend takes hours; a second run reports the
restores still in progress).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from storage.manage.apply import BatchCallback, Outcome, listing_prefixes, open_journal
from storage.manage.delete import fill, select
from storage.manage.journal import Journal
from storage.manage.plan import Plan, PlannedObject, planned_recording
from storage.recordings.catalog import Recording
from storage.recordings.objects import class_counts, recording_objects
from storage.stores.base import InvalidConfig, ObjectInfo, ObjectStore, StoreError
from storage.stores.classes import RESTORE_IN_PROGRESS, StorageClasses, classed, classes_of, lists_classes

CLASS_BATCH = 100  # objects per journal line: one request each, so a resumed run repeats at most this many
DEFAULT_RESTORE_DAYS = 7
ARCHIVED = "archived (not verified)"  # the planned status of a recording whose objects cannot be read yet


def _classes_or_refuse(store: ObjectStore, plan: Plan) -> StorageClasses | None:
    classes = classes_of(store)
    if classes is None:
        plan.refusals.append(f"{store.url} has no storage classes (a folder or memory store keeps every object "
                             "readable as it is)")
    return classes


@lists_classes
def plan_tier(store: ObjectStore, sid: str, uid: str | None, storage_class: str, *, force: bool = False,
              prefix: str = "", recordings: Sequence[Recording] | None = None, retention: str | None = None) -> Plan:
    """The tier plan of `sid` (and `uid`), or of exactly `recordings` (retention: each its own plan, its rule
    named by `retention` in the request, as `move.plan_move` does)."""
    classes = classes_of(store)
    target = storage_class
    if classes is not None:
        try:
            target = classes.canonical(storage_class, store.url)
        except InvalidConfig as exc:
            plan = Plan("tier", store.url, {"sid": sid, "uid": uid, "prefix": prefix, "class": storage_class})
            plan.refusals.append(str(exc))
            return plan
    request: dict[str, object] = {"sid": sid, "uid": uid, "prefix": prefix, "force": force, "class": target}
    if recordings is not None:
        request["recordings"] = sorted(rec.id for rec in recordings)
    if retention is not None:
        request["retention"] = retention
    plan = Plan("tier", store.url, request)
    if _classes_or_refuse(store, plan) is None:
        return plan
    assert classes is not None
    recordings = select(store, sid, uid, prefix) if recordings is None else recordings
    archived = [rec for rec in recordings if any(classes.needs_restore(c) for c in class_counts(rec))]
    fill(plan, store, [rec for rec in recordings if rec not in archived], force=force)
    for rec in archived:  # a cold playlist cannot be read to verify; its objects change class as they are
        _add_unverified(plan, rec, lambda obj: True)
    if not recordings:
        plan.refusals.append(f"no recording matches {plan.request} in {store.url}")
    plan.objects = [obj for obj in plan.objects if classes.of(obj.storage_class) != target]
    cold = [obj for obj in plan.objects if classes.needs_restore(obj.storage_class)]
    if cold:
        plan.warnings.append(f"{len(cold)} object(s) are in a class that must be restored first "
                             f"({cold[0].storage_class}); run `recshelf restore`, then tier once it is done")
    if not plan.objects and not plan.refused:
        plan.warnings.append(f"every object is already in {target}: nothing to change")
    return plan


@lists_classes
def plan_restore(store: ObjectStore, sid: str, uid: str | None = None, *, days: int = DEFAULT_RESTORE_DAYS,
                 prefix: str = "") -> Plan:
    """Every object of the recordings that sits in a class needing a restore before it can be read."""
    plan = Plan("restore", store.url, {"sid": sid, "uid": uid, "prefix": prefix, "days": days})
    classes = _classes_or_refuse(store, plan)
    if classes is None:
        return plan
    recordings = select(store, sid, uid, prefix)
    if not recordings:
        plan.refusals.append(f"no recording matches {plan.request} in {store.url}")
    for rec in recordings:  # not verified: a cold playlist cannot be read until this very restore is done
        _add_unverified(plan, rec, lambda obj: classes.needs_restore(obj.storage_class))
    if recordings and not plan.objects:
        plan.warnings.append("no object of it is in a class that needs a restore: it can be read as it is")
    return plan


def _add_unverified(plan: Plan, rec: Recording, wanted: Callable[[ObjectInfo], bool]) -> None:
    plan.recordings.append(planned_recording(rec, ARCHIVED))
    plan.objects += [PlannedObject(obj.key, obj.size, rec.id, storage_class=obj.storage_class)
                     for obj in recording_objects(rec) if wanted(obj)]


@lists_classes
def apply_tier(store: ObjectStore, plan: Plan, data_dir: Path, on_batch: BatchCallback | None = None) -> Outcome:
    classed_store = classed(store)
    if plan.refused or classed_store is None:
        return Outcome(plan.id, "refused", error="; ".join(plan.refusals) or f"{store.url} has no storage classes")
    classes, target = classed_store.storage_classes, str(plan.request["class"])
    journal, resumed = open_journal(data_dir, plan)
    listed = _classes_now(store, plan.keys, classes)

    def change(key: str) -> None:
        if listed.get(key) != target:  # else changed by the run this one resumes
            classed_store.set_storage_class(key, target)

    failed, errors = _batches(plan, journal, "tier", change, on_batch)
    now = _classes_now(store, plan.keys, classes)
    unchanged = [key for key in plan.keys if now.get(key) != target]
    return _finish(journal, plan, len(plan.keys) - len(unchanged), unchanged, failed, errors, resumed)


@lists_classes
def apply_restore(store: ObjectStore, plan: Plan, data_dir: Path,
                  on_batch: BatchCallback | None = None) -> Outcome:
    classed_store = classed(store)
    if plan.refused or classed_store is None:
        return Outcome(plan.id, "refused", error="; ".join(plan.refusals) or f"{store.url} has no storage classes")
    journal, resumed = open_journal(data_dir, plan)
    days = int(plan.request["days"])
    failed, errors = _batches(plan, journal, "restore", lambda key: classed_store.restore(key, days), on_batch)
    running = sum(line.get("in_progress", 0) for line in journal.steps("restore"))
    outcome = _finish(journal, plan, len(plan.keys) - len(failed), failed, failed, errors, resumed)
    if running:
        outcome.error = (outcome.error + "; " if outcome.error else "") + \
            f"{running} restore(s) were already in progress"
    return outcome


def _classes_now(store: ObjectStore, keys: list[str], classes: StorageClasses) -> dict[str, str]:
    wanted = set(keys)
    return {obj.key: classes.of(obj.storage_class) for prefix in sorted(listing_prefixes(keys))
            for obj in store.list(prefix) if obj.key in wanted}


def _batches(plan: Plan, journal: Journal, step: str, act: Callable[[str], str | None],
             on_batch: BatchCallback | None) -> tuple[list[str], list[str]]:
    """Run `act` on each key, a journal line per CLASS_BATCH keys; (keys that failed, first error texts)."""
    done = {line["batch"]: line for line in journal.steps(step)}
    keys, failed, errors = plan.keys, [], []
    for number, start in enumerate(range(0, len(keys), CLASS_BATCH)):
        batch = keys[start:start + CLASS_BATCH]
        if number in done:
            failed += done[number]["failed"]
            continue
        refused, running = [], 0
        for key in batch:
            try:
                running += act(key) == RESTORE_IN_PROGRESS
            except StoreError as exc:
                refused.append(key)
                if len(errors) < 3:
                    errors.append(str(exc))
        journal.add({"step": step, "batch": number, "keys": len(batch), "failed": refused, "in_progress": running,
                     "at": time.time()})
        failed += refused
        if on_batch is not None:
            on_batch(min(start + len(batch), len(keys)), len(keys))
    return failed, errors


def _finish(journal: Journal, plan: Plan, changed: int, remaining: list[str], failed: list[str], errors: list[str],
            resumed: bool) -> Outcome:
    done = set(plan.keys) - set(remaining)
    outcome = Outcome(plan.id, "done" if not remaining else "partial", changed,
                      sum(obj.size for obj in plan.objects if obj.key in done), failed=sorted(set(failed)),
                      remaining=remaining, resumed=resumed, error="; ".join(errors) or None,
                      journal=str(journal.path))
    journal.add({"outcome": outcome.status, "changed": changed, "remaining": remaining, "at": time.time()})
    return outcome

"""Bulk jobs: `recshelf export|verify --all --queue` hands the selected recordings to the workers in batches.

`enqueue_bulk` stores the job, its items and one `jobs` row per batch in one transaction (on PostgreSQL the
procrastinate runs are deferred in that same transaction, locked per batch: a recording belongs to exactly
one batch, so the batch lock is its recording lock). `run_bulk_batch` is the handler of a batch, the same
code under `recshelf serve`'s embedded queue and under `recshelf worker`: it re-finds each recording in the
store, verifies or exports it, and commits that item's result before the next one — a batch whose worker
died is claimed again once its lease runs out and goes on with the items not finished. Export outputs are
atomic (storage.export writes, then renames) and their manifest makes a finished unit `skipped`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from storage.recordings.catalog import Recording, find
from storage.recordings.verify import VERIFY_WORKERS, verify_many
from storage.service.handlers import JobContext, Outcome
from storage.service.repo import Job, Repo
from storage.service.repo_bulk import (
    BulkItem,
    bulk_job,
    create_bulk,
    failed_batches,
    finish_item,
    item_counts,
    pending_items,
    start_item,
    unfinished_items,
)
from storage.stores.base import ObjectStore, StoreError

KINDS = ("verify", "export")


def enqueue_bulk(repo: Repo, kind: str, params: dict[str, Any], items: Sequence[BulkItem], batch_size: int) -> int:
    """Store a bulk job of `items` in batches of `batch_size` and queue its batches; its id."""
    if kind not in KINDS:
        raise ValueError(f"unknown bulk job kind {kind!r}")
    with repo.write() as tx:
        return create_bulk(tx, kind, params, items, batch_size, repo.clock())


def verify_items(recordings: Sequence[Recording]) -> list[BulkItem]:
    return [BulkItem(rec.id, rec.folder, rec.key.sid) for rec in recordings]


def export_items(recordings: Sequence[Recording], fmt: str) -> list[BulkItem]:
    """One item per export unit (individual mode's audio and video of a uid are one MP4)."""
    from storage.export.plan import group_units

    return [BulkItem(folder + name, folder, recs[0].key.sid) for name, folder, recs in group_units(recordings, fmt)]


def progress(repo: Repo, bulk_id: int, now: float) -> dict[str, Any] | None:
    """A bulk job's counts, rate (items/s since the first started) and ETA; None when there is no such job."""
    job = bulk_job(repo, bulk_id)
    if job is None:
        return None
    counts = item_counts(repo, bulk_id)
    states = counts["states"]
    # Items of a batch whose job failed (out of retries, its workers died too often) will not run: count them
    # as failed, so the job ends instead of waiting for them forever.
    lost = unfinished_items(repo, bulk_id, failed_batches(repo, bulk_id))
    if lost:
        states = {**states, "failed": states["failed"] + lost}
        states["queued"], states["running"] = _without(states["queued"], states["running"], lost)
    finished = states["done"] + states["failed"]
    state = "done" if finished == job["total"] else ("running" if finished or states["running"] else "queued")
    first, last = counts["first_started"], counts["last_finished"]
    end = last if state == "done" and last is not None else now
    elapsed = max(0.0, end - first) if first is not None else 0.0
    rate = finished / elapsed if elapsed > 0 and finished else None
    remaining = job["total"] - finished
    eta = remaining / rate if rate else (0.0 if remaining == 0 else None)
    return {**job, "state": state, **states, "lost": lost, "statuses": counts["statuses"],
            "elapsed_s": round(elapsed, 3), "rate_per_s": round(rate, 3) if rate else None,
            "eta_s": round(eta, 1) if eta is not None else None}


def _without(queued: int, running: int, lost: int) -> tuple[int, int]:
    """(queued, running) less `lost` items, taken from the running ones first (they stopped with the batch)."""
    from_running = min(running, lost)
    return queued - (lost - from_running), running - from_running


def _found(store: ObjectStore, item: BulkItem, kind: str, fmt: str) -> list[Recording]:
    """The item's recordings as the store holds them now ([] when gone)."""
    recordings = find(store, item.folder, sid=item.sid)
    if kind == "verify":
        return [rec for rec in recordings if rec.id == item.item]
    from storage.export.plan import group_units

    return next((recs for name, folder, recs in group_units(recordings, fmt) if folder + name == item.item), [])


def _verify(store: ObjectStore, recordings: list[Recording], deep: bool) -> tuple[bool, str, Any]:
    (report,) = verify_many(store, recordings, deep=deep, workers=VERIFY_WORKERS)
    return True, report.status, report.to_dict()


def _export(ctx: JobContext, store: ObjectStore, recordings: list[Recording], params: dict[str, Any]
            ) -> tuple[bool, str, Any]:
    from storage.export.dest import Destination
    from storage.export.jobs import ExportOptions, run_export

    dest = Destination.for_store(ctx.open_store(str(params["dest"])))
    options = ExportOptions(str(params["format"]), allow_incomplete=bool(params.get("allow_incomplete")),
                            engine=str(params.get("engine", "pyav")))
    (result,) = run_export(store, recordings, dest, options)
    if not result.ok and result.resumable:
        raise StoreError(result.error or f"{result.name}: export failed; it is resumed on the next run")
    return result.ok, result.status, result.to_dict()


def run_bulk_batch(ctx: JobContext, job: Job) -> Outcome:
    """Verify or export the batch's unfinished items, committing each one's result as it ends."""
    bulk_id, batch = int(job.options["bulk"]), int(job.options["batch"])
    bulk = bulk_job(ctx.repo, bulk_id)
    if bulk is None:
        return Outcome("failed", error=f"bulk job {bulk_id} is gone")
    params, kind = bulk["params"], bulk["kind"]
    try:
        store = ctx.open_store(str(params["store"]))
        for item in pending_items(ctx.repo, bulk_id, batch):
            start_item(ctx.repo, bulk_id, item.item, ctx.clock())
            recordings = _found(store, item, kind, str(params.get("format", "")))
            if not recordings:
                ok, status, result = False, "not_found", {"error": f"{item.item} is no longer in {store.url}"}
            elif kind == "verify":
                ok, status, result = _verify(store, recordings, bool(params.get("deep")))
            else:
                ok, status, result = _export(ctx, store, recordings, params)
            finish_item(ctx.repo, bulk_id, item.item, ok, status, result, ctx.clock())
    except StoreError as exc:  # the runner's retry backoff (or the end); finished items stay finished
        return Outcome("retry", error=str(exc))
    return Outcome("done", result={"bulk": bulk_id, "batch": batch})

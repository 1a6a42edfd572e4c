"""What the `verify` and `export` jobs do (the queue mechanics live in `storage.service.jobs`).

A handler gets a `JobContext` (what it may use) and the claimed `Job`, reads the store outside any database
transaction (listing a bucket can take seconds) and returns an `Outcome`; the runner then writes the outcome
and its check rows in one short transaction. A handler never retries by itself: it returns a `retry` outcome
and the runner's retry policy decides when, or whether, the job runs again.

`verify` with mode `watch` (after `backuped`, reference/agora.md §4): the recording counts as arrived once it
is `complete` and its fingerprint (segment count and bytes per recording) is the same on two checks in a row,
because Agora's backup re-delivery has no completion signal and may still be adding slices. Otherwise the job
is queued again after the backoff, until the deadline makes it `overdue`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from storage.recordings.catalog import find
from storage.recordings.verify import VERIFY_WORKERS, Report, verify_many, worst_status
from storage.service.notify import Notifier
from storage.service.repo import CheckRow, Job, Repo
from storage.service.rules import EVENT_BACKUPED, EVENT_UPLOADED, Rules
from storage.stores.base import ObjectStore, StoreError

if TYPE_CHECKING:  # the export engine (PyAV) loads only when an export job runs
    from storage.export.dest import Destination

UPLOAD_EVENTS = (EVENT_UPLOADED, EVENT_BACKUPED)

StoreOpener = Callable[[str], ObjectStore]


@dataclass(frozen=True)
class JobContext:
    """What a job handler may use."""

    open_store: StoreOpener  # a profile name, store URL or folder path -> store
    repo: Repo
    rules: Rules
    clock: Callable[[], float]
    notifier: Notifier


@dataclass(frozen=True)
class Outcome:
    """What a handler decided; the runner writes it, with the checks, in one transaction.

    `state`: done | failed | overdue | skipped (final), queued (run again at `run_at`, e.g. the next look of
    a watch), or retry (something failed that may pass later: the runner queues the job after its retry
    backoff, or fails it once out of attempts). `error` is the message a user sees in `recshelf jobs`.
    """

    state: str
    result: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    run_at: float | None = None
    step: int | None = None
    recording_state: str | None = None  # new recordings.state, written when the job ends or is queued again
    status: str | None = None
    fingerprint: str | None = None
    checks: tuple[CheckRow, ...] = ()
    notify: str | None = None  # complete | incomplete | overdue
    exports: bool = False


Handler = Callable[[JobContext, Job], Outcome]


def fingerprint(reports: list[Report]) -> str:
    return json.dumps(sorted([r.folder + r.sid + (r.uid or "") + (r.stream or ""), len(r.segments), r.bytes]
                             for r in reports))


def _check_rows(job: Job, checked: list[tuple[str, Report]], now: float) -> tuple[CheckRow, ...]:
    if not checked:
        return (CheckRow(job.id, job.sid, job.cname, None, now, "not_found"),)
    return tuple(CheckRow(job.id, job.sid, r.cname or job.cname, rec_id, now, r.status, len(r.segments), r.bytes,
                          len(r.missing) + len(r.empty), json.dumps(r.to_dict())) for rec_id, r in checked)


def _verify_store(ctx: JobContext, job: Job) -> list[tuple[str, Report]]:
    """(Recording.id, report) for every recording of the job's sid in the configured store, verified in parallel."""
    store = ctx.open_store(ctx.rules.store or "")
    recordings = find(store, ctx.rules.prefix_for(job.sid, job.cname), sid=job.sid)
    reports = verify_many(store, recordings, deep=False, workers=VERIFY_WORKERS)
    return [(rec.id, report) for rec, report in zip(recordings, reports, strict=True)]


def run_verify(ctx: JobContext, job: Job) -> Outcome:
    if job.reason == "session_exit" and ctx.repo.has_event(job.sid, UPLOAD_EVENTS):
        return Outcome("skipped", result={"note": "an upload event arrived; its own job verifies"})
    if not ctx.rules.store:
        return Outcome("failed", error="no store configured: set [rules] store in recshelf.toml",
                       recording_state="error")
    watch = job.mode == "watch"
    try:
        checked = _verify_store(ctx, job)
    except StoreError as exc:
        if not watch:
            return Outcome("retry", error=str(exc), recording_state="error")
        # While watching, an unreachable store is one more failed look, not the end of the watch.
        now = ctx.clock()
        checks = (CheckRow(job.id, job.sid, job.cname, None, now, "error", report=json.dumps(str(exc))),)
        return _watch_next(ctx, job, now, None, "error", checks, str(exc))
    now = ctx.clock()
    reports = [report for _, report in checked]
    status = worst_status(r.status for r in reports) if reports else "not_found"
    checks = _check_rows(job, checked, now)
    print_ = fingerprint(reports)
    summary = {"status": status, "recordings": len(reports), "fingerprint": print_,
               "segments": sum(len(r.segments) for r in reports), "bytes": sum(r.bytes for r in reports)}
    if not watch:
        state = "complete" if status == "complete" else "incomplete"
        return Outcome("done", result=summary, recording_state=state, status=status, fingerprint=print_,
                       checks=checks, notify=state, exports=status == "complete")
    previous = job.result.get("fingerprint") if isinstance(job.result, dict) else None
    if status == "complete" and previous == print_:
        return Outcome("done", result=summary, recording_state="complete", status=status, fingerprint=print_,
                       checks=checks, notify="complete", exports=True)
    return _watch_next(ctx, job, now, summary, status, checks, None, print_)


def _watch_next(ctx: JobContext, job: Job, now: float, summary: dict[str, Any] | None, status: str,
                checks: tuple[CheckRow, ...], error: str | None, print_: str | None = None) -> Outcome:
    result = summary or {"status": status, "fingerprint": None}
    deadline = job.deadline
    if deadline is not None and now >= deadline:
        return Outcome("overdue", result=result, error=error, recording_state="overdue", status=status,
                       fingerprint=print_, checks=checks, notify="overdue")
    run_at = now + ctx.rules.backoff(job.step)
    if deadline is not None:
        run_at = min(run_at, deadline)  # one last look exactly at the deadline
    return Outcome("queued", result=result, error=error, run_at=run_at, step=job.step + 1,
                   recording_state="waiting_backup", status=status, fingerprint=print_, checks=checks)


def _destination(target: ObjectStore) -> Destination:
    from storage.export.dest import Destination

    return Destination.for_store(target)


def run_export(ctx: JobContext, job: Job) -> Outcome:
    """Export a complete recording per an export rule, with the export engine (storage.export)."""
    from storage.export.jobs import ExportOptions
    from storage.export.jobs import run_export as export_recordings

    options = job.options
    try:
        store = ctx.open_store(ctx.rules.store or "")
        recordings = find(store, ctx.rules.prefix_for(job.sid, job.cname), sid=job.sid)
        dest = _destination(ctx.open_store(str(options["dest"])))
        results = export_recordings(store, recordings, dest, ExportOptions(
            format=str(options["format"]), allow_incomplete=bool(options.get("allow_incomplete"))))
    except StoreError as exc:
        return Outcome("retry", error=str(exc))
    summary = {"results": [r.to_dict() for r in results]}
    failed = [r for r in results if not r.ok]
    if failed and any(r.resumable for r in failed):
        return Outcome("retry", result=summary, error="; ".join(r.error or r.name for r in failed))
    if failed:
        return Outcome("failed", result=summary, error="; ".join(r.error or r.name for r in failed))
    return Outcome("done", result=summary)


HANDLERS: dict[str, Handler] = {"verify": run_verify, "export": run_export}

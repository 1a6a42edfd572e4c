"""What the `verify` and `export` jobs do (the queue mechanics live in `storage.service.jobs`).

A handler reads the store outside any database transaction (listing a bucket can take seconds) and
returns an `Outcome`; the runner then writes the outcome and the check rows in one short transaction.

`verify` with mode `watch` (after `backuped`, reference/agora.md §4): the recording counts as arrived once it
is `complete` and its fingerprint (segment count and bytes per recording) is the same on two checks in a row,
because Agora's backup re-delivery has no completion signal and may still be adding slices. Otherwise the job
is queued again after the backoff, until the deadline makes it `overdue`.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING, Any

from storage.agora.events import EVENT_BACKUPED, EVENT_UPLOADED
from storage.recordings.catalog import find
from storage.recordings.verify import Report, verify, worst_status
from storage.stores.base import StoreError

if TYPE_CHECKING:
    from storage.service.jobs import JobRunner, Outcome

UPLOAD_EVENTS = (EVENT_UPLOADED, EVENT_BACKUPED)


def fingerprint(reports: list[Report]) -> str:
    return json.dumps(sorted([r.folder + r.sid + (r.uid or "") + (r.stream or ""), len(r.segments), r.bytes]
                             for r in reports))


def _check_rows(job: sqlite3.Row, checked: list[tuple[str, Report]], now: float) -> list[tuple[Any, ...]]:
    if not checked:
        return [(job["id"], job["sid"], job["cname"], None, now, "not_found", 0, 0, 0, None)]
    return [(job["id"], job["sid"], r.cname or job["cname"], rec_id, now, r.status, len(r.segments), r.bytes,
             len(r.missing) + len(r.empty), json.dumps(r.to_dict())) for rec_id, r in checked]


def _verify_store(runner: JobRunner, job: sqlite3.Row) -> list[tuple[str, Report]]:
    """(Recording.id, report) for every recording of the job's sid in the configured store."""
    store = runner.open_store(runner.rules.store or "")
    recordings = find(store, runner.rules.prefix_for(job["sid"], job["cname"]), sid=job["sid"])
    return [(rec.id, verify(store, rec)) for rec in recordings]


def run_verify(runner: JobRunner, conn: sqlite3.Connection, job: sqlite3.Row) -> Outcome:
    from storage.service.jobs import Outcome

    rules, now = runner.rules, runner.clock()
    if job["reason"] == "session_exit":
        marks = ", ".join("?" for _ in UPLOAD_EVENTS)
        uploaded = conn.execute(f"SELECT 1 FROM events WHERE sid = ? AND event_type IN ({marks}) LIMIT 1",
                                (job["sid"], *UPLOAD_EVENTS)).fetchone()
        if uploaded:
            return Outcome("skipped", result={"note": "an upload event arrived; its own job verifies"})
    if not rules.store:
        return Outcome("failed", error="no store configured: set [rules] store in recshelf.toml",
                       recording_state="error")
    watch = job["mode"] == "watch"
    try:
        checked = _verify_store(runner, job)
    except StoreError as exc:
        if not watch:
            outcome = runner.retry_or_fail(job, str(exc))
            outcome.recording_state = "error" if outcome.state == "failed" else None
            return outcome
        # While watching, an unreachable store is one more failed look, not the end of the watch.
        now = runner.clock()
        checks = [(job["id"], job["sid"], job["cname"], None, now, "error", 0, 0, 0, json.dumps(str(exc)))]
        return _watch_next(runner, job, now, None, "error", checks, str(exc))
    now = runner.clock()
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
    previous = json.loads(job["result"]).get("fingerprint") if job["result"] else None
    if status == "complete" and previous == print_:
        return Outcome("done", result=summary, recording_state="complete", status=status, fingerprint=print_,
                       checks=checks, notify="complete", exports=True)
    return _watch_next(runner, job, now, summary, status, checks, None, print_)


def _watch_next(runner: JobRunner, job: sqlite3.Row, now: float, summary: dict[str, Any] | None, status: str,
                checks: list[tuple[Any, ...]], error: str | None, print_: str | None = None) -> Outcome:
    from storage.service.jobs import Outcome

    result = summary or {"status": status, "fingerprint": None}
    deadline = job["deadline"]
    if deadline is not None and now >= deadline:
        return Outcome("overdue", result=result, error=error, recording_state="overdue", status=status,
                       fingerprint=print_, checks=checks, notify="overdue")
    step = int(job["step"])
    run_at = now + runner.rules.backoff(step)
    if deadline is not None:
        run_at = min(run_at, deadline)  # one last look exactly at the deadline
    return Outcome("queued", result=result, error=error, run_at=run_at, step=step + 1,
                   recording_state="waiting_backup", status=status, fingerprint=print_, checks=checks)


def run_export(runner: JobRunner, conn: sqlite3.Connection, job: sqlite3.Row) -> Outcome:
    """Export a complete recording per an export rule, with the export engine (storage.export)."""
    from storage.export.dest import Destination
    from storage.export.jobs import ExportOptions
    from storage.export.jobs import run_export as export_recordings
    from storage.service.jobs import Outcome
    from storage.stores.local import LocalStore

    options = json.loads(job["options"] or "{}")
    try:
        store = runner.open_store(runner.rules.store or "")
        recordings = find(store, runner.rules.prefix_for(job["sid"], job["cname"]), sid=job["sid"])
        # As `recshelf export --to`: the registry tells a profile or store URL from a folder path.
        target = runner.open_store(str(options["dest"]))
        dest = Destination.for_folder(target.root) if isinstance(target, LocalStore) else Destination(target)
        results = export_recordings(store, recordings, dest, ExportOptions(
            format=str(options["format"]), allow_incomplete=bool(options.get("allow_incomplete"))))
    except StoreError as exc:
        return runner.retry_or_fail(job, str(exc))
    summary = {"results": [r.to_dict() for r in results]}
    failed = [r for r in results if not r.ok]
    if failed and any(r.resumable for r in failed):
        outcome = runner.retry_or_fail(job, "; ".join(r.error or r.name for r in failed))
        outcome.result = summary
        return outcome
    if failed:
        return Outcome("failed", result=summary, error="; ".join(r.error or r.name for r in failed))
    return Outcome("done", result=summary)

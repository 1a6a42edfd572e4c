"""Durable jobs: verify after `uploaded`, watch after `backuped`, export when complete (reference/agora.md §4).

Jobs live in the `jobs` table of the service database, so they survive a restart. A worker *claims* a
due job by setting a lease (`lease_until`) in one `BEGIN IMMEDIATE` transaction; a heartbeat extends the
leases a live process holds. A job whose lease ran out belongs to a dead process (`kill -9` included) and
is claimed again. A claim skips any job whose recording (`rkey`, the sid) has another job under a live
lease, so at most one job runs per recording at a time.

What each kind of job does lives in `storage.service.handlers` (dispatched through `HANDLERS`); which jobs
the callbacks queue, and their timings, come from `storage.service.rules`.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from storage.service.bulk import run_bulk_batch
from storage.service.handlers import HANDLERS as KIND_HANDLERS
from storage.service.handlers import Handler, JobContext, Outcome, StoreOpener
from storage.service.notify import Notifier
from storage.service.repo import Job, JobFinish, RecordingState, Repo, Writes, job_dict
from storage.service.retention_job import run_retention
from storage.service.rules import EVENT_BACKUPED, EVENT_SESSION_EXIT, JOB_EVENTS, Rules
from storage.stores.base import ObjectStore

log = logging.getLogger(__name__)

# bulk: a batch of a bulk job; retention: the periodic run of [[rules.retention]]
HANDLERS: dict[str, Handler] = {**KIND_HANDLERS, "bulk": run_bulk_batch, "retention": run_retention}
MAX_LEASE_LOSSES = 5  # a job whose process died this many times is failed, not re-run forever


# -- enqueueing (runs inside the callback intake's transaction: keep it to a couple of statements) ------


def enqueue_for_event(tx: Writes, rules: Rules, event_id: int, event_type: int, sid: str | None,
                      cname: str | None, now: float) -> None:
    """Queue (or merge into a queued) verify job for an upload or exit event of a cloud recording."""
    if not sid or event_type not in JOB_EVENTS:
        return
    mode, reason, run_at, deadline = "once", "uploaded", now, None
    if event_type == EVENT_BACKUPED:
        mode, reason, deadline = "watch", "backuped", now + rules.deadline_s
    elif event_type == EVENT_SESSION_EXIT:
        # Upload events may come after the exit (no ordering): give them time, then check they did.
        reason, run_at = "session_exit", now + rules.exit_grace_s
    queued = tx.queued_verify_job(sid)
    if queued is not None:
        if event_type == EVENT_SESSION_EXIT:
            return  # a pending check already covers this recording
        if mode == "watch" and queued.mode != "watch":
            tx.merge_into_job(queued.id, run_at=run_at, reason=reason, now=now, watch_until=deadline)
        else:
            new_reason = reason if queued.reason == "session_exit" else queued.reason
            tx.merge_into_job(queued.id, run_at=run_at, reason=new_reason, now=now)
        return
    if mode == "watch" and tx.is_watching(sid):
        return  # already watching this recording
    tx.insert_job("verify", sid, cname or "", reason, mode, run_at, now, deadline=deadline, event_id=event_id)


def _default_opener(url_or_profile: str) -> ObjectStore:
    from storage.stores.registry import open_store

    return open_store(url_or_profile)


class JobRunner:
    """A pool of worker threads running due jobs from the database, plus a lease heartbeat."""

    def __init__(self, repo: Repo, rules: Rules, *, clock: Callable[[], float] | None = None,
                 store_opener: StoreOpener = _default_opener, notifier: Notifier | None = None) -> None:
        self.repo = repo
        self.rules = rules
        self.clock = clock or repo.clock
        self.open_store = store_opener
        self.notifier = notifier if notifier is not None else Notifier(rules.webhook)
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        # An Event, not a Condition: a wake() that lands between a worker's empty claim and its wait is kept.
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._held: set[int] = set()
        self._held_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"JobRunner(owner={self.owner!r}, workers={self.rules.workers})"

    def start(self) -> None:
        for n in range(self.rules.workers):
            thread = threading.Thread(target=self._work, name=f"recshelf-job-{n}", daemon=True)
            thread.start()
            self._threads.append(thread)
        self.start_heartbeat()

    def start_heartbeat(self) -> None:
        """Only the lease heartbeat: a job engine (storage.service.engine) calls `run_claimed` itself."""
        beat = threading.Thread(target=self._heartbeat, name="recshelf-job-lease", daemon=True)
        beat.start()
        self._threads.append(beat)

    def stop(self, timeout_s: float = 10.0) -> None:
        self._stop.set()
        self.wake()
        for thread in self._threads:
            thread.join(timeout_s)
        self._threads.clear()

    def wake(self) -> None:
        """New work was queued: stop waiting for the next poll."""
        self._wake.set()

    def context(self) -> JobContext:
        """What a handler gets: read when each job runs, so a test may swap the rules or the clock."""
        return JobContext(self.open_store, self.repo, self.rules, self.clock, self.notifier)

    def run_once(self) -> dict[str, Any] | None:
        """Claim and run one due job in this thread; the job (JSON shape) after it ran, or None when none was due."""
        job = self.repo.claim(self.owner, self.clock(), self.rules.lease_s, max_lease_losses=MAX_LEASE_LOSSES)
        if job is None:
            return None
        self.run_claimed(job)
        after = self.repo.job(job.id)
        return job_dict(after) if after is not None else None

    def run_claimed(self, job: Job) -> None:
        """Run a job this runner holds the lease of, keep the lease alive meanwhile, and record the outcome."""
        with self._held_lock:
            self._held.add(job.id)
        try:
            self._run(job)
        finally:
            with self._held_lock:
                self._held.discard(job.id)

    def _work(self) -> None:
        while not self._stop.is_set():
            try:
                ran = self.run_once()
            except Exception:  # a bug in one job must not kill the worker; the lease makes it re-run later
                log.exception("job runner error")
                ran = None
            if ran is None:
                self._wake.wait(self.rules.poll_s)
                self._wake.clear()

    def _heartbeat(self) -> None:
        while not self._stop.wait(max(0.05, self.rules.lease_s / 3)):
            with self._held_lock:
                held = list(self._held)
            if not held:
                continue
            try:
                self.repo.extend_leases(self.owner, held, self.clock() + self.rules.lease_s)
            except Exception:
                log.exception("lease heartbeat failed")

    def _run(self, job: Job) -> None:
        handler = HANDLERS.get(job.kind)
        try:
            if handler is None:
                outcome = Outcome("failed", error=f"unknown job kind {job.kind!r}")
            else:
                outcome = handler(self.context(), job)
        except Exception as exc:  # unexpected: keep the message, retry like a store error
            log.exception("job %s (%s %s) failed", job.id, job.kind, job.sid)
            outcome = Outcome("retry", error=f"{type(exc).__name__}: {exc}")
        if outcome.state == "retry":
            outcome = self._retried(job, outcome)
        self._record(job, outcome)

    def _retried(self, job: Job, outcome: Outcome) -> Outcome:
        """A handler asked for a retry: queue it after a backoff, or fail it once out of attempts."""
        decided = self.retry_or_fail(job, outcome.error or "retry")
        # The recording's state is only written when the job ends (here: failed).
        return replace(outcome, state=decided.state, run_at=decided.run_at,
                       recording_state=outcome.recording_state if decided.state == "failed" else None)

    def retry_or_fail(self, job: Job, error: str) -> Outcome:
        if job.attempts >= self.rules.max_attempts:
            return Outcome("failed", error=error)
        delay = min(self.rules.backoff_max_s, self.rules.retry_initial_s * 2 ** (job.attempts - 1))
        return Outcome("queued", error=error, run_at=self.clock() + delay)

    def _record(self, job: Job, outcome: Outcome) -> None:
        now = self.clock()
        store, prefix = self.rules.store, self.rules.prefix_for(job.sid, job.cname)
        finish = JobFinish(outcome.state, outcome.result, outcome.error, outcome.run_at, outcome.step)
        with self.repo.write() as tx:
            if not tx.finish_job(job.id, self.owner, now, finish):
                log.warning("job %s lost its lease while running; its result is dropped", job.id)
                return
            tx.insert_checks(outcome.checks)
            if outcome.recording_state:
                tx.set_recording(RecordingState(job.sid, job.cname, outcome.recording_state, outcome.status, store,
                                                prefix, job.deadline, outcome.fingerprint, now))
            if outcome.exports:
                for rule in self.rules.exports:
                    tx.insert_job("export", job.sid, job.cname, "complete", "once", now, now,
                                  options={"format": rule.format, "dest": rule.dest,
                                           "allow_incomplete": rule.allow_incomplete})
        if outcome.exports and self.rules.exports:
            self.wake()
        if outcome.notify:
            self.notifier.send({"event": outcome.notify, "sid": job.sid, "cname": job.cname,
                                "status": outcome.status, "store": store, "prefix": prefix, "jobId": job.id,
                                "reason": job.reason})

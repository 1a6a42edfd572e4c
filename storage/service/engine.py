"""procrastinate as the job engine on the service's PostgreSQL: `recshelf worker` on any machine runs the jobs.

The `jobs` table stays the record of every job (what, why, backoff step, result, history; `recshelf jobs`);
procrastinate says *when* and *where* each run happens. The handlers (`storage.service.handlers`) and the
runner's retry / watch policy (`JobRunner.run_claimed`) are the very code of the embedded SQLite queue.

- **Same transaction.** `Engine.dispatch` is the repo's `Dispatch`: whenever a statement queues a job (an
  event's verify job, a merge, a retry, a watch's next look, an export after a complete check) procrastinate's
  own defer function runs on that transaction's connection, so the event, our job row and procrastinate's
  job commit together or not at all — no outbox.
- **Per-recording lock.** A run is a `recshelf.run` job with ``lock=<sid>``: procrastinate never starts two
  for one recording at once. A run due later is first a lock-free `recshelf.wake` timer at that time (a
  scheduled job holding the lock would hold back every other job of the recording until then), which defers
  the locked run when it fires (``queueing_lock`` = one waiting run per job).
- **Retries and re-verification** are the runner's: a `retry` or a watch's next look re-queues the job row
  with its backoff, which dispatches a new timer. A run that finds its job held by a live lease raises
  `LeaseHeld`, which procrastinate retries with exponential backoff.
- **Dead workers.** Workers heartbeat; the periodic `recshelf.sweep` retries procrastinate jobs whose worker
  stopped beating (SIGKILL, lost machine) and re-dispatches job rows that are overdue or whose lease ran out
  (overdue checks: a watch past its deadline is run once more and ends `overdue`). A run claims its row under
  a lease first, so a duplicate or stale wake-up never runs a job twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import Callable
from typing import Any

import procrastinate
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.manager import JobManager
from procrastinate.tasks import configure_task

from storage.service.db_postgres import ensure_engine_schema
from storage.service.handlers import StoreOpener
from storage.service.jobs import MAX_LEASE_LOSSES, JobRunner
from storage.service.repo import Repo
from storage.service.repo_queue import claim_job, lease_held, overdue_runs
from storage.service.retention_job import schedule_retention
from storage.service.rules import Rules

log = logging.getLogger(__name__)

QUEUE = "recshelf"
RUN_TASK = "recshelf.run"
WAKE_TASK = "recshelf.wake"
SWEEP_TASK = "recshelf.sweep"
CLOCK_SKEW_S = 2.0  # a wake-up this early (worker and database clocks differ) still runs the job
SWEEP_EVERY_S = 10
STALLED_AFTER_S = 30.0  # a worker silent this long is dead (it beats every STALLED_AFTER_S / 3)
RUN_RETRY = procrastinate.RetryStrategy(max_attempts=12, exponential_wait=2)  # 2 s, 4 s, … ~2 h in all


class LeaseHeld(Exception):
    """The job runs under another worker's live lease: come back later."""


def _every(seconds: int) -> str:
    """A cron line for "every `seconds`" (procrastinate takes seconds as a sixth column, up to 59)."""
    if seconds < 60:
        return f"* * * * * */{max(1, seconds)}"
    return f"*/{max(1, min(59, seconds // 60))} * * * *"


def _utc(seconds: float) -> dt.datetime:
    return dt.datetime.fromtimestamp(seconds, dt.UTC)


class Engine:
    """The procrastinate app of one PostgreSQL database, its tasks, and what a worker needs to run them."""

    def __init__(self, url: str, *, sweep_every_s: int = SWEEP_EVERY_S, stalled_after_s: float = STALLED_AFTER_S,
                 clock: Callable[[], float] | None = None) -> None:
        self.url = url
        self.stalled_after_s = stalled_after_s
        self.clock = clock
        self.runner: JobRunner | None = None
        self.app = procrastinate.App(connector=procrastinate.PsycopgConnector(conninfo=url))
        # Deferring on the caller's (sync) connection must not go through the app's async connector: from a
        # job's thread, its sync bridge would wait on the worker's own event loop.
        self._in_transaction = JobManager(procrastinate.SyncPsycopgConnector(conninfo=url))
        self._run = self.app.task(name=RUN_TASK, queue=QUEUE, retry=RUN_RETRY)(self._run_job)
        self._wake = self.app.task(name=WAKE_TASK, queue=QUEUE, retry=RUN_RETRY)(self._wake_job)
        sweep = self.app.task(name=SWEEP_TASK, queue=QUEUE)(self._sweep)
        self.app.periodic(cron=_every(sweep_every_s), periodic_id="sweep")(sweep)

    def __repr__(self) -> str:
        return f"Engine(queue={QUEUE!r})"

    def install(self, repo: Repo) -> None:
        """Create procrastinate's tables once (under the migration lock), beside the service's own."""
        ensure_engine_schema(repo.db.conn(), self.app.schema_manager.get_schema())

    # -- deferring (inside the caller's transaction) -------------------------------------------------

    def dispatch(self, conn: Any, job_id: int, rkey: str, run_at: float) -> None:
        """`Dispatch` for `Repo`: queue a run of `job_id` at `run_at`, on the transaction's connection."""
        now = (self.clock or time.time)()
        if run_at <= now + CLOCK_SKEW_S:
            deferrer = configure_task(name=RUN_TASK, job_manager=self._in_transaction, queue=QUEUE, lock=rkey,
                                      connection=conn.raw)
            deferrer.defer(job_id=job_id)
        else:
            deferrer = configure_task(name=WAKE_TASK, job_manager=self._in_transaction, queue=QUEUE,
                                      schedule_at=_utc(run_at), connection=conn.raw)
            deferrer.defer(job_id=job_id, rkey=rkey)

    # -- the tasks -----------------------------------------------------------------------------------

    async def _wake_job(self, job_id: int, rkey: str) -> None:
        await self._defer_run(job_id, rkey)

    async def _defer_run(self, job_id: int, rkey: str) -> None:
        """A locked run of the job now, unless one is already waiting (one is enough)."""
        with contextlib.suppress(AlreadyEnqueued):
            await self._run.configure(lock=rkey, queueing_lock=f"run:{job_id}").defer_async(job_id=job_id)

    def _run_job(self, job_id: int) -> None:
        runner = self._runner()
        now = runner.clock()
        job = claim_job(runner.repo, job_id, runner.owner, now, runner.rules.lease_s, due_by=now + CLOCK_SKEW_S,
                        max_lease_losses=MAX_LEASE_LOSSES)
        if job is None:
            if lease_held(runner.repo, job_id, now):
                raise LeaseHeld(f"job {job_id} runs under another worker's lease")
            return  # ended, or its time moved: a stale wake-up
        runner.run_claimed(job)

    async def _sweep(self, timestamp: int) -> None:
        manager = self.app.job_manager
        for stalled in await manager.get_stalled_jobs(seconds_since_heartbeat=self.stalled_after_s):
            log.warning("job %s (%s) lost its worker; retrying it", stalled.id, stalled.task_name)
            await manager.retry_job(stalled)
        runner = self._runner()
        due = await asyncio.to_thread(overdue_runs, runner.repo, runner.clock() - CLOCK_SKEW_S)
        for row in due:
            await self._defer_run(row["id"], row["rkey"])

    def _runner(self) -> JobRunner:
        if self.runner is None:
            raise RuntimeError("this Engine only defers jobs; `recshelf worker` runs them")
        return self.runner

    # -- a worker ------------------------------------------------------------------------------------

    def run_worker(self, runner: JobRunner, *, concurrency: int, name: str | None = None) -> None:
        """Run jobs until SIGINT / SIGTERM (procrastinate's handlers: the running jobs finish first)."""
        self.runner = runner
        runner.start_heartbeat()
        try:
            self.app.run_worker(queues=[QUEUE], concurrency=concurrency, name=name or runner.owner,
                                update_heartbeat_interval=max(0.5, self.stalled_after_s / 3),
                                stalled_worker_timeout=self.stalled_after_s, delete_jobs="successful")
        finally:
            runner.stop()


def open_engine(url: str, repo_db: Any, rules: Rules) -> tuple[Engine, Repo]:
    """The engine of the database at `url`, and a repo over `repo_db` that dispatches to it (schema ensured)."""
    engine = Engine(url, sweep_every_s=max(1, round(rules.sweep_every_s)), stalled_after_s=rules.stalled_after_s,
                    clock=repo_db.clock)
    repo = Repo(repo_db, dispatch=engine.dispatch)
    engine.install(repo)
    return engine, repo


def run_worker(url: str, repo_db: Any, rules: Rules, store_opener: StoreOpener, *, concurrency: int) -> None:
    """`recshelf worker`: run jobs from the shared database until SIGINT / SIGTERM."""
    engine, repo = open_engine(url, repo_db, rules)
    runner = JobRunner(repo, rules, store_opener=store_opener)
    schedule_retention(repo, rules, runner.clock())  # also when no `recshelf serve` runs on this database
    print(f"recshelf worker {runner.owner}: {concurrency} at a time from {repo.db.where}", flush=True)
    try:
        engine.run_worker(runner, concurrency=concurrency)
    finally:
        repo.close()

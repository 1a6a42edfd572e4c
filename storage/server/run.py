"""`recshelf serve`: one process with the routes, the callback intake and the job workers.

The command line parses its options and builds the `Settings`; everything that composes the running
server (database, intake, job runner, uvicorn) lives here, beside the app it runs.
"""

from __future__ import annotations

from pathlib import Path

import uvicorn

from storage.server.app import create_app
from storage.server.callbacks import attach
from storage.service.database import open_database
from storage.service.intake import EventIntake
from storage.service.jobs import JobRunner
from storage.service.repo import Repo
from storage.service.repo_shares import ShareRepo
from storage.service.retention_job import schedule_retention
from storage.service.rules import Rules
from storage.settings import Settings


def run_server(settings: Settings, rules: Rules, *, host: str, port: int, data: Path, callbacks: bool,
               log_level: str) -> None:
    """Serve until interrupted; the intake and the workers stop with the server."""
    url = settings.database_url()
    db = open_database(data, url=url, synchronous=settings.env.sqlite_sync)
    if url:  # PostgreSQL: jobs go to procrastinate in the event's transaction; `recshelf worker` runs them
        from storage.service.engine import open_engine

        repo = open_engine(url, db, rules)[1]
    else:
        repo = Repo(db)
    runner = JobRunner(repo, rules, store_opener=settings.open_store)
    # reload: share links see profile edits; share links live in the same database as the jobs.
    app = create_app(settings, reload=Settings.load, shares=ShareRepo(repo.db))
    intake = None
    if callbacks:
        intake = EventIntake(repo, str(settings.ncs_secret), rules, on_jobs=runner.wake)
        attach(app, intake)
        intake.start()
    if rules.workers and not url:
        runner.start()
    schedule_retention(repo, rules, runner.clock())  # PostgreSQL: `recshelf worker` runs it like any job
    print(f"recshelf: serving on http://{host}:{port} (data: {repo.db.where})", flush=True)
    if url:
        print("recshelf: jobs are queued in PostgreSQL; `recshelf worker` runs them", flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level=log_level.lower(), access_log=False)
    finally:
        runner.stop()
        if intake is not None:
            intake.stop()
        repo.close()

"""`recshelf serve` (callbacks + job workers + the other routes), `recshelf worker`, `recshelf events|jobs|checks`.

`serve` stores Agora callbacks in the data folder's SQLite database and runs the jobs they queue; the other
three read that same database (safe while the server runs: WAL readers never block the writer). With a
PostgreSQL database (`[server] database` / $RECSHELF_DATABASE) shared by several machines, `serve` only
queues the jobs and `recshelf worker` processes run them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from storage.cli.common import error_exit, fail_on_store_errors, print_rows, require_extra, settings_or_exit
from storage.settings import DEFAULT_SERVER_PORT

NCS_SECRET_ENV = "AGORA_NCS_SECRET"

DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (default: $RECSHELF_DATA, \\[server] data "
                                                               "in recshelf.toml, else ./recshelf-data).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
SidOpt = Annotated[str | None, typer.Option("--sid", help="Only this recording (Agora sid).")]


def _data_folder(given: Path | None, settings: Any) -> Path:
    return settings.data_dir(given)  # --data, else $RECSHELF_DATA, else [server] data


def serve_command(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int | None, typer.Option(
        "--port", help=f"Port (default: \\[server] port, else {DEFAULT_SERVER_PORT}).")] = None,
    data: DataOpt = None,
    no_callbacks: Annotated[bool, typer.Option("--no-callbacks", help="Serve without the Agora callback "
                                                                       "endpoint (no NCS secret needed).")] = False,
    workers: Annotated[int | None, typer.Option("--workers", min=0, help="Job worker threads (default: \\[rules] "
                                                                          "workers, 2; 0 = run no jobs).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn/recshelf log level.")] = "info",
) -> None:
    """Receive Agora callbacks at POST /agora/events, store them durably, verify and export in the background."""
    require_extra("server", "fastapi", "uvicorn")
    import dataclasses

    from storage.service.rules import Rules

    settings = settings_or_exit()
    config = settings.config
    with fail_on_store_errors():
        rules = Rules.from_table(config.rules, f"{config.path or 'configuration'}: [rules]")
    if workers is not None:
        rules = dataclasses.replace(rules, workers=workers)
    secret = settings.ncs_secret
    if not secret and not no_callbacks:
        raise error_exit(f"no Agora NCS secret: set {NCS_SECRET_ENV} or [server] ncs_secret in recshelf.toml "
                         "(the secret Agora Console shows for your notification service), or pass --no-callbacks")
    if port is None:
        port = config.server.port  # ServerConfig's default is DEFAULT_SERVER_PORT
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not rules.store:
        logging.getLogger("recshelf").warning("no [rules] store in recshelf.toml: events are stored, but "
                                              "recordings cannot be verified")
    # The one place where the command line hands over to the server face (see pyproject's contracts).
    from storage.server.run import run_server

    with fail_on_store_errors():  # e.g. the simulator enabled without credentials
        run_server(settings, rules, host=host, port=port, data=_data_folder(data, settings),
                   callbacks=not no_callbacks, log_level=log_level)


def worker_command(
    data: DataOpt = None,
    concurrency: Annotated[int | None, typer.Option("--concurrency", min=1, help="Jobs at a time (default: "
                                                                              "\\[rules] workers, 2).")] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="Log level.")] = "info",
) -> None:
    """Run verify and export jobs from the shared PostgreSQL (a procrastinate worker); start one on any machine."""
    from storage.service.rules import Rules

    settings = settings_or_exit()
    url = settings.database_url()
    if not url:
        raise error_exit("recshelf worker needs the shared PostgreSQL: set RECSHELF_DATABASE or [server] database "
                         "(with SQLite, `recshelf serve` runs the jobs itself)")
    require_extra("postgres", "psycopg", "procrastinate")
    config = settings.config
    with fail_on_store_errors():
        rules = Rules.from_table(config.rules, f"{config.path or 'configuration'}: [rules]")
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from storage.service.database import open_database
    from storage.service.engine import run_worker

    with fail_on_store_errors():
        run_worker(url, open_database(_data_folder(data, settings), url=url), rules, settings.open_store,
                   concurrency=concurrency or rules.workers)


def _open_db(data: Path | None) -> Any:
    from storage.service.database import open_database
    from storage.service.db import DB_NAME
    from storage.service.repo import Repo

    settings = settings_or_exit()
    folder = _data_folder(data, settings)
    url = settings.database_url()
    if not url and not (folder / DB_NAME).is_file():
        raise error_exit(f"no recshelf data in {str(folder)!r} (run `recshelf serve` first, or pass --data)")
    with fail_on_store_errors():  # a PostgreSQL that cannot be reached: one line, exit 2
        return Repo(open_database(folder, url=url))


def _event_name(event_type: int) -> str:
    from storage.agora.events import EVENTS

    return EVENTS.get(event_type, (0, ""))[1] or str(event_type)


def events_command(sid: SidOpt = None, as_json: JsonOpt = False, data: DataOpt = None,
                   limit: Annotated[int | None, typer.Option("--limit", min=1, help="At most this many.")] = None
                   ) -> None:
    """The Agora callbacks received, oldest first."""
    repo = _open_db(data)
    rows = repo.events(sid=sid, limit=limit)
    print_rows(rows, as_json, f"{len(rows)} event(s) in {repo.db.where}",
               ("received (UTC)", "type", "sid", "channel", "noticeId"),
               lambda row: (row["received"], f"{row['eventType']} {_event_name(row['eventType'])}", row["sid"] or "",
                            row["cname"] or "", row["noticeId"]))


def jobs_command(bulk_id: Annotated[int | None, typer.Argument(help="A bulk job's id (with --watch or --json; "
                                                                     "default: the latest).")] = None,
                 sid: SidOpt = None, as_json: JsonOpt = False, data: DataOpt = None,
                 state: Annotated[list[str] | None, typer.Option("--state", help="Only jobs in this state "
                                                                               "(repeatable).")] = None,
                 watch: Annotated[bool, typer.Option("--watch", help="Follow a bulk job: done, failed, running, "
                                                                     "rate and ETA, every second.")] = False,
                 bulk: Annotated[bool, typer.Option("--bulk", help="List the bulk jobs.")] = False) -> None:
    """Verify and export jobs with their state, next run and last result; bulk jobs with --bulk / --watch."""
    repo = _open_db(data)
    if bulk or watch or bulk_id is not None:
        from storage.cli.bulk_watch import list_bulk, show_bulk

        if bulk and bulk_id is None and not watch:
            list_bulk(repo, as_json)
        else:
            show_bulk(repo, bulk_id, watch=watch and not as_json, as_json=as_json)
        return
    rows = repo.jobs(sid=sid, states=state or ())
    print_rows(rows, as_json, f"{len(rows)} job(s) in {repo.db.where}",
               ("id", "kind", "sid", "channel", "reason", "state", "next run (UTC)", "tries", "status", "error"),
               _job_cells)


def _job_cells(row: dict[str, Any]) -> tuple[str, ...]:
    result = row["result"] if isinstance(row["result"], dict) else {}
    return (str(row["id"]), row["kind"] + (" (watch)" if row["mode"] == "watch" else ""), row["sid"], row["cname"],
            row["reason"], row["state"], row["runAt"] or "", str(row["attempts"]), str(result.get("status", "")),
            row["error"] or "")


def checks_command(sid: SidOpt = None, as_json: JsonOpt = False, data: DataOpt = None) -> None:
    """Every verification result the jobs recorded, oldest first."""
    repo = _open_db(data)
    rows = repo.checks(sid=sid)
    print_rows(rows, as_json, f"{len(rows)} check(s) in {repo.db.where}",
               ("checked (UTC)", "sid", "channel", "recording", "status", "segments", "missing", "bytes"),
               lambda row: (row["checked"], row["sid"], row["cname"], row["recording"] or "", row["status"],
                            str(row["segments"]), str(row["missing"]), str(row["bytes"])))


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
    app.command("worker")(worker_command)
    app.command("events")(events_command)
    app.command("jobs")(jobs_command)
    app.command("checks")(checks_command)

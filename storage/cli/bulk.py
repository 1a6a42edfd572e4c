"""`--queue` of `recshelf export|verify --all`: hand the selected recordings to the workers as a bulk job.

On PostgreSQL (`[server] database` / $RECSHELF_DATABASE) the batches are procrastinate jobs that any
`recshelf worker` runs; with SQLite they wait in the data folder's queue for `recshelf serve`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from storage.cli.common import error_exit, fail_on_store_errors, settings_or_exit

if TYPE_CHECKING:
    from storage.recordings.catalog import Recording
    from storage.service.repo_bulk import BulkItem

QueueOpt = Annotated[bool, typer.Option("--queue", help="With --all: queue the recordings for the workers "
                                                       "(`recshelf worker` on PostgreSQL, else `recshelf serve`) "
                                                       "as one bulk job instead of running here; follow it with "
                                                       "`recshelf jobs --watch`.")]
BatchOpt = Annotated[int, typer.Option("--batch", min=1, max=500, help="With --queue: recordings per worker task "
                                                                      "(50–500 suits big jobs).")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="With --queue and SQLite: the data folder "
                                                             "`recshelf serve` uses.")]


def portable_location(spec: str) -> str:
    """A store spec the workers can open on their machine: local paths made absolute, URLs and profiles as given."""
    settings = settings_or_exit()
    if "://" in spec or spec in settings.profiles:
        return spec
    return str(Path(spec).expanduser().resolve())


def queue_bulk(kind: str, items: Sequence[BulkItem], params: dict[str, Any], batch: int, data: Path | None,
               as_json: bool) -> None:
    """Store the bulk job (and its batches) in the service database and print its id."""
    from storage.service.bulk import enqueue_bulk

    if not items:
        raise error_exit("no recording matches: nothing to queue")
    with fail_on_store_errors():
        repo, where, runner = _open_queue(data)
        try:
            bulk_id = enqueue_bulk(repo, kind, params, items, batch)
        finally:
            repo.close()
    batches = (len(items) + batch - 1) // batch
    if as_json:
        json.dump({"bulk": bulk_id, "kind": kind, "total": len(items), "batches": batches}, sys.stdout)
        print()
    else:
        print(f"bulk job {bulk_id}: {len(items)} recording(s) in {batches} batch(es) queued in {where} for {runner}; "
              f"follow it with `recshelf jobs --watch {bulk_id}`", file=sys.stderr)


def _open_queue(data: Path | None) -> tuple[Any, str, str]:
    """The repo to queue in, where it is, and who will run the batches."""
    from storage.service.database import open_database
    from storage.service.repo import Repo
    from storage.service.rules import Rules

    settings = settings_or_exit()
    url = settings.database_url()
    database = open_database(settings.data_dir(data), url=url)
    if not url:
        return Repo(database), database.where, "`recshelf serve` on this data folder"
    from storage.service.engine import open_engine

    config = settings.config
    rules = Rules.from_table(config.rules, f"{config.path or 'configuration'}: [rules]")
    _, repo = open_engine(url, database, rules)
    return repo, database.where, "the `recshelf worker`s"


def items_for(kind: str, recordings: Sequence[Recording], fmt: str = "") -> list[BulkItem]:
    from storage.service.bulk import export_items, verify_items

    return export_items(recordings, fmt) if kind == "export" else verify_items(recordings)

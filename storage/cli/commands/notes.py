"""`recshelf tag` (a recording's title, tags and text) and `recshelf notes` (find notes by tag or text).

Notes live in the data folder's service database. Changing one needs the editor role (see
storage/service/users.py) and is written to the audit trail. Exit codes: 0 done, 1 refused or no such
recording, 2 usage, configuration or store errors.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storage.cli.common import EXIT_NOT_OK, fail_on_store_errors, open_store_or_exit, settings_or_exit

DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (default: $RECSHELF_DATA, \\[server] data "
                                                               "in recshelf.toml, else ./recshelf-data).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _when(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S") if at else ""


def tag_command(
    store: Annotated[str, typer.Argument(help="Store URL or profile name from recshelf.toml.")],
    sid: Annotated[str, typer.Option("--sid", help="The recording's sid.")],
    uid: Annotated[str | None, typer.Option("--uid", help="One uid of an individual-mode recording.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="Set the title ('' clears it).")] = None,
    add_tag: Annotated[list[str] | None, typer.Option("--add-tag", help="Add a tag (repeatable).")] = None,
    remove_tag: Annotated[list[str] | None, typer.Option("--remove-tag", help="Remove a tag (repeatable).")] = None,
    text: Annotated[str | None, typer.Option("--text", help="Set the free text ('' clears it).")] = None,
    as_json: JsonOpt = False, data: DataOpt = None,
) -> None:
    """Show or change a recording's note: title, tags and free text. Without changes, prints the note."""
    from storage.cli.access import actor_and_trail, refused
    from storage.errors import Forbidden
    from storage.recordings.catalog import find
    from storage.service.notes import Notes

    opened = open_store_or_exit(store)
    with fail_on_store_errors():
        found = [r for r in find(opened, sid=sid) if uid is None or r.key.uid == uid]
    if not found:
        print(f"recshelf: no recording with sid {sid!r}" + (f" and uid {uid!r}" if uid else "")
              + f" in {opened.url}", file=sys.stderr)
        raise typer.Exit(EXIT_NOT_OK)
    actor, trail = actor_and_trail(data)
    notes = Notes(trail.repo.db)
    changing = title is not None or add_tag or remove_tag or text is not None
    try:
        note = notes.edit(actor, opened.url, sid, uid, cname=found[0].key.cname, title=title,
                          add_tags=add_tag or (), remove_tags=remove_tag or (), text=text) if changing \
            else notes.get(opened.url, sid, uid)
    except Forbidden as exc:
        raise refused(exc) from None
    if as_json:
        print(json.dumps({"note": note.to_dict()}, indent=1))
        return
    console = Console(soft_wrap=True, highlight=False, markup=False)  # titles and texts are not rich markup
    console.print(f"{note.sid}" + (f" uid {note.uid}" if note.uid else "") + f" ({found[0].key.cname})")
    console.print(f"  title: {note.title}\n  tags:  {', '.join(note.tags)}\n  text:  {note.text}")
    if note.updated_by:
        console.print(f"  changed {_when(note.updated_at)} UTC by {note.updated_by}")


def notes_command(
    tag: Annotated[str | None, typer.Option("--tag", help="Only notes with this tag.")] = None,
    search: Annotated[str | None, typer.Option("--search", help="Only notes whose title, text or a tag "
                                                                 "contains this (case-insensitive).")] = None,
    store: Annotated[str | None, typer.Option("--store", help="Only notes of this store (URL or profile).")] = None,
    as_json: JsonOpt = False, data: DataOpt = None,
) -> None:
    """List notes on recordings, newest first, filtered by tag and text."""
    from storage.service.db import Database
    from storage.service.notes import Notes

    store_url = open_store_or_exit(store).url if store else None
    notes = Notes(Database(settings_or_exit().data_dir(data))).search(store=store_url, tag=tag, text=search)
    if as_json:
        print(json.dumps({"notes": [n.to_dict() for n in notes]}, indent=1))
        return
    table = Table(title=f"{len(notes)} note(s)")
    for column in ("store", "sid", "uid", "channel", "title", "tags", "text", "changed (UTC)", "by"):
        table.add_column(column)
    for n in notes:
        cells = (n.store, n.sid, n.uid, n.cname, n.title, ", ".join(n.tags),
                 n.text if len(n.text) < 60 else n.text[:57] + "…", _when(n.updated_at), n.updated_by)
        table.add_row(*(escape(cell) for cell in cells))  # names and notes are text, never rich markup
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # piped: no wrapping at 80 columns


def register(app: typer.Typer) -> None:
    app.command("tag")(tag_command)
    app.command("notes")(notes_command)

"""`recshelf audit`: the audit trail — every change (delete, move, clean-up, notes, shares) and refused attempt."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from storage.cli.common import error_exit

_AGO = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """'7d', '12h', '30m', '2w' ago, or an ISO date / time (UTC unless it says otherwise)."""
    now = now or datetime.now(UTC)
    match = _AGO.match(text.lower())
    if match:
        return now - timedelta(seconds=float(match.group(1)) * _SECONDS[match.group(2)])
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise error_exit(f"--since {text!r}: use an age (7d, 12h, 30m) or an ISO date (2026-01-31)") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def audit_command(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    since: Annotated[str | None, typer.Option("--since", help="Only entries since then: 7d, 12h, or an ISO "
                                                               "date/time (UTC).")] = None,
    action: Annotated[str | None, typer.Option("--action", help="Only this action (delete, move, clean, tag, "
                                                                 "share_create, share_revoke, …).")] = None,
    user: Annotated[str | None, typer.Option("--user", help="Only this user's entries.")] = None,
    outcome: Annotated[str | None, typer.Option("--outcome", help="Only this outcome (done, denied, …).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many entries (newest first).")] = 1000,
    data: Annotated[Path | None, typer.Option("--data", help="Data folder (default: $RECSHELF_DATA, \\[server] "
                                                               "data in recshelf.toml, else ./recshelf-data).")] = None,
) -> None:
    """Who changed what, when, how many objects and bytes, and the outcome (refused attempts included)."""
    from storage.cli.access import authorize

    start = parse_since(since).timestamp() if since else None
    _, trail = authorize(data, "audit")  # reading the trail is an admin's right
    entries = trail.entries(
        since=start, action=action, actor=user, outcome=outcome, limit=limit)
    if as_json:
        print(json.dumps({"entries": [e.to_dict() for e in entries]}, indent=1))
        return
    table = Table(title=f"{len(entries)} audit entr{'y' if len(entries) == 1 else 'ies'}")
    for column in ("when (UTC)", "user", "role", "via", "action", "store", "target", "objects", "bytes", "outcome"):
        table.add_column(column, justify="right" if column in ("objects", "bytes") else "left")
    for e in entries:
        style = "red" if e.outcome in ("denied", "failed") else "yellow" if e.outcome != "done" else ""
        cells = (datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S"), e.actor, e.role, e.via, e.action,
                 e.store, e.target, str(e.objects), str(e.bytes), e.outcome)
        table.add_row(*(escape(cell) for cell in cells), style=style)  # channel names may hold '[' … ']'
    Console(width=None if sys.stdout.isatty() else 200).print(table)  # piped: no wrapping at 80 columns


def register(app: typer.Typer) -> None:
    app.command("audit")(audit_command)

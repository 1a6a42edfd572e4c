"""`recshelf share`: make, list and revoke share links (pages at `/share/<token>` of the recshelf server).

Links live in the data folder's database, which `recshelf serve`, `recshelf ui` and `recshelf demo`
read: make one here and the running server answers it at once. They point at ``[server] public_url``
when set, else at the server of this machine.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from storage.cli.common import EXIT_NOT_OK, error_exit, fail_on_store_errors, open_store_or_exit, settings_or_exit
from storage.errors import ShareError
from storage.signing import MAX_EXPIRY_S, parse_duration, share_url

StoreArg = Annotated[str | None, typer.Argument(help="Store URL or profile name holding the recording.")]
SidOpt = Annotated[str | None, typer.Option("--sid", help="The recording's sid.")]
UidOpt = Annotated[str | None, typer.Option("--uid", help="Individual mode: the uid whose streams to share.")]
CnameOpt = Annotated[str | None, typer.Option("--cname", help="The channel, when the sid has several.")]
PrefixOpt = Annotated[str, typer.Option("--prefix", help="Only look under this folder of the store.")]
ExpiresOpt = Annotated[str, typer.Option("--expires", help="How long the link works: 30m, 12h, 1d, 7d (at most).")]
NoDownloadOpt = Annotated[bool, typer.Option("--no-download", help="The page plays only; no download button.")]
ListOpt = Annotated[bool, typer.Option("--list", help="List the share links, newest first.")]
RevokeOpt = Annotated[int | None, typer.Option("--revoke", help="Revoke the link with this id (see --list).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
DataOpt = Annotated[Path | None, typer.Option("--data", help="Data folder (default: $RECSHELF_DATA, \\[server] data "
                                                               "in recshelf.toml, else ./recshelf-data).")]


def share_command(store: StoreArg = None, sid: SidOpt = None, uid: UidOpt = None, cname: CnameOpt = None,
                  prefix: PrefixOpt = "", expires: ExpiresOpt = "1d", no_download: NoDownloadOpt = False,
                  list_links: ListOpt = False, revoke: RevokeOpt = None, as_json: JsonOpt = False,
                  data: DataOpt = None) -> None:
    """Share a recording as a link to a player page; list or revoke links."""
    from storage.service.db import Database
    from storage.service.repo_shares import ShareRepo

    settings = settings_or_exit()
    if sum([list_links, revoke is not None, store is not None]) != 1:
        raise error_exit("give STORE --sid S to make a link, or --list, or --revoke ID")
    repo = ShareRepo(Database(settings.data_dir(data), synchronous=settings.env.sqlite_sync))
    base = settings.share_link_base()
    now = time.time()
    if list_links:
        _print_list([s.to_dict(now, share_url(base, s.token)) for s in repo.list()], as_json)
        return
    if revoke is not None:
        revoked = repo.revoke(revoke)
        if revoked is None:
            raise error_exit(f"no share link with id {revoke} (see `recshelf share --list`)")
        _print_one(revoked.to_dict(now, share_url(base, revoked.token)), as_json, "revoked")
        return
    if not sid:
        raise error_exit("--sid is required to make a share link")
    try:
        expires_s = parse_duration(expires)
    except ValueError as exc:
        raise error_exit(str(exc)) from None
    if expires_s > MAX_EXPIRY_S:
        raise error_exit(f"--expires is at most 7d (signed bucket URLs cannot live longer), not {expires}")
    from storage.service.shares import ShareRequest, create_share, durable_store_ref

    assert store is not None
    opened = open_store_or_exit(store, settings)
    request = ShareRequest(store=durable_store_ref(store, opened, settings.profiles), sid=sid, uid=uid,
                           cname=cname, prefix=prefix, expires_s=expires_s, allow_download=not no_download)
    try:
        with fail_on_store_errors():
            share = create_share(repo, opened, request, now)
    except ShareError as exc:
        print(f"recshelf: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_NOT_OK) from None
    _print_one(share.to_dict(now, share_url(base, share.token)), as_json, "created")
    if not as_json and not settings.public_url:
        print(f"note: the link names {base}; set [server] public_url (or RECSHELF_PUBLIC_URL) to share beyond "
              "this network. It works while `recshelf serve` (or `recshelf ui`) runs there.", file=sys.stderr)


def _print_one(row: dict[str, Any], as_json: bool, what: str) -> None:
    if as_json:
        print(json.dumps(row, indent=2))
        return
    print(f"{what} share link {row['id']} ({row['title']}, until {row['expires_at']}, {row['state']}):")
    print(row["url"])


def _print_list(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        print(json.dumps({"shares": rows}, indent=2))
        return
    table = Table(title=f"{len(rows)} share link(s)")
    for column in ("id", "recording", "state", "expires (UTC)", "download", "link"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(str(row["id"]), row["title"], row["state"], row["expires_at"],
                      "yes" if row["allow_download"] else "no", row["url"])
    (Console() if sys.stdout.isatty() else Console(width=200)).print(table)


def register(app: typer.Typer) -> None:
    app.command("share")(share_command)

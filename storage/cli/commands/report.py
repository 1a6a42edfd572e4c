"""`recshelf report DIR…`: one summary of the JSON results that `--shard i/N` runs left in folders or files."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from storage.cli.common import EXIT_NOT_OK, error_exit
from storage.recordings.shards import merge, merged_ok


def _documents(paths: list[Path]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path in paths:
        if not path.exists():
            raise error_exit(f"{path}: no such file or folder")
        files = sorted(path.rglob("*.json")) if path.is_dir() else [path]
        for file in files:
            try:
                doc = json.loads(file.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise error_exit(f"{file}: not a JSON result ({exc})") from None
            yield str(file), doc if isinstance(doc, dict) else {}


def report_command(
    paths: Annotated[list[Path], typer.Argument(help="Folders (searched for *.json) or files holding the "
                                                     "`verify --json` / `export --json` output of each shard.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the merged summary as JSON.")] = False,
) -> None:
    """Merge the shards' results into one summary: exit 0 when every shard is there once and all is well, else 1."""
    summary = merge(_documents(paths))
    ok = merged_ok(summary)
    if as_json:
        print(json.dumps({**summary, "ok": ok}, indent=2))
    else:
        _print(summary, ok)
    raise typer.Exit(0 if ok else EXIT_NOT_OK)


def _print(summary: dict[str, Any], ok: bool) -> None:
    shards = summary["shards"]
    if shards["count"]:
        line = f"shards: {len(shards['seen'])} of {shards['count']}"
        if shards["missing"]:
            line += f", missing {', '.join(map(str, shards['missing']))}"
        if shards["repeated"]:
            line += f", given twice {', '.join(map(str, shards['repeated']))}"
        print(line)
    elif len(shards["counts_seen"]) > 1:
        print(f"shards: results of different splits ({', '.join(map(str, shards['counts_seen']))} shards)")
    if len(summary["stores"]) > 1:
        print(f"stores: results of several stores: {', '.join(summary['stores'])}")
    for kind, noun, bad in (("verify", "recordings", "not_complete"), ("export", "results", "failed")):
        part = summary.get(kind)
        if part is None:
            continue
        counts = ", ".join(f"{n} {status}" for status, n in sorted(part["summary"].items())) or "nothing"
        print(f"{kind}: {part[noun]} {noun}: {counts}")
        for item in part[bad][:20]:
            print(f"  {item}")
        if len(part[bad]) > 20:
            print(f"  … and {len(part[bad]) - 20} more")
    for item in summary["duplicates"][:20]:
        print(f"reported by more than one shard: {item}")
    for source in summary["unrecognised"]:
        print(f"not a verify or export result: {source}", file=sys.stderr)
    print("all well" if ok else "not all well")


def register(app: typer.Typer) -> None:
    app.command("report")(report_command)

"""`recshelf ls` and `recshelf verify`: what recordings a store holds, and whether they are whole."""

from __future__ import annotations

import json
import sys
from collections import Counter
from contextlib import nullcontext
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from storage.cli.bulk import BatchOpt, DataOpt, QueueOpt, items_for, portable_location, queue_bulk
from storage.cli.common import error_exit, fail_on_store_errors, open_store_or_exit
from storage.cli.selection import InventoryOpt, ShardOpt, listing_source, parse_shard, select
from storage.recordings.catalog import Recording
from storage.recordings.objects import class_counts, recording_class
from storage.stores.classes import StorageClasses, classes_of, listing_classes

if TYPE_CHECKING:
    from collections.abc import Iterable

    from storage.recordings.shards import Shard
    from storage.recordings.verify import Report

StoreArg = Annotated[str, typer.Argument(help="Store URL (file:///dir, s3://bucket/prefix, oss://…, qiniu://…) "
                                              "or a profile name from recshelf.toml.")]
PrefixOpt = Annotated[str, typer.Option("--prefix", help="Only recordings under this folder of the store.")]
SidOpt = Annotated[str | None, typer.Option("--sid", help="Only the recording(s) with this sid.")]
CnameOpt = Annotated[str | None, typer.Option("--cname", help="Only recordings of this channel name.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of a table.")]

def _console() -> Console:
    # Piped output (CI logs, `| less`) would otherwise wrap every cell at 80 columns.
    return Console() if sys.stdout.isatty() else Console(width=200)


STATUS_STYLE = {
    "complete": "green",
    "unfinished": "yellow",
    "incomplete": "red",
    "missing_playlist": "magenta",
    "invalid": "bold red",
}


def _human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def _short_sid(sid: str) -> str:
    # The full sid is in --json output and in the problem lines; the table only needs to tell rows apart.
    return sid if len(sid) <= 10 else sid[:8] + "…"


def _channel_label(cname: str, uid: str | None, stream: str | None) -> str:
    return f"{cname} · uid {uid} {stream or ''}".rstrip() if uid else cname


def _recording_row(rec: Recording, classes: StorageClasses | None) -> dict[str, Any]:
    slices = rec.slices
    counts = class_counts(rec)
    return {
        "id": rec.id,
        "folder": rec.folder,
        "sid": rec.key.sid,
        "cname": rec.key.cname,
        "uid": rec.key.uid,
        "stream": rec.key.stream,
        "playlist": rec.playlist.key if rec.playlist else None,
        "parts": len(rec.parts),
        "slices": len(slices),
        "bytes": sum(s.size for s in slices),
        "start": rec.start.isoformat() if rec.start else None,
        "storage_class": recording_class(rec),  # None: the store has no classes; "mixed": see "classes"
        "classes": counts,
        "needs_restore": classes is not None and any(classes.needs_restore(name) for name in counts),
    }


def _class_label(row: dict[str, Any]) -> str:
    return (row["storage_class"] or "") + (" (restore first)" if row["needs_restore"] else "")


def ls_command(
    store: StoreArg,
    prefix: PrefixOpt = "",
    sid: SidOpt = None,
    cname: CnameOpt = None,
    as_json: JsonOpt = False,
    inventory: InventoryOpt = None,
    shard: ShardOpt = None,
    no_classes: Annotated[bool, typer.Option(
        "--no-classes", help="Leave storage classes out: S3 is then listed by obstore (the fast extra), "
                             "whose listing does not report them.")] = False,
) -> None:
    """List the Agora recordings in a store (one listing; no playlist is read)."""
    chosen = parse_shard(shard)
    opened = listing_source(open_store_or_exit(store), inventory)
    with fail_on_store_errors(), nullcontext() if no_classes else listing_classes(opened):
        classes = None if no_classes else classes_of(opened)
        rows = (_recording_row(rec, classes) for rec in select(opened, prefix, sid, cname, chosen))
        if as_json:
            # Streamed: a row is printed as the listing passes its recording, never all held at once.
            _print_json_stream({"store": opened.url, **_shard_field(chosen)}, "recordings", rows, {})
            return
        rows = list(rows)
    table = Table(title=f"{len(rows)} recording(s) in {opened.url}")
    columns = ["folder", "channel", "sid", "start (UTC)", "slices", "size", "playlist"]
    columns += ["class"] if classes is not None else []
    for column in columns:
        table.add_column(column, overflow="fold", no_wrap=column in ("sid", "status", "size", "duration"))
    for row in rows:
        cells = [row["folder"] or "/", _channel_label(row["cname"], row["uid"], row["stream"]),
                 _short_sid(row["sid"]), (row["start"] or "")[:19].replace("T", " "), str(row["slices"]),
                 _human_bytes(row["bytes"]), "yes" if row["playlist"] else "no"]
        table.add_row(*cells, *([_class_label(row)] if classes is not None else []))
    _console().print(table)


def verify_command(
    store: StoreArg,
    prefix: PrefixOpt = "",
    sid: SidOpt = None,
    cname: CnameOpt = None,
    deep: Annotated[bool, typer.Option("--deep", help="Also read every slice and check it is sound MPEG-TS.")] = False,
    as_json: JsonOpt = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Playlists read in parallel.")] = 8,
    inventory: InventoryOpt = None,
    shard: ShardOpt = None,
    all_: Annotated[bool, typer.Option("--all", help="Every matching recording (the default; needed by "
                                                     "--queue).")] = False,
    queue: QueueOpt = False,
    batch: BatchOpt = 100,
    data: DataOpt = None,
) -> None:
    """Check that recordings are complete: exit 0 when all are, 1 when any is not, 2 on usage/config errors."""
    chosen = parse_shard(shard)
    opened = listing_source(open_store_or_exit(store), inventory)
    if queue:
        if not all_:
            raise error_exit("--queue needs --all (a bulk job for the workers)")
        with fail_on_store_errors():
            recordings = list(select(opened, prefix, sid, cname, chosen))
        params = {"store": portable_location(store), "deep": deep, "prefix": prefix, "cname": cname, "shard": shard}
        queue_bulk("verify", items_for("verify", recordings), params, batch, data, as_json)
        return
    summary: Counter[str] = Counter()
    with fail_on_store_errors():
        # Imported here: the playlist parser (m3u8, ssl) costs every other `recshelf` command ~0.04 s.
        from storage.recordings.verify import verify_many

        reports = verify_many(opened, select(opened, prefix, sid, cname, chosen), deep=deep, workers=workers)
        counted = (_counted(report, summary) for report in reports)
        if as_json:
            _print_json_stream({"store": opened.url, **_shard_field(chosen)}, "recordings",
                               (r.to_dict() for r in counted), {"summary": summary})
        else:
            _print_reports(opened.url, list(counted), summary)
    if not summary.total():
        print(f"recshelf: no recordings found in {opened.url}" + (f" under {prefix!r}" if prefix else ""),
              file=sys.stderr)
    raise typer.Exit(0 if set(summary) <= {"complete"} else 1)


def _counted(report: Report, summary: Counter[str]) -> Report:
    summary[report.status] += 1
    return report


def _shard_field(shard: Shard | None) -> dict[str, Any]:
    return {"shard": shard.to_dict()} if shard is not None else {}


def _print_json_stream(head: dict[str, Any], name: str, items: Iterable[dict[str, Any]],
                       tail: dict[str, Any]) -> None:
    """`{**head, name: [items…], **tail}` written item by item; `tail` is read after the items ran out."""
    out = sys.stdout
    out.write(json.dumps(head, indent=2)[:-2] + (",\n" if head else "\n") + f'  "{name}": [')
    for index, item in enumerate(items):
        out.write(("," if index else "") + "\n    " + json.dumps(item))
    out.write("\n  ]")
    for key, value in tail.items():
        out.write(f",\n  {json.dumps(key)}: {json.dumps(dict(value) if isinstance(value, Counter) else value)}")
    out.write("\n}\n")


def _print_reports(url: str, reports: list[Report], summary: Counter[str]) -> None:
    console = _console()
    table = Table(title=f"{len(reports)} recording(s) in {url}")
    for column in ("folder", "channel", "sid", "status", "slices", "gaps", "duration", "size"):
        table.add_column(column, overflow="fold", no_wrap=column in ("sid", "status", "size", "duration"))
    for r in reports:
        gaps = ", ".join(f"{len(keys)} {label}" for label, keys in
                         (("missing", r.missing), ("empty", r.empty), ("orphans", r.orphans)) if keys)
        style = STATUS_STYLE.get(r.status, "")
        table.add_row(r.folder or "/", _channel_label(r.cname, r.uid, r.stream), _short_sid(r.sid),
                      f"[{style}]{r.status}[/]", str(len(r.segments)), gaps or "-", f"{r.duration_s:.1f} s",
                      _human_bytes(r.bytes))
    console.print(table)
    for r in reports:
        errors = [p for p in r.problems if p.severity == "error"]
        for problem in errors[:5]:
            console.print(f"  [dim]{r.sid} {r.cname}[/] {problem.code}: {problem.message}", highlight=False)
        if len(errors) > 5:
            console.print(f"  [dim]{r.sid} {r.cname}[/] … and {len(errors) - 5} more problems", highlight=False)
    parts = ", ".join(f"{count} {status}" for status, count in sorted(summary.items()))
    console.print(parts or "nothing to verify")


def register(app: typer.Typer) -> None:
    app.command("ls")(ls_command)
    app.command("verify")(verify_command)

"""`recshelf export`: recordings to MP4, TS, HLS, zip, or copied to another store, with progress bars.

Exit codes: 0 when every requested export succeeded (or was already done), 1 when any failed or
nothing matched, 2 for usage, configuration and store-access errors (one line, no traceback).
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from storage.cli.bulk import BatchOpt, DataOpt, QueueOpt, items_for, portable_location, queue_bulk
from storage.cli.common import EXIT_NOT_OK, error_exit, fail_on_store_errors, open_store_or_exit, settings_or_exit
from storage.cli.selection import InventoryOpt, ShardOpt, listing_source, parse_shard, select
from storage.export.options import DEFAULT_WORKERS, ENGINES, FORMATS, ExportOptions

if TYPE_CHECKING:  # the export machinery (PyAV, catalog, verify) loads only when `export` runs
    from rich.progress import TaskID

    from storage.export.dest import Destination
    from storage.export.jobs import ExportResult
    from storage.export.progress import Progress as ExportProgress
    from storage.recordings.shards import Shard

StoreArg = Annotated[str, typer.Argument(help="Source store URL (file:///dir, s3://bucket/prefix, oss://…, "
                                              "qiniu://…) or a profile name from recshelf.toml.")]


def _destination(to: str) -> Destination:
    """A store URL or profile is a store; a plain path (or file://) is a local folder, created if needed."""
    from storage.export.dest import Destination

    target = open_store_or_exit(to)
    try:
        return Destination.for_store(target)
    except OSError as exc:
        raise error_exit(f"cannot use {to!r} as the output folder: {exc.strerror}") from None


class _Bars:
    """rich bars for the job and the current recording, fed by export progress snapshots."""

    def __init__(self, console: Console) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(TextColumn("{task.description}", markup=False), BarColumn(), DownloadColumn(),
                                 TextColumn("{task.fields[slices]}"), TimeRemainingColumn(), console=console,
                                 transient=True)
        self.job: TaskID | None = None
        self.current: TaskID | None = None

    def __call__(self, p: ExportProgress) -> None:
        if self.job is None:
            self.job = self.progress.add_task("all", total=None, slices="")
            self.current = self.progress.add_task("", total=None, slices="")
        assert self.current is not None
        self.progress.update(self.job, completed=p.job_bytes_done, total=p.job_bytes_total or None,
                             description=f"all ({p.recordings_done}/{p.recordings_total})",
                             slices="")
        self.progress.update(self.current, completed=p.bytes_done, total=p.bytes_total or None,
                             description=p.recording[:48], slices=f"{p.slices_done}/{p.slices_total} slices")


def _report(console: Console, results: list[ExportResult]) -> None:
    for r in results:
        if r.status == "failed":
            resume = " (run again to resume)" if r.resumable else ""
            console.print(f"[red]failed[/] {r.name}: {r.error}{resume}", highlight=False)
            continue
        what = "done already" if r.status == "skipped" else "exported"
        extra = f", {r.duration_s:.1f} s" if r.duration_s else ""
        where = r.outputs[0] if r.outputs else ""
        console.print(f"[green]{what}[/] {r.name} → {where} ({r.bytes_out / 1e6:.1f} MB{extra})", highlight=False)
        if r.reused:
            console.print(f"  resumed: {r.reused} slice(s) reused, {r.downloaded} fetched", highlight=False)
        for gap in r.gaps:
            console.print(f"  [yellow]gap[/] {gap.describe()}", highlight=False)
        if r.gaps and r.format in ("mp4", "ts"):
            lost = sum(g.duration_s for g in r.gaps)
            console.print(f"  [yellow]{len(r.gaps)} gap(s)[/]: the {r.format} runs straight across them, "
                          f"{lost:.1f} s shorter than the recording", highlight=False)


def export_command(
    store: StoreArg,
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"One of: {', '.join(FORMATS)}.")],
    to: Annotated[str, typer.Option("--to", help="Output folder, or a store URL / profile for the outputs.")],
    sid: Annotated[str | None, typer.Option("--sid", help="The recording's sid.")] = None,
    cname: Annotated[str | None, typer.Option("--cname", help="Only this channel name.")] = None,
    uid: Annotated[str | None, typer.Option("--uid", help="Only this uid (individual mode).")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Export every matching recording, not just one.")] = False,
    prefix: Annotated[str, typer.Option("--prefix", help="Only recordings under this folder.")] = "",
    allow_incomplete: Annotated[bool, typer.Option("--allow-incomplete",
                                                   help="Export what exists of incomplete recordings; "
                                                        "gaps are listed.")] = False,
    workers: Annotated[int, typer.Option("--workers", min=1, max=128,
                                         help="Slices fetched in parallel.")] = DEFAULT_WORKERS,
    engine: Annotated[str, typer.Option("--engine", help="MP4 remuxer: pyav (PyAV in a helper process), "
                                                         "pyav-inline (in this process) or ffmpeg (a binary from "
                                                         "RECSHELF_FFMPEG, imageio-ffmpeg or PATH).")] = "pyav",
    json_out: Annotated[bool, typer.Option("--json", help="Print the results as JSON.")] = False,
    inventory: InventoryOpt = None,
    shard: ShardOpt = None,
    queue: QueueOpt = False,
    batch: BatchOpt = 100,
    data: DataOpt = None,
) -> None:
    """Export recordings as MP4, TS, HLS or zip, or copy them to another store, and verify the result."""
    if fmt not in FORMATS:
        raise error_exit(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if engine not in ENGINES:
        raise error_exit(f"unknown engine {engine!r}; use one of {', '.join(ENGINES)}")
    if sid is None and not all_:
        raise error_exit("give --sid SID for one recording, or --all for every recording under --prefix")
    if queue and not all_:
        raise error_exit("--queue needs --all (a bulk job for the workers)")
    if fmt == "mp4" and engine == "pyav" and not queue:
        from storage.export.remux_worker import prestart

        # The remux helper's start-up (Python + PyAV import) overlaps opening the store, listing and
        # planning, which mostly wait on the network, instead of the download it would slow down.
        prestart()
    chosen = parse_shard(shard)
    source = listing_source(open_store_or_exit(store), inventory)
    console = Console(stderr=True, soft_wrap=True)  # whole lines when piped, so they stay greppable
    with fail_on_store_errors():
        from storage.export.jobs import run_export
        from storage.export.plan import group_units
        recordings = [r for r in select(source, prefix, sid, cname, chosen) if uid is None or r.key.uid == uid]
        if not recordings and chosen is not None and all_:
            console.print(f"no recording of {source.url} falls in shard {shard}", highlight=False)
            _print_results(source.url, chosen, [], json_out)
            return
        if not recordings:
            console.print(f"no recording matches in {source.url}", highlight=False)
            raise typer.Exit(EXIT_NOT_OK)
        units = group_units(recordings, fmt)
        if len(units) > 1 and not all_:
            names = ", ".join(name for name, _, _ in units[:3])
            raise error_exit(f"{len(units)} recordings match ({names}{', …' if len(units) > 3 else ''}); narrow "
                             "with --cname/--uid/--prefix or pass --all")
        dest = _destination(to)
        if fmt == "copy" and dest.url == source.url:
            raise error_exit("--to is the source store itself; copy needs another store or folder")
        if queue:
            params = {"store": portable_location(store), "dest": portable_location(to), "format": fmt,
                      "allow_incomplete": allow_incomplete, "engine": engine, "prefix": prefix, "cname": cname,
                      "shard": shard}
            queue_bulk("export", items_for("export", recordings, fmt), params, batch, data, json_out)
            return
        bars = _Bars(console)
        options = ExportOptions(fmt, workers=workers, allow_incomplete=allow_incomplete, engine=engine,
                                ffmpeg=settings_or_exit().env.ffmpeg)
        try:
            with bars.progress:
                results = run_export(source, recordings, dest, options, progress=bars)
        except KeyboardInterrupt:
            console.print("interrupted; run the same command again to resume")
            raise typer.Exit(EXIT_NOT_OK) from None
    _print_results(source.url, chosen, results, json_out)
    _report(console, results)
    if not all(r.ok for r in results):
        raise typer.Exit(EXIT_NOT_OK)


def _print_results(url: str, shard: Shard | None, results: list[ExportResult], json_out: bool) -> None:
    if json_out:
        head = {"store": url, **({"shard": shard.to_dict()} if shard is not None else {})}
        json.dump({**head, "results": [r.to_dict() for r in results]}, sys.stdout, indent=1)
        print()


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)

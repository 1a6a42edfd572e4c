"""Run an export job: plan units, skip the ones already done, export the rest, one result each.

Rules every format follows:

* Only `complete` recordings export unless `allow_incomplete`; then what exists is exported and
  every missing or empty slice is listed in the result's `gaps` (never a silently short output).
  `invalid` recordings (unsafe or unparsable playlists) never export.
* An output whose manifest still matches the sources and the output is skipped.
* A failure leaves no file under the final name; a store that dies mid-export fails the unit as
  `resumable`, keeping the finished slices in the work folder for the next run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from storage.export.archive import export_zip
from storage.export.context import UnitContext
from storage.export.copy import export_copy, export_hls
from storage.export.dest import Destination
from storage.export.errors import ExportError
from storage.export.options import DEFAULT_WORKERS, FORMATS, ExportOptions
from storage.export.plan import Gap, Unit, internal_error_text, plan_units
from storage.export.progress import ProgressCallback, ProgressTracker
from storage.export.remux_worker import prestart
from storage.export.writers import export_mp4, export_ts
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError

Writer = Callable[[UnitContext], list[dict[str, Any]]]
WRITERS: dict[str, Writer] = {"mp4": export_mp4, "ts": export_ts, "zip": export_zip, "hls": export_hls,
                              "copy": export_copy}


@dataclass
class ExportResult:
    name: str  # the unit's output base name
    format: str
    status: Literal["exported", "skipped", "failed"]
    source_status: str  # the recording's verify status (worst of its tracks)
    outputs: list[str] = field(default_factory=list)  # paths or store URLs of what was written
    gaps: list[Gap] = field(default_factory=list)
    error: str | None = None
    resumable: bool = False  # a re-run continues from the slices already fetched
    downloaded: int = 0  # slices/objects read from the source store in this run
    reused: int = 0  # slices/objects taken from the resume cache or already at the target
    bytes_out: int = 0
    duration_s: float | None = None  # mp4 only: the output's duration

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "format": self.format, "status": self.status, "source_status": self.source_status,
                "outputs": self.outputs, "gaps": [g.__dict__ for g in self.gaps], "error": self.error,
                "resumable": self.resumable, "downloaded": self.downloaded, "reused": self.reused,
                "bytes_out": self.bytes_out, "duration_s": self.duration_s}


def output_key(unit: Unit, fmt: str) -> str:
    """The name under which the unit's manifest is kept (the output file, or the folder for hls/copy)."""
    if fmt == "copy":
        return unit.folder + unit.name
    return unit.name + ("/" if fmt == "hls" else f".{fmt}")


def _refusal(unit: Unit, options: ExportOptions) -> str | None:
    if unit.error is not None:
        return f"it could not be planned: {unit.error}"
    status = unit.status
    if status == "invalid":
        return "its playlist is invalid or names files outside its folder (see `recshelf verify`)"
    if not any(t.present for t in unit.tracks):
        return f"it is {status} and has no slice to export"
    if status != "complete" and not options.allow_incomplete:
        gaps = unit.gaps
        detail = f" ({len(gaps)} slice(s) missing or empty, first {gaps[0].key})" if gaps else ""
        return f"it is {status}{detail}; pass --allow-incomplete to export what exists"
    return None


def export_unit(store: ObjectStore, unit: Unit, dest: Destination, options: ExportOptions,
                tracker: ProgressTracker) -> ExportResult:
    fmt = options.format
    result = ExportResult(unit.name, fmt, "failed", unit.status, gaps=unit.gaps)
    tracker.begin(unit.name, unit.slices_total, unit.bytes_total)
    refusal = _refusal(unit, options)
    if refusal:
        result.error = f"this recording ({unit.folder}{unit.name}) is not exported: {refusal}"
        tracker.finish("failed")
        return result
    out = output_key(unit, fmt)
    sources = unit.sources()
    manifest = dest.read_manifest(out)
    if manifest and manifest.get("format") == fmt and manifest.get("sources") == sources \
            and dest.outputs_match(manifest.get("outputs", [])):
        result.status = "skipped"
        result.outputs = [dest.location(o["key"]) for o in manifest["outputs"]][:1]
        result.bytes_out = sum(o["size"] for o in manifest["outputs"])
        result.duration_s = manifest["outputs"][0].get("duration_s") if manifest["outputs"] else None
        tracker.finish("skipped")
        return result
    ctx = UnitContext(store, unit, dest, options, tracker)
    try:
        records = WRITERS[fmt](ctx)
        dest.write_manifest(out, {"format": fmt, "sources": sources, "outputs": records,
                                  "gaps": [g.__dict__ for g in unit.gaps]})
    except (ExportError, StoreError) as exc:
        result.error = str(exc)
        result.resumable = isinstance(exc, StoreError) or exc.resumable
    else:
        result.status = "exported"
        # hls and copy write many objects: show where they went, not every one.
        result.outputs = [dest.location(records[0]["key"] if fmt not in ("hls", "copy") else out)]
        result.bytes_out = sum(r["size"] for r in records)
        result.duration_s = records[0].get("duration_s")
        dest.clean_work(unit.name)
    result.downloaded, result.reused = ctx.counts.downloaded, ctx.counts.reused
    tracker.finish("done" if result.ok else "failed")
    return result


def run_export(store: ObjectStore, recordings: Iterable[Recording], dest: Destination, options: ExportOptions,
               progress: ProgressCallback | None = None) -> list[ExportResult]:
    """Export every recording (grouped into units by format); one result per unit, failures included."""
    if options.format not in FORMATS:
        raise ValueError(f"unknown export format {options.format!r} (known: {', '.join(FORMATS)})")
    if options.format == "mp4" and options.engine == "pyav":
        # The remux helper starts (Python + PyAV import) while the units are planned, which mostly waits
        # on the store; a worker's export does not go through the CLI's earlier prestart.
        prestart()
    units = plan_units(store, recordings, options.format)
    tracker = ProgressTracker(progress, len(units))
    return [_isolated(store, unit, dest, options, tracker) for unit in units]


def _isolated(store: ObjectStore, unit: Unit, dest: Destination, options: ExportOptions,
              tracker: ProgressTracker) -> ExportResult:
    """`export_unit`, with anything unexpected made this unit's failure so `--all` goes on to the next."""
    try:
        return export_unit(store, unit, dest, options, tracker)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - one recording's surprise must not end the job
        result = ExportResult(unit.name, options.format, "failed", unit.status, gaps=unit.gaps)
        result.error = f"this recording ({unit.folder}{unit.name}) failed: {internal_error_text(exc)}"
        tracker.finish("failed")
        return result


def copy_recordings(store: ObjectStore, recordings: Sequence[Recording], target: ObjectStore,
                    allow_incomplete: bool = False, *, workers: int = DEFAULT_WORKERS,
                    progress: ProgressCallback | None = None) -> list[str]:
    """Copy recordings to `target` under the same keys, each verified there; the failures, [] when all are whole.

    The copy primitive other features compose (a move copies, proves the copy, then deletes): they get
    it passed in by a face, so no feature package imports another. `progress` gets the copy's snapshots
    (the web UI's Archive… bar).
    """
    options = ExportOptions("copy", workers=workers, allow_incomplete=allow_incomplete)
    return [r.error or r.name for r in run_export(store, recordings, Destination(target), options, progress)
            if not r.ok]

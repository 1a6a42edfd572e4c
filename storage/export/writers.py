"""Single-file formats: `mp4` (remuxed) and `ts` (slices concatenated in playlist order).

Both stream: slices flow from the fetch pool into the output as they arrive, so the output grows
while later slices download, and memory holds only the fetch window.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

from storage.export.context import UnitContext
from storage.export.errors import ExportError
from storage.export.partial import PartialOutput
from storage.export.plan import Track
from storage.export.remux_worker import remux_in_child
from storage.export.tracks import TrackSlice


def _anchors(tracks: list[Track]) -> list[list[float | None]]:
    """Per-slice timeline positions from slice-name UTC times, when several tracks must line up."""
    if len(tracks) < 2:
        return [[None] * len(t.present) for t in tracks]
    starts: list[datetime] = [s.utc for t in tracks for s in t.present[:1] if s.utc is not None]
    if not starts:
        return [[None] * len(t.present) for t in tracks]
    origin = min(starts)
    return [[(s.utc - origin).total_seconds() if s.utc else None for s in t.present] for t in tracks]


def _track_slices(ctx: UnitContext, track: Track, anchors: list[float | None], workers: int) -> Iterator[TrackSlice]:
    for item in ctx.fetch(track.present, workers):
        yield TrackSlice(item.data, anchors[item.index], item.ref.key)


def export_mp4(ctx: UnitContext) -> list[dict[str, Any]]:
    tracks = [t for t in ctx.unit.tracks if t.present]
    for t in tracks:
        webm = next((s.key for s in t.present if not s.key.lower().endswith(".ts")), None)
        if webm:
            raise ExportError(f"{webm}: only MPEG-TS slices can be remuxed to MP4 (use --format hls, zip or copy)")
    key = f"{ctx.unit.name}.mp4"
    # Two tracks (individual mode) share the pool so neither starves the other.
    workers = max(1, ctx.options.workers // len(tracks)) if tracks else 1
    with ctx.dest.temp_file(key) as tmp:
        sources = [_track_slices(ctx, t, a, workers) for t, a in zip(tracks, _anchors(tracks), strict=True)]
        if ctx.options.engine == "ffmpeg" and len(sources) == 1:
            # Individual-mode A/V (two tracks aligned by UTC) always goes through PyAV.
            from storage.export.mp4_ffmpeg import remux_with_ffmpeg

            duration = remux_with_ffmpeg(sources[0], tmp, ctx.options.ffmpeg)
        elif ctx.options.engine == "pyav-inline":
            from storage.export.mp4 import remux_to_mp4  # PyAV loads here only; the helper imports its own

            duration = remux_to_mp4(sources, tmp).duration_s
        else:
            duration = remux_in_child(sources, tmp).duration_s
        ctx.tracker.stage("write")
        record = ctx.dest.commit_file(tmp, key)
    record["duration_s"] = round(duration, 3)
    return [record]


def export_ts(ctx: UnitContext) -> list[dict[str, Any]]:
    # The partial output is the resume state (storage/export/partial.py): every slice is written once.
    refs = [s.ref() for track in ctx.unit.tracks for s in track.present]
    partial = PartialOutput(ctx.dest.work_dir(ctx.unit.name))
    kept, kept_bytes = partial.resume(refs)
    ctx.resumed(kept, kept_bytes)
    with partial.appending() as out:
        for item in ctx.fetch_refs(refs[kept:], cached=False):
            out.append(item.ref, item.data)
    ctx.tracker.stage("write")
    record = ctx.dest.commit_file(partial.path, f"{ctx.unit.name}.ts")
    partial.discard()
    return [record]

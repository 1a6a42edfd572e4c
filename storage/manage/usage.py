"""Storage used: recordings, hours, bytes and slices per channel, day, month, status, storage class or uid.

From one listing (`catalog.iter_find`, memory bounded by one folder). Hours come from slice names
(each slice lasting until the next, capped at 1.5 typical slices) unless `status` is asked for: then every playlist
is read (`verify_many`) and hours are the playlists' own durations.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from dataclasses import asdict, dataclass

from storage.recordings.catalog import Recording, RecordingPart, iter_find, slice_time
from storage.recordings.objects import recording_class, recording_objects
from storage.stores.base import ObjectStore
from storage.stores.classes import listing_classes

GROUPINGS = ("channel", "day", "month", "status", "class", "uid")


@dataclass
class UsageRow:
    group: str
    recordings: int = 0
    hours: float = 0.0
    bytes: int = 0
    slices: int = 0

    def to_dict(self) -> dict[str, object]:
        row = asdict(self)
        row["hours"] = round(self.hours, 4)
        return row


def usage(store: ObjectStore, by: str = "channel", prefix: str = "") -> list[UsageRow]:
    """One row per group, sorted by group name."""
    if by not in GROUPINGS:
        raise ValueError(f"unknown grouping {by!r} (use one of {', '.join(GROUPINGS)})")
    rows: dict[str, UsageRow] = {}
    with listing_classes(store) if by == "class" else nullcontext():
        _add_up(rows, _labelled(store, iter_find(store, prefix), by))
    return sorted(rows.values(), key=lambda row: row.group)


def _add_up(rows: dict[str, UsageRow], labelled: Iterable[tuple[Recording, str, float]]) -> None:
    for rec, label, seconds in labelled:
        row = rows.setdefault(label, UsageRow(label))
        objects = recording_objects(rec)
        row.recordings += 1
        row.hours += seconds / 3600
        row.bytes += sum(obj.size for obj in objects)
        row.slices += len(rec.slices)


def _labelled(store: ObjectStore, recordings: Iterable[Recording], by: str) -> Iterator[tuple[Recording, str, float]]:
    if by == "status":
        from storage.recordings.verify import verify_many

        listed = list(recordings)
        for rec, report in zip(listed, verify_many(store, listed), strict=True):
            yield rec, report.status, report.duration_s
        return
    for rec in recordings:
        yield rec, _label(rec, by), sum(_part_seconds(part) for part in rec.parts)


def _label(rec: Recording, by: str) -> str:
    if by == "channel":
        return rec.key.cname
    if by == "uid":
        return rec.key.uid or "-"
    if by == "class":
        return recording_class(rec) or "-"  # "-": a store without classes (a folder)
    start = rec.start
    if start is None:
        return "unknown"
    return start.strftime("%Y-%m-%d" if by == "day" else "%Y-%m")


def _part_seconds(part: RecordingPart) -> float:
    """Seconds of media the slices hold, from their names: each lasts until the next, at most ~1.5 slices.

    A plain first-to-last span would count a stray slice hours away (a late backup re-delivery, an orphan)
    as hours of recording; capping each step at 1.5 typical (median) slice lengths counts it as one slice.
    """
    times = sorted(t for t in (slice_time(obj.key) for obj in part.slices) if t is not None)
    if len(times) < 2:
        return 0.0
    steps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    typical = statistics.median(steps)
    return sum(min(step, 1.5 * typical) for step in steps) + typical  # the last slice lasts a typical one

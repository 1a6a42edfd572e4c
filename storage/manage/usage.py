"""Storage used: recordings, hours, bytes and slices per channel, day, month, status, storage class or uid.

From one listing (`catalog.iter_find`, memory bounded by one folder). Hours come from slice names
(first to last slice start, plus one typical slice) unless `status` is asked for: then every playlist
is read (`verify_many`) and hours are the playlists' own durations.
"""

from __future__ import annotations

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
    times = sorted(t for t in (slice_time(obj.key) for obj in part.slices) if t is not None)
    if len(times) < 2:
        return 0.0
    span = (times[-1] - times[0]).total_seconds()
    return span + span / (len(times) - 1)  # the last slice lasts about as long as the others

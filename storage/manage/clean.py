"""Clean-up plan: orphan slices, recordings whose playlist never came, stale recshelf temp files.

From one listing of the store, plus one playlist read per recording (to know which slices it names):

* orphan slices: slices of a recording whose playlist is final (`#EXT-X-ENDLIST`: status complete or
  incomplete) but does not name them. An open playlist (unfinished) may still name them, so never.
* `missing_playlist` recordings whose newest object is older than `older_than` — by default Agora's
  backup window of 72 h, after which no playlist will arrive any more.
* recshelf temp files (`*.recshelf-tmp-*`) older than `older_than`: writes that a crash cut off.
  (Local stores never list their temp files, and clean them up themselves when they write again.)
Nothing younger than `older_than` is ever planned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta

from storage.manage.plan import Plan, PlannedObject, planned_recording
from storage.media.naming import split_key
from storage.recordings.catalog import group, slice_time
from storage.recordings.objects import recording_objects
from storage.recordings.verify import verify_many
from storage.stores.base import ObjectInfo, ObjectStore
from storage.stores.local import TEMP_MARKER

BACKUP_WINDOW = timedelta(hours=72)
FINAL_STATUSES = ("complete", "incomplete")  # the playlist ended: a slice it does not name never will be


def plan_clean(store: ObjectStore, older_than: timedelta = BACKUP_WINDOW, prefix: str = "",
               now: datetime | None = None) -> Plan:
    cutoff = (now or datetime.now(UTC)) - older_than
    plan = Plan("clean", store.url, {"prefix": prefix, "older_than_s": older_than.total_seconds()})
    temps: list[ObjectInfo] = []
    recordings = group(_watch_temps(store.list(prefix), temps))
    for rec, report in zip(recordings, verify_many(store, recordings), strict=True):
        if report.status == "missing_playlist" and _newest(recording_objects(rec)) < cutoff:
            plan.recordings.append(planned_recording(rec, report.status))
            plan.objects += [PlannedObject(o.key, o.size, rec.id, "missing_playlist") for o in recording_objects(rec)]
        elif report.status in FINAL_STATUSES and report.orphans:
            orphans = set(report.orphans)
            plan.objects += [PlannedObject(o.key, o.size, rec.id, "orphan_slice") for o in rec.slices
                             if o.key in orphans and _newest([o]) < cutoff]
    plan.objects += [PlannedObject(o.key, o.size, None, "temp_file") for o in temps if _newest([o]) < cutoff]
    plan.objects.sort(key=lambda obj: obj.key)
    if not plan.objects:
        plan.warnings.append("nothing to clean up")
    return plan


def _watch_temps(objects: Iterable[ObjectInfo], temps: list[ObjectInfo]) -> Iterator[ObjectInfo]:
    # One listing feeds the catalog and, on the way, collects the temp files the catalog ignores.
    for obj in objects:
        if TEMP_MARKER in split_key(obj.key)[1]:
            temps.append(obj)
        yield obj


def _newest(objects: Iterable[ObjectInfo]) -> datetime:
    """The newest time known of these objects: listed modification time, else the time in the name."""
    times = [obj.modified or slice_time(obj.key) for obj in objects]
    known = [t if t.tzinfo else t.replace(tzinfo=UTC) for t in times if t is not None]
    # No time at all: treat as new, so an object of unknown age is never cleaned up.
    return max(known, default=datetime.max.replace(tzinfo=UTC))



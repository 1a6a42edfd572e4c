"""Delete recordings: the plan (every object of each recording, nothing of any other) and its checks.

Which objects belong to a recording comes from the catalog's grouping of one narrow listing (playlist
variants, backup re-deliveries, failover parts, slices, MP4/MPD files), never from prefix matching:
`<sid>_room` and `<sid>_room2`, or sid `ab12` and `ab123`, share a prefix but not a recording.

A recording that does not verify `complete` is deleted only with `force` (it may still be arriving,
or be the only copy of what survived). `require_copy` refuses unless a verified copy exists there:
the same recording, every planned object present with the same size, verifying no worse than here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from storage.manage.plan import Plan, PlannedObject, PlannedRecording, planned_recording
from storage.recordings.catalog import Recording, find
from storage.recordings.objects import recording_objects
from storage.recordings.verify import STATUS_ORDER, verify_many
from storage.stores.base import NotFound, ObjectStore

# A status known for this very listing of the recording (a cached verification), or None to verify it.
KnownStatus = Callable[[Recording], str | None]


def select(store: ObjectStore, sid: str, uid: str | None = None, prefix: str = "") -> list[Recording]:
    """The recordings of `sid` (and `uid`, when given) in the store, from the catalog."""
    return [rec for rec in find(store, prefix=prefix, sid=sid) if uid is None or rec.key.uid == uid]


def plan_delete(store: ObjectStore, sid: str, uid: str | None = None, *, force: bool = False,
                require_copy: ObjectStore | None = None, prefix: str = "",
                recordings: Sequence[Recording] | None = None, request: dict[str, object] | None = None) -> Plan:
    """The delete plan of `sid` (and `uid`); `recordings` + `request` instead name exactly which (retention)."""
    request = request or {"sid": sid, "uid": uid, "prefix": prefix, "force": force,
                          "require_copy": require_copy.url if require_copy is not None else None}
    plan = Plan("delete", store.url, request)
    fill(plan, store, select(store, sid, uid, prefix) if recordings is None else recordings, force=force)
    if require_copy is not None:
        plan.refusals += copy_problems(require_copy, plan.recordings, plan.objects)
    return plan


def fill(plan: Plan, store: ObjectStore, recordings: Sequence[Recording], *, force: bool,
         known: KnownStatus | None = None) -> None:
    """Add the recordings and all their objects to `plan`, refusing ones that are not complete without force.

    `known` spares the playlist read of recordings whose status is already known for their current listing.
    """
    if not recordings:
        plan.refusals.append(f"no recording matches {plan.request} in {store.url}")
        return
    statuses = [known(rec) if known is not None else None for rec in recordings]
    unknown = [rec for rec, status in zip(recordings, statuses, strict=True) if status is None]
    verified = iter([report.status for report in verify_many(store, unknown)])
    for rec, cached in zip(recordings, statuses, strict=True):
        status = cached if cached is not None else next(verified)
        planned = planned_recording(rec, status)
        plan.recordings.append(planned)
        plan.objects += [PlannedObject(obj.key, obj.size, rec.id, storage_class=obj.storage_class)
                         for obj in recording_objects(rec)]
        if status != "complete":
            message = f"{rec.id} is {status}, not complete"
            if force:
                plan.warnings.append(message + " (forced)")
            else:
                plan.refusals.append(message + "; pass --force to delete it anyway")


def copy_problems(dest: ObjectStore, recordings: Sequence[PlannedRecording],
                  objects: Sequence[PlannedObject]) -> list[str]:
    """Why `dest` does not hold a verified copy of these recordings ([] when it does)."""
    problems: list[str] = []
    for planned in recordings:
        try:
            found = [rec for rec in find(dest, prefix=planned.folder, sid=planned.sid) if rec.id == planned.id]
        except NotFound:
            found = []
        if not found:
            problems.append(f"{dest.url} holds no copy of {planned.id}")
            continue
        listed = {obj.key: obj.size for obj in recording_objects(found[0])}
        missing = [o.key for o in objects if o.recording == planned.id and listed.get(o.key) != o.size]
        if missing:
            problems.append(f"{dest.url}: the copy of {planned.id} lacks {len(missing)} object(s) or differs in "
                            f"size (first {missing[0]})")
            continue
        status = next(iter(verify_many(dest, found))).status
        if STATUS_ORDER.index(status) < STATUS_ORDER.index(planned.status):
            problems.append(f"{dest.url}: the copy of {planned.id} verifies {status!r}, not {planned.status!r}")
    return problems

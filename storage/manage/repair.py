"""Repair a recording whose playlist never arrived or whose slices are scattered: a playlist rebuilt
from its slices, beside Agora's objects.

Which parts are rebuilt, and which recordings are refused (a playlist naming slices that are gone,
`invalid`, a part that may still be recording), is decided in `repair_scan`; read its docstring.

For each part to rebuild the plan holds one NEW object, named like a playlist re-delivered from
Agora's backup (`<base>_<tick>_<index>.m3u8`) so the catalog picks it as that part's playlist with no
special case: the part's highest re-delivery index, a tick above every tick already used with it.
It lists every slice of the part in name (= time) order with each slice's probed duration (PyAV), a
discontinuity where the timeline jumps; slices that are empty or do not decode are left out and named
in the plan. The catalog takes the larger of Agora's unsuffixed playlist and the newest re-delivery
(Agora's advice); should ours be the smaller in bytes while naming more slices, a comment line pads it.
Failover parts each get their own playlist: playback joins the parts already.

An existing object is never overwritten: a name already taken fails that object. Apply writes exactly
the planned text (rebuilt, and checked byte for byte against the plan's size), then verifies the
recording again: the outcome says it is repaired.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.manage.apply import BatchCallback, Outcome, open_journal
from storage.manage.delete import select
from storage.manage.journal import Journal
from storage.manage.plan import Plan, PlannedObject, planned_recording
from storage.manage.repair_scan import assess
from storage.media.hls_write import Segment, vod_playlist
from storage.media.naming import AgoraName, parse_name_candidates, redelivered_playlist_name, split_key
from storage.media.probe import measure_duration
from storage.recordings.catalog import Recording, RecordingPart, choose_playlist, find, slice_time
from storage.recordings.verify import verify_many
from storage.stores.base import ObjectInfo, ObjectStore, StoreError

REPAIRED = "repaired_playlist"  # PlannedObject.reason of a playlist recshelf writes
_TICK = re.compile(r"_(\d+)_(\d+)\.m3u8$")
_JUMP_S = 1.0  # a slice starting this much later than the previous one ended starts a discontinuity


def plan_repair(store: ObjectStore, sid: str, uid: str | None = None, *, prefix: str = "",
                now: datetime | None = None) -> Plan:
    """What repair would write; `now` (default: the clock) dates the new names and the quiet rule."""
    plan = Plan("repair", store.url, {"sid": sid, "uid": uid, "prefix": prefix})
    recordings = select(store, sid, uid, prefix)
    if not recordings:
        plan.refusals.append(f"no recording matches {plan.request} in {store.url}")
    now = now or datetime.now(UTC)
    tick = int(now.timestamp())
    for rec, report in zip(recordings, verify_many(store, recordings), strict=True):
        plan.recordings.append(planned_recording(rec, report.status))
        found = assess(store, rec, report.status, now)
        if found.refusal:
            plan.refusals.append(found.refusal)
            continue
        if not found.rebuild:
            plan.warnings.append(f"{rec.id} is {report.status}: nothing to repair")
            if found.missing:
                plan.warnings.append(f"{rec.id}: a playlist variant not used names {len(found.missing)} slice(s) "
                                     f"not in the store, first {found.missing[0]}")
            continue
        for todo in found.rebuild:
            key = rec.folder + redelivered_playlist_name(rec.key, *_new_name(rec, todo.part, tick), todo.part.failover)
            text, skipped = playlist_text(store, rec, todo.part, key)
            if not text or {obj.key for obj in todo.part.slices} - set(skipped) <= todo.named:
                # What the playlist leaves out does not decode either: a new playlist would add nothing
                # (and a rerun would plan it again and again).
                plan.warnings.append(f"{rec.id}: {todo.why}, but they are empty or do not decode: nothing to write")
                continue
            plan.objects.append(PlannedObject(key, len(text), rec.id, REPAIRED))
            plan.warnings.append(f"{rec.id}: {todo.why}: rebuilt as {key}")
            if skipped:
                plan.warnings.append(f"{rec.id}: {len(skipped)} slice(s) left out (empty or not decodable), "
                                     f"first {skipped[0]}")
    return plan


def _new_name(rec: Recording, part: RecordingPart, now: int) -> tuple[int, int]:
    """(tick, index) of a re-delivery name the catalog orders after every variant the part has."""
    used = [(name.index or 0, name.tick or 0) for name in _redeliveries(rec, part)]
    index = max((i for i, _ in used), default=0)
    return max([now, *(tick + 1 for i, tick in used if i == index)]), index


def _redeliveries(rec: Recording, part: RecordingPart) -> list[AgoraName]:
    readings = (parse_name_candidates(split_key(obj.key)[1]) for obj in part.playlists)
    found = (next((c for c in candidates if c.key == rec.key), None) for candidates in readings)
    return [name for name in found if name is not None and name.redelivered]


def playlist_text(store: ObjectStore, rec: Recording, part: RecordingPart, key: str) -> tuple[bytes, list[str]]:
    """(what repair writes as `key` for `part`, padded so the catalog chooses it; the slice keys left out)."""
    text, skipped = rebuild(store, rec, part)
    others = [obj for obj in part.playlists if obj.key != key]
    if text and _chosen(rec, others, key, len(text)) != key:
        plain = max(obj.size for obj in others)
        pad = "# padding: this playlist names more slices than Agora's; the catalog takes the larger one "
        text += (pad + "." * max(0, plain - len(text) - len(pad) - 1) + "\n").encode()
    return text, skipped


def _chosen(rec: Recording, others: list[ObjectInfo], key: str, size: int) -> str | None:
    chosen = choose_playlist([*others, ObjectInfo(key, size)], rec.key)
    return None if chosen is None else chosen.key


def rebuild(store: ObjectStore, rec: Recording, part: RecordingPart) -> tuple[bytes, list[str]]:
    """(the playlist text for `part`, the slice keys left out)."""
    segments: list[Segment] = []
    skipped: list[str] = []
    previous_end: datetime | None = None
    for obj in sorted(part.slices, key=lambda o: o.key):
        duration = measure_duration(store.read(obj.key)) if obj.size else None
        if not duration:
            skipped.append(obj.key)
            continue
        start = slice_time(obj.key)
        jump = bool(segments) and start is not None and previous_end is not None and \
            (start - previous_end).total_seconds() > _JUMP_S
        segments.append(Segment(obj.key[len(rec.folder):], duration, discontinuity=jump))
        previous_end = None if start is None else start + timedelta(seconds=duration)
    if not segments:
        return b"", skipped
    comment = (f"written by recshelf repair: all {len(segments)} slice(s) of this part in time order, probed "
               "durations; Agora's playlist never came or left some out")
    return vod_playlist(segments, comment).encode(), skipped


def apply_repair(store: ObjectStore, plan: Plan, data_dir: Path, on_batch: BatchCallback | None = None) -> Outcome:
    if plan.refused:
        return Outcome(plan.id, "refused", error="; ".join(plan.refusals))
    journal, resumed = open_journal(data_dir, plan)
    written = {line["key"] for line in journal.steps("write")}
    request = plan.request
    recordings = {rec.id: rec for rec in select(store, request["sid"], request["uid"], request["prefix"])}
    failed, errors = [], []
    for number, obj in enumerate(plan.objects, 1):
        if obj.key not in written:
            error = _write_one(store, recordings.get(obj.recording or ""), obj)
            if error:
                failed.append(obj.key)
                errors.append(error)
            else:
                journal.add({"step": "write", "key": obj.key, "bytes": obj.size, "at": time.time()})
        if on_batch is not None:
            on_batch(number, len(plan.objects))
    return _verified(store, journal, plan, failed, errors, resumed)


def _write_one(store: ObjectStore, rec: Recording | None, obj: PlannedObject) -> str | None:
    """Write one planned playlist; the reason it was not written, or None."""
    if rec is None:
        return f"{obj.recording} is no longer in the store"
    tick = _TICK.search(obj.key)
    part = next((p for p in rec.parts if tick and obj.key == rec.folder + redelivered_playlist_name(
        rec.key, int(tick.group(1)), int(tick.group(2)), p.failover)), None)
    existing = store.stat(obj.key)
    if existing is not None:
        return None if existing.size == obj.size else f"{obj.key} exists and is not ours: never overwritten"
    if part is None:
        return f"{obj.key}: no part of {rec.id} it belongs to"
    text, _ = playlist_text(store, rec, part, obj.key)
    if len(text) != obj.size:
        return f"{obj.key}: the slices changed since the plan (plan again)"
    try:
        store.write(obj.key, text, "application/vnd.apple.mpegurl")
    except StoreError as exc:
        return str(exc)
    return None


def _verified(store: ObjectStore, journal: Journal, plan: Plan, failed: list[str], errors: list[str],
              resumed: bool) -> Outcome:
    wanted = {rec.id for rec in plan.recordings}
    found = [rec for rec in find(store, prefix=plan.request["prefix"], sid=plan.request["sid"]) if rec.id in wanted]
    statuses = {rec.id: report.status for rec, report in zip(found, verify_many(store, found), strict=True)}
    broken = [f"{rid} verifies {status!r}" for rid, status in sorted(statuses.items()) if status != "complete"]
    done = len(plan.objects) - len(failed)
    outcome = Outcome(plan.id, "done" if not failed and not broken else "partial", done,
                      sum(o.size for o in plan.objects if o.key not in failed), failed=failed, remaining=failed,
                      resumed=resumed, error="; ".join(errors + broken) or None, journal=str(journal.path),
                      repaired=sorted({o.recording for o in plan.objects if o.recording and o.key not in failed
                                       and statuses.get(o.recording) == "complete"}))
    journal.add({"outcome": outcome.status, "written": done, "verified": statuses, "at": time.time()})
    return outcome

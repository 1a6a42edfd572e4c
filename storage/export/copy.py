"""Object-for-object transfers: `copy` (a recording to another store, same keys) and `hls` (playlist +
slices into a folder named after the recording).

Objects move through a bounded pool: each worker reads one object, checks it (size, and checksum
when the source etag is one), writes it with the right Content-Type and checks what the target
reports back (size, and checksum when comparable). Each finished object is journaled in the work
folder, so an interrupted transfer resumes without moving it again. `copy` then lists and verifies
the target recording, which must come out `complete` (or, with --allow-incomplete, no worse than
the source) before the job succeeds.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from storage.export.checksums import matches
from storage.export.context import UnitContext
from storage.export.errors import ExportError, SourceUnavailable
from storage.export.fetch import SliceRef, check_ts, fetch_one
from storage.media.naming import split_key
from storage.recordings.catalog import find
from storage.recordings.verify import STATUS_ORDER, verify
from storage.stores.base import NotFound, ObjectInfo, StoreError, content_type_for


@dataclass(frozen=True)
class Transfer:
    source: ObjectInfo
    target_key: str
    is_slice: bool  # slices are checked as MPEG-TS; playlists and extras only for size


class _Journal:
    """Keys already written to the target in an earlier, interrupted run (one JSON line each)."""

    def __init__(self, ctx: UnitContext) -> None:
        self.path = ctx.dest.work_dir(ctx.unit.name) / "transferred.jsonl"
        self.done: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        if self.path.exists():
            for line in self.path.read_text().splitlines():
                try:
                    rec = json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash
                self.done[rec["key"]] = rec

    def add(self, rec: dict[str, Any]) -> None:
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            self.done[rec["key"]] = rec


def transfer(ctx: UnitContext, items: Sequence[Transfer]) -> list[dict[str, Any]]:
    """Copy every item source → target in parallel; returns the target records (key, size, etag)."""
    journal = _Journal(ctx)
    target = ctx.dest.store
    ctx.dest.remove_stale_temps(item.target_key for item in items)  # a killed run's half-written objects

    def one(item: Transfer) -> dict[str, Any]:
        src = item.source
        prior = journal.done.get(item.target_key)
        if prior is not None and prior.get("source_etag") == src.etag and prior["size"] == src.size:
            info = target.stat(item.target_key)
            if info is not None and info.size == prior["size"] and (not prior.get("etag") or
                                                                    info.etag == prior["etag"]):
                ctx.counts.add(True)
                ctx.tracker.advance(src.size)
                return prior
        ref = SliceRef(src.key, src.size, src.etag, "ts" if item.is_slice else "raw")
        data, _ = fetch_one(ctx.store, ref, None, check_ts)
        if matches(src.etag, data) is False:
            raise ExportError(f"{ctx.store.url} key {src.key!r}: bytes read do not match the listed checksum")
        try:
            info = target.write(item.target_key, data, content_type_for(item.target_key))
        except StoreError as exc:
            raise SourceUnavailable(f"{exc} (objects already copied are kept; run again to resume)") from exc
        if info.size != len(data) or matches(info.etag, data) is False:
            raise ExportError(f"{target.url} key {item.target_key!r}: the target reports {info.size} bytes / etag "
                              f"{info.etag!r}, which does not match the {len(data)} bytes written")
        rec = {"key": item.target_key, "size": info.size, "etag": info.etag, "source_etag": src.etag}
        journal.add(rec)
        ctx.counts.add(False)
        ctx.tracker.advance(len(data))
        return rec

    workers = max(1, min(ctx.options.workers, len(items) or 1))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="recshelf-copy") as pool:
        # map() keeps at most `len(items)` futures; objects are small (slices), the pool bounds memory.
        return list(pool.map(one, items))


def _resize(ctx: UnitContext, items: Sequence[Transfer]) -> None:
    # Progress counts every object moved here (playlists, orphans, extras), not only the named slices.
    ctx.tracker.resize(len(items), sum(i.source.size for i in items))


def export_hls(ctx: UnitContext) -> list[dict[str, Any]]:
    """The playlist(s) as they are plus the slices they name, into `<name>/`; playlists written last."""
    folder = ctx.unit.name + "/"
    slices = [Transfer(s.info, folder + split_key(s.key)[1], True)
              for t in ctx.unit.tracks for s in t.present if s.info is not None]
    playlists = [Transfer(p, folder + split_key(p.key)[1], False) for t in ctx.unit.tracks for p in t.playlists]
    _resize(ctx, slices + playlists)
    records = transfer(ctx, slices)
    return records + transfer(ctx, playlists)


def _recording_objects(ctx: UnitContext) -> tuple[list[Transfer], list[Transfer]]:
    slices, others = [], []
    for track in ctx.unit.tracks:
        rec = track.recording
        for part in rec.parts:
            slices += [Transfer(o, o.key, o.key.lower().endswith(".ts")) for o in part.slices if o.size > 0]
            others += [Transfer(o, o.key, False) for o in part.playlists]
        others += [Transfer(o, o.key, False) for o in (*rec.extras, *rec.snapshots)]
    return slices, others


def export_copy(ctx: UnitContext) -> list[dict[str, Any]]:
    """Every object of the recording to the same key in the target store, then verify the target."""
    slices, others = _recording_objects(ctx)
    _resize(ctx, slices + others)
    records = transfer(ctx, slices) + transfer(ctx, others)
    ctx.tracker.stage("verify")
    check_target(ctx)
    return records


def check_target(ctx: UnitContext, find_fn: Callable[..., list[Any]] = find) -> None:
    for track in ctx.unit.tracks:
        key = track.recording.key
        try:
            found = [r for r in find_fn(ctx.dest.store, prefix=track.recording.folder, sid=key.sid)
                     if r.key == key and r.folder == track.recording.folder]
        except NotFound:
            found = []
        if not found:
            raise ExportError(f"{ctx.dest.url}: the copied recording {track.recording.id} is not found there")
        status = verify(ctx.dest.store, found[0]).status
        wanted = "complete" if not ctx.options.allow_incomplete else track.report.status
        if STATUS_ORDER.index(status) < STATUS_ORDER.index(wanted):
            raise ExportError(f"{ctx.dest.url}: the copied recording {track.recording.id} verifies as {status!r}, "
                              f"not {wanted!r}")

"""What one export reads: recordings → export units → tracks → segments in play order.

An *export unit* produces one artefact. For `mp4` and `zip`, the audio and video playlists of one
individual-mode uid form one unit (one MP4 with both, one archive with both); for the other formats
every recording is its own unit. Each track's segments come from the playlists `verify` chose
(original part first, then `bak<n>_` failover parts), with EXTINF durations, UTC start times from
the slice names, and whether each one exists in the listing. Missing or empty ones become gaps.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from storage.export.fetch import SliceRef
from storage.media import hls
from storage.media.naming import RecordingKey, parse_name, split_key
from storage.recordings.catalog import Recording
from storage.recordings.verify import Report, verify, worst_status
from storage.stores.base import ObjectInfo, ObjectStore, StoreError

GROUPED_FORMATS = frozenset({"mp4", "zip"})
MEDIA_STREAMS = ("video", "audio")  # an individual uid's `av` index only points at these


@dataclass(frozen=True)
class Segment:
    key: str
    info: ObjectInfo | None  # from the listing; None when the playlist names a slice that is not there
    duration_s: float
    utc: datetime | None  # from the slice name
    discontinuity: bool = False
    failover: int | None = None

    @property
    def present(self) -> bool:
        return self.info is not None and self.info.size > 0

    def ref(self) -> SliceRef:
        kind = "ts" if self.key.lower().endswith(".ts") else "raw"
        return SliceRef(self.key, self.info.size if self.info else None, self.info.etag if self.info else None, kind)


@dataclass(frozen=True)
class Gap:
    key: str  # the missing or empty slice
    at_s: float  # where it would have started on its track's playlist timeline
    duration_s: float  # its EXTINF
    reason: str  # "missing" | "empty"

    def describe(self) -> str:
        return f"{self.reason} {self.key} ({self.duration_s:.1f} s at {self.at_s:.1f} s)"


@dataclass
class Track:
    recording: Recording
    report: Report
    playlists: list[ObjectInfo] = field(default_factory=list)  # the variants verify used, part order
    segments: list[Segment] = field(default_factory=list)

    @property
    def present(self) -> list[Segment]:
        return [s for s in self.segments if s.present]

    @property
    def gaps(self) -> list[Gap]:
        gaps, at = [], 0.0
        for s in self.segments:
            if not s.present:
                gaps.append(Gap(s.key, at, s.duration_s, "missing" if s.info is None else "empty"))
            at += s.duration_s
        return gaps


@dataclass
class Unit:
    name: str  # output base name: <sid>_<cname>[__uid_s_<uid>[__uid_e_<stream>]]
    folder: str
    tracks: list[Track]
    error: str | None = None  # planning failed unexpectedly: the unit is refused, the job goes on

    @property
    def status(self) -> str:
        if self.error is not None:
            return "invalid"
        return worst_status(t.report.status for t in self.tracks)  # type: ignore[misc]

    @property
    def gaps(self) -> list[Gap]:
        return [g for t in self.tracks for g in t.gaps]

    @property
    def bytes_total(self) -> int:
        return sum(s.info.size for t in self.tracks for s in t.present if s.info)

    @property
    def slices_total(self) -> int:
        return sum(len(t.present) for t in self.tracks)

    def sources(self) -> list[dict[str, object]]:
        """Every object this unit reads, with size and etag: a manifest compares them on a re-run."""
        objs = [o for t in self.tracks for o in t.playlists]
        objs += [s.info for t in self.tracks for s in t.present if s.info]
        return [{"key": o.key, "size": o.size, "etag": o.etag} for o in objs]


def unit_name(key: RecordingKey, grouped: bool) -> str:
    if grouped and key.uid is not None:
        return RecordingKey(key.sid, key.cname, key.uid).base
    return key.base


def group_units(recordings: Iterable[Recording], fmt: str) -> list[tuple[str, str, list[Recording]]]:
    """(name, folder, recordings) per export unit, in listing order."""
    grouped = fmt in GROUPED_FORMATS
    units: dict[tuple[str, str], list[Recording]] = {}
    for rec in recordings:
        if grouped and rec.key.uid is not None and rec.key.stream not in MEDIA_STREAMS:
            continue  # the `av` index and loose MP4s add nothing the audio/video playlists lack
        units.setdefault((rec.folder, unit_name(rec.key, grouped)), []).append(rec)
    return [(name, folder, recs) for (folder, name), recs in units.items()]


class _PlaylistMemo:
    """Remembers playlist bytes read through it, so planning reads each playlist once, not twice (verify + plan).

    Only `read` is used by verify and the planner; playlists are small (capped by hls.MAX_PLAYLIST_BYTES).
    """

    def __init__(self, store: ObjectStore) -> None:
        self.store = store
        self.url = store.url
        self._texts: dict[str, bytes] = {}

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        if start or end is not None or not key.lower().endswith(".m3u8"):
            return self.store.read(key, start, end)
        if key not in self._texts:
            self._texts[key] = self.store.read(key)
        return self._texts[key]

    def __getattr__(self, name: str) -> Any:
        return getattr(self.store, name)


def plan_track(store: ObjectStore, recording: Recording, report: Report | None = None) -> Track:
    """Segments of one recording in play order; each playlist is read once (verify's read is reused)."""
    store = _PlaylistMemo(store)  # type: ignore[assignment]
    report = report or verify(store, recording)
    track = Track(recording, report)
    listing = {o.key: o for part in recording.parts for o in (*part.slices, *part.playlists)}
    for part_report, part in zip(report.parts, recording.parts, strict=False):
        if part_report.playlist is None:
            # No playlist (still in Agora's backup): the listed slices in name order are all we know.
            for obj in part.slices:
                track.segments.append(_segment(obj.key, obj, 0.0, False, part.failover))
            continue
        info = listing.get(part_report.playlist)
        if info is not None:
            track.playlists.append(info)
        playlist = hls.parse(store.read(part_report.playlist))
        for n, entry in enumerate(playlist.entries):
            if not entry.safe:
                continue  # verify reported it; such names are never fetched
            key = recording.folder + entry.uri
            duration = entry.duration if math.isfinite(entry.duration) and entry.duration > 0 else 0.0
            track.segments.append(_segment(key, listing.get(key), duration, entry.discontinuity or n == 0,
                                           part.failover))
    return track


def _segment(key: str, info: ObjectInfo | None, duration: float, discontinuity: bool,
             failover: int | None) -> Segment:
    parsed = parse_name(split_key(key)[1])
    return Segment(key, info, duration, parsed.utc if parsed else None, discontinuity, failover)


def plan_units(store: ObjectStore, recordings: Iterable[Recording], fmt: str) -> list[Unit]:
    units = []
    grouped = group_units(recordings, fmt)
    seen = Counter(name for name, _, _ in grouped)
    for name, folder, recs in grouped:
        if seen[name] > 1 and folder:
            # The same recording name in two folders (copies of one recording): outputs must not collide.
            name = folder.rstrip("/").replace("/", "_") + "__" + name
        ordered = sorted(recs, key=lambda r: MEDIA_STREAMS.index(r.key.stream) if r.key.stream in MEDIA_STREAMS
                         else -1)
        try:
            units.append(Unit(name, folder, [plan_track(store, rec) for rec in ordered]))
        except StoreError:
            raise  # the store's problem, not this recording's: the run ends with a store error
        except Exception as exc:  # noqa: BLE001 - one recording's surprise must not end an --all export
            units.append(Unit(name, folder, [], error=internal_error_text(exc)))
    return units


def internal_error_text(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return f"internal error ({text[:300]}{'…' if len(text) > 300 else ''})"

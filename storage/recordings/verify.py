"""Is a recording complete? (DESIGN.md "Verification").

Existence and size come from the listing that `catalog` already made; each playlist is read with
at most one GET; segments are never HEAD-ed. With `deep`, slice bytes are read and walked as MPEG-TS.

A recording with failover parts (`bak<n>_`) is judged part by part; its status is the worst part's,
in the order ``invalid > incomplete > missing_playlist > unfinished > complete``:

* `invalid` first: the playlist cannot be trusted at all (or names files outside its folder), so
  nothing else said about the recording is reliable.
* `incomplete` next: media that a playlist promises is definitely gone (or broken) — the one loss
  no waiting will fix, so it must not hide behind a milder status.
* `missing_playlist` before `unfinished`: a part that cannot be played at all is worse than a part
  whose playlist is merely still open, and both may resolve when Agora's backup upload lands.

Hostile input stays one recording's problem: anything unexpected while verifying a recording
(other than a StoreError, which is the store's problem and ends the run) makes that recording
`invalid` with an `internal_error` problem, and each problem code is listed at most
`MAX_PROBLEMS_PER_CODE` times, so a report stays small whatever the playlist says.
"""

from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from storage.media import hls
from storage.media.naming import playlist_name
from storage.media.probe import TsProbe, measure_duration, probe_ts, pts_gap_s
from storage.recordings.catalog import Recording, RecordingPart
from storage.stores.base import NotFound, ObjectInfo, ObjectStore, StoreError

Status = Literal["complete", "incomplete", "unfinished", "missing_playlist", "invalid"]
Severity = Literal["error", "warning", "info"]

# Worst first; see the module docstring for why.
STATUS_ORDER: tuple[Status, ...] = ("invalid", "incomplete", "missing_playlist", "unfinished", "complete")
DEEP_WORKERS = 4  # slices read at once with deep=True: bounded so a big recording cannot flood the store
VERIFY_WORKERS = 8  # recordings verified at once by verify_many
SIZE_OUTLIER_RATIO = 0.10  # bytes/s below 10 % of the recording's median is suspicious
PTS_GAP_RANGE_S = (-0.1, 1.0)  # end of one slice to the start of the next, when no discontinuity
MAX_PROBLEMS_PER_CODE = 30  # then one "… and N more <code>" problem: enough to act on, small to print
MAX_ERROR_TEXT = 300  # characters of an unexpected exception's text kept in its problem

log = logging.getLogger(__name__)


@dataclass
class Problem:
    code: str  # e.g. "missing_segment", "unsafe_uri", "no_endlist" (playback.md §1.5)
    key: str | None
    message: str
    severity: Severity = "error"


@dataclass
class PartReport:
    failover: int | None  # None for the original part, n for bak<n>_
    playlist: str | None  # key of the playlist variant used
    status: Status
    segments: int = 0
    duration_s: float = 0.0


@dataclass
class Report:
    playlist: str | None  # key of the playlist used, or None
    folder: str
    sid: str
    cname: str
    uid: str | None
    stream: str | None
    status: Status
    segments: list[str] = field(default_factory=list)  # keys named by the playlist(s), in play order
    missing: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    duration_s: float = 0.0  # sum of EXTINF of the named segments
    bytes: int = 0  # sum of sizes of the named segments that exist
    problems: list[Problem] = field(default_factory=list)
    parts: list[PartReport] = field(default_factory=list)  # one per playlist part (original, bak0, …)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the DESIGN.md report keys plus `parts`."""
        return {
            "playlist": self.playlist, "folder": self.folder, "sid": self.sid, "cname": self.cname,
            "uid": self.uid, "stream": self.stream, "status": self.status,
            "segments": list(self.segments), "missing": list(self.missing), "empty": list(self.empty),
            "orphans": list(self.orphans), "duration_s": round(self.duration_s, 6), "bytes": self.bytes,
            "problems": [asdict(p) for p in self.problems], "parts": [asdict(p) for p in self.parts],
        }

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def worst_status(statuses: Iterable[Status]) -> Status:
    """The worst of some statuses (`complete` for none)."""
    return min(statuses, key=STATUS_ORDER.index, default="complete")


@dataclass
class _Named:
    key: str
    entry: hls.Entry
    info: ObjectInfo | None  # from the listing; None when missing


@dataclass
class _Part:
    failover: int | None
    playlist: str | None
    status: Status
    named: list[_Named] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def verify(store: ObjectStore, recording: Recording, deep: bool = False, *,
           workers: int = DEEP_WORKERS) -> Report:
    """Verify one recording. Store errors reading a playlist propagate as StoreError; anything else
    unexpected becomes the recording's `internal_error` (see the module docstring)."""
    try:
        report = _verify(store, recording, deep, workers)
    except StoreError:
        raise
    except Exception as exc:  # noqa: BLE001 - one recording's surprise must not end the run
        log.debug("verifying %s failed", recording.id, exc_info=True)
        report = _failed_report(recording, exc)
    report.problems = collapse_problems(report.problems)
    return report


def _failed_report(recording: Recording, exc: Exception) -> Report:
    text = f"{type(exc).__name__}: {exc}"
    if len(text) > MAX_ERROR_TEXT:
        text = text[:MAX_ERROR_TEXT] + "…"
    playlist = recording.playlist.key if recording.playlist else None
    return Report(playlist=playlist, folder=recording.folder, sid=recording.key.sid, cname=recording.key.cname,
                  uid=recording.key.uid, stream=recording.key.stream, status="invalid",
                  problems=[Problem("internal_error", playlist, f"verification failed unexpectedly ({text}); "
                                    "the recording is reported invalid and the run goes on")])


def collapse_problems(problems: list[Problem], limit: int = MAX_PROBLEMS_PER_CODE) -> list[Problem]:
    """At most `limit` problems per code, then one summary problem per code saying how many were left out."""
    kept: list[Problem] = []
    hidden: dict[str, list[Problem]] = {}
    seen: dict[str, int] = {}
    for problem in problems:
        seen[problem.code] = seen.get(problem.code, 0) + 1
        if seen[problem.code] <= limit:
            kept.append(problem)
        else:
            hidden.setdefault(problem.code, []).append(problem)
    for code, rest in hidden.items():
        severity = _worst_severity(p.severity for p in rest)
        kept.append(Problem(code, None, f"… and {len(rest)} more {code}", severity))
    return kept


def _worst_severity(severities: Iterable[Severity]) -> Severity:
    order: tuple[Severity, ...] = ("error", "warning", "info")
    return min(severities, key=order.index, default="info")


def _verify(store: ObjectStore, recording: Recording, deep: bool, workers: int) -> Report:
    listing = _listing(recording)
    parts = [_verify_part(store, recording, part, listing) for part in recording.parts]
    if deep:
        _deep(store, parts, workers)
    report = Report(
        playlist=next((p.playlist for p in parts if p.playlist is not None), None),
        folder=recording.folder, sid=recording.key.sid, cname=recording.key.cname, uid=recording.key.uid,
        stream=recording.key.stream, status=worst_status(p.status for p in parts) if parts else "missing_playlist",
    )
    if not parts:
        report.problems.append(Problem("playlist_missing", None, "no playlist and no slices for this recording "
                                       "(only MP4/MPD files)"))
    named_keys: set[str] = set()
    for part in parts:
        report.problems.extend(part.problems)
        duration = sum(_seconds(n.entry) for n in part.named)
        report.parts.append(PartReport(part.failover, part.playlist, part.status, len(part.named), duration))
        for n in part.named:
            report.segments.append(n.key)  # play order, repeats included (duplicate_uri warns about them)
            if n.key in named_keys:
                continue  # a slice named twice is missing, empty or counted once
            named_keys.add(n.key)
            if n.info is None:
                report.missing.append(n.key)
            elif n.info.size == 0:
                report.empty.append(n.key)
            else:
                report.bytes += n.info.size
        report.duration_s += duration
    report.orphans = [s.key for part in recording.parts for s in part.slices if s.key not in named_keys]
    if report.orphans:
        report.problems.append(Problem("orphans", report.orphans[0], f"{len(report.orphans)} slice(s) of this "
                                       "recording are not named by any playlist", "info"))
    return report


def verify_many(store: ObjectStore, recordings: Iterable[Recording], *, deep: bool = False,
                workers: int = VERIFY_WORKERS) -> Iterator[Report]:
    """Verify recordings concurrently (bounded by `workers`), yielding reports in input order.

    The one place that owns verification concurrency: the CLI, the web UI and the jobs all call it.
    Each verification costs one playlist GET of latency, so overlapping them is most of the speed.
    Each report is isolated by `verify`: one hostile recording is reported `invalid`, the rest still run.
    """
    workers = max(1, workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        # A window of 2 x workers recordings in flight, not Executor.map's whole input: recordings may
        # stream from a listing of millions of objects (catalog.iter_find), and must not pile up here.
        pending: deque[Future[Report]] = deque()
        for rec in recordings:
            pending.append(pool.submit(verify, store, rec, deep=deep))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()


def _listing(recording: Recording) -> dict[str, ObjectInfo]:
    objects = [o for part in recording.parts for o in (*part.slices, *part.playlists)]
    return {o.key: o for o in (*objects, *recording.extras)}


def _is_ts(key: str) -> bool:
    return key.lower().endswith(".ts")


def _seconds(entry: hls.Entry) -> float:
    return entry.duration if math.isfinite(entry.duration) and entry.duration > 0 else 0.0


def _verify_part(store: ObjectStore, recording: Recording, part: RecordingPart,
                 listing: dict[str, ObjectInfo]) -> _Part:
    if part.playlist is None:
        expected = recording.folder + playlist_name(recording.key, part.failover)
        return _Part(part.failover, None, "missing_playlist", problems=[Problem(
            "playlist_missing", expected, f"{len(part.slices)} slice(s) but no playlist (still in Agora's "
                                          "backup, or never uploaded)")])
    chosen = _evaluate(store, recording.folder, part.playlist, part.failover, listing)
    others = [v for v in part.playlists if v.key != part.playlist.key]
    if chosen.status == "complete" or not others:
        return chosen
    # Agora re-delivers playlists from its backup under new names; one of them may be the whole one.
    candidates = [chosen] + [_evaluate(store, recording.folder, v, part.failover, listing) for v in others]
    best = max(candidates, key=lambda c: (c.status != "invalid", len(c.named), -STATUS_ORDER.index(c.status)))
    if best is not chosen:
        best.problems.append(Problem("variant_used", best.playlist, f"used {best.playlist} ({len(best.named)} "
                                     f"slices) instead of {chosen.playlist} ({len(chosen.named)} slices)",
                                     "info"))
    return best


def _evaluate(store: ObjectStore, folder: str, obj: ObjectInfo, failover: int | None,
              listing: dict[str, ObjectInfo]) -> _Part:
    """One playlist variant against the listing: exactly one GET, or none when it is oversized."""
    part = _Part(failover, obj.key, "complete")
    if obj.size > hls.MAX_PLAYLIST_BYTES:
        part.status = "invalid"
        issue = hls.too_large_issue(obj.size)
        part.problems.append(Problem(issue.code, obj.key, issue.message.replace("not parsed", "not read")))
        return part
    playlist = hls.parse(store.read(obj.key))
    issues = list(playlist.issues)
    if playlist.parsed:
        issues.extend(hls.check(playlist))
    for issue in issues:
        if issue.code == "no_segments" and not playlist.is_endlist:
            issue.severity = "warning"  # an open playlist with nothing yet: just started, not broken
        key = folder + issue.uri if issue.uri and hls.unsafe_reason(issue.uri) is None else obj.key
        where = f" (line {issue.line})" if issue.line else ""
        part.problems.append(Problem(issue.code, key, issue.message + where, issue.severity))
    for entry in playlist.entries:
        if entry.safe:  # unsafe names are reported above and never turned into keys
            key = folder + entry.uri
            part.named.append(_Named(key, entry, listing.get(key)))
    _listing_checks(part, obj)
    fatal = any(i.code in hls.FATAL_CODES for i in issues)
    if fatal or (playlist.is_endlist and not playlist.entries):
        part.status = "invalid"
    elif any(n.info is None or n.info.size == 0 for n in part.named):
        part.status = "incomplete"
    elif not playlist.is_endlist:
        part.status = "unfinished"
        part.problems.append(Problem("no_endlist", obj.key, "no #EXT-X-ENDLIST: still recording, still "
                                     "uploading, or stopped abnormally", "warning"))
    return part


def _listing_checks(part: _Part, playlist: ObjectInfo) -> None:
    """Checks from listed sizes and times: missing, empty, size hints, playlist age."""
    rates: list[float] = []
    for n in part.named:
        if n.info is None:
            part.problems.append(Problem("missing_segment", n.key, f"named on line {n.entry.line} but not in "
                                         "the listing"))
        elif n.info.size == 0:
            part.problems.append(Problem("empty_segment", n.key, "listed with size 0"))
        elif _is_ts(n.key) and n.info.size % 188:
            part.problems.append(Problem("size_not_188", n.key, f"{n.info.size} bytes is not a whole number "
                                         "of 188-byte TS packets (truncated?)", "warning"))
        if n.info and n.info.size and _seconds(n.entry):
            rates.append(n.info.size / _seconds(n.entry))
    if len(rates) >= 3:
        median = statistics.median(rates)
        for n in part.named:
            if n.info and n.info.size and _seconds(n.entry) and \
                    n.info.size / _seconds(n.entry) < SIZE_OUTLIER_RATIO * median:
                part.problems.append(Problem("size_outlier", n.key, "far fewer bytes per second than the "
                                             "recording's other slices (half-uploaded?)", "warning"))
    newest = max((n.info.modified for n in part.named if n.info and n.info.modified), default=None)
    if newest and playlist.modified and playlist.modified < newest:
        part.problems.append(Problem("playlist_older_than_segments", playlist.key, "the playlist was written "
                                     "before its newest slice", "info"))


def _deep(store: ObjectStore, parts: list[_Part], workers: int) -> None:
    """Read every present named slice once (bounded pool), walk its TS packets, compare with EXTINF."""
    # WebM slices (VP8 from web clients) are not MPEG-TS: the TS walk does not apply to them.
    jobs = [(part, i) for part in parts for i, n in enumerate(part.named)
            if n.info is not None and n.info.size and _is_ts(n.key)]
    if not jobs:
        return
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(jobs)))) as pool:
        results = list(pool.map(lambda job: _probe(store, job[0].named[job[1]]), jobs))
    previous: dict[int, tuple[int, TsProbe]] = {}  # id(part) -> (index in part.named, probe)
    for (part, index), (probe, measured) in zip(jobs, results, strict=True):
        named = part.named[index]
        if probe is None:
            part.problems.append(Problem("missing_segment", named.key, "listed, but gone when read"))
            _downgrade(part)
            continue
        for issue in probe.issues:
            where = f" at byte {issue.offset}" if issue.offset is not None else ""
            part.problems.append(Problem(issue.code, named.key, issue.message + where, issue.severity))
        if not probe.ok:
            _downgrade(part)
        _duration_check(part, named, measured)
        last = previous.get(id(part))
        # Only neighbours in play order: after a missing slice a jump is expected and already reported.
        if last is not None and last[0] == index - 1 and not named.entry.discontinuity:
            gap = pts_gap_s(last[1], probe)
            if gap is not None and not PTS_GAP_RANGE_S[0] <= gap <= PTS_GAP_RANGE_S[1]:
                part.problems.append(Problem("pts_gap", named.key, f"starts {gap:+.3f} s from the end of the "
                                             "previous slice without a discontinuity", "warning"))
        previous[id(part)] = (index, probe)


def _probe(store: ObjectStore, named: _Named) -> tuple[TsProbe | None, float | None]:
    try:
        data = store.read(named.key)
    except NotFound:
        return None, None
    probe = probe_ts(data)
    measured: float | None = None
    expected = _seconds(named.entry)
    # The pure walk ends one frame early, so PyAV measures only when the walk already looks short.
    if probe.ok and expected and probe.span_s < expected - _tolerance(expected):
        measured = measure_duration(data)
    return probe, measured


def _tolerance(expected: float) -> float:
    return max(0.5, 0.1 * expected)


def _duration_check(part: _Part, named: _Named, measured: float | None) -> None:
    expected = _seconds(named.entry)
    if measured is None or not expected or abs(measured - expected) <= _tolerance(expected):
        return
    broken = measured < 0.5 * expected
    part.problems.append(Problem("duration_mismatch", named.key, f"holds {measured:.3f} s of media but "
                                 f"#EXTINF says {expected:.3f} s", "error" if broken else "warning"))
    if broken:
        _downgrade(part)


def _downgrade(part: _Part) -> None:
    """Broken slice bytes make a part incomplete unless it is already worse."""
    if STATUS_ORDER.index(part.status) > STATUS_ORDER.index("incomplete"):
        part.status = "incomplete"

"""What the pages compute, kept free of Streamlit so it can be tested and reused.

Rows for the table, filters, plain-words explanations of a report and timeline data. What the
player gets (playlists rewritten with signed slice URLs) is storage/recordings/playback.py's.
"""

from __future__ import annotations

import re
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from storage.media.naming import parse_name, split_key
from storage.recordings.catalog import Recording, slice_time
from storage.recordings.verify import Report
from storage.stores.base import ObjectInfo, ObjectStore

if TYPE_CHECKING:
    from storage.settings import Settings

DEFAULT_SLICE_S = 2.0  # assumed slice length when neither the playlist nor neighbours tell

NOT_VERIFIED = "not verified"
# Plain words in the table (emoji are missing from many fonts); colour comes from STATUS_COLOURS.
STATUS_BADGE = {
    "complete": "complete",
    "unfinished": "unfinished",
    "incomplete": "incomplete",
    "missing_playlist": "missing playlist",
    "invalid": "invalid",
    NOT_VERIFIED: "not verified",
    "verifying": "verifying…",
    "error": "error",
}
STATUS_COLOURS = {
    "complete": "#2e7d32",
    "unfinished": "#b28704",
    "incomplete": "#c62828",
    "missing playlist": "#6a1b9a",
    "invalid": "#b71c1c",
    "not verified": "#757575",
    "verifying…": "#0277bd",
    "error": "#e65100",
}
STATUSES = ["complete", "unfinished", "incomplete", "missing_playlist", "invalid", NOT_VERIFIED]


def status_word(status: str) -> str:
    """The words for a status code, the same on every page: "missing playlist", never `missing_playlist`."""
    return STATUS_BADGE.get(status, status.replace("_", " "))


def is_running(sid: str) -> bool:
    """True when the callbacks in the data folder say this recording is still running (then it plays live)."""
    from storage.service.liveness import running_in

    try:
        return running_in(current_settings().data_dir().absolute(), sid)
    except Exception:  # noqa: BLE001 - an unreadable database must not stop playback; it plays as VOD
        return False


# -- secrets -------------------------------------------------------------------------------------


def current_settings() -> Settings:
    """The UI's Settings, read on each rerun so edits to recshelf.toml show without a restart.

    A file that does not load counts as empty here (state.profile_names reports it), so that a
    broken configuration never stops redaction of the environment's secrets.
    """
    from storage.settings import Environment, Settings
    from storage.stores.base import StoreError

    try:
        return Settings.load()
    except StoreError:
        return Settings(env=Environment())


def secret_values() -> list[str]:
    """Every secret the process knows about: the configuration's, the environment's and the backends'."""
    return current_settings().secrets()


def safe_text(text: str) -> str:
    """`text` with every known secret replaced by ``***``: use on anything shown from an exception."""
    return current_settings().redact(text)


# -- showing names safely ------------------------------------------------------------------------

# Object names come from the bucket and may hold any character: escape them wherever Streamlit
# reads markdown, so `[x](…)`, `:red[…]`, `$…$` or `#` in a channel name stay text.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


def md_text(text: str) -> str:
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_code(text: str) -> str:
    """A code span; backticks cannot be escaped inside one, so they are shown as a look-alike."""
    return "`" + text.replace("`", "\u02cb") + "`"


def safe_md(text: str) -> str:
    """Error text for st.error & co: secrets redacted, markdown escaped."""
    return md_text(safe_text(text))


# -- sizes, names and ids in words ------------------------------------------------------------

_SIZE_UNITS = ("KB", "MB", "GB", "TB")
SHORT_ID = 12  # characters of a long id shown before "…"; the full value goes into the tooltip


def human_size(size: int | float) -> str:
    """Bytes in words: 512 B, 39 KB, 4.2 MB, 1.07 GB (decimal units, as the table's MB)."""
    if size < 1000:
        return f"{int(size)} B"
    value = float(size)
    for unit in _SIZE_UNITS:
        value /= 1000
        if value < 1000 or unit == _SIZE_UNITS[-1]:
            return f"{value:.0f} {unit}" if value >= 100 or unit == "KB" else f"{value:.3g} {unit}"
    raise AssertionError("unreachable")


def short_id(value: str, keep: int = SHORT_ID) -> str:
    """A long id (Agora resource ids run to hundreds of characters) cut to its start and end."""
    return value if len(value) <= keep + 4 else f"{value[:keep - 4]}…{value[-4:]}"


# -- table rows ----------------------------------------------------------------------------------


def estimate_duration(slices: Sequence[ObjectInfo]) -> float | None:
    """Seconds spanned by the slices, from their UTC names (first start to last start + a typical gap)."""
    times = sorted(t for t in (slice_time(s.key) for s in slices) if t is not None)
    if not times:
        return None
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    typical = statistics.median(gaps) if gaps else DEFAULT_SLICE_S
    return (times[-1] - times[0]).total_seconds() + typical


@dataclass(frozen=True)
class Filters:
    channel: str = ""
    sid: str = ""
    uid: str = ""
    start_from: date | None = None
    start_to: date | None = None  # inclusive
    statuses: tuple[str, ...] = ()


# -- reports in plain words ---------------------------------------------------------------------

HEADLINE = {
    "complete": "Complete: the playlist is finished and every slice it names is in the store.",
    "unfinished": "Unfinished: every slice is there but the playlist has no end marker. "
                  "The recording may still be running, or it stopped abnormally.",
    "incomplete": "Incomplete: some slices the playlist names are missing or empty. "
                  "It plays, skipping the holes.",
    "missing_playlist": "No playlist: slices of this recording exist but its .m3u8 does not.",
    "invalid": "Invalid: the playlist cannot be read, or names files outside its folder (never fetched).",
}
ADVICE = {
    "complete": [],
    "unfinished": ["If the recording has ended, wait a few minutes: Agora writes the end marker last. "
                   "If it stays like this, the recording was stopped abnormally; the slices still play."],
    "incomplete": ["Missing slices may still be in Agora's backup cloud and arrive later "
                   "(a re-delivered playlist `_<tick>_<index>.m3u8` appears): refresh in a while.",
                   "Check the bucket's lifecycle rules and who can delete objects."],
    "missing_playlist": ["The playlist may still be in Agora's backup cloud: refresh later.",
                         "The slices can still be exported as TS."],
    "invalid": ["Look at the problems below; an unsafe name (`../`, `/abs`, `http://`) is never followed."],
}


def explain(report: dict[str, Any]) -> tuple[str, list[str], list[str]]:
    """(headline, details, advice) for a report dict (`Report.to_dict()`)."""
    status = report["status"]
    details: list[str] = []
    for label, keys in (("missing", report.get("missing", [])), ("empty (0 bytes)", report.get("empty", [])),
                        ("orphaned (in the store, not in the playlist)", report.get("orphans", []))):
        if keys:
            names = ", ".join(md_code(split_key(k)[1]) for k in keys[:5])
            more = f" and {len(keys) - 5} more" if len(keys) > 5 else ""
            details.append(f"{len(keys)} slice(s) {label}: {names}{more}.")
    listed = {*report.get("missing", []), *report.get("empty", []), *report.get("orphans", [])}
    for problem in report.get("problems", []):
        if isinstance(problem, dict) and problem.get("key") in listed:
            continue  # already said above, in words
        if not isinstance(problem, dict):
            details.append(str(problem))
            continue
        where = md_code(split_key(problem["key"])[1]) + ": " if problem.get("key") else ""
        details.append(f"{problem.get('severity', 'error')}: {where}{md_text(str(problem.get('message', '')))}")
    advice = list(ADVICE.get(status, []))
    if report.get("orphans"):
        advice.append("Orphaned slices are not played; they may belong to a failover part or a newer playlist.")
    return HEADLINE.get(status, status), details, advice


# -- timeline ------------------------------------------------------------------------------------


def timeline_rows(rec: Recording, report: dict[str, Any] | None,
                  durations: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """One bar per slice: start/end UTC from its name, state present / missing / empty / orphan / failover."""
    durations = durations or {}
    missing = set(report.get("missing", [])) if report else set()
    empty = set(report.get("empty", [])) if report else set()
    orphans = set(report.get("orphans", [])) if report else set()
    keys: dict[str, int] = {}  # key -> size (or -1 when missing)
    for s in rec.slices:
        keys[s.key] = s.size
    for k in missing:
        keys.setdefault(k, -1)
    timed = sorted((t, k) for k, t in ((k, slice_time(k)) for k in keys) if t is not None)
    rows: list[dict[str, Any]] = []
    steps = [(b - a).total_seconds() for (a, _), (b, _) in zip(timed, timed[1:], strict=False) if b > a]
    # Without the playlist's EXTINF, a slice lasts until the next one, but no longer than a typical
    # slice: a long silence between two slices is a gap, not one very long slice.
    typical = statistics.median(steps) if steps else DEFAULT_SLICE_S
    for n, (start, key) in enumerate(timed):
        name = split_key(key)[1]
        length = durations.get(name)
        if length is None or length <= 0:
            nxt = next((t for t, _ in timed[n + 1:] if t > start), None)
            length = (nxt - start).total_seconds() if nxt else typical
            length = min(length if length <= typical * 1.5 else typical, 60.0)
        parsed = parse_name(name)
        if key in missing:
            state = "missing"
        elif key in empty or keys[key] == 0:
            state = "empty"
        elif key in orphans:
            state = "orphan"
        elif parsed is not None and parsed.failover is not None:
            state = "failover part"
        else:
            state = "present"
        rows.append({"slice": name, "start": start.replace(tzinfo=None),
                     "end": (start + timedelta(seconds=length)).replace(tzinfo=None),
                     "state": state, "bytes": max(keys[key], 0)})
    return _with_gaps(rows)


GAP_STATE = "gap (no slice)"
MIN_GAP_S = 0.5  # less than this between one slice's end and the next start is rounding, not a hole


def _with_gaps(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` plus a bar wherever the wall clock moves on with no slice at all (nothing recorded or listed)."""
    out: list[dict[str, Any]] = []
    end = None
    for row in sorted(rows, key=lambda r: r["start"]):
        if end is not None and (row["start"] - end).total_seconds() >= MIN_GAP_S:
            out.append({"slice": f"{(row['start'] - end).total_seconds():.1f} s without a slice",
                        "start": end, "end": row["start"], "state": GAP_STATE, "bytes": 0})
        out.append(row)
        end = row["end"] if end is None else max(end, row["end"])
    return out


# -- verification ---------------------------------------------------------------------------------


def verify_to_dict(store: ObjectStore, rec: Recording) -> dict[str, Any]:
    from storage.recordings.verify import verify

    report: Report = verify(store, rec)
    return report.to_dict()

"""HLS media playlists as Agora writes them: safe parsing and cheap checks.

What a player gets instead of the stored text is written by storage/recordings/playback.py.

The m3u8 package parses in non-strict mode only (strict mode rejects Agora's comma-less EXTINF), and
non-strict mode accepts anything — an HTML error page is an empty playlist, `../x.ts` is a fine URI,
`nan` a fine duration (reference/playback.md §2.2). So this module checks what m3u8 will not: the
`#EXTM3U` header, size, encoding, master playlists, and every **raw** URI, which must be a bare file
name in the playlist's own folder. Such names are reported, never resolved or fetched.

Cost is bounded before m3u8 sees the text (DESIGN.md "Recordings and verification"): caps on bytes,
lines and segments are checked by counting, and numbers m3u8 would do date arithmetic with
(`#EXTINF` after `#EXT-X-PROGRAM-DATE-TIME`) must be sane, so a hostile playlist costs about a
second at most and is reported `invalid` with a code that says why.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

import m3u8
from m3u8.parser import ParseError

from storage.media.naming import parse_name

MAX_PLAYLIST_BYTES = 5 * 1024 * 1024  # Agora playlists are KBs; anything this big is not one of them
# 20 000 slices are 35 h at Agora's shortest observed slice (6.3 s, reference/agora.md) and 185 h at
# its longest; the caps keep parse + check of the worst playlist that passes them near one second.
MAX_SEGMENTS = 20_000
MAX_PLAYLIST_LINES = 5 * MAX_SEGMENTS  # EXTINF, URI and a few Agora or discontinuity tags per slice
MAX_DURATION_S = 24 * 3600.0  # one EXTINF or TARGETDURATION longer than a day is not a recording slice
TIME_GAP_TOLERANCE_S = 2.0
BOM = "\ufeff"
AGORA_TAG_PREFIX = "#EXT-X-AGORA-"

Severity = Literal["error", "warning", "info"]

# Issues that make a playlist unusable: verify reports the recording as `invalid`.
FATAL_CODES = frozenset({"not_m3u8", "parse_error", "is_master", "unsafe_uri", "bad_duration", "absurd_duration",
                         "playlist_too_large", "too_many_lines", "too_many_segments"})
# Codes for a text that was not read as a media playlist at all (no entries).
UNREAD_CODES = frozenset({"not_m3u8", "parse_error", "is_master", "playlist_too_large", "too_many_lines",
                          "too_many_segments", "absurd_duration"})
_URL_CHARS = frozenset(":?#")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Every character str.splitlines() breaks on ("\r\n" counts once), which is how m3u8 and _scan split.
_LINE_BREAKS = ("\n", "\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_LINE_BREAK = re.compile("\r\n|[" + "".join(_LINE_BREAKS) + "]")
_NUMBER_TAGS = ("#EXTINF:", "#EXT-X-TARGETDURATION:")


@dataclass
class Issue:
    code: str  # playback.md §1.5 codes: not_m3u8, parse_error, unsafe_uri, target_exceeded, ...
    message: str
    severity: Severity = "error"
    line: int | None = None  # 1-based line in the playlist text
    uri: str | None = None


@dataclass
class Entry:
    uri: str  # raw, as written (validated to be a bare file name unless an unsafe_uri issue names it)
    duration: float
    line: int | None = None  # 1-based line of the URI
    discontinuity: bool = False  # an #EXT-X-DISCONTINUITY precedes this entry
    gap: bool = False  # #EXT-X-GAP
    agora: dict[str, list[dict[str, str]]] = field(default_factory=dict)  # e.g. {"EXT-X-AGORA-TRACK-EVENT": [...]}
    title: str = ""

    @cached_property
    def safe(self) -> bool:  # cached: checks and verify ask for every entry, some of them twice
        return unsafe_reason(self.uri) is None


@dataclass
class Playlist:
    entries: list[Entry] = field(default_factory=list)
    is_endlist: bool = False
    target_duration: float | None = None
    version: int | None = None
    media_sequence: int | None = None
    endlist_line: int | None = None
    issues: list[Issue] = field(default_factory=list)  # parse-time issues; see `check` for the rest

    @property
    def parsed(self) -> bool:
        """False when the text could not be read as a media playlist at all."""
        return not any(i.code in UNREAD_CODES for i in self.issues)

    @property
    def fatal(self) -> list[Issue]:
        return [i for i in self.issues if i.code in FATAL_CODES]

    @property
    def duration_s(self) -> float:
        return sum(e.duration for e in self.entries if math.isfinite(e.duration) and e.duration > 0)


def unsafe_reason(uri: str) -> str | None:
    """Why a raw playlist URI is not a bare file name in the playlist's folder, or None when it is.

    `:`, `?` and `#` are refused (scheme, query, fragment) except inside an Agora slice name, because
    DESIGN.md lets a channel name carry them; there they cannot leave the folder: the name starts with
    `<sid>_`, and `_` cannot appear in a URL scheme, while a query or fragment only ends the path early.
    """
    if not uri.strip():
        return "empty name"
    # '..' inside one Agora slice name (channel "a..b") names a file here; anywhere else it is refused.
    if ".." in uri and ("/" in uri or "\\" in uri or not _is_agora_slice(uri)):
        return "contains '..'"
    if "/" in uri or "\\" in uri:
        return "contains a path separator"
    if _CONTROL.search(uri):
        return "contains control characters"
    special = sorted(_URL_CHARS.intersection(uri))
    if special and (_SCHEME.match(uri) or not _is_agora_slice(uri)):
        return f"contains {''.join(special)!r} (a scheme, query or fragment)"
    return None


def _is_agora_slice(name: str) -> bool:
    parsed = parse_name(name)
    return parsed is not None and parsed.kind == "slice"


def _agora_tags(line: str, lineno: int, data: dict[str, Any], state: dict[str, Any]) -> bool:
    """m3u8 custom_tags_parser: keep Agora's own tags on the segment they precede."""
    if not line.startswith(AGORA_TAG_PREFIX):
        return False
    tag, _, attrs = line[1:].partition(":")
    values = dict(kv.split("=", 1) for kv in attrs.split(",") if "=" in kv)
    segment = state.setdefault("segment", {})
    segment.setdefault("custom_parser_values", {}).setdefault(tag, []).append(values)
    return True


def decode_text(data: bytes | str, max_bytes: int = MAX_PLAYLIST_BYTES) -> tuple[str | None, Issue | None]:
    """The playlist text without BOM, or the `not_m3u8` issue saying why it is not a playlist."""
    if isinstance(data, bytes):
        if len(data) > max_bytes:
            return None, too_large_issue(len(data), max_bytes)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, Issue("not_m3u8", f"playlist is not UTF-8 ({exc.reason} at byte {exc.start})")
    else:
        text = data
        if len(text) > max_bytes:
            return None, too_large_issue(len(text), max_bytes)
    text = text.removeprefix(BOM)
    first = _first_line(text)
    if first != "#EXTM3U":
        shown = first[:60] + ("…" if len(first) > 60 else "")
        return None, Issue("not_m3u8", f"first line is {shown!r}, not #EXTM3U (an error page?)", line=1)
    return text, None


def too_large_issue(size: int, max_bytes: int = MAX_PLAYLIST_BYTES) -> Issue:
    return Issue("playlist_too_large", f"playlist is {size} bytes, over the {max_bytes}-byte cap; not parsed")


def _first_line(text: str) -> str:
    """The first non-blank line, stripped, without splitting the whole text."""
    rest = text.lstrip()
    end = _LINE_BREAK.search(rest)
    return (rest[:end.start()] if end else rest).strip()


def line_count(text: str) -> int:
    """How many lines str.splitlines() would make, counted without making them."""
    breaks = sum(text.count(c) for c in _LINE_BREAKS) - text.count("\r\n")
    return breaks + (0 if not text or text.endswith(_LINE_BREAKS) else 1)


def _too_many_lines(text: str) -> Issue | None:
    """Judged by counting, before the text is split into lines (2.6 M bare lines cost gigabytes)."""
    lines = line_count(text)
    if lines > MAX_PLAYLIST_LINES:
        return Issue("too_many_lines", f"playlist has {lines} lines, over the cap of {MAX_PLAYLIST_LINES}; "
                                       "not parsed")
    return None


def _number(value: str) -> float | None:
    try:
        return float(value.partition(",")[0].strip())
    except ValueError:
        return None  # m3u8 reports what it cannot read as parse_error


def _absurd_numbers(text: str) -> list[Issue]:
    """EXTINF / TARGETDURATION values that are finite numbers but not in (0, MAX_DURATION_S].

    NaN, infinite, zero and negative EXTINF stay `bad_duration` (reported by `check`); only the
    numbers m3u8 could overflow on are refused here, before it adds them to a date.
    """
    issues: list[Issue] = []
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        tag = next((t for t in _NUMBER_TAGS if line.startswith(t)), None)
        if tag is None:
            continue
        value = _number(line[len(tag):])
        if value is None:
            continue
        is_extinf = tag == "#EXTINF:"
        if (is_extinf and math.isfinite(value) and value > MAX_DURATION_S) or \
                (not is_extinf and not 0 < value <= MAX_DURATION_S):
            issues.append(Issue("absurd_duration", f"{line[1:len(tag) - 1]} {value} s is not a slice length "
                                f"(0 < d <= {MAX_DURATION_S:.0f} s)", line=n))
    return issues


def _without_dates(text: str) -> str:
    """The text with #EXT-X-PROGRAM-DATE-TIME made a comment: m3u8 adds every EXTINF to that date
    (an infinite EXTINF overflows), and nothing here uses the dates."""
    return text.replace("#EXT-X-PROGRAM-DATE-TIME", "#RECSHELF-IGNORED-PROGRAM-DATE-TIME")


@dataclass
class _UriLine:
    line: int
    uri: str
    after_extinf: bool


def _scan(text: str) -> tuple[list[_UriLine], int | None]:
    """URI lines (with line numbers) and the ENDLIST line, found the way m3u8 walks the text."""
    uris: list[_UriLine] = []
    endlist: int | None = None
    expect = False
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            if line.startswith("#EXTINF"):
                expect = True
            elif line.startswith("#EXT-X-ENDLIST") and endlist is None:
                endlist = n
            continue
        uris.append(_UriLine(n, line, expect))
        expect = False
    return uris, endlist


def parse(data: bytes | str, *, max_bytes: int = MAX_PLAYLIST_BYTES) -> Playlist:
    """Parse a media playlist. Never raises: what is wrong lands in `Playlist.issues`."""
    text, problem = decode_text(data, max_bytes)
    if text is None:
        assert problem is not None
        return Playlist(issues=[problem])
    problem = _too_many_lines(text)
    if problem is not None:
        return Playlist(issues=[problem])
    uri_lines, endlist_line = _scan(text)
    if len(uri_lines) > MAX_SEGMENTS:
        return Playlist(issues=[Issue("too_many_segments", f"playlist names {len(uri_lines)} segments, over "
                                                           f"the cap of {MAX_SEGMENTS}; not parsed")])
    absurd = _absurd_numbers(text)
    if absurd:
        return Playlist(issues=absurd)
    try:
        parsed = m3u8.loads(_without_dates(text), custom_tags_parser=_agora_tags)
    except (ValueError, ParseError, IndexError, KeyError, TypeError, AttributeError) as exc:
        # `#EXTINF:abc` raises a bare ValueError even in non-strict mode (playback.md §2.2).
        return Playlist(issues=[Issue("parse_error", f"cannot parse playlist: {exc}")])
    except Exception as exc:  # noqa: BLE001 - m3u8 is third-party; "never raises" must hold for any text
        return Playlist(issues=[Issue("parse_error", f"cannot parse playlist ({type(exc).__name__}: {exc})")])
    if parsed.is_variant:
        return Playlist(issues=[Issue("is_master", "a master (variant) playlist; Agora writes media playlists "
                                                   "only, so its URIs are not followed")])
    playlist = Playlist(is_endlist=bool(parsed.is_endlist), target_duration=parsed.target_duration,
                        version=parsed.version, media_sequence=parsed.media_sequence, endlist_line=endlist_line)
    named = [u for u in uri_lines if u.after_extinf]
    segments = [seg for seg in parsed.segments if seg.uri is not None]
    # A trailing partial segment is either an #EXTINF without URI or Agora tags after the last URI.
    if any(seg.uri is None and seg.duration is not None for seg in parsed.segments):
        playlist.issues.append(Issue("extinf_without_uri", "an #EXTINF is not followed by a URI", "warning"))
    lines: list[int | None] = [u.line for u in named] if len(named) == len(segments) else [None] * len(segments)
    for seg, line in zip(segments, lines, strict=True):
        # A segment opened by a tag other than #EXTINF (e.g. #EXT-X-BYTERANGE) has no duration: NaN,
        # which `check` reports as bad_duration.
        duration = float(seg.duration) if isinstance(seg.duration, int | float) else math.nan
        playlist.entries.append(Entry(uri=seg.uri, duration=duration, line=line,
                                      discontinuity=bool(seg.discontinuity), gap=bool(seg.gap_tag),
                                      agora=dict(seg.custom_parser_values or {}), title=seg.title or ""))
    for u in uri_lines:
        reason = unsafe_reason(u.uri)
        if reason:
            playlist.issues.append(Issue("unsafe_uri", f"segment name {u.uri!r} {reason}; not followed",
                                         line=u.line, uri=u.uri))
        if not u.after_extinf:
            playlist.issues.append(Issue("uri_without_extinf", f"{u.uri!r} has no #EXTINF; players skip it",
                                         "warning", line=u.line, uri=u.uri))
    for key in parsed.keys:
        if key is not None and key.uri:
            playlist.issues.append(Issue("unsupported_key", f"encrypted segments (key URI {key.uri!r}) are "
                                                            "not supported and the key is not fetched"))
    return playlist


def check(playlist: Playlist) -> list[Issue]:
    """Cheap checks of playback.md §1.5 that need only the playlist (no listing, no slice bytes)."""
    issues: list[Issue] = []
    entries = playlist.entries
    if not entries:
        issues.append(Issue("no_segments", "the playlist names no segments"))
    if playlist.target_duration is None:
        issues.append(Issue("no_target", "#EXT-X-TARGETDURATION is missing (hls.js refuses such playlists)",
                            "warning"))
    seen: set[str] = set()
    for e in entries:
        if not math.isfinite(e.duration) or e.duration <= 0:
            issues.append(Issue("bad_duration", f"#EXTINF duration {e.duration} is not a positive number",
                                line=e.line, uri=e.uri))
        elif playlist.target_duration is not None and round(e.duration) > playlist.target_duration:
            issues.append(Issue("target_exceeded", f"#EXTINF {e.duration} exceeds #EXT-X-TARGETDURATION "
                                f"{playlist.target_duration}", "warning", line=e.line, uri=e.uri))
        if e.uri in seen:
            issues.append(Issue("duplicate_uri", f"{e.uri!r} is named more than once", "warning",
                                line=e.line, uri=e.uri))
        seen.add(e.uri)
        if e.safe and not e.uri.lower().endswith((".ts", ".webm", ".m4s")):
            issues.append(Issue("not_ts", f"{e.uri!r} is not a .ts slice name", "warning", line=e.line, uri=e.uri))
    if playlist.endlist_line is not None and any(e.line and e.line > playlist.endlist_line for e in entries):
        issues.append(Issue("endlist_not_last", "segments follow #EXT-X-ENDLIST", "warning",
                            line=playlist.endlist_line))
    issues.extend(_time_checks(entries))
    return issues


def _time_checks(entries: list[Entry]) -> list[Issue]:
    """name_order and time_gap from the UTC start times in Agora slice names."""
    issues: list[Issue] = []
    previous: tuple[Entry, Any] | None = None
    for e in entries:
        name = parse_name(e.uri) if e.safe else None
        utc = name.utc if name is not None else None
        if utc is None:
            continue
        if previous is not None:
            prev, prev_utc = previous
            # Seconds, not datetimes: a slice named in year 9999 plus its EXTINF would overflow a date.
            played = prev.duration if math.isfinite(prev.duration) else 0.0
            gap = (utc - prev_utc).total_seconds() - played
            restarted = e.discontinuity or "EXT-X-AGORA-TRACK-EVENT" in e.agora
            if utc <= prev_utc:
                issues.append(Issue("name_order", f"{e.uri!r} starts no later than {prev.uri!r}", "warning",
                                    line=e.line, uri=e.uri))
            elif not restarted and gap > TIME_GAP_TOLERANCE_S:
                issues.append(Issue("time_gap", f"{gap:.3f} s missing before {e.uri!r} without a "
                                    "discontinuity", "warning", line=e.line, uri=e.uri))
        previous = (e, utc)
    return issues

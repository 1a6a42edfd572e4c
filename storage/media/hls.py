"""HLS media playlists as Agora writes them: safe parsing and cheap checks.

What a player gets instead of the stored text is written by storage/recordings/playback.py.

The m3u8 package parses in non-strict mode only (strict mode rejects Agora's comma-less EXTINF), and
non-strict mode accepts anything — an HTML error page is an empty playlist, `../x.ts` is a fine URI,
`nan` a fine duration (reference/playback.md §2.2). So this module checks what m3u8 will not: the
`#EXTM3U` header, size, encoding, master playlists, and every **raw** URI, which must be a bare file
name in the playlist's own folder. Such names are reported, never resolved or fetched.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

import m3u8
from m3u8.parser import ParseError

from storage.media.naming import parse_name

MAX_PLAYLIST_BYTES = 5 * 1024 * 1024  # Agora playlists are KBs; anything this big is not one of them
TIME_GAP_TOLERANCE_S = 2.0
BOM = "\ufeff"
AGORA_TAG_PREFIX = "#EXT-X-AGORA-"

Severity = Literal["error", "warning", "info"]

# Issues that make a playlist unusable: verify reports the recording as `invalid`.
FATAL_CODES = frozenset({"not_m3u8", "parse_error", "is_master", "unsafe_uri", "bad_duration"})
_URL_CHARS = frozenset(":?#")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


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

    @property
    def safe(self) -> bool:
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
        return not any(i.code in ("not_m3u8", "parse_error", "is_master") for i in self.issues)

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
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in uri):
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
            return None, Issue("not_m3u8", f"playlist is {len(data)} bytes, over the {max_bytes}-byte cap")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, Issue("not_m3u8", f"playlist is not UTF-8 ({exc.reason} at byte {exc.start})")
    else:
        text = data
        if len(text) > max_bytes:
            return None, Issue("not_m3u8", f"playlist is over the {max_bytes}-byte cap")
    text = text.removeprefix(BOM)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    if first != "#EXTM3U":
        shown = first[:60] + ("…" if len(first) > 60 else "")
        return None, Issue("not_m3u8", f"first line is {shown!r}, not #EXTM3U (an error page?)", line=1)
    return text, None


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
    try:
        parsed = m3u8.loads(text, custom_tags_parser=_agora_tags)
    except (ValueError, ParseError, IndexError, KeyError, TypeError, AttributeError) as exc:
        # `#EXTINF:abc` raises a bare ValueError even in non-strict mode (playback.md §2.2).
        return Playlist(issues=[Issue("parse_error", f"cannot parse playlist: {exc}")])
    if parsed.is_variant:
        return Playlist(issues=[Issue("is_master", "a master (variant) playlist; Agora writes media playlists "
                                                   "only, so its URIs are not followed")])
    uri_lines, endlist_line = _scan(text)
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
            expected = prev_utc + timedelta(seconds=prev.duration if math.isfinite(prev.duration) else 0)
            restarted = e.discontinuity or "EXT-X-AGORA-TRACK-EVENT" in e.agora
            if utc <= prev_utc:
                issues.append(Issue("name_order", f"{e.uri!r} starts no later than {prev.uri!r}", "warning",
                                    line=e.line, uri=e.uri))
            elif not restarted and (utc - expected).total_seconds() > TIME_GAP_TOLERANCE_S:
                gap = (utc - expected).total_seconds()
                issues.append(Issue("time_gap", f"{gap:.3f} s missing before {e.uri!r} without a "
                                    "discontinuity", "warning", line=e.line, uri=e.uri))
        previous = (e, utc)
    return issues

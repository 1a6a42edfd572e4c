"""How a player gets a recording: playlists that recshelf wrote, never the store's own text.

A player only ever receives a playlist recshelf wrote (DESIGN.md "Playback"). Each segment line
becomes a signed URL of an object in the recording's own folder; a slice the listing lacks becomes an
``#EXT-X-GAP`` segment, because hls.js skips a gap but stalls forever at a 404 (playback.md §4.4).
Every tag recshelf does not know to be harmless is dropped — ``#EXT-X-KEY``, ``#EXT-X-MAP``,
``#EXT-X-MEDIA``, ``#EXT-X-STREAM-INF``, ``#EXT-X-DATERANGE``, …, any unknown tag, and any tag at all
that carries a URI — and a segment line that is not a bare name in the folder (absolute URLs,
other folders, ``..``, schemes) is removed with its ``#EXTINF``. A playlist in a bucket is written
by whoever can write the bucket; without this a share link would make every viewer's browser fetch
what that writer chose (a key, an init segment, a tracker).

Failover parts (``bak<n>_``) are joined after the original, behind a discontinuity. Each segment
gets an ``#EXT-X-PROGRAM-DATE-TIME`` from its slice name (Agora names carry the UTC start), so the
audio and video playlists of one individual-mode uid share a wall clock (storage/recordings/master.py
writes their master playlist). A playlist without ``#EXT-X-ENDLIST`` is closed as VOD unless the
recording is known to be running: a stopped recording then plays from 0 to its last slice and ends,
where a player would otherwise treat it as live, start near its end and wait for slices forever.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from storage.media.hls import AGORA_TAG_PREFIX, BOM, unsafe_reason
from storage.media.naming import parse_name, split_key
from storage.recordings.catalog import Recording, find
from storage.signing import MAX_EXPIRY_S
from storage.stores.base import ObjectInfo, ObjectStore, StoreError

MIN_SLICE_EXPIRY_S = 3600
GAP_VERSION = 8  # #EXT-X-GAP needs protocol version 8; strict players check

# Tags that make no player fetch anything. Anything else a stored playlist holds is not passed on.
_HARMLESS_TAGS = frozenset({
    "EXTM3U", "EXT-X-VERSION", "EXT-X-TARGETDURATION", "EXT-X-MEDIA-SEQUENCE",
    "EXT-X-DISCONTINUITY-SEQUENCE", "EXT-X-PLAYLIST-TYPE", "EXT-X-ENDLIST", "EXT-X-INDEPENDENT-SEGMENTS",
    "EXT-X-ALLOW-CACHE", "EXT-X-START", "EXTINF", "EXT-X-BYTERANGE", "EXT-X-DISCONTINUITY",
    "EXT-X-PROGRAM-DATE-TIME", "EXT-X-GAP", "EXT-X-BITRATE",
})
# What describes one segment only: removed together with a hostile segment line.
_SEGMENT_TAGS = frozenset({"EXTINF", "EXT-X-BYTERANGE", "EXT-X-GAP", "EXT-X-PROGRAM-DATE-TIME", "EXT-X-BITRATE"})
# Only printable ASCII passes: a tag holding a URI attribute or a URL is dropped, and so is one
# holding a character some player splits lines at (hls.js ends an #EXTINF title at U+2028).
_PLAIN_TEXT = re.compile(r"[\x20-\x7e\t]*")
_URL_LIKE = re.compile(r"URI\s*=|//", re.IGNORECASE)
# Line breaks as players see them (\r\n, \r, \n); str.splitlines() would also split at \x0b, U+2028, …
_LINE = re.compile(r"([^\r\n]*)(\r\n|\r|\n|$)")


@dataclass(frozen=True)
class PlayerPlaylist:
    text: str
    gaps: int  # holes marked #EXT-X-GAP
    removed: int  # lines not passed on: tags recshelf does not vouch for, hostile segment lines


# -- one media playlist ------------------------------------------------------------------------


def rewrite_for_playback(text: str, sign: Callable[[str], str | None],
                         present: Callable[[str], bool] = lambda name: True,
                         dated: Callable[[str], datetime | None] = lambda name: None) -> PlayerPlaylist:
    """The playlist a player may have: bare names signed, holes marked, everything else dropped.

    `sign(name)` gives the signed URL of that object in the playlist's folder, or None when there
    is none (the segment is then removed). A name that is not `present` becomes an ``#EXT-X-GAP``
    segment whose URI is still `sign(name)`: a segment needs a URI, hls.js 1.7.4 never loads a
    fragment tagged GAP (fragment-loader rejects it before opening a request), and a player that
    did would reach only the store's "not found". Unsafe names never reach `sign`. Comma-less
    ``#EXTINF:<d>`` gets its comma, which strict players require; ``#EXT-X-VERSION`` is raised to 8
    when there are gaps; line endings are kept (\\r\\n or \\n). A segment without its own
    ``#EXT-X-PROGRAM-DATE-TIME`` gets one when `dated(name)` knows its start. Never raises on any text.
    """
    out: list[str] = []
    pending: list[tuple[str, str]] = []  # (tag name, line) of the segment being read
    gaps = removed = 0
    for body, ending in _lines(text.removeprefix(BOM)):
        stripped = body.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            tag, line = _harmless(stripped)
            if line is None:
                removed += 1
            else:
                pending.append((tag, line + ending))
            continue
        url = sign(stripped) if unsafe_reason(stripped) is None else None
        if url is None:
            removed += 1 + sum(1 for tag, _ in pending if tag in _SEGMENT_TAGS)
            # What belongs to the next segment or the whole playlist (discontinuity, Agora's events) stays.
            out.extend([line for tag, line in pending if tag not in _SEGMENT_TAGS])
        else:
            out.extend([line for _, line in pending])
            start = dated(stripped)
            if start is not None and all(tag != "EXT-X-PROGRAM-DATE-TIME" for tag, _ in pending):
                out.append(f"#EXT-X-PROGRAM-DATE-TIME:{program_date(start)}{ending}")
            if not present(stripped):
                gaps += 1
                if all(tag != "EXT-X-GAP" for tag, _ in pending):
                    out.append("#EXT-X-GAP" + ending)
            out.append(url + ending)
        pending = []
    out.extend(line for _, line in pending)
    result = "".join(out)
    return PlayerPlaylist(_raise_version(result, GAP_VERSION) if gaps else result, gaps, removed)


def program_date(utc: datetime) -> str:
    """RFC 8216 date-time with milliseconds, as players parse it: 2026-03-14T09:30:00.125Z."""
    return utc.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def slice_start(name: str) -> datetime | None:
    parsed = parse_name(name)
    return parsed.utc if parsed is not None else None


def as_vod(text: str) -> str:
    """`text` closed: ``#EXT-X-ENDLIST`` appended and ``#EXT-X-PLAYLIST-TYPE:VOD`` set when missing.

    A player treats a playlist without the end tag as live: hls.js starts a few target durations
    before its end and, at the end, reloads it and waits ("buffering…") for slices that never come.
    """
    lines = text.splitlines()
    if any(line.strip() == "#EXT-X-ENDLIST" for line in lines):
        return text
    if not any(line.startswith("#EXT-X-PLAYLIST-TYPE:") for line in lines):
        at = 2 if len(lines) > 1 and lines[1].startswith("#EXT-X-VERSION") else 1
        lines.insert(min(at, len(lines)), "#EXT-X-PLAYLIST-TYPE:VOD")
    return "\n".join([*lines, "#EXT-X-ENDLIST"]) + "\n"


def _lines(text: str) -> Iterator[tuple[str, str]]:
    for match in _LINE.finditer(text):
        body, ending = match.groups()
        if body or ending:
            yield body, "\r\n" if ending == "\r\n" else "\n"


@functools.lru_cache(maxsize=256)  # a playlist repeats the same few tag lines thousands of times
def _harmless(stripped: str) -> tuple[str, str | None]:
    """(tag name, the line to pass on) — None when the line is not passed on."""
    tag = stripped[1:].split(":", 1)[0]
    if not (tag in _HARMLESS_TAGS or stripped.startswith(AGORA_TAG_PREFIX)):
        return tag, None
    if tag == "EXTINF":
        duration, _, title = stripped[len("#EXTINF:"):].partition(",")
        if not _is_plain(duration):
            return tag, None
        return tag, f"#EXTINF:{duration}," + (title if _is_plain(title) else "")
    return tag, stripped if _is_plain(stripped) else None


def _is_plain(text: str) -> bool:
    return _PLAIN_TEXT.fullmatch(text) is not None and _URL_LIKE.search(text) is None


def _raise_version(text: str, minimum: int) -> str:
    lines = text.splitlines(keepends=True)
    for n, raw in enumerate(lines):
        body = raw.rstrip("\r\n")
        if body.startswith("#EXT-X-VERSION:"):
            try:
                current = int(body.split(":", 1)[1].strip())
            except ValueError:
                current = 0
            if current < minimum:
                lines[n] = f"#EXT-X-VERSION:{minimum}" + raw[len(body):]
            return "".join(lines)
    # No version tag: add one right after #EXTM3U.
    for n, raw in enumerate(lines):
        if raw.strip() == "#EXTM3U":
            lines.insert(n + 1, f"#EXT-X-VERSION:{minimum}" + _line_ending(lines))
            break
    return "".join(lines)


def _line_ending(lines: list[str]) -> str:
    return "\r\n" if lines and lines[0].endswith("\r\n") else "\n"


# -- a recording -------------------------------------------------------------------------------


def slice_expiry(duration_s: float | None) -> int:
    """Long enough to pause and resume a whole recording (playback.md §4.3)."""
    return int(min(MAX_EXPIRY_S, max(MIN_SLICE_EXPIRY_S, 2 * (duration_s or 0) + 600)))


def playlists_in_order(rec: Recording) -> list[ObjectInfo]:
    """The chosen playlist of each part that has one: the original first, then bak0, bak1, …"""
    return [p.playlist for p in rec.parts if p.playlist is not None]


def playback_playlist(store: ObjectStore, rec: Recording, expires_s: int, *,
                      live: bool = False) -> tuple[str, int]:
    """(playlist text with signed slice URLs, number of slices marked ``#EXT-X-GAP``).

    Failover parts (``bak<n>_``) follow the original after a discontinuity, as Agora means them to
    be played. A slice the listing lacks, or holds empty, becomes a gap. Unless `live` (the
    recording is known to be running), a playlist without an end tag is closed (`as_vod`).
    """
    present = {s.key for s in rec.slices if s.size > 0}
    gaps = 0
    texts: list[str] = []
    for playlist in playlists_in_order(rec):
        folder = split_key(playlist.key)[0]

        def sign(name: str, folder: str = folder) -> str | None:
            key = folder + name
            if key in present:
                return store.signed_url(key, expires_s)  # a store that cannot sign says why
            try:
                return store.signed_url(key, expires_s)
            except (StoreError, ValueError):
                return None  # a hole under a name the store refuses: dropped, not a failure

        raw = store.read(playlist.key).decode("utf-8", errors="replace")
        rewritten = rewrite_for_playback(raw, sign, lambda name, folder=folder: folder + name in present,
                                         slice_start)
        gaps += rewritten.gaps
        texts.append(rewritten.text)
    joined = join_playlists(texts)
    return (joined if live or not joined else as_vod(joined)), gaps


def join_playlists(texts: Iterable[str]) -> str:
    """Concatenate media playlists: the first one's header, a discontinuity between parts, one end tag."""
    texts = list(texts)
    if len(texts) <= 1:
        return texts[0] if texts else ""
    out: list[str] = []
    ended = False
    for n, text in enumerate(texts):
        lines = text.splitlines()
        if n > 0:
            # Later parts lose their header: keep everything from the first per-segment tag on.
            starts = ("#EXTINF", "#EXT-X-DISCONTINUITY", "#EXT-X-GAP", "#EXT-X-AGORA")
            first = next((i for i, line in enumerate(lines) if line.startswith(starts)), len(lines))
            lines = lines[first:]
            if not lines or lines[0] != "#EXT-X-DISCONTINUITY":
                out.append("#EXT-X-DISCONTINUITY")
        for line in lines:
            if line.strip() == "#EXT-X-ENDLIST":
                ended = True  # only the last part's end tag matters to a player
                continue
            out.append(line)
    if ended:
        out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


def playlist_durations(store: ObjectStore, rec: Recording) -> dict[str, float]:
    """EXTINF seconds by slice name, from the recording's playlists (for the timeline)."""
    from storage.media.hls import parse

    found: dict[str, float] = {}
    for playlist in playlists_in_order(rec):
        try:
            parsed = parse(store.read(playlist.key))
        except Exception:  # noqa: BLE001 - the timeline falls back to name times
            continue
        for e in parsed.entries:
            found[e.uri] = e.duration
    return found


def find_recording(store: ObjectStore, folder: str, sid: str, rec_id: str) -> Recording | None:
    for rec in find(store, prefix=folder, sid=sid):
        if rec.id == rec_id:
            return rec
    return None


# -- where players reach recshelf ----------------------------------------------------------------

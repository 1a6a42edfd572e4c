"""Agora Cloud Recording file names (reference/agora.md §2.2–2.3).

Grammar of a file name (the folder, i.e. the ``fileNamePrefix`` path, is not part of it)::

    [bak<n>_]<sid>_<cname>[__uid_s_<uid>__uid_e_<type>]<suffix>

    suffix  = ".m3u8"                     playlist
            | "_<tick>_<index>.m3u8"      playlist re-delivered from Agora's backup cloud
            | "_<YYYYMMDDhhmmssSSS>.ts"   slice (17-digit UTC start time); also ".webm"
            | "_<index>.mp4"              composite / web MP4
            | ".mpd"                      individual standard-mode DASH index
            | "_<YYYYMMDDhhmmssSSS>.jpg"  snapshot (individual mode, `video` type only; agora.md §8.2)
    type    = "audio" | "video" | "av"    (individual MP4 puts its index where the type stands)

Extensions match in any case. A channel name may contain '_' and many punctuation marks, so names
are parsed from both ends and never split naively on '_'. Where a name is ambiguous (a playlist
``<sid>_a_1_2.m3u8`` is either channel ``a_1_2`` or channel ``a`` re-delivered with tick 1 index 2),
`parse_name_candidates` returns every reading and `catalog` picks the one whose stem matches the
slices, which are unambiguous.

Reading rules beyond the grammar (chosen because Agora's names are not a context-free language):

* ``bak<n>_`` (n without leading zeros) at the start is always the failover prefix, so a sid is never
  ``bak<n>``. A sid is the first ``_``-delimited token, ``[0-9A-Za-z]+`` (32 hex chars in real data,
  ``sid713476478245`` in Agora's doc examples).
* A body holding ``__uid_s_<uid>__uid_e_<tail>`` (split from the right) is read only in individual mode,
  so a channel name containing those markers is not supported; uid is ``[0-9A-Za-z]+``.
* Slices are unambiguous: exactly one reading, and none when the 17-digit time is not a real date.
* An MP4 is read first as Agora writes it (``_<index>.mp4``), then as ``<base>.mp4`` without an index
  (what ``ffmpeg -i <base>.m3u8 … <base>.mp4`` from Agora's conversion guide leaves next to the playlist).
* A composite ``.mpd`` is not an Agora name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

FileKind = Literal["playlist", "slice", "mp4", "mpd", "snapshot"]
Stream = Literal["audio", "video", "av"]

STREAMS: tuple[str, ...] = ("audio", "video", "av")
UID_START = "__uid_s_"
UID_END = "__uid_e_"
EXTENSIONS: dict[str, FileKind] = {
    "m3u8": "playlist",
    "ts": "slice",
    "webm": "slice",
    "mp4": "mp4",
    "mpd": "mpd",
    "jpg": "snapshot",
}

# ASCII classes on purpose: `\d` and int() also accept other scripts' digits, which Agora never writes.
# Numbers are at most 18 digits (ticks are 13-digit milliseconds): int() refuses strings over 4300
# digits with a ValueError, and one such name in a listing must not end the catalog.
_NUM = "[0-9]{1,18}"
_FAILOVER = re.compile(r"bak(0|[1-9][0-9]{0,17})_")
_TOKEN = re.compile(r"[0-9A-Za-z]+")
_BAK_TOKEN = re.compile(r"bak[0-9]+")
_STREAM = "(audio|video|av)"
_IND_PLAYLIST = re.compile(_STREAM + f"(?:_({_NUM})_({_NUM}))?")
_IND_SLICE = re.compile(_STREAM + r"_([0-9]{17})")
_IND_MP4 = re.compile(f"(?:({_NUM})|" + _STREAM + ")")
_COMP_REDELIVERED = re.compile(f"(.+)_({_NUM})_({_NUM})", re.DOTALL)
_COMP_SLICE = re.compile(r"(.+)_([0-9]{17})", re.DOTALL)
_COMP_MP4 = re.compile(f"(.+)_({_NUM})", re.DOTALL)


@dataclass(frozen=True, order=True)
class RecordingKey:
    sid: str
    cname: str
    uid: str | None = None  # individual mode only
    stream: str | None = None  # "audio" | "video" | "av" in individual mode, None in composite/web

    @property
    def base(self) -> str:
        """`<sid>_<cname>[__uid_s_<uid>[__uid_e_<stream>]]`; an individual MP4's key has no stream."""
        text = f"{self.sid}_{self.cname}"
        if self.uid is not None:
            text += UID_START + self.uid
            if self.stream is not None:
                text += UID_END + self.stream
        return text


@dataclass(frozen=True)
class AgoraName:
    name: str  # the file name as given
    kind: FileKind
    key: RecordingKey
    ext: str  # lower-case, without the dot: "m3u8", "ts", "webm", "mp4", "mpd", "jpg"
    failover: int | None = None  # n of a "bak<n>_" prefix
    utc: datetime | None = None  # slice start / snapshot time (timezone-aware UTC), slices and snapshots only
    tick: int | None = None  # backup re-delivered playlist only
    index: int | None = None  # backup playlist index, or MP4 index

    @property
    def stem(self) -> str:
        """The name without its kind-specific suffix, keeping any bak<n>_ prefix."""
        return _failover_prefix(self.failover) + self.base

    @property
    def base(self) -> str:
        """`<sid>_<cname>[__uid_s_<uid>__uid_e_<type>]` — the stem without the bak<n>_ prefix.

        An individual MP4 (`…__uid_s_<uid>__uid_e_<index>.mp4`) has no type, so its base ends at the uid.
        """
        return self.key.base

    @property
    def redelivered(self) -> bool:
        """A playlist re-delivered from Agora's backup cloud (`_<tick>_<index>.m3u8`)."""
        return self.kind == "playlist" and self.tick is not None


def parse_name_candidates(name: str) -> list[AgoraName]:
    """Every reading of a file name (not a key with folders), most literal reading first; [] if none."""
    if "/" in name:
        return []
    rest, dot, ext = name.rpartition(".")
    kind = EXTENSIONS.get(ext.lower()) if dot else None
    if kind is None:
        return []
    failover: int | None = None
    match = _FAILOVER.match(rest)
    if match:
        failover = int(match.group(1))
        rest = rest[match.end() :]
    sid, sep, body = rest.partition("_")
    if not sep or not body or not _TOKEN.fullmatch(sid) or _BAK_TOKEN.fullmatch(sid):
        return []
    individual = _split_individual(body)
    if individual is not None:
        readings = _individual_readings(kind, sid, *individual)
    else:
        readings = _composite_readings(kind, sid, body)
    return [
        AgoraName(name, kind, key, ext.lower(), failover, utc, tick, index)
        for key, utc, tick, index in readings
    ]


def parse_name(name: str) -> AgoraName | None:
    """The most literal reading of a file name, or None when it is not an Agora recording file."""
    candidates = parse_name_candidates(name)
    return candidates[0] if candidates else None


def split_key(key: str) -> tuple[str, str]:
    """('folder/', 'file name') of a store key; folder is '' at the root and always ends in '/'."""
    folder, separator, name = key.rpartition("/")
    return folder + separator, name  # an S3 key may start with '/': its folder is "/", not ""


def playlist_name(key: RecordingKey, failover: int | None = None) -> str:
    """The playlist file name Agora writes for a recording (or its bak<n>_ failover part)."""
    return _failover_prefix(failover) + _stream_base(key) + ".m3u8"


def redelivered_playlist_name(key: RecordingKey, tick: int, index: int, failover: int | None = None) -> str:
    """`<basename>_<tick>_<index>.m3u8`: a playlist transferred later from Agora's backup cloud."""
    return f"{_failover_prefix(failover)}{_stream_base(key)}_{tick}_{index}.m3u8"


def slice_name(key: RecordingKey, utc: datetime, failover: int | None = None, ext: str = "ts") -> str:
    """The slice file name Agora writes for a slice starting at `utc`."""
    return f"{_failover_prefix(failover)}{_stream_base(key)}_{format_utc(utc)}.{ext}"


def mp4_name(key: RecordingKey, index: int, failover: int | None = None) -> str:
    """`<sid>_<cname>_<index>.mp4` (composite/web) or `<sid>_<cname>__uid_s_<uid>__uid_e_<index>.mp4`."""
    if key.uid is None:
        return f"{_failover_prefix(failover)}{key.base}_{index}.mp4"
    individual = RecordingKey(key.sid, key.cname, key.uid)  # the index stands where the type would
    return f"{_failover_prefix(failover)}{individual.base}{UID_END}{index}.mp4"


def snapshot_name(key: RecordingKey, utc: datetime) -> str:
    """`<sid>_<cname>__uid_s_<uid>__uid_e_video_<utc>.jpg`: a screenshot Agora takes of one uid's video."""
    if key.uid is None or key.stream != "video":
        raise ValueError(f"snapshots belong to an individual-mode video stream: {key!r}")
    return f"{key.base}_{format_utc(utc)}.jpg"


def format_utc(utc: datetime) -> str:
    """17-digit YYYYMMDDhhmmssSSS in UTC."""
    if utc.tzinfo is not None:
        utc = utc.astimezone(UTC)
    # f-string rather than strftime: %Y does not zero-pad years below 1000 on every platform.
    return (
        f"{utc.year:04d}{utc.month:02d}{utc.day:02d}{utc.hour:02d}{utc.minute:02d}{utc.second:02d}"
        f"{utc.microsecond // 1000:03d}"
    )


def parse_utc(text: str) -> datetime | None:
    """A 17-digit YYYYMMDDhhmmssSSS as a timezone-aware UTC datetime; None if malformed or impossible."""
    # Sliced by hand, not by a regex: a listing of millions of slices parses one time per key.
    if len(text) != 17 or not text.isascii() or not text.isdigit():
        return None
    try:
        return datetime(int(text[:4]), int(text[4:6]), int(text[6:8]), int(text[8:10]), int(text[10:12]),
                        int(text[12:14]), int(text[14:]) * 1000, tzinfo=UTC)
    except ValueError:  # month 13, February 30, hour 24, year 0, …
        return None


_Reading = tuple[RecordingKey, datetime | None, int | None, int | None]  # key, utc, tick, index


def _failover_prefix(failover: int | None) -> str:
    return "" if failover is None else f"bak{failover}_"


def _stream_base(key: RecordingKey) -> str:
    if key.uid is not None and key.stream is None:
        raise ValueError(f"an individual-mode key needs a stream for this name: {key!r}")
    return key.base


def _split_individual(body: str) -> tuple[str, str, str] | None:
    """(cname, uid, tail) when `body` is `<cname>__uid_s_<uid>__uid_e_<tail>`, split from the right."""
    left, sep, tail = body.rpartition(UID_END)
    if not sep:
        return None
    cname, sep, uid = left.rpartition(UID_START)
    if not sep or not _TOKEN.fullmatch(uid):
        return None
    return cname, uid, tail


def _individual_readings(kind: FileKind, sid: str, cname: str, uid: str, tail: str) -> list[_Reading]:
    if not cname:
        return []
    if kind == "playlist":
        match = _IND_PLAYLIST.fullmatch(tail)
        if not match:
            return []
        stream, tick, index = match.groups()
        key = RecordingKey(sid, cname, uid, stream)
        return [(key, None, _int(tick), _int(index))]
    if kind in ("slice", "snapshot"):
        match = _IND_SLICE.fullmatch(tail)
        utc = parse_utc(match.group(2)) if match else None
        if match is None or utc is None or (kind == "snapshot" and match.group(1) != "video"):
            return []
        return [(RecordingKey(sid, cname, uid, match.group(1)), utc, None, None)]
    if kind == "mpd":
        return [(RecordingKey(sid, cname, uid, tail), None, None, None)] if tail in STREAMS else []
    match = _IND_MP4.fullmatch(tail)
    if not match:
        return []
    index, stream = match.groups()
    return [(RecordingKey(sid, cname, uid, stream), None, None, _int(index))]


def _composite_readings(kind: FileKind, sid: str, body: str) -> list[_Reading]:
    if kind == "playlist":
        readings: list[_Reading] = [(RecordingKey(sid, body), None, None, None)]
        match = _COMP_REDELIVERED.fullmatch(body)
        if match:
            tick, index = int(match.group(2)), int(match.group(3))
            readings.append((RecordingKey(sid, match.group(1)), None, tick, index))
        return readings
    if kind == "slice":
        match = _COMP_SLICE.fullmatch(body)
        utc = parse_utc(match.group(2)) if match else None
        return [] if match is None or utc is None else [(RecordingKey(sid, match.group(1)), utc, None, None)]
    if kind == "mp4":
        readings = []
        match = _COMP_MP4.fullmatch(body)
        if match:
            readings.append((RecordingKey(sid, match.group(1)), None, None, int(match.group(2))))
        readings.append((RecordingKey(sid, body), None, None, None))
        return readings
    return []  # a composite .mpd or .jpg is not something Agora writes


def _int(text: str | None) -> int | None:
    return None if text is None else int(text)


def slice_time(key: str) -> datetime | None:
    """The UTC time in a slice's name, or None when the key is not a timed Agora name."""
    name = parse_name(split_key(key)[1])
    return name.utc if name is not None else None

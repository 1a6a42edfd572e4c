"""Agora Cloud Recording file names (reference/agora.md §2.2–2.3).

Grammar of a file name (the folder, i.e. the ``fileNamePrefix`` path, is not part of it)::

    [bak<n>_]<sid>_<cname>[__uid_s_<uid>__uid_e_<type>]<suffix>

    suffix  = ".m3u8"                     playlist
            | "_<tick>_<index>.m3u8"      playlist re-delivered from Agora's backup cloud
            | "_<YYYYMMDDhhmmssSSS>.ts"   slice (17-digit UTC start time); also ".webm"
            | "_<index>.mp4"              composite / web MP4
            | ".mpd"                      individual standard-mode DASH index
    type    = "audio" | "video" | "av"    (individual MP4 puts its index where the type stands)

Extensions match in any case. A channel name may contain '_' and many punctuation marks, so names
are parsed from both ends and never split naively on '_'. Where a name is ambiguous (a playlist
``<sid>_a_1_2.m3u8`` is either channel ``a_1_2`` or channel ``a`` re-delivered with tick 1 index 2),
`parse_name_candidates` returns every reading and `catalog` picks the one whose stem matches the
slices, which are unambiguous.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

FileKind = Literal["playlist", "slice", "mp4", "mpd"]
Stream = Literal["audio", "video", "av"]


@dataclass(frozen=True, order=True)
class RecordingKey:
    sid: str
    cname: str
    uid: str | None = None  # individual mode only
    stream: str | None = None  # "audio" | "video" | "av" in individual mode, None in composite/web


@dataclass(frozen=True)
class AgoraName:
    name: str  # the file name as given
    kind: FileKind
    key: RecordingKey
    ext: str  # lower-case, without the dot: "m3u8", "ts", "webm", "mp4", "mpd"
    failover: int | None = None  # n of a "bak<n>_" prefix
    utc: datetime | None = None  # slice start time (timezone-aware UTC), slices only
    tick: int | None = None  # backup re-delivered playlist only
    index: int | None = None  # backup playlist index, or MP4 index

    @property
    def stem(self) -> str:
        """The name without its kind-specific suffix, keeping any bak<n>_ prefix."""
        raise NotImplementedError

    @property
    def base(self) -> str:
        """`<sid>_<cname>[__uid_s_<uid>__uid_e_<type>]` — the stem without the bak<n>_ prefix."""
        raise NotImplementedError


def parse_name_candidates(name: str) -> list[AgoraName]:
    """Every reading of a file name (not a key with folders), most literal reading first; [] if none."""
    raise NotImplementedError


def parse_name(name: str) -> AgoraName | None:
    """The most literal reading of a file name, or None when it is not an Agora recording file."""
    candidates = parse_name_candidates(name)
    return candidates[0] if candidates else None


def split_key(key: str) -> tuple[str, str]:
    """('folder/', 'file name') of a store key; folder is '' at the root and always ends in '/'."""
    folder, _, name = key.rpartition("/")
    return (folder + "/" if folder else ""), name


def playlist_name(key: RecordingKey, failover: int | None = None) -> str:
    """The playlist file name Agora writes for a recording (or its bak<n>_ failover part)."""
    raise NotImplementedError


def slice_name(key: RecordingKey, utc: datetime, failover: int | None = None, ext: str = "ts") -> str:
    """The slice file name Agora writes for a slice starting at `utc`."""
    raise NotImplementedError


def format_utc(utc: datetime) -> str:
    """17-digit YYYYMMDDhhmmssSSS in UTC."""
    raise NotImplementedError

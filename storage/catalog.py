"""Group one store listing into Agora recordings (DESIGN.md "Recordings").

A recording is identified by folder + sid (+ uid and stream in individual mode). It gathers its
playlist variants (the original and `_<tick>_<index>` re-deliveries from Agora's backup), its
failover parts (`bak<n>_` playlists and slices, played in order after the original) and its slices.
Only the listing is used here: no object is read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from storage.naming import RecordingKey
from storage.stores.base import ObjectInfo, ObjectStore


@dataclass
class RecordingPart:
    failover: int | None  # None for the original part, n for a bak<n>_ part
    playlists: list[ObjectInfo] = field(default_factory=list)  # every variant, original first
    playlist: ObjectInfo | None = None  # the variant to use (see `choose_playlist`)
    slices: list[ObjectInfo] = field(default_factory=list)  # .ts/.webm with this part's stem, key order


@dataclass
class Recording:
    folder: str  # "" or "a/b/" — the fileNamePrefix path, always ending in "/" when not empty
    key: RecordingKey
    parts: list[RecordingPart] = field(default_factory=list)  # original first, then bak0, bak1, …
    extras: list[ObjectInfo] = field(default_factory=list)  # .mp4 / .mpd files of the same stem

    @property
    def id(self) -> str:
        """Stable, URL-safe-ish identity: folder + base name (e.g. "rec/<sid>_<cname>__uid_s_1__uid_e_audio")."""
        raise NotImplementedError

    @property
    def playlist(self) -> ObjectInfo | None:
        """The chosen playlist of the original part (or of the first part that has one)."""
        raise NotImplementedError

    @property
    def slices(self) -> list[ObjectInfo]:
        """Every slice of every part, in part order then key order."""
        raise NotImplementedError

    @property
    def start(self) -> datetime | None:
        """The earliest slice UTC time from slice names, or None when there are no slices."""
        raise NotImplementedError


def group(objects: Iterable[ObjectInfo]) -> list[Recording]:
    """Recordings found among these objects, sorted by (folder, sid, cname, uid, stream)."""
    raise NotImplementedError


def find(store: ObjectStore, prefix: str = "", sid: str | None = None, cname: str | None = None) -> list[Recording]:
    """List `store` once under `prefix` (narrowed to `folder + sid` when sid is given) and group it."""
    raise NotImplementedError


def iter_find(store: ObjectStore, prefix: str = "", sid: str | None = None,
              cname: str | None = None) -> Iterator[Recording]:
    """Like `find`, yielding recordings folder by folder so memory follows one folder, not the bucket."""
    raise NotImplementedError

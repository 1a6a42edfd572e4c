"""Is a recording complete? (DESIGN.md "Verification").

Existence and size come from the listing that `catalog` already made; each playlist is read with
at most one GET; segments are never HEAD-ed. With `deep`, slice bytes are read and walked as MPEG-TS.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from storage.catalog import Recording
from storage.stores.base import ObjectStore

Status = Literal["complete", "incomplete", "unfinished", "missing_playlist", "invalid"]
Severity = Literal["error", "warning", "info"]


@dataclass
class Problem:
    code: str  # e.g. "missing_segment", "unsafe_uri", "no_endlist" (playback.md §1.5)
    key: str | None
    message: str
    severity: Severity = "error"


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

    def to_dict(self) -> dict[str, Any]:
        raise NotImplementedError


def verify(store: ObjectStore, recording: Recording, deep: bool = False) -> Report:
    raise NotImplementedError

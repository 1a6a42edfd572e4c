"""Every object of a recording, and the storage class it is kept in.

Taken from the catalog's grouping, never by prefix, so a recording whose sid or channel name starts
another's never pulls in the other's objects. Used by everything that touches a recording's objects
as a whole (delete, move, tier, usage) and by listings that show where a recording is kept.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from storage.recordings.catalog import Recording
from storage.stores.base import ObjectInfo

MIXED = "mixed"  # the recording's objects are not all in one class (a tier cut short, or new slices)


def recording_objects(rec: Recording) -> list[ObjectInfo]:
    """Each part's playlist variants and slices, and the recording's MP4/MPD files, in key order."""
    objects = [obj for part in rec.parts for obj in (*part.playlists, *part.slices)]
    return sorted({obj.key: obj for obj in (*objects, *rec.extras)}.values(), key=lambda obj: obj.key)


def class_counts(rec: Recording) -> dict[str, int]:
    """{storage class: objects} as listed; empty for stores that have no classes (local folders)."""
    counts = Counter(obj.storage_class for obj in recording_objects(rec) if obj.storage_class)
    return dict(sorted(counts.items()))


def recording_class(rec: Recording) -> str | None:
    """The one class all its objects are in, MIXED when they differ, None when the store has no classes."""
    counts = class_counts(rec)
    if not counts:
        return None
    return next(iter(counts)) if len(counts) == 1 else MIXED


def listing_fingerprint(rec: Recording) -> str:
    """A hash of every playlist and slice the listing showed for the recording (key, size, etag or time):
    what a verification result is kept under, so any change to those objects makes a new one."""
    # One update of the joined lines: the same digest as one update per object, at a third of the cost.
    lines = "".join(f"{obj.key}\0{obj.size}\0{obj.etag or (obj.modified.isoformat() if obj.modified else '')}\n"
                    for part in rec.parts for obj in (*part.playlists, *part.slices))
    return hashlib.sha1(lines.encode(), usedforsecurity=False).hexdigest()


def fingerprint_is_exact(rec: Recording) -> bool:
    """Whether the fingerprint pins the content of every playlist and slice: each has an etag (a time
    alone may not change when a playlist is rewritten within its resolution)."""
    return all(obj.etag for part in rec.parts for obj in (*part.playlists, *part.slices))

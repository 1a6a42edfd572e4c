"""Every object of a recording, and the storage class it is kept in.

Taken from the catalog's grouping, never by prefix, so a recording whose sid or channel name starts
another's never pulls in the other's objects. Used by everything that touches a recording's objects
as a whole (delete, move, tier, usage) and by listings that show where a recording is kept.
"""

from __future__ import annotations

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

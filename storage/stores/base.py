"""The one small interface every storage adapter implements (its errors: storage.errors).

Keys are '/'-separated, never URL-encoded, and relative to the store's root: the folder of a
local store, or the bucket plus the prefix given in the store URL (``s3://bucket/prefix``).
Everything above this module is backend-blind.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO, Protocol, runtime_checkable

# The store errors live in storage.errors with the rest of the tree; adapters import them from here.
from storage.errors import AccessDenied as AccessDenied
from storage.errors import InvalidConfig
from storage.errors import NotFound as NotFound
from storage.errors import StoreError as StoreError
from storage.errors import Unavailable as Unavailable

# Set explicitly on every write: SDKs guess from the extension and get `.ts` wrong
# (oss2 picks the Qt linguist type), and browsers refuse to play a wrongly typed slice.
CONTENT_TYPES: dict[str, str] = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".mp4": "video/mp4",
    ".m4s": "video/iso.segment",
    ".webm": "video/webm",
    ".mpd": "application/dash+xml",
    ".m4a": "audio/mp4",
    ".aac": "audio/aac",
    ".mp3": "audio/mpeg",
    ".zip": "application/zip",
    ".json": "application/json",
    ".jpg": "image/jpeg",
}


def content_type_for(key: str) -> str:
    """The Content-Type recshelf writes for a key, chosen by its extension (case-insensitive)."""
    lowered = key.lower()
    for ext, ctype in CONTENT_TYPES.items():
        if lowered.endswith(ext):
            return ctype
    guessed, _ = mimetypes.guess_type(lowered)
    return guessed or "application/octet-stream"


@dataclass(frozen=True)
class ObjectInfo:
    key: str  # relative to the store root, '/'-separated, never URL-encoded
    size: int
    etag: str | None = None
    modified: datetime | None = None  # timezone-aware UTC when the backend gives a time
    storage_class: str | None = None  # the backend's own class name where its listing gives one (classes.py)


def reject_unknown_options(options: Iterable[str], known: frozenset[str], what: str, url: str) -> None:
    """Every adapter's `from_options` check: an option it does not use is an error, not ignored."""
    for name in options:
        if name not in known:
            raise InvalidConfig(f"option {name!r} does not apply to {what} (known: {', '.join(sorted(known))})",
                                url=url)


class Signer(Protocol):
    """Signs URLs of a local folder's objects for the media route of `recshelf serve` (storage/signing.py)."""

    def sign(self, root: str, key: str, expires_s: int) -> str:
        """A URL for `key` below the folder `root`, valid for `expires_s` seconds."""
        ...


BATCH_DELETE_MAX = 1000  # keys per batch request: S3 DeleteObjects, OSS and Qiniu batch all stop at 1,000


def delete_keys(store: ObjectStore, keys: Sequence[str]) -> list[str]:
    """Delete `keys` and return the ones the store refused; a missing key counts as deleted.

    Stores that can delete in batches offer the optional capability `delete_many(keys) -> failed keys`
    (S3, OSS, Qiniu: one request per BATCH_DELETE_MAX keys); any other store gets one `delete` per key.
    An error that stops a whole request (no bucket, no access, unreachable) is raised, not returned.
    """
    batch = getattr(store, "delete_many", None)
    if batch is not None:
        return list(batch(list(keys)))
    failed: list[str] = []
    for key in keys:
        try:
            store.delete(key)
        except (NotFound, InvalidConfig):
            failed.append(key)
    return failed


@runtime_checkable
class ObjectStore(Protocol):
    url: str  # e.g. "s3://bucket/prefix" — never holds secrets

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Every object whose key starts with `prefix`, recursively, in key order, lazily paginated."""
        ...

    def stat(self, key: str) -> ObjectInfo | None:
        """The object's info, or None when it does not exist."""
        ...

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        """Bytes [start, end) of the object (end exclusive, None = to the end). Raises NotFound."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A streaming, closable binary reader of the whole object. Raises NotFound."""
        ...

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        """Store the object whole (readers never see a partial object); content type defaults by extension."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing key is not an error."""
        ...

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        """A URL a browser or plain HTTP client can GET (with Range) until it expires."""
        ...

"""Errors raised by export jobs. Messages name the store URL and key, never a secret."""

from __future__ import annotations

# The base lives in storage.errors with the rest of the tree; re-exported for the export modules.
from storage.errors import ExportError as ExportError


class SliceError(ExportError):
    """A slice is missing, empty, changed since listing, or not MPEG-TS. The message names it."""

    def __init__(self, key: str, reason: str, *, url: str = "") -> None:
        self.key = key
        where = f"{url} " if url else ""
        super().__init__(f"slice {where}{key!r} {reason}")


class SourceUnavailable(ExportError):
    """The source or destination store failed mid-export; finished slices stay cached for a re-run."""

    resumable = True

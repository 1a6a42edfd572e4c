"""How a recording is named when it is downloaded: one rule for the web UI, share pages and the media route."""

from __future__ import annotations

import re
from datetime import UTC
from urllib.parse import quote

from storage.recordings.catalog import Recording

_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f/\\:*?"<>|]+')
MAX_STEM = 180  # characters: below every file system's 255-byte name limit for most channel names


def download_name(rec: Recording, ext: str = "mp4") -> str:
    """``<channel> <YYYY-MM-DD HH-MM>.<ext>`` (UTC): what a person recognises in a downloads folder."""
    when = f" {rec.start.astimezone(UTC):%Y-%m-%d %H-%M}" if rec.start else ""
    stem = _UNSAFE_IN_FILENAME.sub("_", f"{rec.key.cname}{when}").strip(" .") or "recording"
    return f"{stem[:MAX_STEM]}.{ext}"


def attachment(filename: str) -> str:
    """A Content-Disposition for `filename` (RFC 6266): an ASCII fallback plus the UTF-8 name."""
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\' else "_" for ch in filename) or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"

"""Compare an object's etag with the bytes read, when the etag is a checksum we can recompute.

S3 (single-part uploads) and OSS (Normal objects) give the MD5 in hex; Qiniu gives its `qetag`
(SHA-1 of 4 MiB blocks, URL-safe base64). Multipart etags (`…-<n>`), local stores' mtime/size tags
and anything else are not comparable, and `matches` answers None for them rather than guessing.
"""

from __future__ import annotations

import base64
import hashlib
import re

_MD5_HEX = re.compile(r"^[0-9a-fA-F]{32}$")
_QETAG = re.compile(r"^[FlA-Za-z0-9_-]{28}$")
QINIU_BLOCK = 4 * 1024 * 1024


def md5_hex(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


def qetag(data: bytes) -> str:
    """Qiniu's etag of `data`: SHA-1 of the data (or of the concatenated SHA-1s of its 4 MiB blocks)."""
    if len(data) <= QINIU_BLOCK:
        return base64.urlsafe_b64encode(b"\x16" + hashlib.sha1(data).digest()).decode()
    blocks = b"".join(hashlib.sha1(data[i:i + QINIU_BLOCK]).digest() for i in range(0, len(data), QINIU_BLOCK))
    return base64.urlsafe_b64encode(b"\x96" + hashlib.sha1(blocks).digest()).decode()


def matches(etag: str | None, data: bytes) -> bool | None:
    """True/False when `etag` is a checksum of `data` we know how to recompute, None when not comparable."""
    if not etag:
        return None
    tag = etag.strip().strip('"')
    if _MD5_HEX.match(tag):
        return tag.lower() == md5_hex(data)
    if _QETAG.match(tag) and tag[0] in "Fl":
        return tag == qetag(data)
    return None

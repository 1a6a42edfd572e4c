"""`GET /media/{root_id}/{key}?exp=&sig=`: objects of local-folder stores for browsers.

URLs come from `storage.signing.sign_media_url` (LocalStore.signed_url). Each one opens exactly one
file until it expires; the key is checked to stay inside its folder even when signed, so a leaked
secret cannot serve arbitrary files through `..` or symlinks. Range requests (206/416) are what
hls.js and <video> seeking need; CORS is open because a player page on another origin fetches
the slices, and the signature, not the origin, is the access control.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from email.utils import formatdate
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from storage.signing import check_media_signature, decode_root
from storage.signing import configured_media_secret as media_secret
from storage.stores.base import content_type_for
from storage.stores.local import file_info, resolve_inside

_CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Expose-Headers": "Content-Length, Content-Range, Accept-Ranges, ETag",
}


def parse_range(header: str | None, size: int) -> tuple[int, int] | None | str:
    """(start, end inclusive) for one satisfiable range; None to send the whole file; "unsatisfiable"."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # multiple or malformed ranges: RFC 9110 lets a server ignore Range
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    if start >= size:
        return "unsatisfiable"
    end = min(int(last), size - 1) if last else size - 1
    if end < start:
        return None
    return start, end


def _file_chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with path.open("rb") as f:
        f.seek(start)
        while length > 0:
            chunk = f.read(min(_CHUNK, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk


def media_router(secret: str | Callable[[], str | None] | None = None) -> APIRouter:
    """The media routes. Secret: given here (a value or a callable), else `media_secret()`."""
    router = APIRouter()

    def current_secret() -> str | None:
        if callable(secret):
            return secret()
        return secret or media_secret()

    @router.api_route("/media/{root_id}/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def get_media(request: Request, root_id: str, key: str, exp: int = 0, sig: str = "") -> Response:
        secret_now = current_secret()
        if not secret_now:
            return _plain(503, "media serving is not configured (no media secret)")
        if not sig or not check_media_signature(secret_now, root_id, key, exp, sig):
            return _plain(403, "invalid or expired signature")
        try:
            root = Path(decode_root(root_id))
        except ValueError:
            return _plain(404, "not found")
        path = resolve_inside(root, key) if root.is_absolute() else None
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        if path is None or st is None or not path.is_file():
            return _plain(404, "not found")
        return _file_response(request, path, key, st)

    @router.options("/media/{root_id}/{key:path}", include_in_schema=False)
    def preflight(root_id: str, key: str) -> Response:
        del root_id, key
        return Response(status_code=204, headers={
            **CORS_HEADERS,
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "Range",
            "Access-Control-Max-Age": "86400",
        })

    return router


def _file_response(request: Request, path: Path, key: str, st: os.stat_result) -> Response:
    size = st.st_size
    headers = {
        **CORS_HEADERS,
        "Accept-Ranges": "bytes",
        "ETag": f'"{file_info(key, st).etag}"',
        "Last-Modified": formatdate(st.st_mtime, usegmt=True),
        "Cache-Control": "private, max-age=60",
    }
    media_type = content_type_for(key)
    wanted = parse_range(request.headers.get("range"), size)
    if wanted == "unsatisfiable":
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    status, start, end = (200, 0, size - 1) if wanted is None else (206, *wanted)
    length = end - start + 1 if size else 0
    headers["Content-Length"] = str(length)
    if status == 206:
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    return StreamingResponse(_file_chunks(path, start, length), status_code=status, headers=headers,
                             media_type=media_type)


def _plain(status: int, message: str) -> Response:
    return Response(message, status_code=status, media_type="text/plain", headers=CORS_HEADERS)

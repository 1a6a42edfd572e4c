"""`GET /media/{store_id}/{key}?exp=&sig=`: objects of local-folder stores for browsers.

URLs come from `storage.signing.sign_media_url` (LocalStore.signed_url). ``store_id`` is an opaque
id of one of the folders the server's settings name (`Settings.media_roots`), never a path: any
other id is a 404, so even a leaked secret cannot sign a URL for ``/`` and read ``etc/passwd``.
Each URL opens exactly one file until it expires; the key is checked to stay inside its folder
even when signed, so `..` and symlinks lead nowhere. Range requests (206/416) are what
hls.js and <video> seeking need; CORS is open because a player page on another origin fetches
the slices, and the signature, not the origin, is the access control.

Players: a signed playlist URL with ``&play=1`` answers the playlist a player may have
(storage/recordings/master.py `served_playlist`: slices signed, holes marked, closed as VOD unless
the recording is running), and ``<video playlist stem>.master.m3u8`` an individual-mode uid's master
playlist (audio as the alternate rendition), so one signed URL plays the whole uid. Slice URLs in
those playlists are path-absolute (``/media/…``), so they follow whatever host the player used.
Downloads: a URL signed with a download name (``&dl=``) is sent as an attachment under that name.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from email.utils import formatdate
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse

from storage.recordings.downloads import attachment
from storage.recordings.master import MASTER_SUFFIX, served_playlist
from storage.signing import MediaSigner, check_media_signature, media_store_ids
from storage.stores.base import StoreError, content_type_for
from storage.stores.local import LocalStore, file_info, resolve_inside

_CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_MAX_DIGITS = 18  # no file is 10**18 bytes; longer numbers are refused before int() (which caps at 4300)
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
    if len(first) > _MAX_DIGITS or len(last) > _MAX_DIGITS:
        return "unsatisfiable"
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


def media_router(secret: str | Callable[[], str | None] | None,
                 roots: Iterable[str | Path] | Callable[[], Iterable[str | Path]] = (),
                 running: Callable[[str], bool] = lambda sid: False) -> APIRouter:
    """The media routes for the folders `roots`, signed with `secret` (values, or callables asked per request).

    `running(sid)` tells whether a recording is still running (then its playlist is served live).
    """
    router = APIRouter()

    def current_secret() -> str | None:
        return secret() if callable(secret) else secret

    def current_roots(secret_now: str) -> dict[str, Path]:
        return media_store_ids(secret_now, roots() if callable(roots) else roots)

    @router.api_route("/media/{store_id}/{key:path}", methods=["GET", "HEAD"], include_in_schema=False)
    def get_media(request: Request, store_id: str, key: str, exp: int = 0, sig: str = "", dl: str = "",
                  play: int = 0) -> Response:
        secret_now = current_secret()
        if not secret_now:
            return _plain(503, "media serving is not configured (no media secret)")
        if not sig or not check_media_signature(secret_now, store_id, key, exp, sig, download=dl):
            return _plain(403, "invalid or expired signature")
        root = current_roots(secret_now).get(store_id)
        if root is not None and (play and key.endswith(".m3u8") or key.endswith(MASTER_SUFFIX)):
            return _player_playlist(LocalStore(root, signer=MediaSigner("", secret_now)), key, running)
        path = resolve_inside(root, key) if root is not None else None
        try:
            st = path.stat() if path is not None else None
        except OSError:
            st = None
        if path is None or st is None or not path.is_file():
            return _plain(404, "not found")
        return _file_response(request, path, key, st, dl)

    @router.options("/media/{store_id}/{key:path}", include_in_schema=False)
    def preflight(store_id: str, key: str) -> Response:
        del store_id, key
        return Response(status_code=204, headers={
            **CORS_HEADERS,
            "Access-Control-Allow-Methods": "GET, HEAD, OPTIONS",
            "Access-Control-Allow-Headers": "Range",
            "Access-Control-Max-Age": "86400",
        })

    return router


def _player_playlist(store: LocalStore, key: str, running: Callable[[str], bool]) -> Response:
    try:
        text = served_playlist(store, key, running=running)
    except StoreError as exc:
        return _plain(502, f"the folder could not be read: {exc.reason}")
    if text is None:
        return _plain(404, "no such playlist")
    # Never cached: each fetch signs afresh, and a live playlist grows.
    return Response(text, media_type="application/vnd.apple.mpegurl",
                    headers={**CORS_HEADERS, "Cache-Control": "no-store"})


def _file_response(request: Request, path: Path, key: str, st: os.stat_result, download: str = "") -> Response:
    size = st.st_size
    headers = {
        **CORS_HEADERS,
        "Accept-Ranges": "bytes",
        "ETag": f'"{file_info(key, st).etag}"',
        "Last-Modified": formatdate(st.st_mtime, usegmt=True),
        "Cache-Control": "private, max-age=60",
    }
    if download:
        headers["Content-Disposition"] = attachment(download)
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

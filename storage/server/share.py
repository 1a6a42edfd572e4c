"""Share links: a signed, expiring playlist URL that VLC, Safari or hls.js can open.

A link is ``<base>/share/<payload>/<sig>/<name>.m3u8``. ``payload`` is base64url JSON naming the
store (a profile name or a store URL, which never holds secrets), the recording (folder, sid and
id) and the expiry; ``sig`` is HMAC-SHA256 of the payload with the server's media secret. On each
request the route lists the recording again, re-reads its playlist(s) and replaces every slice URI
with a fresh signed URL, so the link keeps working for as long as it is valid even though slice
URLs expire sooner, and a slice that has gone missing becomes an ``#EXT-X-GAP`` instead of a stall.

The payload is signed, not encrypted: it shows the store reference and the recording's name.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Response

from storage.media.naming import split_key
from storage.recordings.catalog import Recording, find
from storage.settings import Settings
from storage.stores.base import ObjectStore, StoreError

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
MIN_SLICE_EXPIRY_S = 3600
MAX_EXPIRY_S = 7 * 24 * 3600  # SigV4 presigned URLs cannot live longer
SHARE_EXPIRIES: dict[str, int] = {"1 hour": 3600, "1 day": 86400, "7 days": MAX_EXPIRY_S}

SettingsSource = Callable[[], Settings]


# -- tokens --------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def _sign(secret: str, payload: str) -> str:
    return hmac.new(secret.encode(), b"share\n" + payload.encode(), hashlib.sha256).hexdigest()


def make_share_url(base_url: str, secret: str, store_ref: str, rec: Recording, expires_s: int,
                   now: float | None = None) -> str:
    """A signed playlist URL for `rec` in the store `store_ref`, valid for `expires_s` seconds."""
    if expires_s <= 0:
        raise ValueError("expires_s must be positive")
    exp = int((time.time() if now is None else now) + min(expires_s, MAX_EXPIRY_S))
    body = {"s": store_ref, "f": rec.folder, "sid": rec.key.sid, "id": rec.id, "e": exp}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    name = quote(f"{rec.key.sid}_{rec.key.cname}"[:80], safe="") or "recording"
    return f"{base_url.rstrip('/')}/share/{payload}/{_sign(secret, payload)}/{name}.m3u8"


def read_share_token(secret: str, payload: str, sig: str, now: float | None = None) -> dict[str, Any] | None:
    """The token's fields when the signature is right and it has not expired, else None."""
    if not hmac.compare_digest(_sign(secret, payload), sig):
        return None
    try:
        body = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("e"), int):
        return None
    if body["e"] < (time.time() if now is None else now):
        return None
    return body


# -- playback playlists -------------------------------------------------------------------------


def slice_expiry(duration_s: float | None) -> int:
    """Long enough to pause and resume a whole recording (playback.md §4.3)."""
    return int(min(MAX_EXPIRY_S, max(MIN_SLICE_EXPIRY_S, 2 * (duration_s or 0) + 600)))


def playback_playlist(store: ObjectStore, rec: Recording, expires_s: int) -> tuple[str, int]:
    """(playlist text with signed slice URLs, number of slices marked ``#EXT-X-GAP``).

    Failover parts (``bak<n>_``) follow the original after a discontinuity, as Agora means them to
    be played. A slice the listing lacks, or holds empty, becomes a gap: hls.js skips a gap but
    stalls forever at a 404 (playback.md §4.4).
    """
    from storage.media.hls import rewrite_for_playback

    present = {s.key for s in rec.slices if s.size > 0}
    gaps = 0
    texts: list[str] = []
    for part in rec.parts:
        if part.playlist is None:
            continue
        folder = split_key(part.playlist.key)[0]

        def url_for(uri: str, folder: str = folder) -> str | None:
            nonlocal gaps
            key = folder + uri
            if key not in present:
                gaps += 1
                return None
            return store.signed_url(key, expires_s)

        raw = store.read(part.playlist.key).decode("utf-8", errors="replace")
        texts.append(rewrite_for_playback(raw, url_for))
    return join_playlists(texts), gaps


def join_playlists(texts: Iterable[str]) -> str:
    """Concatenate media playlists: the first one's header, a discontinuity between parts, one end tag."""
    texts = list(texts)
    if len(texts) <= 1:
        return texts[0] if texts else ""
    out: list[str] = []
    ended = False
    for n, text in enumerate(texts):
        lines = text.splitlines()
        if n > 0:
            # Later parts lose their header: keep everything from the first per-segment tag on.
            starts = ("#EXTINF", "#EXT-X-DISCONTINUITY", "#EXT-X-GAP", "#EXT-X-AGORA")
            first = next((i for i, line in enumerate(lines) if line.startswith(starts)), len(lines))
            lines = lines[first:]
            if not lines or lines[0] != "#EXT-X-DISCONTINUITY":
                out.append("#EXT-X-DISCONTINUITY")
        for line in lines:
            if line.strip() == "#EXT-X-ENDLIST":
                ended = True  # only the last part's end tag matters to a player
                continue
            out.append(line)
    if ended:
        out.append("#EXT-X-ENDLIST")
    return "\n".join(out) + "\n"


# -- the route -----------------------------------------------------------------------------------


STORE_CACHE_S = 300  # opened stores (clients, connection pools) are reused for at most this long


def _store_cache(settings: SettingsSource) -> Callable[[str], ObjectStore]:
    """open(store_ref), reusing a store for at most STORE_CACHE_S.

    The time window in the key makes edits to recshelf.toml profiles take effect within minutes,
    without a restart (when `settings` reloads), while requests in between reuse one client.
    """

    @functools.lru_cache(maxsize=32)
    def open_for_window(store_ref: str, window: int) -> ObjectStore:
        del window  # part of the cache key only
        current = settings()
        # Local slices are served by this server: signed for the public URL, not an internal host.
        return current.open_store(store_ref, signer=current.signer(current.public_url))

    return lambda store_ref: open_for_window(store_ref, int(time.monotonic() // STORE_CACHE_S))


def find_recording(store: ObjectStore, folder: str, sid: str, rec_id: str) -> Recording | None:
    for rec in find(store, prefix=folder, sid=sid):
        if rec.id == rec_id:
            return rec
    return None


def share_router(settings: Settings | SettingsSource) -> APIRouter:
    """GET /share/...: `settings` is the server's, or a callable giving the current ones."""
    current = settings if callable(settings) else (lambda: settings)
    open_store = _store_cache(current)
    router = APIRouter()

    @router.get("/share/{payload}/{sig}/{name}")
    def shared_playlist(payload: str, sig: str, name: str) -> Response:
        del name  # only there so players see a ".m3u8" URL
        secret = current().media_secret  # share links are signed with the media secret
        if not secret:
            raise HTTPException(503, "sharing is not configured on this server (no media secret)")
        body = read_share_token(secret, payload, sig)
        if body is None:
            # One answer for forged and expired links: nothing to learn by probing.
            raise HTTPException(403, "this link is invalid or has expired")
        try:
            store = open_store(str(body["s"]))
            rec = find_recording(store, str(body["f"]), str(body["sid"]), str(body["id"]))
            if rec is None or not any(p.playlist for p in rec.parts):
                raise HTTPException(404, "the recording or its playlist is no longer in the store")
            remaining = body["e"] - int(time.time())
            text, _ = playback_playlist(store, rec, max(slice_expiry(None), min(remaining + 3600, MAX_EXPIRY_S)))
        except StoreError as exc:
            # Store errors name the store and key, never a secret (stores/base.py); no traceback is sent.
            raise HTTPException(502, f"the store could not be read: {exc.reason}") from None
        return Response(text, media_type=PLAYLIST_TYPE, headers={
            "Cache-Control": "no-store",  # every fetch must get freshly signed slice URLs
            "Access-Control-Allow-Origin": "*",  # players on other origins (hls.js demo pages) may fetch it
        })

    return router

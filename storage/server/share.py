"""`GET /share/{payload}/{sig}/{name}.m3u8`: share links that VLC, Safari or hls.js can open.

The link is a share token (storage/signing.py); on each request the route lists the recording
again, re-reads its playlist(s) and has storage/recordings/playback.py write the playlist the player
gets, with freshly signed slice URLs: the link keeps working for as long as it is valid even though
slice URLs expire sooner, and a slice that has gone missing becomes an ``#EXT-X-GAP`` instead of a stall.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable

from fastapi import APIRouter, HTTPException, Response

from storage.recordings.playback import find_recording, playback_playlist, slice_expiry
from storage.settings import Settings
from storage.signing import MAX_EXPIRY_S, read_share_token
from storage.stores.base import ObjectStore, StoreError

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SettingsSource = Callable[[], Settings]


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

"""Share links: ``/share/<token>`` answers a player page; the playlist and the download hang below it.

The token is random and opaque (storage/signing.py); what it opens is a row of the service database
(storage/service/repo_shares.py), so links can be listed and revoked. On each request the route
finds the recording in its store again and has storage/recordings/playback.py write the playlist the
player gets, with freshly signed, short-lived slice URLs (local folders: this server's media route),
so a link outlives its slice URLs and a slice gone missing becomes an ``#EXT-X-GAP``.

    GET /share/<token>                   the page (title, channel, start, duration, player, download)
    GET /share/<token>/playlist.m3u8     the rewritten playlist, for the page, VLC or Safari
    GET /share/<token>/download          an MP4 (audio + video merged), when the link allows downloads
    GET /share/<a>/<b>/<name>            links of the old readable-token scheme: 410, in words

Expired and revoked links answer 410 with a page in words; an unknown token 404.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Request, Response
from fastapi.responses import FileResponse, HTMLResponse

from storage.recordings.catalog import Recording
from storage.recordings.downloads import attachment, download_name
from storage.recordings.master import bandwidth, master_playlist, uid_streams
from storage.recordings.playback import playback_playlist, playlist_durations, slice_expiry
from storage.recordings.player_assets import HLS_JS, HLS_JS_NAME
from storage.server.share_page import PAGE_HEADERS, SHARE_JS, PlayerPage, message_page, player_page
from storage.service.repo_shares import ACTIVE, REVOKED, Share, ShareRepo
from storage.service.shares import shared_recordings
from storage.settings import Settings
from storage.signing import is_share_token, share_url
from storage.stores.base import ObjectStore, StoreError

PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
STORE_CACHE_S = 300  # opened stores (clients, connection pools) are reused for at most this long
MIN_SLICE_URL_S = 60  # even a link about to expire gets slice URLs a player can start with
SettingsSource = Callable[[], Settings]
SharesSource = Callable[[], ShareRepo]


def _store_cache(settings: SettingsSource) -> Callable[[str, str], ObjectStore]:
    """open(store_ref, media_base), reusing a store for at most STORE_CACHE_S.

    The time window in the key makes edits to recshelf.toml profiles take effect within minutes,
    without a restart (when `settings` reloads), while requests in between reuse one client.
    """

    @functools.lru_cache(maxsize=32)
    def open_for_window(store_ref: str, media_base: str, window: int) -> ObjectStore:
        del window  # part of the cache key only
        current = settings()
        return current.open_store(store_ref, signer=current.signer(media_base))

    return lambda store_ref, base: open_for_window(store_ref, base, int(time.monotonic() // STORE_CACHE_S))


def _words(status: int, heading: str, text: str) -> HTMLResponse:
    return HTMLResponse(message_page(heading, text), status_code=status, headers=PAGE_HEADERS)


GONE_OLD = ("This link no longer works",
            "It was made by an older recshelf whose links showed where the recording is kept. "
            "Ask whoever shared it for a new link.")
UNKNOWN = ("No such link", "This share link does not exist. Check that it was copied whole.")
REVOKED_WORDS = ("This link was revoked", "Whoever shared this recording has withdrawn the link. "
                                          "Ask them for a new one if you still need it.")
EXPIRED_WORDS = ("This link has expired", "Share links work for a limited time, and this one's is over. "
                                          "Ask whoever shared it for a new link.")
GONE_REC = ("The recording is not there any more", "The link is valid, but the recording it opens is no "
                                                   "longer in its storage, or has no playlist yet.")
NO_DB = ("Sharing is not available", "This server has no database of share links.")


def share_router(settings: Settings | SettingsSource, shares: SharesSource) -> APIRouter:
    """The share routes: `settings` is the server's (or a callable giving the current ones)."""
    current = settings if callable(settings) else (lambda: settings)
    open_store = _store_cache(current)
    router = APIRouter()

    def base_of(request: Request) -> str:
        # Where the viewer reaches this server: [server] public_url, else the URL the command started.
        return current().share_base() or str(request.base_url).rstrip("/")

    def media_base(request: Request) -> str:
        now = current()
        return now.public_url or now.media_url or str(request.base_url).rstrip("/")

    def lookup(token: str) -> Share | HTMLResponse:
        if not is_share_token(token):
            return _words(404, *UNKNOWN)
        try:
            share = shares().by_token(token)
        except OSError:
            return _words(503, *NO_DB)
        if share is None:
            return _words(404, *UNKNOWN)
        state = share.state(time.time())
        if state != ACTIVE:
            return _words(410, *(REVOKED_WORDS if state == REVOKED else EXPIRED_WORDS))
        return share

    def opened(request: Request, token: str) -> tuple[Share, ObjectStore, list[Recording]] | HTMLResponse:
        share = lookup(token)
        if isinstance(share, HTMLResponse):
            return share
        try:
            store = open_store(share.store, media_base(request))
            recordings = shared_recordings(store, share)
        except StoreError as exc:
            # The reason names what failed, never a secret; the store itself is not named to viewers.
            return _words(502, "The recording cannot be read right now",
                          f"Its storage did not answer ({exc.reason}). Try again in a while.")
        if not recordings:
            return _words(404, *GONE_REC)
        return share, store, recordings

    @router.get(f"/share/assets/{HLS_JS_NAME}", include_in_schema=False)
    def hls_js() -> FileResponse:
        return FileResponse(HLS_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=86400"})

    @router.get("/share/assets/share.js", include_in_schema=False)
    def share_js() -> Response:
        return Response(SHARE_JS, media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"})

    @router.get("/share/{token}", include_in_schema=False)
    def page(request: Request, token: str) -> Response:
        found = opened(request, token)
        if isinstance(found, HTMLResponse):
            return found
        share, store, recordings = found
        rec = recordings[0]
        try:
            durations = playlist_durations(store, rec)
        except StoreError:
            durations = {}
        html = player_page(PlayerPage(
            token=token, title=share.title, channel=rec.key.cname, start=rec.start, uid=rec.key.uid,
            duration_s=sum(durations.values()) if durations else None,
            expires=datetime.fromtimestamp(share.expires_at, UTC),
            playlist_url=share_url(base_of(request), token) + "/playlist.m3u8", download=share.allow_download))
        return HTMLResponse(html, headers=PAGE_HEADERS)

    @router.get("/share/{token}/playlist.m3u8", include_in_schema=False)
    def playlist(request: Request, token: str, stream: str = "") -> Response:
        found = opened(request, token)
        if isinstance(found, HTMLResponse):
            return found
        share, store, recordings = found
        # Slice URLs last long enough to watch the recording, but not past the link's own end.
        remaining = int(share.expires_at - time.time())
        # An individual-mode uid is one stream: a master naming its video and audio playlists below.
        streams = uid_streams(recordings[0], recordings)
        try:
            if streams.paired and streams.video and streams.audio and stream not in ("audio", "video"):
                text = master_playlist("playlist.m3u8?stream=video", "playlist.m3u8?stream=audio",
                                       bandwidth_bps=bandwidth(streams.video, streams.audio))
            else:
                chosen = {"audio": streams.audio, "video": streams.video}.get(stream) or recordings[0]
                text, _ = playback_playlist(store, chosen, max(MIN_SLICE_URL_S, min(slice_expiry(None), remaining)))
        except StoreError as exc:
            return _words(502, "The recording cannot be read right now", f"{exc.reason}. Try again in a while.")
        return Response(text, media_type=PLAYLIST_TYPE, headers={
            "Cache-Control": "no-store",  # every fetch must get freshly signed slice URLs
            "Access-Control-Allow-Origin": "*",  # players on other origins may fetch it; the token is the key
            "Referrer-Policy": "no-referrer",
        })

    @router.get("/share/{token}/download", include_in_schema=False)
    def download(request: Request, token: str) -> Response:
        found = opened(request, token)
        if isinstance(found, HTMLResponse):
            return found
        share, store, recordings = found
        if not share.allow_download:
            return _words(403, "Downloads are off for this link", "Whoever shared it allows playing only.")
        path = _export_mp4(shares().db.folder, store, share, recordings)
        if path is None:
            return _words(500, "The download could not be made", "The recording could not be turned into an "
                                                                 "MP4 file. Playing it still works.")
        name = download_name(recordings[0])
        return FileResponse(path, media_type="video/mp4", headers={
            "Content-Disposition": attachment(name),
            "Cache-Control": "private, no-store", "Referrer-Policy": "no-referrer"})

    @router.get("/share/{payload}/{sig}/{name}", include_in_schema=False)
    def old_link(payload: str, sig: str, name: str) -> HTMLResponse:
        del payload, sig, name
        return _words(410, *GONE_OLD)

    return router


def _export_mp4(data: Path, store: ObjectStore, share: Share, recordings: list[Recording]) -> str | None:
    """The MP4 of the share in the data folder (exported once, kept while its slices are unchanged)."""
    from storage.export import Destination, ExportOptions, run_export

    folder = data.absolute() / "exports" / "shares" / str(share.id)
    results = run_export(store, recordings, Destination.for_folder(folder),
                         ExportOptions(format="mp4", allow_incomplete=True))
    done = [r for r in results if r.ok and r.outputs]
    return done[0].outputs[0] if done else None

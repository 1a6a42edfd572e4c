"""The hls.js player as a declared Streamlit component (reference/playback.md §4.2 option B).

The component folder is served by Streamlit itself, so the page needs no CDN and no npm build. The
player gets the playlist *text* (slice URIs already signed, holes marked ``#EXT-X-GAP``) and plays
it from a Blob URL. An individual-mode uid is one player: the video playlist, the audio playlist and
a master playlist naming them by placeholders, which the page replaces with their Blob URLs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

from storage.recordings.master import master_playlist
from storage.recordings.player_assets import ASSETS_DIR, HLS_JS_VERSION
from webui.components import ensure_registered

__all__ = ["AUDIO_PLACEHOLDER", "HLS_JS_VERSION", "PLAYER_DIR", "VIDEO_PLACEHOLDER", "hls_player"]

PLAYER_DIR = Path(__file__).resolve().parent

# index.html replaces these with the Blob URLs of the two media playlists.
VIDEO_PLACEHOLDER = "__RECSHELF_VIDEO_PLAYLIST__"
AUDIO_PLACEHOLDER = "__RECSHELF_AUDIO_PLAYLIST__"

_component = components.declare_component("hls_player", path=str(PLAYER_DIR))
# hls.js lives below both faces (storage/recordings/player_assets) so the server's share pages ship the
# same copy. Streamlit serves a component only from its own folder, so the assets folder is declared as
# a second component that is never rendered: index.html loads ../<this name>/hls.min.js.
_assets = components.declare_component("hls_assets", path=str(ASSETS_DIR))


def hls_player(playlist: str, *, source_id: str, kind: str = "video", autoplay: bool = False,
               audio_playlist: str | None = None, bandwidth_bps: int = 0, live: bool = False,
               src: str | None = None, key: str | None = None) -> dict[str, Any] | None:
    """Render the player; returns the last event it reported (e.g. ``{"error": "fragLoadError"}``) or None.

    `source_id` identifies the playlist: reruns with the same id keep playing instead of restarting,
    even though re-signed URLs would change the text. With `audio_playlist`, `playlist` is the
    video and both play as one stream; `live` says the recording is still running. `src`, a URL
    the server re-renders on each fetch, is played instead of the texts (a live playlist grows).
    """
    master = (master_playlist(VIDEO_PLACEHOLDER, AUDIO_PLACEHOLDER, bandwidth_bps=bandwidth_bps)
              if audio_playlist else None)
    ensure_registered(_component, _assets)
    value = _component(playlist=playlist, audio_playlist=audio_playlist, master=master, source_id=source_id,
                       kind=kind, autoplay=autoplay, live=live, src=src, key=key, default=None)
    return value if isinstance(value, dict) else None

"""The hls.js player as a declared Streamlit component (reference/playback.md §4.2 option B).

The component folder is served by Streamlit itself, so the page needs no CDN and no npm build. The
player gets the playlist *text* (slice URIs already signed, holes marked ``#EXT-X-GAP``) and plays
it from a Blob URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

from storage.recordings.player_assets import ASSETS_DIR, HLS_JS_VERSION

__all__ = ["HLS_JS_VERSION", "PLAYER_DIR", "hls_player"]

PLAYER_DIR = Path(__file__).resolve().parent

_component = components.declare_component("hls_player", path=str(PLAYER_DIR))
# hls.js lives below both faces (storage/recordings/player_assets) so the server's share pages ship the
# same copy. Streamlit serves a component only from its own folder, so the assets folder is declared as
# a second component that is never rendered: index.html loads ../<this name>/hls.light.min.js.
components.declare_component("hls_assets", path=str(ASSETS_DIR))


def hls_player(playlist: str, *, source_id: str, kind: str = "video", autoplay: bool = False,
               key: str | None = None) -> dict[str, Any] | None:
    """Render the player; returns the last event it reported (e.g. ``{"error": "fragLoadError"}``) or None.

    `source_id` identifies the playlist: reruns with the same id keep playing instead of restarting,
    even though re-signed URLs would change the text.
    """
    value = _component(playlist=playlist, source_id=source_id, kind=kind, autoplay=autoplay,
                       key=key, default=None)
    return value if isinstance(value, dict) else None

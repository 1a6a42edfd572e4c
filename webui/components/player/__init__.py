"""The hls.js player as a declared Streamlit component (reference/playback.md §4.2 option B).

The component folder is served by Streamlit itself, so the page needs no CDN and no npm build. The
player gets the playlist *text* (slice URIs already signed, holes marked ``#EXT-X-GAP``) and plays
it from a Blob URL.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit.components.v1 as components

PLAYER_DIR = Path(__file__).resolve().parent
HLS_JS_VERSION = "1.7.4"

_component = components.declare_component("hls_player", path=str(PLAYER_DIR))


def hls_player(playlist: str, *, source_id: str, kind: str = "video", autoplay: bool = False,
               key: str | None = None) -> dict[str, Any] | None:
    """Render the player; returns the last event it reported (e.g. ``{"error": "fragLoadError"}``) or None.

    `source_id` identifies the playlist: reruns with the same id keep playing instead of restarting,
    even though re-signed URLs would change the text.
    """
    value = _component(playlist=playlist, source_id=source_id, kind=kind, autoplay=autoplay,
                       key=key, default=None)
    return value if isinstance(value, dict) else None

"""Download and share controls of the recording page.

Share links are signed playlist URLs served by storage/server.py (storage/share_routes.py), so the
browser, VLC or Safari fetch freshly signed slices on each request. Exports are written to a file
and offered as a signed, expiring link to the server's media route: `st.download_button` would hold
the whole file in the Streamlit server's memory (playback.md §4.5).
"""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from storage.catalog import Recording
from storage.share_routes import SHARE_EXPIRIES, make_share_url, media_secret, share_base
from storage.stores.base import ObjectStore
from webui import services


def render(store_ref: str, store: ObjectStore, rec: Recording, report: dict[str, Any]) -> None:
    st.subheader("Share")
    base = share_base(os.environ.get(services.SERVER_URL_ENV))
    secret = media_secret()
    playable = any(p.playlist for p in rec.parts)
    if not (base and secret):
        st.caption("Share links need the recshelf server: start the UI with `recshelf ui`, or set "
                   "RECSHELF_SERVER_URL (or [server] public_url) and a media secret.")
    c1, c2 = st.columns([1, 3])
    expiry = c1.selectbox("Link valid for", list(SHARE_EXPIRIES), index=1, key="share_expiry")
    if c2.button("Copy share link", disabled=not (base and secret and playable),
                 help="A signed playlist URL: anyone holding it can play this recording until it expires."):
        assert base and secret
        links = st.session_state.setdefault("share_urls", {})
        links[rec.id] = make_share_url(base, secret, store_ref, rec, SHARE_EXPIRIES[expiry])
    url = st.session_state.get("share_urls", {}).get(rec.id)
    if url:
        st.code(url, language=None)  # the code block has a copy button
        st.caption(f"Valid for {expiry}. Opens in VLC, Safari or any HLS player.")
    _render_exports(store_ref, store, rec, report)


def _render_exports(store_ref: str, store: ObjectStore, rec: Recording, report: dict[str, Any]) -> None:
    del store_ref, store, rec, report
    st.subheader("Download")
    st.caption("MP4 / TS / zip downloads appear here once the export engine has landed.")
    c1, c2, c3 = st.columns(3)
    c1.button("MP4", disabled=True, key="dl_mp4")
    c2.button("TS", disabled=True, key="dl_ts")
    c3.button("zip", disabled=True, key="dl_zip")

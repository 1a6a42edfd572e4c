"""Share links in the web UI: the create-link control of the recording page, and the links' database.

Links are rows of the service database in the data folder (storage/service/repo_shares.py), the same
one the server started by `recshelf ui` answers ``/share/<token>`` from, and `recshelf share --list`
reads. A link opens a player page for anyone holding it, logged in or not, until it expires or is
revoked on the "Shared links" page.
"""

from __future__ import annotations

import time

import streamlit as st

from storage.errors import ShareError
from storage.recordings.catalog import Recording
from storage.service.db import Database
from storage.service.repo_shares import ShareRepo
from storage.signing import SHARE_EXPIRIES, share_url
from storage.stores.base import ObjectStore, StoreError
from webui import services
from webui.components.copy_link import copy_link_button


def share_repo() -> ShareRepo:
    settings = services.current_settings()
    return ShareRepo(Database(settings.data_dir(), synchronous=settings.env.sqlite_sync))


def link_base() -> str | None:
    """Where links point: [server] public_url, else the server `recshelf ui` started; None without either."""
    return services.current_settings().share_base()


def show_link(url: str, key: str) -> None:
    """The copy button, with the link in st.code beside it (its own copy icon, and the fallback)."""
    copy_link_button(url, key=f"copy-{key}")
    st.code(url, language=None)


def render_create(store_ref: str, store: ObjectStore, rec: Recording) -> None:
    """Make a share link of this recording (its uid's streams in individual mode)."""
    from storage.service.shares import ShareRequest, create_share, durable_store_ref

    st.subheader("Share")
    settings = services.current_settings()
    base = link_base()
    playable = any(p.playlist for p in rec.parts)
    if not base:
        st.caption("Share links need the recshelf server: start the UI with `recshelf ui`, or set "
                   "RECSHELF_SERVER_URL (or [server] public_url).")
    c1, c2, c3 = st.columns([1, 1, 2])
    expiry = c1.selectbox("Link valid for", list(SHARE_EXPIRIES), index=1, key="share_expiry")
    allow_download = c2.checkbox("Allow download", value=True, key="share_download",
                                 help="The page then offers the recording as one MP4 file.")
    if c3.button("Create share link", disabled=not (base and playable), key="share_create",
                 help="A link to a player page: anyone holding it can watch until it expires or is revoked."):
        request = ShareRequest(store=durable_store_ref(store_ref, store, settings.profiles), sid=rec.key.sid,
                               uid=rec.key.uid, cname=rec.key.cname, prefix=rec.folder,
                               expires_s=SHARE_EXPIRIES[expiry], allow_download=allow_download)
        try:
            share = create_share(share_repo(), store, request, time.time())
        except (ShareError, StoreError, OSError) as exc:
            st.error(f"Cannot make a share link: {services.safe_md(str(exc))}")
        else:
            st.session_state.setdefault("share_urls", {})[rec.id] = share_url(str(base), share.token)
    url = st.session_state.get("share_urls", {}).get(rec.id)
    if url:
        show_link(url, rec.id)
        st.caption("Opens a player page in any browser; the page also offers the playlist for VLC or Safari. "
                   "Listed, and revocable, on the Shared links page.")
        if not settings.public_url:
            st.caption("This link names this machine's server address; set `[server] public_url` in "
                       "recshelf.toml (or RECSHELF_PUBLIC_URL) to share it beyond this network.")

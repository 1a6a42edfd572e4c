"""Shared links: every share link made here or with `recshelf share`, newest first; revoke one."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from storage.service.repo_shares import ACTIVE
from storage.signing import share_url
from webui import services, sharing

st.title("Shared links")
st.caption("Links open a player page for anyone holding them, until they expire or are revoked here. "
           "Made on a recording's page or with `recshelf share STORE --sid S`.")
try:
    shares = sharing.share_repo().list()
except OSError as exc:
    st.error(f"Cannot read the share links: {services.safe_md(str(exc))}")
    st.stop()
base = services.current_settings().share_link_base()
now = time.time()
if not shares:
    st.info("No share links yet: open a recording and press **Create share link**.")
    st.stop()

rows = [{"id": s.id, "recording": s.title, "state": s.state(now),
         "created (UTC)": pd.Timestamp(s.created_at, unit="s").floor("s"),
         "expires (UTC)": pd.Timestamp(s.expires_at, unit="s").floor("s"),
         "download": "yes" if s.allow_download else "no", "link": share_url(base, s.token)} for s in shares]
counts = pd.Series([r["state"] for r in rows]).value_counts()
st.caption(" · ".join(f"{n} {state}" for state, n in counts.items()))
st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch",
             column_config={"link": st.column_config.LinkColumn("link", display_text="open")})

active = [s for s in shares if s.state(now) == ACTIVE]
if active:
    st.subheader("Copy or revoke")
    labels = {s.id: f"{s.id} · {s.title}" for s in active}
    chosen = st.selectbox("Link", list(labels), format_func=labels.__getitem__, key="shares_pick")
    picked = next(s for s in active if s.id == chosen)
    sharing.show_link(share_url(base, picked.token), f"list-{picked.id}")
    if st.button("Revoke this link", type="primary", key="shares_revoke",
                 help="The link then answers a page saying it was revoked (HTTP 410). This cannot be undone."):
        sharing.share_repo().revoke(picked.id)
        st.success(f"Link {picked.id} revoked.")
        st.rerun()

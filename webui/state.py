"""Streamlit-side shared state: the chosen store, cached listings and verification results.

Listings are cached per (store, prefix) with `st.cache_resource` (a 20,000-recording catalog is
shared, not unpickled on every rerun; nothing mutates it) and a visible Refresh. Verification
results live in the service database (`webui.verification`), keyed by a fingerprint of what the
listing saw, so a recording is verified again only when its objects change, and a reload shows them
at once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError
from webui import services, table
from webui.verification import Verifications
from webui.verification import fingerprint as fingerprint

OTHER = "Other: type a store URL"
LISTING_TTL_S = 600


@st.cache_resource(show_spinner=False, max_entries=16)
def get_store(store_ref: str) -> ObjectStore:
    return services.current_settings().open_store(store_ref)


@st.cache_resource(show_spinner="Listing recordings…", ttl=LISTING_TTL_S, max_entries=16)
def load_catalog(store_ref: str, prefix: str) -> list[Recording]:
    from storage.recordings.catalog import find

    return find(get_store(store_ref), prefix=prefix)


@st.cache_resource(show_spinner=False, ttl=LISTING_TTL_S, max_entries=16)
def table_frames(store_ref: str, prefix: str) -> table.Frames:
    """The table's rows from the listing alone, so a rerun (a filter typed) only merges statuses."""
    return table.catalog_frames(load_catalog(store_ref, prefix))


@st.cache_resource(show_spinner=False, ttl=LISTING_TTL_S, max_entries=16)
def recordings_by_id(store_ref: str, prefix: str) -> dict[str, Recording]:
    return {rec.id: rec for rec in load_catalog(store_ref, prefix)}


def refresh(store_ref: str, prefix: str) -> None:
    """Forget the listing of this store (objects may have changed); results of unchanged recordings stay."""
    load_catalog.clear(store_ref, prefix)
    table_frames.clear(store_ref, prefix)
    recordings_by_id.clear(store_ref, prefix)


@st.cache_resource(show_spinner=False, max_entries=4)
def _verifications(data_dir: str) -> Verifications:
    return Verifications(Path(data_dir))


def verifications() -> Verifications:
    """The verification results and workers of the configured data folder."""
    return _verifications(str(services.current_settings().data_dir().absolute()))


def report_for(store_ref: str, store: ObjectStore, rec: Recording) -> dict[str, Any]:
    return verifications().verify_now(store_ref, store, rec)


def profile_names() -> list[str]:
    from storage.settings import Settings

    try:
        return sorted(Settings.load().profiles)
    except StoreError as exc:
        st.error(f"recshelf.toml: {services.safe_md(exc.reason)}")
        return []


def store_sidebar() -> tuple[str, str]:
    """The store picker and prefix in the sidebar; returns (store_ref, prefix), store_ref '' when none."""
    params = st.query_params
    if "store_ref" not in st.session_state:
        st.session_state["store_ref"] = params.get("store") or services.current_settings().env.ui_store or ""
        st.session_state["prefix"] = params.get("prefix", "")
    profiles = profile_names()
    current = st.session_state["store_ref"]
    options = [*profiles, OTHER]
    with st.sidebar:
        st.subheader("Store")
        choice = st.selectbox("Profile (recshelf.toml)", options,
                              index=options.index(current) if current in profiles else len(options) - 1,
                              help="Profiles come from recshelf.toml; pick the last entry to type a URL.")
        if choice == OTHER:
            typed = st.text_input("Store URL", value="" if current in profiles else current,
                                  placeholder="s3://bucket/prefix, oss://…, qiniu://…, /path/to/folder",
                                  help="Credentials come from a profile or the environment, never the URL.")
            store_ref = typed.strip()
        else:
            store_ref = choice
        prefix = st.text_input("Prefix (folder)", key="prefix", placeholder="e.g. recordings/2026/").strip()
        if store_ref and st.button("↻ Refresh listing", help="Read the store again (the listing is cached)."):
            refresh(store_ref, prefix)
    if store_ref != current:
        st.session_state["store_ref"] = store_ref
        st.session_state.pop("rec_id", None)
    return store_ref, prefix


def open_selected(store_ref: str, prefix: str) -> tuple[ObjectStore, list[Recording]] | None:
    """The store and its cached listing, or None after showing a redacted error."""
    if not store_ref:
        st.info("Choose a store in the sidebar: a profile from recshelf.toml or a store URL.")
        return None
    try:
        store = get_store(store_ref)
        return store, load_catalog(store_ref, prefix)
    except (StoreError, ValueError) as exc:
        st.error(f"Cannot open the store: {services.safe_md(str(exc))}")
    return None

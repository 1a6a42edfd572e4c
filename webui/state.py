"""Streamlit-side shared state: the chosen store, cached listings and cached verification.

Listings are cached per (store, prefix) with `st.cache_data` and a visible Refresh. Verification
results live in a process-wide cache keyed by a fingerprint of what the listing saw (playlist etag
and size, slice count and bytes), so a recording is verified again only when its objects change,
and thousands of rows never trigger thousands of playlist reads at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import streamlit as st

from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError
from webui import services

OTHER = "Other: type a store URL"
VERIFY_WORKERS = 8  # playlist GETs are I/O bound; more threads mostly add contention on 2 cores
LISTING_TTL_S = 600


@st.cache_resource(show_spinner=False, max_entries=16)
def get_store(store_ref: str) -> ObjectStore:
    return services.current_settings().open_store(store_ref)


@st.cache_data(show_spinner="Listing recordings…", ttl=LISTING_TTL_S, max_entries=16)
def load_catalog(store_ref: str, prefix: str) -> list[Recording]:
    from storage.recordings.catalog import find

    return find(get_store(store_ref), prefix=prefix)


@st.cache_data(show_spinner=False, ttl=LISTING_TTL_S, max_entries=16)
def base_rows(store_ref: str, prefix: str) -> dict[str, dict[str, Any]]:
    """Table rows by recording id from the listing alone, so a rerun (a filter typed) only merges statuses."""
    return {rec.id: services.base_row(rec) for rec in load_catalog(store_ref, prefix)}


def refresh(store_ref: str, prefix: str) -> None:
    """Forget the listing and the verification results of this store (objects may have changed)."""
    load_catalog.clear(store_ref, prefix)
    base_rows.clear(store_ref, prefix)
    verify_cache().forget(store_ref)


def fingerprint(rec: Recording) -> tuple[Any, ...]:
    playlists = tuple((p.playlist.key, p.playlist.etag, p.playlist.size) for p in rec.parts if p.playlist)
    slices = rec.slices
    return (playlists, len(slices), sum(s.size for s in slices))


class VerifyCache:
    """Report dicts by (store, recording id, fingerprint); safe to fill from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reports: dict[tuple[str, str, tuple[Any, ...]], dict[str, Any]] = {}

    def get(self, store_ref: str, rec: Recording) -> dict[str, Any] | None:
        with self._lock:
            return self._reports.get((store_ref, rec.id, fingerprint(rec)))

    def put(self, store_ref: str, rec: Recording, report: dict[str, Any]) -> None:
        with self._lock:
            self._reports[(store_ref, rec.id, fingerprint(rec))] = report

    def forget(self, store_ref: str) -> None:
        with self._lock:
            for k in [k for k in self._reports if k[0] == store_ref]:
                del self._reports[k]

    def verify_many(self, store_ref: str, store: ObjectStore, recs: Sequence[Recording],
                    progress: Callable[[int, int], None] | None = None) -> None:
        """Verify the recordings not cached yet, in a small thread pool."""
        todo = [r for r in recs if self.get(store_ref, r) is None]
        if not todo:
            return

        def one(rec: Recording) -> None:
            try:
                report = services.verify_to_dict(store, rec)
            except Exception as exc:  # noqa: BLE001 - one bad recording must not break the whole table
                text = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
                report = {"status": "error", "problems": [{"message": services.safe_text(text)}]}
            self.put(store_ref, rec, report)

        with ThreadPoolExecutor(max_workers=VERIFY_WORKERS, thread_name_prefix="recshelf-verify") as pool:
            for n, _ in enumerate(pool.map(one, todo), start=1):
                if progress is not None:
                    progress(n, len(todo))


@st.cache_resource(show_spinner=False)
def verify_cache() -> VerifyCache:
    return VerifyCache()


def report_for(store_ref: str, store: ObjectStore, rec: Recording) -> dict[str, Any]:
    cache = verify_cache()
    found = cache.get(store_ref, rec)
    if found is None:
        cache.verify_many(store_ref, store, [rec])
        found = cache.get(store_ref, rec)
    assert found is not None
    return found


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

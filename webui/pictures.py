"""Pictures of a recording on its page: the poster frame, Agora's snapshot strip, and its MP4 files.

Snapshots and MP4s are shown from signed URLs, so the browser fetches them from the store (or from
`recshelf serve` for a local folder) and the UI process never holds their bytes; a store that cannot
sign gets the few sampled snapshots read through the UI instead, and its MP4s are offered as exports.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from storage.recordings.catalog import Recording, slice_time
from storage.recordings.posters import make_poster
from storage.stores.base import ObjectInfo, ObjectStore, StoreError
from webui import services, state, table

STRIP_MAX = 12  # snapshots shown, evenly sampled over the recording
SNAPSHOT_WIDTH = 160
URL_EXPIRES_S = 6 * 3600
MP4_MAX = 4  # players on one page
POSTER_SHOWN_PX = 320


def uid_recordings(rec: Recording, recordings: Sequence[Recording]) -> list[Recording]:
    """The recording and, in individual mode, the other streams of the same uid (video first)."""
    if rec.key.uid is None:
        return [rec]
    same = [r for r in recordings if r.folder == rec.folder and r.key.sid == rec.key.sid
            and r.key.cname == rec.key.cname and r.key.uid == rec.key.uid]
    return sorted(same, key=lambda r: table.STREAM_ORDER.index(r.key.stream)
                  if r.key.stream in table.STREAM_ORDER else 9)


def sample(items: Sequence[ObjectInfo], count: int) -> list[ObjectInfo]:
    """`count` items evenly spread from first to last (all of them when there are fewer)."""
    if len(items) <= count:
        return list(items)
    step = (len(items) - 1) / (count - 1)
    return [items[round(n * step)] for n in range(count)]


def poster(store: ObjectStore, group: Sequence[Recording]) -> bytes | None:
    folder = state.verifications().poster_dir
    for rec in group:
        try:
            found = make_poster(folder, store, rec)
        except StoreError:
            found = None
        if found:
            return found
    return None


def render_poster(store: ObjectStore, rec: Recording, recordings: Sequence[Recording]) -> None:
    """The poster frame (first keyframe), made and cached now if the table has not made it yet."""
    picture = poster(store, uid_recordings(rec, recordings))
    if picture:
        st.image(picture, width=POSTER_SHOWN_PX, caption="Poster: the first keyframe")


def render(store: ObjectStore, rec: Recording, recordings: Sequence[Recording]) -> None:
    group = uid_recordings(rec, recordings)
    snapshots = sorted((s for r in group for s in r.snapshots), key=lambda s: s.key)
    mp4s = sorted((e for r in group for e in r.extras if e.key.lower().endswith(".mp4")), key=lambda e: e.key)
    if snapshots:
        _strip(store, snapshots)
    if mp4s:
        _mp4s(store, mp4s)


def _strip(store: ObjectStore, snapshots: Sequence[ObjectInfo]) -> None:
    st.subheader("Snapshots")
    shown = sample(snapshots, STRIP_MAX)
    captions = [f"{t:%H:%M:%S}" if (t := slice_time(s.key)) else "" for s in shown]
    try:
        images: list[str | bytes] = [store.signed_url(s.key, URL_EXPIRES_S) for s in shown]
    except StoreError:
        images = [store.read(s.key) for s in shown]  # a store that cannot sign: few small files
    st.image(images, caption=captions, width=SNAPSHOT_WIDTH)
    more = f" ({len(shown)} of them shown)" if len(shown) < len(snapshots) else ""
    st.caption(f"{len(snapshots)} snapshot(s) Agora took of this uid's video{more}, UTC times.")


def _mp4s(store: ObjectStore, mp4s: Sequence[ObjectInfo]) -> None:
    st.subheader("MP4 files")
    st.caption("Agora wrote these MP4 files itself (hls_and_mp4 or web recording); they play as they are.")
    for obj in mp4s[:MP4_MAX]:
        name = obj.key.rpartition("/")[2]
        st.markdown(f"{services.md_code(name)} · {table.human_size(obj.size)}")
        try:
            st.video(store.signed_url(obj.key, URL_EXPIRES_S), format="video/mp4")
        except StoreError as exc:
            st.info(f"Cannot link this file for the browser: {services.safe_md(exc.reason)}", icon=":material/info:")
    if len(mp4s) > MP4_MAX:
        st.caption(f"and {len(mp4s) - MP4_MAX} more MP4 file(s): export or download them from the store.")

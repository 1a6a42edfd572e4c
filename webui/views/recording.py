"""One recording: the report in plain words, a slice timeline, the player, downloads and sharing."""

from __future__ import annotations

import hashlib
import time
from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from storage.recordings.catalog import Recording
from storage.recordings.master import bandwidth, master_key, play_url, uid_streams
from storage.recordings.playback import playback_playlist, playlist_durations, slice_expiry
from storage.stores.base import StoreError
from webui import delete_panel, downloads, notes_panel, pictures, services, state
from webui.components.player import hls_player

# Colours by meaning: green plays, red/orange are holes, grey is ignored, blue is a failover part,
# pale yellow is time with no slice at all. Every state is in the legend, present or not.
STATE_COLOURS = {"present": "#2e7d32", "missing": "#c62828", "empty": "#ef6c00",
                 "orphan": "#9e9e9e", "failover part": "#1565c0", services.GAP_STATE: "#f3e5ab"}
RESIGN_MARGIN_S = 600  # re-sign the playlist when its URLs have less than this left

store_ref, prefix = state.store_sidebar()
if st.query_params.get("rec"):
    st.session_state["rec_id"] = st.query_params["rec"]
rec_id = st.session_state.get("rec_id")
opened = state.open_selected(store_ref, prefix)
if opened is None:
    st.stop()
store, recordings = opened
by_id = {r.id: r for r in recordings}
rec: Recording | None = by_id.get(rec_id) if rec_id else None
if rec is None:
    st.title("Recording")
    st.info("No recording selected: choose one on the Recordings page.")
    st.page_link("views/browse.py", label="← Recordings")
    st.stop()
# Keep the URL shareable within the team: it names the store and recording, never a secret.
st.query_params.update({"store": store_ref, "rec": rec.id})

key = rec.key
who = f"uid {services.md_text(key.uid)} · {key.stream}" if key.uid is not None else "composite"
st.title(services.md_text(key.cname), anchor=False)
st.caption(f"sid {services.md_code(key.sid)} · {who} · folder {services.md_code(rec.folder or '/')}")

try:
    report = state.report_for(store_ref, store, rec)
except StoreError as exc:
    st.error(services.safe_md(str(exc)))
    st.stop()
status = report.get("status", "error")

m1, m2, m3, m4 = st.columns(4)
m1.metric("Status", services.STATUS_BADGE.get(status, status))
duration = report.get("duration_s") or services.estimate_duration(rec.slices) or 0.0
m2.metric("Duration", f"{duration:.1f} s")
m3.metric("Slices", f"{len(rec.slices)}")
m4.metric("Size", services.human_size(sum(s.size for s in rec.slices)))
st.caption(f"Start (UTC): {rec.start:%Y-%m-%d %H:%M:%S}" if rec.start else "No slice times.")
pictures.render_poster(store, rec, recordings)

# -- report --------------------------------------------------------------------------------------
headline, details, advice = services.explain(report) if status != "error" else (
    "The recording could not be verified.",
    [services.md_text(str(p.get("message", ""))) for p in report.get("problems", [])], [])
live = services.is_running(key.sid)  # Agora's callbacks say it is still recording
if live and status == "unfinished":
    headline, advice = ("Recording in progress: Agora's callbacks say this recording is still running, so its "
                        "playlist has no end marker yet."), []
{"complete": st.success, "unfinished": st.info if live else st.warning}.get(status, st.error)(headline)
if details or advice:
    with st.expander("What is wrong and what to do", expanded=status != "complete"):
        for line in details:
            st.markdown(f"- {line}")
        for line in advice:
            st.markdown(f"- **What to do:** {line}")

notes_panel.render(store, rec)

# -- timeline ------------------------------------------------------------------------------------


@st.cache_data(show_spinner=False, ttl=state.LISTING_TTL_S, max_entries=64)
def durations_for(store_ref: str, prefix: str, rec_id: str, fp: tuple[Any, ...]) -> dict[str, float]:
    del fp  # part of the cache key only: a changed playlist is read again
    found = state.load_catalog(store_ref, prefix)
    target = next((r for r in found if r.id == rec_id), None)
    return playlist_durations(state.get_store(store_ref), target) if target else {}


timeline = services.timeline_rows(rec, report, durations_for(store_ref, prefix, rec.id, state.fingerprint(rec)))
if timeline:
    st.subheader("Timeline")
    chart = alt.Chart(pd.DataFrame(timeline)).mark_bar(height=28).encode(
        x=alt.X("start:T", title="UTC time (from slice names)", axis=alt.Axis(format="%H:%M:%S")),
        x2="end:T",
        color=alt.Color("state:N", title=None,
                        scale=alt.Scale(domain=list(STATE_COLOURS), range=list(STATE_COLOURS.values())),
                        legend=None),
        tooltip=["slice", "state", alt.Tooltip("start:T", format="%H:%M:%S.%L"), "bytes"],
    ).properties(height=90)
    st.altair_chart(chart, width="stretch")
    # The legend as text below the chart: Vega's own is clipped in a chart this low, and this one
    # names every state, including those this recording does not have.
    st.markdown(" &nbsp; ".join(f'<span style="color:{colour}">&#9632;</span> {name}'
                                for name, colour in STATE_COLOURS.items()), unsafe_allow_html=True)

# -- player --------------------------------------------------------------------------------------
st.subheader("Play")
streams = uid_streams(rec, recordings)
if live:
    st.info("This recording is still running: the player plays it live, at its newest slices.",
            icon=":material/sensors:")
elif status == "unfinished":
    st.caption("The playlist has no end marker and no running recording is known: it plays from the "
               "start to its last slice.")


def signed_playlist(target: Recording) -> tuple[str, str, int]:
    """(text, source id, gaps), signed once per session and re-signed before the URLs expire."""
    cache: dict[str, Any] = st.session_state.setdefault("_playlists", {})
    fp = repr((store_ref, target.id, state.fingerprint(target), live))
    entry = cache.get(fp)
    if entry is None or entry["valid_until"] - time.time() < RESIGN_MARGIN_S:
        expires = slice_expiry(report.get("duration_s") or duration)
        text, gaps = playback_playlist(store, target, expires, live=live)
        source_id = hashlib.sha256(f"{fp}{time.time()}".encode()).hexdigest()[:16]
        entry = {"text": text, "source_id": source_id, "gaps": gaps, "valid_until": time.time() + expires}
        cache[fp] = entry
    return entry["text"], entry["source_id"], entry["gaps"]


def has_playlist(target: Recording | None) -> bool:
    return target is not None and any(p.playlist for p in target.parts)


def live_url(target: Recording, whole_uid: bool) -> str | None:
    """A local folder's live playlist (or uid master) on the server's media route, re-rendered per fetch.

    A Blob URL never changes, so a live recording in a bucket plays what existed when the page loaded.
    """
    if target.playlist is None or store.url.partition("://")[0] != "file":
        return None
    key_ = master_key(target.playlist.key) if whole_uid else target.playlist.key
    try:
        return play_url(store.signed_url(key_, slice_expiry(duration)))
    except (StoreError, ValueError):
        return None  # no server to sign for: the texts play instead


# Individual mode: the uid's audio and video are one player (a master playlist, audio as its rendition).
together = streams.paired and has_playlist(streams.audio) and has_playlist(streams.video)
main = streams.video if together else rec
if not has_playlist(main):
    st.warning("Nothing to play: there is no playlist. Export the slices as TS instead.")
else:
    assert main is not None
    try:
        text, source_id, gaps = signed_playlist(main)
        audio_text = None
        if together:
            assert streams.audio is not None
            audio_text, audio_id, audio_gaps = signed_playlist(streams.audio)
            source_id, gaps = f"{source_id}+{audio_id}", gaps + audio_gaps
    except StoreError as exc:
        st.error(f"Cannot prepare playback: {services.safe_md(str(exc))}")
        st.stop()
    if together:
        offset = streams.start_offset_s or 0.0
        st.caption(f"Audio and video of uid {services.md_text(key.uid or '')} play together, aligned by "
                   f"the slices' UTC times (audio starts {abs(offset):.1f} s "
                   f"{'after' if offset >= 0 else 'before'} the video).")
    if status not in ("complete", "unfinished" if live else "complete") or gaps:
        missing = f" {gaps} missing or empty slice(s) are skipped." if gaps else ""
        st.warning(f"This recording is {services.status_word(status)}: the player plays what "
                   f"exists.{missing}", icon=":material/warning:")
    kind = "audio" if main.key.stream == "audio" else "video"
    event = hls_player(text, source_id=source_id, kind=kind, audio_playlist=audio_text, live=live,
                       src=live_url(main, together) if live else None,
                       bandwidth_bps=bandwidth(streams.video, streams.audio) if together else 0,
                       key=f"player-{main.id}")
    if event and event.get("error") and event.get("sourceId") == source_id:
        st.error(f"Playback stopped ({services.md_text(str(event['error']))}). The signed links may have expired.")
        if st.button("Reload player", key=f"reload-{main.id}"):
            st.session_state["_playlists"] = {}
            st.rerun()

pictures.render(store, rec, recordings)

# -- download and share ------------------------------------------------------------------------
downloads.render(store_ref, store, rec, recordings, report)
delete_panel.render(store_ref, prefix, store, rec)

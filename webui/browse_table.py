"""The Recordings page's table part, run as a fragment: statuses, summary, one page, a row click opens it.

While rows of the visible page are being verified in the background this part reruns on its own
(`st.fragment(run_every=…)` in views/browse.py) and stops once they are all done.
"""

from __future__ import annotations

import base64
from pathlib import Path

import pandas as pd
import streamlit as st

from storage.recordings.catalog import Recording
from storage.recordings.posters import cached_poster
from storage.service.repo_verification import CachedStatus
from storage.stores.base import ObjectStore
from webui import manage_actions, services, state, table
from webui.note_filter import NoteMatch

NO_POSTER = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"  # 1 px, clear
FIRST_WAIT_S = 0.4  # a fast store's page is verified before the table is drawn; a slow one fills in later
ROW_PX = 48  # room for a poster
HEADER_PX = 35
ROWS_SHOWN = 20  # the grid's own height; a longer page scrolls inside it
COLUMNS = ["poster", "channel", "start", "duration", "status", "uid", "streams", "size", "pictures", "title", "tags"]


def render_page(store_ref: str, prefix: str, store: ObjectStore, filters: services.Filters, order: str,
                page_size: int, noted: NoteMatch, select_many: bool = False) -> None:
    frames = state.table_frames(store_ref, prefix)
    by_id = state.recordings_by_id(store_ref, prefix)
    verifications = state.verifications()

    def visible_page() -> tuple[dict[str, CachedStatus], pd.DataFrame, pd.DataFrame]:
        statuses = verifications.statuses(store_ref)
        rows = table.with_statuses(frames, statuses, verifications.pending(store_ref))
        kept = table.sort_rows(table.apply_filters(rows, filters), order)
        if noted.filtering:
            kept = kept[[noted.keeps(sid, uid) for sid, uid in zip(kept["sid"], kept["uid"], strict=True)]]
        pages = table.page_count(len(kept), page_size)
        if st.session_state.get("t_page", 1) > pages:
            st.session_state["t_page"] = pages
        return statuses, kept, table.page_of(kept, page_size, int(st.session_state.get("t_page", 1)))

    statuses, kept, visible = visible_page()
    members = page_members(frames, visible, by_id)
    ids = {rec.id for rec in members}
    verifications.submit(store_ref, store, members, cached=statuses)
    summary = st.empty()
    if verifications.pending_among(store_ref, ids):
        # The totals are shown before the wait: a filter's count must not wait for the page's statuses.
        summary.markdown(_summary_line(kept, frames))
        if verifications.wait(store_ref, ids, FIRST_WAIT_S):
            verifications.submit(store_ref, store, members)  # verified: now the posters
        _, kept, visible = visible_page()

    summary.markdown(_summary_line(kept, frames))
    if kept.empty:
        st.warning("No recording matches.")
    else:
        picked = _table(store_ref, store, visible, by_id, noted, select_many)
        if select_many:
            chosen = frames.members[frames.members["row"].isin(picked)]
            manage_actions.action_bar(store_ref, prefix, [by_id[r] for r in chosen["rec"] if r in by_id])
        pages = table.page_count(len(kept), page_size)
        p1, p2 = st.columns([1, 4])
        p1.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, step=1, key="t_page")
        first = (int(st.session_state.get("t_page", 1)) - 1) * page_size
        p2.caption(f"Rows {first + 1:,}–{first + len(visible):,} of {len(kept):,}, {order}. "
                   + ("Tick rows to act on them together." if select_many
                      else "Click a row to open its report, timeline and player."))
        with st.expander("Details: ids and folders of the rows shown"):
            st.dataframe(visible[["channel", "start", "sid", "uid", "streams", "folder", "slices", "mp4"]],
                         hide_index=True, width="stretch")

    verifying = verifications.pending_among(store_ref, ids) or verifications.posters_pending(store.url, ids)
    waiting = sum(1 for rec_id in ids if verifications.pending_among(store_ref, {rec_id}))
    if waiting:
        st.caption(f"Verifying {waiting} recording(s) of this page in the background…")
    if verifying != st.session_state.get("t_verifying", False):
        st.session_state["t_verifying"] = verifying
        st.rerun(scope="app")  # start or stop this part's own reruns


def _summary_line(kept: pd.DataFrame, frames: table.Frames) -> str:
    return f"**{table.summary(kept)}**" + (f" of {len(frames.rows):,}" if len(kept) != len(frames.rows) else "")


def page_members(frames: table.Frames, visible: pd.DataFrame, by_id: dict[str, Recording]) -> list[Recording]:
    """The recordings behind some rows (several per row in individual mode)."""
    chosen = frames.members[frames.members["row"].isin(visible.index)]
    return [by_id[rec_id] for rec_id in chosen["rec"] if rec_id in by_id]


def _poster_url(poster_dir: Path, store: ObjectStore, rec: Recording | None) -> str:
    data = cached_poster(poster_dir, store.url, rec) if rec is not None else None
    return "data:image/jpeg;base64," + base64.b64encode(data).decode() if data else NO_POSTER


def _table(store_ref: str, store: ObjectStore, visible: pd.DataFrame, by_id: dict[str, Recording],
           noted: NoteMatch, select_many: bool) -> list[str]:
    """Draw one page; a click opens its row, or, selecting several, the ids of the ticked rows."""
    poster_dir = state.verifications().poster_dir
    titles, tags = noted.columns(visible["sid"], visible["uid"])
    shown = pd.DataFrame({
        "poster": [_poster_url(poster_dir, store, by_id.get(row_id)) for row_id in visible.index],
        "channel": visible["channel"].to_numpy(),
        "start": visible["start"].to_numpy(),
        "duration": visible["duration_s"].map(table.clock).to_numpy(),
        "status": [[services.status_word(s)] for s in visible["status"]],  # a pill, coloured below
        "uid": visible["uid"].to_numpy(),
        "streams": visible["streams"].to_numpy(),
        "size": visible["bytes"].map(table.human_size).to_numpy(),
        "pictures": visible["pictures"].to_numpy(),
        "title": titles,
        "tags": tags,
    })
    generation = st.session_state.setdefault("t_gen", 0)
    event = st.dataframe(
        shown, key=manage_actions.table_key(f"table-{generation}-{int(select_many)}"), on_select="rerun",
        hide_index=True,
        # A click on any cell opens its row, as does the row's checkbox; selecting several only ticks.
        selection_mode="multi-row" if select_many else ["single-row", "single-cell"],
        column_order=COLUMNS, row_height=ROW_PX, width="stretch",
        height=HEADER_PX + ROW_PX * min(len(shown), ROWS_SHOWN) + 3,
        column_config={
            "poster": st.column_config.ImageColumn("", width="small"),
            "channel": st.column_config.TextColumn("channel", width="medium"),
            "start": st.column_config.DatetimeColumn("start (UTC)", format="YYYY-MM-DD HH:mm:ss"),
            "duration": st.column_config.TextColumn("duration", width="small"),
            "status": st.column_config.MultiselectColumn("status", options=list(services.STATUS_COLOURS),
                                                         color=list(services.STATUS_COLOURS.values())),
            "uid": st.column_config.TextColumn("uid", width="small"),
            "size": st.column_config.TextColumn("size", width="small"),
            "pictures": st.column_config.NumberColumn("snapshots", width="small"),
        },
    )
    selection = event.selection if event is not None else None
    if select_many:
        return [str(visible.index[n]) for n in (selection.rows if selection is not None else [])]
    selected = [*selection.rows, *(cell[0] for cell in selection.cells)] if selection is not None else []
    if selected:
        row_id = str(visible.index[selected[0]])
        st.session_state["rec_id"] = row_id
        st.session_state["t_gen"] = generation + 1  # back on this page, the table starts unselected
        st.switch_page("views/recording.py", query_params={"store": store_ref, "rec": row_id})
    return []

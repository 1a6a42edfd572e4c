"""Recordings: pick a store, filter, see status, select a recording to open."""

from __future__ import annotations

import dataclasses

import pandas as pd
import streamlit as st

from webui import manage_actions, note_filter, services, state

AUTO_VERIFY_MAX = 200  # verify automatically when this few rows are shown; more waits for a click

st.title("Recordings")
store_ref, prefix = state.store_sidebar()
opened = state.open_selected(store_ref, prefix)
if opened is None:
    st.stop()
store, recordings = opened

with st.expander("Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    channel = c1.text_input("Channel contains", key="f_channel")
    sid = c2.text_input("sid starts with", key="f_sid")
    uid = c3.text_input("uid contains", key="f_uid")
    c4, c5 = st.columns([1, 2])
    # The calendar opens on the data's months, not today's: the full range is preselected (and means "all").
    span = services.date_span(recordings)
    dates = c4.date_input("Start date (UTC, from – to)", value=span or (), key="f_dates")
    statuses = c5.multiselect("Status", services.STATUSES, key="f_status", format_func=services.status_word)
    noted = note_filter.render(store.url)
date_range = tuple(dates) if isinstance(dates, list | tuple) else (dates,)
date_range = () if date_range == span else date_range
filters = services.Filters(channel=channel.strip(), sid=sid.strip(), uid=uid.strip(),
                           start_from=date_range[0] if len(date_range) > 0 else None,
                           start_to=date_range[1] if len(date_range) > 1 else None,
                           statuses=tuple(statuses))

# Filters on names first: they cost nothing; status needs verification.
cache = state.verify_cache()
by_name = dataclasses.replace(filters, statuses=())
shown = [r for r in recordings if services.matches(r, "", by_name) and noted.keeps(r)]
unverified = [r for r in shown if cache.get(store_ref, r) is None]
if unverified:
    if len(unverified) <= AUTO_VERIFY_MAX:
        cache.verify_many(store_ref, store, unverified)
    else:
        st.info(f"{len(unverified)} of the {len(shown)} recordings shown are not verified yet "
                "(narrow the filters, or verify them all).")
        if st.button(f"Verify {len(unverified)} recordings"):
            bar = st.progress(0.0, text="Verifying…")
            cache.verify_many(store_ref, store, unverified,
                              progress=lambda n, total: bar.progress(n / total, text=f"Verified {n} of {total}"))
            bar.empty()
            st.rerun()  # redraw the table with the statuses, without the button

base = state.base_rows(store_ref, prefix)
rows = []
kept = []
for rec in shown:
    report = cache.get(store_ref, rec)
    status = report["status"] if report else services.NOT_VERIFIED
    if filters.statuses and status not in filters.statuses:
        continue
    kept.append(rec)
    rows.append(noted.row(rec, services.with_report(base[rec.id], report) if rec.id in base
                          else services.recording_row(rec, report)))

st.caption(f"{len(rows)} of {len(recordings)} recordings in {services.md_code(store.url)}"
           + (f" under {services.md_code(prefix)}" if prefix else ""))
if not rows:
    st.warning("No recording matches." if recordings else "No Agora recordings found here.")
    st.stop()

frame = pd.DataFrame(rows)
# A one-item list renders as a coloured pill; a pandas Styler would cost ~0.4 s per rerun at 1,000 rows.
frame["status"] = frame["status"].map(lambda s: [s])
event = st.dataframe(
    frame, key=manage_actions.table_key("table"), on_select="rerun", selection_mode="multi-row", hide_index=True,
    column_order=["channel", "sid", "uid / stream", "start", "duration_s", "slices", "size_mb", "status", "title",
                  "tags"],
    column_config={
        "start": st.column_config.DatetimeColumn("start (UTC)", format="YYYY-MM-DD HH:mm:ss"),
        "duration_s": st.column_config.NumberColumn("duration (s)", format="%.1f"),
        "size_mb": st.column_config.NumberColumn("size (MB)", format="%.2f"),
        "sid": st.column_config.TextColumn("sid", width="medium"),
        "status": st.column_config.MultiselectColumn("status", options=list(services.STATUS_COLOURS),
                                                     color=list(services.STATUS_COLOURS.values())),
    },
    width="stretch",
)
selected = event.selection.rows if event is not None else []
if len(selected) == 1:
    rec = kept[selected[0]]
    st.session_state["rec_id"] = rec.id
    st.markdown(f"Selected: **{services.md_text(rec.key.cname)}** · {services.md_code(rec.key.sid)}"
                + (f" · uid {services.md_text(rec.key.uid)} {rec.key.stream or ''}" if rec.key.uid else ""))
    if st.button("Open recording ▶", type="primary"):
        st.switch_page("views/recording.py",
                       query_params={"store": store_ref, "rec": rec.id})
else:
    st.caption("Select a row to open its report, timeline and player; select several to delete, archive or "
               "export them together.")
manage_actions.action_bar(store_ref, prefix, [kept[n] for n in selected])

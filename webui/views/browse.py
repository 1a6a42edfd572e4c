"""Recordings: pick a store, filter, see status at a glance, click a row to open the recording.

Built for stores of thousands: the page costs one listing (cached) and one read of the stored
verification statuses; only the visible page is verified (in the background) and given posters.
"""

from __future__ import annotations

import streamlit as st

from webui import note_filter, services, state, table
from webui.browse_table import render_page

st.title("Recordings")
store_ref, prefix = state.store_sidebar()
opened = state.open_selected(store_ref, prefix)
if opened is None:
    st.stop()
store, recordings = opened
if not recordings:
    st.warning("No Agora recordings found here.")
    st.stop()

with st.expander("Filters", expanded=True):
    c1, c2, c3 = st.columns(3)
    channel = c1.text_input("Channel contains", key="f_channel")
    sid = c2.text_input("sid starts with", key="f_sid")
    uid = c3.text_input("uid contains", key="f_uid")
    c4, c5 = st.columns([1, 2])
    # The calendar opens on the data's months, not today's: the full range is preselected (and means "all").
    span = table.date_span(state.table_frames(store_ref, prefix).rows)
    dates = c4.date_input("Start date (UTC, from – to)", value=span or (), key="f_dates")
    statuses = c5.multiselect("Status", services.STATUSES, key="f_status", format_func=services.status_word)
    noted = note_filter.render(store.url)
date_range = tuple(dates) if isinstance(dates, list | tuple) else (dates,)
date_range = () if date_range == span else date_range
filters = services.Filters(channel=channel.strip(), sid=sid.strip(), uid=uid.strip(),
                           start_from=date_range[0] if len(date_range) > 0 else None,
                           start_to=date_range[1] if len(date_range) > 1 else None,
                           statuses=tuple(statuses))

o1, o2, o3 = st.columns([1, 1, 3])
order = o1.selectbox("Sort", list(table.SORTS), key="t_sort")
page_size = o2.selectbox("Rows per page", table.PAGE_SIZES, index=table.PAGE_SIZES.index(table.DEFAULT_PAGE_SIZE),
                         key="t_size")
select_many = o3.toggle("Select several", key="t_many",
                        help="Tick rows to delete, archive or export them together; a click then selects "
                             "instead of opening.")

# A new filter or order starts again on page 1.
signature = repr((filters, order, page_size, noted.filtering, sorted(noted.notes)))
if st.session_state.get("t_signature") != signature:
    st.session_state["t_signature"] = signature
    st.session_state["t_page"] = 1

# While the visible page is being verified, the table part reruns on its own until it is done.
run_every = 0.5 if st.session_state.get("t_verifying") else None
st.fragment(render_page, run_every=run_every)(store_ref, prefix, store, filters, order, int(page_size), noted,
                                              select_many)

st.caption(f"Store {services.md_code(store.url)}" + (f" under {services.md_code(prefix)}" if prefix else ""))

"""Usage: recordings, hours, bytes and slices per day, month, channel, status (… class, uid) of a store.

The numbers are `recshelf du`'s (storage.manage.usage, one listing per grouping; status also reads each
playlist), cached per store, prefix and grouping for ten minutes or until "↻ Count again". Charts of hours and bytes
per group, the table, and the table as CSV.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd
import streamlit as st

from storage.manage.usage import GROUPINGS, usage
from storage.stores.base import StoreError
from webui import manage_view, services, state

CHART_GROUPS = 40  # more groups than this: the charts show the largest, the table shows all
LABELS = {"day": "Day (UTC)", "month": "Month (UTC)", "channel": "Channel", "status": "Status",
          "class": "Storage class", "uid": "uid"}
USAGE_TTL_S = state.LISTING_TTL_S


@st.cache_data(show_spinner="Listing the store…", ttl=USAGE_TTL_S, max_entries=64)
def usage_rows(store_ref: str, prefix: str, by: str) -> list[dict[str, Any]]:
    return [row.to_dict() for row in usage(state.get_store(store_ref), by, prefix)]


def bar_chart(frame: pd.DataFrame, column: str, title: str, ordered: bool) -> alt.Chart:
    """Bars per group: in group order for days and months, largest first otherwise."""
    sort: Any = "ascending" if ordered else "-y"
    return alt.Chart(frame, title=title).mark_bar().encode(
        x=alt.X("group:N", sort=sort, title=None, axis=alt.Axis(labelLimit=160)),
        y=alt.Y(f"{column}:Q", title=title),
        tooltip=["group", "recordings", alt.Tooltip("hours:Q", format=".2f"), "size", "slices"],
    ).properties(height=260)


st.title("Usage")
store_ref, prefix = state.store_sidebar()
opened = state.open_selected(store_ref, prefix)
if opened is None:
    st.stop()
store, _ = opened
g1, g2 = st.columns([5, 1])
by = g1.segmented_control("Group by", list(GROUPINGS), default="day", key="usage_by",
                          format_func=lambda g: LABELS.get(g, g)) or "day"
if g2.button("↻ Count again", help="The counts are kept for ten minutes; read the store again now."):
    usage_rows.clear()
if by == "status":
    st.caption("By status, every playlist is read (as `recshelf verify`); hours are the playlists' own durations.")
try:
    rows = usage_rows(store_ref, prefix, by)
except (StoreError, ValueError) as exc:
    st.error(services.safe_md(str(exc)))
    st.stop()
if not rows:
    st.warning("No Agora recordings found here.")
    st.stop()

frame = pd.DataFrame(rows)
unit, divisor = manage_view.byte_scale(float(frame["bytes"].max()))
frame[unit] = frame["bytes"] / divisor
frame["size"] = frame["bytes"].map(manage_view.human_bytes)

m1, m2, m3, m4 = st.columns(4)
m1.metric("Recordings", f"{int(frame['recordings'].sum()):,}")
m2.metric("Hours", f"{frame['hours'].sum():,.2f}")
m3.metric("Size", manage_view.human_bytes(int(frame["bytes"].sum())))
m4.metric("Slices", f"{int(frame['slices'].sum()):,}")

ordered = by in ("day", "month")
charted = frame if len(frame) <= CHART_GROUPS else frame.nlargest(CHART_GROUPS, "bytes")
if len(charted) < len(frame):
    st.caption(f"The charts show the {CHART_GROUPS} largest of {len(frame):,} groups; the table shows all.")
c1, c2 = st.columns(2)
c1.altair_chart(bar_chart(charted, "hours", "Hours", ordered), width="stretch")
c2.altair_chart(bar_chart(charted, unit, f"Size ({unit})", ordered), width="stretch")
c3, c4 = st.columns(2)
c3.altair_chart(bar_chart(charted, "recordings", "Recordings", ordered), width="stretch")
c4.altair_chart(bar_chart(charted, "slices", "Slices", ordered), width="stretch")

st.dataframe(frame[["group", "recordings", "hours", "size", "bytes", "slices"]], hide_index=True, width="stretch",
             column_config={"group": st.column_config.TextColumn(LABELS.get(by, by)),
                            "hours": st.column_config.NumberColumn("hours", format="%.2f"),
                            "bytes": st.column_config.NumberColumn("bytes", format="%d")})
st.download_button("Download CSV", frame[["group", "recordings", "hours", "bytes", "slices"]].to_csv(index=False),
                   file_name=f"recshelf-usage-by-{by}.csv", mime="text/csv", key="usage_csv")
st.caption(f"Store {services.md_code(store.url)}" + (f" under {services.md_code(prefix)}" if prefix else ""))

"""Audit: who changed what, when, how many objects and bytes, and the outcome — refused attempts included."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import streamlit as st

from storage.service.audit import OUTCOMES
from webui import access, services

PERIODS = {"24 hours": timedelta(days=1), "7 days": timedelta(days=7), "30 days": timedelta(days=30),
           "365 days": timedelta(days=365), "all": None}
OUTCOME_COLOURS = {"done": "", "denied": "background-color: #f8d7da", "failed": "background-color: #f8d7da",
                   "partial": "background-color: #fff3cd", "started": "background-color: #fff3cd",
                   "interrupted": "background-color: #fff3cd", "refused": "background-color: #fff3cd"}

st.title("Audit")
if not access.may("audit"):
    st.warning("The audit trail is for admins.")
    st.stop()

c1, c2, c3, c4 = st.columns(4)
period = c1.selectbox("Since", list(PERIODS), index=1, key="au_period")
action = c2.text_input("Action", key="au_action", placeholder="delete, move, clean, tag, share_create…").strip()
user = c3.text_input("User", key="au_user").strip()
outcome = c4.selectbox("Outcome", ["any", *OUTCOMES], key="au_outcome")
span = PERIODS[period]
since = (datetime.now(UTC) - span).timestamp() if span is not None else None
entries = access.trail().entries(since=since, action=action or None, actor=user or None,
                                 outcome=None if outcome == "any" else outcome)

m1, m2, m3 = st.columns(3)
m1.metric("Entries", len(entries))
m2.metric("Refused (role)", sum(1 for e in entries if e.outcome == "denied"))
m3.metric("Objects changed", sum(e.objects for e in entries if e.outcome in ("done", "partial")))
if any(e.outcome == "started" for e in entries):
    st.warning("Some runs have no outcome: they were cut short (killed). Running the same command again "
               "resumes them, and records the outcome.")
if not entries:
    st.info("Nothing recorded in this period.")
    st.stop()

frame = pd.DataFrame([{
    "when (UTC)": datetime.fromtimestamp(e.at, UTC).strftime("%Y-%m-%d %H:%M:%S"), "user": e.actor,
    "role": e.role, "via": e.via, "action": e.action, "outcome": e.outcome, "target": e.target,
    "objects": e.objects, "bytes": e.bytes, "store": e.store,
    "detail": ", ".join(f"{k}={v}" for k, v in sorted(e.detail.items()) if v not in (None, "", [], {})),
} for e in entries])
st.dataframe(frame.style.apply(lambda row: [OUTCOME_COLOURS.get(str(row["outcome"]), "")] * len(row), axis=1),
             hide_index=True, width="stretch")
st.caption(f"Stored in {services.md_code(str(services.current_settings().data_dir().absolute()))}; "
           "`recshelf audit --json` prints the same.")

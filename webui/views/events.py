"""Events: the Agora callbacks `recshelf serve` received and the checks its jobs ran, per recording.

Reads the server's SQLite database (WAL: safe while the server writes). Recordings waiting for Agora's
backup re-delivery and overdue ones are highlighted; pick one to see its timeline of events and checks.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from storage.service.database import open_database
from storage.service.db import DB_NAME
from storage.service.repo import Repo
from webui import services
from webui.event_words import detail_words, event_words

HIGHLIGHT = {"overdue": "background-color: #f8d7da", "waiting_backup": "background-color: #fff3cd",
             "incomplete": "background-color: #f8d7da", "error": "background-color: #f8d7da"}
STATE_WORDS = {
    "waiting_backup": "waiting for Agora's backup upload",
    "overdue": "overdue: still not complete at the deadline",
    "complete": "complete",
    "incomplete": "incomplete after upload",
    "pending": "check queued",
    "events only": "no check needed (no upload or exit event)",
    "error": "cannot be checked (see jobs)",
}


def _row_style(row: pd.Series) -> list[str]:
    # The table shows the state in words; the highlight is keyed by the state itself.
    code = next((k for k, words in STATE_WORDS.items() if words == row["state"]), str(row["state"]))
    return [HIGHLIGHT.get(code, "")] * len(row)


st.title("Events")
default_folder = str(services.current_settings().data_dir())
folder = Path(st.sidebar.text_input("Data folder of `recshelf serve`", value=default_folder, key="ev_data"))
database_url = services.current_settings().database_url()
if not database_url and not (folder / DB_NAME).is_file():
    st.info(f"No callbacks received in {folder} yet. Start `recshelf serve` (it stores Agora's callbacks "
            "there) or pick its data folder in the sidebar.")
    st.stop()

repo = Repo(open_database(folder, url=database_url))
summaries = repo.recording_summaries()
waiting = sum(1 for s in summaries if s["state"] == "waiting_backup")
overdue = sum(1 for s in summaries if s["state"] == "overdue")
c1, c2, c3, c4 = st.columns(4)
c1.metric("Events", repo.event_count())
c2.metric("Recordings", len(summaries))
c3.metric("Waiting on backup", waiting)
c4.metric("Overdue", overdue)
if overdue:
    st.error(f"{overdue} recording(s) were still not complete at their deadline.")
if waiting:
    st.warning(f"{waiting} recording(s) are waiting for Agora's backup to deliver their last files; "
               "they are checked again with a growing pause.")

if not summaries:
    st.info("No recording events yet.")
    st.stop()

table = pd.DataFrame([{
    "channel": s["cname"], "state": STATE_WORDS.get(s["state"], s["state"]),
    "last status": services.status_word(s["status"]) if s["status"] else "",
    "events": s["events"], "event types": ", ".join(event_words(t) for t in s["eventTypes"]), "sid": s["sid"],
    "last event (UTC)": s["lastEvent"], "next check (UTC)": s["nextCheck"] or "", "deadline (UTC)": s["deadline"] or "",
} for s in summaries])
st.dataframe(table.style.apply(_row_style, axis=1), hide_index=True, use_container_width=True)

labels = {s["sid"]: f"{s['cname']} — {s['sid']} ({STATE_WORDS.get(s['state'], s['state'])})" for s in summaries}
sid = st.selectbox("Recording", list(labels), format_func=labels.__getitem__, key="ev_sid")
if sid:
    st.subheader(f"Timeline of {sid}")
    rows = []
    for item in repo.timeline(sid):
        if item["kind"] == "event":
            details = (item["detail"] or {}).get("details") or {}
            what = event_words(int(item["what"]))
            note = detail_words(int(item["what"]), details)
        else:
            what = f"check: {services.status_word(str(item['what']))}"
            detail = item["detail"]
            note = f"{detail['segments']} segments, {detail['missing']} missing/empty, {detail['bytes']} bytes"
        rows.append({"time (UTC)": pd.to_datetime(item["at"], unit="s", utc=True).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3],
                     "kind": item["kind"], "what": what, "details": note})
    st.dataframe(pd.DataFrame(rows), hide_index=True, use_container_width=True)
    jobs = repo.jobs(sid=sid)
    if jobs:
        st.caption("Jobs")
        st.dataframe(pd.DataFrame([{"id": j["id"], "kind": j["kind"], "reason": j["reason"], "mode": j["mode"],
                                    "state": j["state"], "attempts": j["attempts"], "next run (UTC)": j["runAt"],
                                    "error": j["error"] or ""} for j in jobs]), hide_index=True,
                     use_container_width=True)
repo.close()

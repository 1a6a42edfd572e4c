"""Record: start an Agora cloud recording into a store, watch its status live, stop it, open what it wrote.

acquire + start → query every few seconds (a fragment, so only the status box reruns) → stop, which
answers the upload status; then the recordings of that sid are found in the target store, verified,
and linked to the Recording page. The session lives in st.session_state, so switching pages while
recording is safe; it holds the sid and resource ID, never a secret.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from storage.agora.errors import AgoraError, WorkerNotFound
from storage.agora.storage_config import StorageConfigError
from storage.stores.base import StoreError
from webui import access, auth, services, state
from webui import recording_controls as rc

SESSION = "rec_ctl_session"  # RecordingSession as JSON data
TARGET = "rec_ctl_target"  # {"store_ref", "folder"}: where to look for the files afterwards
RESULT = "rec_ctl_result"  # {"uploading_status", "files"} once stopped (or found gone)
ERROR = "rec_ctl_error"  # ErrorView of the last failed call
OTHER = "Other: type a store URL"
EVENTS_PAGE = Path(__file__).resolve().parent / "events.py"  # the web UI's page of callbacks, when present
FAILURES = (AgoraError, StorageConfigError, StoreError, ValueError)

ss = st.session_state
st.title("Record")
if not auth.logged_in():
    # Reached by URL without app.py's login gate: starting recordings must not be open to anyone.
    st.warning("Log in first.")
    st.markdown("[Log in on the main page](./)")
    st.stop()
if not access.may("record"):
    # Checked on every rerun, so a crafted click never reaches the start/stop handlers below.
    st.warning("Starting and stopping recordings needs the admin role.")
    st.stop()
conn = rc.connection_from_env()
st.caption(conn.describe())
if conn.problems():
    st.warning("The Agora connection is not configured: " + "; ".join(conn.problems()) + ". Set AGORA_APP_ID, "
               "AGORA_CUSTOMER_ID and AGORA_CUSTOMER_SECRET (and AGORA_BASE_URL for another API host) in the "
               "environment of `recshelf ui`, or run `recshelf demo` to record with the local simulator.")
    st.stop()


def safe(text: str) -> str:
    token = ss.get("rec_token") or ""
    return services.safe_text(text.replace(token, "***") if len(token) >= 4 else text)


def show_error() -> None:
    err: dict[str, Any] | None = ss.get(ERROR)
    if not err:
        return
    lines = [f"**{safe(err['title'])}**", f"Meaning: {safe(err['meaning'])}"]
    if err.get("advice"):
        lines.append(f"What to do: {safe(err['advice'])}")
    if err.get("reason"):
        lines.append(f"The API said: “{safe(err['reason'])}”")
    st.error("\n\n".join(lines), icon=":material/error:")


@st.cache_resource(show_spinner=False)
def started_here() -> dict[str, dict[str, Any]]:
    """sid -> {session, target} of recordings started from this UI process and not stopped yet.

    Process-wide, not per browser session: a reload or another tab can still find and stop a
    recording (the entries hold the sid and resource ID, never a secret).
    """
    return {}


def forget(sid: str) -> None:
    started_here().pop(sid, None)


def fail(exc: Exception, action: str) -> None:
    # Redacted when kept, not only when shown: the token field that `safe` knows is gone on later runs.
    ss[ERROR] = {k: safe(v) if isinstance(v, str) else v for k, v in rc.error_view(exc, action).to_dict().items()}


# -- start ---------------------------------------------------------------------------------------


def start_form() -> None:
    st.subheader("New recording")
    channel = st.text_input("Channel name", key="rec_channel", placeholder="e.g. class_101")
    c1, c2 = st.columns([1, 2])
    uid = c1.text_input("Recorder uid", key="rec_uid", placeholder="empty: a random uid",
                        help="The recorder joins the channel as this uid; nobody else may use it.")
    mode = c2.radio("Mode", rc.MODES, format_func=rc.MODE_LABELS.__getitem__, key="rec_mode", horizontal=True)
    page_url = st.text_input("Web page URL", key="rec_web_url") if mode == "web" else ""
    token = st.text_input("RTC token", type="password", key="rec_token",
                          help="Needed when the project has an App Certificate.")
    ui_store = services.current_settings().env.ui_store
    choices = [*rc.target_choices(state.profile_names(), ui_store, ss.get("store_ref")),
               OTHER]
    target = st.selectbox("Target store", choices, key="rec_target",
                          help="A profile from recshelf.toml (Agora gets its bucket, region and keys), or the "
                               "store recshelf opened with. A local folder works with the simulator only.")
    if target == OTHER:
        target = st.text_input("Store URL", key="rec_target_url", placeholder="s3://bucket/prefix").strip()
    folder = st.text_input("Folder in the store (fileNamePrefix)", key="rec_folder",
                           placeholder="optional, e.g. rec/2026: letters and digits only")
    # Checked on click, not by disabling the button: a disabled button ignores the click that commits
    # the text typed just before it.
    missing = [what for what, ok in (("a channel name", channel.strip()), ("a target store", target),
                                     ("the web page URL", mode != "web" or page_url.strip())) if not ok]
    if st.button("Start recording", type="primary", icon=":material/radio_button_checked:"):
        if missing:
            st.warning("To start, give " + " and ".join(missing) + ".")
            return
        try:
            parts = rc.folder_parts(folder)
            with st.spinner("acquire + start…"), rc.controller(conn) as ctl:
                session = ctl.start_recording(channel.strip(), storage=target, mode=mode, uid=uid.strip() or None,
                                              file_name_prefix=parts, token=token or None,
                                              extra=rc.web_extra(page_url.strip()) if mode == "web" else None)
        except FAILURES as exc:
            fail(exc, "start the recording")
        else:
            ss[SESSION] = rc.session_to_state(session)
            ss[TARGET] = {"store_ref": target, "folder": "".join(f"{p}/" for p in parts)}
            started_here()[session.sid] = {"session": ss[SESSION], "target": ss[TARGET]}
            ss.pop(RESULT, None)
            ss.pop(ERROR, None)
        st.rerun()


def running_elsewhere() -> None:
    """Recordings started from this UI in another tab or before a reload: pick one up again to stop it."""
    entries = list(started_here().values())
    if not entries:
        return
    st.subheader("Started from this UI, not stopped yet")
    for entry in entries:
        session = rc.session_from_state(entry["session"])
        c1, c2 = st.columns([3, 1])
        c1.markdown(f"`{session.cname}` · {session.mode} · sid `{session.sid}` · started "
                    f"{session.started_at:%H:%M:%S} UTC")
        if c2.button("Show", key=f"resume-{session.sid}"):
            ss[SESSION], ss[TARGET] = entry["session"], entry["target"]
            ss.pop(RESULT, None)
            ss.pop(ERROR, None)
            st.rerun()


# -- while recording -----------------------------------------------------------------------------


@st.fragment(run_every=rc.REFRESH_S)
def live_status() -> None:
    """Agora's query, every REFRESH_S seconds while this page is open; only this box reruns."""
    if SESSION not in ss or RESULT in ss:
        return
    session = rc.session_from_state(ss[SESSION])
    try:
        with rc.controller(conn) as ctl:
            answer = ctl.query(session)
    except WorkerNotFound as exc:
        view = rc.error_view(exc, "query")
        st.warning(f"The recorder does not answer: {view.meaning}. {view.advice}.", icon=":material/sync_problem:")
        if st.button("It has ended: show what it recorded"):
            ss[RESULT] = {"uploading_status": "unknown", "files": []}
            forget(session.sid)
            st.rerun()
        return
    except AgoraError as exc:
        view = rc.error_view(exc, "query")
        st.warning(safe(f"{view.title}: {view.meaning}. {view.advice}"), icon=":material/sync_problem:")
        return
    m1, m2 = st.columns([2, 1])
    m1.metric("Status (query)", rc.status_words(answer.status))
    m2.metric("Playlists", len(answer.file_list))
    names = rc.file_names(answer.file_list)
    st.caption("Files: " + (", ".join(f"`{n}`" for n in names) if names else "none yet (the first slice is "
                                                                               "being recorded)"))


def stop_recording() -> None:
    session = rc.session_from_state(ss[SESSION])
    try:
        with st.spinner("stop: waiting for the upload…"), rc.controller(conn) as ctl:
            answer = ctl.stop(session)
    except AgoraError as exc:
        fail(exc, "stop")
        if exc.code in rc.ENDED_CODES:  # over anyway: show what reached the store
            ss[RESULT] = {"uploading_status": "unknown", "files": []}
            forget(session.sid)
    else:
        ss[RESULT] = {"uploading_status": answer.uploading_status or "unknown",
                      "files": rc.file_names(answer.file_list)}
        ss.pop(ERROR, None)
        forget(session.sid)
    st.rerun()


# -- after stop ----------------------------------------------------------------------------------


def open_recording(store_ref: str, rec_id: str) -> None:
    """The Recording page with this store and recording, whatever the sidebar showed before."""
    ss["store_ref"] = store_ref
    ss["prefix"] = ""
    ss["rec_id"] = rec_id
    state.refresh(store_ref, "")  # its cached listing predates this recording
    st.switch_page("views/recording.py", query_params={"store": store_ref, "rec": rec_id})


def what_it_wrote(session_sid: str, target: dict[str, str]) -> None:
    result = ss[RESULT]
    status = result.get("uploading_status") or "unknown"
    show = st.success if status == "uploaded" else st.warning
    show(f"Stopped · {rc.UPLOAD_WORDS.get(status, rc.UPLOAD_WORDS['unknown'])}")
    if result.get("files"):
        st.caption("Agora's file list: " + ", ".join(f"`{n}`" for n in result["files"]))
    st.subheader("In the store")
    store_ref = target["store_ref"]
    try:
        store = state.get_store(store_ref)
        recordings = rc.recordings_of(store, target["folder"], session_sid)
    except (StoreError, ValueError) as exc:
        st.error(f"Cannot read the store: {safe(str(exc))}")
        return
    if not recordings:
        st.info("No file of this recording is in the store yet. Agora may still be uploading: check again soon.")
    for rec in recordings:
        report = state.report_for(store_ref, store, rec)
        rec_status = report.get("status", "error")
        c1, c2, c3 = st.columns([3, 2, 2])
        c1.markdown(f"**{rc.recording_label(rec)}**  \n`{rec.id}`")
        colour = services.STATUS_COLOURS.get(services.STATUS_BADGE.get(rec_status, rec_status), "inherit")
        duration = report.get("duration_s") or 0.0
        c2.markdown(f"verification: <span style='color:{colour};font-weight:600'>"
                    f"{services.STATUS_BADGE.get(rec_status, rec_status)}</span>  \n"
                    f"{len(rec.slices)} slices · {duration:.1f} s", unsafe_allow_html=True)
        if c3.button("Open in Recording page ▶", key=f"open-{rec.id}", help="Report, timeline and player"):
            open_recording(store_ref, rec.id)
    st.button("↻ Check the store again", help="List and verify again (backuped slices arrive later).")
    if EVENTS_PAGE.exists():
        st.page_link(EVENTS_PAGE, label="Agora's callbacks and the server's checks: Events page",
                     icon=":material/notifications:")


# -- page ----------------------------------------------------------------------------------------

show_error()
if SESSION not in ss:
    start_form()
    running_elsewhere()
    st.stop()

current = rc.session_from_state(ss[SESSION])
where = ss[TARGET]
st.subheader(f"Channel `{current.cname}`")
st.markdown(f"sid `{current.sid}` · mode **{current.mode}** · recorder uid `{current.uid}` · store "
            f"`{where['store_ref']}`" + (f" · folder `{where['folder']}`" if where["folder"] else ""))
# Agora's resource ids run to hundreds of characters: the start and end on screen, the whole on hover.
st.markdown(f"resource ID `{services.short_id(current.resource_id)}`", help=f"resource ID: {current.resource_id}")
st.caption(f"started {current.started_at:%Y-%m-%d %H:%M:%S} UTC")
if RESULT not in ss:
    live_status()
    if st.button("Stop recording", type="primary", icon=":material/stop_circle:"):
        stop_recording()
else:
    what_it_wrote(current.sid, where)
    if st.button("New recording", icon=":material/add_circle:"):
        for name in (SESSION, TARGET, RESULT, ERROR):
            ss.pop(name, None)
        st.rerun()

"""The Archive and Export selected dialogs of the Recordings table (opened by manage_actions.action_bar).

Archive moves each selected recording to another store: copy, verify the copy complete there, and only
then delete the source (storage.manage.move, one plan per recording; an interrupted archive resumes).
Export selected runs the export engine (storage.export) over the whole selection into a store or
folder. Both show one progress bar for the whole job (recordings and bytes done of the total, the current
recording; webui/job_progress.py) and end with one summary line above the per-recording results.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import streamlit as st

from storage.errors import ManageError
from storage.stores.base import ObjectStore, StoreError
from webui import downloads, manage_actions, manage_view, permissions, services, state

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan
    from webui.job_progress import MoveProgress

OTHER = "Other: type a store URL or folder"
FORMATS = {"copy": "copy (same keys, verified)", "mp4": "MP4 (one file each, no re-encode)",
           "ts": "TS (slices joined)", "hls": "HLS (playlist + slices)", "zip": "zip (playlist + slices)"}


def destination_picker(source_ref: str, key: str) -> tuple[str, ObjectStore] | None:
    """A store other than the source: a profile from recshelf.toml or a typed URL; None until one opens."""
    options = [name for name in state.profile_names() if name != source_ref] + [OTHER]
    choice = st.selectbox("Destination store", options, key=f"{key}_choice",
                          help="Profiles come from recshelf.toml; pick the last entry to type a URL or a folder.")
    ref = st.text_input("Destination URL", key=f"{key}_url", placeholder="s3://archive/recordings, /mnt/archive"
                        ).strip() if choice == OTHER else choice
    if not ref:
        return None
    try:
        return ref, state.get_store(ref)
    except (StoreError, ValueError) as exc:
        st.error(f"Cannot open the destination: {services.safe_md(str(exc))}")
    return None


@st.dialog("Archive recordings", width="large", on_dismiss=manage_actions.dismissed)
def archive_dialog(request: dict[str, Any]) -> None:
    manage_actions.dialog_body(request, _archive_body)


def _archive_body(request: dict[str, Any]) -> None:
    from storage.manage.selection import plan_move_selected

    store, recordings = manage_actions.selected_recordings(request)
    st.caption("Each recording is copied, the copy is verified complete in the destination, and only then is "
               "the source deleted. An interrupted archive resumes; the source is never lost.")
    picked = destination_picker(request["store_ref"], "archive")
    if picked is None:
        return
    dest_ref, dest = picked
    if dest.url == store.url:
        st.error("The destination is the source store itself; pick another store.")
        return
    data = downloads.data_dir()

    def build(force: bool) -> list[Plan]:
        return [manage_view.resume_or(data, plan)[0]
                for plan in plan_move_selected(store, dest, recordings, force=force)]

    try:
        unforced = manage_actions.cached_plans({"move": request["ids"], "to": dest.url, "force": False},
                                               lambda: build(False))
        force = manage_actions.force_tick(bool(manage_view.not_complete(unforced)))
        plans = manage_actions.cached_plans({"move": request["ids"], "to": dest.url, "force": True},
                                            lambda: build(True)) if force else unforced
    except StoreError as exc:
        st.error(services.safe_md(str(exc)))
        return
    ok = manage_actions.show_plan(plans, f"Archive to {dest.url}:")
    count = sum(len(plan.recordings) for plan in plans)
    if st.button(f"Archive {count} recording(s)", type="primary", key="manage_apply", disabled=not ok or not count):
        _apply_archive(request, store, dest, dest_ref, plans)


def _apply_archive(request: dict[str, Any], store: ObjectStore, dest: ObjectStore, dest_ref: str,
                   plans: list[Plan]) -> None:
    from webui.job_progress import MoveProgress, run_polled, summary_row

    if not permissions.can("move"):
        st.error(permissions.refusal("archive"))
        return
    progress = MoveProgress(len(plans), sum(plan.total_bytes for plan in plans))
    move = mover(store, dest, downloads.data_dir(), progress)
    # Audited as delete and tier are; wrapped here, as the worker thread has no Streamlit session (no actor).
    runs = [(plan, permissions.audited(plan, move)) for plan in plans]
    bar = st.progress(0.0, text="Archiving…")
    rows = run_polled(lambda: archive_all(runs, dest.url, progress), bar, progress.snapshot)
    bar.empty()
    state.refresh(dest_ref, "")
    manage_actions.record_result(request, [summary_row(rows, "Archived"), *rows])


def mover(store: ObjectStore, dest: ObjectStore, data: Path, progress: MoveProgress) -> Callable[[Plan], Outcome]:
    """Apply one move plan (copy, verify, delete the source), reporting into `progress`."""
    from storage.export.jobs import copy_recordings
    from storage.manage.move import apply_move

    def copier(source: ObjectStore, recordings: Any, target: ObjectStore, allow: bool) -> list[str]:
        return copy_recordings(source, recordings, target, allow, progress=progress.copied)

    return lambda plan: apply_move(store, dest, plan, data, copier, on_batch=progress.deleting)


def archive_all(runs: list[tuple[Plan, Callable[[Plan], Outcome]]], dest_url: str,
                progress: MoveProgress) -> list[dict[str, Any]]:
    """Each plan in turn through its `run`, `progress` kept up to date; a result row per recording."""
    rows = []
    for plan, run in runs:
        name = ", ".join(rec.cname for rec in plan.recordings)
        progress.start(name, plan.total_bytes)
        try:
            outcome = run(plan)
            rows.append({"recording": name, "ok": outcome.ok,
                         "text": manage_view.outcome_text(outcome, f"moved to {dest_url}")})
        except (ManageError, StoreError) as exc:
            rows.append({"recording": name, "ok": False, "text": str(exc)})
        progress.finish()
    return rows


@st.dialog("Export selected recordings", width="large", on_dismiss=manage_actions.dismissed)
def export_dialog(request: dict[str, Any]) -> None:
    manage_actions.dialog_body(request, _export_body)


def _export_body(request: dict[str, Any]) -> None:
    store, recordings = manage_actions.selected_recordings(request)
    picked = destination_picker(request["store_ref"], "export")
    fmt = st.selectbox("Format", list(FORMATS), format_func=FORMATS.__getitem__, key="export_format")
    cache = state.verifications()
    statuses = [cache.verify_now(request["store_ref"], store, rec).get("status", "error") for rec in recordings]
    not_complete = sum(status != "complete" for status in statuses)
    allow = False
    if not_complete:
        allow = st.checkbox(f"Export what exists of the {not_complete} recording(s) that are not complete "
                            "(missing slices are listed)", key="export_allow")
    size = sum(obj.size for rec in recordings for obj in rec.slices)
    st.markdown(f"**Export {len(recordings)} recording(s) · {manage_view.human_bytes(size)} of slices**")
    if st.button(f"Export {len(recordings)} recording(s)", type="primary", key="manage_apply",
                 disabled=picked is None or not recordings):
        assert picked is not None
        _apply_export(request, store, recordings, picked, fmt, allow)


def _apply_export(request: dict[str, Any], store: ObjectStore, recordings: list[Any], picked: tuple[str, ObjectStore],
                  fmt: str, allow: bool) -> None:
    from storage.export import Destination
    from webui.job_progress import summary_row

    if not permissions.can("export"):
        st.error(permissions.refusal("export"))
        return
    dest_ref, dest = picked
    try:
        results = downloads.run_with_progress(store, recordings, fmt, allow, Destination.for_store(dest),
                                              manage_view.export_progress_text)
    except (StoreError, OSError, ValueError) as exc:
        st.error(f"Export failed: {services.safe_md(str(exc))}")
        return
    rows = [{"recording": r.name, "ok": r.ok,
             "text": f"{r.status} to {dest.url}" + (f" ({len(r.gaps)} slice(s) missing)" if r.gaps else "")
             + (f": {r.error}" if r.error else "")} for r in results]
    state.refresh(dest_ref, "")
    st.session_state[manage_actions.RESULT] = [summary_row(rows, "Exported"), *rows]

"""Actions on the recordings selected in the Recordings table: Delete, Archive, Tier, Restore, Export selected.

The Recordings page calls `action_bar` with the selected recordings; each button opens a dialog
(`st.dialog`) that shows the plan before anything changes. The open dialog is kept in the session
(DIALOG), so it survives the reruns its own widgets cause and shows its outcome after the rows it acted
on are gone from the table. Every apply calls `permissions.can` first, where the action runs.

Delete: the plan (recordings, objects, bytes), a force tick for recordings that are not complete, and a
typed confirmation: the number of recordings. Apply deletes exactly the plan's keys, in batches, with a
progress bar; an interrupted delete of the same selection resumes from its journal.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import streamlit as st

from storage.errors import ManageError
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError
from webui import downloads, manage_view, permissions, services, state

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan

DIALOG = "_manage_dialog"  # {"kind", "store_ref", "prefix", "ids"} of the dialog that is open
RESULT = "_manage_result"  # what the open dialog's apply did, shown until it is closed
PLANS = "_manage_plans"  # plans as dicts by what they were made for, so a rerun shows the same plan
GENERATION = "_manage_generation"  # bumped after a change so the table starts unselected
FORCE = "manage_force"


def table_key(base: str) -> str:
    """The Recordings table's widget key: new after a change, so no stale row stays selected."""
    return f"{base}-{st.session_state.get(GENERATION, 0)}"


def action_bar(store_ref: str, prefix: str, selected: Sequence[Recording]) -> None:
    """Buttons for the selected recordings; also keeps an open dialog open (call it even with none selected)."""
    if selected:
        size = sum(obj.size for rec in selected for obj in (*rec.slices, *rec.extras))
        st.markdown(f"**{len(selected)} selected** · {manage_view.human_bytes(size)} of slices")
        buttons = (("delete", "Delete…", ":material/delete:"), ("archive", "Archive…", ":material/archive:"),
                   ("tier", "Tier…", ":material/ac_unit:"), ("restore", "Restore…", ":material/unarchive:"),
                   ("export", "Export…", ":material/ios_share:"))
        columns = st.columns([1] * len(buttons) + [1])
        for column, (kind, label, icon) in zip(columns, buttons, strict=False):
            if column.button(label, key=f"manage_{kind}", icon=icon, width="stretch"):
                _open(kind, store_ref, prefix, selected)
    request = st.session_state.get(DIALOG)
    if request and request["store_ref"] == store_ref:
        from webui import tier_dialogs, transfer_dialogs

        dialogs = {"delete": delete_dialog, "archive": transfer_dialogs.archive_dialog,
                   "tier": tier_dialogs.tier_dialog, "restore": tier_dialogs.restore_dialog,
                   "export": transfer_dialogs.export_dialog}
        dialogs[request["kind"]](request)


def _open(kind: str, store_ref: str, prefix: str, selected: Sequence[Recording]) -> None:
    for key in (RESULT, PLANS, FORCE, "manage_typed"):
        st.session_state.pop(key, None)
    st.session_state[DIALOG] = {"kind": kind, "store_ref": store_ref, "prefix": prefix,
                                "ids": [rec.id for rec in selected]}


def dismissed() -> None:
    st.session_state.pop(DIALOG, None)


def close() -> None:
    """Close the dialog and show the table again, read afresh."""
    request = st.session_state.pop(DIALOG, None)
    if request:
        state.refresh(request["store_ref"], request["prefix"])
    st.rerun()


def selected_recordings(request: dict[str, Any]) -> tuple[ObjectStore, list[Recording]]:
    """The store and the dialog's recordings, from the cached listing (those still listed)."""
    store = state.get_store(request["store_ref"])
    by_id = {rec.id: rec for rec in state.load_catalog(request["store_ref"], request["prefix"])}
    return store, [by_id[rec_id] for rec_id in request["ids"] if rec_id in by_id]


def cached_plans(what: dict[str, Any], build: Any) -> list[Plan]:
    """The plans made for `what` in this dialog, built once (planning verifies every recording)."""
    from storage.manage.plan import Plan

    key = json.dumps(what, sort_keys=True)
    plans = st.session_state.setdefault(PLANS, {})
    if key not in plans:
        with st.spinner("Planning: listing and verifying the selected recordings…"):
            plans[key] = [plan.to_dict() for plan in build()]
    return [Plan.from_dict(data) for data in plans[key]]


def show_plan(plans: Sequence[Plan], verb: str) -> bool:
    """The plan as a table and a headline, a force tick when needed; True when it may be applied."""
    st.markdown(f"**{verb} {manage_view.plans_headline(plans)}**")
    rows = [row for plan in plans for row in manage_view.plan_rows(plan)]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch",
                     column_order=["channel", "sid", "uid / stream", "status", "objects", "size", "folder"])
    for warning in {w for plan in plans for w in plan.warnings}:
        st.warning(services.md_text(warning))
    blocked = manage_view.other_refusals(plans)
    for text in blocked:
        st.error(services.safe_md(text))
    pending = manage_view.not_complete(plans)
    if pending and not st.session_state.get(FORCE):
        names = ", ".join(f"{services.md_text(rec.cname)} ({rec.status})" for rec in pending[:5])
        st.warning(f"{len(pending)} recording(s) are not complete: {names}. They may still be arriving from "
                   "Agora's backup, or be all that is left. Tick **force** to include them.")
    return not blocked and not any(plan.refused for plan in plans)


def force_tick(needed: bool) -> bool:
    """The explicit force tick, shown only when a selected recording is not complete."""
    if not needed and not st.session_state.get(FORCE):
        return False
    return st.checkbox("Force: also recordings that are not complete", key=FORCE)


def dialog_body(request: dict[str, Any], body: Callable[[dict[str, Any]], None]) -> None:
    """A dialog's plan and button; once applied, only the outcome (no button to apply the plan again)."""
    if show_result():
        return
    slot = st.empty()
    with slot.container():
        body(request)
    if st.session_state.get(RESULT) is not None:
        slot.empty()
        show_result()


@st.dialog("Delete recordings", width="large", on_dismiss=dismissed)
def delete_dialog(request: dict[str, Any]) -> None:
    dialog_body(request, _delete_body)


def _delete_body(request: dict[str, Any]) -> None:
    from storage.manage.selection import plan_delete_selected

    store, recordings = selected_recordings(request)
    data = downloads.data_dir()

    def build(force: bool) -> list[Plan]:
        return [manage_view.resume_or(data, plan_delete_selected(store, recordings, force=force))[0]]

    try:
        unforced = cached_plans({"delete": request["ids"], "force": False}, lambda: build(False))
        force = force_tick(bool(manage_view.not_complete(unforced)))
        plans = cached_plans({"delete": request["ids"], "force": True}, lambda: build(True)) if force else unforced
    except StoreError as exc:
        st.error(services.safe_md(str(exc)))
        return
    plan = plans[0]
    if manage_view.resume_or(data, plan)[1]:
        st.info("An interrupted delete of this selection is resumed: this is the plan it started with.")
    ok = show_plan(plans, "Delete")
    count = len(plan.recordings)
    st.caption("Every playlist variant, slice, failover part and MP4 of these recordings, and no object of any "
               "other recording. This cannot be undone.")
    typed = st.text_input(f"Type the number of recordings ({count}) to confirm", key="manage_typed")
    if st.button(f"Delete {count} recording(s)", type="primary", key="manage_apply", disabled=not ok):
        _apply_delete(request, store, plan, typed)


def _apply_delete(request: dict[str, Any], store: ObjectStore, plan: Plan, typed: str) -> None:
    if not manage_view.confirmed(typed, [plan]):
        st.error(f"Type {len(plan.recordings)} (the number of recordings) to confirm. Nothing was deleted.")
        return
    if not permissions.can("delete", store=store.url, target=plan.id):
        st.error(permissions.refusal("delete"))
        return
    outcome = run_deletes(store, plan)
    if outcome is None:
        return
    record_result(request, [{"recording": ", ".join(rec.cname for rec in plan.recordings), "ok": outcome.ok,
                             "text": manage_view.outcome_text(outcome)}])


def run_deletes(store: ObjectStore, plan: Plan) -> Outcome | None:
    """Apply a delete plan (a selection's or the clean-up's) with a progress bar, audited; None after an error
    shown on the page (the journal keeps what was done, so running it again resumes)."""
    from storage.manage.apply import apply_deletes

    bar = st.progress(0.0, text="Deleting…")
    try:
        outcome = permissions.audited(plan, lambda p: apply_deletes(
            store, p, downloads.data_dir(),
            on_batch=lambda done, total: bar.progress(done / max(total, 1), text=f"Deleted {done} of {total} objects"),
        ))(plan)
    except (ManageError, StoreError) as exc:
        st.error(services.safe_md(str(exc)))
        return None
    bar.empty()
    return outcome


def record_result(request: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """Keep what an apply did for the open dialog, and forget the listing it changed."""
    st.session_state[RESULT] = rows
    st.session_state[GENERATION] = st.session_state.get(GENERATION, 0) + 1
    state.refresh(request["store_ref"], request["prefix"])


def show_result() -> bool:
    rows = st.session_state.get(RESULT)
    if rows is None:
        return False
    for row in rows:
        (st.success if row["ok"] else st.error)(services.safe_md(f"{row['recording']}: {row['text']}"))
    if st.button("Done: back to the table", key="manage_close"):
        close()
    return True

"""The Tier and Restore dialogs of the Recordings table (opened by manage_actions.action_bar).

Tier changes the storage class of each selected recording in place, with the store's own call
(storage.manage.tier; one plan per recording, as `recshelf tier` and retention do): the classes offered are
the store's own (storage.stores.classes), cold ones marked. Restore asks the store to make archived objects
readable again for some days; the backend takes hours, and a second restore reports those still running.
A folder or memory store has no classes: the dialog says so and offers nothing to apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import streamlit as st

from storage.errors import ManageError
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError
from storage.stores.classes import StorageClasses, classes_of
from webui import downloads, manage_actions, manage_view, permissions, services

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan

RESTORE_DAYS = (1, 3, 7, 14, 30)


def no_classes_text(store: ObjectStore) -> str:
    return (f"{services.md_code(store.url)} has no storage classes: a folder (or memory) store keeps every object "
            "readable as it is. Tiering and restores need an S3, OSS or Qiniu bucket.")


def class_label(classes: StorageClasses, name: str) -> str:
    if name == classes.default:
        return f"{name} (standard)"
    return f"{name} (must be restored before playing)" if name in classes.cold else name


def _unique(recordings: list[Recording]) -> list[Recording]:
    return list({rec.id: rec for rec in recordings}.values())


def _store_classes(request: dict[str, Any]) -> tuple[ObjectStore, list[Recording], StorageClasses] | None:
    store, recordings = manage_actions.selected_recordings(request)
    classes = classes_of(store)
    if classes is None:
        st.error(no_classes_text(store))
        if st.button("Close", key="manage_close"):
            manage_actions.close()
        return None
    return store, _unique(recordings), classes


@st.dialog("Change the storage class", width="large", on_dismiss=manage_actions.dismissed)
def tier_dialog(request: dict[str, Any]) -> None:
    manage_actions.dialog_body(request, _tier_body)


def _tier_body(request: dict[str, Any]) -> None:
    from storage.manage.tier import plan_tier

    opened = _store_classes(request)
    if opened is None:
        return
    store, recordings, classes = opened
    target = st.selectbox("Storage class", list(classes.names), index=min(1, len(classes.names) - 1),
                          format_func=lambda name: class_label(classes, name), key="tier_class")
    st.caption("Each object changes class in place with the store's own call; the listing then proves it. "
               "Colder classes cost less to keep and more (or hours) to read.")
    data = downloads.data_dir()

    def build(force: bool) -> list[Plan]:
        return [manage_view.resume_or(data, plan_tier(store, rec.key.sid, rec.key.uid, target, force=force,
                                                      prefix=rec.folder))[0] for rec in recordings]

    what = {"tier": request["ids"], "class": target}
    try:
        unforced = manage_actions.cached_plans({**what, "force": False}, lambda: build(False))
        force = manage_actions.force_tick(bool(manage_view.not_complete(unforced)))
        plans = manage_actions.cached_plans({**what, "force": True}, lambda: build(True)) if force else unforced
    except StoreError as exc:
        st.error(services.safe_md(str(exc)))
        return
    ok = manage_actions.show_plan(plans, f"Change to {target}:")
    objects = sum(len(plan.objects) for plan in plans)
    if st.button(f"Change {objects} object(s) to {target}", type="primary", key="manage_apply",
                 disabled=not ok or not objects):
        from storage.manage.tier import apply_tier

        _apply(request, store, plans, "tier", apply_tier, f"changed to {target}")


@st.dialog("Restore archived recordings", width="large", on_dismiss=manage_actions.dismissed)
def restore_dialog(request: dict[str, Any]) -> None:
    manage_actions.dialog_body(request, _restore_body)


def _restore_body(request: dict[str, Any]) -> None:
    from storage.manage.tier import plan_restore

    opened = _store_classes(request)
    if opened is None:
        return
    store, recordings, _ = opened
    days = st.select_slider("Readable for (days)", RESTORE_DAYS, value=7, key="restore_days")
    st.caption("The store makes a readable copy of each archived object for these days; the backend takes "
               "minutes to hours. Objects that are not archived are left as they are.")
    data = downloads.data_dir()

    def build() -> list[Plan]:
        return [manage_view.resume_or(data, plan_restore(store, rec.key.sid, rec.key.uid, days=int(days),
                                                         prefix=rec.folder))[0] for rec in recordings]

    try:
        plans = manage_actions.cached_plans({"restore": request["ids"], "days": days}, build)
    except StoreError as exc:
        st.error(services.safe_md(str(exc)))
        return
    ok = manage_actions.show_plan(plans, "Restore")
    objects = sum(len(plan.objects) for plan in plans)
    if st.button(f"Restore {objects} object(s) for {days} day(s)", type="primary", key="manage_apply",
                 disabled=not ok or not objects):
        from storage.manage.tier import apply_restore

        _apply(request, store, plans, "restore", apply_restore, "asked to restore")


def _apply(request: dict[str, Any], store: ObjectStore, plans: list[Plan], action: str,
           apply: Callable[..., Outcome], verb: str) -> None:
    """Apply each plan (role checked first, each run audited), with one progress bar over all their objects."""
    if not permissions.can(action, store=store.url, target=", ".join(plan.id for plan in plans)):
        st.error(permissions.refusal(action))
        return
    total = max(1, sum(len(plan.objects) for plan in plans))
    bar = st.progress(0.0, text="Starting…")
    rows, before = [], 0
    for plan in plans:
        name = ", ".join(rec.cname for rec in plan.recordings) or plan.id
        if not plan.objects:
            continue

        def batch(done: int, _total: int, base: int = before) -> None:
            bar.progress(min(1.0, (base + done) / total), text=f"{base + done} of {total} object(s)")

        try:
            outcome = permissions.audited(plan, lambda p: apply(store, p, downloads.data_dir(), on_batch=batch))(plan)
            rows.append({"recording": name, "ok": outcome.ok, "text": manage_view.outcome_text(outcome, verb)})
        except (ManageError, StoreError) as exc:
            rows.append({"recording": name, "ok": False, "text": str(exc)})
        before += len(plan.objects)
    bar.empty()
    manage_actions.record_result(request, rows)

"""The recording page's delete: the plan (objects, bytes) first, confirmed by typing the object count.

The role check is the handler's (webui/access.py `attempt` → storage.service.audit `guard`): a viewer or
editor sees the section, and an attempt is refused and recorded in the audit trail.
"""

from __future__ import annotations

import streamlit as st

from storage.errors import RecshelfError
from storage.recordings.catalog import Recording
from storage.stores.base import ObjectStore, StoreError
from webui import access, services, state

PLAN_KEY = "_delete_plan"  # {recording id: Plan as a dict} shown and waiting for its confirmation


def _human(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e5 else f"{n / 1e3:.1f} KB"


def render(store_ref: str, prefix: str, store: ObjectStore, rec: Recording) -> None:
    from storage.manage.apply import apply_deletes
    from storage.manage.delete import plan_delete
    from storage.manage.plan import Plan
    from storage.service.audit import plan_target

    st.subheader("Delete")
    if not access.may("delete"):
        st.caption("Deleting needs the admin role.")
    plans: dict[str, dict] = st.session_state.setdefault(PLAN_KEY, {})
    force = st.checkbox("Also if it is not complete", key="del_force",
                        help="A recording that does not verify complete may still be arriving from Agora's backup.")
    if st.button("Plan delete", key="del_plan"):
        try:
            plans[rec.id] = plan_delete(store, rec.key.sid, rec.key.uid, force=force).to_dict()
        except StoreError as exc:
            st.error(services.safe_md(str(exc)))
    if rec.id not in plans:
        return
    plan = Plan.from_dict(plans[rec.id])
    count = len(plan.objects)
    st.warning(f"This deletes {count} object(s), {_human(plan.total_bytes)}: "
               + ", ".join(services.md_code(r.id) for r in plan.recordings) + ". It cannot be undone.")
    for problem in plan.refusals:
        st.error(services.md_text(problem))
    typed = st.text_input(f"Type {count} to confirm", key="del_confirm")
    if st.button("Delete recording", type="primary", key="del_apply", disabled=plan.refused):
        if typed.strip() != str(count):
            st.error(f"Type {count} (the number of objects) to confirm.")
            return
        data = services.current_settings().data_dir().absolute()
        try:
            outcome = access.attempt("delete", lambda actor: access.trail().guard(
                actor, plan, lambda p: apply_deletes(store, p, data))(plan), store=plan.store,
                target=plan_target(plan))
        except (RecshelfError, RuntimeError) as exc:  # audited as failed; a rerun resumes the journal
            st.error(f"Delete stopped: {services.safe_md(str(exc))}. Press Delete again to resume.")
            return
        plans.pop(rec.id, None)
        if outcome is not None:
            state.refresh(store_ref, prefix)
            (st.success if outcome.ok else st.error)(
                f"{outcome.status}: {outcome.deleted} object(s), {_human(outcome.bytes)} removed"
                + (f"; {len(outcome.remaining)} still listed" if outcome.remaining else ""))

"""Clean-up: orphan slices, recordings whose playlist never came, stale temp files — the plan, then one confirm.

The plan is `recshelf clean`'s (storage.manage.clean): nothing younger than the chosen age is planned,
by default Agora's backup window (72 h), after which no playlist or slice arrives any more. Apply deletes
exactly the plan's objects in journaled batches and lists again to confirm they are gone.
"""

from __future__ import annotations

import streamlit as st

from storage.manage.clean import BACKUP_WINDOW
from storage.manage.plan import Plan
from storage.stores.base import StoreError
from webui import downloads, manage_actions, manage_view, permissions, services, state

PLAN = "_clean_plan"  # {"for": (store, prefix, seconds), "plan": Plan as a dict}
OUTCOME = "_clean_outcome"
ROWS_SHOWN = 500

st.title("Clean-up")
store_ref, prefix = state.store_sidebar()
opened = state.open_selected(store_ref, prefix)
if opened is None:
    st.stop()
store, _ = opened
st.caption("Removes what no recording needs: slices that no finished playlist names, slices of recordings whose "
           "playlist never arrived, and temp files of interrupted writes. Only what is older than the age below.")

c1, c2, c3 = st.columns([1, 1, 2])
amount = c1.number_input("Older than", min_value=0.0, value=BACKUP_WINDOW.total_seconds() / 3600, step=1.0,
                         key="clean_amount")
unit = c2.selectbox("Unit", list(manage_view.AGE_UNITS), key="clean_unit")
older_than = manage_view.age(float(amount), unit)
c3.caption("Agora keeps undelivered files in its backup for up to 72 hours: a younger recording without a "
           "playlist may still get one.")
wanted = [store_ref, prefix, older_than.total_seconds()]
if older_than < BACKUP_WINDOW:
    st.warning("Younger than Agora's 72-hour backup window: recordings without a playlist in this range may still "
               "get one, and their slices would be gone.")

if st.button("Plan clean-up", key="clean_plan"):
    from storage.manage.clean import plan_clean

    st.session_state.pop(OUTCOME, None)
    try:
        with st.spinner("Listing and verifying…"):
            fresh = plan_clean(store, older_than, prefix)
        st.session_state[PLAN] = {"for": wanted, "plan": manage_view.resume_or(downloads.data_dir(), fresh)[0]
                                  .to_dict()}
    except StoreError as exc:
        st.error(services.safe_md(str(exc)))

outcome = st.session_state.get(OUTCOME)
if outcome is not None:
    (st.success if outcome["ok"] else st.error)(services.safe_md(outcome["text"]))

held = st.session_state.get(PLAN)
if held is None or held["for"] != wanted:
    if outcome is None:
        st.info("Choose the age, then plan: nothing is deleted before you confirm the plan.")
    st.stop()
plan = Plan.from_dict(held["plan"])
if manage_view.resume_or(downloads.data_dir(), plan)[1]:
    st.info("An interrupted clean-up with these settings is resumed: this is the plan it started with.")
if not plan.objects:
    st.success(f"Nothing to clean up in {services.md_code(store.url)} older than {amount:g} {unit}.")
    st.stop()

st.subheader(f"Plan: {len(plan.objects):,} object(s), {manage_view.human_bytes(plan.total_bytes)}")
st.dataframe(manage_view.clean_rows(plan), hide_index=True, width="stretch")
with st.expander(f"The {len(plan.objects):,} objects"):
    st.dataframe([{"key": obj.key, "why": obj.reason, "size": manage_view.human_bytes(obj.size),
                   "recording": obj.recording or ""} for obj in plan.objects[:ROWS_SHOWN]],
                 hide_index=True, width="stretch")
    if len(plan.objects) > ROWS_SHOWN:
        st.caption(f"The first {ROWS_SHOWN} of {len(plan.objects):,}.")
for warning in plan.warnings:
    st.warning(services.md_text(warning))

if st.button(f"Clean up: delete {len(plan.objects):,} object(s), {manage_view.human_bytes(plan.total_bytes)}",
             type="primary", key="clean_apply"):
    if not permissions.can("clean", store=store.url, target=plan.id):
        st.error(permissions.refusal("clean-up"))
        st.stop()
    done = manage_actions.run_deletes(store, plan)
    if done is None:
        st.stop()
    st.session_state[OUTCOME] = {"ok": done.ok, "text": manage_view.outcome_text(done)}
    st.session_state.pop(PLAN, None)
    state.refresh(store_ref, prefix)
    st.rerun()

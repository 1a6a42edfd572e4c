"""Retention: the `[[rules.retention]]` of recshelf.toml, their plan now, and apply on one confirm (admins).

The plan is what `recshelf retention plan` prints (per rule: recordings, objects, bytes, action) and what
`recshelf serve` applies every `[rules] retention_every`; apply here carries out exactly the plan shown,
each recording's change journaled (resumable) and audited.
"""

from __future__ import annotations

import streamlit as st

from storage.errors import ConfigError, ManageError
from storage.stores.base import StoreError
from webui import access, downloads, manage_view, permissions, retention_view, services, state

PLAN = "_retention_plan"  # {"for": [store_ref], "plan": retention_view.to_session(...)}
OUTCOME = "_retention_outcome"

st.title("Retention")
store_ref, _ = state.store_sidebar()
settings = services.current_settings()
table = settings.config.rules
try:
    from storage.manage.retention import parse_rules

    rules = parse_rules(table.get("retention"), "[[rules.retention]]")
except ConfigError as exc:
    st.error(f"recshelf.toml: {services.safe_md(str(exc))}")
    st.stop()
if not rules:
    st.info("No retention rules yet. Add `[[rules.retention]]` tables to recshelf.toml (match by prefix, channel, "
            "age and status; action delete, archive or tier), then plan them here or with `recshelf retention plan`.")
    st.stop()

st.caption("Rules are tried in order; the first that matches a recording decides what happens to it.")
st.dataframe(retention_view.rule_rows(rules), hide_index=True, width="stretch")
every = table.get("retention_every")
if table.get("store"):
    st.caption(f"`recshelf serve` applies them to {services.md_code(str(table['store']))} "
               f"{'every ' + services.md_text(str(every)) if every else 'daily'} (`[rules] retention_every`).")
if not store_ref:
    st.info("Choose a store in the sidebar to plan the rules against it.")
    st.stop()
try:
    store = state.get_store(store_ref)
except (StoreError, ValueError) as exc:
    st.error(f"Cannot open the store: {services.safe_md(str(exc))}")
    st.stop()

if st.button("Plan retention", key="retention_plan"):
    from storage.manage.retention import plan_retention

    st.session_state.pop(OUTCOME, None)
    try:
        with st.spinner("Listing and verifying…"):
            fresh = plan_retention(store, rules, state.get_store, data_dir=downloads.data_dir())
        st.session_state[PLAN] = {"for": [store_ref], "plan": retention_view.to_session(rules, fresh)}
    except (StoreError, ValueError) as exc:
        st.error(services.safe_md(str(exc)))

outcome = st.session_state.get(OUTCOME)
if outcome is not None:
    for row in outcome:
        (st.success if row["ok"] else st.error)(services.safe_md(row["text"]))

held = st.session_state.get(PLAN)
if held is None or held["for"] != [store_ref]:
    if outcome is None:
        st.info("Plan first: nothing changes before you confirm the plan.")
    st.stop()
plan = retention_view.from_session(rules, held["plan"])
todo = retention_view.runnable(plan)
objects, size = sum(len(p.objects) for p in todo), sum(p.total_bytes for p in todo)
st.subheader(f"Plan: {len(plan.steps)} recording(s) match · {objects:,} object(s) · {manage_view.human_bytes(size)}")
if plan.interrupted:
    st.warning(f"{len(plan.interrupted)} change(s) of an interrupted retention run come first: applying finishes "
               "them as journaled (a move resumes its copy; its source is deleted only once the copy verifies).")
st.dataframe(retention_view.summary_rows(rules, plan), hide_index=True, width="stretch")
if plan.steps:
    with st.expander(f"The {len(plan.steps)} recording(s)"):
        st.dataframe(retention_view.recording_rows(plan), hide_index=True, width="stretch")
for text in sorted({w for p in plan.plans for w in p.warnings}):
    st.warning(services.md_text(text))
for text in retention_view.refusals(plan):
    st.error(f"Not applied: {services.safe_md(text)}")
if not todo:
    st.success("Nothing to change now: no recording matches a rule, or every match is refused (see above).")
    st.stop()

if st.button(f"Apply retention: {len(todo)} recording(s), {objects:,} object(s), {manage_view.human_bytes(size)}",
             type="primary", key="retention_apply"):
    from storage.export.jobs import copy_recordings

    if not permissions.can("retention", store=store.url, target="[[rules.retention]]"):
        st.error(permissions.refusal("retention"))
        st.stop()
    bar = st.progress(0.0, text="Applying…")
    try:
        done = retention_view.apply_audited(
            store, plan, downloads.data_dir(), state.get_store, copy_recordings, permissions.audited,
            lambda n, total: bar.progress(n / max(total, 1), text=f"Recording {min(n + 1, total)} of {total}"))
    except (ManageError, StoreError) as exc:
        st.error(services.safe_md(str(exc)))
        st.stop()
    actor = access.current_actor()
    if actor is not None:
        access.trail().record(actor, "retention", "done" if all(o.ok for o in done) else "partial", store=store.url,
                              target="[[rules.retention]]", objects=sum(o.deleted for o in done),
                              bytes=sum(o.bytes for o in done), detail={"plans": [o.plan_id for o in done]})
    st.session_state[OUTCOME] = retention_view.outcome_rows(plan, done)
    st.session_state.pop(PLAN, None)
    state.refresh(store_ref, "")
    st.rerun()

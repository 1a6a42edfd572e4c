"""What the Retention page shows and does, outside Streamlit's script: rule rows, plan summaries, apply.

The plan is `recshelf retention plan`'s (storage.manage.retention). It is kept in the session as the index
of each step's rule and the step's plan as a dict, so the plan applied is the very plan shown, not a fresh one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from storage.manage.apply import Outcome
from storage.manage.plan import Plan
from storage.manage.retention import RetentionPlan, RetentionRule, apply_retention
from storage.stores.base import ObjectStore
from webui.manage_view import human_bytes, outcome_text, who

VERBS = {"delete": "removed", "move": "moved", "tier": "changed to another class"}
StoreOpener = Callable[[str], ObjectStore]
Audited = Callable[[Plan, Callable[[Plan], Outcome]], Callable[[Plan], Outcome]]


def rule_rows(rules: Sequence[RetentionRule]) -> list[dict[str, Any]]:
    rows = []
    for rule in rules:
        match = [f"under {rule.prefix}" if rule.prefix else "", f"channel {rule.channel}" if rule.channel else "",
                 f"older than {_age(rule.older_than.total_seconds())}" if rule.older_than else "",
                 f"status {rule.status or 'any'}"]
        then = {"archive": f"move to {rule.to}", "tier": f"storage class {rule.storage_class}"}.get(rule.action, "")
        if rule.require_copy:
            then = f"only if a verified copy is in {rule.require_copy}"
        rows.append({"rule": rule.name, "matches": ", ".join(part for part in match if part), "action": rule.action,
                     "details": then})
    return rows


def _age(seconds: float) -> str:
    for unit, size in (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def to_session(rules: Sequence[RetentionRule], plan: RetentionPlan) -> dict[str, Any]:
    """A step's rule is its index in `rules`, or, for a step resuming an interrupted run (whose rule was
    rebuilt from its journal), the rebuilt rule's own fields."""
    steps = []
    for rule, step in plan.steps:
        held: int | dict[str, Any] = list(rules).index(rule) if rule in rules else {
            "name": rule.name, "action": rule.action, "to": rule.to, "storage_class": rule.storage_class}
        steps.append([held, step.to_dict()])
    return {"store": plan.store, "steps": steps, "interrupted": list(plan.interrupted)}


def from_session(rules: Sequence[RetentionRule], held: dict[str, Any]) -> RetentionPlan:
    steps = [(rules[rule] if isinstance(rule, int) else RetentionRule(**rule), Plan.from_dict(step))
             for rule, step in held["steps"]]
    return RetentionPlan(held["store"], steps, list(held.get("interrupted", [])))


def summary_rows(rules: Sequence[RetentionRule], plan: RetentionPlan) -> list[dict[str, Any]]:
    """Per rule, in the rules' order: the recordings, objects and bytes its plans hold, and how many are refused."""
    resumed = set(plan.interrupted)
    groups = [(rule.name, rule.action, [step for r, step in plan.steps if r is rule and step.id not in resumed])
              for rule in rules]
    # A killed run's unfinished changes come first when applied, whatever the rules say now.
    groups += [(f"{rule.name} (interrupted run, resumed)", rule.action, [step])
               for rule, step in plan.steps if step.id in resumed]
    rows = []
    for name, action, steps in groups:
        runnable = [step for step in steps if not step.refused]
        rows.append({"rule": name, "action": action, "recordings": len(steps),
                     "objects": sum(len(s.objects) for s in runnable),
                     "size": human_bytes(sum(s.total_bytes for s in runnable)),
                     "refused": sum(1 for s in steps if s.refused)})
    return rows


def recording_rows(plan: RetentionPlan) -> list[dict[str, Any]]:
    """One row per matching recording; a plan refused before it was filled names its recording from the request."""
    rows = []
    for rule, step in plan.steps:
        base = {"rule": rule.name, "action": rule.action, "objects": len(step.objects),
                "size": human_bytes(step.total_bytes), "refused": "; ".join(step.refusals)}
        for rec in step.recordings:
            rows.append({**base, "recording": rec.id, "channel": rec.cname, "status": rec.status,
                         "uid / stream": who(rec)})
        if not step.recordings:
            named = step.request.get("recordings") or [step.request.get("sid", "")]
            rows.append({**base, "recording": ", ".join(map(str, named)), "channel": "", "status": "",
                         "uid / stream": ""})
    return rows


def refusals(plan: RetentionPlan) -> list[str]:
    """Why steps will not run, each reason once, with the rule it came from."""
    return sorted({f"{rule.name}: {text}" for rule, step in plan.steps for text in step.refusals})


def runnable(plan: RetentionPlan) -> list[Plan]:
    return [step for step in plan.plans if not step.refused and step.objects]


def outcome_rows(plan: RetentionPlan, outcomes: Sequence[Outcome]) -> list[dict[str, Any]]:
    """What each applied step did, in the order applied (the runnable steps of `plan`)."""
    steps = [(rule, step) for rule, step in plan.steps if not step.refused and step.objects]
    rows = []
    for (rule, step), outcome in zip(steps, outcomes, strict=True):
        names = ", ".join(r.cname for r in step.recordings)
        verb = VERBS.get(step.operation, "changed")
        rows.append({"ok": outcome.ok, "text": f"{rule.name}: {step.operation} {names}: {outcome_text(outcome, verb)}"})
    return rows


def apply_audited(store: ObjectStore, plan: RetentionPlan, data_dir: Path, open_store: StoreOpener,
                  copier: Any, audited: Audited, on_step: Callable[[int, int], None]) -> list[Outcome]:
    """Apply each runnable step as planned, each through `audited` (one audit row per recording changed)."""
    chosen = RetentionPlan(plan.store, [(rule, step) for rule, step in plan.steps if step in runnable(plan)])
    outcomes = []
    for n, (rule, step) in enumerate(chosen.steps):
        on_step(n, len(chosen.steps))
        one = RetentionPlan(plan.store, [(rule, step)])
        outcomes.append(audited(step, lambda p, one=one: apply_retention(store, one, data_dir, open_store,
                                                                          copier)[0])(step))
    on_step(len(chosen.steps), len(chosen.steps))
    return outcomes

"""Retention rules: `[[rules.retention]]` in recshelf.toml, planned and applied like every other change.

    [[rules.retention]]
    name = "archive after 30 days"     # optional; shown in plans and journals
    prefix = "recordings/"             # match: under this folder of the store
    channel = "class-*"                # match: channel name (a glob)
    older_than = "30d"                 # match: recordings that started longer ago (s, m, h, d, w)
    status = "complete"                # match: verify status (default: complete; "any" for every status)
    action = "archive"                 # delete | archive | tier
    to = "s3://archive/agora"          # archive: the store to move to
    class = "GLACIER"                  # tier: the storage class
    require_copy = "oss://backup/rec"  # delete: only when a verified complete copy exists there

Rules are tried in order; the first that matches a recording decides what happens to it, so a
recording is never both archived and deleted in one run. A retention plan is the list of per-recording
plans (delete, move or tier, each with exactly its objects and its own journal); apply carries out that
very list and nothing else — what the plan shows is what is done.

Given the data folder, a plan starts with the interrupted retention runs of its store (a delete, archive
or tier whose journal has no outcome), each as journaled, so apply finishes them first (a move resumes
from its journal: its copy proven again, then the deletes); the fresh part of the plan leaves their
recordings alone. Re-planning alone would not do: a half-deleted or half-archived recording no longer
verifies `complete`, so its rule stops matching and its leftovers would stay; a half-tiered one plans
differently, and its unfinished journal would refuse the new plan.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.errors import ConfigError
from storage.manage.apply import Outcome, apply_deletes
from storage.manage.delete import plan_delete
from storage.manage.journal import unfinished_plans
from storage.manage.move import Copier, apply_move, plan_move
from storage.manage.plan import Plan
from storage.manage.tier import apply_tier, plan_tier
from storage.recordings.catalog import Recording, find
from storage.recordings.verify import STATUS_ORDER, verify_many
from storage.stores.base import ObjectStore

ACTIONS = ("delete", "archive", "tier")
_KEYS = {"name", "prefix", "channel", "older_than", "status", "action", "to", "class", "require_copy"}
_AGE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400, "": 3600}
StoreOpener = Callable[[str], ObjectStore]  # a URL or profile name -> the store (the face's Settings)


@dataclass(frozen=True)
class RetentionRule:
    name: str
    action: str  # one of ACTIONS
    prefix: str = ""
    channel: str | None = None  # a glob over the channel name
    older_than: timedelta | None = None
    status: str | None = "complete"  # None: any status
    to: str | None = None  # archive
    storage_class: str | None = None  # tier
    require_copy: str | None = None  # delete

    def matches(self, rec: Recording, status: str, now: datetime) -> bool:
        if not rec.folder.startswith(self.prefix) and not (rec.folder + rec.key.base).startswith(self.prefix):
            return False
        if self.channel is not None and not fnmatch.fnmatchcase(rec.key.cname, self.channel):
            return False
        if self.status is not None and status != self.status:
            return False
        if self.older_than is not None:
            return rec.start is not None and rec.start <= now - self.older_than
        return True


def parse_rules(items: Any, where: str = "[[rules.retention]]") -> list[RetentionRule]:
    """Validate the `[[rules.retention]]` array; a wrong or unknown key is a ConfigError naming it."""
    if items is None:
        return []
    if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
        raise ConfigError(f"{where}: must be an array of tables")
    return [_rule(item, f"{where} #{n}") for n, item in enumerate(items, 1)]


def _rule(item: Mapping[str, Any], where: str) -> RetentionRule:
    unknown = set(item) - _KEYS
    if unknown:
        raise ConfigError(f"{where}: unknown key {sorted(unknown)[0]!r} (known: {', '.join(sorted(_KEYS))})")
    for name, value in item.items():
        if not isinstance(value, str):
            raise ConfigError(f"{where}: {name!r} must be a string")
    action = item.get("action")
    if action not in ACTIONS:
        raise ConfigError(f"{where}: action must be one of {', '.join(ACTIONS)}")
    if action == "archive" and not item.get("to"):
        raise ConfigError(f"{where}: an archive rule needs 'to' (the store to move recordings to)")
    if action == "tier" and not item.get("class"):
        raise ConfigError(f"{where}: a tier rule needs 'class'")
    status = item.get("status", "complete")
    if status != "any" and status not in STATUS_ORDER:
        raise ConfigError(f"{where}: status must be 'any' or one of {', '.join(STATUS_ORDER)}")
    return RetentionRule(item.get("name") or where, action, item.get("prefix", ""), item.get("channel"),
                         _age(item["older_than"], where) if "older_than" in item else None,
                         None if status == "any" else status, item.get("to"), item.get("class"),
                         item.get("require_copy"))


def parse_age(text: str) -> timedelta | None:
    """'7d', '72h', '30m', '90s', '2w' (a bare number is hours); None when it is none of those."""
    match = _AGE.match(text.lower())
    return None if match is None else timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])


def _age(text: str, where: str) -> timedelta:
    age = parse_age(text)
    if age is None:
        raise ConfigError(f"{where}: older_than {text!r}: use a number with s, m, h, d or w (e.g. 30d)")
    return age


@dataclass
class RetentionPlan:
    store: str
    steps: list[tuple[RetentionRule, Plan]] = field(default_factory=list)
    interrupted: list[str] = field(default_factory=list)  # ids of the steps that resume an interrupted run

    @property
    def plans(self) -> list[Plan]:
        return [plan for _, plan in self.steps]

    def to_dict(self) -> dict[str, Any]:
        return {"store": self.store, "steps": [{"rule": rule.name, "action": rule.action, "plan": plan.to_dict()}
                                              for rule, plan in self.steps],
                "interrupted": list(self.interrupted),
                "total_objects": sum(len(p.objects) for p in self.plans if not p.refused),
                "total_bytes": sum(p.total_bytes for p in self.plans if not p.refused)}


def plan_retention(store: ObjectStore, rules: Sequence[RetentionRule], open_store: StoreOpener,
                   now: datetime | None = None, data_dir: Path | None = None) -> RetentionPlan:
    """One plan per matching recording (the first rule that matches it), in catalog order.

    With `data_dir`, the interrupted retention runs of this store come first, as journaled.
    """
    now = now or datetime.now(UTC)
    result = RetentionPlan(store.url)
    if data_dir is not None:
        result.steps += interrupted_steps(store, rules, data_dir, open_store)
        result.interrupted = [plan.id for plan in result.plans]
    if not rules:
        return result
    resuming = {rec.id for plan in result.plans for rec in plan.recordings}
    prefix = _common_prefix([rule.prefix for rule in rules])
    recordings = [rec for rec in find(store, prefix=prefix) if rec.id not in resuming]
    for rec, report in zip(recordings, verify_many(store, recordings), strict=True):
        rule = next((r for r in rules if r.matches(rec, report.status, now)), None)
        if rule is not None:
            result.steps.append((rule, _plan_one(store, rule, rec, open_store)))
    return result


def interrupted_steps(store: ObjectStore, rules: Sequence[RetentionRule], data_dir: Path,
                      open_store: StoreOpener) -> list[tuple[RetentionRule, Plan]]:
    """The retention plans of `store` a killed run left unfinished, each with the rule to apply it by.

    The rule is rebuilt from the journaled plan (the one in recshelf.toml may have changed or gone since):
    a move goes to the very store it started copying to.
    """
    steps = []
    for plan in unfinished_plans(data_dir):
        name = plan.request.get("retention")
        if plan.store != store.url or not name or plan.operation not in _ACTION_OF:
            continue
        to = _dest_ref(plan.dest, rules, open_store) if plan.dest else None
        rule = RetentionRule(str(name), _ACTION_OF[plan.operation], to=to,
                             storage_class=plan.request.get("class"))
        steps.append((rule, plan))
    return steps


_ACTION_OF = {"delete": "delete", "move": "archive", "tier": "tier"}


def _dest_ref(dest: str, rules: Sequence[RetentionRule], open_store: StoreOpener) -> str:
    # A rule's `to` may be a profile (its credentials, its endpoint); the journal holds only the store's URL.
    for rule in rules:
        if rule.action == "archive" and rule.to and open_store(rule.to).url == dest:
            return rule.to
    return dest


def _plan_one(store: ObjectStore, rule: RetentionRule, rec: Recording, open_store: StoreOpener) -> Plan:
    key, force = rec.key, rule.status != "complete"  # a rule that asks for another status means it
    if rule.action == "archive":
        return plan_move(store, open_store(rule.to or ""), key.sid, key.uid, force=force, prefix=rec.folder,
                         recordings=[rec], retention=rule.name)
    if rule.action == "tier":
        return plan_tier(store, key.sid, key.uid, rule.storage_class or "", force=force, prefix=rec.folder,
                         recordings=[rec], retention=rule.name)
    copy = open_store(rule.require_copy) if rule.require_copy else None
    request = {"retention": rule.name, "recording": rec.id, "force": force,
               "require_copy": copy.url if copy is not None else None}
    return plan_delete(store, key.sid, key.uid, force=force, require_copy=copy, prefix=rec.folder,
                       recordings=[rec], request=request)


def apply_retention(store: ObjectStore, plan: RetentionPlan, data_dir: Path, open_store: StoreOpener,
                    copier: Copier) -> list[Outcome]:
    """Apply each planned step as planned (refused ones are reported, not applied)."""
    outcomes = []
    for rule, step in plan.steps:
        if step.operation == "move":
            outcomes.append(apply_move(store, open_store(rule.to or ""), step, data_dir, copier))
        elif step.operation == "tier":
            outcomes.append(apply_tier(store, step, data_dir))
        else:
            outcomes.append(apply_deletes(store, step, data_dir))
    return outcomes


def _common_prefix(prefixes: list[str]) -> str:
    """The folder every rule's prefix starts with: one listing covers them all."""
    common = prefixes[0]
    for prefix in prefixes[1:]:
        while not prefix.startswith(common):
            common = common[:-1]
    return common[: common.rfind("/") + 1]

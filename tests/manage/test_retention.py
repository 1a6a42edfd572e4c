"""Retention rules on every store kind: the plan lists exactly what apply then does, first matching rule wins."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from storage.errors import ConfigError
from storage.export.jobs import copy_recordings
from storage.manage.retention import RetentionRule, apply_retention, parse_rules, plan_retention
from storage.media.naming import RecordingKey
from storage.stores.base import ObjectStore
from storage.stores.classes import classes_of
from tests.fixtures.media import SAMPLE_START, RecordingFactory
from tests.fixtures.stores import StoreFactory
from tests.manage.helpers import listed

OLD = RecordingKey("a" * 32, "old_lesson")  # 60 days old: deleted
ARCHIVED = RecordingKey("b" * 32, "archive_me")  # 60 days old: archived
RECENT = RecordingKey("c" * 32, "old_lesson_2")  # matches the delete rule's channel, but too young
COLD = RecordingKey("d" * 32, "cold room")  # tiered (where the store has classes)
NOW = SAMPLE_START + timedelta(days=60)


def _rules(archive: ObjectStore, cold_class: str) -> list[RetentionRule]:
    return parse_rules([
        {"name": "drop old lessons", "channel": "old_*", "older_than": "30d", "action": "delete"},
        {"name": "archive", "channel": "archive_*", "action": "archive", "to": archive.url},
        {"name": "cold", "prefix": "rec/", "channel": "cold*", "action": "tier", "class": cold_class},
    ])


def test_plan_equals_apply(store_kind: str, store_factory: StoreFactory, local_store_factory: StoreFactory,
                           recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store, archive = store_factory(), local_store_factory()
    written = {key: recording_factory(store, key=key, start=SAMPLE_START if key != RECENT else NOW)
               for key in (OLD, ARCHIVED, RECENT, COLD)}
    before = listed(store)
    classes = classes_of(store)
    cold_class = classes.names[1] if classes is not None else "IA"
    rules = _rules(archive, cold_class)
    opener = {archive.url: archive}.__getitem__

    plan = plan_retention(store, rules, opener, now=NOW)
    by_rule = {rule.name: step for rule, step in plan.steps}
    assert sorted(by_rule) == ["archive", "cold", "drop old lessons"]  # RECENT matches no rule
    assert sorted(by_rule["drop old lessons"].keys) == sorted(written[OLD])
    assert sorted(by_rule["archive"].keys) == sorted(written[ARCHIVED])
    if classes is None:
        assert by_rule["cold"].refused  # a folder has no storage classes: said, not skipped silently
    else:
        assert sorted(by_rule["cold"].keys) == sorted(written[COLD])

    outcomes = apply_retention(store, plan, tmp_path, opener, copy_recordings)
    results = {rule.name: outcome for (rule, _), outcome in zip(plan.steps, outcomes, strict=True)}
    assert results["drop old lessons"].ok and results["archive"].ok
    if classes is None:
        assert results["cold"].status == "refused"
    elif store_kind == "s3-seaweedfs":
        assert results["cold"].status == "partial"  # SeaweedFS refuses storage classes (see test_tier)
    else:
        assert results["cold"].ok, results["cold"]
    gone = set(written[OLD]) | set(written[ARCHIVED])
    assert listed(store) == {key: size for key, size in before.items() if key not in gone}  # exactly the plan
    assert set(written[ARCHIVED]) <= set(listed(archive))

    rerun = {rule.name: step for rule, step in plan_retention(store, rules, opener, now=NOW).steps}
    assert sorted(rerun) == ["cold"]  # deleted and archived recordings are gone


def test_bad_rules_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="unknown key 'olderthan'"):
        parse_rules([{"action": "delete", "olderthan": "3d"}])
    with pytest.raises(ConfigError, match="needs 'to'"):
        parse_rules([{"action": "archive"}])
    with pytest.raises(ConfigError, match="older_than"):
        parse_rules([{"action": "delete", "older_than": "soon"}])
    with pytest.raises(ConfigError, match="action"):
        parse_rules([{"action": "shred"}])

"""Cold storage on every store kind: tier a recording in place, see its class listed, restore it.

S3 runs on moto and SeaweedFS, OSS and Qiniu on the emulators (tests/emulators), each through the
SDK's own call; local folders and memory stores have no classes and refuse with a clear reason.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.manage.tier import apply_restore, apply_tier, plan_restore, plan_tier
from storage.manage.usage import usage
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.recordings.objects import class_counts, recording_class
from storage.recordings.verify import verify
from storage.stores.base import ObjectStore, StoreError
from storage.stores.classes import classes_of, listing_classes
from tests.fixtures.media import RecordingFactory
from tests.fixtures.stores import StoreFactory

SID = "0123456789abcdef0123456789abcdef"
OTHER = RecordingKey(SID[:31] + "0", "my_chan 1")  # a sid sharing all but the last digit: never touched
# (infrequent-access class, archive class) in each SDK's own words, as a user types them
CLASSES = {"s3": ("STANDARD_IA", "GLACIER"), "s3-seaweedfs": ("STANDARD_IA", "GLACIER"), "oss": ("IA", "Archive"),
           "qiniu": ("low-frequency", "archive")}


def _classes(store: ObjectStore, sid: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    with listing_classes(store):
        found = find(store, sid=sid)
    for rec in found:
        for name, count in class_counts(rec).items():
            counts[name] = counts.get(name, 0) + count
    return counts


def test_tier_then_restore(store_kind: str, store_factory: StoreFactory, recording_factory: RecordingFactory,
                           tmp_path: Path) -> None:
    store = store_factory()
    keys = recording_factory(store, failover_parts=1)
    others = recording_factory(store, key=OTHER)
    classes = classes_of(store)
    if classes is None:
        plan = plan_tier(store, SID, None, "GLACIER")
        assert plan.refused and "no storage classes" in plan.refusals[0]
        assert [row.group for row in usage(store, "class")] == ["-"]
        assert apply_tier(store, plan, tmp_path).status == "refused"
        return
    infrequent, archive = CLASSES[store_kind]
    standard = classes.default
    assert _classes(store, SID) == {standard: len(keys)}

    plan = plan_tier(store, SID, None, infrequent.lower())  # any case: the plan holds the SDK's own name
    assert not plan.refused and plan.request["class"] == infrequent and sorted(plan.keys) == sorted(keys)
    outcome = apply_tier(store, plan, tmp_path)
    if store_kind == "s3-seaweedfs":
        # SeaweedFS has no storage classes: it refuses S3's class-changing self-copy. The run says so
        # (partial, with the server's error) and every object stays as it was, readable.
        assert outcome.status == "partial" and "InvalidRequest" in (outcome.error or ""), outcome
        assert sorted(outcome.remaining) == sorted(keys) and _classes(store, SID) == {standard: len(keys)}
        assert verify(store, next(r for r in find(store, sid=SID) if r.key.sid == SID)).status == "complete"
        return
    assert outcome.ok and outcome.deleted == len(keys), outcome
    assert _classes(store, SID) == {infrequent: len(keys)}
    assert _classes(store, OTHER.sid) == {standard: len(others)}
    with listing_classes(store):
        rec = next(r for r in find(store, sid=SID) if r.key.sid == SID)
    assert recording_class(rec) == infrequent and verify(store, rec).status == "complete"  # still readable
    by_class = {row.group: row.recordings for row in usage(store, "class")}
    assert by_class == {infrequent: 1, standard: 1}
    again = plan_tier(store, SID, None, infrequent)
    assert not again.objects and "already" in again.warnings[-1]

    assert plan_restore(store, SID).objects == []  # infrequent access reads as it is

    archived = apply_tier(store, plan_tier(store, SID, None, archive), tmp_path)
    assert archived.ok, archived
    assert _classes(store, SID) == {archive: len(keys)}
    with pytest.raises(StoreError):
        store.read(keys[0])  # archived: not readable until restored
    assert "restore" in plan_tier(store, SID, None, standard).warnings[0]

    restore = plan_restore(store, SID, days=1)
    assert sorted(restore.keys) == sorted(keys)
    started = apply_restore(store, restore, tmp_path)
    assert started.ok and started.deleted == len(keys), started
    rerun = apply_restore(store, plan_restore(store, SID, days=1), tmp_path)
    assert rerun.ok  # asking again is harmless: in progress (OSS, Qiniu) or extended (S3)
    if store_kind in ("oss", "qiniu"):
        assert f"{len(keys)} restore(s) were already in progress" in (rerun.error or "")
    assert _classes(store, OTHER.sid) == {standard: len(others)}


def test_unknown_class_is_refused_naming_the_known_ones(store_kind: str, store_factory: StoreFactory,
                                                        recording_factory: RecordingFactory) -> None:
    store = store_factory()
    recording_factory(store)
    plan = plan_tier(store, SID, None, "FROZEN")
    assert plan.refused and not plan.objects
    if classes_of(store) is not None:
        assert "unknown storage class 'FROZEN'" in plan.refusals[0]

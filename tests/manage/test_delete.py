"""recshelf's delete on every store kind: the whole recording, nothing of its neighbours, in batches."""

from __future__ import annotations

from pathlib import Path

from storage.manage.apply import apply_deletes
from storage.manage.delete import plan_delete
from storage.manage.journal import Journal
from tests.fixtures.media import RecordingFactory
from tests.fixtures.stores import StoreFactory
from tests.manage.helpers import SID, TARGET, colliding_set, listed, write_all


def test_delete_takes_the_whole_recording_and_nothing_else(store_factory: StoreFactory, tmp_path: Path) -> None:
    store = store_factory()
    target, others = colliding_set()
    write_all(store, target | others)
    plan = plan_delete(store, TARGET.sid, "1")
    assert not plan.refusals
    assert sorted(plan.keys) == sorted(target)  # failover part, re-delivery and the MP4 included
    assert plan.total_bytes == sum(len(data) for data in target.values())
    outcome = apply_deletes(store, plan, tmp_path)
    assert outcome.ok and outcome.deleted == len(target) and not outcome.remaining
    assert listed(store) == {key: len(data) for key, data in others.items()}
    lines = Journal(tmp_path, plan.id).lines
    assert lines[0]["plan"]["id"] == plan.id and lines[-1]["outcome"] == "done"
    assert [line["batch"] for line in lines if line.get("step") == "delete"] == [0]


def test_real_sample_recording_on_every_store(store_factory: StoreFactory, recording_factory: RecordingFactory,
                                              tmp_path: Path) -> None:
    store = store_factory()
    keys = recording_factory(store, failover_parts=1)
    kept = recording_factory(store, key=None, folder="other/")
    plan = plan_delete(store, SID, prefix="rec/")
    assert sorted(plan.keys) == sorted(keys)
    assert apply_deletes(store, plan, tmp_path).ok
    assert sorted(listed(store)) == sorted(kept)


def test_incomplete_needs_force(store_factory: StoreFactory, recording_factory: RecordingFactory,
                                tmp_path: Path) -> None:
    store = store_factory()
    keys = recording_factory(store, faults={"missing_slice"})
    plan = plan_delete(store, SID)
    assert plan.refused and "incomplete" in plan.refusals[0]
    assert apply_deletes(store, plan, tmp_path).status == "refused"
    assert sorted(listed(store)) == sorted(keys)
    forced = plan_delete(store, SID, force=True)
    assert not forced.refused and forced.warnings
    assert apply_deletes(store, forced, tmp_path).ok and listed(store) == {}


def test_require_copy(store_factory: StoreFactory, local_store_factory: StoreFactory,
                      recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store, archive = store_factory(), local_store_factory()
    keys = recording_factory(store)
    assert "no copy" in plan_delete(store, SID, require_copy=archive).refusals[0]
    recording_factory(archive, slices=5)  # same names, but one slice short and other sizes
    assert plan_delete(store, SID, require_copy=archive).refused
    for key in keys:
        archive.write(key, store.read(key))
    plan = plan_delete(store, SID, require_copy=archive)
    assert not plan.refused
    assert apply_deletes(store, plan, tmp_path).ok


def test_resume_uses_the_journaled_plan(local_store_factory: StoreFactory, tmp_path: Path) -> None:
    store = local_store_factory()
    target, others = colliding_set(slices=1200)  # more than one batch
    write_all(store, target | others)
    plan = plan_delete(store, TARGET.sid, "1")
    journal = Journal(tmp_path, plan.id)
    journal.start(plan)
    store.delete(plan.keys[0])  # as if the first batch was cut by a crash before its journal line
    # The plan built now differs (the recording lost a slice), but the interrupted one is resumed.
    from storage.manage.apply import pending_plan

    assert pending_plan(tmp_path, plan_delete(store, TARGET.sid, "1", force=True)) is None
    resumed = pending_plan(tmp_path, plan)
    assert resumed is not None and resumed.to_dict() == plan.to_dict()
    outcome = apply_deletes(store, resumed, tmp_path)
    assert outcome.ok and outcome.resumed
    assert listed(store) == {key: len(data) for key, data in others.items()}
    assert len(Journal(tmp_path, plan.id).steps("delete")) == 3

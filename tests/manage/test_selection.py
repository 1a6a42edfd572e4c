"""Plans for recordings picked one by one (the web UI's selected rows), on every store kind."""

from __future__ import annotations

from pathlib import Path

from storage.export.jobs import copy_recordings
from storage.manage.apply import apply_deletes
from storage.manage.move import apply_move
from storage.manage.plan import recording_objects
from storage.manage.selection import plan_delete_selected, plan_move_selected
from storage.recordings.catalog import find
from tests.fixtures.stores import StoreFactory
from tests.manage.helpers import NEIGHBOURS, TARGET, colliding_set, listed, write_all


def test_a_selection_deletes_exactly_its_recordings_never_a_neighbour(store_factory: StoreFactory,
                                                                       tmp_path: Path) -> None:
    store = store_factory()
    target, others = colliding_set()
    write_all(store, target | others)
    recordings = {rec.key: rec for rec in find(store)}
    picked = [recordings[TARGET], recordings[NEIGHBOURS[2]], recordings[TARGET]]  # one picked twice
    plan = plan_delete_selected(store, picked)
    wanted = set(target) | {obj.key for obj in recording_objects(recordings[NEIGHBOURS[2]])}
    assert not plan.refused and set(plan.keys) == wanted and len(plan.keys) == len(wanted)
    assert len(plan.recordings) == 2
    assert plan_delete_selected(store, list(reversed(picked))).id == plan.id  # the same selection resumes
    assert apply_deletes(store, plan, tmp_path).ok
    assert set(listed(store)) == set(target | others) - wanted


def test_a_selection_that_is_not_complete_is_refused_without_force(store_factory: StoreFactory) -> None:
    store = store_factory()
    target, _ = colliding_set()
    write_all(store, {key: data for key, data in target.items() if not key.endswith(".m3u8")})
    picked = find(store)
    assert plan_delete_selected(store, picked).refused
    forced = plan_delete_selected(store, picked, force=True)
    assert not forced.refused and forced.warnings and set(forced.keys) == set(listed(store))


def test_moving_a_selection_is_one_plan_per_recording(local_store_factory: StoreFactory, tmp_path: Path) -> None:
    source, archive = local_store_factory(), local_store_factory()
    target, others = colliding_set()
    write_all(source, target | others)
    recordings = {rec.key: rec for rec in find(source)}
    plans = plan_move_selected(source, archive, [recordings[TARGET], recordings[NEIGHBOURS[0]]])
    assert [len(plan.recordings) for plan in plans] == [1, 1]
    for plan in plans:
        assert apply_move(source, archive, plan, tmp_path, copy_recordings).ok
    moved = set(target) | {obj.key for obj in recording_objects(recordings[NEIGHBOURS[0]])}
    assert {key for key in listed(archive) if not key.startswith(".recshelf/")} == moved
    assert set(listed(source)) == set(target | others) - moved
    assert all(plan.refused for plan in plan_move_selected(source, source, [recordings[NEIGHBOURS[1]]]))

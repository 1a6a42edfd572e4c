"""Move, usage and clean-up on every store kind, with real sample recordings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from storage.export.jobs import copy_recordings
from storage.manage.apply import apply_deletes
from storage.manage.clean import plan_clean
from storage.manage.move import apply_move, plan_move
from storage.manage.usage import usage
from storage.media.naming import RecordingKey, slice_name
from storage.recordings.catalog import slice_time
from tests.fixtures.media import RecordingFactory
from tests.fixtures.stores import StoreFactory
from tests.manage.helpers import listed

SID = "0123456789abcdef0123456789abcdef"
OTHER = RecordingKey(SID[:31] + "0", "my_chan 1")


def test_move_copies_verifies_then_deletes(store_factory: StoreFactory, local_store_factory: StoreFactory,
                                           recording_factory: RecordingFactory, tmp_path: Path) -> None:
    source, archive = store_factory(), local_store_factory()
    moved = recording_factory(source, failover_parts=1)
    kept = recording_factory(source, key=OTHER)
    before = {key: source.read(key) for key in moved}
    plan = plan_move(source, archive, SID)
    assert not plan.refused and sorted(plan.keys) == sorted(moved)
    outcome = apply_move(source, archive, plan, tmp_path, copy_recordings)
    assert outcome.ok, outcome.error
    assert sorted(listed(source)) == sorted(kept)
    assert {key: archive.read(key) for key in moved} == before


def test_move_refuses_incomplete_and_keeps_the_source_when_the_copy_fails(
        local_store_factory: StoreFactory, store_factory: StoreFactory, recording_factory: RecordingFactory,
        tmp_path: Path) -> None:
    source, archive = local_store_factory(), store_factory(bucket="no-such-bucket-here")
    keys = recording_factory(source, faults={"missing_slice"})
    assert plan_move(source, archive, SID).refused
    plan = plan_move(source, archive, SID, force=True)
    outcome = apply_move(source, archive, plan, tmp_path, copy_recordings)
    assert outcome.status == "failed" and sorted(listed(source)) == sorted(keys)


def test_usage_groups(store_factory: StoreFactory, recording_factory: RecordingFactory) -> None:
    store = store_factory()
    recording_factory(store, slices=4)
    recording_factory(store, key=RecordingKey(OTHER.sid, "second"), folder="b/", start=datetime(2026, 2, 1, tzinfo=UTC))
    by_channel = {row.group: row for row in usage(store, "channel")}
    assert set(by_channel) == {"my_chan 1", "second"}
    assert by_channel["my_chan 1"].slices == 4 and by_channel["second"].slices == 6
    assert abs(by_channel["my_chan 1"].hours * 3600 - 4.0) < 0.5
    assert sum(row.bytes for row in by_channel.values()) == sum(listed(store).values())
    assert [row.group for row in usage(store, "month")] == ["2026-01", "2026-02"]
    status = usage(store, "status")
    assert [(row.group, row.recordings) for row in status] == [("complete", 2)]
    assert abs(sum(row.hours for row in status) * 3600 - 10.0) < 0.5


def test_usage_counts_a_stray_slice_hours_away_as_one_slice(store_factory: StoreFactory,
                                                            recording_factory: RecordingFactory) -> None:
    store = store_factory()
    keys = recording_factory(store, slices=4)
    first = sorted(k for k in keys if k.endswith(".ts"))[0]
    when = slice_time(first)
    assert when is not None
    # A backup re-delivery named six hours after the recording's first slice (slice names carry UTC times).
    store.write("rec/" + slice_name(RecordingKey(SID, "my_chan 1"), when + timedelta(hours=6)), store.read(first))
    [row] = usage(store, "channel")
    assert row.slices == 5 and 5.0 <= row.hours * 3600 <= 6.0  # not six hours


def test_clean_plans_only_old_orphans_missing_playlists_and_temp_files(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    orphaned = recording_factory(store, faults={"orphan_slice"})
    pending = recording_factory(store, key=OTHER, folder="backup/", faults={"no_playlist"})
    live = recording_factory(store, key=RecordingKey(SID[:30] + "77", "live"), folder="live/",
                             faults={"no_endlist", "orphan_slice"})
    if not store.url.startswith("file:") and "://" in store.url:
        store.write("rec/.x.ts.recshelf-tmp-abc", b"cut off")
    assert plan_clean(store).objects == []  # everything was written just now: younger than 72 h
    later = datetime.now(UTC) + timedelta(days=4)
    plan = plan_clean(store, now=later)
    reasons = {obj.key: obj.reason for obj in plan.objects}
    orphan = sorted(k for k in orphaned if k.endswith(".ts"))[-1]
    assert reasons.pop(orphan) == "orphan_slice"
    assert {k for k, r in reasons.items() if r == "missing_playlist"} == set(pending)
    assert all(key not in reasons for key in live)
    assert apply_deletes(store, plan, tmp_path).ok
    left = set(listed(store))
    assert orphan not in left and not left & set(pending) and set(live) <= left

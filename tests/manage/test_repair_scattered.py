"""`repair` of scattered recordings: slices Agora's backup delivered after (or beside) the playlists.

Real PyAV slices from `write_recording`; the playlists are then rewritten the way a scattered delivery
leaves them: naming only some slices, several partial re-deliveries, a partial failover playlist.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.demo.synth import PlaylistItem, agora_playlist
from storage.manage.repair import REPAIRED, apply_repair, plan_repair
from storage.manage.repair_scan import QUIET_S, assess
from storage.media import hls
from storage.media.naming import RecordingKey, playlist_name, redelivered_playlist_name, slice_name
from storage.recordings.catalog import Recording, find
from storage.recordings.playback import playback_playlist
from storage.recordings.verify import verify
from storage.stores.base import ObjectStore
from tests.fixtures.media import SAMPLE_START, RecordingFactory
from tests.fixtures.stores import StoreFactory

SID = "0123456789abcdef0123456789abcdef"
KEY = RecordingKey(SID, "my_chan 1")
TICK = 1735000000  # an Agora re-delivery tick of the partial playlists


def _recording(store: ObjectStore) -> Recording:
    return next(rec for rec in find(store, sid=SID) if rec.key.sid == SID)


def _slices(store: ObjectStore, failover: int | None = None) -> list[str]:
    part = next(p for p in _recording(store).parts if p.failover == failover)
    return [obj.key for obj in part.slices]


def _playlist(keys: list[str], *, endlist: bool = True) -> bytes:
    return agora_playlist([PlaylistItem(key.removeprefix("rec/"), 1.0) for key in keys], endlist=endlist).encode()


def _repair_and_check(store: ObjectStore, tmp_path: Path, slices: int, parts: int = 1) -> list[str]:
    """Plan, apply, and check the result verifies complete, names every slice, plays; the new keys."""
    before = {obj.key: store.read(obj.key) for obj in store.list()}
    plan = plan_repair(store, SID)
    assert not plan.refused, plan.refusals
    assert plan.objects and all(obj.reason == REPAIRED and obj.key not in before for obj in plan.objects)
    outcome = apply_repair(store, plan, tmp_path)
    assert outcome.ok and outcome.repaired == [_recording(store).id], outcome
    assert outcome.to_dict()["repaired"] == outcome.repaired  # what `repair --json` prints
    assert {key: store.read(key) for key in before} == before  # Agora's objects untouched

    rec = _recording(store)
    report = verify(store, rec, deep=True)
    assert report.status == "complete" and not report.orphans, (report.problems, report.orphans)
    assert len(report.segments) == slices * parts
    for obj in plan.objects:
        assert obj.key in [p.playlist.key for p in rec.parts if p.playlist]  # the catalog takes ours
        entries = hls.parse(store.read(obj.key)).entries
        assert [round(e.duration or 0, 1) for e in entries] == [1.0] * slices  # probed
    if store.url.split(":", 1)[0] not in ("memory",):  # a memory store cannot sign URLs for a player
        text, _ = playback_playlist(store, rec, 600)
        assert text.count("#EXTINF") == slices * parts and "#EXT-X-ENDLIST" in text

    again = plan_repair(store, SID)
    assert not again.objects and not again.refused and "nothing to repair" in again.warnings[0]
    return [obj.key for obj in plan.objects]


def test_slices_the_playlist_leaves_out_are_rebuilt_into_a_new_playlist(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    recording_factory(store, slices=6)
    slices = _slices(store)
    store.write("rec/" + playlist_name(KEY), _playlist(slices[:3]))  # the rest came later from the backup
    before = verify(store, _recording(store))
    assert before.status == "complete" and before.orphans == slices[3:]

    [new_key] = _repair_and_check(store, tmp_path, 6)
    assert new_key.startswith("rec/" + SID) and new_key.endswith("_0.m3u8")


@pytest.mark.parametrize("store_kind", ["local", "s3", "oss", "qiniu"])
def test_two_partial_redelivered_playlists_become_one(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    recording_factory(store, slices=6)
    slices = _slices(store)
    store.delete("rec/" + playlist_name(KEY))
    store.write("rec/" + redelivered_playlist_name(KEY, TICK, 0), _playlist(slices[:3]))
    store.write("rec/" + redelivered_playlist_name(KEY, TICK, 1), _playlist(slices[2:5]))  # overlaps; #5 unnamed
    assert verify(store, _recording(store)).orphans == slices[:2] + slices[5:]

    [new_key] = _repair_and_check(store, tmp_path, 6)
    assert new_key.endswith("_1.m3u8")  # the highest index, so the catalog orders it last


@pytest.mark.parametrize("store_kind", ["local", "s3"])
def test_a_failover_part_with_a_partial_playlist(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    recording_factory(store, slices=3, failover_parts=1)
    store.write("rec/" + playlist_name(KEY, 0), _playlist(_slices(store, 0)[:1]))

    [new_key] = _repair_and_check(store, tmp_path, 3, parts=2)
    assert new_key.startswith("rec/bak0_" + SID)  # only the broken part; the original is left alone


@pytest.mark.parametrize("store_kind", ["memory", "s3"])
def test_slices_a_playlist_names_but_the_store_lacks_are_refused_and_named(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    recording_factory(store, slices=6)
    slices = _slices(store)
    store.write("rec/" + playlist_name(KEY), _playlist(slices[:3]))
    # A fuller re-delivery names a slice that never arrived: the loss must not be rebuilt away.
    store.write("rec/" + redelivered_playlist_name(KEY, TICK, 0), _playlist(slices))
    store.delete(slices[4])
    listed = sorted(obj.key for obj in store.list())

    plan = plan_repair(store, SID)
    assert plan.refused and not plan.objects
    assert slices[4] in plan.refusals[0] and "1 slice(s)" in plan.refusals[0]
    assert apply_repair(store, plan, tmp_path).status == "refused"
    assert sorted(obj.key for obj in store.list()) == listed


@pytest.mark.parametrize("store_kind", ["memory"])
def test_an_open_playlist_of_a_recording_still_written_is_not_closed(
        store_factory: StoreFactory, recording_factory: RecordingFactory) -> None:
    store = store_factory()
    recording_factory(store, slices=4)
    slices = _slices(store)
    store.write("rec/" + playlist_name(KEY), _playlist(slices[:2], endlist=False))

    plan = plan_repair(store, SID)
    assert plan.refused and "still recording" in plan.refusals[0] and not plan.objects


@pytest.mark.parametrize("store_kind", ["local"])
def test_a_smaller_rebuilt_playlist_is_padded_so_the_catalog_takes_it_and_a_rerun_keeps_it(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    recording_factory(store, slices=4)
    slices = _slices(store)
    bulky = _playlist(slices[:2]) + b"# " + b"x" * 4000 + b"\n"  # bigger in bytes than a 4-slice playlist
    store.write("rec/" + playlist_name(KEY), bulky)

    plan = plan_repair(store, SID)
    assert plan.objects[0].size >= len(bulky)
    assert apply_repair(store, plan, tmp_path).ok
    written = store.read(plan.objects[0].key)
    assert apply_repair(store, plan, tmp_path).ok  # the same plan again: ours is there, never rewritten
    assert store.read(plan.objects[0].key) == written
    rec = _recording(store)
    assert rec.parts[0].playlist is not None and rec.parts[0].playlist.key == plan.objects[0].key
    assert verify(store, rec).status == "complete"


@pytest.mark.parametrize("store_kind", ["memory"])
def test_a_left_out_slice_that_does_not_decode_is_not_rebuilt_again_and_again(
        store_factory: StoreFactory, recording_factory: RecordingFactory) -> None:
    store = store_factory()
    recording_factory(store, slices=3)
    junk = "rec/" + slice_name(KEY, SAMPLE_START + timedelta(seconds=30))
    store.write(junk, b"\x47" + b"\x00" * 187)  # one TS packet's worth, no media in it

    plan = plan_repair(store, SID)
    assert not plan.refused and not plan.objects
    assert any("do not decode" in warning for warning in plan.warnings), plan.warnings


@pytest.mark.parametrize("store_kind", ["memory"])
def test_an_open_partial_playlist_is_rebuilt_once_the_recording_is_quiet(
        store_factory: StoreFactory, recording_factory: RecordingFactory) -> None:
    store = store_factory()
    recording_factory(store, slices=4)
    store.write("rec/" + playlist_name(KEY), _playlist(_slices(store)[:2], endlist=False))
    rec = _recording(store)

    assert assess(store, rec, "unfinished").refusal  # just written: it may still be recording
    later = datetime.now(UTC) + timedelta(seconds=QUIET_S + 60)
    found = assess(store, rec, "unfinished", now=later)
    assert found.refusal is None and [todo.part.failover for todo in found.rebuild] == [None]


@pytest.mark.parametrize("store_kind", ["local"])
def test_an_error_page_stored_as_the_playlist_is_rebuilt_once_quiet_a_hostile_one_never(
        store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    later = datetime.now(UTC) + timedelta(seconds=QUIET_S + 60)
    store = store_factory()
    recording_factory(store, slices=3, faults={"malformed_playlist"})
    assert verify(store, _recording(store)).status == "invalid"
    assert plan_repair(store, SID).refused  # just written: Agora may still overwrite it

    plan = plan_repair(store, SID, now=later)
    assert not plan.refused and len(plan.objects) == 1
    assert apply_repair(store, plan, tmp_path).repaired == [_recording(store).id]
    assert verify(store, _recording(store), deep=True).status == "complete"

    hostile = store_factory()
    recording_factory(hostile, slices=3, faults={"hostile_uri"})
    plan = plan_repair(hostile, SID, now=later)
    assert plan.refused and "unsafe_uri" in plan.refusals[0] and not plan.objects

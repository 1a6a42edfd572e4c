"""`repair` on every store kind: a playlist rebuilt from the slices, written beside Agora's objects."""

from __future__ import annotations

from pathlib import Path

from storage.manage.repair import REPAIRED, apply_repair, plan_repair
from storage.media import hls
from storage.recordings.catalog import find
from storage.recordings.playback import playback_playlist
from storage.recordings.verify import verify
from storage.stores.base import ObjectStore
from tests.fixtures.media import RecordingFactory
from tests.fixtures.stores import StoreFactory

SID = "0123456789abcdef0123456789abcdef"


def _the_recording(store: ObjectStore):  # noqa: ANN202 - a Recording
    return next(rec for rec in find(store, sid=SID) if rec.key.sid == SID)


def test_repair_rebuilds_a_missing_playlist_and_the_recording_plays(
        store_kind: str, store_factory: StoreFactory, recording_factory: RecordingFactory, tmp_path: Path) -> None:
    store = store_factory()
    keys = recording_factory(store, faults={"no_playlist"}, failover_parts=1, slices=4, slice_s=2.0)
    before = {key: store.read(key) for key in keys}
    assert verify(store, _the_recording(store)).status == "missing_playlist"

    plan = plan_repair(store, SID)
    assert not plan.refused and [obj.reason for obj in plan.objects] == [REPAIRED]
    new_key = plan.objects[0].key
    assert new_key not in keys and new_key.startswith("rec/") and new_key.endswith("_0.m3u8")
    outcome = apply_repair(store, plan, tmp_path)
    assert outcome.ok and outcome.deleted == 1, outcome

    assert {key: store.read(key) for key in keys} == before  # Agora's objects untouched
    rec = _the_recording(store)
    assert rec.playlist is not None and rec.playlist.key == new_key
    report = verify(store, rec, deep=True)
    assert report.status == "complete", report.problems
    playlist = hls.parse(store.read(new_key))
    assert [round(e.duration or 0, 1) for e in playlist.entries] == [2.0] * 4  # probed, not guessed
    if store_kind != "memory":  # a memory store cannot sign URLs for a player (nothing over HTTP reaches it)
        text, _ = playback_playlist(store, rec, 600)  # what a player gets: both parts, every slice
        assert text.count("#EXTINF") == 8 and "#EXT-X-ENDLIST" in text

    again = plan_repair(store, SID)
    assert not again.objects and "nothing to repair" in again.warnings[0]


def test_repair_refuses_an_incomplete_recording(store_factory: StoreFactory, recording_factory: RecordingFactory,
                                                 tmp_path: Path) -> None:
    store = store_factory()
    keys = recording_factory(store, faults={"missing_slice"})
    plan = plan_repair(store, SID)
    assert plan.refused and "incomplete" in plan.refusals[0] and not plan.objects
    assert apply_repair(store, plan, tmp_path).status == "refused"
    assert sorted(obj.key for obj in store.list()) == sorted(keys)

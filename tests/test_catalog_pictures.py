"""Agora snapshot .jpg files and MP4 files gathered into their recordings (agora.md §2.2, §8.2)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.media.naming import RecordingKey, mp4_name, parse_name, playlist_name, slice_name, snapshot_name
from storage.recordings.catalog import ListingStats, group
from storage.stores.base import ObjectInfo

SID = "03f7acf17547cbd851d92ca515b6d069"
T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HOSTILE_CNAMES = ["ride_17822", "a__b", "x_20240501120000000", "MT_Test", "!#$%&()+-:;<=.>?@[]^{}|~,",
                  "cam_video_1", "s p a c e", "..dots..", "uid_e_video"]


def obj(key: str, size: int = 100) -> ObjectInfo:
    return ObjectInfo(key=key, size=size)


def _individual(folder: str, cname: str, uid: str = "3108485562", shots: int = 3) -> list[ObjectInfo]:
    objects = []
    for stream in ("audio", "video"):
        key = RecordingKey(SID, cname, uid, stream)
        objects.append(obj(folder + playlist_name(key)))
        objects += [obj(folder + slice_name(key, T0 + timedelta(seconds=15 * n))) for n in range(2)]
    video = RecordingKey(SID, cname, uid, "video")
    objects += [obj(folder + snapshot_name(video, T0 + timedelta(seconds=10 * n)), 5000) for n in range(shots)]
    return sorted(objects, key=lambda o: o.key)


def test_snapshot_names_parse_as_video_snapshots():
    name = f"{SID}_MT_Test__uid_s_44446__uid_e_video_20240501120010000.JPG"
    parsed = parse_name(name)
    assert parsed is not None and parsed.kind == "snapshot" and parsed.ext == "jpg"
    assert parsed.key == RecordingKey(SID, "MT_Test", "44446", "video")
    assert parsed.utc == T0 + timedelta(seconds=10)
    # Only video is snapshotted; a composite jpg, an impossible time or an audio "snapshot" is not Agora's.
    assert parse_name(f"{SID}_MT_Test__uid_s_44446__uid_e_audio_20240501120010000.jpg") is None
    assert parse_name(f"{SID}_MT_Test_20240501120010000.jpg") is None
    assert parse_name(f"{SID}_MT_Test__uid_s_44446__uid_e_video_20241301120010000.jpg") is None
    with pytest.raises(ValueError):
        snapshot_name(RecordingKey(SID, "c"), T0)


@pytest.mark.parametrize("cname", HOSTILE_CNAMES)
def test_snapshots_belong_to_the_uid_video_recording_never_orphans(cname):
    stats = ListingStats()
    recs = group(_individual("rec/", cname), stats)
    assert stats.ignored == 0
    by_stream = {r.key.stream: r for r in recs}
    assert set(by_stream) == {"audio", "video"}
    video, audio = by_stream["video"], by_stream["audio"]
    assert [s.key.rpartition("_")[2] for s in video.snapshots] == [
        "20240501120000000.jpg", "20240501120010000.jpg", "20240501120020000.jpg"]
    assert audio.snapshots == []
    # Snapshots are not slices: they are never played, verified or reported as orphans.
    assert all(not s.key.endswith(".jpg") for r in recs for s in r.slices)
    assert len(video.slices) == 2


def test_snapshot_only_recording_still_forms_one():
    key = RecordingKey(SID, "shots", "7", "video")
    recs = group([obj("s/" + snapshot_name(key, T0)), obj("s/" + snapshot_name(key, T0 + timedelta(seconds=5)))])
    (rec,) = recs
    assert rec.key == key and rec.parts == [] and len(rec.snapshots) == 2


def test_snapshots_stay_in_their_folder_and_uid():
    objects = _individual("a/", "same", uid="1") + _individual("b/", "same", uid="1", shots=1)
    objects += _individual("a/", "same", uid="2", shots=2)
    recs = group(sorted(objects, key=lambda o: o.key))
    counts = {(r.folder, r.key.uid): len(r.snapshots) for r in recs if r.key.stream == "video"}
    assert counts == {("a/", "1"): 3, ("b/", "1"): 1, ("a/", "2"): 2}
    assert all(s.key.startswith(r.folder) and f"__uid_s_{r.key.uid}__" in s.key for r in recs for s in r.snapshots)


@pytest.mark.parametrize("cname", ["weekly standup", "a_1", "x_0", "room_20240501120000000"])
def test_composite_mp4_files_are_gathered_into_their_recording(cname):
    key = RecordingKey(SID, cname)
    objects = [obj("r/" + playlist_name(key)), obj("r/" + slice_name(key, T0))]
    objects += [obj("r/" + mp4_name(key, n), 10_000) for n in range(2)]
    stats = ListingStats()
    (rec,) = group(sorted(objects, key=lambda o: o.key), stats)
    assert rec.key == key and stats.ignored == 0
    assert [e.key for e in rec.extras] == ["r/" + mp4_name(key, 0), "r/" + mp4_name(key, 1)]


def test_names_with_path_tricks_are_never_snapshots():
    for name in (f"../{SID}_c__uid_s_1__uid_e_video_20240501120000000.jpg",
                 f"{SID}_c/..__uid_s_1__uid_e_video_20240501120000000.jpg",
                 f"{SID}_c__uid_s_1__uid_e_video_20240501120000000.jpg.exe"):
        parsed = parse_name(name)
        assert parsed is None or parsed.kind != "snapshot"

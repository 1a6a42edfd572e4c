"""Sample recordings: Agora names, consistent timestamps, faults, and the demo seed."""

from __future__ import annotations

import io
from datetime import timedelta

import av
import pytest

from storage.demo.samples import FAULTS, HOSTILE_URI, seed_demo, write_recording
from storage.media import hls
from storage.media.naming import RecordingKey, parse_name, parse_name_candidates, split_key
from storage.recordings.catalog import find
from storage.recordings.verify import verify
from storage.stores.local import LocalStore
from tests.fixtures.media import SAMPLE_START

KEY = RecordingKey("0123456789abcdef0123456789abcdef", "my_chan 1")


@pytest.fixture
def store(tmp_path) -> LocalStore:
    return LocalStore(tmp_path)


def test_names_and_times_agree_with_extinf(store: LocalStore) -> None:
    keys = write_recording(store, "a/b/", KEY, SAMPLE_START, slices=4)
    assert keys[-1] == "a/b/0123456789abcdef0123456789abcdef_my_chan 1.m3u8"
    playlist = hls.parse(store.read(keys[-1]))
    assert [e.uri for e in playlist.entries] == [split_key(k)[1] for k in keys[:-1]]
    names = [parse_name(e.uri) for e in playlist.entries]
    assert all(n is not None and n.kind == "slice" and n.key == KEY for n in names)
    assert names[0].utc == SAMPLE_START
    for entry, name, following in zip(playlist.entries, names, names[1:], strict=False):
        assert following.utc - name.utc == pytest.approx(timedelta(seconds=entry.duration),
                                                         abs=timedelta(milliseconds=1))
    agora = playlist.entries[0].agora["EXT-X-AGORA-TRACK-EVENT"][0]
    assert agora["TIME"] == "20260102030405678" and agora["TRACK_TYPE"] == "VIDEO"
    assert hls.check(playlist) == []


@pytest.mark.parametrize(("stream", "kind"), [("audio", "audio"), ("video", "video")])
def test_individual_mode_media(store: LocalStore, stream: str, kind: str) -> None:
    key = RecordingKey(KEY.sid, KEY.cname, "42", stream)
    keys = write_recording(store, "", key, SAMPLE_START, slices=2)
    assert "__uid_s_42__uid_e_" + stream in keys[0]
    with av.open(io.BytesIO(store.read(keys[0])), format="mpegts") as container:
        assert {s.type for s in container.streams} == {kind}
    text = store.read(keys[-1]).decode()
    assert f"TRACK_TYPE={stream.upper()}" in text


def test_failover_parts_follow_in_time(store: LocalStore) -> None:
    keys = write_recording(store, "", KEY, SAMPLE_START, slices=2, failover_parts=2)
    playlists = [k for k in keys if k.endswith(".m3u8")]
    assert [parse_name(k).failover for k in playlists] == [None, 0, 1]
    times = [parse_name(k).utc for k in keys if k.endswith(".ts")]
    assert times == sorted(times) and len(times) == 6


def test_hostile_uri_and_backup_names(store: LocalStore) -> None:
    keys = write_recording(store, "r/", KEY, SAMPLE_START, faults={"hostile_uri", "backup_redelivery"})
    # A composite re-delivered name is ambiguous (naming.py); the reading for this recording's key counts.
    readings = parse_name_candidates(split_key(keys[-1])[1])
    redelivered = next(r for r in readings if r.key == KEY)
    assert redelivered.redelivered and redelivered.index == 0
    assert HOSTILE_URI in store.read(keys[-1]).decode()
    plain = hls.parse(store.read(keys[-2]))
    assert not plain.is_endlist and len(plain.entries) < len(hls.parse(store.read(keys[-1])).entries)


def test_unknown_fault_is_refused(store: LocalStore) -> None:
    with pytest.raises(ValueError, match="unknown faults"):
        write_recording(store, "", KEY, SAMPLE_START, faults={"gremlins"})
    assert "missing_slice" in FAULTS


def test_seed_demo(store: LocalStore) -> None:
    keys = seed_demo(store)
    assert len(keys) == len(set(keys)) and all(store.stat(k) for k in keys)
    reports = [verify(store, r) for r in find(store)]
    statuses = sorted(r.status for r in reports)
    assert statuses.count("complete") >= 5
    assert {"incomplete", "unfinished", "missing_playlist"} <= set(statuses)
    assert any(len(r.parts) > 1 for r in reports)
    assert any(r.uid and r.stream == "audio" for r in reports) and any(r.uid and r.stream == "video" for r in reports)
    assert any(" " in r.cname for r in reports) and any("_" in r.cname for r in reports)
    assert any(r.playlist and r.playlist.endswith("_0.m3u8") for r in reports)

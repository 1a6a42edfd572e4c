"""The simulator records for real: Agora-named slices and playlists land in a store and verify;
signed callbacks arrive; injected faults give the statuses a real bucket would show."""

from __future__ import annotations

import hashlib
import hmac
import re
from typing import Any

import pytest

from storage.agora import errors
from storage.agora.models import StopResponse, StorageConfig
from storage.agora.signature import signature_ok
from storage.media.naming import parse_name
from storage.recordings import catalog
from storage.recordings.verify import Report, verify
from storage.stores.base import ObjectStore
from storage.stores.local import LocalStore
from storage.testing.net import free_port
from tests.agora.conftest import NCS_SECRET, CallbackReceiver, Running
from tests.fixtures.wait import eventually

CNAME = "room 1_demo"
UID = "527841"


def local_storage(root: Any, prefix: list[str] | None = None) -> StorageConfig:
    return StorageConfig(vendor=100, bucket="local", fileNamePrefix=prefix or ["rec"],
                         extensionParams={"storeUrl": f"file://{root}"})


def record(running: Running, storage: StorageConfig, *, slices: int = 3, mode: str = "mix",
           faults: dict[str, Any] | None = None, **start: Any) -> tuple[str, StopResponse]:
    """Start, wait until `slices` slices per track were made, stop synchronously."""
    extra = {"recshelf_faults": faults} if faults else None
    with running.client() as client:
        rid = client.acquire(CNAME, UID).resource_id
        sid = client.start(rid, CNAME, UID, mode, storage_config=storage, extra=extra, **start).sid
        running.wait_for_slices(sid, slices)
        return sid, client.stop(rid, sid, CNAME, UID, mode)


def reports(store: ObjectStore, sid: str, deep: bool = False) -> list[Report]:
    return [verify(store, rec, deep=deep) for rec in catalog.find(store, "rec/", sid=sid)]


def test_composite_recording_is_complete_and_deep_sound(simulator, tmp_path):
    running = simulator()
    sid, stopped = record(running, local_storage(tmp_path), slices=4)
    assert stopped.uploading_status == "uploaded"
    store = LocalStore(tmp_path)
    (report,) = reports(store, sid, deep=True)
    assert report.status == "complete", report.problems
    assert report.playlist == f"rec/{sid}_{CNAME}.m3u8"
    assert len(report.segments) >= 4
    names = [parse_name(key.rpartition("/")[2]) for key in report.segments]
    assert all(n is not None and n.kind == "slice" and n.key.sid == sid for n in names)


def test_playlist_is_overwritten_with_endlist_during_recording(simulator, tmp_path):
    running = simulator()
    with running.client() as client:
        rid = client.acquire(CNAME, UID).resource_id
        sid = client.start(rid, CNAME, UID, storage_config=local_storage(tmp_path)).sid
        playlist = tmp_path / "rec" / f"{sid}_{CNAME}.m3u8"
        assert eventually(lambda: playlist.exists() and playlist.read_text().count("#EXTINF") >= 2)
        text = playlist.read_text()
        assert text.rstrip().endswith("#EXT-X-ENDLIST")  # as Agora does: not a "finished" signal
        client.stop(rid, sid, CNAME, UID)
    assert playlist.read_text().count("#EXTINF") > text.count("#EXTINF")


def test_individual_recording_has_audio_and_video_per_uid(simulator, tmp_path):
    running = simulator()
    sid, stopped = record(running, local_storage(tmp_path), mode="individual",
                          recording_config={"subscribeUidGroup": 0, "subscribeAudioUids": ["7"],
                                            "subscribeVideoUids": ["7"]})
    assert {(f.uid, f.track_type) for f in stopped.file_list} == {("7", "audio"), ("7", "video")}
    found = reports(LocalStore(tmp_path), sid, deep=True)
    assert [(r.uid, r.stream, r.status) for r in found] == [("7", "audio", "complete"), ("7", "video", "complete")]


def test_recording_into_s3(simulator, s3_store_factory, s3_server_url):
    from tests.fixtures.s3 import S3_ACCESS_KEY, S3_SECRET_KEY

    bucket_store = s3_store_factory()
    storage = StorageConfig(vendor=11, bucket=bucket_store.bucket, accessKey=S3_ACCESS_KEY, secretKey=S3_SECRET_KEY,
                            fileNamePrefix=["rec"], extensionParams={"endpoint": s3_server_url})
    running = simulator()
    sid, stopped = record(running, storage)
    assert stopped.uploading_status == "uploaded"
    (report,) = reports(bucket_store, sid)
    assert report.status == "complete", report.problems
    assert S3_SECRET_KEY not in repr(running.sim.task(sid).storage)


def test_recording_into_every_store_kind(simulator, store_factory):
    """Through each adapter (local, S3, OSS, Qiniu emulators): the resolver hands the simulator the store."""
    store = store_factory()
    running = simulator(store_resolver=lambda storage: store)
    sid, stopped = record(running, StorageConfig(vendor=1, bucket="any", fileNamePrefix=["rec"]), slices=2)
    assert stopped.uploading_status == "uploaded"
    (report,) = reports(store, sid)
    assert report.status == "complete", report.problems


# ------------------------------------------------------------------------------------------ callbacks


def _reference_signatures_ok(raw: bytes, headers: dict[str, str]) -> bool:
    """The reference's procedure (agora.md §3.5): hex HMAC-SHA1 / -SHA256 of the raw body."""
    key = NCS_SECRET.encode()
    return (hmac.compare_digest(hmac.new(key, raw, hashlib.sha1).hexdigest(), headers["Agora-Signature"])
            and hmac.compare_digest(hmac.new(key, raw, hashlib.sha256).hexdigest(), headers["Agora-Signature-V2"]))


def test_reference_signature_test_vector():
    body = (b'{"eventMs":1560408533119,"eventType":10,"noticeId":"4eb720f0-8da7-11e9-a43e-53f411c2761f",'
            b'"notifyMs":1560408533119,"payload":{"a":"1","b":2},"productId":1}')
    assert hmac.new(b"secret", body, hashlib.sha1).hexdigest() == "033c62f40f687675f17f0f41f91a40c71c0f134c"
    assert signature_ok("secret", body, {"Agora-Signature-V2":
                                         "6d3320c60b11101395b7fc8f9068748808a0aa1bfa064438e39d1bc2c7d74d99"})


def test_signed_callbacks_for_a_recording(simulator, tmp_path, callback_receiver: CallbackReceiver):
    callback_receiver.fail_next = [500]  # the first delivery fails: NCS sends it again
    running = simulator(callback_url=callback_receiver.url)
    sid, _ = record(running, local_storage(tmp_path), slices=5)
    assert callback_receiver.wait_for(lambda events: any(e["eventType"] == 11 for e in events))
    assert running.sim.wait_idle(10)
    for received in callback_receiver.received:
        assert _reference_signatures_ok(received.body, received.headers)
    events = callback_receiver.events()
    types = [e["eventType"] for e in events]
    assert {40, 30, 4, 42, 33, 41, 31, 11} <= set(types)
    assert len(types) == len(set(e["noticeId"] for e in events))  # each delivered once
    for event in events:
        assert event["productId"] == 3
        payload = event["payload"]
        assert (payload["sid"], payload["cname"], payload["uid"]) == (sid, CNAME, UID)
        assert {"sequence", "sendts", "serviceType", "details"} <= payload.keys()
    by_type = {e["eventType"]: e["payload"] for e in events}
    assert by_type[31]["details"]["msgName"] == "uploaded"
    assert by_type[31]["details"]["fileList"][0]["fileName"] == f"{sid}_{CNAME}.m3u8"
    assert by_type[4]["details"]["fileList"] == f"{sid}_{CNAME}.m3u8"
    assert by_type[31]["serviceType"] == 2 and by_type[40]["serviceType"] == 1 and by_type[11]["serviceType"] == 0
    assert sorted(e["payload"]["sequence"] for e in events) == list(range(len(events)))


def test_rest_answers_do_not_wait_for_a_dead_callback_url(simulator, tmp_path):
    dead = f"http://127.0.0.1:{free_port()}/cb"
    running = simulator(callback_url=dead, callback_retry_delays=(0.0,))
    sid, stopped = record(running, local_storage(tmp_path), slices=1)
    assert stopped.uploading_status == "uploaded"


# ------------------------------------------------------------------------------------------ faults


def test_late_slices_are_backuped_then_arrive(simulator, tmp_path, callback_receiver: CallbackReceiver):
    running = simulator(callback_url=callback_receiver.url)
    sid, stopped = record(running, local_storage(tmp_path), slices=4,
                          faults={"late_slices": [1, 2], "late_delay_s": 600})
    store = LocalStore(tmp_path)
    assert stopped.uploading_status == "backuped"
    (report,) = reports(store, sid)
    assert report.status == "incomplete" and len(report.missing) == 2
    running.sim.release_late(sid)  # rather than wait: a slow machine must not deliver before we look
    assert eventually(lambda: reports(store, sid)[0].status == "complete")
    playlists = sorted(o.key for o in store.list("rec/") if o.key.endswith(".m3u8"))
    assert len(playlists) == 2 and playlists[0] == f"rec/{sid}_{CNAME}.m3u8"
    assert re.fullmatch(rf"rec/{sid}_{CNAME}_[0-9]+_0\.m3u8", playlists[1])  # <basename>_<tick>_<index>
    assert callback_receiver.wait_for(lambda events: 32 in {e["eventType"] for e in events})
    assert 31 not in {e["eventType"] for e in callback_receiver.events()}


def test_late_playlist_is_missing_then_redelivered(simulator, tmp_path):
    running = simulator()
    sid, stopped = record(running, local_storage(tmp_path), faults={"late_slices": [0], "late_playlist": True,
                                                                   "late_delay_s": 600})
    store = LocalStore(tmp_path)
    assert stopped.uploading_status == "backuped"
    assert reports(store, sid)[0].status == "missing_playlist"
    running.sim.release_late(sid)
    assert eventually(lambda: reports(store, sid)[0].status == "complete")


def test_late_slices_arrive_by_themselves(simulator, tmp_path):
    running = simulator()
    sid, stopped = record(running, local_storage(tmp_path), faults={"late_slices": [0], "late_delay_s": 0.2})
    assert stopped.uploading_status == "backuped"
    assert eventually(lambda: reports(LocalStore(tmp_path), sid)[0].status == "complete")


def test_lost_slice_stays_incomplete(simulator, tmp_path):
    running = simulator()
    sid, stopped = record(running, local_storage(tmp_path), faults={"lost_slices": [1]})
    assert running.sim.wait_idle(10)
    (report,) = reports(LocalStore(tmp_path), sid)
    assert report.status == "incomplete"
    assert len(report.missing) == 1


def test_failover_gives_two_parts(simulator, tmp_path, callback_receiver: CallbackReceiver):
    running = simulator(callback_url=callback_receiver.url)
    sid, stopped = record(running, local_storage(tmp_path), slices=4, faults={"failover_after": 2})
    (report,) = reports(LocalStore(tmp_path), sid)
    assert report.status == "complete", report.problems
    assert [p.failover for p in report.parts] == [None, 0]
    assert (tmp_path / "rec" / f"bak0_{sid}_{CNAME}.m3u8").exists()
    assert callback_receiver.wait_for(lambda events: 12 in {e["eventType"] for e in events})
    failover = next(e for e in callback_receiver.events() if e["eventType"] == 12)
    assert failover["payload"]["details"]["newUid"] > 0


def test_idle_bot_leaves_after_max_idle_time(simulator, tmp_path, callback_receiver: CallbackReceiver):
    running = simulator(speed=50.0, callback_url=callback_receiver.url)
    with running.client() as client:
        rid = client.acquire("recshelfNobody2", UID).resource_id
        sid = client.start(rid, "recshelfNobody2", UID, storage_config=local_storage(tmp_path),
                           recording_config={"maxIdleTime": 5}).sid
        assert eventually(lambda: running.sim.task(sid).exited)
        with pytest.raises(errors.WorkerNotFound):
            client.query(rid, sid)
    assert callback_receiver.wait_for(lambda events: 11 in {e["eventType"] for e in events})
    leave = next(e for e in callback_receiver.events() if e["eventType"] == 41)
    assert leave["payload"]["details"]["leaveCode"] == 4
    assert not {31, 32, 4} & {e["eventType"] for e in callback_receiver.events()}


def test_failover_window_answers_404_then_recovers(simulator, tmp_path):
    running = simulator()
    with running.client() as client:
        rid = client.acquire(CNAME, UID).resource_id
        sid = client.start(rid, CNAME, UID, storage_config=local_storage(tmp_path),
                           extra={"recshelf_faults": {"failover_after": 1, "failover_window_s": 12}}).sid
        task = running.sim.task(sid)
        assert eventually(lambda: task.failover == 0)
        with pytest.raises(errors.WorkerNotFound):
            client.query(rid, sid)

        def answers() -> bool:
            try:
                return client.query(rid, sid).sid == sid
            except errors.WorkerNotFound:
                return False

        assert eventually(answers)
        client.stop(rid, sid, CNAME, UID)


@pytest.mark.parametrize("mode", ["mix", "web"])
def test_hls_and_mp4(simulator, tmp_path, mode):
    import av

    running = simulator()
    sid, stopped = record(running, local_storage(tmp_path), slices=3, mode=mode,
                          recording_file_config={"avFileType": ["hls", "mp4"]})
    names = [f.file_name for f in stopped.file_list]
    assert names == [f"{sid}_{CNAME}_0.mp4", f"{sid}_{CNAME}.m3u8"]
    if mode == "mix":
        assert stopped.server_response.file_list_mode == "json"
    (recording,) = catalog.find(LocalStore(tmp_path), "rec/", sid=sid)
    assert [o.key for o in recording.extras] == [f"rec/{sid}_{CNAME}_0.mp4"]
    with av.open(str(tmp_path / "rec" / names[0])) as container:
        assert {s.type for s in container.streams} == {"audio", "video"}
        assert container.duration / 1_000_000 >= 3 * 0.9  # at least the slices waited for


def test_mp4_is_refused_in_individual_mode(simulator, tmp_path):
    running = simulator()
    with running.client() as client, pytest.raises(errors.InvalidParameter, match="mp4"):
        rid = client.acquire(CNAME, UID).resource_id
        client.start(rid, CNAME, UID, "individual", storage_config=local_storage(tmp_path),
                     recording_file_config={"avFileType": ["hls", "mp4"]})


def test_unknown_fault_name_is_refused(simulator, tmp_path):
    running = simulator()
    with running.client() as client, pytest.raises(errors.InvalidParameter, match="late_slice"):
        rid = client.acquire(CNAME, UID).resource_id
        client.start(rid, CNAME, UID, storage_config=local_storage(tmp_path),
                     extra={"recshelf_faults": {"late_slice": [1]}})

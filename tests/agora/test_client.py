"""AgoraClient against the simulator over real HTTP: the call sequence, every error path, retry rules."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from storage.agora import errors
from storage.agora.client import AgoraClient
from storage.agora.controller import RecordingController
from storage.agora.models import RUNNING_STATUSES, StorageConfig
from storage.settings import Settings
from storage.testing.net import free_port
from tests.agora.conftest import APP_ID, CUSTOMER_ID, CUSTOMER_SECRET
from tests.fixtures.wait import eventually

STORAGE_SECRET = "storage-secret-never-shown"


@pytest.fixture
def storage(tmp_path: Any) -> StorageConfig:
    return StorageConfig(vendor=100, bucket="local", accessKey="ak", secretKey=STORAGE_SECRET,
                         fileNamePrefix=["rec"], extensionParams={"storeUrl": f"file://{tmp_path}"})


def _start(client: AgoraClient, storage: StorageConfig, cname: str = "class1", uid: str = "527841",
           mode: str = "mix", **extra: Any) -> tuple[str, str]:
    acquired = client.acquire(cname, uid)
    started = client.start(acquired.resource_id, cname, uid, mode, storage_config=storage, **extra)
    return acquired.resource_id, started.sid


def test_acquire_start_query_stop(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        assert len(sid) == 32 and int(sid, 16) >= 0
        assert client.query(rid, sid).status in RUNNING_STATUSES
        running.wait_for_slices(sid)
        stopped = client.stop(rid, sid, "class1", "527841")
    assert stopped.uploading_status == "uploaded"
    assert stopped.server_response.file_list_mode == "string"
    assert stopped.server_response.playlists == [f"{sid}_class1.m3u8"]
    assert running.sim.requests == {"acquire": 1, "start": 1, "query": 1, "stop": 1}


def test_individual_query_lists_each_uid_and_track(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage, mode="individual",
                          recording_config={"subscribeUidGroup": 0, "subscribeAudioUids": ["11", "22"],
                                            "subscribeVideoUids": ["11", "22"]})
        running.wait_for_slices(sid)
        answer = client.query(rid, sid, "individual")
        client.stop(rid, sid, "class1", "527841", "individual")
    server = answer.server_response
    assert server.file_list_mode == "json"
    assert {(f.uid, f.track_type) for f in server.file_list} == {
        ("11", "audio"), ("11", "video"), ("22", "audio"), ("22", "video")}
    assert all(f.file_name == f"{sid}_class1__uid_s_{f.uid}__uid_e_{f.track_type}.m3u8" for f in server.file_list)
    assert server.slice_start_time is not None and server.slice_start_time > 10**12  # ms


def test_web_mode_stop_reads_nested_upload_status(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage, mode="web")
        stopped = client.stop(rid, sid, "class1", "527841", "web")
    assert stopped.uploading_status == "uploaded"
    assert stopped.file_list and stopped.file_list[0].file_name == f"{sid}_class1.m3u8"


def test_update_and_update_layout(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        subscribe = {"streamSubscribe": {"audioUidList": {"subscribeAudioUids": ["#allstream#"]}}}
        assert client.update(rid, sid, "class1", "527841", client_request=subscribe).sid == sid
        assert client.update_layout(rid, sid, "class1", "527841", layout={"mixedVideoLayout": 1}).sid == sid
        with pytest.raises(errors.InvalidLayout):
            client.update_layout(rid, sid, "class1", "527841", layout={"mixedVideoLayout": 9})
        client.stop(rid, sid, "class1", "527841")


# ------------------------------------------------------------------------------------------ error paths


def test_wrong_credentials(simulator):
    running = simulator()
    with running.client(customer_secret="Wr0ngSecretValue") as client, pytest.raises(errors.AgoraAuthError) as caught:
        client.acquire("class1", 1)
    assert caught.value.http_status == 401
    assert "Wr0ngSecretValue" not in str(caught.value)


def test_missing_credentials_fail_before_any_request(monkeypatch):
    monkeypatch.delenv("AGORA_CUSTOMER_ID", raising=False)
    monkeypatch.delenv("AGORA_CUSTOMER_SECRET", raising=False)
    with pytest.raises(errors.AgoraAuthError, match="AGORA_CUSTOMER_ID"):
        AgoraClient(APP_ID)


def test_credentials_from_environment(simulator, monkeypatch):
    running = simulator()
    monkeypatch.setenv("AGORA_CUSTOMER_ID", CUSTOMER_ID)
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", CUSTOMER_SECRET)
    # The environment is read by Settings; the controller hands its credentials to the client.
    controller = RecordingController.from_env(APP_ID, Settings.load(), base_url=running.url)
    with controller.client as client:
        assert client.acquire("class1", 1).resource_id
        assert CUSTOMER_SECRET not in repr(client)


def test_double_start_is_code_7_with_http_201(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        with pytest.raises(errors.AlreadyStarted) as caught:
            client.start(rid, "class1", "527841", storage_config=storage)
        client.stop(rid, sid, "class1", "527841")
    assert (caught.value.http_status, caught.value.code) == (201, 7)
    assert STORAGE_SECRET not in str(caught.value)


def test_double_stop_is_code_49_and_query_after_stop_is_404(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        client.stop(rid, sid, "class1", "527841")
        with pytest.raises(errors.TaskExiting):
            client.stop(rid, sid, "class1", "527841")
        with pytest.raises(errors.WorkerNotFound) as caught:
            client.query(rid, sid)
    assert caught.value.http_status == 404
    assert running.sim.requests["query"] == 1  # a 404 is an answer, not a transient failure


def test_unknown_sid_is_404(simulator):
    running = simulator()
    with running.client() as client:
        rid = client.acquire("class1", 1).resource_id
        with pytest.raises(errors.WorkerNotFound):
            client.query(rid, "0" * 32)


def test_expired_resource_is_433(simulator, storage):
    now = [1000.0]
    running = simulator(clock=lambda: now[0])
    with running.client() as client:
        rid = client.acquire("class1", "527841").resource_id
        now[0] += 301
        with pytest.raises(errors.ResourceExpired) as caught:
            client.start(rid, "class1", "527841", storage_config=storage)
    assert caught.value.code == 433 and "acquire a new resource" in str(caught.value)


def test_nobody_published_is_435_on_stop(simulator, storage, tmp_path):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage, cname="recshelfNobody1")
        with pytest.raises(errors.NoRecordedData) as caught:
            client.stop(rid, sid, "recshelfNobody1", "527841")
    assert (caught.value.http_status, caught.value.code) == (206, 435)
    assert not list(tmp_path.rglob("*.ts"))


def test_no_publisher_fault_flag(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage, extra={"recshelf_faults": {"no_publisher": True}})
        with pytest.raises(errors.NoRecordedData):
            client.stop(rid, sid, "class1", "527841")


@pytest.mark.parametrize(("case", "expected"), [
    ("other_uid", errors.ParameterMismatch),
    ("bad_resource", errors.ResourceIdUnparseable),
    ("bad_uid", errors.InvalidParameter),
    ("bad_cname", errors.InvalidChannelNameChars),
    ("no_storage", errors.InvalidParameter),
    ("bad_vendor", errors.InvalidParameter),
])
def test_start_parameter_errors(simulator, storage, case, expected):
    running = simulator()
    with running.client() as client:
        rid = client.acquire("class1", "527841").resource_id
        args: dict[str, Any] = {"resource_id": rid, "cname": "class1", "uid": "527841", "storage_config": storage}
        if case == "other_uid":
            args["uid"] = "42"
        elif case == "bad_resource":
            args["resource_id"] = "not-a-resource"
        elif case == "bad_uid":
            args["uid"] = "abc"
        elif case == "bad_cname":
            args["cname"] = "a*b"
        elif case == "no_storage":
            args["storage_config"] = None
        elif case == "bad_vendor":
            args["storage_config"] = storage.model_copy(update={"vendor": 3})
        with pytest.raises(expected) as caught:
            client.start(**args)
    assert caught.value.meaning and caught.value.advice


def test_invalid_resource_expired_hour_is_code_2(simulator):
    running = simulator()
    with running.client() as client, pytest.raises(errors.InvalidParameter, match="resourceExpiredHour"):
        client.acquire("class1", 1, resource_expired_hour=0)


def test_sid_of_another_resource_is_1003(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        other = client.acquire("class2", "527841").resource_id
        with pytest.raises(errors.SidMismatch):
            client.query(other, sid)
        client.stop(rid, sid, "class1", "527841")


def test_same_cname_and_uid_twice_is_code_53(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        with pytest.raises(errors.TaskConflict):
            _start(client, storage)
        client.stop(rid, sid, "class1", "527841")


def test_unknown_app_id_is_code_400(simulator):
    running = simulator(app_ids=frozenset({APP_ID}))
    with running.client() as client:
        assert client.acquire("class1", 1).resource_id
    client = AgoraClient("f" * 32, CUSTOMER_ID, CUSTOMER_SECRET, base_url=running.url, retry_delays=())
    with client, pytest.raises(errors.InvalidAppId):
        client.acquire("class1", 1)


def test_slow_synchronous_stop_is_code_50(simulator, storage):
    running = simulator(stop_upload_wait_s=0.05)
    with running.client() as client:
        rid, sid = _start(client, storage, extra={"recshelf_faults": {"upload_delay_s": 0.5}})
        with pytest.raises(errors.UploadTimeout):
            client.stop(rid, sid, "class1", "527841")


# ------------------------------------------------------------------------------------------ retry rules


def test_query_retries_5xx_and_code_65_with_documented_backoff(simulator, storage, backoffs):
    running = simulator()
    with running.client(retry_delays=(1.0, 3.0, 6.0)) as client:
        rid, sid = _start(client, storage)
        running.sim.inject("query", 500, "code65", 502)
        assert client.query(rid, sid).sid == sid
        client.stop(rid, sid, "class1", "527841")
    assert running.sim.requests["query"] == 4
    assert backoffs == [1.0, 3.0, 6.0]


def test_query_gives_up_after_the_last_retry(simulator, storage):
    running = simulator()
    with running.client() as client:
        rid, sid = _start(client, storage)
        running.sim.inject("query", 500, 500, 500, 504)
        with pytest.raises(errors.AllocateTimeout):
            client.query(rid, sid)
        client.stop(rid, sid, "class1", "527841")
    assert running.sim.requests["query"] == 4


@pytest.mark.parametrize("call", ["acquire", "start", "stop", "update"])
def test_non_idempotent_calls_are_not_retried_after_a_5xx(simulator, storage, call):
    running = simulator()
    with running.client() as client:
        running.sim.inject(call, 500)
        with pytest.raises(errors.InternalError):
            if call == "acquire":
                client.acquire("class1", "527841")
            else:
                rid, sid = _start(client, storage)
                if call == "start":
                    pytest.fail("start should have raised")
                elif call == "stop":
                    client.stop(rid, sid, "class1", "527841")
                else:
                    client.update(rid, sid, "class1", "527841", client_request={})
    assert running.sim.requests[call] == 1


def test_rate_limit_is_retried_for_any_call(simulator, storage):
    running = simulator()
    with running.client() as client:
        running.sim.inject("acquire", 429)
        running.sim.inject("start", 429, 429)
        rid, sid = _start(client, storage)
        client.stop(rid, sid, "class1", "527841")
    assert running.sim.requests["acquire"] == 2
    assert running.sim.requests["start"] == 3


def test_start_read_timeout_is_not_repeated_because_it_may_have_worked(simulator, storage):
    running = simulator()
    # Only the delayed call goes through the impatient client, so a slow machine cannot time out the rest.
    with running.client() as client, running.client(timeout_s=1.0) as impatient:
        rid = client.acquire("class1", "527841").resource_id
        running.sim.inject("start", ("delay", 2.0))
        with pytest.raises(errors.AgoraTransportError) as caught:
            impatient.start(rid, "class1", "527841", storage_config=storage)
        assert caught.value.sent
        assert running.sim.requests["start"] == 1
        eventually(running.sim.tasks, 10, every_s=0.02)  # the delayed start completes server-side
        with pytest.raises(errors.AlreadyStarted):  # …which is why it was not repeated blindly
            client.start(rid, "class1", "527841", storage_config=storage)


def test_query_read_timeout_is_retried(simulator, storage):
    running = simulator()
    with running.client() as client, running.client(timeout_s=1.0) as impatient:
        rid, sid = _start(client, storage)
        running.sim.inject("query", ("delay", 2.0))
        assert impatient.query(rid, sid).sid == sid
        client.stop(rid, sid, "class1", "527841")
    assert running.sim.requests["query"] == 2


def _closed_port_url() -> str:
    return f"http://127.0.0.1:{free_port()}"  # nothing listens there: connections are refused


def test_connect_errors_retry_same_domain_then_fall_back(simulator, backoffs):
    running = simulator()
    client = AgoraClient(APP_ID, CUSTOMER_ID, CUSTOMER_SECRET, base_url=_closed_port_url(),
                         fallback_urls=[running.url])
    with client:
        # Not idempotent, yet safe: a refused connection never reached Agora.
        assert client.acquire("class1", 1).resource_id
    assert backoffs == [1.0, 3.0]  # first domain twice, then the fallback
    assert running.sim.requests["acquire"] == 1


def test_connect_errors_everywhere_raise_transport_error(backoffs):
    client = AgoraClient(APP_ID, CUSTOMER_ID, CUSTOMER_SECRET, base_url=_closed_port_url(),
                         fallback_urls=[_closed_port_url()])
    with client, pytest.raises(errors.AgoraTransportError) as caught:
        client.acquire("class1", 1)
    assert not caught.value.sent
    assert backoffs == [1.0, 3.0, 6.0]  # every attempt was made, on Agora's schedule


def test_default_domains_follow_agora_advice():
    client = AgoraClient(APP_ID, CUSTOMER_ID, CUSTOMER_SECRET)
    assert client.base_urls[:3] == ["https://api.agora.io", "https://api.sd-rtn.com",
                                    "https://api-us-west-1.agora.io"]
    client.close()


def test_bad_json_is_code_8_and_unknown_mode_is_no_route(simulator):
    running = simulator()
    auth = httpx.BasicAuth(CUSTOMER_ID, CUSTOMER_SECRET)
    base = f"{running.url}/v1/apps/{APP_ID}/cloud_recording"
    bad_json = httpx.post(f"{base}/acquire", content=b"{not json", auth=auth)
    error = errors.error_from_response("acquire", bad_json.status_code, bad_json.json())
    assert isinstance(error, errors.BadHttpRequest) and error.http_status == 400
    with running.client() as client:
        rid = client.acquire("class1", "527841").resource_id
    no_route = httpx.post(f"{base}/resourceid/{rid}/mode/raw/start", json={"cname": "class1", "uid": "527841"},
                          auth=auth)
    assert isinstance(errors.error_from_response("start", no_route.status_code, no_route.json()),
                      errors.RouteNotFound)


def test_individual_mode_needs_subscribe_uid_group(simulator, storage):
    running = simulator()
    with running.client() as client, pytest.raises(errors.InvalidParameter, match="subscribeUidGroup"):
        rid = client.acquire("class1", "527841").resource_id
        client.start(rid, "class1", "527841", "individual", storage_config=storage, recording_config={})

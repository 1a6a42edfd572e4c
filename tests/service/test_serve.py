"""`recshelf serve` as a real process: acknowledged events survive SIGKILL, jobs survive a restart, and a
`backuped` recording from the Agora simulator turns complete without anyone touching it."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.service.db import Database
from storage.service.repo import Repo
from storage.stores.local import LocalStore
from tests.emulators.base import serve_in_thread
from tests.fixtures.wait import eventually
from tests.service.conftest import ROOT, SECRET, envelope, signed
from tests.service.test_jobs import CNAME, SID, START


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "storage.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=60)


def rules_toml(bucket: Path, **extra: float | str) -> str:
    lines = [f"store = {json.dumps(str(bucket))}", 'prefix = "rec/"', "backoff_initial_s = 0.3",
             "backoff_max_s = 1", "deadline_s = 120", "lease_s = 2", "poll_s = 0.2"]
    lines += [f"{k} = {json.dumps(v)}" for k, v in extra.items()]
    return "[rules]\n" + "\n".join(lines) + "\n"


def test_serve_refuses_the_callback_route_without_a_secret(server):
    srv = server()
    srv.env.pop("AGORA_NCS_SECRET")
    result = cli("serve", "--data", str(srv.data), env=srv.env)
    assert result.returncode == 2
    assert "AGORA_NCS_SECRET" in result.stderr and "--no-callbacks" in result.stderr


def test_every_acknowledged_event_survives_sigkill(server):
    srv = server("--workers", "0").start()
    acked: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def sender() -> None:
        with httpx.Client(base_url=srv.url, timeout=5) as client:
            while not stop.is_set():
                notice = str(uuid.uuid4())
                body = envelope(31, sid=uuid.uuid4().hex, notice_id=notice)
                try:
                    response = client.post("/agora/events", content=body, headers=signed(body))
                except httpx.HTTPError:
                    return  # the server is gone
                if response.status_code == 200:
                    with lock:
                        acked.append(notice)

    with ThreadPoolExecutor(8) as pool:
        for _ in range(8):
            pool.submit(sender)
        assert eventually(lambda: len(acked) >= 300, timeout_s=60)
        srv.kill()  # mid-stream: requests are in flight
        stop.set()
    stored = Repo(Database(srv.data)).notice_ids()
    assert acked and set(acked) <= stored
    # Every stored 31 also queued its verify job in the same transaction.
    assert len(Repo(Database(srv.data)).jobs()) == len(stored)


def test_jobs_survive_kill_and_restart(server, tmp_path: Path):
    bucket = tmp_path / "bucket"
    whole = LocalStore(_mkdir(tmp_path / "whole"))
    write_recording(whole, "rec/", RecordingKey(SID, CNAME), START, slices=4)
    late = sorted(o.key for o in whole.list() if o.key.endswith(".ts"))[2]
    store = LocalStore(_mkdir(bucket))
    for obj in whole.list():
        if obj.key != late:
            store.write(obj.key, whole.read(obj.key))
    srv = server(config=rules_toml(bucket)).start()
    body = envelope(32, sid=SID, cname=CNAME)
    assert httpx.post(srv.url + "/agora/events", content=body, headers=signed(body)).status_code == 200
    db = Repo(Database(srv.data))
    assert eventually(lambda: any(c["status"] == "incomplete" for c in db.checks(SID)))
    srv.kill()
    # A job the dead process held under a lease, as if it died mid-run.
    now = time.time()
    with db.write() as tx:
        held = tx.insert_job("verify", "e" * 32, "other", "uploaded", "once", now, now)
        db.db.conn().execute("UPDATE jobs SET state = 'running', lease_owner = 'dead:1', lease_until = ?, attempts = 1 "
                          "WHERE id = ?", (now + 1, held))
    store.write(late, whole.read(late))  # the backup delivers while recshelf is down
    srv.start()
    assert eventually(lambda: db.recordings() and {r["sid"]: r["state"] for r in db.recordings()}.get(SID)
                      == "complete", timeout_s=60)
    watch = next(j for j in db.jobs(SID) if j["mode"] == "watch")
    assert watch["state"] == "done" and watch["result"]["status"] == "complete"
    assert eventually(lambda: next(j for j in db.jobs("e" * 32))["state"] != "running")
    rerun = next(j for j in db.jobs("e" * 32))
    assert rerun["attempts"] == 2 and rerun["state"] == "done"  # nothing of sid e… in the store: not_found
    assert rerun["result"]["status"] == "not_found"


def test_simulator_backuped_recording_becomes_complete_by_itself(server, tmp_path: Path):
    from storage.agora.client import AgoraClient
    from storage.agora.models import StorageConfig
    from storage.demo.simulator import AgoraSimulator, SimulatorSettings
    from storage.server.simulator import simulator_router
    from tests.fixtures.local import serve_app

    bucket = _mkdir(tmp_path / "bucket")
    hook = _Webhook()
    srv = server(config=rules_toml(bucket, webhook=hook.url)).start()
    settings = SimulatorSettings(customer_id="c", customer_secret="s", callback_url=srv.url + "/agora/events",
                                 callback_secret=SECRET, speed=4.0, callback_retry_delays=(0.1, 0.3, 1.0))
    sim = AgoraSimulator(settings)
    from fastapi import FastAPI

    app = FastAPI()
    app.include_router(simulator_router(sim))
    url, stop_sim = serve_app(app)
    try:
        storage = StorageConfig(vendor=100, bucket="local", fileNamePrefix=["rec"],
                                extensionParams={"storeUrl": f"file://{bucket}"})
        faults = {"recshelf_faults": {"late_slices": [1, 2], "late_delay_s": 3.0}}
        with AgoraClient("0123456789abcdef0123456789abcdef", customer_id="c", customer_secret="s",
                         base_url=url, retry_delays=(0, 0, 0)) as client:
            rid = client.acquire("demo room", "42").resource_id
            sid = client.start(rid, "demo room", "42", "mix", storage_config=storage, extra=faults).sid
            assert eventually(lambda: (sim.task(sid) or sim).slices_done >= 4, timeout_s=30)  # type: ignore[union-attr]
            assert client.stop(rid, sid, "demo room", "42", "mix").uploading_status == "backuped"
        db = Repo(Database(srv.data))
        assert eventually(lambda: {r["sid"]: r["state"] for r in db.recordings()}.get(sid) == "complete",
                          timeout_s=60)
        statuses = [c["status"] for c in db.checks(sid)]
        assert statuses[0] == "incomplete" and statuses[-2:] == ["complete", "complete"]
        assert 32 in {e["eventType"] for e in db.events(sid=sid)}
        assert eventually(lambda: [m for m in hook.messages if m["sid"] == sid])
        (message,) = [m for m in hook.messages if m["sid"] == sid]
        assert message["event"] == "complete" and message["reason"] == "backuped" and message["cname"] == "demo room"

        # The CLI reads the same data folder while the server runs.
        events = json.loads(cli("events", "--sid", sid, "--json", "--data", str(srv.data)).stdout)
        assert {"noticeId", "eventType", "sid", "cname", "received", "payload"} <= set(events[0])
        assert all(e["sid"] == sid for e in events) and 32 in {e["eventType"] for e in events}
        jobs = json.loads(cli("jobs", "--json", "--data", str(srv.data)).stdout)
        watch = next(j for j in jobs if j["sid"] == sid and j["mode"] == "watch")
        assert watch["state"] == "done" and watch["reason"] == "backuped" and watch["kind"] == "verify"
        checks = json.loads(cli("checks", "--sid", sid, "--json", "--data", str(srv.data)).stdout)
        assert [c["status"] for c in checks] == statuses
    finally:
        sim.close()
        stop_sim()
        hook.close()


def test_cli_json_shapes_and_missing_data(tmp_path: Path):
    missing = cli("events", "--json", "--data", str(tmp_path / "nothing"))
    assert missing.returncode == 2 and "no recshelf data" in missing.stderr
    repo = Repo(Database(tmp_path / "d"))
    from storage.service.intake import EventIntake, parse_envelope
    from storage.service.rules import Rules

    intake = EventIntake(repo, SECRET, Rules())
    intake.start()
    body = envelope(32, sid=SID, cname=CNAME, notice_id="n-1")
    assert intake.submit(parse_envelope(body), body).result(10) is True
    intake.stop()
    (event,) = json.loads(cli("events", "--json", "--data", str(tmp_path / "d")).stdout)
    assert event["noticeId"] == "n-1" and event["eventType"] == 32 and event["sid"] == SID
    assert event["cname"] == CNAME and event["received"].endswith("Z") and event["payload"]["sid"] == SID
    (job,) = json.loads(cli("jobs", "--json", "--data", str(tmp_path / "d")).stdout)
    assert {"id", "kind", "sid", "cname", "reason", "mode", "state", "runAt", "deadline", "attempts", "result",
            "error"} <= set(job)
    assert job["state"] == "queued" and job["mode"] == "watch"
    table = cli("events", "--data", str(tmp_path / "d"))
    assert table.returncode == 0 and "backuped" in table.stdout


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


class _Webhook:
    """An HTTP receiver on 127.0.0.1 keeping the JSON bodies POSTed to it."""

    def __init__(self) -> None:
        messages: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                messages.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.messages = messages
        base, self.close = serve_in_thread(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
        self.url = base + "/hook"

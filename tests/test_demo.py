"""`recshelf demo` as a real process on free ports: the UI and the Agora simulator answer (with the demo's
generated credentials, never printed), a recording made through the simulator reaches the server's callback
receiver, and SIGTERM ends the demo together with both of its children."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import pytest

from storage.agora.client import AgoraClient
from storage.agora.errors import AgoraAuthError
from storage.agora.storage_config import storage_config_for
from storage.service.db import Database
from storage.service.repo import Repo
from storage.testing.net import free_port
from tests.fixtures.wait import eventually

ROOT = Path(__file__).resolve().parents[1]
STARTUP_S = 60.0


@dataclass
class Demo:
    proc: subprocess.Popen[str]
    data: Path
    ui_url: str
    server_url: str
    out: list[str] = field(default_factory=list)
    err: list[str] = field(default_factory=list)

    def settings(self) -> dict[str, str]:
        lines = (self.data / "agora-demo.env").read_text().splitlines()
        return dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))

    def printed(self) -> str:
        return "".join(self.out) + "".join(self.err)


def _drain(stream: IO[str], into: list[str]) -> None:
    for line in stream:
        into.append(line)


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSHELF_", "AGORA_"))}
    env["HOME"] = str(tmp_path / "home")  # no recshelf.toml of the machine's user: the demo writes its own
    ui_port, server_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "storage.cli", "demo", "--data", str(tmp_path / "data"), "--port", str(ui_port),
         "--server-port", str(server_port)],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    running = Demo(proc, tmp_path / "data", f"http://127.0.0.1:{ui_port}", f"http://127.0.0.1:{server_port}")
    readers = [threading.Thread(target=_drain, args=(proc.stdout, running.out), daemon=True),
               threading.Thread(target=_drain, args=(proc.stderr, running.err), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        yield running
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the test failed before its own SIGTERM: leave nothing behind
            proc.wait()


def test_demo_runs_simulator_callbacks_and_ui_then_stops_on_sigterm(demo: Demo):
    assert eventually(lambda: any(line.startswith("recshelf UI: ") for line in demo.out) or
                      demo.proc.poll() is not None, timeout_s=STARTUP_S), demo.printed()
    assert demo.proc.poll() is None, demo.printed()
    assert _answers(demo.ui_url + "/_stcore/health")
    assert _answers(demo.server_url + "/healthz")

    settings = demo.settings()
    assert stat.S_IMODE((demo.data / "agora-demo.env").stat().st_mode) == 0o600
    assert settings["AGORA_BASE_URL"] == demo.server_url
    secret = settings["AGORA_CUSTOMER_SECRET"]
    printed = demo.printed()
    assert f"Agora simulator at {demo.server_url}" in printed and "Record page" in printed
    assert secret not in printed

    # The simulator checks the credentials.
    with AgoraClient(settings["AGORA_APP_ID"], settings["AGORA_CUSTOMER_ID"], "wrong", base_url=demo.server_url,
                     retry_delays=()) as client, pytest.raises(AgoraAuthError):
        client.acquire("demo", "1")
    store = storage_config_for(str(demo.data / "store"), file_name_prefix=["demotest"])
    with AgoraClient(settings["AGORA_APP_ID"], settings["AGORA_CUSTOMER_ID"], secret, base_url=demo.server_url,
                     retry_delays=()) as client:
        rid = client.acquire("demo", "42").resource_id
        sid = client.start(rid, "demo", "42", "mix", storage_config=store).sid
        assert client.query(rid, sid, "mix").status in (4, 5)
        assert client.stop(rid, sid, "demo", "42", "mix").uploading_status == "uploaded"
    # The simulator's signed callbacks reached the server's own receiver (stored with the demo's NCS secret).
    db = Repo(Database(demo.data))
    try:
        assert eventually(lambda: sid in {r["sid"] for r in db.recordings()}), demo.printed()
    finally:
        db.close()

    demo.proc.send_signal(signal.SIGTERM)
    assert demo.proc.wait(timeout=30) == 0
    assert not _answers(demo.ui_url + "/_stcore/health")  # both children ended with it
    assert not _answers(demo.server_url + "/healthz")

"""The Record page against the Agora simulator on 127.0.0.1: AppTest for start → live status → stop → open,
and the errors in words; a browser test that records from the page of `recshelf demo` and plays the result."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from streamlit.testing.v1 import AppTest

from storage.agora.client import AgoraClient
from storage.agora.controller import RecordingSession
from storage.agora.errors import CODES
from storage.demo.simulator import AgoraSimulator, SimulatorSettings
from storage.server.simulator import simulator_router
from storage.stores.local import LocalStore
from storage.testing.net import free_port, wait_healthy
from tests.fixtures.local import serve_app
from tests.fixtures.wait import eventually
from tests.webui.test_browser import (
    ARTIFACTS,
    ROOT,
    STARTUP_S,
    _page_text,
    _play_until,
    _player_frame,
    chromium,  # noqa: F401 - the module-scoped browser fixture
)

APP = str(ROOT / "webui" / "app.py")
APP_ID = "0123456789abcdef0123456789abcdef"
CUSTOMER_ID = "record-page-customer"
CUSTOMER_SECRET = "record-page-secret-never-shown"
MEDIA_SECRET = "record-page-media-secret"


@dataclass
class Sim:
    sim: AgoraSimulator
    url: str
    store: LocalStore

    def client(self) -> AgoraClient:
        return AgoraClient(APP_ID, CUSTOMER_ID, CUSTOMER_SECRET, base_url=self.url, retry_delays=(0, 0, 0))

    def wait_slices(self, sid: str, n: int, timeout_s: float = 30.0) -> None:
        if not eventually(lambda: (task := self.sim.task(sid)) is not None and task.slices_done >= n, timeout_s):
            pytest.fail(f"the simulator did not record {n} slices")


@pytest.fixture
def sim(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sim]:
    """The simulator (fast clock) served on 127.0.0.1, a local target store, and the UI's environment."""
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    settings = SimulatorSettings(customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET, speed=4.0)
    simulator = AgoraSimulator(settings)
    app = FastAPI()
    app.include_router(simulator_router(simulator))
    url, stop = serve_app(app)
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    for name in [n for n in os.environ if n.startswith(("RECSHELF_", "AGORA_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.setenv("RECSHELF_UI_STORE", store.url)
    monkeypatch.setenv("RECSHELF_MEDIA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", MEDIA_SECRET)
    monkeypatch.setenv("AGORA_APP_ID", APP_ID)
    monkeypatch.setenv("AGORA_CUSTOMER_ID", CUSTOMER_ID)
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", CUSTOMER_SECRET)
    monkeypatch.setenv("AGORA_BASE_URL", url)
    yield Sim(simulator, url, store)
    simulator.close()
    stop()


def _everything(at: AppTest) -> str:
    return "\n".join(str(e.proto) for e in at.main) + "\n".join(str(e.proto) for e in at.sidebar)


def _verification(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown if "verification:" in m.value)


def _click(at: AppTest, label: str) -> AppTest:
    button = next((b for b in at.button if b.label.startswith(label)), None)
    assert button is not None, f"no button {label!r} in {[b.label for b in at.button]}"
    return button.click().run()


def _record_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("views/record.py")
    at.run()
    assert not at.exception
    return at


def _start(sim: Sim, channel: str, mode: str = "mix") -> tuple[AppTest, RecordingSession]:
    at = _record_page()
    at.text_input(key="rec_channel").set_value(channel)
    at.radio(key="rec_mode").set_value(mode)
    at.selectbox(key="rec_target").set_value(sim.store.url)
    _click(at, "Start recording")
    assert not at.exception and not at.error, [e.value for e in at.error]
    session = RecordingSession.model_validate(at.session_state["rec_ctl_session"])
    return at, session


def test_start_live_status_stop_and_open(sim: Sim):
    at, session = _start(sim, "class 1")
    assert sim.sim.task(session.sid) is not None
    text = _everything(at)
    assert session.sid in text and session.resource_id in text
    status = next(m for m in at.metric if m.label == "Status (query)")
    assert status.value in ("all components ready", "in progress")  # words, never "5 · in progress"
    sim.wait_slices(session.sid, 3)
    at.run()  # the fragment queries again: the playlist is listed now
    assert f"{session.sid}_class 1.m3u8" in _everything(at)

    # A reload (a new browser session) finds the running recording again and stops it.
    at = _record_page()
    at.button(key=f"resume-{session.sid}").click().run()
    assert session.sid in _everything(at)
    _click(at, "Stop recording")
    assert not at.exception and not at.error
    assert at.session_state["rec_ctl_result"]["uploading_status"] == "uploaded"
    assert "All files are in your storage" in at.success[0].value and "uploaded" not in at.success[0].value
    text = _everything(at)
    assert ">complete<" in _verification(at) and "class 1 · composite" in text
    assert CUSTOMER_SECRET not in text and MEDIA_SECRET not in text

    _click(at, "Open in Recording page")  # the catalog/verify view of what was just recorded
    assert not at.exception
    assert at.title[0].value == "class 1"
    assert any("Complete" in s.value for s in at.success)


def test_backuped_upload_is_explained_and_checked_again(sim: Sim):
    sim.sim.settings.faults = {"late_slices": [1]}  # slice 1 goes to Agora's backup cloud first
    sim.sim.settings.late_delay_s = 2.0  # long enough for the page to see the hole first
    at, session = _start(sim, "late one")
    sim.wait_slices(session.sid, 3)
    _click(at, "Stop recording")
    assert at.session_state["rec_ctl_result"]["uploading_status"] == "backuped"
    assert "backuped" not in at.warning[0].value and "backup cloud" in at.warning[0].value
    assert ">incomplete<" in _verification(at)  # slice 1 is not in the store yet
    assert sim.sim.wait_idle(30)  # the backup cloud delivers the slice and a re-delivered playlist
    _click(at, "↻ Check the store again")
    assert re.search(r">complete<", _verification(at)), _verification(at)


def test_errors_show_the_meaning_and_advice(sim: Sim):
    at, session = _start(sim, "double stop", mode="individual")
    sim.wait_slices(session.sid, 2)
    with sim.client() as client:  # someone else (another tab, the CLI) stops it first
        assert client.stop(session.resource_id, session.sid, session.cname, session.uid,
                           session.mode).uploading_status == "uploaded"
    _click(at, "Stop recording")
    assert not at.exception
    error = at.error[0].value
    assert "Agora stop failed (code 49, HTTP 400)" in error
    assert CODES[49].meaning in error and CODES[49].advice in error
    # Code 49 means it is over anyway: the page moves on to what reached the store (audio + video of uid 1001).
    assert "uid 1001 · audio" in _everything(at) and "uid 1001 · video" in _everything(at)

    _click(at, "New recording")
    assert not [b for b in at.button if b.label == "Show"]  # stopped: nothing left to pick up again
    at.text_input(key="rec_channel").set_value("bad/name")  # Agora's channel-name rule: code 1013
    _click(at, "Start recording")
    error = at.error[0].value
    assert "code 1013" in error and CODES[1013].meaning in error and CODES[1013].advice in error
    assert "rec_ctl_session" not in at.session_state
    assert CUSTOMER_SECRET not in _everything(at)


# -- browser: `recshelf demo`, record from the page, play it in the Recording page ---------------------


@dataclass
class Demo:
    url: str
    data: Path

    def customer_secret(self) -> str:
        lines = (self.data / "agora-demo.env").read_text().splitlines()
        return next(line.split("=", 1)[1] for line in lines if line.startswith("AGORA_CUSTOMER_SECRET="))


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """`recshelf demo` on free ports. SIGTERM at the end stops its server and UI."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RECSHELF_", "AGORA_"))}
    env["RECSHELF_CONFIG"] = str(tmp_path / "recshelf.toml")
    (tmp_path / "recshelf.toml").write_text("")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "storage.cli", "demo", "--data", str(tmp_path / "data"), "--port", str(port),
         "--server-port", str(free_port())],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url + "/_stcore/health", proc, "recshelf demo UI")
        yield Demo(url, tmp_path / "data")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.mark.browser
def test_record_in_the_browser_then_play(chromium: Any, demo: Demo):  # noqa: F811 - the fixture above
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    wait_ms = STARTUP_S * 1000
    try:
        page.goto(demo.url)
        page.get_by_role("link", name="Record", exact=True).click()
        page.get_by_label("Channel name").fill("browser demo")
        page.get_by_label("Channel name").press("Enter")
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / "record-form.png"))
        page.get_by_role("button", name="Start recording").click()
        page.get_by_text("Status (query)").wait_for(timeout=wait_ms)
        # The live status refreshes by itself: wait until the first slices are in the playlist it lists.
        page.get_by_text(re.compile(r"\.m3u8")).first.wait_for(timeout=wait_ms)
        page.wait_for_timeout(2500)  # a few 1 s slices, so there is more than 1.5 s to play
        page.screenshot(path=str(ARTIFACTS / "record-live.png"))
        page.get_by_role("button", name="Stop recording").click()
        page.get_by_text("Stopped · ").wait_for(timeout=wait_ms)
        open_button = page.get_by_role("button", name="Open in Recording page").first
        open_button.wait_for(timeout=wait_ms)
        page.wait_for_timeout(500)  # let the rerun settle: no stale copy of the button is left to click
        page.screenshot(path=str(ARTIFACTS / "record-stopped.png"))
        open_button.click()
        page.get_by_text("Timeline").wait_for(timeout=wait_ms)
        frame = _player_frame(page)
        played = _play_until(frame, 1.5)
        page.screenshot(path=str(ARTIFACTS / "record-played.png"))
        assert played["p"]["fatal"] is None, played
        assert played["t"] > 1.5, played
        assert not [e for e in played["p"]["errors"] if e["fatal"]]
        assert demo.customer_secret() not in _page_text(page)
    finally:
        page.close()


def test_reached_by_url_without_login_starts_nothing(sim: Sim, monkeypatch: pytest.MonkeyPatch):
    """Run on its own (as Streamlit would if it were ever served without app.py), the page keeps its gate."""
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", "record-page-password")
    at = AppTest.from_file(str(ROOT / "webui" / "views" / "record.py"), default_timeout=60).run()
    assert not at.exception
    assert "Log in first." in at.warning[0].value
    assert not at.button and not at.text_input

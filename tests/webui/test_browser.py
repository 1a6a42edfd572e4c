"""The real thing: `recshelf ui` on 127.0.0.1 driven by Debian's Chromium through Playwright.

For a local folder (slices served by storage/server/app.py's signed media route) and for S3 (moto,
presigned URLs): select a recording, press play, and watch `video.currentTime` pass 1.5 s with no
fatal hls.js error; the recording with a missing slice shows the warning and plays past the hole.
Screenshots land in test-artifacts/ (git-ignored).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from storage.testing.net import free_port, wait_healthy
from tests.fixtures.s3 import S3_SECRET_KEY
from tests.webui.conftest import Seeder
from webui.browse_table import HEADER_PX, ROW_PX

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required"]
OTHER_SID = "ffff456789abcdef0123456789abcdef"
MEDIA_SECRET = "browser-test-media-secret"
UI_PASSWORD = "browser-test-password"
STARTUP_S = 60.0
PLAY_TIMEOUT_S = 30.0


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian chromium is not installed")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


UiStarter = Callable[..., str]


@pytest.fixture
def start_ui(tmp_path: Path) -> Iterator[UiStarter]:
    """`start(store_ref, config_text="", **env) -> UI URL`: runs `recshelf ui` until the test ends."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(store_ref: str, config_text: str = "", **extra_env: str) -> str:
        config = tmp_path / "recshelf.toml"
        config.write_text(config_text)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RECSHELF_")}
        env.update(RECSHELF_CONFIG=str(config), RECSHELF_MEDIA_SECRET=MEDIA_SECRET,
                   RECSHELF_DATA=str(tmp_path / "data"), **extra_env)
        port = free_port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "storage.cli", "ui", store_ref, "--port", str(port),
             "--server-port", str(free_port())],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        wait_healthy(url + "/_stcore/health", proc, "recshelf ui", timeout_s=STARTUP_S)
        return url

    yield start
    for proc in procs:
        proc.send_signal(signal.SIGTERM)  # recshelf ui stops its server and Streamlit children
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _seed_two(store: Any, seeder: Seeder) -> None:
    """The first recording in list order misses its third slice; the second is complete."""
    seeder(store, missing=[2])
    seeder(store, key=RecordingKey(OTHER_SID, "other"))


def _open_first_row(page: Any, url: str, shot: str) -> None:
    page.goto(url)
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=STARTUP_S * 1000)
    page.get_by_text("2 recordings ·").wait_for()
    page.wait_for_timeout(500)  # the grid paints its canvas after the element appears
    page.screenshot(path=str(ARTIFACTS / shot))
    click_row(page, grid, 0)
    page.get_by_text("Timeline", exact=True).wait_for(timeout=STARTUP_S * 1000)


def click_row(page: Any, grid: Any, row: int) -> None:
    """Glide data grid draws on a canvas: click the channel cell of a row (header 35 px, rows ROW_PX)."""
    box = grid.bounding_box()
    page.mouse.click(box["x"] + 140, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX / 2)


def _player_frame(page: Any) -> Any:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        frames = [f for f in page.frames if "hls_player" in f.url]
        if frames and frames[0].evaluate("!!window.__recshelfPlayer && !!window.__recshelfPlayer.sourceId"):
            return frames[0]
        page.wait_for_timeout(200)
    pytest.fail("the player did not load a playlist")


def _play_until(frame: Any, seconds: float) -> dict[str, Any]:
    # The player has the browser's own controls only (no extra button): start it as they would.
    frame.evaluate("document.getElementById('video').play()")
    deadline = time.monotonic() + PLAY_TIMEOUT_S
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = frame.evaluate("({t: document.getElementById('video').currentTime, "
                               "p: window.__recshelfPlayer})")
        if state["p"]["fatal"] or state["t"] > seconds:
            break
        frame.page.wait_for_timeout(200)
    return state


def _page_text(page: Any) -> str:
    return page.content() + "".join(f.content() for f in page.frames if f != page.main_frame)


def _check_plays(chromium: Any, url: str, kind: str, past: float, download: bool = False,
                 secret: str = S3_SECRET_KEY) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _open_first_row(page, url, f"browse-{kind}.png")
        page.get_by_text("the player plays what exists").wait_for()
        page.wait_for_timeout(300)  # let the timeline chart paint
        page.screenshot(path=str(ARTIFACTS / f"recording-{kind}-report.png"))
        frame = _player_frame(page)
        state = _play_until(frame, past)
        page.screenshot(path=str(ARTIFACTS / f"recording-{kind}.png"))
        assert state["p"]["fatal"] is None, state
        assert state["t"] > past, state
        assert not [e for e in state["p"]["errors"] if e["fatal"]]
        assert state["p"]["firstFrameAt"] is not None
        text = _page_text(page)
        assert MEDIA_SECRET not in text and secret not in text
        if download:
            _check_download(page)
    finally:
        page.close()


def _check_download(page: Any) -> None:
    """An incomplete recording exports as TS after consent; the link is served by the recshelf server."""
    page.get_by_text("TS (slices joined)").click()
    page.get_by_text("Export what exists").click()
    page.get_by_role("button", name="Prepare download").click()
    link = page.get_by_role("link", name="Download")
    link.wait_for(timeout=STARTUP_S * 1000)
    href = link.get_attribute("href")
    assert href and "/media/" in href and "sig=" in href
    got = httpx.get(href, headers={"Range": "bytes=0-187"})
    assert got.status_code == 206 and got.content[0] == 0x47  # a TS sync byte
    page.screenshot(path=str(ARTIFACTS / "recording-download.png"))


def test_local_store_plays_past_a_missing_slice(chromium, start_ui, tmp_path, seeder):
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    _seed_two(store, seeder)
    url = start_ui(str(store.root))
    # 3.5 s is past the missing third slice (2–3 s): the GAP mark makes hls.js skip instead of stall.
    _check_plays(chromium, url, "local", past=3.5, download=True)


def test_s3_store_plays_with_presigned_slices(chromium, start_ui, s3_service, seeder):
    # On SeaweedFS the slices' presigned URLs are really checked, and CORS comes from the server's
    # default (-s3.allowedOrigins "*"), as no put_bucket_cors is needed there either.
    store = s3_service.new_store()
    _seed_two(store, seeder)
    bucket = store.url.removeprefix("s3://").split("/")[0]
    config = (f'[profiles.{s3_service.name}]\nurl = "s3://{bucket}"\nendpoint = "{s3_service.endpoint}"\n'
              f'region = "{s3_service.region}"\naccess_key = "{s3_service.access_key}"\n'
              f'secret_key = "{s3_service.secret_key}"\n')
    url = start_ui(s3_service.name, config)
    kind = "s3" if s3_service.name == "moto" else "s3-seaweedfs"  # moto keeps its screenshot names
    _check_plays(chromium, url, kind, past=1.5, secret=s3_service.secret_key)


def test_login_page_hides_everything(chromium, start_ui, tmp_path, seeder):
    """The gate, then the server's login page; the HttpOnly cookie keeps reloads and new tabs logged in."""
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    _seed_two(store, seeder)
    url = start_ui(str(store.root), RECSHELF_UI_PASSWORD=UI_PASSWORD)
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 800})
    page = context.new_page()
    grid = page.locator('[data-testid="stDataFrame"]').first  # the table (the Details expander holds another)
    gate = page.get_by_role("link", name="Log in")
    try:
        page.goto(url)
        gate.wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "login.png"))
        assert grid.count() == 0
        assert "my_chan" not in page.content()
        # A deep link to a page must meet the same gate, not run the page script on its own.
        for path in ("browse", "recording", "events", "record"):
            page.goto(f"{url.rstrip('/')}/{path}")
            gate.wait_for(timeout=STARTUP_S * 1000)
            assert grid.count() == 0, path
            assert "my_chan" not in page.content(), path
        page.goto(url)
        gate.wait_for(timeout=STARTUP_S * 1000)
        server = gate.get_attribute("href").split("/login")[0]
        for path in ("/docs", "/redoc", "/openapi.json"):
            assert httpx.get(server + path).status_code == 404, path  # no API browser without the login
        gate.click()
        page.get_by_label("Password", exact=True).fill("not the password")
        page.get_by_role("button", name="Log in").click()
        page.get_by_text("Wrong password.").wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "login-server-page.png"))
        page.get_by_label("Password", exact=True).fill(UI_PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=STARTUP_S * 1000)
        assert UI_PASSWORD not in page.content()
        (cookie,) = [c for c in context.cookies() if c["name"] == "recshelf_session"]
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert time.time() + 3600 < cookie["expires"] < time.time() + 13 * 3600
        assert page.evaluate("document.cookie").find("recshelf_session") == -1  # scripts cannot read it
        page.reload()
        grid.first.wait_for(timeout=STARTUP_S * 1000)
        other = context.new_page()
        other.goto(f"{url.rstrip('/')}/events")
        other.get_by_role("link", name="Log out").wait_for(timeout=STARTUP_S * 1000)
        other.goto(url)
        other.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=STARTUP_S * 1000)
        other.screenshot(path=str(ARTIFACTS / "login-new-tab.png"))
        other.close()
        page.get_by_role("link", name="Log out").click()
        gate.wait_for(timeout=STARTUP_S * 1000)
        assert grid.count() == 0
        assert not [c for c in context.cookies() if c["name"] == "recshelf_session"]
    finally:
        context.close()

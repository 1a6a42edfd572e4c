"""Web UI benchmark in headless Chromium: page load → table of N recordings, and play → first frame.

    .venv/bin/python benchmarks/ui_bench.py [--recordings 1000] [--runs 3]

Seeds a local folder with N small Agora-style recordings (3 one-second slices each), starts
`recshelf ui` on 127.0.0.1 and measures, with Debian's chromium driven by Playwright:

* cold load: first navigation until the table shows all N rows (listing the store included);
* warm load: a new page once the listing is cached;
* filter: typing a channel filter until the table shows only the matching rows;
* verify all: pressing "Verify N recordings" until the rows carry their status;
* play → first frame: the player's own clock, from the Play click to the first presented frame
  (`requestVideoFrameCallback`), on a recording page.

Figures are medians over the runs, in milliseconds, printed as a table and as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from storage.demo.synth import make_slices  # noqa: E402
from storage.media.naming import RecordingKey  # noqa: E402
from storage.stores.local import LocalStore  # noqa: E402
from storage.testing.net import free_port  # noqa: E402
from tests.webui.conftest import seed_recording  # noqa: E402 - the UI tests' seeding, so both see the same data

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required"]
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TIMEOUT_MS = 300_000


def seed(root: Path, count: int) -> str:
    """N recordings in 10 folders; returns the id of the first one."""
    store = LocalStore(root)
    slices = make_slices(3, 1.0)
    first = ""
    for n in range(count):
        key = RecordingKey(f"{n:032x}", f"channel_{n % 37}")
        folder = f"day{n % 10}/"
        seed_recording(store, slices, folder=folder, key=key, start=START + timedelta(minutes=n))
        first = first or folder + key.base
    return first


def start_ui(store: Path, work: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = work / "recshelf.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSHELF_")}
    env.update(RECSHELF_CONFIG=str(config), RECSHELF_DATA=str(work / "data"))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "storage.cli", "ui", str(store), "--port", str(port),
                             "--server-port", str(free_port())], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise SystemExit("recshelf ui did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def load_table(browser: Any, url: str, count: int) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_text(f"{count} of {count} recordings").wait_for(timeout=TIMEOUT_MS)
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=TIMEOUT_MS)
    elapsed = (time.perf_counter() - t0) * 1000
    page.close()
    return elapsed


def filter_table(browser: Any, url: str, count: int) -> float:
    """Typing a channel filter until the table shows the matching rows (one Streamlit rerun)."""
    expected = sum(1 for n in range(count) if n % 37 == 36)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    page.get_by_text(f"{count} of {count} recordings").wait_for(timeout=TIMEOUT_MS)
    box = page.get_by_label("Channel contains")
    box.fill("channel_36")
    t0 = time.perf_counter()
    box.press("Enter")
    page.get_by_text(f"{expected} of {count} recordings").wait_for(timeout=TIMEOUT_MS)
    elapsed = (time.perf_counter() - t0) * 1000
    page.close()
    return elapsed


def verify_all(browser: Any, url: str, count: int) -> float:
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    # Rows shown earlier (the filter run) are verified already: the button names what is left.
    button = page.get_by_role("button", name=re.compile(r"^Verify \d+ recordings$"))
    button.wait_for(timeout=TIMEOUT_MS)
    t0 = time.perf_counter()
    button.click()
    button.wait_for(state="detached", timeout=TIMEOUT_MS)
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=TIMEOUT_MS)
    elapsed = (time.perf_counter() - t0) * 1000
    page.close()
    return elapsed


def play_to_first_frame(browser: Any, url: str, store: Path, rec_id: str) -> float:
    from urllib.parse import urlencode

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{url}/recording?{urlencode({'store': str(store), 'rec': rec_id})}")
    page.get_by_text("Timeline").wait_for(timeout=TIMEOUT_MS)
    frame = None
    for _ in range(600):
        frames = [f for f in page.frames if "hls_player" in f.url]
        if frames and frames[0].evaluate("!!(window.__recshelfPlayer && window.__recshelfPlayer.sourceId)"):
            frame = frames[0]
            break
        page.wait_for_timeout(100)
    if frame is None:
        raise SystemExit("the player did not load")
    frame.evaluate("document.getElementById('video').play()")  # as the native play control does
    state: dict[str, Any] = {}
    for _ in range(600):
        state = frame.evaluate("window.__recshelfPlayer")
        if state["firstFrameAt"] is not None or state["fatal"]:
            break
        page.wait_for_timeout(50)
    page.close()
    if state.get("fatal") or state.get("firstFrameAt") is None:
        raise SystemExit(f"playback failed: {state}")
    return float(state["firstFrameAt"] - state["playClickedAt"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--recordings", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="recshelf-ui-bench-") as tmp:
        work = Path(tmp)
        store = work / "store"
        store.mkdir()
        t0 = time.perf_counter()
        rec_id = seed(store, args.recordings)
        print(f"seeded {args.recordings} recordings in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        figures: dict[str, list[float]] = {"cold_load_ms": [], "warm_load_ms": [], "filter_ms": [],
                                           "verify_all_ms": [], "play_to_first_frame_ms": []}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            for _ in range(args.runs):
                proc, url = start_ui(store, work)  # a fresh process: nothing cached
                try:
                    figures["cold_load_ms"].append(load_table(browser, url, args.recordings))
                    figures["warm_load_ms"].append(load_table(browser, url, args.recordings))
                    figures["filter_ms"].append(filter_table(browser, url, args.recordings))
                    figures["verify_all_ms"].append(verify_all(browser, url, args.recordings))
                    figures["play_to_first_frame_ms"].append(play_to_first_frame(browser, url, store, rec_id))
                finally:
                    stop(proc)
            browser.close()
    medians = {k: round(statistics.median(v), 1) for k, v in figures.items()}
    print(f"{'figure':<26}{'median ms':>12}   runs")
    for name, values in figures.items():
        print(f"{name:<26}{medians[name]:>12}   {', '.join(f'{v:.0f}' for v in values)}")
    print(json.dumps({"recordings": args.recordings, "runs": args.runs, "median_ms": medians, "all_ms": figures}))


if __name__ == "__main__":
    main()

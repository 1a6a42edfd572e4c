"""Web UI benchmark in headless Chromium against `recshelf ui` on a local store.

    .venv/bin/python benchmarks/ui_bench.py [--small 1000] [--large 20000] [--runs 3]

Two stores are seeded with small Agora-style recordings (real H.264/AAC slices, one playlist each):

* small (1,000 recordings, 3 slices each): **cold load to a verified table**: a fresh `recshelf ui`
  process and an empty data folder, from navigation until the visible page (50 rows) shows every
  status (target < 1.5 s), and the same from starting the process (`recshelf ui` begins listing the
  store and verifying the first page while Streamlit starts, so this says what that head start hides).
  Then a **cached load**: a fresh process again, statuses from the database;
* large (20,000 recordings in one store, 2 slices each): **first load** until the table and its
  summary are shown (target < 3 s) and a **filter**: typing a channel until the summary shows the
  matching count (target < 1 s);
* play → first frame on one recording page (the player's own clock).

Figures are medians over the runs in milliseconds, printed with their ratio to the issue's target,
then what the server spent on a first load (listing, grouping, building the table, reading statuses),
measured in-process on the same store, so the note can say what still costs the time. JSON last.
"""

from __future__ import annotations

import argparse
import json
import os
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

from storage.demo.synth import agora_playlist, make_slices  # noqa: E402
from storage.media.naming import RecordingKey, playlist_name, slice_name  # noqa: E402
from storage.stores.local import LocalStore  # noqa: E402
from storage.testing.net import free_port  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic",
                 "--autoplay-policy=no-user-gesture-required"]
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
TIMEOUT_MS = 300_000
PAGE_ROWS = 50  # the table's default page size
CHANNELS = 37
# The player's own play() when it has one (it marks the click and watches for the first frame).
START_PLAYBACK = """() => {
  if (typeof play === "function") { play(); return; }
  const video = document.querySelector("video"), state = window.__recshelfPlayer;
  state.playClickedAt = performance.now();
  video.requestVideoFrameCallback(() => { if (state.firstFrameAt === null) state.firstFrameAt = performance.now(); });
  video.play();
}"""
TARGETS_MS = {"small_cold_to_verified_ms": 1500, "large_first_load_ms": 3000, "large_filter_ms": 1000}


def seed(root: Path, count: int, slices: int) -> str:
    """N recordings a minute apart in 10 folders; returns the id of the first one.

    Files are written straight into the folder (not through LocalStore's checked, atomic writes):
    20,000 recordings are 60,000 files, and the bench measures reading them, not writing them.
    """
    media = make_slices(slices, 1.0)
    first = ""
    for n in range(count):
        key = RecordingKey(f"{n:032x}", f"channel_{n % CHANNELS}")
        folder = root / f"day{n % 10}"
        folder.mkdir(exist_ok=True)
        at = START + timedelta(minutes=n)
        names = []
        for piece in media:
            names.append((slice_name(key, at), piece.duration_s))
            (folder / names[-1][0]).write_bytes(piece.data)
            at += timedelta(seconds=piece.duration_s)
        (folder / playlist_name(key)).write_text(agora_playlist(names))
        first = first or f"day{n % 10}/{key.base}"
    return first


def start_ui(store: Path, work: Path, data: Path) -> tuple[subprocess.Popen[bytes], str]:
    config = work / "recshelf.toml"
    config.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSHELF_")}
    env.update(RECSHELF_CONFIG=str(config), RECSHELF_DATA=str(data))
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "storage.cli", "ui", str(store), "--port", str(port),
                             "--server-port", str(free_port())], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(url + "/_stcore/health", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    stop(proc)
    raise SystemExit("recshelf ui did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def new_page(browser: Any) -> Any:
    return browser.new_page(viewport={"width": 1400, "height": 1000})


def load_until(browser: Any, url: str, text: str) -> float:
    """Milliseconds from navigation until `text` is on the page (the summary line says it)."""
    page = new_page(browser)
    t0 = time.perf_counter()
    page.goto(url)
    page.get_by_text(text).first.wait_for(timeout=TIMEOUT_MS)
    elapsed = (time.perf_counter() - t0) * 1000
    page.close()
    return elapsed


def filter_table(browser: Any, url: str, count: int) -> float:
    """Typing a channel filter until the summary shows the matching count (one Streamlit rerun)."""
    expected = sum(1 for n in range(count) if n % CHANNELS == 36)
    page = new_page(browser)
    page.goto(url)
    page.get_by_text(f"{count:,} recordings ·").wait_for(timeout=TIMEOUT_MS)
    box = page.get_by_label("Channel contains")
    box.fill("channel_36")
    t0 = time.perf_counter()
    box.press("Enter")
    page.get_by_text(f"{expected:,} recordings ·").wait_for(timeout=TIMEOUT_MS)
    elapsed = (time.perf_counter() - t0) * 1000
    page.close()
    return elapsed


def play_to_first_frame(browser: Any, url: str, store: Path, rec_id: str) -> float:
    from urllib.parse import urlencode

    page = new_page(browser)
    page.goto(f"{url}/recording?{urlencode({'store': str(store), 'rec': rec_id})}")
    page.get_by_text("Timeline", exact=True).wait_for(timeout=TIMEOUT_MS)
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
        if state.get("firstFrameAt") is not None or state.get("fatal"):
            break
        page.wait_for_timeout(50)
    page.close()
    if state.get("fatal") or state.get("firstFrameAt") is None:
        raise SystemExit(f"playback failed: {state}")
    return float(state["firstFrameAt"] - state["playClickedAt"])


def server_costs(store_root: Path, data: Path) -> dict[str, float]:
    """What a first load costs inside the UI process, step by step (milliseconds, one run)."""
    from storage.recordings.catalog import find
    from storage.recordings.gc_pause import gc_paused
    from webui import table
    from webui.verification import Verifications

    store = LocalStore(store_root)
    t0 = time.perf_counter()
    with gc_paused():  # as in the UI, where the listing streams into the grouping's pause
        listed = list(store.list())
    t1 = time.perf_counter()
    from storage.recordings.catalog import group

    recordings = group(listed)
    t2 = time.perf_counter()
    frames = table.catalog_frames(recordings)
    t3 = time.perf_counter()
    statuses = Verifications(data).statuses(str(store_root))
    t4 = time.perf_counter()
    rows = table.with_statuses(frames, statuses, set())
    kept = table.sort_rows(table.apply_filters(rows, table.Filters()), "newest first")
    table.summary(kept)
    t5 = time.perf_counter()
    assert len(find(store)) == len(recordings)
    return {"objects": float(len(listed)), "list_ms": (t1 - t0) * 1000, "group_ms": (t2 - t1) * 1000,
            "frame_ms": (t3 - t2) * 1000, "statuses_ms": (t4 - t3) * 1000, "filter_sort_summary_ms": (t5 - t4) * 1000}


def median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=1000)
    parser.add_argument("--large", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("needs Debian's chromium")
    from playwright.sync_api import sync_playwright

    figures: dict[str, list[float]] = {"small_cold_to_verified_ms": [], "small_start_to_verified_ms": [],
                                       "small_cached_load_ms": [],
                                       "large_first_load_ms": [], "large_filter_ms": [],
                                       "play_to_first_frame_ms": []}
    with tempfile.TemporaryDirectory(prefix="recshelf-ui-bench-") as tmp:
        work = Path(tmp)
        small, large = work / "small", work / "large"
        small.mkdir()
        large.mkdir()
        t0 = time.perf_counter()
        rec_id = seed(small, args.small, 3)
        seed(large, args.large, 2)
        print(f"seeded {args.small} + {args.large} recordings in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)
            for run in range(args.runs):
                data = work / f"data-{run}"  # an empty data folder: nothing verified yet
                started = time.perf_counter()
                proc, url = start_ui(small, work, data)
                try:
                    figures["small_cold_to_verified_ms"].append(load_until(browser, url, f"{PAGE_ROWS} complete"))
                    figures["small_start_to_verified_ms"].append((time.perf_counter() - started) * 1000)
                finally:
                    stop(proc)
                proc, url = start_ui(small, work, data)  # a new process: statuses come from the database
                try:
                    figures["small_cached_load_ms"].append(load_until(browser, url, f"{PAGE_ROWS} complete"))
                    # Last: opening a recording verifies it, which changes the counts loads wait for.
                    figures["play_to_first_frame_ms"].append(play_to_first_frame(browser, url, small, rec_id))
                finally:
                    stop(proc)
                proc, url = start_ui(large, work, work / f"data-large-{run}")
                try:
                    figures["large_first_load_ms"].append(load_until(browser, url, f"{args.large:,} recordings ·"))
                    figures["large_filter_ms"].append(filter_table(browser, url, args.large))
                finally:
                    stop(proc)
            browser.close()
        costs = server_costs(large, work / "data-large-0")
    medians = {k: median(v) for k, v in figures.items()}
    print(f"{'figure':<28}{'median ms':>11}{'target':>9}{'ratio':>8}   runs")
    for name, values in figures.items():
        target = TARGETS_MS.get(name)
        ratio = f"{medians[name] / target:.2f}" if target else ""
        print(f"{name:<28}{medians[name]:>11}{target or '':>9}{ratio:>8}   {', '.join(f'{v:.0f}' for v in values)}")
    print(f"first load of {args.large:,} recordings ({costs['objects']:,.0f} objects) inside the UI process:")
    for name in ("list_ms", "group_ms", "frame_ms", "statuses_ms", "filter_sort_summary_ms"):
        print(f"  {name:<26}{costs[name]:>9.0f}")
    print(json.dumps({"small": args.small, "large": args.large, "runs": args.runs, "median_ms": medians,
                      "all_ms": figures, "large_server_ms": costs}))


if __name__ == "__main__":
    main()

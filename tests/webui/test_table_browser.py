"""Chromium on `recshelf ui`: the table of a store with many recordings, posters drawn, a row click opens it.

Screenshots: test-artifacts/table-*.png.
"""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from tests.webui.conftest import START
from tests.webui.test_browser import ARTIFACTS, HEADER_PX, ROW_PX, STARTUP_S, chromium, click_row, start_ui  # noqa: F401 - chromium and start_ui are fixtures

pytestmark = pytest.mark.browser
COUNT = 30
IND = RecordingKey("f" * 32, "lesson", "1001", "video")


def _seed(root: Path) -> LocalStore:
    root.mkdir()
    store = LocalStore(root)
    for n in range(COUNT):
        write_recording(store, f"day{n % 3}/", RecordingKey(f"{n:032x}", f"chan_{n:02d}"),
                        START + timedelta(minutes=n), slices=2, faults={"missing_slice"} if n == 27 else ())
    for stream in ("audio", "video"):
        write_recording(store, "ind/", RecordingKey(IND.sid, IND.cname, IND.uid, stream),
                        START + timedelta(hours=2), slices=3, snapshots=stream == "video")
    return store


def _grid(page: Any) -> Any:
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=STARTUP_S * 1000)
    return grid


def _poster_drawn(page: Any, grid: Any, row: int, timeout_s: float = STARTUP_S) -> bool:
    """Posters come in the background: wait until the row's poster cell shows the (dark) sample frame."""
    from PIL import Image

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        box = grid.bounding_box()
        clip = {"x": box["x"] + 45, "y": box["y"] + HEADER_PX + ROW_PX * row + 8, "width": 40, "height": 30}
        pixels = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("L")
        if sum(pixels.getdata()) / (40 * 30) < 100:
            return True
        page.wait_for_timeout(300)
    return False


def test_row_click_opens_the_recording_and_back_shows_the_table(chromium, start_ui, tmp_path):  # noqa: F811
    store = _seed(tmp_path / "store")
    url = start_ui(str(store.root))
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url)
        grid = _grid(page)
        page.get_by_text(f"{COUNT + 1} recordings ·").wait_for(timeout=STARTUP_S * 1000)
        # The visible page is verified in the background; the summary counts it when done.
        page.get_by_text(f"{COUNT} complete · 1 incomplete").wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(800)  # posters and pills are painted on the grid's canvas
        page.screenshot(path=str(ARTIFACTS / "table-browse.png"))
        assert _poster_drawn(page, grid, 0) and _poster_drawn(page, grid, 1)
        # Newest first: the uid's row (two hours later) is the first, one row for its audio and video.
        click_row(page, grid, 0)
        page.get_by_text("Timeline", exact=True).wait_for(timeout=STARTUP_S * 1000)
        query = parse_qs(urlparse(page.url).query)
        assert query["rec"] == [f"ind/{IND.base}"]
        page.get_by_text("Snapshots", exact=True).wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "table-opened-recording.png"), full_page=True)
        images = page.locator('[data-testid="stImage"] img')
        assert images.count() >= 4  # the poster and three snapshots
        assert page.evaluate("() => [...document.querySelectorAll('[data-testid=\"stImage\"] img')]"
                             ".every(img => img.complete && img.naturalWidth > 0)")
        page.get_by_role("link", name="Recordings").first.click()
        grid = _grid(page)
        page.get_by_text(f"{COUNT + 1} recordings ·").wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(800)
        assert "/recording" not in page.url  # the table came back unselected: no jump to the last one
        click_row(page, grid, 3)  # chan_29, chan_28, then chan_27, the incomplete one
        page.get_by_text("Timeline", exact=True).wait_for(timeout=STARTUP_S * 1000)
        assert parse_qs(urlparse(page.url).query)["rec"] == [f"day0/{27:032x}_chan_27"]
        page.get_by_text("Incomplete").first.wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "table-opened-incomplete.png"))
    finally:
        page.close()

"""The management UI in Debian's Chromium: `recshelf ui` on a folder store, the delete and archive dialogs
and the Usage charts. Screenshots land in test-artifacts/ (git-ignored)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest

from storage.media.naming import RecordingKey, slice_name
from storage.stores.local import LocalStore
from tests.webui.conftest import START, Seeder
from tests.webui.test_browser import ARTIFACTS, STARTUP_S, chromium, start_ui  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

OTHER_SID = "ffff456789abcdef0123456789abcdef"
THIRD_SID = "ffff456789abcdef0123456789abcde0"
HEADER_PX = 35  # the grid's header and row heights at the default theme
ROW_PX = 48  # rows are tall enough for a poster (webui/browse_table.py ROW_PX)


@pytest.fixture
def three(tmp_path: Path, seeder: Seeder) -> LocalStore:
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store, missing=[2])
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    seeder(store, key=RecordingKey(THIRD_SID, "third"))
    return store


def _keys(store: LocalStore) -> set[str]:
    return {obj.key for obj in store.list()}


def _tick_rows(page: Any, rows: list[int]) -> None:
    page.get_by_text("Select several").click()  # clicks then tick rows instead of opening them
    page.wait_for_timeout(800)
    grid = page.locator('[data-testid="stDataFrame"]').first  # the table (the Details expander holds another)
    grid.wait_for(timeout=STARTUP_S * 1000)
    page.wait_for_timeout(500)  # the grid paints its canvas after the element appears
    box = grid.bounding_box()
    for row in rows:  # Glide data grid draws on a canvas: click each row's selection checkbox
        page.mouse.click(box["x"] + 15, box["y"] + HEADER_PX + ROW_PX * row + ROW_PX // 2)
        page.wait_for_timeout(300)


def _row_of(store: LocalStore, sid: str) -> int:
    from storage.recordings.catalog import find

    return [rec.key.sid for rec in find(store)].index(sid)


def _select_the_two(page: Any, url: str, three: LocalStore) -> None:
    """Open the UI and tick the rows of the two complete recordings (OTHER_SID and THIRD_SID)."""
    page.goto(url)
    page.get_by_text("3 recordings ·").wait_for(timeout=STARTUP_S * 1000)
    _tick_rows(page, sorted([_row_of(three, OTHER_SID), _row_of(three, THIRD_SID)]))
    page.get_by_text("2 selected").wait_for(timeout=STARTUP_S * 1000)


def test_delete_dialog_in_chromium(chromium, start_ui, three):  # noqa: F811 - fixtures
    ARTIFACTS.mkdir(exist_ok=True)
    url = start_ui(str(three.root))
    doomed = {key for key in _keys(three) if "/ffff" in key}
    kept = _keys(three) - doomed
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _select_the_two(page, url, three)
        page.screenshot(path=str(ARTIFACTS / "manage-selected.png"))
        page.get_by_role("button", name="Delete…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("2 recording(s) · 14 object(s)").wait_for(timeout=STARTUP_S * 1000)
        confirm = dialog.get_by_label("Type the number of recordings (2) to confirm")
        confirm.wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "manage-delete-dialog.png"))

        confirm.fill("14")
        confirm.press("Enter")
        dialog.get_by_role("button", name="Delete 2 recording(s)").click()
        dialog.get_by_text("Nothing was deleted").wait_for(timeout=STARTUP_S * 1000)
        assert _keys(three) == doomed | kept
        page.screenshot(path=str(ARTIFACTS / "manage-delete-wrong-count.png"))

        confirm.fill("2")
        confirm.press("Enter")
        page.wait_for_timeout(300)
        dialog.get_by_role("button", name="Delete 2 recording(s)").click()
        dialog.get_by_text("done: 14 object(s)").wait_for(timeout=STARTUP_S * 1000)
        assert dialog.get_by_role("button", name="Delete 2 recording(s)").count() == 0  # nothing to click twice
        page.screenshot(path=str(ARTIFACTS / "manage-delete-done.png"))
        assert _keys(three) == kept

        dialog.get_by_role("button", name="Done: back to the table").click()
        page.get_by_text("1 recording ·").wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "manage-after-delete.png"))
    finally:
        page.close()


def test_archive_dialog_ends_with_the_whole_job_in_chromium(chromium, start_ui, three, tmp_path):  # noqa: F811
    ARTIFACTS.mkdir(exist_ok=True)
    (tmp_path / "archive").mkdir()
    url = start_ui(str(three.root))
    moved = {key for key in _keys(three) if "/ffff" in key}
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        _select_the_two(page, url, three)
        page.get_by_role("button", name="Archive…").click()
        dialog = page.get_by_role("dialog")
        target = dialog.get_by_label("Destination URL")
        target.wait_for(timeout=STARTUP_S * 1000)
        target.fill(str(tmp_path / "archive"))
        target.press("Enter")
        dialog.get_by_text("2 recording(s) · 14 object(s)").wait_for(timeout=STARTUP_S * 1000)
        dialog.get_by_role("button", name="Archive 2 recording(s)").click()
        dialog.get_by_text("Whole job: Archived 2 of 2 recording(s)").wait_for(timeout=STARTUP_S * 1000)
        dialog.get_by_text("moved to").nth(1).wait_for(timeout=STARTUP_S * 1000)  # a line per recording below it
        page.screenshot(path=str(ARTIFACTS / "manage-archive-done.png"))
        assert not _keys(three) & moved
        assert {k for k in _keys(LocalStore(tmp_path / "archive")) if not k.startswith(".recshelf")} == moved
    finally:
        page.close()


def test_usage_charts_and_cleanup_in_chromium(chromium, start_ui, three):  # noqa: F811 - fixtures
    ARTIFACTS.mkdir(exist_ok=True)
    orphan = "rec/" + slice_name(RecordingKey(OTHER_SID, "other"), START.replace(hour=9))
    three.write(orphan, b"\x47" + b"\x00" * 187)
    old = time.time() - 10 * 86400
    os.utime(three.root / orphan, (old, old))
    url = start_ui(str(three.root))
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(url + "/usage")
        charts = page.locator('[data-testid="stVegaLiteChart"]')
        charts.nth(3).wait_for(timeout=STARTUP_S * 1000)
        # Each chart is drawn (vega-embed renders a canvas or an SVG with its bars) before the screenshot.
        page.wait_for_function(
            "document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] canvas, "
            "[data-testid=\"stVegaLiteChart\"] svg.marks').length >= 4", timeout=STARTUP_S * 1000)
        assert charts.count() == 4
        page.get_by_text("Recordings").first.wait_for()
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "manage-usage-day.png"), full_page=True)
        page.get_by_text("Channel", exact=True).click()
        page.get_by_text("third").first.wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "manage-usage-channel.png"), full_page=True)
        assert page.get_by_role("button", name="Download CSV").is_visible()

        page.goto(url + "/cleanup")
        page.get_by_role("button", name="Plan clean-up").click()
        apply = page.get_by_role("button", name="Clean up: delete 1 object(s), 188 B")
        apply.wait_for(timeout=STARTUP_S * 1000)
        page.get_by_text("Plan: 1 object(s)").wait_for()
        page.wait_for_timeout(800)  # the tables paint their canvas after the elements appear
        page.screenshot(path=str(ARTIFACTS / "manage-cleanup-plan.png"), full_page=True)
        apply.click()
        page.get_by_text("done: 1 object(s)").wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "manage-cleanup-done.png"), full_page=True)
        assert three.stat(orphan) is None
    finally:
        page.close()

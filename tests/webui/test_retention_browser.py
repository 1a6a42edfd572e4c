"""The Retention page in Debian's Chromium: `recshelf ui` on a folder store with two retention rules, the plan
per rule, then apply on one confirm. Screenshots land in test-artifacts/ (git-ignored)."""

from __future__ import annotations

import pytest

from tests.webui.test_browser import ARTIFACTS, STARTUP_S, chromium, start_ui  # noqa: F401 - fixtures
from tests.webui.test_manage_browser import OTHER_SID, THIRD_SID, three  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser

RULES = """
[[rules.retention]]
name = "drop other"
channel = "other"
action = "delete"
[[rules.retention]]
name = "third to cold storage"
channel = "third"
action = "tier"
class = "GLACIER"
"""


def test_retention_page_in_chromium(chromium, start_ui, three):  # noqa: F811 - fixtures
    ARTIFACTS.mkdir(exist_ok=True)
    url = start_ui(str(three.root), RULES)
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(url + "/retention")
        page.get_by_role("button", name="Plan retention").click()
        page.get_by_text("Plan: 2 recording(s) match · 7 object(s)").wait_for(timeout=STARTUP_S * 1000)
        page.get_by_text("has no storage classes", exact=False).first.wait_for(timeout=STARTUP_S * 1000)
        apply = page.get_by_role("button", name="Apply retention: 1 recording(s), 7 object(s)", exact=False)
        apply.wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(800)  # the tables paint their canvas after the elements appear
        page.screenshot(path=str(ARTIFACTS / "retention-plan.png"), full_page=True)
        apply.click()
        page.get_by_text("drop other: delete other: done: 7 object(s)").wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "retention-applied.png"), full_page=True)
        keys = [obj.key for obj in three.list()]
        assert keys and not any(OTHER_SID in key for key in keys) and any(THIRD_SID in key for key in keys)
    finally:
        page.close()


def test_tier_dialog_on_s3_in_chromium(chromium, start_ui, s3_store_factory, s3_server_url, seeder):  # noqa: F811
    from storage.media.naming import RecordingKey
    from storage.stores.classes import listing_classes
    from tests.fixtures.s3 import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY
    from tests.webui.test_manage_browser import HEADER_PX

    ARTIFACTS.mkdir(exist_ok=True)
    store = s3_store_factory()
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    url = start_ui(f"{store.url}?endpoint={s3_server_url}&region={S3_REGION}", AWS_ACCESS_KEY_ID=S3_ACCESS_KEY,
                   AWS_SECRET_ACCESS_KEY=S3_SECRET_KEY)
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        page.goto(url)
        page.get_by_text("1 recording ·", exact=False).wait_for(timeout=STARTUP_S * 1000)
        page.get_by_text("Select several").click()  # else a row click opens the recording
        page.wait_for_timeout(1500)
        grid = page.locator('[data-testid="stDataFrame"]').first  # the table, not the Details one
        page.wait_for_timeout(500)  # the grid paints its canvas after the element appears
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 15, box["y"] + HEADER_PX + 17)  # the first row's selection checkbox
        page.get_by_text("1 selected").wait_for(timeout=STARTUP_S * 1000)
        page.get_by_role("button", name="Tier…").click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("1 recording(s) · 7 object(s)").wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(800)
        page.screenshot(path=str(ARTIFACTS / "tier-dialog.png"))
        dialog.get_by_role("button", name="Change 7 object(s) to STANDARD_IA").click()
        dialog.get_by_text("done: 7 object(s)", exact=False).wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "tier-done.png"))
        with listing_classes(store):
            assert {obj.storage_class for obj in store.list()} == {"STANDARD_IA"}
    finally:
        page.close()

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

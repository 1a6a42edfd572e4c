"""Sharing from `recshelf ui` in Chromium: create a link, copy it, open it logged out, revoke it.

This is the path that answered 502 before (the server `recshelf ui` starts did not know its own URL,
so it could not sign a local folder's slices): the link made on the recording page must play in a
fresh, logged-out browser context, the copy button must put it on the clipboard, and after
"Revoke" on the Shared links page the link must answer its revoked page (410).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from storage.recordings.catalog import find
from storage.stores.local import LocalStore
from tests.webui.conftest import Seeder
from tests.webui.test_browser import ARTIFACTS, MEDIA_SECRET, STARTUP_S, chromium, start_ui  # noqa: F401
from tests.webui.test_share_browser import assert_played, open_share

pytestmark = pytest.mark.browser


def _component_frame(page: Any, name: str) -> Any:
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        frames = [f for f in page.frames if name in f.url]
        if frames:
            return frames[0]
        page.wait_for_timeout(200)
    pytest.fail(f"no {name} component on the page")


def test_share_from_the_ui_copies_plays_logged_out_and_revokes(chromium, start_ui, tmp_path,  # noqa: F811
                                                              seeder: Seeder) -> None:
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    (rec,) = find(store)
    url = start_ui(str(store.root))
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 1000},
                                   permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    try:
        page.goto(f"{url}/recording?store={quote(str(store.root), safe='')}&rec={quote(rec.id, safe='')}")
        page.get_by_role("button", name="Create share link").click(timeout=STARTUP_S * 1000)
        code = page.locator('[data-testid="stCode"]').filter(has_text="/share/")
        code.wait_for(timeout=STARTUP_S * 1000)
        link = code.inner_text().strip()
        assert link.startswith("http://127.0.0.1:") and "/share/" in link
        assert str(tmp_path) not in link and rec.key.sid not in link
        copy = _component_frame(page, "copy_link")
        copy.locator("#copy").click()
        copy.get_by_text("Copied").wait_for(timeout=10_000)
        assert page.evaluate("navigator.clipboard.readText()") == link
        page.screenshot(path=str(ARTIFACTS / "recording-share.png"))

        assert_played(open_share(chromium, link, "share-from-ui.png"))  # a fresh context: no login, no cookies

        page.goto(f"{url}/shares")
        page.get_by_text("1 active").wait_for(timeout=STARTUP_S * 1000)
        page.get_by_role("button", name="Revoke this link").wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(500)  # the grid paints its canvas after the element appears
        page.screenshot(path=str(ARTIFACTS / "shared-links.png"))
        page.get_by_role("button", name="Revoke this link").click()
        page.get_by_text("1 revoked", exact=True).wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(500)
        page.screenshot(path=str(ARTIFACTS / "shared-links-revoked.png"))
    finally:
        context.close()
    gone = httpx.get(link)
    assert gone.status_code == 410 and "revoked" in gone.text
    assert MEDIA_SECRET not in gone.text

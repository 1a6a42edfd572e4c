"""Role checks in the real UI: Chromium logs in as a viewer, then an admin, and tries to delete a recording.

The viewer sees the delete section, plans, confirms — and is refused, with the attempt in the audit trail
and every object still there; the admin's identical clicks delete it. Screenshots in test-artifacts/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from storage.media.naming import RecordingKey
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.service.users import hash_password
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, Seeder
from tests.webui.test_browser import ARTIFACTS, STARTUP_S, chromium, click_row, start_ui  # noqa: F401 - fixtures

pytestmark = pytest.mark.browser
OTHER_SID = "ffff456789abcdef0123456789abcdef"


def log_in(page: Any, url: str, user: str, password: str) -> None:
    """Through the UI's gate to the server's /login page and back, logged in."""
    page.goto(url)
    page.get_by_role("link", name="Log in").wait_for(timeout=STARTUP_S * 1000)
    page.get_by_role("link", name="Log in").click()
    page.get_by_label("User name").wait_for(timeout=STARTUP_S * 1000)
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()


def _login_and_delete(chromium: Any, url: str, user: str, password: str, shot: str,  # noqa: F811
                      audit_shot: str | None = None) -> str:
    return login_and_delete(chromium, lambda page: log_in(page, url, user, password), shot, audit_shot)


def login_and_delete(chromium: Any, login: Callable[[Any], None], shot: str,  # noqa: F811
                     audit_shot: str | None = None) -> str:
    """Logs in (`login(page)`), plans the newest recording's delete, confirms it: what the page then says."""
    page = chromium.new_page(viewport={"width": 1400, "height": 2700})
    try:
        login(page)
        grid = page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(timeout=STARTUP_S * 1000)
        page.get_by_text("2 recordings ·").wait_for()
        page.wait_for_timeout(500)  # the grid paints its canvas after the element appears
        click_row(page, grid, 0)  # opens the newest recording's page
        page.get_by_role("button", name="Plan delete").wait_for(timeout=STARTUP_S * 1000)
        page.get_by_role("button", name="Plan delete").click()
        confirm = page.get_by_label("to confirm")
        confirm.wait_for(timeout=STARTUP_S * 1000)
        label = page.get_by_text("to confirm").first.inner_text()
        confirm.fill(label.split()[1])
        confirm.press("Enter")
        page.wait_for_timeout(500)
        page.get_by_role("button", name="Delete recording").click()
        result = page.get_by_text("Refused").or_(page.get_by_text("done:"))
        result.first.wait_for(timeout=STARTUP_S * 1000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
        said = result.first.inner_text()
        if audit_shot:
            page.get_by_role("link", name="Audit").click()
            page.get_by_text("Refused (role)").wait_for(timeout=STARTUP_S * 1000)
            page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=STARTUP_S * 1000)
            page.wait_for_timeout(500)
            page.screenshot(path=str(ARTIFACTS / audit_shot))
        return said
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"failed-{shot}"), full_page=True)
        raise
    finally:
        page.close()


def test_a_viewers_delete_is_refused_and_audited_an_admins_is_done(chromium, start_ui, tmp_path,  # noqa: F811
                                                                  seeder: Seeder):
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    before = {o.key for o in store.list()}
    config = "".join(f'[users.{name}]\nrole = "{role}"\npassword_hash = "{hash_password(name + "-pw")}"\n'
                     for name, role in (("vera", "viewer"), ("ada", "admin")))
    url = start_ui(str(store.root), config)
    ARTIFACTS.mkdir(exist_ok=True)

    said = _login_and_delete(chromium, url, "vera", "vera-pw", "roles-viewer-delete-refused.png")
    assert "vera (viewer) may not delete" in said
    assert {o.key for o in store.list()} == before
    trail = AuditTrail(Database(tmp_path / "data"))
    (denied,) = trail.entries()
    assert (denied.actor, denied.action, denied.outcome, denied.via) == ("vera", "delete", "denied", "ui")

    said = _login_and_delete(chromium, url, "ada", "ada-pw", "roles-admin-delete-done.png",
                             audit_shot="audit-page.png")
    assert said.startswith("done:")
    assert {o.key for o in store.list()} == {k for k in before if OTHER_SID in k}
    done, _ = trail.entries()
    assert (done.actor, done.role, done.action, done.outcome) == ("ada", "admin", "delete", "done")
    assert done.objects == len(before) - len({k for k in before if OTHER_SID in k})
    assert done.target == denied.target == f"sid {SID}"


def test_a_users_login_lasts_across_reloads_and_new_tabs(chromium, start_ui, tmp_path,  # noqa: F811
                                                        seeder: Seeder):
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    url = start_ui(str(store.root), f'[users.vera]\nrole = "viewer"\npassword_hash = "{hash_password("vera-pw")}"\n')
    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    badge = "Logged in as vera (viewer)"
    try:
        log_in(page, url, "vera", "vera-pw")
        page.get_by_text(badge).wait_for(timeout=STARTUP_S * 1000)
        (cookie,) = [c for c in context.cookies() if c["name"] == "recshelf_session"]
        assert cookie["httpOnly"] and "vera-pw" not in cookie["value"]
        page.reload()
        page.get_by_text(badge).wait_for(timeout=STARTUP_S * 1000)
        other = context.new_page()
        other.goto(f"{url.rstrip('/')}/events")
        other.get_by_text(badge).wait_for(timeout=STARTUP_S * 1000)
        other.screenshot(path=str(ARTIFACTS / "users-login-new-tab.png"))
        other.get_by_role("link", name="Log out").click()
        other.get_by_role("link", name="Log in").wait_for(timeout=STARTUP_S * 1000)
        page.reload()
        page.get_by_role("link", name="Log in").wait_for(timeout=STARTUP_S * 1000)
        assert not [c for c in context.cookies() if c["name"] == "recshelf_session"]
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failed-users-login.png"), full_page=True)
        raise
    finally:
        context.close()

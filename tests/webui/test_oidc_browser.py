"""Single sign-on in the real UI: Chromium signs in through oidc-provider-mock (on 127.0.0.1), lands as that
user with the role recshelf.toml's [oidc] mapping gives, a viewer's delete is refused and audited, and
logging out ends the session. Screenshots in test-artifacts/.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from storage.media.naming import RecordingKey
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.stores.local import LocalStore
from storage.testing.net import free_port, wait_healthy
from tests.webui.conftest import SID, Seeder
from tests.webui.test_browser import ARTIFACTS, STARTUP_S, chromium, start_ui  # noqa: F401 - fixtures
from tests.webui.test_roles_browser import OTHER_SID, login_and_delete

pytestmark = pytest.mark.browser
VIEWER = {"sub": "vera-1", "email": "vera@example.test", "name": "Vera"}
ADMIN = {"sub": "ada-2", "email": "ada@example.test", "groups": ["recording-admins"]}
UNMAPPED = {"sub": "nobody-3", "email": "nobody@example.test"}


@pytest.fixture
def provider() -> Iterator[str]:
    """oidc-provider-mock on 127.0.0.1 with three predefined users: its base URL."""
    pytest.importorskip("oidc_provider_mock")
    pytest.importorskip("authlib")
    port = free_port()
    claims = [arg for user in (VIEWER, ADMIN, UNMAPPED) for arg in ("--user-claims", json.dumps(user))]
    proc = subprocess.Popen([sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port),
                             *claims], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base + "/.well-known/openid-configuration", proc, "oidc-provider-mock", timeout_s=STARTUP_S)
        yield base
    finally:
        proc.kill()  # a mock that keeps nothing: no graceful stop needed
        proc.wait()


def oidc_config(provider: str) -> str:
    return f"""[oidc]
server_metadata_url = "{provider}/.well-known/openid-configuration"
client_id = "recshelf-ui"
client_secret = "oidc-test-client-secret"
redirect_uri = "http://127.0.0.1:{{port}}/oauth2callback"
[oidc.emails]
"Vera@example.test" = "viewer"
[oidc.groups]
recording-admins = "admin"
"""


def sign_in(page: Any, url: str, sub: str) -> None:
    """The UI's gate, the provider's authorize page (pick the predefined user), and back."""
    page.goto(url)
    page.get_by_role("button", name="Log in with single sign-on").click(timeout=STARTUP_S * 1000)
    page.get_by_role("button", name=sub, exact=True).click(timeout=STARTUP_S * 1000)


def test_sign_in_maps_roles_refuses_a_viewers_delete_and_logs_out(chromium, start_ui, provider,  # noqa: F811
                                                                  tmp_path, seeder: Seeder):
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    before = {o.key for o in store.list()}
    url = start_ui(str(store.root), oidc_config(provider))
    ARTIFACTS.mkdir(exist_ok=True)

    said = login_and_delete(chromium, lambda page: sign_in(page, url, VIEWER["sub"]), "oidc-viewer-delete-refused.png")
    assert "vera@example.test (viewer) may not delete" in said
    assert {o.key for o in store.list()} == before
    trail = AuditTrail(Database(tmp_path / "data"))
    (denied,) = trail.entries()
    assert (denied.actor, denied.role, denied.action, denied.outcome) == ("vera@example.test", "viewer", "delete",
                                                                          "denied")
    assert denied.target == f"sid {SID}"

    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    page = context.new_page()
    try:
        sign_in(page, url, ADMIN["sub"])
        badge = page.get_by_text("Logged in as ada@example.test (admin)")
        badge.wait_for(timeout=STARTUP_S * 1000)
        page.screenshot(path=str(ARTIFACTS / "oidc-admin-signed-in.png"))
        page.reload()
        badge.wait_for(timeout=STARTUP_S * 1000)  # Streamlit's own signed cookie keeps the login
        other = context.new_page()
        other.goto(url)
        other.get_by_text("Logged in as ada@example.test (admin)").wait_for(timeout=STARTUP_S * 1000)
        other.close()
        page.get_by_role("button", name="Log out").click()
        end = page.get_by_role("button", name="End session")  # the provider's end-session page, if it has one
        gate = page.get_by_role("button", name="Log in with single sign-on")
        end.or_(gate).first.wait_for(timeout=STARTUP_S * 1000)
        if end.count():
            end.click()
        page.goto(url)
        gate.wait_for(timeout=STARTUP_S * 1000)
        assert page.get_by_text("Logged in as").count() == 0
        page.screenshot(path=str(ARTIFACTS / "oidc-logged-out.png"))

        sign_in(page, url, UNMAPPED["sub"])
        page.get_by_text("nobody@example.test has no role in this recshelf").wait_for(timeout=STARTUP_S * 1000)
        assert page.locator('[data-testid="stDataFrame"]').count() == 0
    except Exception:
        page.screenshot(path=str(ARTIFACTS / "failed-oidc.png"), full_page=True)
        raise
    finally:
        context.close()

"""Single sign-on in the app's script (AppTest seeds st.user as Streamlit's login would): the role comes from
[oidc]'s mapping on every rerun, actions are checked and audited under the person's e-mail, and someone the
mapping names nowhere sees only a refusal. The real sign-in through a provider is test_oidc_browser.py."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, Seeder

APP = str(Path(__file__).resolve().parents[2] / "webui" / "app.py")
REC_ID = f"rec/{SID}_my_chan 1"
OIDC = """[oidc]
server_metadata_url = "http://127.0.0.1:9/.well-known/openid-configuration"
client_id = "recshelf-ui"
client_secret = "pages-client-secret"
redirect_uri = "http://127.0.0.1:8501/oauth2callback"
[oidc.groups]
media-team = "{role}"
"""
EDITOR = {"is_logged_in": True, "sub": "ed-1", "email": "ed@example.test", "groups": ["media-team"]}


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, seeder: Seeder) -> Path:
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    path = tmp_path / "recshelf.toml"
    path.write_text(OIDC.format(role="editor"))
    monkeypatch.setenv("RECSHELF_CONFIG", str(path))
    monkeypatch.setenv("RECSHELF_UI_STORE", str(store.root))
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", "media-secret")
    for name in ("RECSHELF_UI_PASSWORD", "RECSHELF_PUBLIC_URL", "RECSHELF_SERVER_URL", "RECSHELF_USER"):
        monkeypatch.delenv(name, raising=False)
    return path


def _run(user: dict[str, object], page: str | None = None) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.user = dict(user)
    at.run()
    if page:
        at.switch_page(page)
        at.query_params["rec"] = REC_ID
        at.run()
    return at


def _save_note(at: AppTest, title: str) -> AppTest:
    at.text_input(key=f"note_title-{REC_ID}").input(title)
    return next(b for b in at.button if b.label == "Save note").click().run()


def test_signed_out_sees_only_the_sign_in_button(config):
    at = _run({"is_logged_in": False})
    assert [b.label for b in at.button] == ["Log in with single sign-on"]
    assert not at.dataframe and not at.text_input


def test_the_mapped_role_is_used_checked_and_audited_and_follows_the_mapping(config, tmp_path):
    at = _run(EDITOR, "views/recording.py")
    assert not at.exception
    assert "Logged in as `ed@example.test` (editor)" in [c.value for c in at.caption]
    at = _save_note(at, "signed in")
    assert "Note saved." in [s.value for s in at.success]
    config.write_text(OIDC.format(role="viewer"))  # the mapping changes: the next rerun uses it
    at = _save_note(at, "now a viewer")
    done, denied = AuditTrail(Database(tmp_path / "data")).entries()[::-1]
    assert (done.actor, done.role, done.action, done.outcome) == ("ed@example.test", "editor", "tag", "done")
    assert (denied.actor, denied.role, denied.outcome) == ("ed@example.test", "viewer", "denied")


def test_someone_the_mapping_does_not_name_is_refused(config):
    at = _run({"is_logged_in": True, "sub": "x-9", "email": "x@example.test", "groups": ["visitors"]})
    assert any("x@example.test has no role in this recshelf" in e.value.replace("\\", "") for e in at.error)
    assert not at.dataframe and [b.label for b in at.button] == ["Log out"]

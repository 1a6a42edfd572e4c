"""Notes on the recording page, note filters on the browse page, the Audit page and the role checks (AppTest)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage.media.naming import RecordingKey
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.service.notes import Notes
from storage.service.users import Actor, authenticate, hash_password
from storage.settings import Settings
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, Seeder
from webui.access import SESSION_USER

APP = str(Path(__file__).resolve().parents[2] / "webui" / "app.py")
OTHER_SID = "ffff456789abcdef0123456789abcdef"
REC_ID = f"rec/{SID}_my_chan 1"
PASSWORDS = {"vera": "viewer-pass", "ed": "editor-pass", "ada": "admin-pass"}
ROLE_OF = {"vera": "viewer", "ed": "editor", "ada": "admin"}


@pytest.fixture(scope="module")
def hashes() -> dict[str, str]:
    return {name: hash_password(password) for name, password in PASSWORDS.items()}


@pytest.fixture
def site(tmp_path: Path, seeder: Seeder, monkeypatch: pytest.MonkeyPatch, hashes: dict[str, str]) -> LocalStore:
    """Two recordings, three users (viewer, editor, admin) in recshelf.toml, a data folder of its own."""
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    config = tmp_path / "recshelf.toml"
    config.write_text("".join(f'[users.{name}]\nrole = "{ROLE_OF[name]}"\npassword_hash = "{hashes[name]}"\n'
                              for name in PASSWORDS))
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.setenv("RECSHELF_UI_STORE", str(store.root))
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_MEDIA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", "media-secret")
    monkeypatch.setenv("RECSHELF_SERVER_URL", "http://127.0.0.1:9")
    for name in ("RECSHELF_UI_PASSWORD", "RECSHELF_PUBLIC_URL", "RECSHELF_USER"):
        monkeypatch.delenv(name, raising=False)
    return store


def _db(tmp_path: Path) -> Database:
    return Database(tmp_path / "data")


def _login(name: str, password: str | None = None) -> AppTest:
    """With a server beside the UI the gate shows only a link to its /login (tests/test_login.py checks the
    password there; AppTest cannot carry its cookie), so the session is logged in as the server would."""
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.text_input and not at.dataframe and [m.value for m in at.markdown if "/login?next=" in m.value]
    found = authenticate(Settings.load().users, name, password if password is not None else PASSWORDS[name])
    assert found is not None
    at.session_state[SESSION_USER] = found.name
    return at.run()


def _open(at: AppTest, rec_id: str = REC_ID) -> AppTest:
    at.switch_page("views/recording.py")
    at.query_params["rec"] = rec_id
    return at.run()


def _button(at: AppTest, label: str):  # noqa: ANN202
    return next(b for b in at.button if b.label == label)


def test_without_a_server_the_tab_form_logs_in_and_refuses_a_wrong_password(site, monkeypatch):
    monkeypatch.delenv("RECSHELF_SERVER_URL")
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert [t.label for t in at.text_input] == ["User name", "Password"]  # nothing else before login
    at.text_input[0].input("ed")
    at.text_input[1].input("not-it")
    at.button[0].click().run()
    assert not at.exception
    assert "Wrong user name or password." in [e.value for e in at.error]
    assert not at.dataframe
    at.text_input[1].input(PASSWORDS["ed"])
    at.button[0].click().run()
    assert "Logged in as **ed** (editor)" in [c.value for c in at.caption]


def test_editor_edits_the_note_and_it_is_audited(site, tmp_path):
    at = _open(_login("ed"))
    assert not at.exception
    at.text_input(key=f"note_title-{REC_ID}").input("Board meeting")
    at.text_input(key=f"note_tags-{REC_ID}").input("Customer-A, q1")
    at.text_area(key=f"note_text-{REC_ID}").input("Keep until the audit.")
    _button(at, "Save note").click().run()
    assert not at.exception
    assert "Note saved." in [s.value for s in at.success]
    note = Notes(_db(tmp_path)).get(site.url, SID)
    assert (note.title, note.tags, note.text, note.updated_by) == ("Board meeting", ("customer-a", "q1"),
                                                                  "Keep until the audit.", "ed")
    (entry,) = AuditTrail(_db(tmp_path)).entries(action="tag")
    assert (entry.actor, entry.role, entry.via, entry.outcome) == ("ed", "editor", "ui", "done")
    assert entry.detail["tags_added"] == ["customer-a", "q1"]


def test_a_viewers_note_edit_is_refused_and_audited(site, tmp_path):
    at = _open(_login("vera"))
    assert "Viewing only: saving a note needs the editor or admin role." in [c.value for c in at.caption]
    at.text_input(key=f"note_title-{REC_ID}").input("defaced")
    _button(at, "Save note").click().run()
    assert any("Refused" in e.value for e in at.error)
    assert Notes(_db(tmp_path)).get(site.url, SID).title == ""
    (entry,) = AuditTrail(_db(tmp_path)).entries()
    assert (entry.actor, entry.role, entry.action, entry.outcome) == ("vera", "viewer", "tag", "denied")


def test_a_viewers_share_is_refused_and_audited(site, tmp_path):
    at = _open(_login("vera"))
    _button(at, "Create share link").click().run()
    assert not at.get("code") or all("token" not in str(c.proto) for c in at.get("code"))
    (entry,) = AuditTrail(_db(tmp_path)).entries()
    assert (entry.action, entry.outcome) == ("share_create", "denied")


def test_an_editors_share_is_audited_without_the_link(site, tmp_path):
    at = _open(_login("ed"))
    _button(at, "Create share link").click().run()
    (code,) = at.get("code")
    (entry,) = AuditTrail(_db(tmp_path)).entries(action="share_create")
    assert entry.outcome == "done" and entry.target == REC_ID
    assert str(code.proto.code_text) not in str(entry.to_dict())  # the link itself is not kept


def test_browse_filters_by_tag_and_note_text(site, tmp_path):
    Notes(_db(tmp_path)).edit(Actor("ed", "editor", "cli"), site.url, OTHER_SID, title="Quarterly review",
                              add_tags=["finance"])
    at = _login("vera")
    rows = at.dataframe[0].value.to_dict("records")
    assert {r["channel"] for r in rows} == {"my_chan 1", "other"}
    assert {r["channel"]: r["tags"] for r in rows} == {"my_chan 1": "", "other": "finance"}
    at.selectbox(key="f_tag").set_value("finance").run()
    assert [r["channel"] for r in at.dataframe[0].value.to_dict("records")] == ["other"]
    at.selectbox(key="f_tag").set_value("any tag").run()
    at.text_input(key="f_note").input("QUARTERLY").run()
    assert [r["title"] for r in at.dataframe[0].value.to_dict("records")] == ["Quarterly review"]
    at.text_input(key="f_note").input("nothing like it").run()
    assert not at.dataframe and at.warning


def test_audit_page_is_for_admins(site, tmp_path):
    trail = AuditTrail(_db(tmp_path))
    trail.record(Actor("ada", "admin", "cli"), "delete", store=site.url, target=f"sid {SID}", objects=7, bytes=900)
    trail.record(Actor("vera", "viewer", "ui"), "delete", "denied", store=site.url, target=f"sid {SID}")
    viewer = _login("vera")
    viewer.switch_page("views/audit.py").run()
    assert "The audit trail is for admins." in [w.value for w in viewer.warning]
    assert not viewer.dataframe
    admin = _login("ada")
    admin.switch_page("views/audit.py").run()
    assert not admin.exception
    table = admin.dataframe[0].value.to_dict("records")
    assert [(r["user"], r["action"], r["outcome"], r["objects"]) for r in table] == [
        ("vera", "delete", "denied", 0), ("ada", "delete", "done", 7)]
    assert [m.value for m in admin.metric][:3] == ["2", "1", "7"]
    admin.selectbox(key="au_outcome").set_value("denied").run()
    assert len(admin.dataframe[0].value) == 1


def test_record_page_needs_admin(site):
    editor = _login("ed")
    editor.switch_page("views/record.py").run()
    assert "Starting and stopping recordings needs the admin role." in [w.value for w in editor.warning]


def test_shared_password_means_admin(site, monkeypatch, tmp_path):
    (tmp_path / "recshelf.toml").write_text("")
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", "shared-pass")
    monkeypatch.delenv("RECSHELF_SERVER_URL")  # no server beside the UI: the tab's own login form
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input[0].input("shared-pass")
    at.button[0].click().run()
    at = _open(at)
    assert not _button(at, "Save note").disabled
    at.text_input(key=f"note_title-{REC_ID}").input("by the team")
    _button(at, "Save note").click().run()
    (entry,) = AuditTrail(_db(tmp_path)).entries()
    assert (entry.actor, entry.role, entry.outcome) == ("shared password", "admin", "done")


def _plan_and_confirm(at: AppTest, typed: str | None = None) -> AppTest:
    _button(at, "Plan delete").click().run()
    label = next(t.label for t in at.text_input if t.label.startswith("Type "))
    count = label.split()[1]
    at.text_input(key="del_confirm").input(typed if typed is not None else count)
    return _button(at, "Delete recording").click().run()


def test_an_admin_deletes_after_typing_the_count_and_it_is_audited(site, tmp_path):
    before = {o.key for o in site.list()}
    mine = len([k for k in before if OTHER_SID not in k])
    at = _plan_and_confirm(_open(_login("ada")), typed="1")
    assert f"Type {mine} (the number of objects) to confirm." in [e.value for e in at.error]
    assert {o.key for o in site.list()} == before
    at = _plan_and_confirm(at)
    assert not at.exception
    assert any(s.value.startswith(f"done: {mine} object(s)") for s in at.success)
    assert {o.key for o in site.list()} == {k for k in before if OTHER_SID in k}
    (entry,) = AuditTrail(_db(tmp_path)).entries()
    assert (entry.actor, entry.action, entry.objects, entry.outcome, entry.via) == ("ada", "delete", mine, "done", "ui")


@pytest.mark.parametrize("user", ["vera", "ed"])
def test_a_viewers_or_editors_delete_is_refused_and_audited(site, tmp_path, user):
    before = {o.key for o in site.list()}
    at = _open(_login(user))
    assert "Deleting needs the admin role." in [c.value for c in at.caption]
    at = _plan_and_confirm(at)
    assert any("Refused" in e.value and "may not delete" in e.value for e in at.error)
    assert {o.key for o in site.list()} == before
    (entry,) = AuditTrail(_db(tmp_path)).entries()
    assert (entry.actor, entry.role, entry.action, entry.outcome, entry.objects) == (user, ROLE_OF[user], "delete",
                                                                                     "denied", 0)

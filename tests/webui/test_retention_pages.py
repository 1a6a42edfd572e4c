"""The Retention page and the Tier / Restore dialogs with Streamlit's AppTest: a folder store and S3 on moto."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from storage.media.naming import RecordingKey
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.stores.base import ObjectStore
from storage.stores.classes import listing_classes
from storage.stores.local import LocalStore
from tests.fixtures.s3 import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY
from tests.webui.conftest import SID, Seeder, ui_environment
from tests.webui.test_manage_pages import OTHER_SID, PASSWORD, THIRD_SID, _app, _listing, _said, _select

ROOT = Path(__file__).resolve().parents[2]
RULES = """
[[rules.retention]]
name = "drop the other channel"
channel = "other"
action = "delete"
[[rules.retention]]
name = "archive the rest"
channel = "nothing-matches-*"
action = "archive"
to = "{archive}"
"""


@pytest.fixture
def retained(tmp_path: Path, seeder: Seeder, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """Three recordings (one incomplete) in a folder store, and two retention rules in recshelf.toml."""
    (tmp_path / "store").mkdir()
    (tmp_path / "archive").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store, missing=[2])
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    seeder(store, key=RecordingKey(THIRD_SID, "other"))
    ui_environment(monkeypatch, tmp_path, store.root)
    (tmp_path / "recshelf.toml").write_text(RULES.format(archive=tmp_path / "archive"))
    return store


def _retention_page() -> AppTest:
    at = _app().run()
    at.switch_page("views/retention.py")
    return at.run()


def test_retention_page_shows_the_plan_per_rule_and_applies_it_on_one_confirm(retained, tmp_path):
    before = _listing(retained)
    at = _retention_page()
    assert not at.exception
    rules = at.dataframe[0].value
    assert list(rules["rule"]) == ["drop the other channel", "archive the rest"]
    at = at.button(key="retention_plan").click().run()
    assert not at.exception
    assert any(h.value.startswith("Plan: 2 recording(s) match · 14 object(s)") for h in at.subheader)
    summary = at.dataframe[1].value
    assert list(summary["recordings"]) == [2, 0] and list(summary["objects"]) == [14, 0]
    assert list(summary["action"]) == ["delete", "archive"]
    assert _listing(retained) == before  # planning changes nothing
    at = at.button(key="retention_apply").click().run()
    assert not at.exception
    assert len([t for t in _said(at.success) if "drop the other channel: delete" in t and "done" in t]) == 2
    left = _listing(retained)
    assert left and all(SID in key for key in left)  # only the incomplete recording of the first channel stays
    trail = AuditTrail(Database(tmp_path / "data"))
    (run,) = trail.entries(action="retention")
    assert (run.outcome, run.objects, run.via) == ("done", 14, "ui")
    assert {e.outcome for e in trail.entries(action="delete")} == {"done"}  # each recording's delete audited too


def test_retention_apply_is_checked_where_it_runs(retained, monkeypatch):
    """The page run on its own (past app.py's gate), a password set and nobody logged in: refused, audited."""
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", PASSWORD)
    before = _listing(retained)
    at = _app(str(ROOT / "webui" / "views" / "retention.py")).run()
    at = at.button(key="retention_plan").click().run()
    at = at.button(key="retention_apply").click().run()
    assert any("Not allowed" in t for t in _said(at.error))
    assert _listing(retained) == before


def test_retention_page_without_rules_says_how_to_add_them(retained, tmp_path):
    (tmp_path / "recshelf.toml").write_text("")
    at = _retention_page()
    assert not at.exception
    assert any("[[rules.retention]]" in i.value for i in at.info)


def test_tier_dialog_on_a_folder_store_refuses_with_a_clear_message(retained):
    before = _listing(retained)
    at = _select(_app().run(), [OTHER_SID])
    at = at.button(key="manage_tier").click().run()
    assert not at.exception
    assert any("has no storage classes" in t and "S3, OSS or Qiniu" in t for t in _said(at.error))
    assert "manage_apply" not in [b.key for b in at.button]
    assert _listing(retained) == before


def _classes(store: ObjectStore) -> dict[str, str | None]:
    with listing_classes(store):
        return {obj.key: obj.storage_class for obj in store.list()}


@pytest.fixture
def on_moto(s3_store_factory: Any, s3_server_url: str, seeder: Seeder, tmp_path: Path,
            monkeypatch: pytest.MonkeyPatch) -> ObjectStore:
    store = s3_store_factory()
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    seeder(store, key=RecordingKey(THIRD_SID, "other"))
    ui_environment(monkeypatch, tmp_path, tmp_path)
    monkeypatch.setenv("RECSHELF_UI_STORE", f"{store.url}?endpoint={s3_server_url}&region={S3_REGION}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET_KEY)
    return store


def test_tier_dialog_on_s3_shows_the_plan_and_changes_the_class(on_moto, tmp_path):
    at = _select(_app().run(), [OTHER_SID])
    at = at.button(key="manage_tier").click().run()
    assert not at.exception
    choices = at.selectbox(key="tier_class").options
    assert choices[0] == "STANDARD (standard)" and "GLACIER_IR" in choices
    assert "GLACIER (must be restored before playing)" in choices
    at = at.selectbox(key="tier_class").set_value("GLACIER_IR").run()
    headline = [m.value for m in at.markdown if m.value.startswith("**Change to GLACIER_IR")]
    assert headline and "1 recording(s) · 7 object(s)" in headline[0]
    assert set(_classes(on_moto).values()) <= {None, "STANDARD"}  # planning changes nothing
    at = at.button(key="manage_apply").click().run()
    assert not at.exception
    assert any("done: 7 object(s)" in t and "changed to GLACIER_IR" in t for t in _said(at.success))
    classes = _classes(on_moto)
    assert {c for k, c in classes.items() if OTHER_SID in k} == {"GLACIER_IR"}
    assert {c for k, c in classes.items() if THIRD_SID in k} <= {None, "STANDARD"}  # the sid sharing 31 digits
    (entry,) = AuditTrail(Database(tmp_path / "data")).entries(action="tier")
    assert (entry.outcome, entry.objects) == ("done", 7)


def test_restore_dialog_on_s3_asks_for_the_archived_objects(on_moto, tmp_path):
    from storage.stores.classes import classed

    classed_store = classed(on_moto)
    assert classed_store is not None
    for key in [k for k in _classes(on_moto) if OTHER_SID in k]:
        classed_store.set_storage_class(key, "GLACIER")
    at = _select(_app().run(), [OTHER_SID])
    at = at.button(key="manage_restore").click().run()
    assert not at.exception
    headline = [m.value for m in at.markdown if m.value.startswith("**Restore")]
    assert headline and "7 object(s)" in headline[0]
    at = at.button(key="manage_apply").click().run()
    assert not at.exception
    assert any("asked to restore" in t for t in _said(at.success) + _said(at.error))
    (entry,) = AuditTrail(Database(tmp_path / "data")).entries(action="restore")
    assert entry.outcome in ("done", "partial")


def test_retention_page_resumes_an_interrupted_run_before_the_rules(retained, tmp_path):
    """A run killed mid-delete (its plan journaled, part of the objects gone) is shown first and finished by
    the page's apply, as `recshelf retention apply` would: re-planning alone would miss the half-deleted
    recording, which no longer verifies complete."""
    from storage.manage.journal import Journal
    from storage.manage.retention import parse_rules, plan_retention

    rules = parse_rules([{"name": "drop the other channel", "channel": "other", "action": "delete"}])
    (step,) = [s for _, s in plan_retention(retained, rules, lambda ref: LocalStore(Path(ref))).steps
               if OTHER_SID in s.recordings[0].id]
    Journal(tmp_path / "data", step.id).start(step)
    gone = [obj.key for obj in step.objects][:3]
    for key in gone:
        retained.delete(key)
    at = _retention_page().button(key="retention_plan").click().run()
    assert not at.exception
    assert any("1 change(s) of an interrupted retention run come first" in w.value for w in at.warning)
    summary = at.dataframe[1].value
    assert "drop the other channel (interrupted run, resumed)" in list(summary["rule"])
    at = at.button(key="retention_apply").click().run()
    assert not at.exception
    left = _listing(retained)
    assert left and all(SID in key for key in left)  # both recordings of "other" gone, the incomplete one kept
    assert Journal(tmp_path / "data", step.id).finished

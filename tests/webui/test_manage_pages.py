"""The management UI with Streamlit's AppTest on real folder stores: Delete / Archive / Export selected
dialogs of the Recordings table, the Usage page and the Clean-up page."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from storage.manage.usage import usage
from storage.media.naming import RecordingKey, playlist_name, slice_name
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, START, Seeder
from webui.manage_actions import GENERATION

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "webui" / "app.py")
OTHER_SID = "ffff456789abcdef0123456789abcdef"
THIRD_SID = "ffff456789abcdef0123456789abcde0"  # shares 31 characters with OTHER_SID
PASSWORD = "manage-ui-password-never-shown"


def _listing(store: LocalStore) -> dict[str, int]:
    return {obj.key: obj.size for obj in store.list()}


@pytest.fixture
def seeded(tmp_path: Path, seeder: Seeder, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """An incomplete recording (slice 2 missing) and two complete ones whose sids share a long prefix."""
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store, missing=[2])
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    seeder(store, key=RecordingKey(THIRD_SID, "other"))
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    monkeypatch.setenv("RECSHELF_UI_STORE", str(store.root))
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    for name in ("RECSHELF_UI_PASSWORD", "RECSHELF_PUBLIC_URL", "RECSHELF_SERVER_URL", "RECSHELF_MEDIA_URL"):
        monkeypatch.delenv(name, raising=False)
    return store


def _app(script: str = APP) -> AppTest:
    return AppTest.from_file(script, default_timeout=60)


def _sids(at: AppTest) -> list[str]:
    """The sids of the table's visible rows, in order (from the page's Details table, which shows the ids)."""
    (details,) = [df.value for df in at.dataframe if "folder" in df.value.columns]
    return list(details["sid"])


def _plan_table(at: AppTest) -> Any:
    """The open dialog's plan: the table that names each recording's sid and status."""
    (plan,) = [df.value for df in at.dataframe if {"sid", "status"} <= set(df.value.columns)]
    return plan


def _select(at: AppTest, sids: list[str]) -> AppTest:
    """Switch on "Select several" and tick the table rows of these sids (as clicks on their checkboxes would)."""
    at.toggle(key="t_many").set_value(True).run()
    picked = [n for n, sid in enumerate(_sids(at)) if sid in sids]
    assert len(picked) == len(sids)
    key = f"table-{at.session_state['t_gen']}-1-{at.session_state.get(GENERATION, 0)}"
    at.session_state[key] = {"selection": {"rows": picked, "columns": [], "cells": []}}
    return at.run()


def _said(elements: object) -> list[str]:
    """The text of st.success / st.error / … elements, markdown escapes removed."""
    return [e.value.replace("\\", "") for e in elements]  # type: ignore[attr-defined]


def _dialog_text(at: AppTest) -> str:
    return "\n".join(str(e.proto) for e in at.main)


def _recording_keys(store: LocalStore, sid: str) -> set[str]:
    return {key for key in _listing(store) if key.split("/", 1)[1].startswith(sid + "_")}


def test_delete_dialog_shows_the_plan_refuses_a_wrong_count_and_deletes_exactly_the_plan(seeded):
    before = _listing(seeded)
    at = _select(_app().run(), [OTHER_SID, THIRD_SID])
    assert any("2 selected" in m.value for m in at.markdown)
    at = at.button(key="manage_delete").click().run()
    assert not at.exception
    wanted = _recording_keys(seeded, OTHER_SID) | _recording_keys(seeded, THIRD_SID)
    assert len(wanted) == 14  # two playlists and six slices each
    headline = [m.value for m in at.markdown if m.value.startswith("**Delete")]
    assert headline and "2 recording(s) · 14 object(s)" in headline[0] and "KB" in headline[0]
    plan_table = _plan_table(at)
    assert sorted(plan_table["sid"]) == sorted([OTHER_SID, THIRD_SID])
    assert set(plan_table["status"]) == {"complete"}

    at.text_input(key="manage_typed").set_value("14").run()  # the object count is not what is asked
    at = at.button(key="manage_apply").click().run()
    assert any("Type 2" in t and "Nothing was deleted" in t for t in _said(at.error))
    assert _listing(seeded) == before

    at.text_input(key="manage_typed").set_value("2").run()
    at = at.button(key="manage_apply").click().run()
    assert not at.exception
    assert any(t.startswith("other, other: done: 14 object(s)") for t in _said(at.success))
    assert "manage_apply" not in [b.key for b in at.button]  # the outcome only: nothing to apply twice
    after = _listing(seeded)
    assert set(before) - set(after) == wanted
    assert {k: v for k, v in before.items() if k not in wanted} == after
    assert (Path(os.environ["RECSHELF_DATA"]) / "journal").is_dir()  # the run is journaled

    at = at.button(key="manage_close").click().run()
    assert not at.exception
    assert _sids(at) == [SID]


def test_a_recording_that_is_not_complete_needs_the_force_tick(seeded):
    at = _select(_app().run(), [SID])
    at = at.button(key="manage_delete").click().run()
    assert at.button(key="manage_apply").disabled
    assert any("not complete" in t and "incomplete" in t for t in _said(at.warning))
    at = at.checkbox(key="manage_force").check().run()
    assert not at.button(key="manage_apply").disabled
    at.text_input(key="manage_typed").set_value("1").run()
    at = at.button(key="manage_apply").click().run()
    assert any("done: 6 object(s)" in t for t in _said(at.success))  # playlist + five slices that exist
    assert not _recording_keys(seeded, SID) and len(_recording_keys(seeded, OTHER_SID)) == 7


def test_the_delete_is_checked_where_it_runs_not_only_by_the_gate(seeded, monkeypatch):
    """The page run on its own (past app.py's login gate) with a password set and nobody logged in."""
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", PASSWORD)
    before = _listing(seeded)
    at = _select(_app(str(ROOT / "webui" / "views" / "browse.py")).run(), [OTHER_SID])
    at = at.button(key="manage_delete").click().run()
    at.text_input(key="manage_typed").set_value("1").run()
    at = at.button(key="manage_apply").click().run()
    assert any("Not allowed" in t for t in _said(at.error))
    assert _listing(seeded) == before
    assert PASSWORD not in _dialog_text(at)


def test_archive_copies_verifies_then_removes_the_source(seeded, tmp_path):
    (tmp_path / "archive").mkdir()
    archive = LocalStore(tmp_path / "archive")
    moved = _recording_keys(seeded, OTHER_SID)
    at = _select(_app().run(), [OTHER_SID])
    at = at.button(key="manage_archive").click().run()
    at = at.text_input(key="archive_url").set_value(str(archive.root)).run()
    assert any("Archive to" in m.value and "1 recording(s) · 7 object(s)" in m.value for m in at.markdown)
    at = at.button(key="manage_apply").click().run()
    assert not at.exception
    assert any("done: 7 object(s)" in t and "moved to" in t for t in _said(at.success))
    assert {k for k in _listing(archive) if not k.startswith(".recshelf/")} == moved  # + the copy's manifest
    assert not _recording_keys(seeded, OTHER_SID) and len(_recording_keys(seeded, THIRD_SID)) == 7
    assert any(t.startswith("Whole job: Archived 1 of 1 recording(s)") for t in _said(at.success))


def test_archive_of_several_ends_with_one_summary_of_the_whole_job(seeded, tmp_path):
    (tmp_path / "archive").mkdir()
    archive = LocalStore(tmp_path / "archive")
    at = _select(_app().run(), [OTHER_SID, THIRD_SID])
    at = at.button(key="manage_archive").click().run()
    at = at.text_input(key="archive_url").set_value(str(archive.root)).run()
    at = at.button(key="manage_apply").click().run()
    assert not at.exception
    said = _said(at.success)
    assert said[0] == "Whole job: Archived 2 of 2 recording(s)"  # first, above the per-recording lines
    assert len([t for t in said if "moved to" in t]) == 2
    assert not _recording_keys(seeded, OTHER_SID) and not _recording_keys(seeded, THIRD_SID)
    moves = AuditTrail(Database(tmp_path / "data")).entries(action="move")  # one row per recording, as delete's
    assert sorted((e.outcome, e.objects) for e in moves if e.outcome != "started") == [("done", 7), ("done", 7)]


def test_export_selected_copies_the_whole_selection_to_a_store(seeded, tmp_path):
    (tmp_path / "target").mkdir()
    target = LocalStore(tmp_path / "target")
    at = _select(_app().run(), [OTHER_SID, THIRD_SID])
    at = at.button(key="manage_export").click().run()
    at = at.text_input(key="export_url").set_value(str(target.root)).run()
    at = at.button(key="manage_apply").click().run()
    assert not at.exception
    assert len([t for t in _said(at.success) if "exported to" in t]) == 2
    assert _said(at.success)[0] == "Whole job: Exported 2 of 2 recording(s)"
    assert {k for k in _listing(target) if not k.startswith(".recshelf")} == (
        _recording_keys(seeded, OTHER_SID) | _recording_keys(seeded, THIRD_SID))


def test_usage_page_charts_and_table_per_grouping(seeded):
    at = _app().run()
    at.switch_page("views/usage.py")
    at = at.run()
    assert not at.exception
    charts = [e for e in at.main if getattr(e, "type", None) == "arrow_vega_lite_chart"
              or "vega" in str(getattr(e, "type", ""))]
    assert len(charts) == 4
    table = at.dataframe[0].value
    assert list(table["group"]) == ["2026-01-02"] and int(table["recordings"][0]) == 3
    assert int(table["slices"][0]) == 17  # 5 + 6 + 6
    hours = sum(row.hours for row in usage(seeded, "day"))  # what `recshelf du` counts
    assert 17 / 3600 <= hours < 20 / 3600
    assert [m.value for m in at.metric][:2] == ["3", f"{hours:,.2f}"]
    at.segmented_control(key="usage_by").set_value("channel").run()
    table = at.dataframe[0].value
    assert dict(zip(table["group"], table["recordings"], strict=True)) == {"my_chan 1": 1, "other": 2}
    at.segmented_control(key="usage_by").set_value("status").run()
    assert set(at.dataframe[0].value["group"]) == {"complete", "incomplete"}
    assert at.get("download_button")


def _age(store: LocalStore, keys: list[str], days: float) -> None:
    then = time.time() - days * 86400
    for key in keys:
        os.utime(store.root / key, (then, then))


def test_cleanup_page_plans_then_applies_on_one_confirm(seeded):
    orphan_key = RecordingKey(OTHER_SID, "other")
    orphan = "rec/" + slice_name(orphan_key, START.replace(hour=9))  # no playlist names it
    seeded.write(orphan, b"\x47" + b"\x00" * 187)
    lost = RecordingKey("aaaa456789abcdef0123456789abcdef", "lost")
    lost_keys = [f"rec/{slice_name(lost, START)}", f"rec/{slice_name(lost, START.replace(second=9))}"]
    for key in lost_keys:
        seeded.write(key, b"\x47" + b"\x00" * 187)
    assert not seeded.stat("rec/" + playlist_name(lost))
    _age(seeded, [obj.key for obj in seeded.list()], days=10)
    young = "rec/" + slice_name(RecordingKey("bbbb456789abcdef0123456789abcdef", "young"), START)
    seeded.write(young, b"\x47" + b"\x00" * 187)  # written now: inside Agora's backup window, kept
    before = _listing(seeded)

    at = _app().run()
    at.switch_page("views/cleanup.py")
    at = at.run()
    assert not at.exception and at.info
    at = at.button(key="clean_plan").click().run()
    assert any(h.value.startswith("Plan: 3 object(s)") for h in at.subheader)
    reasons = at.dataframe[0].value
    assert dict(zip(reasons["what"].str.split(" ").str[0], reasons["objects"], strict=True)) == {
        "orphan": 1, "slices": 2}
    assert _listing(seeded) == before
    at = at.button(key="clean_apply").click().run()
    assert not at.exception
    assert any("done: 3 object(s)" in t for t in _said(at.success))
    assert set(before) - set(_listing(seeded)) == {orphan, *lost_keys}
    assert seeded.stat(young) is not None


def test_cleanup_is_checked_where_it_runs(seeded, monkeypatch):
    """Clean-up run on its own (past app.py's gate), a password set and nobody logged in: refused."""
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", PASSWORD)
    orphan = "rec/" + slice_name(RecordingKey(OTHER_SID, "other"), START.replace(hour=9))
    seeded.write(orphan, b"\x47" + b"\x00" * 187)
    _age(seeded, [orphan], days=10)
    before = _listing(seeded)
    at = _app(str(ROOT / "webui" / "views" / "cleanup.py")).run()
    at = at.button(key="clean_plan").click().run()
    at = at.button(key="clean_apply").click().run()
    assert any("Not allowed" in t for t in _said(at.error))
    assert _listing(seeded) == before


def test_an_interrupted_delete_of_the_same_selection_resumes(seeded):
    """A journal left with its plan and no outcome (a run killed mid-delete): the dialog resumes that plan."""
    from storage.manage.journal import Journal
    from storage.manage.selection import plan_delete_selected
    from storage.recordings.catalog import find

    picked = [rec for rec in find(seeded) if rec.key.sid == OTHER_SID]
    plan = plan_delete_selected(seeded, picked)
    Journal(Path(os.environ["RECSHELF_DATA"]), plan.id).start(plan)
    seeded.delete(plan.keys[0])  # the first object went before the kill
    at = _select(_app().run(), [OTHER_SID])
    at = at.button(key="manage_delete").click().run()
    assert any("interrupted delete" in i.value for i in at.info)
    at.text_input(key="manage_typed").set_value("1").run()
    at = at.button(key="manage_apply").click().run()
    assert any("done: 7 object(s)" in t and "resumed" in t for t in _said(at.success))
    assert not _recording_keys(seeded, OTHER_SID) and len(_recording_keys(seeded, THIRD_SID)) == 7


def test_cleanup_warns_below_agoras_backup_window(seeded):
    at = _app().run()
    at.switch_page("views/cleanup.py")
    at = at.run()
    assert not at.warning
    at = at.number_input(key="clean_amount").set_value(24.0).run()
    assert any("backup window" in t for t in _said(at.warning))

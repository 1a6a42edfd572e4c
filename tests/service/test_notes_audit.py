"""Notes (repo_notes, service.notes) and the audit trail (repo_audit, service.audit) on a real SQLite file."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.errors import Forbidden
from storage.manage.apply import Outcome
from storage.manage.plan import Plan, PlannedObject
from storage.service.audit import AuditTrail
from storage.service.db import Database
from storage.service.notes import Notes
from storage.service.repo_notes import like_pattern, normal_tags
from storage.service.users import Actor

STORE = "file:///recordings"
EDITOR = Actor("ed", "editor", "cli")
VIEWER = Actor("vera", "viewer", "ui")
ADMIN = Actor("ada", "admin", "cli")


@pytest.fixture
def db(tmp_path: Path) -> Database:
    return Database(tmp_path / "data")


def test_tags_are_trimmed_lower_case_and_unique():
    assert normal_tags([" Customer  A ", "customer a", "", "Q1", "  "]) == ("customer a", "q1")


def test_like_wildcards_typed_by_the_user_are_literal():
    assert like_pattern("50%_off\\") == "%50\\%\\_off\\\\%"


def test_edit_keeps_what_is_not_given_and_audits(db):
    notes = Notes(db)
    notes.edit(EDITOR, STORE, "sid1", title="  Board   meeting ", add_tags=["Finance", "q1"], text="first")
    note = notes.edit(EDITOR, STORE, "sid1", remove_tags=["Q1"], add_tags=["legal"])
    assert (note.title, note.tags, note.text, note.updated_by) == ("Board meeting", ("finance", "legal"), "first", "ed")
    assert notes.get(STORE, "sid1") == note
    entries = AuditTrail(db).entries(action="tag")
    assert [e.detail["tags_added"] for e in entries] == [["legal"], ["finance", "q1"]]
    assert entries[0].detail["tags_removed"] == ["q1"]


def test_an_unchanged_edit_writes_nothing(db):
    notes = Notes(db)
    notes.edit(EDITOR, STORE, "sid1", title="t")
    notes.edit(EDITOR, STORE, "sid1", title="t")
    assert len(AuditTrail(db).entries()) == 1


def test_notes_are_per_store_sid_and_uid(db):
    notes = Notes(db)
    notes.edit(EDITOR, STORE, "sid1", title="whole")
    notes.edit(EDITOR, STORE, "sid1", "42", title="uid 42")
    notes.edit(EDITOR, "s3://other/prefix", "sid1", title="elsewhere")
    assert notes.get(STORE, "sid1").title == "whole"
    assert notes.get(STORE, "sid1", "42").title == "uid 42"
    assert {n.title for n in notes.search(store=STORE)} == {"whole", "uid 42"}


def test_search_by_tag_and_text(db):
    notes = Notes(db)
    notes.edit(EDITOR, STORE, "a", title="Quarterly review", add_tags=["finance"])
    notes.edit(EDITOR, STORE, "b", text="100% of the board", add_tags=["board"])
    notes.edit(EDITOR, STORE, "c", title="unrelated")
    assert [n.sid for n in notes.search(tag="FINANCE")] == ["a"]
    assert [n.sid for n in notes.search(text="QUARTER")] == ["a"]
    assert [n.sid for n in notes.search(text="100%")] == ["b"]
    assert [n.sid for n in notes.search(text="%")] == ["b"]  # a literal percent sign, not "anything"
    assert [n.sid for n in notes.search(text="boa")] == ["b"]  # tags are searched too
    assert notes.search(tag="finance", text="board") == []
    assert notes.tags(STORE) == [("board", 1), ("finance", 1)]


def test_clearing_everything_removes_the_note(db):
    notes = Notes(db)
    notes.edit(EDITOR, STORE, "a", title="x", add_tags=["t"])
    notes.edit(EDITOR, STORE, "a", title="", tags=[])
    assert notes.search() == [] and notes.tags() == []


def test_a_viewer_may_not_edit_and_the_attempt_is_audited(db):
    with pytest.raises(Forbidden, match="vera \\(viewer\\) may not tag"):
        Notes(db).edit(VIEWER, STORE, "a", title="defaced")
    assert Notes(db).search() == []
    (entry,) = AuditTrail(db).entries()
    assert (entry.actor, entry.role, entry.via, entry.action, entry.outcome) == ("vera", "viewer", "ui", "tag",
                                                                                 "denied")


def _plan() -> Plan:
    return Plan("delete", STORE, {"sid": "sid1", "uid": "7"}, objects=[PlannedObject("rec/a.ts", 10, "r"),
                                                                      PlannedObject("rec/b.ts", 20, "r")])


def test_guard_records_started_then_the_outcome(db):
    trail = AuditTrail(db)
    seen: list[str] = []

    def apply(plan: Plan) -> Outcome:
        seen.append(trail.entries()[0].outcome)  # while it runs the row says 'started'
        return Outcome(plan.id, "done", deleted=2, bytes=30)

    trail.guard(ADMIN, _plan(), apply)(_plan())
    (entry,) = trail.entries()
    assert seen == ["started"]
    assert (entry.action, entry.target, entry.objects, entry.bytes, entry.outcome) == (
        "delete", "sid sid1 uid 7", 2, 30, "done")
    assert entry.detail["planned_objects"] == 2 and entry.detail["planned_bytes"] == 30


def test_guard_refuses_a_viewer_before_anything_runs(db):
    trail = AuditTrail(db)
    with pytest.raises(Forbidden):
        trail.guard(VIEWER, _plan(), lambda plan: pytest.fail("applied"))
    (entry,) = trail.entries()
    assert (entry.outcome, entry.objects, entry.detail["planned_objects"]) == ("denied", 0, 2)


def test_an_editor_may_not_delete_either(db):
    with pytest.raises(Forbidden):
        AuditTrail(db).guard(EDITOR, _plan(), lambda plan: pytest.fail("applied"))


@pytest.mark.parametrize(("error", "outcome"), [(KeyboardInterrupt(), "interrupted"), (RuntimeError("dead"), "failed")])
def test_a_run_that_raises_is_recorded(db, error, outcome):
    trail = AuditTrail(db)

    def apply(plan: Plan) -> Outcome:
        raise error

    with pytest.raises(type(error)):
        trail.guard(ADMIN, _plan(), apply)(_plan())
    assert trail.entries()[0].outcome == outcome


def test_share_hooks_and_filters(db):
    trail = AuditTrail(db, clock=iter([100.0, 200.0, 300.0]).__next__)
    trail.share_created(EDITOR, store=STORE, target="rec/x", expires_s=3600)
    trail.share_revoked(ADMIN, store=STORE, target="rec/x")
    trail.record(VIEWER, "delete", "denied")
    assert [e.action for e in trail.entries(since=150)] == ["delete", "share_revoke"]
    assert [e.actor for e in trail.entries(actor="ed")] == ["ed"]
    assert trail.entries(action="share_create")[0].detail == {"expires_s": 3600}
    assert [e.action for e in trail.entries(outcome="denied")] == ["delete"]

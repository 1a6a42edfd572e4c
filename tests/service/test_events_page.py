"""webui/views/events.py with AppTest: per-recording timeline, waiting and overdue recordings highlighted."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage.service.db import Database, transaction
from storage.service.intake import EventIntake, parse_envelope
from storage.service.repo import Repo
from tests.service.conftest import SECRET, envelope

APP = str(Path(__file__).resolve().parents[2] / "webui" / "app.py")
WAITING = "1" * 32
OVERDUE = "2" * 32


@pytest.fixture
def data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    db = Database(folder)
    intake = EventIntake(Repo(db), SECRET)
    intake.start()
    for sid, event_type in ((WAITING, 32), (OVERDUE, 32), (OVERDUE, 11), ("3" * 32, 33)):
        body = envelope(event_type, sid=sid, cname=f"room {sid[0]}")
        intake.submit(parse_envelope(body), body).result(10)
    intake.stop()
    conn = db.conn()
    with transaction(conn):
        for sid, state in ((WAITING, "waiting_backup"), (OVERDUE, "overdue")):
            conn.execute("INSERT INTO recordings (sid, cname, state, status, updated_at) VALUES (?, ?, ?, ?, 1)",
                         (sid, f"room {sid[0]}", state, "incomplete"))
            conn.execute("INSERT INTO checks (sid, cname, checked_at, status, segments, bytes, missing) "
                         "VALUES (?, 'c', 2e9, 'incomplete', 4, 1000, 1)", (sid,))
    db.close()
    monkeypatch.setenv("RECSHELF_DATA", str(folder))
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.delenv("RECSHELF_UI_PASSWORD", raising=False)
    return folder


def _events_page() -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.run()
    at.switch_page("views/events.py")
    at.run()
    assert not at.exception, at.exception
    return at


def test_events_page_lists_recordings_and_highlights(data: Path):
    at = _events_page()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Waiting on backup"] == "1" and metrics["Overdue"] == "1" and metrics["Events"] == "4"
    assert at.error and "deadline" in at.error[0].value
    assert at.warning and "backup" in at.warning[0].value
    table = at.dataframe[0].value
    states = dict(zip(table["sid"], table["state"], strict=True))
    # Words, never the codes (issue 12): "waiting_backup" is not something to show.
    assert states[WAITING] == "waiting for Agora's backup upload"
    assert states[OVERDUE] == "overdue: still not complete at the deadline"
    assert states["3" * 32] == "no check needed (no upload or exit event)"
    assert "_" not in " ".join(table["event types"])


def test_events_page_timeline_of_one_recording(data: Path):
    at = _events_page()
    at.selectbox(key="ev_sid").set_value(OVERDUE).run()
    timeline = at.dataframe[1].value
    assert list(timeline["kind"]) == ["event", "event", "check"]
    assert "some files went to Agora's backup" in list(timeline["what"])
    assert "check: incomplete" in list(timeline["what"])
    assert not any(w[:1].isdigit() for w in timeline["what"])


def test_events_page_without_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "none"))
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "recshelf.toml"))
    (tmp_path / "recshelf.toml").write_text("")
    monkeypatch.delenv("RECSHELF_UI_PASSWORD", raising=False)
    at = _events_page()
    assert at.info and "recshelf serve" in at.info[0].value

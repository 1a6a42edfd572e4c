"""`recshelf record …` against the simulator."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from storage.cli import app
from tests.agora.conftest import APP_ID, CUSTOMER_ID, CUSTOMER_SECRET


def test_record_start_query_stop(simulator, tmp_path, monkeypatch):
    running = simulator()
    monkeypatch.setenv("AGORA_CUSTOMER_ID", CUSTOMER_ID)
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", CUSTOMER_SECRET)
    monkeypatch.setenv("AGORA_APP_ID", APP_ID)
    monkeypatch.setenv("AGORA_BASE_URL", running.url)
    runner = CliRunner()
    started = runner.invoke(app, ["record", "start", "cli1", "--store", str(tmp_path), "--prefix", "cli"])
    assert started.exit_code == 0, started.output
    session = json.loads(started.stdout)
    assert len(session["sid"]) == 32 and session["folder"] == "cli/"
    (tmp_path / "s.json").write_text(started.stdout)
    queried = runner.invoke(app, ["record", "query", "--session", str(tmp_path / "s.json")])
    assert queried.exit_code == 0, queried.output
    assert json.loads(queried.stdout)["sid"] == session["sid"]
    stopped = runner.invoke(app, ["record", "stop", "--session", str(tmp_path / "s.json")])
    assert stopped.exit_code == 0, stopped.output
    assert json.loads(stopped.stdout)["serverResponse"]["uploadingStatus"] == "uploaded"
    again = runner.invoke(app, ["record", "stop", "--resource-id", session["resource_id"], "--sid", session["sid"],
                                "--cname", "cli1", "--uid", session["uid"]])
    assert again.exit_code == 1
    assert "code 49" in again.stderr


def test_record_without_credentials_is_a_usage_error(monkeypatch):
    monkeypatch.delenv("AGORA_CUSTOMER_ID", raising=False)
    monkeypatch.delenv("AGORA_CUSTOMER_SECRET", raising=False)
    result = CliRunner().invoke(app, ["record", "acquire", "c", "--uid", "1", "--app-id", APP_ID])
    assert result.exit_code == 2
    assert "AGORA_CUSTOMER_ID" in result.stderr

"""The service database: migrations, WAL, durability setting, and the [rules] table of recshelf.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.service.db import DB_NAME, MIGRATIONS, Database, connect, data_dir
from storage.service.repo import Repo
from storage.service.rules import Rules
from storage.settings import Settings, load_config


def test_new_database_is_wal_full_and_migrated(tmp_path: Path):
    db = Database(tmp_path / "d")
    conn = db.conn()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "jobs", "checks", "recordings"} <= tables
    db.close()


def test_reopening_keeps_data_and_does_not_migrate_twice(tmp_path: Path):
    db = Database(tmp_path)
    db.conn().execute("INSERT INTO events (notice_id, event_type, received_at, body) VALUES ('n', 1, 0, '{}')")
    db.close()
    again = Database(tmp_path)
    assert Repo(again).event_count() == 1
    again.close()


def test_normal_sync_can_be_chosen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECSHELF_SQLITE_SYNC", "normal")  # what `recshelf serve` passes on from Settings
    db = Database(tmp_path, synchronous=Settings.load().env.sqlite_sync)
    assert db.conn().execute("PRAGMA synchronous").fetchone()[0] == 1
    db.close()
    monkeypatch.setenv("RECSHELF_SQLITE_SYNC", "OFF")
    with pytest.raises(ValueError, match="FULL, NORMAL"):
        Database(tmp_path, synchronous=Settings.load().env.sqlite_sync)


def test_data_folder_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("RECSHELF_DATA", raising=False)
    assert data_dir() == Path("recshelf-data")
    assert data_dir(None, tmp_path / "cfg") == tmp_path / "cfg"
    assert data_dir(tmp_path / "flag", tmp_path / "cfg") == tmp_path / "flag"
    # $RECSHELF_DATA comes in through Settings: the flag, then the environment, then [server] data.
    config = tmp_path / "recshelf.toml"
    config.write_text(f'[server]\ndata = "{tmp_path / "cfg"}"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    assert Settings.load().data_dir() == tmp_path / "cfg"
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "env"))
    assert Settings.load().data_dir() == tmp_path / "env"
    assert Settings.load().data_dir(tmp_path / "flag") == tmp_path / "flag"


def test_a_reader_connection_sees_committed_events(tmp_path: Path):
    db = Database(tmp_path)
    db.conn().execute("INSERT INTO events (notice_id, event_type, received_at, body) VALUES ('n', 1, 0, '{}')")
    reader = connect(tmp_path / DB_NAME)
    assert reader.execute("SELECT count(*) FROM events").fetchone()[0] == 1
    reader.close()
    db.close()


def test_rules_table_in_recshelf_toml(tmp_path: Path):
    path = tmp_path / "recshelf.toml"
    path.write_text('[server]\nncs_secret = "ncs-s3cret"\n\n[rules]\nstore = "prod"\nbackoff_initial_s = 30\n'
                    'webhook = "https://hooks.example/T0/secret-token"\n\n'
                    '[[rules.export]]\nformat = "mp4"\ndest = "archive"\n')
    config = load_config(path)
    rules = Rules.from_table(config.rules)
    assert rules.store == "prod" and rules.backoff_initial_s == 30 and rules.exports[0].dest == "archive"
    text = config.redact("posting to https://hooks.example/T0/secret-token with ncs-s3cret")
    assert "secret-token" not in text and "ncs-s3cret" not in text
    assert "secret-token" not in repr(rules)


def test_summaries_and_timeline_read_alike_on_both_backends(repo: Repo):
    """The one statement spelled per dialect (group_concat / string_agg) and the history reads."""
    from storage.service.intake import EventIntake, parse_envelope
    from tests.service.conftest import SECRET, envelope

    intake = EventIntake(repo, SECRET)
    sid = "b" * 32
    for event_type in (40, 31, 31, 32):
        body = envelope(event_type, sid=sid)
        intake._write([(parse_envelope(body), body, _Waiter())])
    (summary,) = repo.recording_summaries()
    assert summary["sid"] == sid and summary["events"] == 4 and summary["eventTypes"] == [31, 32, 40]
    assert summary["state"] == "pending" and summary["nextCheck"] is not None
    timeline = repo.timeline(sid)
    assert [item["what"] for item in timeline] == [40, 31, 31, 32] and {i["kind"] for i in timeline} == {"event"}


class _Waiter:
    def set_result(self, result: bool) -> None:
        self.result = result

    def set_exception(self, exception: BaseException) -> None:
        raise exception

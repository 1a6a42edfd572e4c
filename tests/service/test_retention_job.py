"""`recshelf serve` applies [[rules.retention]] periodically: a `retention` job in the embedded SQLite queue."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.service.audit import AuditTrail
from storage.service.database import open_database
from storage.service.jobs import JobRunner
from storage.service.repo import Repo
from storage.service.repo_audit import AuditEntry
from storage.service.retention_job import schedule_retention
from storage.service.rules import DEFAULT_RETENTION_EVERY_S, Rules
from storage.stores.base import InvalidConfig
from storage.stores.local import LocalStore
from tests.fixtures.wait import eventually
from tests.service.test_serve import rules_toml

OLD = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
GONE_SID = "0123456789abcdef0123456789abcdef"
KEPT_SID = "fedcba9876543210fedcba9876543210"


RETENTION_TOML = """
[[rules.retention]]
name = "drop classes"
channel = "class-*"
older_than = "30d"
action = "delete"
"""


def _finished_runs(trail: AuditTrail) -> list[AuditEntry]:
    return sorted((e for e in trail.entries(action="retention") if e.outcome != "started"), key=lambda e: e.id or 0)


@pytest.fixture
def bucket(tmp_path: Path) -> LocalStore:
    (tmp_path / "bucket").mkdir()
    store = LocalStore(tmp_path / "bucket")
    write_recording(store, "rec/", RecordingKey(GONE_SID, "class-a"), OLD, slices=3)
    write_recording(store, "rec/", RecordingKey(KEPT_SID, "staff-b"), OLD, slices=3)
    return store


def _rules(bucket: LocalStore, every: object = 0.3) -> Rules:
    return Rules.from_table({"store": bucket.url, "retention_every": every, "poll_s": 0.05, "workers": 1,
                             "retention": [{"name": "drop classes", "channel": "class-*", "older_than": "30d",
                                            "action": "delete"}]})


def test_serve_runs_the_retention_rules_periodically_and_audits_each_run(tmp_path: Path, bucket: LocalStore) -> None:
    rules = _rules(bucket)
    repo = Repo(open_database(tmp_path / "data"))
    runner = JobRunner(repo, rules)
    job_id = schedule_retention(repo, rules, runner.clock())
    assert job_id is not None
    assert schedule_retention(repo, rules, runner.clock()) == job_id  # a restart does not add a second schedule
    trail = AuditTrail(repo.db)
    runner.start()
    try:
        assert eventually(lambda: len(_finished_runs(trail)) >= 2, timeout_s=60)
    finally:
        runner.stop()
    keys = [o.key for o in bucket.list()]
    assert keys and not any(GONE_SID in key for key in keys)
    assert all(KEPT_SID in key for key in keys)  # the rule's channel glob spares staff-b
    first, *later = _finished_runs(trail)
    assert (first.actor, first.role, first.via, first.outcome) == ("server", "admin", "server", "done")
    assert first.objects > 0 and first.bytes > 0 and first.store == bucket.url
    assert first.detail["recordings"] == 1 and first.detail["steps"][0]["rule"] == "drop classes"
    assert later[0].objects == 0  # nothing left to delete: the next run plans nothing
    (job,) = [j for j in repo.jobs() if j["kind"] == "retention"]
    assert job["id"] == job_id and job["state"] in ("queued", "running")  # the schedule goes on
    repo.close()


def test_a_run_killed_mid_way_resumes_from_its_journal(tmp_path: Path, bucket: LocalStore) -> None:
    """A run's plans are journaled under the data folder: the next run of the job finds and finishes them."""
    from storage.manage.journal import Journal
    from storage.manage.retention import plan_retention

    rules = _rules(bucket, every="1h")
    data = tmp_path / "data"
    repo = Repo(open_database(data))
    (step,) = plan_retention(bucket, rules.retention, LocalStore).plans
    # As a run SIGKILLed after its plan line and some deletes: the journal is unfinished, half the keys gone.
    Journal(data, step.id).start(step)
    for item in step.objects[: len(step.objects) // 2]:
        bucket.delete(item.key)
    runner = JobRunner(repo, rules)
    assert schedule_retention(repo, rules, runner.clock() - 7200) is not None  # due now
    runner.run_once()
    (entry,) = AuditTrail(repo.db).entries(action="retention")
    assert entry.outcome == "done" and entry.detail["steps"][0]["resumed"] is True
    assert entry.detail["steps"][0]["plan_id"] == step.id
    assert not any(GONE_SID in o.key for o in bucket.list())
    assert any(KEPT_SID in o.key for o in bucket.list())
    repo.close()


def test_a_second_schedule_made_at_the_same_time_ends_itself(tmp_path: Path, bucket: LocalStore) -> None:
    rules = _rules(bucket, every="1h")
    repo = Repo(open_database(tmp_path / "data"))
    runner = JobRunner(repo, rules)
    now = runner.clock() - 7200  # both due now
    with repo.write() as tx:  # as two workers starting together would, each past the "none pending" check
        first = tx.insert_job("retention", "retention", "", "every", "periodic", now, now)
        second = tx.insert_job("retention", "retention", "", "every", "periodic", now + 1, now)
    runner.run_once()
    runner.run_once()
    states = {job["id"]: job["state"] for job in repo.jobs()}
    assert states == {first: "queued", second: "skipped"}
    assert len(AuditTrail(repo.db).entries(action="retention")) == 1
    repo.close()


def test_retention_every_is_validated() -> None:
    rule = [{"action": "delete", "older_than": "30d"}]
    assert Rules.from_table({"store": "x", "retention": rule}).retention_every_s == DEFAULT_RETENTION_EVERY_S
    assert Rules.from_table({"store": "x", "retention": rule, "retention_every": "12h"}).retention_every_s == 43200
    assert not Rules.from_table({"store": "x", "retention": rule, "retention_every": "off"}).runs_retention
    assert not Rules.from_table({"retention": rule}).runs_retention  # no store: `recshelf retention STORE` only
    assert not Rules().runs_retention
    with pytest.raises(InvalidConfig, match="retention_every"):
        Rules.from_table({"store": "x", "retention": rule, "retention_every": "soon"})
    with pytest.raises(InvalidConfig, match="no \\[\\[rules.retention\\]\\]"):
        Rules.from_table({"store": "x", "retention_every": "1d"})
    with pytest.raises(InvalidConfig, match="needs 'store'"):
        Rules.from_table({"retention": rule, "retention_every": "1d"})


def _assert_served_runs(trail: AuditTrail, bucket: LocalStore) -> None:
    assert eventually(lambda: len(_finished_runs(trail)) >= 2, timeout_s=90)
    first = _finished_runs(trail)[0]
    assert (first.actor, first.via, first.outcome) == ("server", "server", "done") and first.objects > 0
    keys = [o.key for o in bucket.list()]
    assert keys and all(KEPT_SID in key for key in keys)


def test_recshelf_serve_runs_retention_every_period(server, tmp_path: Path, bucket: LocalStore) -> None:
    """The real `recshelf serve` (SQLite): the schedule is queued at start and runs on its own."""
    srv = server("--no-callbacks", config=rules_toml(bucket.root, retention_every=0.5) + RETENTION_TOML).start()
    db = open_database(srv.data)
    try:
        _assert_served_runs(AuditTrail(db), bucket)
    finally:
        srv.stop()
        db.close()


def test_recshelf_worker_runs_retention_in_postgresql_mode(postgres_url: str, server, workers, tmp_path: Path,
                                                          bucket: LocalStore) -> None:
    """PostgreSQL: `serve` queues the schedule (a procrastinate timer), a `recshelf worker` runs the same handler."""
    pytest.importorskip("procrastinate", reason="procrastinate is not installed: pip install 'recshelf[postgres]'")
    config = rules_toml(bucket.root, retention_every=1, workers=1, sweep_every_s=1) + RETENTION_TOML
    srv = server("--no-callbacks", "--workers", "0", config=config, RECSHELF_DATABASE=postgres_url).start()
    workers(1, srv)
    db = open_database(url=postgres_url)
    try:
        _assert_served_runs(AuditTrail(db), bucket)
    finally:
        srv.stop()
        db.close()

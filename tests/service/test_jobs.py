"""Jobs with a fake clock: verify once after `uploaded`, watch with backoff after `backuped`, leases, rules."""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.service.intake import EventIntake, parse_envelope
from storage.service.jobs import MAX_LEASE_LOSSES, JobRunner
from storage.service.notify import Notifier
from storage.service.repo import Repo
from storage.service.rules import Rules
from storage.stores.base import InvalidConfig
from storage.stores.local import LocalStore
from tests.emulators.base import serve_in_thread
from tests.service.conftest import SECRET, FakeClock, envelope

SID = "0123456789abcdef0123456789abcdef"
CNAME = "room_1"
START = datetime(2026, 3, 14, 9, 30, tzinfo=UTC)


class Recorder:
    """A Notifier stand-in that keeps the messages."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> bool:
        self.messages.append(dict(message))
        return True


@pytest.fixture
def bucket(tmp_path: Path) -> LocalStore:
    (tmp_path / "bucket").mkdir()
    return LocalStore(tmp_path / "bucket")


@pytest.fixture
def whole(tmp_path: Path) -> LocalStore:
    """The complete recording, from which tests deliver objects into `bucket` (some of them late)."""
    (tmp_path / "whole").mkdir()
    store = LocalStore(tmp_path / "whole")
    write_recording(store, "rec/", RecordingKey(SID, CNAME), START, slices=4)
    return store


def deliver(whole: LocalStore, bucket: LocalStore, keep: Any = lambda key: True) -> list[str]:
    keys = [o.key for o in whole.list() if keep(o.key)]
    for key in keys:
        bucket.write(key, whole.read(key))
    return keys


def slices(store: LocalStore) -> list[str]:
    return sorted(o.key for o in store.list() if o.key.endswith(".ts"))


def make(repo: Repo, bucket: LocalStore, **rules: Any) -> tuple[JobRunner, EventIntake, Recorder]:
    settings = Rules(store=str(bucket.root) if hasattr(bucket, "root") else bucket.url, prefix="rec/",
                     backoff_initial_s=60, backoff_max_s=600, deadline_s=3600, exit_grace_s=30, **rules)
    notes = Recorder()
    runner = JobRunner(repo, settings, notifier=notes)  # type: ignore[arg-type]
    intake = EventIntake(repo, SECRET, settings)
    return runner, intake, notes


def started(repo: Repo, bucket: LocalStore, whole: LocalStore, event_type: int,
            **rules: Any) -> tuple[JobRunner, EventIntake, Recorder]:
    """The whole recording is in the bucket and `event_type` was received."""
    deliver(whole, bucket)
    runner, intake, notes = make(repo, bucket, **rules)
    receive(intake, event_type)
    return runner, intake, notes


def receive(intake: EventIntake, event_type: int, **kw: Any) -> None:
    """Store an event exactly as the endpoint does (same transaction path), without HTTP."""
    body = envelope(event_type, sid=kw.pop("sid", SID), cname=CNAME, **kw)
    intake._write([(parse_envelope(body), body, _Done())])


class _Done:
    def set_result(self, value: Any) -> None:
        self.value = value

    def set_exception(self, exc: BaseException) -> None:
        raise exc


def test_uploaded_verifies_once(repo: Repo, bucket: LocalStore, whole: LocalStore):
    runner, intake, notes = started(repo, bucket, whole, 31)
    job = runner.run_once()
    assert job is not None and job["state"] == "done" and job["result"]["status"] == "complete"
    assert runner.run_once() is None
    (check,) = repo.checks(SID)
    assert check["status"] == "complete" and check["segments"] == 4 and check["report"]["playlist"]
    (rec,) = repo.recordings()
    assert rec["state"] == "complete" and rec["sid"] == SID
    assert [m["event"] for m in notes.messages] == ["complete"]


def test_uploaded_but_incomplete_is_reported(repo: Repo, bucket: LocalStore, whole: LocalStore):
    first = slices(whole)[1]
    deliver(whole, bucket, lambda key: key != first)
    runner, intake, notes = make(repo, bucket)
    receive(intake, 31)
    job = runner.run_once()
    assert job["state"] == "done" and job["result"]["status"] == "incomplete"
    assert repo.checks(SID)[0]["missing"] == 1
    assert repo.recordings()[0]["state"] == "incomplete"
    assert notes.messages[0]["event"] == "incomplete"


def test_backuped_is_watched_until_complete_and_stable(repo: Repo, bucket: LocalStore, whole: LocalStore,
                                                       clock: FakeClock):
    late = slices(whole)[1:3]
    deliver(whole, bucket, lambda key: key not in late)
    runner, intake, notes = make(repo, bucket)
    receive(intake, 32)
    job = runner.run_once()
    assert job["state"] == "queued" and job["result"]["status"] == "incomplete" and job["step"] == 1
    assert repo.recordings()[0]["state"] == "waiting_backup"
    assert runner.run_once() is None  # not due before the backoff
    clock.advance(60)
    assert runner.run_once()["state"] == "queued"  # still incomplete: backoff grows (60 → 120)
    clock.advance(119)
    assert runner.run_once() is None
    deliver(whole, bucket, lambda key: key in late)  # Agora's backup delivers, nobody tells us
    clock.advance(1)
    job = runner.run_once()
    assert job["state"] == "queued" and job["result"]["status"] == "complete"  # complete once: not yet stable
    clock.advance(240)
    job = runner.run_once()
    assert job["state"] == "done" and job["result"]["status"] == "complete"
    assert [c["status"] for c in repo.checks(SID)] == ["incomplete", "incomplete", "complete", "complete"]
    assert repo.recordings()[0]["state"] == "complete"
    assert [m["event"] for m in notes.messages] == ["complete"]


def test_a_change_between_complete_checks_restarts_the_wait(repo: Repo, bucket: LocalStore, whole: LocalStore,
                                                             clock: FakeClock):
    runner, intake, _ = started(repo, bucket, whole, 32)
    assert runner.run_once()["state"] == "queued"
    # A re-delivered, longer playlist names one more slice (and it is there): the fingerprint changes.
    write_recording(bucket, "rec/", RecordingKey(SID, CNAME), START, slices=5)
    clock.advance(60)
    assert runner.run_once()["state"] == "queued"
    clock.advance(120)
    assert runner.run_once()["state"] == "done"


def test_backuped_never_arriving_becomes_overdue(repo: Repo, bucket: LocalStore, whole: LocalStore,
                                                 clock: FakeClock):
    late = slices(whole)[0]
    deliver(whole, bucket, lambda key: key != late)
    runner, intake, notes = make(repo, bucket)
    receive(intake, 32)
    states = []
    for _ in range(30):
        job = runner.run_once()
        if job is not None:
            states.append(job["state"])
            if job["state"] != "queued":
                break
        clock.advance(300)
    assert states[-1] == "overdue" and set(states[:-1]) == {"queued"}
    assert repo.recordings()[0]["state"] == "overdue"
    assert [m["event"] for m in notes.messages] == ["overdue"]


def test_backoff_is_bounded():
    rules = Rules(backoff_initial_s=60, backoff_max_s=3600, backoff_factor=2)
    assert [rules.backoff(n) for n in range(8)] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_session_exit_without_upload_event_verifies_after_grace(repo: Repo, bucket: LocalStore,
                                                                whole: LocalStore, clock: FakeClock):
    runner, intake, _ = started(repo, bucket, whole, 11)
    assert runner.run_once() is None
    clock.advance(30)
    job = runner.run_once()
    assert job["reason"] == "session_exit" and job["state"] == "done"
    assert job["result"]["status"] == "complete"


def test_session_exit_after_an_upload_event_is_skipped(repo: Repo, bucket: LocalStore, whole: LocalStore,
                                                       clock: FakeClock):
    runner, intake, _ = started(repo, bucket, whole, 31)
    assert runner.run_once()["state"] == "done"
    receive(intake, 11)
    clock.advance(30)
    assert runner.run_once()["state"] == "skipped"
    assert len(repo.checks(SID)) == 1


def test_backuped_after_uploaded_upgrades_the_queued_job(repo: Repo, bucket: LocalStore):
    runner, intake, _ = make(repo, bucket)
    receive(intake, 11)
    receive(intake, 31)
    receive(intake, 32)
    (job,) = repo.jobs()
    assert job["mode"] == "watch" and job["reason"] == "backuped" and job["deadline"]


def test_a_dead_workers_job_is_rerun_after_its_lease(repo: Repo, bucket: LocalStore, whole: LocalStore,
                                                     clock: FakeClock):
    runner, intake, _ = started(repo, bucket, whole, 31, lease_s=20)
    # Claimed, then the process was killed.
    dead = repo.claim("dead-process", clock(), 20, max_lease_losses=MAX_LEASE_LOSSES)
    assert dead is not None
    assert runner.run_once() is None  # the lease is still live
    clock.advance(21)
    job = runner.run_once()
    assert job["state"] == "done" and job["attempts"] == 2


def test_one_job_at_a_time_per_recording(repo: Repo, bucket: LocalStore, clock: FakeClock):
    now = clock()
    with repo.write() as tx:
        a = tx.insert_job("verify", SID, CNAME, "manual", "once", now, now)
        tx.insert_job("verify", SID, CNAME, "manual", "once", now, now)
        c = tx.insert_job("verify", "f" * 32, CNAME, "manual", "once", now, now)
    first = repo.claim("w1", now, 60, max_lease_losses=MAX_LEASE_LOSSES)
    second = repo.claim("w2", now, 60, max_lease_losses=MAX_LEASE_LOSSES)
    assert first is not None and second is not None
    assert first.id == a and second.id == c
    assert repo.claim("w3", now, 60, max_lease_losses=MAX_LEASE_LOSSES) is None


def test_store_errors_retry_then_fail(repo: Repo, tmp_path: Path, clock: FakeClock):
    runner, intake, _ = make(repo, LocalStore(tmp_path), max_attempts=2)
    runner.rules = replace(runner.rules, store="s3://")  # cannot be opened
    receive(intake, 31)
    job = runner.run_once()
    assert job["state"] == "queued" and job["error"]
    clock.advance(runner.rules.retry_initial_s)
    job = runner.run_once()
    assert job["state"] == "failed" and job["attempts"] == 2


def test_without_a_store_the_job_fails_clearly(repo: Repo, bucket: LocalStore):
    runner, intake, _ = make(repo, bucket)
    runner.rules = replace(runner.rules, store=None)
    receive(intake, 31)
    job = runner.run_once()
    assert job["state"] == "failed" and "[rules] store" in job["error"]


def test_export_rule_runs_when_complete(repo: Repo, bucket: LocalStore, whole: LocalStore, tmp_path: Path):
    from storage.service.rules import ExportRule

    deliver(whole, bucket)
    out = tmp_path / "exports"
    runner, intake, _ = make(repo, bucket, exports=(ExportRule("zip", str(out)),))
    receive(intake, 31)
    assert runner.run_once()["state"] == "done"
    job = runner.run_once()
    assert job["kind"] == "export" and job["state"] == "done", job
    (result,) = job["result"]["results"]
    assert result["status"] == "exported"
    assert list(out.glob("*.zip"))


def test_rules_from_toml_table():
    rules = Rules.from_table({"store": "prod", "prefix": "rec/{cname}/", "backoff_initial_s": 5, "workers": 3,
                              "export": [{"format": "mp4", "dest": "archive"}]})
    assert rules.store == "prod" and rules.backoff_initial_s == 5.0 and rules.workers == 3
    assert rules.prefix_for(SID, "c1") == "rec/c1/" and rules.exports[0].format == "mp4"
    for bad in ({"stroe": "x"}, {"workers": 0}, {"deadline_s": "1h"}, {"export": [{"format": "mp4"}]},
                {"export": [{"format": "mp5", "dest": "archive"}]}):
        with pytest.raises(InvalidConfig):
            Rules.from_table(bad)


def test_runner_threads_pick_up_new_work(repo: Repo, bucket: LocalStore, whole: LocalStore):
    deliver(whole, bucket)
    runner, intake, _ = make(repo, bucket, poll_s=30)
    runner.clock = __import__("time").time
    repo.db.clock = runner.clock
    intake.on_jobs = runner.wake
    runner.start()
    try:
        receive(intake, 31)
        done = threading.Event()
        for _ in range(200):
            if repo.jobs()[0]["state"] == "done":
                done.set()
                break
            threading.Event().wait(0.05)
        assert done.is_set()  # woken by the intake, long before the 30 s poll
    finally:
        runner.stop()


def test_webhook_notifier_posts_json():
    received: list[dict[str, Any]] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(500 if len(received) == 1 else 204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    base, stop = serve_in_thread(ThreadingHTTPServer(("127.0.0.1", 0), Hook))
    try:
        notifier = Notifier(f"{base}/hook?token=t", retry_delays=(0,))
        assert notifier.send({"event": "complete", "sid": SID})
        assert received == [{"event": "complete", "sid": SID}] * 2 and notifier.sent == 1
        assert "token" not in repr(notifier)
    finally:
        stop()
    assert not Notifier(None).send({"event": "complete"})

"""Two `recshelf serve` replicas on one PostgreSQL, as behind a load balancer: one is SIGKILLed mid-stream."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path

import pytest

from storage.agora.events import Notice
from storage.agora.sender import CallbackSender
from storage.service.database import open_database
from storage.service.repo import Repo
from tests.fixtures.wait import eventually
from tests.service.conftest import SECRET
from tests.service.test_serve import rules_toml
from tests.service.test_workers import ENGINE_RULES

pytestmark = pytest.mark.slow

DUPLICATE_EVERY = 10  # this share of notices also reaches the other replica (an NCS resend via the balancer)


def _send_round_robin(replicas: list, events: int) -> tuple[list[str], list[CallbackSender]]:
    """Signed notices alternately to each replica; the first replica is SIGKILLed a sixth of the way in.
    Returns the noticeIds answered 200 (twice for a duplicate both replicas answered) and the senders."""
    acked: list[str] = []
    lock = threading.Lock()

    def answered(notice: Notice) -> None:
        with lock:
            acked.append(notice.notice_id)

    # No resends: once a replica is dead its remaining notices fail at once instead of retrying.
    senders = [CallbackSender(f"{srv.url}/agora/events", SECRET, retry_delays=(), on_delivered=answered)
               for srv in replicas]
    try:
        for n in range(events):
            notice = Notice(31, "room_1", "527841", uuid.uuid4().hex, 1, {"fileList": []})
            senders[n % 2].send(notice)
            if n % DUPLICATE_EVERY == 0:
                senders[(n + 1) % 2].send(notice)
        assert eventually(lambda: senders[0].delivered >= events // 6, timeout_s=120)
        replicas[0].kill()  # mid-stream: requests are in flight at it
        assert all(sender.flush(timeout_s=300) for sender in senders)
    finally:
        for sender in senders:
            sender.close()
    assert senders[0].failed > 0 and senders[1].failed == 0  # the kill really cut the stream
    return acked, senders


def _assert_stored_once(repo: Repo, acked: list[str]) -> None:
    events = repo.events()
    stored = [e["noticeId"] for e in events]
    assert set(acked) <= set(stored)  # every 200 is stored ...
    assert len(stored) == len(set(stored))  # ... once, duplicates across replicas included
    # One verify job per stored event (each has its own sid): no duplicate queued a second job.
    assert sorted(j["sid"] for j in repo.jobs()) == sorted(e["sid"] for e in events)
    assert any(acked.count(i) == 2 for i in set(acked))  # both replicas answered some same noticeId


def test_every_event_answered_200_by_any_replica_is_stored_once(postgres_url: str, server):
    replicas = [server("--workers", "0", data=f"replica-{n}", RECSHELF_DATABASE=postgres_url).start()
                for n in range(2)]
    acked, _ = _send_round_robin(replicas, 1200)
    repo = Repo(open_database(url=postgres_url))
    try:
        _assert_stored_once(repo, acked)
    finally:
        repo.close()
    replicas[1].stop()


def test_replicas_and_workers_every_job_runs_once(postgres_url: str, server, workers, tmp_path: Path):
    """The issue's whole picture, smaller: two replicas (one killed), two workers, one PostgreSQL."""
    (tmp_path / "bucket").mkdir()
    config = rules_toml(tmp_path / "bucket", **ENGINE_RULES)  # an empty bucket: every verify ends not_found
    replicas = [server(config=config, data=f"replica-{n}", RECSHELF_DATABASE=postgres_url).start()
                for n in range(2)]
    workers(2, replicas[1])
    acked, _ = _send_round_robin(replicas, 400)
    repo = Repo(open_database(url=postgres_url))
    try:
        _assert_stored_once(repo, acked)
        total = len(repo.jobs())
        assert eventually(lambda: len(repo.jobs(states=["done"])) == total, timeout_s=300)
        checks = [c["jobId"] for c in repo.checks()]
        assert sorted(checks) == sorted(j["id"] for j in repo.jobs())  # each job recorded one run
        assert {j["attempts"] for j in repo.jobs()} == {1}
    finally:
        repo.close()
    replicas[1].stop()

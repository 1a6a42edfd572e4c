"""Two `recshelf serve` replicas on one PostgreSQL, as behind a load balancer: one is SIGKILLed mid-stream."""

from __future__ import annotations

import threading
import uuid

import pytest

from storage.agora.events import Notice
from storage.agora.sender import CallbackSender
from storage.service.database import open_database
from storage.service.repo import Repo
from tests.fixtures.wait import eventually
from tests.service.conftest import SECRET

pytestmark = pytest.mark.slow

EVENTS = 1200
DUPLICATE_EVERY = 10  # this share of notices also reaches the other replica (an NCS resend via the balancer)


def test_every_event_answered_200_by_any_replica_is_stored_once(server, postgres_url: str):
    replicas = [server("--workers", "0", data=f"replica-{n}", RECSHELF_DATABASE=postgres_url).start()
                for n in range(2)]
    acked: list[str] = []
    lock = threading.Lock()

    def answered(notice: Notice) -> None:
        with lock:
            acked.append(notice.notice_id)

    # No resends: once a replica is dead its remaining notices fail at once instead of retrying.
    senders = [CallbackSender(f"{srv.url}/agora/events", SECRET, retry_delays=(), on_delivered=answered)
               for srv in replicas]
    try:
        for n in range(EVENTS):
            notice = Notice(31, "room_1", "527841", uuid.uuid4().hex, 1, {"fileList": []})
            senders[n % 2].send(notice)
            if n % DUPLICATE_EVERY == 0:
                senders[(n + 1) % 2].send(notice)
        assert eventually(lambda: senders[0].delivered >= EVENTS // 6, timeout_s=120)
        replicas[0].kill()  # mid-stream: requests are in flight at it
        assert all(sender.flush(timeout_s=300) for sender in senders)
    finally:
        for sender in senders:
            sender.close()
    assert senders[0].failed > 0 and senders[1].failed == 0  # the kill really cut the stream

    repo = Repo(open_database(url=postgres_url))
    try:
        events = repo.events()
        stored = [e["noticeId"] for e in events]
        assert set(acked) <= set(stored)  # every 200 is stored ...
        assert len(stored) == len(set(stored))  # ... once, duplicates across replicas included
        # One verify job per stored event (each has its own sid): no duplicate queued a second job.
        assert sorted(j["sid"] for j in repo.jobs()) == sorted(e["sid"] for e in events)
        duplicates = sum(1 for i in set(acked) if acked.count(i) == 2)
        assert duplicates > 0  # both replicas answered some same noticeId, and it is one row
    finally:
        repo.close()
    replicas[1].stop()

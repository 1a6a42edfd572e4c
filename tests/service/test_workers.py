"""`recshelf worker` (procrastinate on the shared PostgreSQL): events queue jobs in their own transaction,
backuped recordings are re-verified on a schedule, and a worker SIGKILLed mid-job leaves it to another."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.service.database import open_database
from storage.service.repo import Repo
from storage.stores.local import LocalStore
from tests.fixtures.wait import eventually
from tests.service.conftest import Worker, envelope, signed
from tests.service.test_jobs import CNAME, SID, START
from tests.service.test_serve import cli, rules_toml

pytestmark = pytest.mark.slow
psycopg = pytest.importorskip("psycopg", reason="psycopg is not installed: pip install 'recshelf[postgres]'")
pytest.importorskip("procrastinate", reason="procrastinate is not installed: pip install 'recshelf[postgres]'")

ENGINE_RULES = {"stalled_after_s": 2, "sweep_every_s": 1, "workers": 1}  # rules_toml: lease_s = 2


def _post(srv, body: bytes) -> None:
    assert httpx.post(srv.url + "/agora/events", content=body, headers=signed(body), timeout=30).status_code == 200


def _repo(url: str) -> Repo:
    return Repo(open_database(url=url))


def _engine_jobs(url: str) -> list[tuple[str, str]]:
    with psycopg.connect(url) as conn:
        return [(r[0], r[1]) for r in conn.execute("SELECT task_name, status FROM procrastinate_jobs ORDER BY id")]


def test_an_event_and_its_job_commit_together_and_a_backuped_recording_is_rechecked(
        postgres_url: str, server, workers, tmp_path: Path):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    (tmp_path / "whole").mkdir()
    whole = LocalStore(tmp_path / "whole")
    write_recording(whole, "rec/", RecordingKey(SID, CNAME), START, slices=4)
    late = sorted(o.key for o in whole.list() if o.key.endswith(".ts"))[2]
    store = LocalStore(bucket)
    for obj in whole.list():
        if obj.key != late:
            store.write(obj.key, whole.read(obj.key))
    srv = server("--workers", "0", config=rules_toml(bucket, **ENGINE_RULES), RECSHELF_DATABASE=postgres_url).start()
    _post(srv, envelope(32, sid=SID, cname=CNAME))  # backuped: watch until whole
    # Acknowledged with no worker running: the event, its job row and procrastinate's run are all stored.
    repo = _repo(postgres_url)
    assert [j["mode"] for j in repo.jobs(SID)] == ["watch"]
    assert _engine_jobs(postgres_url) == [("recshelf.run", "todo")]
    workers(1, srv)
    assert eventually(lambda: any(c["status"] == "incomplete" for c in repo.checks(SID)), timeout_s=60)
    store.write(late, whole.read(late))  # Agora's backup delivers the slice
    assert eventually(lambda: {r["sid"]: r["state"] for r in repo.recordings()}.get(SID) == "complete",
                      timeout_s=90)
    (watch,) = repo.jobs(SID)
    assert watch["state"] == "done" and watch["step"] >= 2  # re-verified on its backoff schedule
    assert [c["status"] for c in repo.checks(SID)][-2:] == ["complete", "complete"]
    # The CLI on any machine reads the same database.
    listed = cli("jobs", "--sid", SID, "--json", env=srv.env)
    assert listed.returncode == 0 and [j["state"] for j in json.loads(listed.stdout)] == ["done"]
    repo.close()


def test_a_worker_killed_mid_job_leaves_it_to_another_and_every_job_runs_once(
        postgres_url: str, server, workers, tmp_path: Path):
    (tmp_path / "bucket").mkdir()
    bucket = LocalStore(tmp_path / "bucket")
    sids = [f"{n:032x}" for n in range(1, 25)]
    for sid in sids:
        write_recording(bucket, "rec/", RecordingKey(sid, CNAME), START, slices=6)
    out = tmp_path / "out"
    out.mkdir()
    config = rules_toml(tmp_path / "bucket", **ENGINE_RULES)
    config += f'\n[[rules.export]]\nformat = "mp4"\ndest = {json.dumps(str(out))}\n'
    srv = server("--workers", "0", config=config, RECSHELF_DATABASE=postgres_url).start()
    for sid in sids:
        _post(srv, envelope(31, sid=sid, cname=CNAME))
    victim_worker, _ = workers(2, srv)
    repo = _repo(postgres_url)

    def running_at(worker: Worker) -> list[int]:
        return [j["id"] for j in repo.jobs(states=["running"]) if _owner_pid(repo, j["id"]) == worker.pid]

    victims: list[int] = []
    for _ in range(3):  # a job may end between seeing it run and the kill: then kill a fresh worker mid-job
        assert eventually(lambda w=victim_worker: running_at(w), timeout_s=120, every_s=0.01)
        victim_worker.kill()
        victims = running_at(victim_worker)  # still marked running by the dead worker: it died mid-job
        if victims or len(repo.jobs(states=["done"])) >= 2 * len(sids):
            break
        (victim_worker,) = workers(1, srv)
    assert victims
    assert eventually(lambda: len(repo.jobs(states=["done"])) == 2 * len(sids), timeout_s=180)
    jobs = repo.jobs()
    assert len(jobs) == 2 * len(sids)  # one verify and one export per recording, nothing queued twice
    assert {j["state"] for j in jobs} == {"done"}
    for victim in victims:
        assert repo.job(victim).attempts == 2  # type: ignore[union-attr]  # its run, and the one that finished
    # Each verify recorded exactly one check, each export exactly one file.
    assert sorted(c["sid"] for c in repo.checks()) == sorted(sids)
    assert len(list(out.rglob("*.mp4"))) == len(sids)
    repo.close()


def _owner_pid(repo: Repo, job_id: int) -> int | None:
    job = repo.job(job_id)
    owner = job.lease_owner if job is not None else None
    return int(owner.split(":")[1]) if owner else None

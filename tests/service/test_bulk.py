"""Bulk jobs: `export|verify --all --queue` run by `recshelf worker`s on PostgreSQL (one SIGKILLed mid-batch)
and by `recshelf serve`'s embedded queue on SQLite; `recshelf jobs --json` / `--bulk` show the progress."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.service.database import open_database
from storage.service.repo import Repo
from storage.stores.local import LocalStore
from tests.fixtures.wait import eventually
from tests.service.conftest import ROOT
from tests.service.test_jobs import CNAME, START
from tests.service.test_serve import cli, rules_toml

pytestmark = pytest.mark.slow

ENGINE_RULES = {"stalled_after_s": 2, "sweep_every_s": 1, "workers": 1}


def _bucket(tmp_path: Path, count: int, slices: int) -> Path:
    folder = tmp_path / "bucket"
    folder.mkdir()
    store = LocalStore(folder)
    for n in range(1, count + 1):
        write_recording(store, "rec/", RecordingKey(f"{n:032x}", CNAME), START, slices=slices)
    return folder


def _progress(bulk_id: int, env: dict[str, str], *data: str) -> dict:
    shown = cli("jobs", str(bulk_id), "--json", *data, env=env)
    assert shown.returncode == 0, shown.stderr
    return json.loads(shown.stdout)


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*.ts"))}


def test_sqlite_serve_runs_a_queued_verify_of_every_recording(server, tmp_path: Path):
    bucket = _bucket(tmp_path, 12, slices=2)
    srv = server("--workers", "2", config=rules_toml(bucket)).start()
    queued = cli("verify", str(bucket), "--prefix", "rec/", "--all", "--queue", "--batch", "5", "--json",
                 "--data", str(srv.data), env=srv.env)
    assert queued.returncode == 0, queued.stderr
    head = json.loads(queued.stdout)
    assert (head["total"], head["batches"]) == (12, 3)
    data = ("--data", str(srv.data))
    watch = subprocess.Popen([sys.executable, "-m", "storage.cli", "jobs", "--watch", *data], env=srv.env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert eventually(lambda: _progress(head["bulk"], srv.env, *data)["state"] == "done", timeout_s=120)
    shown, errors = watch.communicate(timeout=60)  # the live view ends by itself once the job is done
    assert watch.returncode == 0, errors
    assert f"bulk job {head['bulk']}" in shown and "complete 12" in shown
    done = _progress(head["bulk"], srv.env, *data)
    assert (done["done"], done["failed"], done["running"], done["queued"]) == (12, 0, 0, 0)
    assert done["statuses"] == {"complete": 12} and done["eta_s"] == 0.0
    listed = cli("jobs", "--bulk", "--json", *data, env=srv.env)
    assert [b["id"] for b in json.loads(listed.stdout)] == [head["bulk"]]
    repo = Repo(open_database(srv.data))
    assert {j["state"] for j in repo.jobs() if j["kind"] == "bulk"} == {"done"}
    repo.close()


def test_two_workers_export_30_recordings_in_batches_of_7_and_survive_a_sigkill(
        postgres_url: str, server, workers, tmp_path: Path):
    pytest.importorskip("procrastinate", reason="procrastinate is not installed: pip install 'recshelf[postgres]'")
    from storage.service.repo_bulk import bulk_items
    from tests.service.test_workers import _owner_pid

    bucket = _bucket(tmp_path, 30, slices=4)
    reference, out = tmp_path / "reference", tmp_path / "out"
    srv = server(config=rules_toml(bucket, **ENGINE_RULES), RECSHELF_DATABASE=postgres_url)
    whole = cli("export", str(bucket), "--prefix", "rec/", "--all", "--format", "ts", "--to", str(reference),
                env={k: v for k, v in srv.env.items() if k != "RECSHELF_DATABASE"})
    assert whole.returncode == 0, whole.stderr
    queued = cli("export", str(bucket), "--prefix", "rec/", "--all", "--queue", "--batch", "7", "--format", "ts",
                 "--to", str(out), "--json", env=srv.env)
    assert queued.returncode == 0, queued.stderr
    head = json.loads(queued.stdout)
    assert (head["total"], head["batches"]) == (30, 5)
    repo = Repo(open_database(url=postgres_url))

    def running_batches(pid: int) -> list[int]:
        return [j["id"] for j in repo.jobs(states=["running"]) if j["kind"] == "bulk" and _owner_pid(repo, j["id"])
                == pid]

    victim, _survivor = workers(2, srv)
    assert eventually(lambda: running_batches(victim.pid), timeout_s=120, every_s=0.01)
    victim.kill()  # mid-batch: its batch stays 'running' under a lease nobody renews
    killed = running_batches(victim.pid)
    assert killed, "the victim finished its batch before the kill landed"
    assert eventually(lambda: _progress(head["bulk"], srv.env)["state"] == "done", timeout_s=180)
    done = _progress(head["bulk"], srv.env)
    assert (done["done"], done["failed"], done["total"]) == (30, 0, 30)
    assert sum(done["statuses"].values()) == 30
    items = bulk_items(repo, head["bulk"])
    assert sorted(i["item"] for i in items) == sorted({i["item"] for i in items})  # each recording once
    assert all(i["state"] == "done" for i in items)
    # Only the item under way when the worker died ran twice; every other recording was exported once.
    assert sum(i["runs"] for i in items) <= 30 + (1 if killed else 0)
    assert _files(out) == _files(reference)  # byte-identical to an uninterrupted export
    assert {j["state"] for j in repo.jobs() if j["kind"] == "bulk"} == {"done"}
    assert {i["runs"] for i in items if i["batch"] not in _batches(repo, killed)} == {1}
    watched = cli("jobs", "--watch", str(head["bulk"]), env=srv.env)  # a finished job: one table, then exit
    assert watched.returncode == 0 and "done" in watched.stdout and "30" in watched.stdout
    repo.close()


def _batches(repo: Repo, job_ids: list[int]) -> set[int]:
    return {int(repo.job(job_id).options["batch"]) for job_id in job_ids}  # type: ignore[union-attr]

"""A bulk job's batches on the job queue, in process (SQLite and PostgreSQL): finished items are skipped when a
batch runs again, a recording gone from the store is a failed item, and progress gives rate and ETA."""

from __future__ import annotations

from pathlib import Path

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.service.bulk import enqueue_bulk, progress, verify_items
from storage.service.jobs import JobRunner
from storage.service.repo import Repo
from storage.service.repo_bulk import BulkItem, bulk_items, finish_item
from storage.service.rules import Rules
from storage.stores.local import LocalStore
from tests.service.conftest import FakeClock
from tests.service.test_jobs import CNAME, START


def test_a_batch_skips_finished_items_and_progress_gives_rate_and_eta(repo: Repo, clock: FakeClock,
                                                                       tmp_path: Path):
    bucket = LocalStore(tmp_path / "bucket")
    (tmp_path / "bucket").mkdir(exist_ok=True)
    for n in range(1, 5):
        write_recording(bucket, "rec/", RecordingKey(f"{n:032x}", CNAME), START, slices=2)
    items = verify_items(find(bucket, "rec/"))
    bulk_id = enqueue_bulk(repo, "verify", {"store": str(tmp_path / "bucket"), "deep": False}, items, 2)
    assert [j["kind"] for j in repo.jobs()] == ["bulk", "bulk"]
    # The first item was finished by a worker that died afterwards; the second recording is gone meanwhile.
    finish_item(repo, bulk_id, items[0].item, True, "complete", {"earlier": True}, clock())
    for obj in list(bucket.list(f"rec/{items[1].sid}")):
        bucket.delete(obj.key)
    runner = JobRunner(repo, Rules(prefix="rec/"))
    assert runner.run_once() is not None  # batch 0
    clock.advance(10)
    half = progress(repo, bulk_id, clock())
    assert half is not None
    assert (half["state"], half["done"], half["failed"], half["queued"]) == ("running", 1, 1, 2)
    assert (half["rate_per_s"], half["eta_s"]) == (0.2, 10.0)  # 2 finished in 10 s, 2 to go
    assert runner.run_once() is not None  # batch 1
    assert runner.run_once() is None
    done = progress(repo, bulk_id, clock())
    assert done is not None and (done["state"], done["done"], done["failed"]) == ("done", 3, 1)
    assert done["statuses"] == {"complete": 3, "not_found": 1} and done["eta_s"] == 0.0
    by_item = {i["item"]: i for i in bulk_items(repo, bulk_id)}
    assert by_item[items[0].item]["result"] == {"earlier": True} and by_item[items[0].item]["runs"] == 0
    assert by_item[items[2].item]["result"]["status"] == "complete" and by_item[items[2].item]["runs"] == 1
    assert {j["state"] for j in repo.jobs()} == {"done"}


def test_a_batch_out_of_retries_ends_the_bulk_job_with_its_items_failed(repo: Repo, tmp_path: Path):
    items = [BulkItem(f"rec/{n:032x}_{CNAME}", "rec/", f"{n:032x}") for n in range(1, 4)]
    bulk_id = enqueue_bulk(repo, "verify", {"store": str(tmp_path / "unmounted")}, items, 2)
    runner = JobRunner(repo, Rules(prefix="rec/", max_attempts=1))
    while runner.run_once() is not None:
        pass
    assert {j["state"] for j in repo.jobs()} == {"failed"}  # the store's folder is not there
    ended = progress(repo, bulk_id, repo.clock())
    assert ended is not None
    assert (ended["state"], ended["done"], ended["failed"], ended["lost"], ended["running"], ended["queued"]) == \
        ("done", 0, 3, 3, 0, 0)

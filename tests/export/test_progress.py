"""The progress snapshots a CLI bar or st.progress consumes."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from storage.export import Destination, ExportOptions, Progress, run_export
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.stores.base import ObjectStore
from tests.export.conftest import SID


def test_snapshots_count_slices_and_bytes_per_recording_and_job(local_store_factory: Callable[..., ObjectStore],
                                                                recording_factory: Callable[..., list[str]],
                                                                tmp_path: Path) -> None:
    store = local_store_factory()
    recording_factory(store, "a/", RecordingKey(SID, "one"), slices=3)
    recording_factory(store, "b/", RecordingKey(SID.replace("0", "f"), "two"), slices=4)
    seen: list[Progress] = []
    results = run_export(store, find(store), Destination.for_folder(tmp_path / "out"), ExportOptions("ts"),
                         progress=seen.append)
    assert all(r.ok for r in results)
    done = [p for p in seen if p.stage == "done"]
    assert [(p.recording, p.slices_done, p.slices_total) for p in done] == [
        (f"{SID}_one", 3, 3), (f"{SID.replace('0', 'f')}_two", 4, 4)]
    assert all(p.bytes_done == p.bytes_total > 0 for p in done)
    last = seen[-1]
    assert last.recordings_done == last.recordings_total == 2
    assert last.job_bytes_done == last.job_bytes_total and last.job_fraction == 1.0
    fractions = [p.job_fraction for p in seen]
    assert fractions == sorted(fractions) and all(0.0 <= f <= 1.0 for f in fractions)


def test_copy_progress_counts_every_object(local_store_factory: Callable[..., ObjectStore],
                                           recording_factory: Callable[..., list[str]], tmp_path: Path) -> None:
    store = local_store_factory()
    keys = recording_factory(store, "a/", RecordingKey(SID, "one"), slices=3)
    seen: list[Progress] = []
    run_export(store, find(store), Destination.for_folder(tmp_path / "copy"), ExportOptions("copy"),
               progress=seen.append)
    done = seen[-1]
    assert done.stage == "done" and done.slices_done == done.slices_total == len(keys)
    assert done.bytes_done == done.bytes_total == sum(store.stat(k).size for k in keys)
    assert done.job_fraction == 1.0

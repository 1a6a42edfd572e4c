"""Incomplete recordings, bad slices, and resuming after the store dies mid-export."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from storage.export import Destination, ExportOptions, run_export
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.stores.base import ObjectStore
from tests.export.conftest import KEY, WatchedStore, export, ffprobe, needs_ffprobe, visible_files

NAME = KEY.base


@pytest.fixture
def store(local_store_factory: Callable[..., ObjectStore]) -> ObjectStore:
    return local_store_factory()


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out"


@needs_ffprobe
def test_incomplete_refused_unless_allowed_and_then_gaps_are_stated(store: ObjectStore, out: Path,
                                                                    recording_factory: Callable) -> None:
    recording_factory(store, "rec/", KEY, slices=6, faults={"missing_slice"})
    [refused] = export(store, Destination.for_folder(out), "mp4")
    assert refused.status == "failed" and "--allow-incomplete" in (refused.error or "")
    assert refused.source_status == "incomplete"
    assert visible_files(out) == []

    [result] = export(store, Destination.for_folder(out), "mp4", allow_incomplete=True)
    assert result.status == "exported", result.error
    [gap] = result.gaps
    assert gap.reason == "missing" and gap.key.startswith(f"rec/{NAME}_") and gap.duration_s == pytest.approx(1.0)
    assert gap.at_s == pytest.approx(2.0, abs=0.1)
    assert float(ffprobe(out / f"{NAME}.mp4")["format"]["duration"]) == pytest.approx(5.0, abs=1.0)


def test_empty_slice_is_a_gap_too(store: ObjectStore, out: Path, recording_factory: Callable) -> None:
    recording_factory(store, "rec/", KEY, slices=4, faults={"empty_slice"})
    [result] = export(store, Destination.for_folder(out), "ts", allow_incomplete=True)
    assert result.status == "exported"
    assert [g.reason for g in result.gaps] == ["empty"]


def test_a_slice_that_is_not_mpeg_ts_fails_naming_it(store: ObjectStore, out: Path,
                                                     recording_factory: Callable) -> None:
    recording_factory(store, "rec/", KEY, slices=6, faults={"not_ts_slice"})
    bad = find(store)[0].slices[2].key
    for fmt in ("mp4", "ts", "zip"):
        [result] = export(store, Destination.for_folder(out), fmt)
        assert result.status == "failed"
        assert bad in (result.error or "") and "not MPEG-TS" in (result.error or "")
    assert visible_files(out) == []


def test_a_slice_deleted_mid_export_fails_naming_it(store: ObjectStore, out: Path,
                                                    recording_factory: Callable) -> None:
    recording_factory(store, "rec/", KEY, slices=6)
    recordings = find(store)
    gone = recordings[0].slices[3].key
    store.delete(gone)  # after the listing: the plan still expects it
    [result] = run_export(store, recordings, Destination.for_folder(out), ExportOptions("mp4"))
    assert result.status == "failed" and gone in (result.error or "") and "missing" in (result.error or "")
    assert visible_files(out) == []


@pytest.mark.parametrize("fmt", ["mp4", "ts", "zip", "hls"])
def test_resume_after_the_store_dies_refetches_nothing_finished(store: ObjectStore, out: Path, fmt: str,
                                                                recording_factory: Callable) -> None:
    recording_factory(store, "rec/", KEY, slices=8)
    dying = WatchedStore(store, fail_after=4)
    [failed] = export(dying, Destination.for_folder(out), fmt, workers=2)
    assert failed.status == "failed" and failed.resumable and "simulated" in (failed.error or "")
    assert visible_files(out) == [] and not (out / NAME / f"{NAME}.m3u8").exists()
    fetched_before = {k for k in dying.ok_reads if k.endswith(".ts")}
    assert fetched_before

    again = WatchedStore(store)
    [result] = export(again, Destination.for_folder(out), fmt, workers=2)
    assert result.status == "exported", result.error
    refetched = set(again.slice_reads())
    assert not refetched & fetched_before  # every finished slice came from the work folder
    assert len(refetched) + len(fetched_before) == 8
    assert result.reused == len(fetched_before)
    assert not (out / ".recshelf-work").exists()

    third = WatchedStore(store)
    assert [r.status for r in export(third, Destination.for_folder(out), fmt)] == ["skipped"]
    assert not third.slice_reads()


def test_remux_overlaps_the_downloads(store: ObjectStore, out: Path, recording_factory: Callable) -> None:
    """With a small read-ahead window, the MP4 is already growing when the last slice is fetched."""
    keys = recording_factory(store, "rec/", KEY, slices=24)
    last = sorted(k for k in keys if k.endswith(".ts"))[-1]
    seen: list[int] = []

    class Peeking(WatchedStore):
        def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
            if key == last:
                seen.append(max((p.stat().st_size for p in out.glob(".*.mp4*") if p.is_file()), default=0))
            return super().read(key, start, end)

    [result] = export(Peeking(store), Destination.for_folder(out), "mp4", workers=2, window=2)
    assert result.status == "exported", result.error
    assert seen and seen[0] > 0


@pytest.mark.parametrize(("fault", "status", "exported_with_flag"), [
    ("no_endlist", "unfinished", True),
    ("no_playlist", "missing_playlist", True),  # slices in name order, still in Agora's backup
    ("hostile_uri", "invalid", False),  # never: such playlists are not trusted at all
])
def test_other_statuses(store: ObjectStore, out: Path, recording_factory: Callable, fault: str, status: str,
                        exported_with_flag: bool) -> None:
    recording_factory(store, "rec/", KEY, slices=3, faults={fault})
    [refused] = export(store, Destination.for_folder(out), "ts")
    assert refused.status == "failed" and refused.source_status == status
    [result] = export(store, Destination.for_folder(out), "ts", allow_incomplete=True)
    assert (result.status == "exported") is exported_with_flag, result.error


def test_temp_files_of_a_killed_run_are_removed(store: ObjectStore, out: Path, recording_factory: Callable) -> None:
    from storage.stores.local import TEMP_MARKER

    recording_factory(store, "rec/", KEY, slices=2)
    out.mkdir()
    stale = out / f".{NAME}.mp4{TEMP_MARKER}abc123"
    stale.write_bytes(b"half an mp4")
    [result] = export(store, Destination.for_folder(out), "mp4")
    assert result.status == "exported" and not stale.exists()


OTHER = RecordingKey("fedcba9876543210fedcba9876543210", "healthy")


def test_a_rerun_removes_the_temp_files_a_killed_hls_export_left(store: ObjectStore, out: Path,
                                                                 recording_factory: Callable) -> None:
    from storage.stores.local import TEMP_MARKER

    keys = recording_factory(store, "rec/", KEY, slices=3)
    folder = out / NAME
    folder.mkdir(parents=True)
    # What LocalStore.write leaves when the process is killed between mkstemp and rename.
    stale = [folder / f".{keys[0].removeprefix('rec/')}{TEMP_MARKER}k1ll3d",
             folder / f".{keys[-1].removeprefix('rec/')}{TEMP_MARKER}k1ll3d",
             out / ".recshelf" / f".{NAME}_.json{TEMP_MARKER}k1ll3d"]
    stale[-1].parent.mkdir()
    for path in stale:
        path.write_bytes(b"half")
    unrelated = folder / f".someone-else.ts{TEMP_MARKER}live"
    unrelated.write_bytes(b"another writer's")
    [result] = export(store, Destination.for_folder(out), "hls")
    assert result.status == "exported", result.error
    assert [p for p in stale if p.exists()] == [] and unrelated.exists()


def test_export_all_goes_on_past_an_overflowing_playlist(store: ObjectStore, out: Path,
                                                         recording_factory: Callable) -> None:
    keys = recording_factory(store, "rec/", KEY, slices=2)
    store.write(keys[-1], ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05Z\n"
                           f"#EXTINF:1e309,\n{keys[0].removeprefix('rec/')}\n#EXT-X-ENDLIST\n").encode())
    recording_factory(store, "ok/", OTHER, slices=2)
    results = {r.name: r for r in export(store, Destination.for_folder(out), "ts")}
    assert results[NAME].status == "failed" and results[NAME].source_status == "invalid"
    assert not results[NAME].resumable and f"rec/{NAME}" in (results[NAME].error or "")
    assert results[OTHER.base].status == "exported"


@pytest.mark.parametrize("stage", ["plan", "write"])
def test_export_all_isolates_an_unexpected_error(store: ObjectStore, out: Path, recording_factory: Callable,
                                                 monkeypatch: pytest.MonkeyPatch, stage: str) -> None:
    import storage.export.jobs as jobs
    import storage.export.plan as plan

    recording_factory(store, "rec/", KEY, slices=2)
    recording_factory(store, "ok/", OTHER, slices=2)
    if stage == "plan":
        real_plan = plan.plan_track

        def plan_track(source: ObjectStore, recording: Any, report: Any = None) -> Any:
            if recording.folder == "rec/":
                raise KeyError("surprise")
            return real_plan(source, recording, report)

        monkeypatch.setattr(plan, "plan_track", plan_track)
    else:
        real_writer = jobs.WRITERS["ts"]

        def writer(ctx: Any) -> Any:
            if ctx.unit.folder == "rec/":
                raise KeyError("surprise")
            return real_writer(ctx)

        monkeypatch.setitem(jobs.WRITERS, "ts", writer)
    results = {r.name: r for r in export(store, Destination.for_folder(out), "ts")}
    failed = results[NAME]
    assert failed.status == "failed" and not failed.resumable
    assert f"rec/{NAME}" in (failed.error or "") and "KeyError" in (failed.error or "")
    assert results[OTHER.base].status == "exported"


def test_a_symlinked_slice_is_missing_not_a_resumable_failure(store: ObjectStore, out: Path, tmp_path: Path,
                                                              recording_factory: Callable) -> None:
    keys = recording_factory(store, "rec/", KEY, slices=3)
    (tmp_path / "passwd").write_bytes(b"root:x:0:0::/root:/bin/sh\n")
    linked = store.root / keys[1]  # type: ignore[attr-defined]
    linked.unlink()
    linked.symlink_to(tmp_path / "passwd")
    [refused] = export(store, Destination.for_folder(out), "ts")
    assert refused.status == "failed" and not refused.resumable and refused.source_status == "incomplete"
    [result] = export(store, Destination.for_folder(out), "ts", allow_incomplete=True)
    assert result.status == "exported" and [g.key for g in result.gaps] == [keys[1]]
    assert b"root:x" not in (out / f"{NAME}.ts").read_bytes()

"""`recshelf rm` / `mv` killed with SIGKILL mid-run, then run again: the end state of an uninterrupted run.

The kill is aimed at a journal state (the plan on disk, a batch deleted, the copy proven), polled for
rather than timed, so the tests hold on a loaded machine. A run fast enough to finish before the kill
lands is tried again with more objects; a test passes only after a real interruption was proven.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from storage.stores.local import LocalStore
from tests.manage.helpers import SID, TARGET, colliding_set, listed, write_all
from tests.manage.kill import interrupted_run, journal_lines, recshelf, steps


def _store(root: Path) -> LocalStore:
    root.mkdir(parents=True)
    return LocalStore(root)


def test_rm_killed_mid_delete_then_rerun(tmp_path: Path) -> None:
    def build(folder: Path, slices: int) -> tuple[list[str], Path]:
        store = _store(folder / "src")
        target, others = colliding_set(slices)
        write_all(store, target | others)
        return recshelf("rm", str(store.root), "--sid", TARGET.sid, "--uid", "1", data=folder / "data"), \
            folder / "data"

    folder, cmd, slices = interrupted_run(tmp_path, 1500, build, lambda data: steps("delete", data) >= 1)
    store = LocalStore(folder / "src")
    target, others = colliding_set(slices)
    now = listed(store)
    assert {key: now.get(key) for key in others} == {key: len(data) for key, data in others.items()}
    assert set(now) - set(others) < set(target)  # cut mid-way: some of the target gone, not all
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)["outcome"]
    assert outcome["status"] == "done" and outcome["resumed"]
    assert listed(store) == {key: len(data) for key, data in others.items()}


def _mv_build(folder: Path, slices: int) -> tuple[list[str], Path]:
    source, archive = _store(folder / "src"), _store(folder / "archive")
    target, others = colliding_set(slices)
    write_all(source, target | others)
    cmd = recshelf("mv", str(source.root), "--sid", TARGET.sid, "--uid", "1", "--to", str(archive.root),
                    data=folder / "data")
    return cmd, folder / "data"


def _assert_mv_rerun_ends_as_uninterrupted(folder: Path, cmd: list[str], slices: int) -> None:
    source, archive = LocalStore(folder / "src"), LocalStore(folder / "archive")
    target, others = colliding_set(slices)
    now_source, now_archive = listed(source), listed(archive)
    assert {key: now_source.get(key) for key in others} == {key: len(data) for key, data in others.items()}
    for key, data in target.items():  # the source is never lost: each object is there, or copied whole
        assert now_source.get(key) == len(data) or now_archive.get(key) == len(data), key
    assert not set(now_archive) & set(others)
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    assert json.loads(done.stdout)["outcome"]["resumed"]
    assert listed(source) == {key: len(data) for key, data in others.items()}
    assert {k: v for k, v in listed(archive).items() if not k.startswith(".recshelf")} == {
        key: len(data) for key, data in target.items()}


def test_mv_killed_mid_copy_then_rerun_never_loses_the_source(tmp_path: Path) -> None:
    def copying(data: Path) -> bool:  # the plan is journaled and objects are arriving, the copy not proven
        archive = [p for p in (data.parent / "archive" / "rec").glob("*") if p.is_file()]
        return bool(journal_lines(data)) and len(archive) >= 10 and not steps("copy", data)

    folder, cmd, slices = interrupted_run(tmp_path, 500, _mv_build, copying)
    assert not steps("copy", folder / "data")
    _assert_mv_rerun_ends_as_uninterrupted(folder, cmd, slices)


def test_mv_killed_mid_delete_then_rerun(tmp_path: Path) -> None:
    folder, cmd, slices = interrupted_run(tmp_path, 1500, _mv_build, lambda data: steps("delete", data) >= 1)
    _assert_mv_rerun_ends_as_uninterrupted(folder, cmd, slices)


def test_no_terminal_and_no_yes_refuses(tmp_path: Path) -> None:
    store = _store(tmp_path / "src")
    target, _ = colliding_set()
    write_all(store, target)
    cmd = [sys.executable, "-m", "storage.cli", "rm", str(store.root), "--sid", SID[:30], "--data", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert set(listed(store)) == set(target)
    dry = subprocess.run([*cmd, "--dry-run", "--json"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and json.loads(dry.stdout)["plan"]["total_objects"] == len(target)

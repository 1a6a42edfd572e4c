"""`recshelf rm` / `mv` killed with SIGKILL mid-run, then run again: the end state of an uninterrupted run.

The kill is aimed at a journal state (the plan on disk, a batch deleted, the copy proven), polled for
rather than timed, so the tests hold on a loaded machine. A run fast enough to finish before the kill
lands is tried again with more objects; a test passes only after a real interruption was proven.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from storage.manage.journal import JOURNAL_DIR
from storage.stores.local import LocalStore
from tests.manage.helpers import SID, TARGET, colliding_set, listed, write_all

ATTEMPTS = 3  # each with twice the objects of the one before


def _recshelf(*args: str, data: Path) -> list[str]:
    return [sys.executable, "-m", "storage.cli", *args, "--yes", "--data", str(data)]


def _journal_lines(data: Path) -> list[dict[str, object]]:
    journals = sorted((data / JOURNAL_DIR).glob("*.jsonl")) if (data / JOURNAL_DIR).exists() else []
    if not journals:
        return []
    lines = []
    for text in journals[0].read_text().splitlines():
        try:
            lines.append(json.loads(text))
        except ValueError:
            break  # the line being written right now
    return lines


Ready = Callable[[Path], bool]  # given the run's data folder (beside src/ and archive/): kill now?


def _kill_when(cmd: list[str], data: Path, ready: Ready) -> bool:
    """Start `cmd`, SIGKILL it once `ready(data)`; True when it was cut before it finished."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())})
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline and not ready(data):
            time.sleep(0.002)
    finally:
        proc.kill()  # a no-op when it already exited (Popen knows; no ProcessLookupError)
        proc.wait(timeout=60)
    return not any("outcome" in line for line in _journal_lines(data))


def _steps(name: str, data: Path) -> int:
    return sum(1 for line in _journal_lines(data) if line.get("step") == name)


def _store(root: Path) -> LocalStore:
    root.mkdir(parents=True)
    return LocalStore(root)


def _interrupted_run(tmp_path: Path, slices: int, build: Callable[[Path, int], tuple[list[str], Path]],
                     ready: Ready) -> tuple[Path, list[str], int]:
    """Set up and kill runs until one is cut mid-way; (its folder, its command, its slice count)."""
    for attempt in range(ATTEMPTS):
        folder = tmp_path / f"attempt{attempt}"
        cmd, data = build(folder, slices)
        if _kill_when(cmd, data, ready):
            return folder, cmd, slices
        slices *= 2
    raise AssertionError(f"every run finished before SIGKILL landed ({ATTEMPTS} attempts)")


def test_rm_killed_mid_delete_then_rerun(tmp_path: Path) -> None:
    def build(folder: Path, slices: int) -> tuple[list[str], Path]:
        store = _store(folder / "src")
        target, others = colliding_set(slices)
        write_all(store, target | others)
        return _recshelf("rm", str(store.root), "--sid", TARGET.sid, "--uid", "1", data=folder / "data"), \
            folder / "data"

    folder, cmd, slices = _interrupted_run(tmp_path, 1500, build, lambda data: _steps("delete", data) >= 1)
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
    cmd = _recshelf("mv", str(source.root), "--sid", TARGET.sid, "--uid", "1", "--to", str(archive.root),
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
        return bool(_journal_lines(data)) and len(archive) >= 10 and not _steps("copy", data)

    folder, cmd, slices = _interrupted_run(tmp_path, 500, _mv_build, copying)
    assert not _steps("copy", folder / "data")
    _assert_mv_rerun_ends_as_uninterrupted(folder, cmd, slices)


def test_mv_killed_mid_delete_then_rerun(tmp_path: Path) -> None:
    folder, cmd, slices = _interrupted_run(tmp_path, 1500, _mv_build, lambda data: _steps("delete", data) >= 1)
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

"""`recshelf rm` / `mv` killed with SIGKILL mid-run, then run again: the end state of an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage.stores.local import LocalStore
from tests.manage.helpers import SID, TARGET, colliding_set, listed, write_all

SLICES = 1500  # two failover parts of 1,500: several delete batches, long enough to be cut


def _recshelf(*args: str, data: Path) -> list[str]:
    return [sys.executable, "-m", "storage.cli", *args, "--yes", "--data", str(data)]


def _kill_when_journaled(cmd: list[str], journal_dir: Path, lines: int = 1) -> None:
    """Start `cmd` and SIGKILL it once its journal holds `lines` lines (1: the plan; 2: a step done)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        journals = list(journal_dir.glob("*.jsonl")) if journal_dir.exists() else []
        if journals and journals[0].read_bytes().count(b"\n") >= lines:
            break
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()


def _store(tmp_path: Path, name: str) -> LocalStore:
    (tmp_path / name).mkdir()
    return LocalStore(tmp_path / name)


def test_rm_killed_then_rerun(tmp_path: Path) -> None:
    store = _store(tmp_path, "src")
    target, others = colliding_set(SLICES)
    write_all(store, target | others)
    cmd = _recshelf("rm", str(store.root), "--sid", TARGET.sid, "--uid", "1", data=tmp_path / "data")
    _kill_when_journaled(cmd, tmp_path / "data" / "journal", lines=2)
    assert set(others) <= set(listed(store))  # nothing of another recording touched
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["outcome"]["status"] == "done"
    assert listed(store) == {key: len(data) for key, data in others.items()}


def test_mv_killed_then_rerun_never_loses_the_source(tmp_path: Path) -> None:
    source, archive = _store(tmp_path, "src"), _store(tmp_path, "archive")
    target, others = colliding_set(SLICES // 3)
    write_all(source, target | others)
    cmd = _recshelf("mv", str(source.root), "--sid", TARGET.sid, "--uid", "1", "--to", str(archive.root),
                    data=tmp_path / "data")
    _kill_when_journaled(cmd, tmp_path / "data" / "journal")
    now_source, now_archive = listed(source), listed(archive)
    assert set(others) <= set(now_source)
    for key, data in target.items():  # each object is at the source, or already copied whole
        assert now_source.get(key) == len(data) or now_archive.get(key) == len(data)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr + done.stdout
    assert listed(source) == {key: len(data) for key, data in others.items()}
    assert {k: v for k, v in listed(archive).items() if not k.startswith(".recshelf")} == {
        key: len(data) for key, data in target.items()}


def test_no_terminal_and_no_yes_refuses(tmp_path: Path) -> None:
    store = _store(tmp_path, "src")
    target, _ = colliding_set()
    write_all(store, target)
    cmd = [sys.executable, "-m", "storage.cli", "rm", str(store.root), "--sid", SID[:30], "--data", str(tmp_path)]
    result = subprocess.run(cmd, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=60)
    assert result.returncode == 2 and "--yes" in result.stderr
    assert set(listed(store)) == set(target)
    dry = subprocess.run([*cmd, "--dry-run", "--json"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0 and json.loads(dry.stdout)["plan"]["total_objects"] == len(target)

"""Run a recshelf command in a child process and SIGKILL it at a journal state (polled, never timed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from storage.manage.journal import JOURNAL_DIR

ATTEMPTS = 3  # each with twice the objects of the one before


def recshelf(*args: str, data: Path) -> list[str]:
    return [sys.executable, "-m", "storage.cli", *args, "--yes", "--data", str(data)]


def journal_lines(data: Path) -> list[dict[str, object]]:
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


def child_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd()), **(extra or {})}


def kill_when(cmd: list[str], data: Path, ready: Ready, env: dict[str, str] | None = None) -> bool:
    """Start `cmd`, SIGKILL it once `ready(data)`; True when it was cut before it finished."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=child_env(env))
    deadline = time.monotonic() + 120
    try:
        while proc.poll() is None and time.monotonic() < deadline and not ready(data):
            time.sleep(0.002)
    finally:
        proc.kill()  # a no-op when it already exited (Popen knows; no ProcessLookupError)
        proc.wait(timeout=60)
    return not any("outcome" in line for line in journal_lines(data))


def steps(name: str, data: Path) -> int:
    return sum(1 for line in journal_lines(data) if line.get("step") == name)


def interrupted_run(tmp_path: Path, slices: int, build: Callable[[Path, int], tuple[list[str], Path]],
                     ready: Ready, env: dict[str, str] | None = None) -> tuple[Path, list[str], int]:
    """Set up and kill runs until one is cut mid-way; (its folder, its command, its slice count)."""
    for attempt in range(ATTEMPTS):
        folder = tmp_path / f"attempt{attempt}"
        cmd, data = build(folder, slices)
        if kill_when(cmd, data, ready, env):
            return folder, cmd, slices
        slices *= 2
    raise AssertionError(f"every run finished before SIGKILL landed ({ATTEMPTS} attempts)")

"""Helpers for export tests: sample recordings in a store, a failing store wrapper, ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from storage.export import Destination, ExportOptions, ExportResult, run_export
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.stores.base import ObjectStore, Unavailable
from tests.fixtures.media import SpyStore

SID = "0123456789abcdef0123456789abcdef"
KEY = RecordingKey(SID, "my_chan 1")

needs_ffprobe = pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")


def ffprobe(path: Path) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "format=duration,start_time:stream=codec_type,codec_name,start_time,duration",
                          "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def decode_warnings(path: Path) -> str:
    """What ffmpeg complains about while reading every packet (timestamps going backwards, corrupt data)."""
    return subprocess.run(["ffmpeg", "-v", "warning", "-nostdin", "-i", str(path), "-c", "copy", "-f", "null", "-"],
                          capture_output=True, text=True).stderr


def export(store: ObjectStore, dest: Destination, fmt: str, **options: Any) -> list[ExportResult]:
    return run_export(store, find(store), dest, ExportOptions(fmt, **options))


class WatchedStore(SpyStore):
    """A SpyStore that raises Unavailable once `fail_after` slice reads happened, and notes reads that succeeded."""

    def __init__(self, inner: ObjectStore, fail_after: int | None = None) -> None:
        super().__init__(inner)
        self.fail_after = fail_after
        self.ok_reads: set[str] = set()
        self._lock = threading.Lock()

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        with self._lock:
            failing = key.endswith(".ts") and self.fail_after is not None and len(self.slice_reads()) >= self.fail_after
        if failing:
            self.reads.append(key)
            raise Unavailable("connection reset (simulated)", url=self.url, key=key)
        data = super().read(key, start, end)
        with self._lock:
            self.ok_reads.add(key)
        return data

    def slice_reads(self) -> Counter[str]:
        return Counter(k for k in self.reads if k.endswith(".ts"))


@pytest.fixture
def folder_dest(tmp_path: Path) -> Destination:
    return Destination.for_folder(tmp_path / "out")


def visible_files(folder: Path) -> list[str]:
    """Files a user would see in an export folder (not the work folder, manifests or temp files)."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

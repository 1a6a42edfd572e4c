"""Helpers for export tests: sample recordings in a store, a failing store wrapper, ffprobe."""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import pytest

from storage.catalog import find
from storage.export import Destination, ExportOptions, ExportResult, run_export
from storage.naming import RecordingKey
from storage.stores.base import ObjectInfo, ObjectStore, Unavailable

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


class WatchedStore:
    """Delegates to a store, counting reads per key; raises Unavailable once `fail_after` slice reads happened."""

    def __init__(self, inner: ObjectStore, fail_after: int | None = None) -> None:
        self.inner = inner
        self.url = inner.url
        self.fail_after = fail_after
        self.reads: Counter[str] = Counter()
        self.ok_reads: set[str] = set()
        self._lock = threading.Lock()

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        with self._lock:
            self.reads[key] += 1
            slice_reads = sum(n for k, n in self.reads.items() if k.endswith(".ts"))
            if key.endswith(".ts") and self.fail_after is not None and slice_reads > self.fail_after:
                raise Unavailable("connection reset (simulated)", url=self.url, key=key)
        data = self.inner.read(key, start, end)
        with self._lock:
            self.ok_reads.add(key)
        return data

    def slice_reads(self) -> Counter[str]:
        return Counter({k: n for k, n in self.reads.items() if k.endswith(".ts")})

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self.inner.list(prefix)

    def stat(self, key: str) -> ObjectInfo | None:
        return self.inner.stat(key)

    def open(self, key: str) -> BinaryIO:
        return self.inner.open(key)

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        return self.inner.write(key, data, content_type)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        return self.inner.signed_url(key, expires_s)


@pytest.fixture
def folder_dest(tmp_path: Path) -> Destination:
    return Destination.for_folder(tmp_path / "out")


def visible_files(folder: Path) -> list[str]:
    """Files a user would see in an export folder (not the work folder, manifests or temp files)."""
    return sorted(p.name for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))

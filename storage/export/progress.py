"""One progress interface for every export job, for the CLI (rich bars) and the web UI (`st.progress`).

A job calls a `ProgressCallback` with an immutable `Progress` snapshot whenever a slice or object is
done (and at the start and end of each recording). A snapshot carries both the current recording's
counters and the whole job's, so a consumer needs no state of its own::

    def on_progress(p: Progress) -> None:          # Streamlit
        bar.progress(p.job_fraction, text=f"{p.recording}: {p.slices_done}/{p.slices_total} slices")

Callbacks run on worker threads as well as the caller's: keep them quick and thread-safe (both
`st.progress` and rich's `Progress.update` are). `ProgressTracker` does the bookkeeping with a lock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Literal

Stage = Literal["start", "fetch", "write", "verify", "done", "skipped", "failed"]


@dataclass(frozen=True)
class Progress:
    recording: str  # output name of the recording being worked on ("" before the first one)
    stage: Stage
    bytes_done: int = 0  # source bytes fetched (from the store or the resume cache) for this recording
    bytes_total: int = 0  # source bytes this recording needs (sizes from the listing)
    slices_done: int = 0  # slices (or objects, for copy) done for this recording
    slices_total: int = 0
    recordings_done: int = 0  # finished recordings (exported, skipped or failed) in the job
    recordings_total: int = 0
    job_bytes_done: int = 0
    job_bytes_total: int = 0  # grows as recordings are planned; final once every recording started

    @property
    def fraction(self) -> float:
        """0..1 for this recording, by bytes (slices when sizes are unknown)."""
        return _ratio(self.bytes_done, self.bytes_total, self.slices_done, self.slices_total)

    @property
    def job_fraction(self) -> float:
        """0..1 for the whole job: finished recordings plus the current one's share."""
        if self.recordings_total <= 0:
            return 0.0
        current = 0.0 if self.stage in ("done", "skipped", "failed") else self.fraction
        return min(1.0, (self.recordings_done + current) / self.recordings_total)


ProgressCallback = Callable[[Progress], None]


def _ratio(done: int, total: int, n_done: int, n_total: int) -> float:
    if total > 0:
        return min(1.0, done / total)
    if n_total > 0:
        return min(1.0, n_done / n_total)
    return 0.0


class ProgressTracker:
    """Thread-safe counters behind the snapshots; worker threads call `advance`."""

    def __init__(self, callback: ProgressCallback | None, recordings_total: int) -> None:
        self._callback = callback
        self._lock = threading.Lock()
        self._emit_lock = threading.Lock()
        self._state = Progress("", "start", recordings_total=recordings_total)

    @property
    def state(self) -> Progress:
        return self._state

    def begin(self, recording: str, slices_total: int, bytes_total: int) -> None:
        with self._lock:
            s = self._state
            self._state = replace(s, recording=recording, stage="start", bytes_done=0, bytes_total=bytes_total,
                                  slices_done=0, slices_total=slices_total,
                                  job_bytes_total=s.job_bytes_total + bytes_total)
        self._emit()

    def resize(self, slices_total: int, bytes_total: int) -> None:
        """Correct the current recording's totals once a writer knows exactly what it will move."""
        with self._lock:
            s = self._state
            self._state = replace(s, slices_total=slices_total, bytes_total=bytes_total,
                                  job_bytes_total=s.job_bytes_total - s.bytes_total + bytes_total)
        self._emit()

    def advance(self, nbytes: int, slices: int = 1, stage: Stage = "fetch") -> None:
        with self._lock:
            s = self._state
            self._state = replace(s, stage=stage, bytes_done=s.bytes_done + nbytes,
                                  slices_done=s.slices_done + slices, job_bytes_done=s.job_bytes_done + nbytes)
        self._emit()

    def stage(self, stage: Stage) -> None:
        with self._lock:
            self._state = replace(self._state, stage=stage)
        self._emit()

    def finish(self, stage: Literal["done", "skipped", "failed"]) -> None:
        with self._lock:
            s = self._state
            # A skipped or failed recording still counts its planned bytes as handled, so the job bar ends full.
            rest = max(0, s.bytes_total - s.bytes_done)
            self._state = replace(s, stage=stage, recordings_done=s.recordings_done + 1,
                                  job_bytes_done=s.job_bytes_done + rest)
        self._emit()

    def _emit(self) -> None:
        # Read and deliver under one lock so consumers never see an older snapshot after a newer one.
        if self._callback is not None:
            with self._emit_lock:
                self._callback(self._state)

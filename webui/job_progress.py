"""One progress bar for a whole job over the selected recordings (Archive…, Export…), and its final summary.

The work runs in a worker thread and only records where it is; the script thread draws the bar from
that record every fraction of a second (Streamlit calls have no session on other threads). Archive's
record is `MoveProgress`: recordings done of the total, bytes copied of the total, and what the current
recording is at (copying, then deleting its source once the copy is proven).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from webui.manage_view import human_bytes

if TYPE_CHECKING:
    from streamlit.delta_generator import DeltaGenerator

    from storage.export import Progress

T = TypeVar("T")
POLL_S = 0.2
Snapshot = Callable[[], tuple[float, str] | None]  # (0..1, the bar's text), None before there is any


def run_polled(work: Callable[[], T], bar: DeltaGenerator, snapshot: Snapshot) -> T:
    """`work()` in a worker thread while `bar` follows `snapshot()`; its result (or its exception)."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="recshelf-job") as pool:
        future = pool.submit(work)
        while not future.done():
            now = snapshot()
            if now is not None:
                bar.progress(now[0], text=now[1])
            time.sleep(POLL_S)
        return future.result()


@dataclass
class MoveProgress:
    """Where an archive of several recordings is; written by the worker, read by the script thread."""

    recordings_total: int
    bytes_total: int  # of every planned object of the job
    recordings_done: int = 0
    bytes_done: int = 0  # of the recordings finished (archived or failed)
    current: str = ""
    current_total: int = 0
    current_copied: int = 0
    stage: str = "starting"

    def start(self, name: str, total_bytes: int) -> None:
        self.current, self.current_total, self.current_copied, self.stage = name, total_bytes, 0, "copying"

    def copied(self, p: Progress) -> None:
        # The copy reports source bytes fetched; a resumed copy may count a little past the plan's objects.
        self.current_copied = min(p.job_bytes_done, self.current_total)
        self.stage = f"copying ({p.slices_done}/{p.slices_total} objects)" if p.slices_total else "copying"

    def deleting(self, done: int, total: int) -> None:
        self.current_copied = self.current_total
        self.stage = f"copy verified, deleting the source ({done}/{total} objects)"

    def finish(self) -> None:
        self.recordings_done += 1
        self.bytes_done += self.current_total
        self.current_copied = 0

    def snapshot(self) -> tuple[float, str]:
        copied = self.bytes_done + self.current_copied
        if self.bytes_total > 0:
            fraction = copied / self.bytes_total
        else:
            fraction = self.recordings_done / max(self.recordings_total, 1)
        at = min(self.recordings_done + 1, self.recordings_total)
        text = (f"Recording {at} of {self.recordings_total} · {human_bytes(copied)} of "
                f"{human_bytes(self.bytes_total)} copied · {self.current}: {self.stage}")
        return min(fraction, 1.0), text


def summary_row(rows: Sequence[dict[str, Any]], verb: str) -> dict[str, Any]:
    """The whole job in one line: '<verb> N of T recording(s), M failed: name (reason); …'."""
    failed = [row for row in rows if not row["ok"]]
    text = f"{verb} {len(rows) - len(failed)} of {len(rows)} recording(s)"
    if failed:
        reasons = "; ".join(f"{row['recording']} ({row['text']})" for row in failed[:3])
        more = f"; and {len(failed) - 3} more" if len(failed) > 3 else ""
        text += f", {len(failed)} failed: {reasons}{more}"
    return {"recording": "Whole job", "ok": not failed, "text": text}

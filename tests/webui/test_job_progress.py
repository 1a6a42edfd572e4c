"""The whole-job progress of Archive… (webui/job_progress.py) on real folder stores, and its summary line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from storage.export import Progress
from storage.manage.selection import plan_move_selected
from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.stores.local import LocalStore
from tests.webui.conftest import Seeder
from webui.job_progress import MoveProgress, run_polled, summary_row
from webui.manage_view import human_bytes
from webui.transfer_dialogs import archive_all, mover

SIDS = ("aaaa456789abcdef0123456789abcdef", "bbbb456789abcdef0123456789abcdef")


class RecordedProgress(MoveProgress):
    """Keeps the bar's (fraction, text) at every report of the job, as the bar would show it then."""

    seen: list[tuple[float, str]]

    def copied(self, p: Progress) -> None:
        super().copied(p)
        self.seen.append(self.snapshot())

    def deleting(self, done: int, total: int) -> None:
        super().deleting(done, total)
        self.seen.append(self.snapshot())


def test_one_bar_follows_the_whole_archive(tmp_path: Path, seeder: Seeder) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "archive").mkdir()
    store, archive = LocalStore(tmp_path / "src"), LocalStore(tmp_path / "archive")
    for sid in SIDS:
        seeder(store, key=RecordingKey(sid, f"room {sid[:4]}"))
    plans = plan_move_selected(store, archive, list(find(store)))
    total = sum(plan.total_bytes for plan in plans)
    progress = RecordedProgress(len(plans), total)
    progress.seen = []
    drawn: list[tuple[float, str]] = []

    class Bar:
        def progress(self, value: float, text: str) -> None:
            drawn.append((value, text))

    bar: Any = Bar()
    move = mover(store, archive, tmp_path / "data", progress)
    rows = run_polled(lambda: archive_all([(plan, move) for plan in plans], archive.url, progress), bar,
                      progress.snapshot)
    assert [row["ok"] for row in rows] == [True, True] and not list(store.list())
    fractions = [fraction for fraction, _ in progress.seen]
    assert fractions == sorted(fractions) and fractions[0] <= 0.5 and fractions[-1] == 1.0
    texts = [text for _, text in progress.seen]
    first, second = (f"Recording {n} of 2" for n in (1, 2))
    assert any(t.startswith(first) and "room aaaa: copying" in t for t in texts)
    assert any(t.startswith(second) and "room bbbb: copy verified, deleting the source" in t for t in texts)
    assert f" · {human_bytes(total)} of {human_bytes(total)} copied · " in texts[-1]
    assert progress.snapshot()[0] == 1.0 and progress.recordings_done == 2
    assert all(0.0 <= value <= 1.0 for value, _ in drawn)  # what the script thread drew, whenever it looked


def test_the_summary_counts_and_names_the_failures() -> None:
    rows: list[dict[str, Any]] = [{"recording": "a", "ok": True, "text": "done"},
                                  {"recording": "b", "ok": False, "text": "the copy lacks 2 object(s)"}]
    assert summary_row(rows, "Archived") == {
        "recording": "Whole job", "ok": False,
        "text": "Archived 1 of 2 recording(s), 1 failed: b (the copy lacks 2 object(s))"}
    many = [{"recording": str(n), "ok": False, "text": "x"} for n in range(5)]
    assert summary_row(many, "Exported")["text"] == \
        "Exported 0 of 5 recording(s), 5 failed: 0 (x); 1 (x); 2 (x); and 2 more"

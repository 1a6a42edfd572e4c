"""The Recordings table for thousands (AppTest): newest first, paging, sort, summary, stored results, a row per uid."""

from __future__ import annotations

import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from storage.demo.synth import Slice
from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from tests.webui.conftest import START, seed_recording, ui_environment

APP = str(Path(__file__).resolve().parents[2] / "webui" / "app.py")
COUNT = 60
UNDONE = ("verifying…", "not verified")


def _sid(n: int) -> str:
    return f"{n:032x}"


@pytest.fixture
def many(tmp_path: Path, av_slices: list[Slice], audio_slices: list[Slice], video_slices: list[Slice],
         monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """COUNT composite recordings a minute apart (n = minutes after START), one incomplete, one uid with A + V."""
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    short = av_slices[:2]
    for n in range(COUNT):
        seed_recording(store, short, folder=f"day{n % 3}/", key=RecordingKey(_sid(n), f"chan_{n:02d}"),
                       start=START + timedelta(minutes=n), missing=[1] if n == 12 else ())
    for stream, slices in (("audio", audio_slices[:2]), ("video", video_slices[:2])):
        seed_recording(store, slices, folder="ind/", key=RecordingKey("f" * 32, "lesson", "1001", stream),
                       start=START - timedelta(days=1))
    ui_environment(monkeypatch, tmp_path, store.root, "table-test-secret")
    return store


def _rows(at: AppTest) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def _status(row: dict) -> str:
    return list(row["status"])[0]


def _summary(at: AppTest) -> str:
    return next(m.value for m in at.markdown if "recordings ·" in m.value or "recording ·" in m.value)


def _verified(at: AppTest, timeout_s: float = 120) -> AppTest:
    deadline = time.monotonic() + timeout_s
    while any(_status(r) in UNDONE for r in _rows(at)):
        assert time.monotonic() < deadline, _rows(at)
        time.sleep(0.1)
        at.run()
    return at


def test_newest_first_paging_and_page_size(many):
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    rows = _rows(at)
    assert len(rows) == 50  # the default page size
    assert [r["channel"] for r in rows[:3]] == ["chan_59", "chan_58", "chan_57"]
    starts = [r["start"] for r in rows]
    assert starts == sorted(starts, reverse=True)
    # Channel, start, duration and status come first; ids are not columns of the table.
    assert list(at.dataframe[0].proto.column_order)[:5] == ["poster", "channel", "start", "duration", "status"]
    assert "sid" not in at.dataframe[0].value.columns
    at.number_input(key="t_page").set_value(2).run()
    rows = _rows(at)
    assert len(rows) == COUNT + 1 - 50 and rows[-1]["channel"] == "lesson"  # the oldest comes last
    at.selectbox(key="t_size").set_value(25).run()
    assert len(_rows(at)) == 25 and at.number_input(key="t_page").value == 1  # a new page size starts over
    at.number_input(key="t_page").set_value(3).run()
    assert [r["channel"] for r in _rows(at)][:2] == ["chan_09", "chan_08"]
    assert any("Rows 51–61 of 61" in c.value for c in at.caption)


def test_sort_orders(many):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.selectbox(key="t_sort").set_value("oldest first").run()
    assert [r["channel"] for r in _rows(at)][:2] == ["lesson", "chan_00"]
    at.selectbox(key="t_sort").set_value("channel A–Z").run()
    assert [r["channel"] for r in _rows(at)][:3] == ["chan_00", "chan_01", "chan_02"]


def test_summary_counts_statuses_and_follows_filters(many):
    at = _verified(AppTest.from_file(APP, default_timeout=60).run())
    at.selectbox(key="t_size").set_value(100).run()
    at = _verified(at)
    summary = _summary(at)
    assert summary.startswith("**61 recordings · 2 min · ") and (" KB · " in summary or " MB · " in summary)
    assert "60 complete" in summary and "1 incomplete" in summary
    at.text_input(key="f_channel").set_value("chan_0").run()
    assert _summary(at).startswith("**10 recordings") and _summary(at).endswith("of 61")
    at.text_input(key="f_channel").set_value("").run()
    at.multiselect(key="f_status").set_value(["incomplete"]).run()
    assert [r["channel"] for r in _rows(at)] == ["chan_12"]


def test_one_row_per_uid(many):
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.text_input(key="f_uid").set_value("1001").run()
    at = _verified(at)
    (row,) = _rows(at)
    assert (row["channel"], row["uid"], row["streams"]) == ("lesson", "1001", "audio + video")
    assert _status(row) == "complete" and row["duration"] == "0:02"


def test_results_are_stored_and_shown_at_once_on_the_next_load(many):
    at = _verified(AppTest.from_file(APP, default_timeout=60).run())
    first = {r["channel"]: _status(r) for r in _rows(at)}
    assert first["chan_12"] == "incomplete" and first["chan_59"] == "complete"
    # A new process: nothing in memory. Every playlist now holds garbage, yet the listing is the same
    # (same size, same mtime, so the same etag): what is shown can only come from the database.
    st.cache_resource.clear()
    saved = {}
    for playlist in Path(many.root).rglob("*.m3u8"):
        stat = playlist.stat()
        saved[playlist] = playlist.read_bytes()
        playlist.write_bytes(b"x" * stat.st_size)
        os.utime(playlist, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    again = AppTest.from_file(APP, default_timeout=60).run()
    assert {r["channel"]: _status(r) for r in _rows(again)} == first
    # The listing read again still matches: nothing is verified twice.
    next(b for b in again.sidebar.button if "Refresh" in b.label).click().run()
    assert {r["channel"]: _status(r) for r in _rows(again)} == first
    for playlist, data in saved.items():
        playlist.write_bytes(data)


def test_a_changed_recording_is_verified_again(many):
    at = _verified(AppTest.from_file(APP, default_timeout=60).run())
    assert {r["channel"]: _status(r) for r in _rows(at)}["chan_58"] == "complete"
    slice_key = next(o.key for o in many.list("day1/") if "chan_58" in o.key and o.key.endswith(".ts"))
    many.delete(slice_key)
    next(b for b in at.sidebar.button if "Refresh" in b.label).click().run()
    at = _verified(at)
    assert {r["channel"]: _status(r) for r in _rows(at)}["chan_58"] == "incomplete"

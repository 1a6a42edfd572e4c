"""The recording page's player, downloads and words (AppTest): one player per uid, live or VOD, names and sizes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from storage.agora.events import EVENT_RECORDER_STARTED, EVENT_SESSION_EXIT
from storage.media.naming import RecordingKey
from storage.service.db import Database
from storage.service.liveness import is_running
from storage.service.repo import NewEvent, Repo
from tests.webui.conftest import seed_recording
from tests.webui.test_app import OTHER_SID, _app, _open_recording, seeded  # noqa: F401 - seeded is a fixture

LIVE_SID = "1111456789abcdef0123456789abcdef"


def _event(data: Path, sid: str, event_type: int) -> None:
    db = Database(data)
    try:
        with Repo(db).write() as w:
            w.insert_event(NewEvent(f"n-{sid}-{event_type}", event_type, 3, None, sid, "live", "{}"), time.time())
    finally:
        db.close()


def _players(at) -> list[dict]:
    return [json.loads(e.proto.json_args) for e in at.main if getattr(e, "type", None) == "component_instance"]


def test_download_link_has_a_readable_name_a_size_in_words_and_no_path(seeded, monkeypatch, tmp_path):  # noqa: F811
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    at = _open_recording(_app().run(), f"rec/{OTHER_SID}_other")
    next(b for b in at.button if b.label == "Prepare download").click().run()
    (link,) = at.get("link_button")
    assert "other 2026-01-02 03-04.mp4" in link.proto.label.replace("\\", "")
    assert " KB)" in link.proto.label and "0.0 MB" not in link.proto.label
    url = link.proto.url
    assert "dl=other%202026-01-02%2003-04.mp4" in url
    assert str(tmp_path) not in url and str(tmp_path).lstrip("/") not in url


def test_unfinished_recording_plays_as_vod_and_says_so(seeded, tmp_path, monkeypatch, av_slices):  # noqa: F811
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    key = RecordingKey(LIVE_SID, "live")
    seed_recording(seeded, av_slices, key=key, endlist=False)
    at = _open_recording(_app().run(), f"rec/{LIVE_SID}_live")
    assert any("plays from the start to its last slice" in c.value for c in at.caption)
    (player,) = _players(at)
    assert "#EXT-X-ENDLIST" in player["playlist"] and not player["live"] and player["src"] is None


def test_running_recording_plays_live_and_says_so(seeded, tmp_path, monkeypatch, av_slices):  # noqa: F811
    data = tmp_path / "data"
    monkeypatch.setenv("RECSHELF_DATA", str(data))
    seed_recording(seeded, av_slices, key=RecordingKey(LIVE_SID, "live"), endlist=False)
    _event(data, LIVE_SID, EVENT_RECORDER_STARTED)
    at = _open_recording(_app().run(), f"rec/{LIVE_SID}_live")
    assert any("still running" in i.value for i in at.info)
    assert any(i.value.startswith("Recording in progress") for i in at.info) and not at.warning
    (player,) = _players(at)
    assert "#EXT-X-ENDLIST" not in player["playlist"] and player["live"]
    # A local folder's live playlist comes from the server's media route, so hls.js sees it grow.
    assert player["src"].startswith("http://127.0.0.1:9/media/") and player["src"].endswith("&play=1")
    _event(data, LIVE_SID, EVENT_SESSION_EXIT)
    db = Database(data)
    try:
        assert not is_running(Repo(db), LIVE_SID)
    finally:
        db.close()


@pytest.mark.parametrize("status_word", ["missing playlist"])
def test_status_words_never_show_codes(seeded, status_word, av_slices):  # noqa: F811
    from storage.media.naming import slice_name
    from tests.fixtures.media import SAMPLE_START

    key = RecordingKey("2222456789abcdef0123456789abcdef", "no list")
    seeded.write("rec/" + slice_name(key, SAMPLE_START), av_slices[0].data)
    at = _open_recording(_app().run(), f"rec/{key.sid}_{key.cname}")
    shown = "\n".join(str(e.proto) for e in at.main)
    assert status_word in shown and "missing_playlist" not in shown


def test_events_in_words() -> None:
    from storage.agora.events import EVENT_UPLOADING_PROGRESS
    from webui.event_words import detail_words, event_words

    assert event_words(EVENT_UPLOADING_PROGRESS) == "upload progress"
    progress = {"msgName": "uploading_progress", "progress": 10000}
    assert detail_words(EVENT_UPLOADING_PROGRESS, progress) == "100% uploaded"
    assert detail_words(1, {"errorCode": 5, "errorMsg": "x"}) == "error code: 5, error msg: x"
    assert event_words(99) == "event 99 (not documented)"


def test_sizes_ids_and_download_names_in_words() -> None:
    from datetime import UTC, datetime

    from storage.recordings.catalog import Recording
    from storage.recordings.downloads import download_name
    from webui.services import human_size, short_id

    sizes = [human_size(n) for n in (512, 39_000, 4_200_000, 1_070_000_000)]
    assert sizes == ["512 B", "39 KB", "4.2 MB", "1.07 GB"]
    long_id = "x" * 100 + "tail"
    assert short_id(long_id).endswith("…tail") and len(short_id(long_id)) < 20 and short_id("short") == "short"

    class Timed(Recording):
        @property
        def start(self) -> datetime | None:
            return datetime(2026, 3, 14, 9, 30, 5, tzinfo=UTC)

    assert download_name(Timed("a/", RecordingKey(LIVE_SID, "weekly: standup/1")), "mp4") == \
        "weekly_ standup_1 2026-03-14 09-30.mp4"
    individual = Timed("", RecordingKey(LIVE_SID, "c", "1001", "video"))
    assert download_name(individual, "ts") == "c 2026-03-14 09-30.ts"  # the uid's audio and video in one file


def test_date_picker_opens_on_the_datas_month_and_statuses_are_words(seeded):  # noqa: F811
    from datetime import date

    at = _app().run()
    picker = at.date_input(key="f_dates")
    assert picker.value == (date(2026, 1, 2), date(2026, 1, 2))  # the data's days, so its month opens
    assert len(at.dataframe[0].value) == 2  # the full range filters nothing out
    assert "missing playlist" in at.multiselect(key="f_status").options
    assert "missing_playlist" not in at.multiselect(key="f_status").options


def test_timeline_legend_names_every_state(seeded):  # noqa: F811
    from tests.webui.test_app import GAPPY_ID

    at = _open_recording(_app().run(), GAPPY_ID)
    legend = next(m.value for m in at.markdown if "&#9632;" in m.value)
    for state in ("present", "missing", "empty", "orphan", "failover part", "gap (no slice)"):
        assert state in legend

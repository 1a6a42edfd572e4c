"""Pictures in the UI (AppTest): posters in the table, the snapshot strip and Agora's MP4 on the recording page."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from tests.webui.conftest import START, ui_environment

APP = str(Path(__file__).resolve().parents[2] / "webui" / "app.py")
IND = RecordingKey("abcd456789abcdef0123456789abcdef", "class 7b", "1001", "video")
COMPOSITE = RecordingKey("0123456789abcdef0123456789abcdef", "weekly standup")


@pytest.fixture
def pictured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    write_recording(store, "class/", IND, START, slices=4, snapshots=True)
    write_recording(store, "class/", RecordingKey(IND.sid, IND.cname, IND.uid, "audio"), START, slices=4)
    write_recording(store, "standup/", COMPOSITE, START, slices=3, mp4=True)
    ui_environment(monkeypatch, tmp_path, store.root, "pictures-test-secret")
    return store


def _open(rec_id: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60).run()
    at.switch_page("views/recording.py")
    at.query_params["rec"] = rec_id
    return at.run()


def test_table_shows_posters_once_made(pictured):
    at = AppTest.from_file(APP, default_timeout=60).run()
    deadline = time.monotonic() + 120
    while not all(r["poster"].startswith("data:image/jpeg") for r in at.dataframe[0].value.to_dict("records")):
        assert time.monotonic() < deadline
        time.sleep(0.1)
        at.run()
    rows = {r["channel"]: r for r in at.dataframe[0].value.to_dict("records")}
    assert set(rows) == {"class 7b", "weekly standup"}  # the uid's audio and video: one row
    assert all(r["poster"].startswith("data:image/jpeg;base64,/9j/") for r in rows.values())
    assert rows["class 7b"]["pictures"] == 4


def test_recording_page_shows_poster_snapshots_and_plays_agora_mp4(pictured):
    at = _open(f"class/{IND.base}")
    assert not at.exception
    poster, strip = at.get("image")  # the poster, then the strip
    assert poster.captions == ["Poster: the first keyframe"] and poster.value[0].endswith(".jpg")
    assert len(strip.value) == 4 and strip.captions[0] == f"{START:%H:%M:%S}"
    assert all(url.startswith("http://127.0.0.1:9/media/") and "sig=" in url for url in strip.value)
    assert any(h.value == "Snapshots" for h in at.subheader)
    at = _open(f"standup/{COMPOSITE.base}")
    assert not at.exception
    (video,) = at.get("video")
    assert video.proto.url.startswith("http://127.0.0.1:9/media/") and ".mp4" in video.proto.url
    assert any(h.value == "MP4 files" for h in at.subheader)

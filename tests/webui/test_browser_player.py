"""The player in Chromium: one synchronised stream per uid, unfinished recordings that end.

Individual mode: hls.js plays the master playlist through ONE media element, so there is no second
element whose currentTime could be compared. Sync is proved from what hls.js buffered instead:
every fragment names its slice (so its UTC start) and hls.js reports where the fragment's own
timestamps put it on the media timeline. For audio and video to be in sync, the wall-clock time at
the playhead must be the same read from the audio fragment as from the video fragment playing
there: |utc_audio(t) − utc_video(t)| ≤ 0.1 s, checked while playing and after a seek. That sound
plays is seen in the audio track hls.js selected and in Chromium's decoded audio byte count growing.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from storage.demo.synth import make_slices
from storage.media.naming import RecordingKey, parse_name
from storage.stores.local import LocalStore
from tests.webui.conftest import seed_recording
from tests.webui.test_browser import (  # noqa: F401 - chromium and start_ui are fixtures
    ARTIFACTS,
    PLAY_TIMEOUT_S,
    STARTUP_S,
    chromium,
    start_ui,
)
from tests.webui.test_browser import _player_frame as _player

pytestmark = pytest.mark.browser

IND = "abcd456789abcdef0123456789abcdef"
START = datetime(2026, 5, 6, 7, 8, 9, 0, tzinfo=UTC)
AUDIO_LATER_S = 1.0  # the audio starts this much after the video, on the wall clock and in its timestamps
SYNC_S = 0.1

_STATE = """() => {
  const v = document.getElementById('video'); const p = window.__recshelfPlayer; const h = window.__recshelfHls;
  return {t: v.currentTime, paused: v.paused, ended: v.ended, frags: p.frags, fatal: p.fatal,
          audioTracks: h ? h.audioTracks.length : 0, audioTrack: h ? h.audioTrack : -1,
          audioBytes: v.webkitAudioDecodedByteCount, videoBytes: v.webkitVideoDecodedByteCount,
          played: v.played.length ? v.played.start(0) : null, ended_seen: p.ended};
}"""


def _recording_url(base: str, store: LocalStore, rec_id: str) -> str:
    return f"{base}/recording?store={quote(str(store.root), safe='')}&rec={quote(rec_id, safe='')}"


def _poll(frame: Any, done: Any, what: str) -> dict[str, Any]:
    deadline = time.monotonic() + PLAY_TIMEOUT_S
    state: dict[str, Any] = {}
    while time.monotonic() < deadline:
        state = frame.evaluate(_STATE)
        assert state["fatal"] is None, state["fatal"]
        if done(state):
            return state
        frame.page.wait_for_timeout(100)
    summary = {k: v for k, v in state.items() if k != "frags"}
    kinds = [(f["type"], round(f["start"], 2)) for f in state.get("frags", [])]
    pytest.fail(f"timed out waiting for {what}: {summary} frags={kinds}")


def _utc_at(frags: list[dict[str, Any]], kind: str, t: float) -> datetime | None:
    """The wall-clock time at media time `t`, read from the `kind` fragment buffered there."""
    for frag in reversed(frags):
        if frag["type"] != kind or not frag["start"] <= t < frag["start"] + frag["duration"]:
            continue
        name = parse_name(unquote(urlsplit(frag["url"]).path.rsplit("/", 1)[1]))
        assert name is not None and name.utc is not None, frag["url"]
        return name.utc + timedelta(seconds=t - frag["start"])
    return None


def _check_sync(state: dict[str, Any]) -> float:
    t = state["t"]
    audio, video = _utc_at(state["frags"], "audio", t), _utc_at(state["frags"], "main", t)
    assert audio is not None and video is not None, (t, state["frags"])
    drift = abs((audio - video).total_seconds())
    assert drift <= SYNC_S, (t, audio, video)
    return drift


def test_individual_mode_is_one_synchronised_player_with_sound(chromium, start_ui, tmp_path):  # noqa: F811
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seed_recording(store, make_slices(8, 1.0, audio=False, start_offset_s=10.0),
                   key=RecordingKey(IND, "lesson", "1001", "video"), start=START)
    seed_recording(store, make_slices(7, 1.0, video=False, start_offset_s=10.0 + AUDIO_LATER_S),
                   key=RecordingKey(IND, "lesson", "1001", "audio"), start=START + timedelta(seconds=AUDIO_LATER_S))
    url = start_ui(str(store.root))
    ARTIFACTS.mkdir(exist_ok=True)
    page = chromium.new_page(viewport={"width": 1400, "height": 1100})
    try:
        page.goto(_recording_url(url, store, f"rec/{IND}_lesson__uid_s_1001__uid_e_video"))
        page.get_by_text("play together").wait_for(timeout=STARTUP_S * 1000)
        frame = _player(page)
        assert len([f for f in page.frames if "hls_player" in f.url]) == 1, "one player for the uid"
        frame.evaluate("document.getElementById('video').play()")
        playing = _poll(frame, lambda s: s["t"] > 2.5 and s["audioBytes"] > 0, "playback with sound")
        assert playing["audioTracks"] == 1 and playing["audioTrack"] == 0
        drifts = [_check_sync(playing)]
        later = _poll(frame, lambda s: s["t"] > playing["t"] + 1.0, "more playback")
        assert later["audioBytes"] > playing["audioBytes"], "the audio keeps decoding"
        drifts.append(_check_sync(later))
        page.screenshot(path=str(ARTIFACTS / "player-individual-playing.png"))
        frame.evaluate("document.getElementById('video').currentTime = 5.2")
        sought = _poll(frame, lambda s: 5.6 < s["t"] < 7.5 and not s["paused"], "playback after the seek")
        drifts.append(_check_sync(sought))
        after = _poll(frame, lambda s: s["t"] > sought["t"] + 0.5, "playback after the seek")
        assert after["audioBytes"] > sought["audioBytes"]
        drifts.append(_check_sync(after))
        page.screenshot(path=str(ARTIFACTS / "player-individual-after-seek.png"))
        print(f"individual mode: max |utc(audio) - utc(video)| at the playhead = {max(drifts) * 1000:.0f} ms")
    finally:
        page.close()


def _play_page(page: Any, url: str, store: LocalStore, key: RecordingKey, says: str) -> Any:
    """Open `key`'s Recording page, wait for the words `says`, start the player: its frame."""
    page.goto(_recording_url(url, store, f"rec/{key.sid}_{key.cname}"))
    page.get_by_text(says).wait_for(timeout=STARTUP_S * 1000)
    frame = _player(page)
    frame.evaluate("document.getElementById('video').play()")
    return frame


def test_unfinished_recording_plays_from_zero_and_ends(chromium, start_ui, tmp_path, av_slices):  # noqa: F811
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    key = RecordingKey("0123456789abcdef0123456789abcdef", "stopped early")
    seed_recording(store, av_slices, key=key, endlist=False, start=START)
    url = start_ui(str(store.root))
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        frame = _play_page(page, url, store, key, "plays from the start to its last slice")
        ended = _poll(frame, lambda s: s["ended"], "the end of the recording")
        assert ended["played"] is not None and ended["played"] < 0.5, "it started at 0, not near a live edge"
        assert ended["t"] >= len(av_slices) - 1.0
        page.screenshot(path=str(ARTIFACTS / "player-unfinished-ended.png"))
    finally:
        page.close()


def test_download_arrives_as_an_attachment_with_its_readable_name(chromium, start_ui, tmp_path,  # noqa: F811
                                                                  av_slices):
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    key = RecordingKey("0123456789abcdef0123456789abcdef", "weekly standup")
    seed_recording(store, av_slices, key=key, start=START)
    url = start_ui(str(store.root))
    context = chromium.new_context(viewport={"width": 1400, "height": 1400}, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(_recording_url(url, store, f"rec/{key.sid}_{key.cname}"))
        page.get_by_role("button", name="Prepare download").click(timeout=STARTUP_S * 1000)
        link = page.get_by_role("link", name="Download")
        link.wait_for(timeout=STARTUP_S * 1000)
        label, href = link.inner_text(), link.get_attribute("href")
        assert "weekly standup 2026-05-06 07-08.mp4" in label and " KB)" in label, label
        assert str(tmp_path) not in href and "dl=" in href
        page.wait_for_timeout(300)  # the timeline chart paints
        page.screenshot(path=str(ARTIFACTS / "recording-download-and-legend.png"), full_page=True)
        icons = page.evaluate("[...document.querySelectorAll('link[rel~=icon]')].map(l => l.href)")
        assert icons and all(i.startswith((url, "data:")) for i in icons), icons  # nothing from the internet
        with page.expect_download(timeout=STARTUP_S * 1000) as download_info:
            # Follow the link in this tab (link buttons open a new one): the server's headers decide.
            page.evaluate("href => { const a = document.createElement('a'); a.href = href; "
                          "document.body.appendChild(a); a.click(); }", href)
        download = download_info.value
        assert download.suggested_filename == "weekly standup 2026-05-06 07-08.mp4"
        saved = tmp_path / "downloaded.mp4"
        download.save_as(saved)
        assert saved.stat().st_size > 10_000 and saved.read_bytes()[4:8] == b"ftyp"
    finally:
        context.close()


def test_running_recording_plays_live_and_grows(chromium, start_ui, tmp_path):  # noqa: F811
    from storage.agora.events import EVENT_RECORDER_STARTED
    from tests.webui.test_player_pages import _event

    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    key = RecordingKey("3333456789abcdef0123456789abcdef", "live class")
    first = make_slices(6, 1.0, start_offset_s=10.0)
    seed_recording(store, first, key=key, endlist=False, start=START)
    _event(tmp_path / "data", key.sid, EVENT_RECORDER_STARTED)  # the callbacks say it is running
    url = start_ui(str(store.root))
    page = chromium.new_page(viewport={"width": 1400, "height": 1000})
    try:
        frame = _play_page(page, url, store, key, "the player plays it live")
        _poll(frame, lambda s: s["t"] > 0.5 and not s["paused"], "live playback")
        # Agora writes more slices and rewrites the playlist: the player reloads it and plays on.
        seed_recording(store, first + make_slices(6, 1.0, start_offset_s=16.0), key=key, endlist=False, start=START)
        grown = _poll(frame, lambda s: s["t"] > 7.0, "playback past the slices that existed at first")
        assert not grown["ended"]
        page.screenshot(path=str(ARTIFACTS / "player-live.png"))
    finally:
        page.close()

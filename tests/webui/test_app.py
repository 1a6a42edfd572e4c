"""Page logic with streamlit.testing.v1.AppTest on a local store seeded with sample recordings."""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from storage.media.naming import RecordingKey
from storage.service.db import Database
from storage.service.repo_shares import ShareRepo
from storage.signing import is_share_token
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, Seeder

APP = str(Path(__file__).resolve().parents[2] / "webui" / "app.py")
SECRET = "media-secret-that-must-never-show"
PASSWORD = "ui-password-that-must-never-show"
OTHER_SID = "ffff456789abcdef0123456789abcdef"
GAPPY_ID = f"rec/{SID}_my_chan 1"


@pytest.fixture
def seeded(tmp_path: Path, seeder: Seeder, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    """A store with an incomplete recording (slice 2 missing) and a complete one on another channel."""
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store, missing=[2])
    seeder(store, key=RecordingKey(OTHER_SID, "other"))
    monkeypatch.setenv("RECSHELF_UI_STORE", str(store.root))
    monkeypatch.setenv("RECSHELF_MEDIA_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", SECRET)
    monkeypatch.setenv("RECSHELF_CONFIG", str(_empty_config(tmp_path)))
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    for name in ("RECSHELF_UI_PASSWORD", "RECSHELF_PUBLIC_URL", "RECSHELF_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    return store


def _empty_config(tmp_path: Path) -> Path:
    path = tmp_path / "recshelf.toml"
    path.write_text("")
    return path


def _app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=60)


def _rows(at: AppTest) -> list[dict]:
    return at.dataframe[0].value.to_dict("records")


def _verified(at: AppTest, timeout_s: float = 120) -> AppTest:
    """Rerun until the background verification of the visible page is shown (polls, no fixed sleep)."""
    deadline = time.monotonic() + timeout_s
    while any(list(r["status"]) in (["verifying…"], ["not verified"]) for r in _rows(at)):
        assert time.monotonic() < deadline, _rows(at)
        time.sleep(0.1)
        at.run()
    return at


def _everything(at: AppTest) -> str:
    """Every element the run produced, serialized: what a browser could ever see."""
    return "\n".join(str(e.proto) for e in at.main) + "\n".join(str(e.proto) for e in at.sidebar)


def _open_recording(at: AppTest, rec_id: str) -> AppTest:
    at.switch_page("views/recording.py")
    at.query_params["rec"] = rec_id
    return at.run()


def test_browse_lists_recordings_with_status(seeded):
    at = _verified(_app().run())
    assert not at.exception
    rows = _rows(at)
    assert {r["channel"] for r in rows} == {"my_chan 1", "other"}
    by_channel = {r["channel"]: r for r in rows}
    assert list(by_channel["my_chan 1"]["status"]) == ["incomplete"]
    assert list(by_channel["other"]["status"]) == ["complete"]
    assert by_channel["other"]["duration"] == "0:06"


def test_filters_narrow_the_table(seeded):
    at = _verified(_app().run())
    at.text_input(key="f_channel").set_value("OTH").run()
    assert [r["channel"] for r in _rows(at)] == ["other"]
    at.text_input(key="f_channel").set_value("").run()
    at.text_input(key="f_sid").set_value("0123").run()
    assert [r["channel"] for r in _rows(at)] == ["my_chan 1"]
    at.text_input(key="f_sid").set_value("").run()
    at.multiselect(key="f_status").set_value(["incomplete"]).run()
    assert [r["channel"] for r in _rows(at)] == ["my_chan 1"]
    at.multiselect(key="f_status").set_value([]).run()
    at.date_input(key="f_dates").set_value((date(2026, 1, 3), date(2026, 1, 4))).run()
    assert not at.dataframe and "No recording matches." in [w.value for w in at.warning]
    at.date_input(key="f_dates").set_value((date(2026, 1, 2), date(2026, 1, 2))).run()
    assert len(_rows(at)) == 2


def test_recording_page_plays_rewritten_playlist_with_gap(seeded):
    at = _open_recording(_app().run(), GAPPY_ID)
    assert not at.exception
    players = [e for e in at.main if getattr(e, "type", None) == "component_instance"]
    assert len(players) == 1
    args = json.loads(players[0].proto.json_args)
    playlist = args["playlist"]
    assert "#EXT-X-GAP" in playlist and "#EXT-X-VERSION:8" in playlist
    lines = playlist.splitlines()
    signed = [line for line in lines if line.startswith("http://127.0.0.1:9/media/")]
    # Five slices and the hole: its URI is recshelf's own signed URL, behind #EXT-X-GAP (never loaded).
    assert len(signed) == 6 and all("sig=" in line and "exp=" in line for line in signed)
    assert lines[lines.index("#EXT-X-GAP") + 1] in signed
    assert all(not line or line.startswith("#") or line in signed for line in lines)
    assert any("incomplete" in w.value and "skipped" in w.value for w in at.warning)
    assert any("missing" in m.value for m in at.markdown)  # the report in words
    assert [e for e in at.main if getattr(e, "type", None) == "vega_lite_chart"]  # the timeline
    assert SECRET not in _everything(at)


def test_complete_recording_has_no_warning(seeded):
    at = _open_recording(_app().run(), f"rec/{OTHER_SID}_other")
    assert not at.exception
    assert not at.warning
    assert at.success and at.success[0].value.startswith("Complete")


def test_share_link_points_at_public_url(seeded, monkeypatch, tmp_path):
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_SERVER_URL", "http://127.0.0.1:8700")
    monkeypatch.setenv("RECSHELF_PUBLIC_URL", "https://rec.example.com")
    at = _open_recording(_app().run(), GAPPY_ID)
    share = next(b for b in at.button if b.label == "Create share link")
    share.click().run()
    assert not at.exception
    (code,) = at.code
    token = code.value.removeprefix("https://rec.example.com/share/")
    assert token != code.value and is_share_token(token)  # opaque: no store, folder or sid in the link
    copy = [e for e in at.main if getattr(e, "type", None) == "component_instance"
            and json.loads(e.proto.json_args).get("text") == code.value]
    assert copy, "the copy button gets the link"
    (share_row,) = ShareRepo(Database(tmp_path / "data")).list()
    assert share_row.token == token and share_row.folder == "rec/" and share_row.allow_download
    assert SECRET not in _everything(at)


def test_shared_links_page_lists_and_revokes(seeded, monkeypatch, tmp_path):
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_SERVER_URL", "http://127.0.0.1:8700")
    at = _open_recording(_app().run(), GAPPY_ID)
    next(b for b in at.button if b.label == "Create share link").click().run()
    at.switch_page("views/shares.py").run()
    assert not at.exception
    assert at.dataframe and at.dataframe[0].value["state"].tolist() == ["active"]
    next(b for b in at.button if b.label == "Revoke this link").click().run()
    (share_row,) = ShareRepo(Database(tmp_path / "data")).list()
    assert share_row.revoked_at is not None
    assert at.dataframe[0].value["state"].tolist() == ["revoked"]


def test_password_gate_shows_nothing_before_login(seeded, monkeypatch):
    monkeypatch.setenv("RECSHELF_UI_PASSWORD", PASSWORD)
    at = _app().run()
    assert not at.dataframe and not at.sidebar.selectbox
    assert [t.label for t in at.text_input] == ["Password"]
    # Inside a form, values are sent with the submit click, not before.
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert at.error and not at.dataframe
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    assert at.dataframe and len(_rows(at)) == 2
    assert PASSWORD not in _everything(at)


def test_export_mp4_offers_a_signed_link_not_memory(seeded, monkeypatch, tmp_path):
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    monkeypatch.setenv("RECSHELF_SERVER_URL", "http://127.0.0.1:8700")
    at = _open_recording(_app().run(), f"rec/{OTHER_SID}_other")
    next(b for b in at.button if b.label == "Prepare download").click().run()
    assert not at.exception and not at.error
    (link,) = at.get("link_button")
    url = link.proto.url
    assert url.startswith("http://127.0.0.1:9/media/") and "sig=" in url and url.split("?")[0].endswith(".mp4")
    assert list((tmp_path / "data" / "exports").glob("*.mp4"))
    assert not at.get("download_button")


def test_incomplete_export_needs_consent(seeded, monkeypatch, tmp_path):
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    at = _open_recording(_app().run(), GAPPY_ID)
    prepare = next(b for b in at.button if b.label == "Prepare download")
    assert prepare.disabled
    at.checkbox(key="dl_allow").check().run()
    at.radio(key="dl_format").set_value("ts").run()
    next(b for b in at.button if b.label == "Prepare download").click().run()
    assert any("not in the file" in w.value for w in at.warning)
    assert at.get("link_button")


def test_individual_mode_plays_audio_and_video_of_one_uid(seeded, audio_slices, video_slices):
    from tests.webui.conftest import seed_recording

    ind = "abcd456789abcdef0123456789abcdef"
    for stream, slices in (("audio", audio_slices), ("video", video_slices)):
        seed_recording(seeded, slices, key=RecordingKey(ind, "ind", "1001", stream))
    at = _app().run()
    rows = [r for r in _rows(at) if r["channel"] == "ind"]
    assert [(r["uid"], r["streams"]) for r in rows] == [("1001", "audio + video")]  # one row per uid
    at = _open_recording(at, f"rec/{ind}_ind__uid_s_1001__uid_e_video")
    assert not at.exception
    players = [json.loads(e.proto.json_args) for e in at.main if getattr(e, "type", None) == "component_instance"]
    assert len(players) == 1, "one player per uid, not one per stream"
    (player,) = players
    assert player["kind"] == "video" and "__uid_e_video_" in player["playlist"]
    assert "__uid_e_audio_" in player["audio_playlist"]
    assert '#EXT-X-MEDIA:TYPE=AUDIO' in player["master"] and 'AUDIO="audio"' in player["master"]
    assert "#EXT-X-PROGRAM-DATE-TIME:" in player["playlist"] and "#EXT-X-PROGRAM-DATE-TIME:" in player["audio_playlist"]
    assert all("#EXT-X-GAP" not in player[k] for k in ("playlist", "audio_playlist"))
    assert any("play together" in c.value for c in at.caption)


def test_store_errors_are_shown_without_secrets(tmp_path, monkeypatch, s3_server_url):
    secret = "wrong-secret-key-value-123"
    config = tmp_path / "recshelf.toml"
    config.write_text(f'[profiles.bad]\nurl = "s3://no-such-bucket-here"\nendpoint = "{s3_server_url}"\n'
                      f'region = "us-east-1"\naccess_key = "AKIAWRONG"\nsecret_key = "{secret}"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    monkeypatch.setenv("RECSHELF_UI_STORE", "bad")
    monkeypatch.delenv("RECSHELF_UI_PASSWORD", raising=False)
    at = _app().run()
    assert not at.exception
    assert at.error and "no-such-bucket-here" in at.error[0].value.replace("\\", "")  # markdown-escaped
    assert secret not in _everything(at)


def test_channel_names_are_text_not_markdown(seeded, seeder):
    odd = "[x](javascript:go()) :red[y] $z$"
    seeder(seeded, key=RecordingKey("eeee456789abcdef0123456789abcdef", odd))
    at = _open_recording(_app().run(), f"rec/eeee456789abcdef0123456789abcdef_{odd}")
    assert not at.exception
    assert at.title[0].value == r"\[x\]\(javascript\:go\(\)\) \:red\[y\] \$z\$"

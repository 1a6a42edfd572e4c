"""The media route for players and downloads: playlists recshelf wrote, a uid's master, attachments."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urljoin

import httpx
import m3u8
from fastapi import FastAPI

from storage.media.naming import RecordingKey, playlist_name
from storage.recordings.downloads import attachment
from storage.recordings.master import master_key, play_url
from storage.server.media import media_router
from storage.signing import sign_media_url
from tests.fixtures.local import MEDIA_SECRET, serve_app
from tests.fixtures.media import SAMPLE_START
from tests.webui.conftest import SID, seed_recording, seeder  # noqa: F401 - seeder is a fixture
from tests.webui.test_share_routes import client, make_share, shares  # noqa: F401 - fixtures

IND = "abcd456789abcdef0123456789abcdef"
VIDEO = RecordingKey(IND, "lesson", "1001", "video")
AUDIO = RecordingKey(IND, "lesson", "1001", "audio")


def _get(url: str) -> httpx.Response:
    return httpx.get(url, timeout=30)


def test_a_signed_playlist_url_with_play_serves_the_players_playlist(local_store_factory, av_slices) -> None:
    store = local_store_factory()
    keys = seed_recording(store, av_slices, endlist=False, missing=[2])
    raw = _get(store.signed_url(keys[0]))
    assert raw.status_code == 200 and b"ENDLIST" not in raw.content  # the stored bytes, as before
    url = play_url(store.signed_url(keys[0]))
    got = _get(url)
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert got.headers["cache-control"] == "no-store"
    parsed = m3u8.loads(got.text)
    assert parsed.is_endlist and parsed.playlist_type == "vod"  # stopped, not known to run: VOD
    assert sum(1 for s in parsed.segments if s.gap_tag) == 1
    uris = [s.uri for s in parsed.segments]
    assert all(u.startswith("/media/") for u in uris)  # path-absolute: they follow the player's host
    first = _get(urljoin(url, uris[0]))
    assert first.status_code == 200 and first.content[0] == 0x47


def test_a_uids_master_playlist_is_reachable_by_a_signed_media_url(local_store_factory, audio_slices,
                                                                   video_slices) -> None:
    store = local_store_factory()
    seed_recording(store, video_slices, key=VIDEO)
    seed_recording(store, audio_slices, key=AUDIO, start=SAMPLE_START + timedelta(milliseconds=40))
    url = store.signed_url(master_key("rec/" + playlist_name(VIDEO)))
    got = _get(url)
    assert got.status_code == 200, got.text
    master = m3u8.loads(got.text)
    (variant,) = master.playlists
    (audio,) = master.media
    video_text = _get(urljoin(url, variant.uri)).text
    audio_text = _get(urljoin(url, audio.uri)).text
    assert "__uid_e_video_" in video_text and "__uid_e_audio_" in audio_text
    assert "#EXT-X-PROGRAM-DATE-TIME:" in video_text and "#EXT-X-PROGRAM-DATE-TIME:" in audio_text
    slice_uri = m3u8.loads(audio_text).segments[0].uri
    assert _get(urljoin(url, slice_uri)).status_code == 200
    # A uid without its other stream has no master; a forged signature reaches nothing.
    lone = RecordingKey(IND, "lesson", "2002", "video")
    seed_recording(store, video_slices, key=lone)
    assert _get(store.signed_url(master_key("rec/" + playlist_name(lone)))).status_code == 404
    assert _get(url.replace("sig=", "sig=0")).status_code == 403


def test_a_running_recording_is_served_live(tmp_path, av_slices) -> None:
    from storage.stores.local import LocalStore

    root = tmp_path / "store"
    root.mkdir()
    app = FastAPI()
    app.include_router(media_router(MEDIA_SECRET, [root], running=lambda sid: True))
    base, stop = serve_app(app)
    try:
        store = LocalStore(root, media_url=base, media_secret=MEDIA_SECRET)
        keys = seed_recording(store, av_slices, endlist=False)
        parsed = m3u8.loads(_get(play_url(store.signed_url(keys[0]))).text)
        assert not parsed.is_endlist and parsed.playlist_type is None
    finally:
        stop()


def test_downloads_are_attachments_under_their_signed_name(local_store_factory, media_server_url,
                                                           av_slices) -> None:
    store = local_store_factory()
    keys = seed_recording(store, av_slices)
    name = "my chan 1 2026-01-02 03-04 — ü.mp4"
    url = sign_media_url(media_server_url, MEDIA_SECRET, store.root, keys[1], 600, download=name)
    got = _get(url)
    assert got.status_code == 200
    assert got.headers["content-disposition"] == attachment(name)
    assert got.headers["content-disposition"].startswith('attachment; filename="my chan 1 2026-01-02 03-04 _ _.mp4";')
    assert "filename*=UTF-8''my%20chan%201%202026-01-02%2003-04%20%E2%80%94%20%C3%BC.mp4" in got.headers[
        "content-disposition"]
    assert _get(url.replace("dl=my", "dl=your")).status_code == 403  # the name is signed
    assert "content-disposition" not in _get(store.signed_url(keys[1])).headers
    assert root_not_in(url, store.root)


def root_not_in(url: str, root: object) -> bool:
    return str(root) not in url and str(root).lstrip("/") not in url



def test_a_master_for_a_bucket_names_the_playlists_by_the_routes_own_urls(memory_store_factory, audio_slices,
                                                                         video_slices) -> None:
    from storage.recordings.master import served_playlist

    store = memory_store_factory()
    seed_recording(store, video_slices, key=VIDEO)
    seed_recording(store, audio_slices, key=AUDIO)
    text = served_playlist(store, master_key("rec/" + playlist_name(VIDEO)),
                           playlist_url=lambda key, exp: f"/share/t/{key.rsplit('_', 1)[-1]}")
    assert text is not None
    master = m3u8.loads(text)
    assert master.playlists[0].uri == "/share/t/video.m3u8" and master.media[0].uri == "/share/t/audio.m3u8"


def test_a_shared_uid_plays_as_one_stream(client, local_store_factory, seeder, make_share) -> None:  # noqa: F811
    store = local_store_factory()
    seeder(store, key=RecordingKey(SID, "my_chan 1", "7", "video"))
    seeder(store, key=RecordingKey(SID, "my_chan 1", "7", "audio"))
    share = make_share(store, uid="7")
    base = f"/share/{share.token}/"
    master = m3u8.loads(client.get(base + "playlist.m3u8").text)
    (variant,) = master.playlists
    (audio,) = master.media
    assert (variant.uri, audio.uri) == ("playlist.m3u8?stream=video", "playlist.m3u8?stream=audio")
    assert "__uid_e_video_" in client.get(base + variant.uri).text
    audio_text = client.get(base + audio.uri).text
    assert "__uid_e_audio_" in audio_text and "#EXT-X-ENDLIST" in audio_text

"""One stream per uid and unfinished recordings: master playlists, program dates and closing as VOD."""

from __future__ import annotations

from datetime import timedelta

import m3u8
import pytest

from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.recordings.master import MIN_BANDWIDTH, bandwidth, master_playlist, uid_streams
from storage.recordings.playback import as_vod, playback_playlist, rewrite_for_playback, slice_start
from tests.fixtures.media import SAMPLE_START
from tests.test_playback import assert_only_signed, uris_in
from tests.webui.conftest import seed_recording

IND = "abcd456789abcdef0123456789abcdef"


def test_master_playlist_has_the_audio_as_the_variants_rendition() -> None:
    text = master_playlist("https://x.test/v.m3u8?sig=1", "https://x.test/a.m3u8?sig=2", bandwidth_bps=10)
    parsed = m3u8.loads(text)
    assert parsed.is_variant
    (variant,) = parsed.playlists
    assert variant.uri == "https://x.test/v.m3u8?sig=1"
    assert variant.stream_info.bandwidth == MIN_BANDWIDTH and variant.stream_info.audio == "audio"
    (media,) = parsed.media
    assert (media.type, media.group_id, media.default, media.uri) == ("AUDIO", "audio", "YES",
                                                                      "https://x.test/a.m3u8?sig=2")


@pytest.mark.parametrize("uri", ['a"b', "a\nb", "a\rb", ""])
def test_master_playlist_refuses_uris_that_would_break_out(uri: str) -> None:
    with pytest.raises(ValueError):
        master_playlist(uri, "ok", bandwidth_bps=1)
    with pytest.raises(ValueError):
        master_playlist("ok", uri, bandwidth_bps=1)


def test_uid_streams_pairs_audio_and_video_of_one_uid(local_store_factory, audio_slices, video_slices) -> None:
    store = local_store_factory()
    seed_recording(store, video_slices, key=RecordingKey(IND, "ind", "1001", "video"))
    seed_recording(store, audio_slices, key=RecordingKey(IND, "ind", "1001", "audio"),
                   start=SAMPLE_START + timedelta(seconds=1))
    seed_recording(store, audio_slices, key=RecordingKey(IND, "ind", "2002", "audio"))
    recs = find(store)
    video = next(r for r in recs if r.key.stream == "video")
    streams = uid_streams(video, recs)
    assert streams.paired and streams.audio is not None and streams.audio.key.uid == "1001"
    assert streams.start_offset_s == pytest.approx(1.0)
    lone = uid_streams(next(r for r in recs if r.key.uid == "2002"), recs)
    assert not lone.paired and lone.video is None
    assert bandwidth(streams.video, streams.audio) > MIN_BANDWIDTH


def test_every_segment_gets_its_utc_start_as_program_date() -> None:
    name = "0123456789abcdef0123456789abcdef_c__uid_s_1__uid_e_audio_20260102030405678.ts"
    text = f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0\n{name}\n#EXT-X-ENDLIST\n"
    out = rewrite_for_playback(text, lambda n: "https://s.test/" + n, dated=slice_start).text
    assert "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.678Z\n" in out
    (segment,) = m3u8.loads(out).segments
    assert segment.program_date_time is not None and segment.program_date_time.microsecond == 678000
    # A stored date is kept, not doubled.
    dated = text.replace("#EXTINF", "#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05.000Z\n#EXTINF")
    out = rewrite_for_playback(dated, lambda n: "https://s.test/" + n, dated=slice_start).text
    assert out.count("PROGRAM-DATE-TIME") == 1


def test_as_vod_closes_an_unfinished_playlist_once() -> None:
    text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:2.0,\na.ts\n"
    closed = as_vod(text)
    parsed = m3u8.loads(closed)
    assert parsed.is_endlist and parsed.playlist_type == "vod"
    assert as_vod(closed) == closed
    assert as_vod("#EXTM3U\n#EXTINF:1,\na.ts\n#EXT-X-ENDLIST\n").count("ENDLIST") == 1


def test_unfinished_recording_plays_as_vod_unless_running(local_store_factory, av_slices) -> None:
    store = local_store_factory()
    seed_recording(store, av_slices, endlist=False)
    (rec,) = find(store)
    vod, _ = playback_playlist(store, rec, 3600)
    assert m3u8.loads(vod).is_endlist and "#EXT-X-PLAYLIST-TYPE:VOD" in vod
    live, _ = playback_playlist(store, rec, 3600, live=True)
    assert not m3u8.loads(live).is_endlist and "PLAYLIST-TYPE" not in live
    assert len(uris_in(vod)) == len(av_slices)


def test_master_uris_are_only_what_recshelf_signed() -> None:
    signed = "https://signed.recshelf.test/rec/x.m3u8?sig=ok"
    assert_only_signed(master_playlist(signed, signed, bandwidth_bps=1), folder="rec/")

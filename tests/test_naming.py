"""Agora file names: examples from reference/agora.md §2.2–2.3 and round-trip properties."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.media.naming import (
    AgoraName,
    RecordingKey,
    format_utc,
    mp4_name,
    parse_name,
    parse_name_candidates,
    parse_utc,
    playlist_name,
    redelivered_playlist_name,
    slice_name,
    split_key,
)

# Characters Agora allows in a channel name (reference/agora.md §2.1) plus '_' and letters/digits.
CNAME_ALPHABET = "abcXYZ019 _!#$%&()+-:;<=.>?@[]^{}|~,"

sids = st.one_of(
    st.text("0123456789abcdef", min_size=32, max_size=32),
    st.from_regex(r"[0-9A-Za-z]{1,20}", fullmatch=True),
).filter(lambda s: not (s.startswith("bak") and s[3:].isdigit()))  # bak<n> is the failover prefix
# A channel name holding the individual-mode markers is read as individual (documented limitation).
cnames = st.text(CNAME_ALPHABET, min_size=1, max_size=24).filter(lambda c: "_uid_" not in f"_{c}_")
uids = st.from_regex(r"[0-9]{1,10}", fullmatch=True)
streams = st.sampled_from(["audio", "video", "av"])
failovers = st.none() | st.integers(0, 20)
utcs = st.datetimes(min_value=datetime(1000, 1, 1), max_value=datetime(9999, 12, 31)).map(
    lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000, tzinfo=UTC)
)
ints = st.integers(0, 10**12)


@st.composite
def keys(draw: st.DrawFn, individual: bool | None = None) -> RecordingKey:
    if individual is None:
        individual = draw(st.booleans())
    sid, cname = draw(sids), draw(cnames)
    return RecordingKey(sid, cname, draw(uids), draw(streams)) if individual else RecordingKey(sid, cname)


def case_variants(name: str) -> list[str]:
    stem, _, ext = name.rpartition(".")
    return [name, f"{stem}.{ext.upper()}"]


# --- examples from the reference ------------------------------------------------------------------


def test_redelivered_individual_playlist_from_reference():
    name = "sid713476478245_cnameagora__uid_s_123__uid_e_video_22194679897_3.m3u8"
    (only,) = parse_name_candidates(name)
    assert only.kind == "playlist" and only.ext == "m3u8"
    assert only.key == RecordingKey("sid713476478245", "cnameagora", "123", "video")
    assert (only.tick, only.index, only.failover, only.redelivered) == (22194679897, 3, None, True)
    assert only.base == only.stem == "sid713476478245_cnameagora__uid_s_123__uid_e_video"


def test_failover_playlist_from_reference():
    name = "bak0_sid713476478245_cnameagora.m3u8"
    (only,) = parse_name_candidates(name)
    assert only.key == RecordingKey("sid713476478245", "cnameagora")
    assert only.failover == 0
    assert only.stem == "bak0_sid713476478245_cnameagora"
    assert only.base == "sid713476478245_cnameagora"
    assert playlist_name(only.key, failover=0) == name


def test_third_party_av_names():
    av = parse_name("03f7acf17547cbd851d92ca515b6d069_MT_Test__uid_s_3108485562__uid_e_av.m3u8")
    assert av is not None
    assert av.key == RecordingKey("03f7acf17547cbd851d92ca515b6d069", "MT_Test", "3108485562", "av")
    mpd = parse_name("8b666674134ffc392685e183d4b4e11f_ckck__uid_s_44446__uid_e_av.mpd")
    assert mpd is not None and mpd.kind == "mpd"
    assert mpd.key == RecordingKey("8b666674134ffc392685e183d4b4e11f", "ckck", "44446", "av")


def test_audio_slice_from_playlist_sample():
    name = "sid713476478245_cnameagora__uid_s_123__uid_e_audio_20190920125142289.ts"
    (only,) = parse_name_candidates(name)
    assert only.kind == "slice"
    assert only.key.stream == "audio"
    assert only.utc == datetime(2019, 9, 20, 12, 51, 42, 289000, tzinfo=UTC)


def test_composite_names():
    sid = "03f7acf17547cbd851d92ca515b6d069"
    ts = parse_name(f"{sid}_room_20190611073246073.ts")
    assert ts is not None and ts.key == RecordingKey(sid, "room")
    assert ts.utc == datetime(2019, 6, 11, 7, 32, 46, 73000, tzinfo=UTC)
    webm = parse_name(f"bak2_{sid}_room_20190611073246073.webm")
    assert webm is not None and (webm.kind, webm.ext, webm.failover) == ("slice", "webm", 2)
    mp4 = parse_name(f"{sid}_room_0.mp4")
    assert mp4 is not None and (mp4.kind, mp4.key.cname, mp4.index) == ("mp4", "room", 0)


def test_web_example_oddity_reads_as_sid_test():
    mp4 = parse_name("test_p1627613634_www_0.mp4")
    assert mp4 is not None and mp4.key == RecordingKey("test", "p1627613634_www") and mp4.index == 0


def test_individual_mp4():
    name = "sid1_room__uid_s_42__uid_e_3.mp4"
    (only,) = parse_name_candidates(name)
    assert only.key == RecordingKey("sid1", "room", "42", None)
    assert only.index == 3
    assert only.base == "sid1_room__uid_s_42"
    assert mp4_name(only.key, 3) == name


def test_converted_mp4_without_index_is_a_later_reading():
    sid_room = parse_name_candidates("sid1_room_3.mp4")
    assert [(c.key.cname, c.index) for c in sid_room] == [("room", 3), ("room_3", None)]
    (av,) = parse_name_candidates("sid1_room__uid_s_42__uid_e_av.mp4")
    assert av.key == RecordingKey("sid1", "room", "42", "av") and av.index is None


def test_ambiguous_playlist_lists_plain_reading_first():
    readings = parse_name_candidates("sid1_a_1_2.m3u8")
    assert [(r.key.cname, r.tick, r.index) for r in readings] == [("a_1_2", None, None), ("a", 1, 2)]
    assert [r.stem for r in readings] == ["sid1_a_1_2", "sid1_a"]


def test_extensions_in_any_case():
    upper = parse_name("sid1_room.M3U8")
    assert upper is not None and upper.ext == "m3u8" and upper.name == "sid1_room.M3U8"
    ts = parse_name("sid1_room_20190611073246073.Ts")
    assert ts is not None and ts.kind == "slice" and ts.ext == "ts"


def test_special_characters_in_cname():
    cname = "a b_!#$%&()+-:;<=.>?@[]^{}|~,"
    name = slice_name(RecordingKey("sid1", cname), datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=UTC))
    (only,) = parse_name_candidates(name)
    assert only.key.cname == cname


@pytest.mark.parametrize(
    "name",
    [
        "",
        "readme.txt",
        "sid1_room.m3u",
        "sid1_room",
        "sid1.m3u8",  # no cname
        "sid1_.m3u8",  # empty cname
        "_room.m3u8",  # empty sid
        "s-d_room.m3u8",  # sid is alphanumeric
        "bak0_.m3u8",
        "bak0_room.m3u8",  # failover prefix but no cname
        "sid1_room_20191301000000000.ts",  # month 13
        "sid1_room_20190230000000000.ts",  # February 30
        "sid1_room_2019061107324607.ts",  # 16 digits
        "sid1_room.ts",  # slice without time
        "sid1_room.mpd",  # composite DASH is not Agora's
        "sid1___uid_s_1__uid_e_audio.m3u8",  # empty cname in individual mode
        "sid1_room__uid_s_1__uid_e_speech.m3u8",  # unknown stream type
        "sid1_room__uid_s_1__uid_e_audio_20191301000000000.ts",
        "sid1_room__uid_s_1__uid_e_audio.ts",
        "folder/sid1_room.m3u8",  # a key, not a name
        "sid1_room_２０１９０６１１０７３２４６０７３.ts",  # full-width digits are not Agora's
    ],
)
def test_not_agora_names(name):
    assert parse_name_candidates(name) == []
    assert parse_name(name) is None


def test_split_key():
    assert split_key("a/b/sid_c.m3u8") == ("a/b/", "sid_c.m3u8")
    assert split_key("sid_c.m3u8") == ("", "sid_c.m3u8")


def test_format_and_parse_utc():
    moment = datetime(2019, 6, 11, 7, 32, 46, 73999, tzinfo=UTC)
    assert format_utc(moment) == "20190611073246073"
    assert format_utc(moment.astimezone(timezone(timedelta(hours=8)))) == "20190611073246073"
    assert format_utc(datetime(999, 1, 2, 3, 4, 5)) == "09990102030405000"  # naive is taken as UTC
    assert parse_utc("20190611073246073") == datetime(2019, 6, 11, 7, 32, 46, 73000, tzinfo=UTC)
    for bad in ("20191301000000000", "20190611243246073", "00000101000000000", "2019061107324607x", ""):
        assert parse_utc(bad) is None


def test_builders_refuse_individual_key_without_stream():
    with pytest.raises(ValueError):
        playlist_name(RecordingKey("sid1", "room", "1"))


# --- properties -------------------------------------------------------------------------------------


def assert_reading(candidates: list[AgoraName], **expected: object) -> None:
    matching = [c for c in candidates if all(getattr(c, k) == v for k, v in expected.items())]
    assert matching, (expected, candidates)


@given(keys(), failovers)
def test_playlist_round_trip(key, failover):
    for name in case_variants(playlist_name(key, failover)):
        candidates = parse_name_candidates(name)
        assert_reading(candidates, kind="playlist", key=key, failover=failover, tick=None, index=None)
        assert candidates[0].key == key  # the unsuffixed playlist is the most literal reading
        assert all(c.name == name and c.failover == failover for c in candidates)


@given(keys(), failovers, ints, ints)
def test_redelivered_playlist_round_trip(key, failover, tick, index):
    name = redelivered_playlist_name(key, tick, index, failover)
    candidates = parse_name_candidates(name)
    assert_reading(candidates, kind="playlist", key=key, failover=failover, tick=tick, index=index)
    found = next(c for c in candidates if c.key == key)
    assert found.stem == (f"bak{failover}_" if failover is not None else "") + found.base
    assert name.startswith(found.stem + "_")
    if key.uid is not None:
        assert len(candidates) == 1  # the stream type pins the suffix down


@given(keys(), failovers, utcs, st.sampled_from(["ts", "webm", "TS", "WebM"]))
def test_slice_round_trip_is_unique(key, failover, utc, ext):
    name = slice_name(key, utc, failover, ext)
    candidates = parse_name_candidates(name)
    assert len(candidates) == 1
    (only,) = candidates
    assert (only.kind, only.key, only.failover, only.utc) == ("slice", key, failover, utc)
    assert only.ext == ext.lower()
    assert only.utc is not None and only.utc.tzinfo is not None
    assert name.startswith(only.stem + "_")


@given(keys(), failovers, st.integers(0, 10**6))
def test_mp4_round_trip(key, failover, index):
    name = mp4_name(key, index, failover)
    candidates = parse_name_candidates(name)
    expected = RecordingKey(key.sid, key.cname, key.uid) if key.uid is not None else key
    assert candidates[0].key == expected and candidates[0].index == index and candidates[0].kind == "mp4"
    assert candidates[0].failover == failover


@given(keys(individual=True), failovers)
def test_mpd_round_trip(key, failover):
    name = playlist_name(key, failover).removesuffix(".m3u8") + ".MPD"
    (only,) = parse_name_candidates(name)
    assert (only.kind, only.key, only.failover, only.ext) == ("mpd", key, failover, "mpd")


@given(st.text(max_size=60))
def test_arbitrary_text_never_crashes(text):
    for candidate in parse_name_candidates(text):
        assert candidate.key.sid and candidate.key.cname
        assert text.lower().endswith("." + candidate.ext)


@given(sids, cnames, st.integers(13, 99))
def test_impossible_month_gives_no_slice(sid, cname, month):
    assert parse_name_candidates(f"{sid}_{cname}_2019{month:02d}11073246073.ts") == []


@pytest.mark.parametrize("name", [
    "bak" + "1" * 5000 + "_abc_ch_20240101000000000.ts",
    "abc_ch_" + "1" * 5000 + "_" + "2" * 5000 + ".m3u8",
    "abc_ch_" + "9" * 5000 + ".mp4",
    "abc_ch__uid_s_1__uid_e_video_" + "1" * 5000 + "_3.m3u8",
])
def test_numbers_too_long_for_int_are_not_agora_numbers(name: str) -> None:
    # int() raises on over 4300 digits: one such name in a listing used to end the whole catalog.
    parsed = parse_name(name)
    assert parsed is None or (parsed.tick is None and parsed.index is None and parsed.failover is None)


@pytest.mark.parametrize(("key", "parts"), [("/", ("/", "")), ("/a.ts", ("/", "a.ts")), ("a/b/c.ts", ("a/b/", "c.ts")),
                                            ("c.ts", ("", "c.ts")), ("a//b", ("a//", "b"))])
def test_split_key_keeps_every_character(key: str, parts: tuple[str, str]) -> None:
    assert split_key(key) == parts  # found by tests/test_fuzz.py: "/a.ts" lost its leading slash

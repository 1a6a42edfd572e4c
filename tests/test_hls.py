"""Playlist parsing (Agora quirks, hostile input) and cheap checks; the playback rewrite is in test_playback.py."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.demo.synth import PlaylistItem, agora_playlist
from storage.media import hls

STEM = "0123456789abcdef0123456789abcdef_my_chan 1"


def _names(n: int, step_s: int = 1) -> list[tuple[str, float]]:
    return [(f"{STEM}_2026010203040{5 + i * step_s}678.ts", float(step_s)) for i in range(n)]


def _codes(issues: list[hls.Issue]) -> set[str]:
    return {i.code for i in issues}


def test_parses_agora_playlist_with_tags_and_lines() -> None:
    text = agora_playlist(_names(3), track_event="AUDIO")
    pl = hls.parse(text)
    assert pl.parsed and not pl.issues and pl.is_endlist
    assert pl.target_duration == 1 and pl.version == 3 and pl.media_sequence == 0
    assert [e.uri for e in pl.entries] == [n for n, _ in _names(3)]
    first = pl.entries[0]
    assert first.discontinuity and not pl.entries[1].discontinuity
    assert first.agora["EXT-X-AGORA-TRACK-EVENT"][0]["TRACK_TYPE"] == "AUDIO"
    assert text.splitlines()[first.line - 1] == first.uri
    assert pl.duration_s == pytest.approx(3.0)
    assert hls.check(pl) == []


def test_bom_and_crlf() -> None:
    text = "\ufeff" + agora_playlist(_names(2), newline="\r\n")
    pl = hls.parse(text.encode("utf-8"))
    assert pl.parsed and len(pl.entries) == 2 and pl.is_endlist
    assert pl.entries[0].uri.endswith(".ts")  # no stray \r


@pytest.mark.parametrize(("body", "code"), [
    (b"<html><body>403 Forbidden</body></html>", "not_m3u8"),
    (b"", "not_m3u8"),
    (b"#EXTM3U\n\xff\xfe\n", "not_m3u8"),
    (b"#EXTM3U\n#EXTINF:abc,\na.ts\n", "parse_error"),
    (b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1000\nlow.m3u8\n", "is_master"),
])
def test_unusable_bodies(body: bytes, code: str) -> None:
    pl = hls.parse(body)
    assert not pl.parsed
    assert _codes(pl.issues) == {code}
    assert not pl.entries


def test_size_cap() -> None:
    pl = hls.parse(b"#EXTM3U\n" + b"#" * 100, max_bytes=50)
    assert _codes(pl.issues) == {"playlist_too_large"}
    assert not pl.parsed and [i.code for i in pl.fatal] == ["playlist_too_large"]


@pytest.mark.parametrize("uri", ["../x.ts", "/abs.ts", "http://evil/x.ts", "a\\b.ts", "sub/x.ts",
                                 "x.ts?sig=1", "x.ts#f", "C:x.ts", "x\x01.ts", "..",
                                 "javascript:x_20260102030405678.ts",
                                 f"{STEM}_20260102030405678.ts/../../x.ts"])
def test_unsafe_uris_are_reported(uri: str) -> None:
    text = agora_playlist([("ok_20260102030405678.ts", 1.0), (uri, 1.0)])
    pl = hls.parse(text)
    unsafe = [i for i in pl.issues if i.code == "unsafe_uri"]
    assert len(unsafe) == 1 and unsafe[0].uri == uri.strip()
    assert [i.code for i in pl.fatal] == ["unsafe_uri"]


@pytest.mark.parametrize("uri", ["a b.ts", "x_%20!@$&()+-;<=>[]^{}|~,.ts", "中文.ts",
                                 f"{STEM[:33]}q&a: what? #1_20260102030405678.ts",
                                 f"{STEM[:33]}a..b_20260102030405678.ts"])  # '.' is a channel-name character
def test_channel_name_characters_are_safe(uri: str) -> None:
    assert hls.unsafe_reason(uri) is None


def test_uri_without_extinf_is_still_checked() -> None:
    pl = hls.parse("#EXTM3U\n#EXTINF:1\na.ts\n../../etc/passwd\n")
    assert {"unsafe_uri", "uri_without_extinf"} <= _codes(pl.issues)
    assert [e.uri for e in pl.entries] == ["a.ts"]


@pytest.mark.parametrize("duration", ["-1", "nan", "inf", "0"])
def test_bad_duration(duration: str) -> None:
    pl = hls.parse(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:{duration},\na.ts\n#EXT-X-ENDLIST\n")
    assert "bad_duration" in _codes(hls.check(pl))


def test_cheap_checks() -> None:
    text = ("#EXTM3U\n#EXTINF:5,\na.ts\n#EXTINF:1,\na.ts\n#EXTINF:1,\nnote.txt\n#EXT-X-ENDLIST\n"
            "#EXTINF:1,\nlate.ts\n")
    pl = hls.parse(text)
    codes = _codes(hls.check(pl))
    assert codes == {"no_target", "duplicate_uri", "not_ts", "endlist_not_last"}
    assert pl.is_endlist and len(pl.entries) == 4
    pl = hls.parse("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:3.6,\na.ts\n")
    assert _codes(hls.check(pl)) == {"target_exceeded"}
    assert _codes(hls.check(hls.parse("#EXTM3U\n#EXT-X-ENDLIST\n"))) == {"no_segments", "no_target"}


def test_time_checks_use_slice_names() -> None:
    names = [f"{STEM}_20260102030405678.ts", f"{STEM}_20260102030415678.ts", f"{STEM}_20260102030400000.ts"]
    text = agora_playlist([(n, 1.0) for n in names])
    assert _codes(hls.check(hls.parse(text))) == {"time_gap", "name_order"}
    # A gap after a discontinuity is an expected restart, not a warning.
    items = [PlaylistItem(names[0], 1.0), PlaylistItem(names[1], 1.0, discontinuity=True)]
    assert hls.check(hls.parse(agora_playlist(items))) == []


@given(st.text(max_size=300))
def test_parse_never_raises(text: str) -> None:
    pl = hls.parse("#EXTM3U\n" + text)
    for e in pl.entries:
        assert isinstance(e.uri, str)
    hls.check(pl)


_TAGS = ["#EXTINF", "#EXT-X-BYTERANGE", "#EXT-X-KEY", "#EXT-X-MAP", "#EXT-X-DISCONTINUITY", "#EXT-X-GAP",
         "#EXT-X-ENDLIST", "#EXT-X-TARGETDURATION", "#EXT-X-VERSION", "#EXT-X-PROGRAM-DATE-TIME",
         "#EXT-X-DATERANGE", "#EXT-X-STREAM-INF", "#EXT-X-AGORA-TRACK-EVENT", "#EXT-X-PART", "#EXT-X-SKIP"]
_VALUES = ["", ":", ":abc", ":1", ":-1", ":nan", ":1,", ':URI="../x"', ":1@2", ':x="', ":a=b,c", ":=,=,a="]
_LINES = st.one_of(st.builds(str.__add__, st.sampled_from(_TAGS), st.sampled_from(_VALUES)),
                   st.sampled_from(["a.ts", "../b.ts", "", "x y.ts", "http://e/x.ts"]))


@given(st.lists(_LINES, max_size=10))
def test_tag_soup_never_raises(lines: list[str]) -> None:
    text = "\n".join(["#EXTM3U", *lines])
    pl = hls.parse(text)
    hls.check(pl)
    assert all(e.safe or any(i.code == "unsafe_uri" and i.uri == e.uri for i in pl.issues) for e in pl.entries)


# -- hostile input: bounded cost, sane numbers, never raises ---------------------------------------

PDT = "#EXT-X-PROGRAM-DATE-TIME:2024-01-01T00:00:00Z\n"


@pytest.mark.parametrize(("duration", "code"), [("inf", "bad_duration"), ("1e309", "bad_duration"),
                                                 ("1e12", "absurd_duration"), ("86401", "absurd_duration")])
def test_absurd_extinf_after_a_program_date_is_reported_not_raised(duration: str, code: str) -> None:
    # m3u8 adds each EXTINF to the program date: these raised OverflowError out of parse().
    pl = hls.parse(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n{PDT}#EXTINF:{duration},\na.ts\n#EXT-X-ENDLIST\n")
    issues = pl.issues + (hls.check(pl) if pl.parsed else [])
    assert code in _codes(issues) and code in hls.FATAL_CODES


def test_huge_extinf_before_another_slice_passes_the_time_checks() -> None:
    # A slice named at year 9999 plus its EXTINF overflowed the date arithmetic of the time checks.
    first, second = f"{STEM}_99991231235959000.ts", f"{STEM}_99991231235959500.ts"
    pl = hls.parse(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:86400,\n{first}\n#EXTINF:1,\n{second}\n")
    assert pl.parsed and "name_order" not in _codes(hls.check(pl))
    pl = hls.parse(f"#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:1e12,\n{first}\n#EXTINF:1,\n{second}\n")
    assert _codes(pl.issues) == {"absurd_duration"} and not pl.parsed


@pytest.mark.parametrize("target", ["0", "-3", "1e12", "inf", "nan"])
def test_absurd_target_duration(target: str) -> None:
    pl = hls.parse(f"#EXTM3U\n#EXT-X-TARGETDURATION:{target}\n#EXTINF:1,\na.ts\n#EXT-X-ENDLIST\n")
    assert [i.code for i in pl.fatal] == ["absurd_duration"]


def test_millions_of_bare_lines_are_refused_by_counting() -> None:
    text = b"#EXTM3U\n" + b"x\n" * 2_600_000  # under the byte cap; took 15 s and 1.5 GB to parse
    started = time.perf_counter()
    pl = hls.parse(text)
    assert time.perf_counter() - started < 1.0
    assert _codes(pl.issues) == {"too_many_lines"} and not pl.entries and not pl.parsed


def test_segment_cap() -> None:
    text = "#EXTM3U\n" + "x.ts\n" * (hls.MAX_SEGMENTS + 1)
    assert _codes(hls.parse(text).issues) == {"too_many_segments"}
    assert "too_many_segments" not in _codes(hls.parse("#EXTM3U\n" + "x.ts\n" * 10).issues)


@pytest.mark.parametrize("text", ["", "a", "a\n", "a\r\nb", "a\rb\n\n", "a\x0bb\x1c\u2028c\x85", "\r\n\r\n"])
def test_line_count_matches_splitlines(text: str) -> None:
    assert hls.line_count(text) == len(text.splitlines())

"""Fuzzing hostile input: the playlist parser, verify on a real folder store, and object-name parsing.

Each property must hold for any input: never raises, bounded time per case, bounded report size.
The default budget keeps this file within ~30 s on one core; set RECSHELF_FUZZ_EXAMPLES (examples
per property, e.g. 200000) for a long run. A crash is printed by hypothesis as its shrunk input.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.media import hls
from storage.media.naming import EXTENSIONS, parse_name, split_key
from storage.recordings.catalog import find
from storage.recordings.verify import MAX_PROBLEMS_PER_CODE, STATUS_ORDER, verify
from storage.stores.local import LocalStore

EXAMPLES = int(os.environ.get("RECSHELF_FUZZ_EXAMPLES", "0"))
CASE_SECONDS = 1.0  # the cost a hostile playlist may have (DESIGN.md): far above a normal case's ms
SID = "0123456789abcdef0123456789abcdef"


def _budget(default: int) -> settings:
    return settings(max_examples=EXAMPLES or default, deadline=None, database=None, derandomize=not EXAMPLES,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                           HealthCheck.function_scoped_fixture])


# -- building blocks of hostile playlists ----------------------------------------------------------

NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["inf", "-inf", "nan", "1e309", "1e12", "86400", "86400.001", "0", "-0", "-1", "1e-320",
                     "9" * 400, "1" * 5000, "", "abc", "1,2", " 2 ", "0x10", "1_000", "٣"]),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
)
UTC_TEXT = st.one_of(st.from_regex(r"[0-9]{17}", fullmatch=True),
                     st.sampled_from(["99991231235959999", "00010101000000000", "20260102030405678"]))
AGORA_NAME = st.builds(lambda cname, utc, ext: f"{SID}_{cname}_{utc}.{ext}",
                       st.text(alphabet="ab_ .:?#!-~%()", max_size=8).filter(bool), UTC_TEXT,
                       st.sampled_from(["ts", "TS", "webm", "m3u8", "mp4"]))
URIS = st.one_of(AGORA_NAME, st.sampled_from(["../x.ts", "/etc/passwd", "http://evil/x.ts", "a\\b.ts",
                                              "x.ts?sig=1", "C:x.ts", "..", "x\x01.ts", "a.ts", "a.ts"]),
                 st.text(max_size=30))
TAGS = st.one_of(
    NUMBERS.map(lambda n: f"#EXTINF:{n},"), NUMBERS.map(lambda n: f"#EXTINF:{n}"),
    NUMBERS.map(lambda n: f"#EXT-X-TARGETDURATION:{n}"), NUMBERS.map(lambda n: f"#EXT-X-MEDIA-SEQUENCE:{n}"),
    NUMBERS.map(lambda n: f"#EXT-X-VERSION:{n}"), NUMBERS.map(lambda n: f"#EXT-X-BYTERANGE:{n}@{n}"),
    NUMBERS.map(lambda n: f"#EXT-X-PART:DURATION={n},URI=\"p.ts\""),
    st.sampled_from(["#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05Z", "#EXT-X-PROGRAM-DATE-TIME:9999-12-31T23:59:59Z",
                     "#EXT-X-PROGRAM-DATE-TIME:garbage", "#EXT-X-DISCONTINUITY", "#EXT-X-GAP", "#EXT-X-ENDLIST",
                     "#EXT-X-KEY:METHOD=AES-128,URI=\"k\"", "#EXT-X-MAP:URI=\"init.mp4\"",
                     "#EXT-X-STREAM-INF:BANDWIDTH=1", "#EXT-X-AGORA-TRACK-EVENT:EVENT=AUDIO,x", "#EXTM3U",
                     "#EXT-X-DATERANGE:ID=\"a\",START-DATE=\"x\"", "#EXT-X-SKIP:SKIPPED-SEGMENTS=9", "#", ""]),
    st.text(max_size=20).map(lambda t: "#" + t),
)
LINES = st.lists(st.one_of(TAGS, URIS), max_size=40)
ENDINGS = st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\u2028"])


@st.composite
def playlists(draw: st.DrawFn) -> str:
    header = draw(st.sampled_from(["#EXTM3U", "\ufeff#EXTM3U", "  #EXTM3U  ", "#EXTM3U x", ""]))
    return draw(ENDINGS).join([header, *draw(LINES)])


def _parse_and_check(data: str | bytes, seconds: float = CASE_SECONDS) -> list[hls.Issue]:
    started = time.perf_counter()
    playlist = hls.parse(data)
    issues = playlist.issues + (hls.check(playlist) if playlist.parsed else [])
    for entry in playlist.entries:
        assert entry.safe in (True, False)
    assert time.perf_counter() - started < seconds
    assert all(isinstance(i.code, str) and i.severity in ("error", "warning", "info") for i in issues)
    return issues


@_budget(1500)
@given(playlists())
def test_parse_never_raises_on_hostile_playlists(text: str) -> None:
    _parse_and_check(text)


@_budget(700)
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), st.text(max_size=300).map(lambda t: "#EXTM3U\n" + t)))
def test_parse_never_raises_on_any_bytes(data: str | bytes) -> None:
    _parse_and_check(data)


@_budget(12)
@given(st.sampled_from(["x\n", "#EXTINF:1,\nx.ts\n", "\r", "#X\n", f"#EXTINF:1,\n{SID}_c_20260102030405678.ts\n"]),
       st.integers(min_value=1, max_value=3_000_000))
def test_parse_cost_is_bounded_for_large_playlists(unit: str, repeat: int) -> None:
    # The worst playlists under the caps; the margin absorbs a shared, busy CI core.
    _parse_and_check("#EXTM3U\n" + unit * repeat, seconds=2.5 * CASE_SECONDS)


# -- the verify path on a real folder store --------------------------------------------------------

@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-store")
    for utc in ("20260102030405678", "20260102030406678"):
        (root / f"{SID}_ch_{utc}.ts").write_bytes(b"\x47" + bytes(187))
    return root


@_budget(300)
@given(text=playlists(), deep=st.booleans())
def test_verify_reports_any_playlist_as_one_bounded_report(folder: Path, text: str, deep: bool) -> None:
    store = LocalStore(folder)
    store.write(f"{SID}_ch.m3u8", text.encode("utf-8", "surrogatepass"))
    [recording] = find(store)
    started = time.perf_counter()
    report = verify(store, recording, deep=deep)
    assert time.perf_counter() - started < CASE_SECONDS * (3 if deep else 1)
    assert report.status in STATUS_ORDER and report.status != "invalid" or report.errors
    per_code = Counter(p.code for p in report.problems)
    assert max(per_code.values(), default=0) <= MAX_PROBLEMS_PER_CODE + 1
    assert len(json.dumps(report.to_dict())) < 200_000


# -- object names ----------------------------------------------------------------------------------

NAME_ALPHABET = "0123456789abcdefABCDEF_-.:?#!~ /\\bakuidsevoa\x00é"
NAMES = st.one_of(
    st.text(max_size=60),
    st.builds(lambda body, ext: body + "." + ext, st.text(alphabet=NAME_ALPHABET, max_size=60),
              st.sampled_from(sorted(EXTENSIONS))),
    st.builds(lambda pre, cname, mid, tail, ext: f"{pre}{SID}_{cname}{mid}{tail}.{ext}",
              st.sampled_from(["", "bak0_", "bak12_", "bak" + "9" * 30 + "_"]),
              st.text(alphabet=NAME_ALPHABET, max_size=20),
              st.sampled_from(["", "__uid_s_", "__uid_s_1__uid_e_", "__uid_e_", "_"]),
              st.one_of(UTC_TEXT, st.from_regex(r"(audio|video|av)?(_[0-9]{1,40}){0,2}", fullmatch=True)),
              st.sampled_from(sorted(EXTENSIONS))),
)


@_budget(2000)
@given(NAMES)
def test_parse_name_never_raises(name: str) -> None:
    parsed = parse_name(name)
    if parsed is not None:
        assert parsed.name == name and parsed.kind in EXTENSIONS.values()
        assert parsed.utc is None or parsed.utc.tzinfo is not None


@_budget(800)
@given(st.lists(st.one_of(NAMES, st.just(""), st.just("..")), max_size=6).map("/".join))
def test_split_key_is_a_partition(key: str) -> None:
    folder, name = split_key(key)
    assert folder + name == key and "/" not in name
    assert folder == "" or folder.endswith("/")

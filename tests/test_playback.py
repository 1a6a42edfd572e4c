"""What a player gets: playlists recshelf wrote, with signed URLs of the recording's own objects only."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit

import m3u8
from hypothesis import given, settings
from hypothesis import strategies as st

from storage.demo.synth import agora_playlist
from storage.media import hls
from storage.media.naming import split_key
from storage.recordings.catalog import find
from storage.recordings.playback import join_playlists, playback_playlist, rewrite_for_playback
from storage.signing import check_media_signature, media_store_id
from tests.fixtures.local import MEDIA_SECRET
from tests.webui.conftest import seed_recording

STEM = "0123456789abcdef0123456789abcdef_my_chan 1"
FOLDER = "rec/"
SIGNED = "https://signed.recshelf.test/"
EVIL = "127.0.0.1:9"  # the attacker's host in these playlists (nothing listens there)


def _names(n: int, step_s: int = 1) -> list[tuple[str, float]]:
    return [(f"{STEM}_2026010203040{5 + i * step_s}678.ts", float(step_s)) for i in range(n)]


def _sign(name: str) -> str:
    return SIGNED + quote(FOLDER + name, safe="/") + "?sig=ok"


# -- the allow-list check ----------------------------------------------------------------------

_URI_ATTR = re.compile(r'[A-Z0-9-]*URI\s*=\s*"?([^",]*)', re.IGNORECASE)
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s\"',]+|//[^\s\"',]+")


def uris_in(text: str) -> list[str]:
    """Every URI a player could take from `text`: URI lines, URI attributes, and anything URL-shaped in a tag.

    Lines are split both the way players split them and the way str.splitlines() does (U+2028, \\x0b, …),
    so a URL hidden behind a separator only one of them honours is found too.
    """
    found: list[str] = []
    for line in {*re.split(r"\r\n|\r|\n", text), *text.splitlines()}:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            found += _URI_ATTR.findall(stripped)
            found += [m for m in _URL.findall(stripped.partition(":")[2]) if "://" in m or m.startswith("//")]
        else:
            found.append(stripped)
    return found


def assert_only_signed(text: str, folder: str = FOLDER) -> None:
    for uri in uris_in(text):
        assert uri.startswith(SIGNED) and uri.endswith("?sig=ok"), uri
        key = unquote(uri[len(SIGNED):-len("?sig=ok")])
        got_folder, name = split_key(key)
        assert got_folder == folder and hls.unsafe_reason(name) is None, uri


# -- the rewrite (moved from test_hls.py) ------------------------------------------------------


def test_rewrite_for_playback_signs_and_marks_gaps() -> None:
    names = [n for n, _ in _names(3)]
    text = agora_playlist(_names(3))
    out = rewrite_for_playback(text, _sign, lambda u: u != names[1])
    pl = m3u8.loads(out.text)
    assert pl.version == 8 and pl.is_endlist and out.gaps == 1 and out.removed == 0
    # The hole keeps a URI line (a segment needs one), but only recshelf's own: never the stored line.
    assert [s.uri for s in pl.segments] == [_sign(n) for n in names]
    assert [bool(s.gap_tag) for s in pl.segments] == [False, True, False]
    assert "#EXTINF:1.000000," in out.text and "#EXTINF:1.000000\n" not in out.text
    # Everything else kept byte for byte.
    assert "#EXT-X-ALLOW-CACHE:YES" in out.text and "#EXT-X-AGORA-TRACK-EVENT" in out.text
    assert pl.segments[0].discontinuity
    assert_only_signed(out.text)


def test_rewrite_without_gaps_keeps_version_and_crlf() -> None:
    text = agora_playlist(_names(2), newline="\r\n", comma=True)
    out = rewrite_for_playback(text, lambda u: "u/" + u)
    assert out.text == text.replace("\r\n" + STEM, "\r\nu/" + STEM)


def test_rewrite_never_passes_unsafe_names() -> None:
    seen: list[str] = []
    text = agora_playlist([("a.ts", 1.0), ("../secret.ts", 1.0)])

    def sign(uri: str) -> str:
        seen.append(uri)
        return "signed"

    out = rewrite_for_playback(text, sign)
    assert seen == ["a.ts"]
    # The hostile line goes with its #EXTINF, not even as a gap.
    assert "secret" not in out.text and out.text.count("#EXTINF") == 1 and "#EXT-X-GAP" not in out.text
    assert out.removed == 2


def test_rewrite_adds_version_when_absent() -> None:
    out = rewrite_for_playback("#EXTM3U\n#EXTINF:1\na.ts\n", _sign, lambda u: False)
    assert out.text == f"#EXTM3U\n#EXT-X-VERSION:8\n#EXTINF:1,\n#EXT-X-GAP\n{_sign('a.ts')}\n"


def test_a_hole_the_store_cannot_sign_is_dropped() -> None:
    out = rewrite_for_playback("#EXTM3U\n#EXTINF:1,\na.ts\n#EXTINF:1,\nb.ts\n", lambda u: None if u == "b.ts"
                               else _sign(u), lambda u: u == "a.ts")
    assert out.text == f"#EXTM3U\n#EXTINF:1,\n{_sign('a.ts')}\n" and out.gaps == 0


# -- hostile playlists -------------------------------------------------------------------------


def uri_tags(host: str) -> list[str]:
    """A tag of each URI-bearing kind (and some that hide a URL elsewhere), each naming `host`."""
    return [
        f'#EXT-X-KEY:METHOD=AES-128,URI="http://{host}/key",IV=0x00000000000000000000000000000000',
        f'#EXT-X-MAP:URI="http://{host}/init.mp4"',
        f'#EXT-X-SESSION-KEY:METHOD=AES-128,URI="http://{host}/session-key"',
        f'#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="a",NAME="x",URI="http://{host}/audio.m3u8"',
        f'#EXT-X-I-FRAME-STREAM-INF:BANDWIDTH=1,URI="http://{host}/iframes.m3u8"',
        f'#EXT-X-SESSION-DATA:DATA-ID="com.x",URI="http://{host}/data.json"',
        f'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="http://{host}/hint.ts"',
        f'#EXT-X-RENDITION-REPORT:URI="http://{host}/report.m3u8",LAST-MSN=1',
        f'#EXT-X-PART:DURATION=1.0,URI="http://{host}/part.ts"',
        f'#EXT-X-CONTENT-STEERING:SERVER-URI="http://{host}/steer"',
        f'#EXT-X-DATERANGE:ID="ad",START-DATE="2026-01-02T03:04:05Z",X-ASSET-URI="http://{host}/ad.m3u8"',
        f'#EXT-X-DEFINE:NAME="host",VALUE="http://{host}"',
        f'#EXT-X-UNKNOWN-THING:URI="//{host}/unknown"',
        f'#EXT-X-AGORA-TRACK-EVENT:EVENT=START,URI="http://{host}/agora"',
        f"#EXT-X-ALLOW-CACHE:YES http://{host}/cache",
        f"# a comment naming http://{host}/comment",
    ]


def hostile_segments(host: str) -> list[str]:
    """Segment lines that are not a bare name in the playlist's folder."""
    return [f"http://{host}/seg.ts", f"//{host}/seg.ts", f"HTTPS://{host}/seg.ts", "../other/seg.ts",
            "other/seg.ts", "/abs/seg.ts", "..\\seg.ts", "file:///etc/passwd", "javascript:alert(1)",
            "data:video/mp2t;base64,R0dH", "{$host}/seg.ts", f"{STEM}_20260102030405678.ts/../../x.ts"]


URI_TAGS = uri_tags(EVIL)
HOSTILE_SEGMENTS = hostile_segments(EVIL)


def _hostile_playlist(good: list[str]) -> str:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", *URI_TAGS,
             "#EXT-X-STREAM-INF:BANDWIDTH=1", f"http://{EVIL}/variant.m3u8",
             "#EXT-X-DISCONTINUITY", "#EXTINF:1.0,", good[0]]
    for bad in HOSTILE_SEGMENTS:
        lines += ["#EXTINF:1.0,", bad]
    lines += [f"#EXTINF:1.0,title http://{EVIL}/title", good[1],
              f"#EXTINF:1.0,\u2028http://{EVIL}/u2028.ts", good[2],
              "#EXTINF:1.0,\x0b" + f"http://{EVIL}/vt.ts", good[3], "#EXT-X-ENDLIST"]
    return "\n".join(lines) + "\n"


def test_hostile_playlist_keeps_only_signed_urls_of_its_own_folder() -> None:
    good = [n for n, _ in _names(4)]
    out = rewrite_for_playback(_hostile_playlist(good), _sign, lambda u: u != good[1])
    assert_only_signed(out.text)
    assert "127.0.0.1" not in out.text and "evil" not in out.text.lower()
    pl = m3u8.loads(out.text)
    assert [s.uri for s in pl.segments] == [_sign(n) for n in good]  # the good ones all play, in order
    assert [bool(s.gap_tag) for s in pl.segments] == [False, True, False, False] and out.gaps == 1
    assert not pl.keys or pl.keys == [None]
    assert pl.is_endlist and pl.version == 8 and out.text.count("#EXTINF") == 4
    assert out.removed >= len(URI_TAGS) + 2 * len(HOSTILE_SEGMENTS)


_GOOD = [n for n, _ in _names(3)]
_ANY_TAG = st.builds("{}:{}".format, st.sampled_from(
    ["#EXTINF", "#EXT-X-KEY", "#EXT-X-MAP", "#EXT-X-SESSION-KEY", "#EXT-X-MEDIA", "#EXT-X-STREAM-INF",
     "#EXT-X-I-FRAME-STREAM-INF", "#EXT-X-SESSION-DATA", "#EXT-X-PRELOAD-HINT", "#EXT-X-RENDITION-REPORT",
     "#EXT-X-PART", "#EXT-X-CONTENT-STEERING", "#EXT-X-DATERANGE", "#EXT-X-DEFINE", "#EXT-X-GAP",
     "#EXT-X-DISCONTINUITY", "#EXT-X-BYTERANGE", "#EXT-X-VERSION", "#EXT-X-AGORA-TRACK-EVENT", "#EXT-X-NEW",
     "#EXT-X-PROGRAM-DATE-TIME", "#EXT-X-ALLOW-CACHE", "#EXTM3U", "#"]),
    st.one_of(st.sampled_from(['URI="http://e/x"', "1.0,", "1.0,http://e/t", 'SERVER-URI="//e/s"', "YES",
                               'X-ASSET-URI="https://e/a"', "METHOD=NONE", "1.0,\u2028http://e/x"]),
              st.text(max_size=30)))
_ANY_URI = st.one_of(st.sampled_from(_GOOD + HOSTILE_SEGMENTS + [".", "..", " ", "a b.ts", "x.ts?sig=1"]),
                     st.text(max_size=30))
_NEWLINE = st.sampled_from(["\n", "\r\n", "\r", "\u2028", "\x0b", "\x85"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(_ANY_TAG, _ANY_URI), _NEWLINE), max_size=25), st.sets(st.sampled_from(_GOOD)))
def test_any_hostile_playlist_yields_only_signed_urls_of_the_folder(lines: list[tuple[str, str]],
                                                                     present: set[str]) -> None:
    text = "#EXTM3U\n" + "".join(line + newline for line, newline in lines)
    out = rewrite_for_playback(text, _sign, present.__contains__)
    assert_only_signed(out.text)
    assert out.gaps == out.text.count("#EXT-X-GAP") or "#EXT-X-GAP" in text


@given(st.text(max_size=300))
def test_rewrite_never_raises(text: str) -> None:
    rewrite_for_playback("#EXTM3U\n" + text, lambda u: None)
    assert_only_signed(rewrite_for_playback(text, _sign, lambda u: False).text)


# -- a recording in a store --------------------------------------------------------------------


def test_playback_playlist_of_a_hostile_recording_signs_only_its_own_slices(local_store_factory, av_slices,
                                                                            media_server_url) -> None:
    store = local_store_factory()
    keys = seed_recording(store, av_slices, missing=[1])
    names = [split_key(k)[1] for k in keys[1:]]
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-TARGETDURATION:1", *URI_TAGS]
    for n, name in enumerate(names):
        lines += ["#EXTINF:1.0,", name, "#EXTINF:1.0,", HOSTILE_SEGMENTS[n % len(HOSTILE_SEGMENTS)]]
    lines += ["#EXTINF:1.0,", ".", "#EXT-X-ENDLIST"]  # "." passes as a name but no folder store signs it
    store.write(keys[0], ("\n".join(lines) + "\n").encode())
    (rec,) = find(store)
    text, gaps = playback_playlist(store, rec, 3600)
    assert gaps == 1
    prefix = f"{media_server_url}/media/{media_store_id(MEDIA_SECRET, store.root)}/"
    uris = uris_in(text)
    assert len(uris) == len(names)
    for uri in uris:
        assert uri.startswith(prefix + quote(FOLDER)), uri
        parts = urlsplit(uri)
        key = unquote(parts.path.split("/", 3)[3])
        query = dict(p.split("=", 1) for p in parts.query.split("&"))
        assert split_key(key)[0] == FOLDER and key in keys
        store_id = media_store_id(MEDIA_SECRET, store.root)
        assert check_media_signature(MEDIA_SECRET, store_id, key, int(query["exp"]), query["sig"])


def test_join_playlists_puts_failover_part_after_a_discontinuity():
    a = "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1.0,\na.ts\n#EXT-X-ENDLIST\n"
    b = "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1.0,\nb.ts\n#EXT-X-ENDLIST\n"
    joined = join_playlists([a, b]).splitlines()
    assert joined == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXTINF:1.0,", "a.ts", "#EXT-X-DISCONTINUITY",
                      "#EXTINF:1.0,", "b.ts", "#EXT-X-ENDLIST"]


def test_webui_imports_neither_fastapi_nor_the_server() -> None:
    import grimp

    graph = grimp.build_graph("webui", "storage", include_external_packages=True)
    for forbidden in ("fastapi", "storage.server"):
        chain = graph.find_shortest_chain(importer="webui", imported=forbidden, as_packages=True)
        assert chain is None, chain

"""A share link of a hostile recording, opened by the shipped hls.js in Debian's Chromium.

The recording's playlist names an attacker (a second HTTP server on 127.0.0.1) in every way a
playlist can: key, init segment, session key, renditions, variants, date ranges, steering, and
segment lines. The player must play the recording's own slices past its hole, and the attacker
must see no request at all: a player only gets what recshelf wrote.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi import FastAPI
from fastapi.responses import FileResponse, HTMLResponse

from storage.recordings.catalog import find
from storage.server.media import media_router
from storage.server.share import share_router
from storage.settings import Settings
from storage.signing import make_share_url
from storage.stores.local import LocalStore
from tests.fixtures.local import serve_app
from tests.test_playback import hostile_segments, uri_tags
from tests.webui.conftest import Seeder
from tests.webui.test_browser import chromium  # noqa: F401  (the shared, module-scoped browser fixture)

pytestmark = pytest.mark.browser

HLS_JS = Path(__file__).resolve().parents[2] / "webui" / "components" / "player" / "hls.min.js"
SECRET = "share-browser-test-secret"
PLAY_TIMEOUT_MS = 30_000
PAGE = """<!doctype html><html><body><video id="v" muted playsinline></video>
<script src="/hls.min.js"></script><script>
const state = window.__share = {errors: [], fatal: null};
const video = document.getElementById("v");
const hls = new Hls({enableWorker: true});
hls.on(Hls.Events.ERROR, (_e, d) => { state.errors.push(d.details); if (d.fatal) state.fatal = d.details; });
hls.loadSource(new URLSearchParams(location.search).get("src"));
hls.attachMedia(video);
video.play();
</script></body></html>"""


class _Attacker(BaseHTTPRequestHandler):
    seen: list[str] = []

    def _answer(self) -> None:
        type(self).seen.append(f"{self.command} {self.path}")
        body = b"\x00" * 16  # a plausible AES key, init segment or playlist: anything to tempt a retry
        self.send_response(200)
        self.send_header("Access-Control-Allow-Origin", "*")
        self.send_header("Access-Control-Allow-Headers", "*")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_HEAD = do_OPTIONS = do_POST = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        del format, args


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """(host:port of an HTTP server on 127.0.0.1 that records every request, the requests)."""
    seen: list[str] = []
    handler = type("Attacker", (_Attacker,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_address[1]}", seen
    server.shutdown()
    server.server_close()


@pytest.fixture
def recshelf_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """The share and media routes plus a page with the shipped hls.js, all on one 127.0.0.1 origin."""
    app = FastAPI()
    app.include_router(share_router(Settings.load))  # loaded per request: after the env below is set
    app.include_router(media_router(SECRET, [tmp_path / "store"]))  # the folder the test seeds

    @app.get("/player.html")
    def page() -> HTMLResponse:
        return HTMLResponse(PAGE)

    @app.get("/hls.min.js")
    def hls_js() -> FileResponse:
        return FileResponse(HLS_JS, media_type="text/javascript")

    url, stop = serve_app(app)
    (tmp_path / "recshelf.toml").write_text("")
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "recshelf.toml"))
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", SECRET)
    monkeypatch.setenv("RECSHELF_MEDIA_URL", url)  # local slices are signed for this server
    monkeypatch.delenv("RECSHELF_PUBLIC_URL", raising=False)
    yield url
    stop()


def _poison(text: str, host: str) -> str:
    """The playlist with the attacker named in every tag kind and between every pair of slices."""
    lines = text.splitlines()
    header_end = next(i for i, line in enumerate(lines) if line.startswith("#EXT-X-TARGETDURATION")) + 1
    out = lines[:header_end] + uri_tags(host) + ["#EXT-X-STREAM-INF:BANDWIDTH=1", f"http://{host}/variant.m3u8"]
    bad = iter(hostile_segments(host) * 2)
    for line in lines[header_end:]:
        out.append(line)
        if line and not line.startswith("#"):
            out += ["#EXTINF:1.000000,", next(bad), f"#EXTINF:1.0,\u2028http://{host}/u2028.ts"]
    return "\n".join(out) + "\n"


def test_share_link_of_a_hostile_playlist_plays_and_never_reaches_the_attacker(
        chromium: Any, recshelf_server: str, attacker: tuple[str, list[str]],  # noqa: F811
        tmp_path: Path, seeder: Seeder) -> None:
    host, seen = attacker
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    keys = seeder(store, missing=[2])  # the third slice (2–3 s) is a hole
    store.write(keys[0], _poison(store.read(keys[0]).decode(), host).encode())
    (rec,) = find(store)
    share = make_share_url(recshelf_server, SECRET, str(store.root), rec, 3600)

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    page = chromium.new_page()
    try:
        page.goto(f"{recshelf_server}/player.html?src={quote(share, safe='')}")
        with contextlib.suppress(PlaywrightTimeout):  # reported below, after what matters most
            page.wait_for_function("() => window.__share.fatal !== null"
                                   " || document.getElementById('v').currentTime > 3.5", timeout=PLAY_TIMEOUT_MS)
        page.wait_for_timeout(1000)  # time for any late key, init-segment or rendition request
        state = page.evaluate("window.__share")
        played = page.evaluate("document.getElementById('v').currentTime")
    finally:
        page.close()
    assert seen == [], f"the attacker was asked {len(seen)} time(s): {seen}"
    assert state["fatal"] is None, state
    assert played > 3.5, state  # past the hole: the player plays what exists

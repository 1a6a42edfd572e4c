"""Share links opened by a fresh, logged-out Chromium: the page at /share/<token> plays the recording.

For a local folder (slices through the server's signed media route), S3 (moto and SeaweedFS), OSS and
Qiniu (the emulators, which check every signature): the shipped hls.js plays past 1.5 s with no fatal
error. A revoked link shows its page in words (410). A hostile recording's playlist names an attacker
(a second HTTP server on 127.0.0.1) in every way a playlist can; the page plays the recording's own
slices past its hole and the attacker sees no request at all. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from storage.recordings.catalog import find
from storage.server.app import create_app
from storage.service.db import Database
from storage.service.repo_shares import Share, ShareRepo
from storage.service.shares import ShareRequest, create_share
from storage.settings import Settings
from storage.signing import share_url
from storage.stores.base import ObjectStore
from storage.stores.local import LocalStore
from tests.fixtures.local import serve_app
from tests.test_playback import hostile_segments, uri_tags
from tests.webui.conftest import SID, Seeder
from tests.webui.test_browser import ARTIFACTS, chromium  # noqa: F401  (the shared, module-scoped browser fixture)

pytestmark = pytest.mark.browser

SECRET = "share-browser-test-secret"
PLAY_TIMEOUT_S = 30.0


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


@dataclass(frozen=True)
class ShareServer:
    url: str
    repo: ShareRepo

    def share(self, store_ref: str, store: ObjectStore, **request: Any) -> str:
        share: Share = create_share(self.repo, store, ShareRequest(store=store_ref, sid=SID, **request), time.time())
        return share_url(self.url, share.token)


@pytest.fixture
def start_server(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Callable[[str], ShareServer]]:
    """`start(config_text)`: the recshelf app (share, media routes) on 127.0.0.1, as `recshelf serve` runs it."""
    stops: list[Callable[[], None]] = []

    def start(config_text: str = "") -> ShareServer:
        (tmp_path / "recshelf.toml").write_text(config_text)
        monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "recshelf.toml"))
        monkeypatch.setenv("RECSHELF_MEDIA_SECRET", SECRET)
        for name in ("RECSHELF_PUBLIC_URL", "RECSHELF_MEDIA_URL", "RECSHELF_SERVER_URL", "RECSHELF_UI_STORE"):
            monkeypatch.delenv(name, raising=False)
        repo = ShareRepo(Database(tmp_path / "data"))
        url, stop = serve_app(create_app(Settings.load(), reload=Settings.load, shares=repo))
        stops.append(stop)
        return ShareServer(url, repo)

    yield start
    for stop in stops:
        stop()


def open_share(chromium: Any, link: str, shot: str, past: float = 1.5) -> dict[str, Any]:  # noqa: F811
    """Open `link` in a fresh browser context (no cookies, no login), press play; the player's state."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    ARTIFACTS.mkdir(exist_ok=True)
    context = chromium.new_context(viewport={"width": 1100, "height": 800})
    page = context.new_page()
    try:
        response = page.goto(link)
        assert response is not None and response.status == 200, response and response.status
        page.wait_for_function("() => !!window.__sharePlayer", timeout=PLAY_TIMEOUT_S * 1000)
        page.evaluate("() => { const v = document.getElementById('video'); v.muted = true; v.play(); }")
        with contextlib.suppress(PlaywrightTimeout):  # reported below, with the player's state
            page.wait_for_function(f"() => window.__sharePlayer.fatal !== null"
                                   f" || document.getElementById('video').currentTime > {past}",
                                   timeout=PLAY_TIMEOUT_S * 1000)
        page.screenshot(path=str(ARTIFACTS / shot))
        return {**page.evaluate("window.__sharePlayer"), "t": page.evaluate("document.getElementById('video')"
                                                                            ".currentTime"), "html": page.content()}
    finally:
        context.close()


def assert_played(state: dict[str, Any], past: float = 1.5) -> None:
    assert state["fatal"] is None, state["errors"]
    assert state["t"] > past, state["errors"]


def test_local_folder_share_plays(chromium, start_server, tmp_path, seeder: Seeder):  # noqa: F811
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    server = start_server()  # the folder is in no profile: the server serves it because a link opens it
    state = open_share(chromium, server.share(store.url, store), "share-local.png")
    assert_played(state)
    assert str(tmp_path) not in state["html"] and SECRET not in state["html"]


def test_s3_share_plays(chromium, start_server, s3_service, seeder: Seeder):  # noqa: F811
    store = s3_service.new_store()
    seeder(store)
    bucket = store.url.removeprefix("s3://").split("/")[0]
    server = start_server(f'[profiles.s3]\nurl = "s3://{bucket}"\nendpoint = "{s3_service.endpoint}"\n'
                          f'region = "{s3_service.region}"\naccess_key = "{s3_service.access_key}"\n'
                          f'secret_key = "{s3_service.secret_key}"\n')
    state = open_share(chromium, server.share("s3", store), f"share-s3-{s3_service.name}.png")
    assert_played(state)
    assert s3_service.secret_key not in state["html"] and bucket not in state["html"]


def test_oss_share_plays(chromium, start_server, oss_emulator, oss_store_factory, seeder: Seeder):  # noqa: F811
    store = oss_store_factory()
    seeder(store)
    bucket = store.url.removeprefix("oss://").split("/")[0]
    server = start_server(f'[profiles.oss]\nurl = "oss://{bucket}"\nendpoint = "{oss_emulator.url}"\n'
                          f'region = "{oss_emulator.region}"\naccess_key = "{oss_emulator.access_key}"\n'
                          f'secret_key = "{oss_emulator.secret_key}"\n')
    state = open_share(chromium, server.share("oss", store), "share-oss.png")
    assert_played(state)


def test_qiniu_share_plays(chromium, start_server, qiniu_emulator, qiniu_store_factory, seeder: Seeder):  # noqa: F811
    store = qiniu_store_factory()
    seeder(store)
    bucket = store.url.removeprefix("qiniu://").split("/")[0]
    server = start_server(f'[profiles.kodo]\nurl = "qiniu://{bucket}"\nendpoint = "{qiniu_emulator.base_url}"\n'
                          f'domain = "{qiniu_emulator.domain(bucket)}"\naccess_key = "{qiniu_emulator.access_key}"\n'
                          f'secret_key = "{qiniu_emulator.secret_key}"\n')
    state = open_share(chromium, server.share("kodo", store), "share-qiniu.png")
    assert_played(state)


def test_a_revoked_link_shows_the_revoked_page(chromium, start_server, tmp_path, seeder: Seeder):  # noqa: F811
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    seeder(store)
    server = start_server()
    link = server.share(store.url, store)
    server.repo.revoke(server.repo.list()[0].id)
    context = chromium.new_context()
    page = context.new_page()
    try:
        response = page.goto(link)
        assert response is not None and response.status == 410
        page.get_by_role("heading", name="This link was revoked").wait_for()
        page.screenshot(path=str(ARTIFACTS / "share-revoked.png"))
        assert page.locator("video").count() == 0
    finally:
        context.close()


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
        chromium: Any, start_server: Callable[[str], ShareServer], attacker: tuple[str, list[str]],  # noqa: F811
        tmp_path: Path, seeder: Seeder) -> None:
    host, seen = attacker
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    keys = seeder(store, missing=[2])  # the third slice (2–3 s) is a hole
    store.write(keys[0], _poison(store.read(keys[0]).decode(), host).encode())
    assert len(find(store)) == 1
    server = start_server("")
    state = open_share(chromium, server.share(store.url, store), "share-hostile.png", past=3.5)
    time.sleep(1.0)  # time for any late key, init-segment or rendition request
    assert seen == [], f"the attacker was asked {len(seen)} time(s): {seen}"
    assert_played(state, past=3.5)  # past the hole: the player plays what exists

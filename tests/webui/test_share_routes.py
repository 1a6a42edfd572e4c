"""Share links served by storage/server/share.py: the page, the playlist, the download, 404 and 410."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient

from storage.media.naming import RecordingKey
from storage.server.app import create_app
from storage.service.db import Database
from storage.service.repo_shares import NewShare, Share, ShareRepo
from storage.service.shares import ShareRequest, create_share
from storage.settings import Settings
from storage.signing import new_share_token
from tests.fixtures.local import MEDIA_SECRET
from tests.webui.conftest import SID

MakeShare = Callable[..., Share]


@pytest.fixture
def shares(tmp_path: Path) -> ShareRepo:
    return ShareRepo(Database(tmp_path / "data"))


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, shares: ShareRepo) -> TestClient:
    (tmp_path / "recshelf.toml").write_text("")
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "recshelf.toml"))
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", MEDIA_SECRET)
    for name in ("RECSHELF_PUBLIC_URL", "RECSHELF_MEDIA_URL", "RECSHELF_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    return TestClient(create_app(Settings.load(), reload=Settings.load, shares=shares))


@pytest.fixture
def make_share(shares: ShareRepo) -> MakeShare:
    def make(store: object, **request: object) -> Share:
        values: dict[str, object] = {"store": store.url, "sid": SID, **request}  # type: ignore[attr-defined]
        return create_share(shares, store, ShareRequest(**values), time.time())  # type: ignore[arg-type]

    return make


def test_the_page_has_the_player_and_facts_but_no_store_details(client, local_store_factory, seeder, make_share):
    store = local_store_factory()
    seeder(store)
    share = make_share(store)
    page = client.get(f"/share/{share.token}")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert "my_chan 1" in html and "2026-01-02 03:04:05 UTC" in html and 'id="duration">0:06<' in html
    assert '<script src="/share/assets/hls.min.js">' in html and "cdn" not in html.lower()
    assert f'href="{share.token}/download"' in html
    assert f"http://testserver/share/{share.token}/playlist.m3u8" in html  # for VLC / Safari
    for hidden in (str(store.root), store.url, "rec/", SID, MEDIA_SECRET):
        assert hidden not in html
    assert page.headers["referrer-policy"] == "no-referrer" and "script-src 'self'" in page.headers[
        "content-security-policy"]
    hls_js = client.get("/share/assets/hls.min.js")
    assert hls_js.status_code == 200 and len(hls_js.content) > 100_000 and b"isSupported" in hls_js.content
    assert client.get("/share/assets/share.js").text.startswith('"use strict"')


def test_the_playlist_has_short_lived_signed_slices_and_gaps(client, local_store_factory, seeder, make_share):
    store = local_store_factory()
    keys = seeder(store, missing=[2])
    share = make_share(store)
    got = client.get(f"/share/{share.token}/playlist.m3u8")
    assert got.status_code == 200 and got.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert got.headers["cache-control"] == "no-store"
    lines = got.text.splitlines()
    assert "#EXT-X-GAP" in lines and "#EXT-X-VERSION:8" in lines
    urls = [line for line in lines if line.startswith("http")]
    assert len(urls) == len(keys) - 1 and all("/media/" in u and "sig=" in u for u in urls)
    expiries = [int(u.split("exp=")[1].split("&")[0]) for u in urls]
    assert all(e - time.time() <= 3600 + 5 for e in expiries)  # short-lived: re-signed on each fetch
    # No server was configured with the store's folder: the media route serves it because a link opens it.
    gap = lines[lines.index("#EXT-X-GAP") + 1]
    first = next(u for u in urls if u != gap)
    media = client.get(first.removeprefix("http://testserver"), headers={"Range": "bytes=0-187"})
    assert media.status_code == 206 and media.content[0] == 0x47
    assert quote(keys[3], safe="/") in gap


def test_revoked_and_expired_links_answer_410_in_words(client, shares, local_store_factory, seeder, make_share):
    store = local_store_factory()
    seeder(store)
    share = make_share(store)
    shares.revoke(share.id)
    for path in ("", "/playlist.m3u8", "/download"):
        got = client.get(f"/share/{share.token}{path}")
        assert got.status_code == 410 and "revoked" in got.text and got.headers["content-type"].startswith("text/html")
    old = shares.create(NewShare(token=new_share_token(), store=store.url, folder="rec/", sid=SID, cname="my_chan 1",
                                 uid=None, recording="x", title="t", expires_at=time.time() - 1))
    got = client.get(f"/share/{old.token}")
    assert got.status_code == 410 and "expired" in got.text


def test_unknown_tokens_and_old_links(client):
    assert client.get(f"/share/{new_share_token()}").status_code == 404
    assert "does not exist" in client.get("/share/not-a-token").text
    old = client.get("/share/eyJzIjoiL3NydiJ9/abc123/0123_chan.m3u8")  # the readable scheme of before
    assert old.status_code == 410 and "older recshelf" in old.text


def test_a_recording_gone_from_the_store_is_404(client, local_store_factory, seeder, make_share):
    store = local_store_factory()
    keys = seeder(store)
    share = make_share(store)
    for key in keys:
        store.delete(key)
    got = client.get(f"/share/{share.token}")
    assert got.status_code == 404 and "no longer in its storage" in got.text


def test_download_is_an_mp4_attachment_with_a_readable_name(client, local_store_factory, seeder, make_share):
    store = local_store_factory()
    seeder(store, key=RecordingKey(SID, "my_chan 1", "7", "video"))
    seeder(store, key=RecordingKey(SID, "my_chan 1", "7", "audio"))
    share = make_share(store, uid="7")
    got = client.get(f"/share/{share.token}/download")
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
    assert got.headers["content-disposition"].startswith('attachment; filename="my_chan 1 2026-01-02 03-04.mp4"')
    assert got.content[4:8] == b"ftyp"
    playing_only = make_share(store, uid="7", allow_download=False)
    assert client.get(f"/share/{playing_only.token}/download").status_code == 403
    assert "/download" not in client.get(f"/share/{playing_only.token}").text


def test_share_link_for_s3_profile_presigns_slices(client, shares, s3_service, seeder, tmp_path, monkeypatch):
    store = s3_service.new_store()
    seeder(store, missing=[0])
    bucket = store.url.removeprefix("s3://").split("/")[0]
    profile = f"share-s3-{s3_service.name}"  # one per server: share routes reuse a profile's store for minutes
    (tmp_path / "recshelf.toml").write_text(
        f'[profiles.{profile}]\nurl = "s3://{bucket}"\nendpoint = "{s3_service.endpoint}"\n'
        f'region = "{s3_service.region}"\naccess_key = "{s3_service.access_key}"\n'
        f'secret_key = "{s3_service.secret_key}"\n')
    share = create_share(shares, store, ShareRequest(store=profile, sid=SID), time.time())
    text = client.get(f"/share/{share.token}/playlist.m3u8").text
    assert s3_service.secret_key not in text and profile not in text
    urls = [line for line in text.splitlines() if line.startswith("http")]
    assert urls and all(u.startswith(s3_service.endpoint) for u in urls)
    gap = text.splitlines()[text.splitlines().index("#EXT-X-GAP") + 1]
    assert httpx.get(next(u for u in urls if u != gap)).status_code == 200
    page = client.get(f"/share/{share.token}").text
    assert bucket not in page and profile not in page and s3_service.endpoint not in page

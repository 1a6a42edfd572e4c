"""Share links: signed, expiring, re-signed on each request, GAP for missing slices."""

from __future__ import annotations

import time
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage.media.naming import RecordingKey, split_key
from storage.recordings.catalog import find
from storage.server.share import share_router
from storage.settings import Settings
from storage.signing import make_share_url, read_share_token
from tests.fixtures.local import MEDIA_SECRET
from tests.webui.conftest import SID


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, media_server_url: str) -> TestClient:
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", MEDIA_SECRET)
    monkeypatch.setenv("RECSHELF_MEDIA_URL", media_server_url)
    monkeypatch.delenv("RECSHELF_PUBLIC_URL", raising=False)
    app = FastAPI()
    app.include_router(share_router(Settings.load))  # reloaded per request, as `recshelf serve` does
    return TestClient(app)


def test_share_link_serves_freshly_signed_playlist_with_gap(client, local_store_factory, seeder):
    store = local_store_factory()
    keys = seeder(store, missing=[2])
    (rec,) = find(store)
    url = make_share_url("http://testserver", MEDIA_SECRET, str(store.root), rec, 3600)
    assert url.endswith(".m3u8") and MEDIA_SECRET not in url

    first = client.get(url)
    assert first.status_code == 200
    assert first.headers["content-type"].startswith("application/vnd.apple.mpegurl")
    assert first.headers["cache-control"] == "no-store"
    text = first.text
    assert "#EXT-X-GAP" in text and "#EXT-X-VERSION:8" in text
    lines = text.splitlines()
    slice_urls = [line for line in lines if line.startswith("http")]
    # Every slice is signed; the missing one's URL is behind #EXT-X-GAP, never loaded by a player.
    assert len(slice_urls) == len(keys) - 1
    gap_url = lines[lines.index("#EXT-X-GAP") + 1]
    assert gap_url in slice_urls and quote(keys[3], safe="/") in gap_url
    got = httpx.get(next(u for u in slice_urls if u != gap_url))
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp2t"
    assert httpx.get(gap_url).status_code == 404  # recshelf's own URL: a player that ignored GAP gets nothing


def test_forged_or_expired_links_are_refused(client, local_store_factory, seeder):
    store = local_store_factory()
    seeder(store)
    (rec,) = find(store)
    url = make_share_url("http://testserver", MEDIA_SECRET, str(store.root), rec, 3600)
    forged = url.replace("/share/", "/share/x", 1)
    assert client.get(forged).status_code == 403
    other = make_share_url("http://testserver", "another-secret", str(store.root), rec, 3600)
    assert client.get(other).status_code == 403
    payload, sig = url.split("/share/")[1].split("/")[:2]
    assert read_share_token(MEDIA_SECRET, payload, sig, now=time.time() + 7200) is None
    assert read_share_token(MEDIA_SECRET, payload, sig)["id"] == rec.id


def test_share_base_prefers_public_url(monkeypatch, tmp_path):
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    monkeypatch.setenv("RECSHELF_SERVER_URL", "http://127.0.0.1:8700")
    monkeypatch.setenv("RECSHELF_PUBLIC_URL", "https://recordings.example.com/")
    assert Settings.load().share_base() == "https://recordings.example.com"
    monkeypatch.delenv("RECSHELF_PUBLIC_URL")
    monkeypatch.setenv("RECSHELF_SERVER_URL", "http://127.0.0.1:8700/")
    assert Settings.load().share_base() == "http://127.0.0.1:8700"


def test_unknown_recording_is_404(client, local_store_factory, seeder):
    store = local_store_factory()
    seeder(store)
    (rec,) = find(store)
    rec.key = RecordingKey(SID, "gone")  # a recording that is not in the store any more
    url = make_share_url("http://testserver", MEDIA_SECRET, str(store.root), rec, 3600)
    assert client.get(url).status_code == 404


def test_share_link_for_s3_profile_presigns_slices(client, s3_service, seeder, tmp_path, monkeypatch):
    store = s3_service.new_store()
    seeder(store, missing=[0])
    bucket = store.url.removeprefix("s3://").split("/")[0]
    profile = f"share-s3-{s3_service.name}"  # one per server: share routes reuse a profile's store for minutes
    config = tmp_path / "recshelf.toml"
    config.write_text(f'[profiles.{profile}]\nurl = "s3://{bucket}"\nendpoint = "{s3_service.endpoint}"\n'
                      f'region = "{s3_service.region}"\naccess_key = "{s3_service.access_key}"\n'
                      f'secret_key = "{s3_service.secret_key}"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(config))
    (rec,) = find(store)
    url = make_share_url("http://testserver", MEDIA_SECRET, profile, rec, 600)
    text = client.get(url).text
    assert s3_service.secret_key not in text and profile not in text and "share-s3" not in text
    lines = text.splitlines()
    gap_url = lines[lines.index("#EXT-X-GAP") + 1]  # the missing first slice: presigned, never loaded
    assert gap_url.startswith(s3_service.endpoint) and f"/{quote(split_key(rec.slices[0].key)[0])}" in gap_url
    signed = [line for line in lines if line.startswith(s3_service.endpoint)]
    assert len(signed) == 6 and all("X-Amz-Signature=" in line for line in signed)
    assert all(not line or line.startswith(("#", s3_service.endpoint)) for line in lines)
    assert httpx.get(signed[1]).status_code == 200

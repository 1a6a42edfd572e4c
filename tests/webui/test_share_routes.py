"""Share links: signed, expiring, re-signed on each request, GAP for missing slices."""

from __future__ import annotations

import time

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from storage.media.naming import RecordingKey
from storage.recordings.catalog import find
from storage.server.share import (
    join_playlists,
    make_share_url,
    read_share_token,
    router,
    share_base,
)
from tests.fixtures.local import MEDIA_SECRET
from tests.webui.conftest import SID


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch, media_server_url: str) -> TestClient:
    monkeypatch.setenv("RECSHELF_MEDIA_SECRET", MEDIA_SECRET)
    monkeypatch.setenv("RECSHELF_MEDIA_URL", media_server_url)
    monkeypatch.delenv("RECSHELF_PUBLIC_URL", raising=False)
    app = FastAPI()
    app.include_router(router)
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
    slice_urls = [line for line in text.splitlines() if line.startswith("http")]
    assert len(slice_urls) == len(keys) - 2  # every present slice signed; the missing one stays a bare name
    got = httpx.get(slice_urls[0])
    assert got.status_code == 200 and got.headers["content-type"] == "video/mp2t"


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


def test_share_base_prefers_public_url(monkeypatch):
    monkeypatch.setenv("RECSHELF_PUBLIC_URL", "https://recordings.example.com/")
    assert share_base("http://127.0.0.1:8700") == "https://recordings.example.com"
    monkeypatch.delenv("RECSHELF_PUBLIC_URL")
    assert share_base("http://127.0.0.1:8700/") == "http://127.0.0.1:8700"


def test_join_playlists_puts_failover_part_after_a_discontinuity():
    a = "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1.0,\na.ts\n#EXT-X-ENDLIST\n"
    b = "#EXTM3U\n#EXT-X-VERSION:3\n#EXTINF:1.0,\nb.ts\n#EXT-X-ENDLIST\n"
    joined = join_playlists([a, b]).splitlines()
    assert joined == ["#EXTM3U", "#EXT-X-VERSION:3", "#EXTINF:1.0,", "a.ts", "#EXT-X-DISCONTINUITY",
                      "#EXTINF:1.0,", "b.ts", "#EXT-X-ENDLIST"]


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
    assert lines[lines.index("#EXT-X-GAP") + 1].endswith(".ts")  # the missing first slice stays a bare name
    signed = [line for line in lines if line.startswith(s3_service.endpoint)]
    assert len(signed) == 5 and all("X-Amz-Signature=" in line for line in signed)
    assert httpx.get(signed[0]).status_code == 200

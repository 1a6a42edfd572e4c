"""The simulator is part of `recshelf serve` only when enabled."""

from __future__ import annotations

import httpx
import pytest
from fastapi.testclient import TestClient

from storage.server.app import create_app
from storage.settings import Settings
from storage.stores.base import InvalidConfig

ACQUIRE = "/v1/apps/app1/cloud_recording/acquire"


def test_simulator_routes_only_when_enabled(monkeypatch):
    monkeypatch.delenv("RECSHELF_SIMULATOR", raising=False)
    with TestClient(create_app(Settings.load())) as client:
        assert client.post(ACQUIRE, json={}).status_code == 404
    monkeypatch.setenv("RECSHELF_SIMULATOR", "1")
    monkeypatch.setenv("AGORA_CUSTOMER_ID", "cid")
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", "csecret")
    with TestClient(create_app(Settings.load())) as client:
        answer = client.post(ACQUIRE, json={"cname": "c", "uid": "1", "clientRequest": {}},
                             auth=httpx.BasicAuth("cid", "csecret"))
        assert answer.status_code == 200 and answer.json()["resourceId"]
        denied = client.post(ACQUIRE, json={"cname": "c", "uid": "1"}, auth=httpx.BasicAuth("cid", "nope"))
        assert denied.status_code == 401
        assert denied.json() == {"message": "Invalid authentication credentials"}
        assert client.post(ACQUIRE, json={"cname": "c", "uid": "1"}).json() == {"message": "Unauthorized"}


def test_simulator_refuses_default_credentials(monkeypatch):
    for name in ("RECSHELF_SIMULATOR_CUSTOMER_ID", "RECSHELF_SIMULATOR_CUSTOMER_SECRET", "AGORA_CUSTOMER_ID",
                 "AGORA_CUSTOMER_SECRET"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("RECSHELF_SIMULATOR", "1")
    with pytest.raises(InvalidConfig, match="RECSHELF_SIMULATOR_CUSTOMER_ID"):
        create_app(Settings.load())


def test_vendor_100_only_records_into_allowed_stores(monkeypatch, tmp_path):
    allowed, other = tmp_path / "allowed", tmp_path / "other"
    allowed.mkdir()
    other.mkdir()
    monkeypatch.setenv("RECSHELF_SIMULATOR", "1")
    monkeypatch.setenv("AGORA_CUSTOMER_ID", "cid")
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", "csecret")
    monkeypatch.setenv("RECSHELF_SIMULATOR_STORES", allowed.as_uri())
    auth = httpx.BasicAuth("cid", "csecret")
    base = "/v1/apps/app1/cloud_recording/resourceid"
    with TestClient(create_app(Settings.load())) as client:
        for target, expected in ((other.as_uri(), 400), (allowed.as_uri(), 200)):
            acquired = client.post(ACQUIRE, json={"cname": "c", "uid": "1", "clientRequest": {}}, auth=auth).json()
            rid = acquired["resourceId"]
            storage = {"vendor": 100, "region": 0, "bucket": "local", "accessKey": "x", "secretKey": "y",
                       "extensionParams": {"storeUrl": target}}
            start = client.post(f"{base}/{rid}/mode/mix/start", auth=auth,
                                json={"cname": "c", "uid": "1", "clientRequest": {"storageConfig": storage}})
            assert start.status_code == expected, start.text
            if expected == 200:
                client.post(f"{base}/{rid}/sid/{start.json()['sid']}/mode/mix/stop", auth=auth,
                            json={"cname": "c", "uid": "1", "clientRequest": {}})
    assert not any(other.iterdir())

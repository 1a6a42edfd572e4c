"""The simulator is part of `recshelf serve` only when enabled."""

from __future__ import annotations

import httpx
from fastapi.testclient import TestClient

from storage.server import create_app

ACQUIRE = "/v1/apps/app1/cloud_recording/acquire"


def test_simulator_routes_only_when_enabled(monkeypatch):
    monkeypatch.delenv("RECSHELF_SIMULATOR", raising=False)
    with TestClient(create_app()) as client:
        assert client.post(ACQUIRE, json={}).status_code == 404
    monkeypatch.setenv("RECSHELF_SIMULATOR", "1")
    monkeypatch.setenv("AGORA_CUSTOMER_ID", "cid")
    monkeypatch.setenv("AGORA_CUSTOMER_SECRET", "csecret")
    with TestClient(create_app()) as client:
        answer = client.post(ACQUIRE, json={"cname": "c", "uid": "1", "clientRequest": {}},
                             auth=httpx.BasicAuth("cid", "csecret"))
        assert answer.status_code == 200 and answer.json()["resourceId"]
        denied = client.post(ACQUIRE, json={"cname": "c", "uid": "1"}, auth=httpx.BasicAuth("cid", "nope"))
        assert denied.status_code == 401
        assert denied.json() == {"message": "Invalid authentication credentials"}
        assert client.post(ACQUIRE, json={"cname": "c", "uid": "1"}).json() == {"message": "Unauthorized"}

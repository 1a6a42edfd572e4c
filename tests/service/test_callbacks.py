"""POST /agora/events: signatures over the raw body, bad bodies refused unstored, duplicates harmless."""

from __future__ import annotations

import json

import pytest

from storage.agora.signature import sign_v1, sign_v2, signature_ok
from storage.server.app import create_app
from storage.server.callbacks import MAX_BODY
from storage.service.intake import EnvelopeError, parse_envelope
from storage.settings import Settings
from tests.service.conftest import SECRET, App, envelope, signed

# reference/agora.md §3.5 (SIGCN test vector, verified there with Python's hmac)
VECTOR_BODY = (b'{"eventMs":1560408533119,"eventType":10,"noticeId":"4eb720f0-8da7-11e9-a43e-53f411c2761f",'
               b'"notifyMs":1560408533119,"payload":{"a":"1","b":2},"productId":1}')
VECTOR_SHA1 = "033c62f40f687675f17f0f41f91a40c71c0f134c"
VECTOR_SHA256 = "6d3320c60b11101395b7fc8f9068748808a0aa1bfa064438e39d1bc2c7d74d99"


def test_reference_signature_vectors():
    assert sign_v1("secret", VECTOR_BODY) == VECTOR_SHA1
    assert sign_v2("secret", VECTOR_BODY) == VECTOR_SHA256
    assert signature_ok("secret", VECTOR_BODY, {"Agora-Signature-V2": VECTOR_SHA256})
    assert signature_ok("secret", VECTOR_BODY, {"agora-signature": VECTOR_SHA1.upper()})
    assert not signature_ok("secret", VECTOR_BODY + b" ", {"Agora-Signature-V2": VECTOR_SHA256})


@pytest.mark.parametrize("header", ["Agora-Signature-V2", "Agora-Signature"])
def test_either_signature_header_is_accepted(app: App, header: str):
    body = envelope(31)
    value = (sign_v2 if header.endswith("V2") else sign_v1)(SECRET, body)
    response = app.post(body, {"Content-Type": "application/json", header: value})
    assert response.status_code == 200 and response.json() == {}
    assert app.repo.event_count() == 1


def test_stored_event_keeps_the_raw_body_and_indexes(app: App):
    body = envelope(32, sid="b" * 32, cname="class 7b!", notice_id="2000001428:4330:107")
    assert app.post(body).status_code == 200
    (event,) = app.repo.events()
    assert event["noticeId"] == "2000001428:4330:107" and event["eventType"] == 32
    assert event["sid"] == "b" * 32 and event["cname"] == "class 7b!"
    assert event["payload"] == json.loads(body)["payload"]
    stored = app.repo.db.conn().execute("SELECT body FROM events").fetchone()[0].encode()
    assert stored == body  # exactly what was signed


@pytest.mark.parametrize("headers", [
    {},  # unsigned
    {"Agora-Signature-V2": "0" * 64},  # forged
    {"Agora-Signature-V2": sign_v2("another-secret", envelope(31, notice_id="x"))},  # wrong secret
    {"Agora-Signature-V2": "", "Agora-Signature": "nope"},  # V1 checked when V2 is empty, and wrong
], ids=["unsigned", "forged", "wrong-secret", "bad-v1"])
def test_bad_signatures_are_401_and_not_stored(app: App, headers: dict[str, str]):
    response = app.post(envelope(31, notice_id="x"), headers)
    assert response.status_code == 401
    assert app.repo.event_count() == 0


def test_v2_is_preferred_over_a_valid_v1(app: App):
    body = envelope(31)
    headers = {"Agora-Signature": sign_v1(SECRET, body), "Agora-Signature-V2": "f" * 64}
    assert app.post(body, headers).status_code == 401


def test_truncated_body_fails_its_signature(app: App):
    body = envelope(31)
    response = app.post(body[:-10], signed(body))
    assert response.status_code == 401
    assert app.repo.event_count() == 0


@pytest.mark.parametrize("body, message", [
    (b'{"eventType": 31, "payload": {}', "not JSON"),  # truncated, but signed as sent
    (b"\xff\xfe not utf-8", "not JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"eventType": 31}', "noticeId"),
    (b'{"noticeId": "n", "eventType": "31"}', "eventType"),
    (b'{"noticeId": "n", "eventType": true}', "eventType"),
    (b'{"noticeId": "n", "eventType": 31, "payload": []}', "payload"),
])
def test_invalid_envelopes_are_400_and_not_stored(app: App, body: bytes, message: str):
    response = app.post(body)
    assert response.status_code == 400 and message in response.json()["error"]
    assert app.repo.event_count() == 0


def test_oversized_body_is_413_before_anything_else(app: App):
    body = envelope(31, padding="x" * MAX_BODY)
    assert app.post(body).status_code == 413
    assert app.post(body, {"Content-Type": "application/json"}).status_code == 413  # size checked first
    assert app.repo.event_count() == 0


def test_oversized_chunked_body_is_413(app: App):
    def chunks():
        for _ in range(MAX_BODY // 65536 + 2):
            yield b"x" * 65536

    response = app.client.post("/agora/events", content=chunks(), headers={"Agora-Signature-V2": "0" * 64})
    assert response.status_code == 413


def test_replayed_event_is_200_and_stored_once(app: App):
    body = envelope(31, notice_id="same")
    for _ in range(3):
        assert app.post(body).status_code == 200
    # An NCS resend changes notifyMs (and so the signature) but keeps the noticeId.
    resend = body.replace(b'"notifyMs":1611566412672', b'"notifyMs":1611566499999')
    assert app.post(resend).status_code == 200
    assert app.repo.event_count() == 1
    assert len(app.repo.jobs()) == 1  # and one job, not four
    assert app.intake.duplicates == 3


def test_any_order_is_fine(app: App):
    sid = "c" * 32
    for event_type in (33, 11, 31, 4, 30):
        assert app.post(envelope(event_type, sid=sid)).status_code == 200
    assert [e["eventType"] for e in app.repo.events(sid=sid)] == [33, 11, 31, 4, 30]
    (job,) = app.repo.jobs(sid=sid)  # the exit's delayed check merged into the upload's immediate one
    assert job["reason"] == "uploaded" and job["state"] == "queued"


def test_events_of_other_products_are_stored_without_jobs(app: App):
    assert app.post(VECTOR_BODY, signed(VECTOR_BODY)).status_code == 200
    assert app.post(envelope(31, product_id=1)).status_code == 200
    assert app.repo.event_count() == 2 and app.repo.jobs() == []


def test_without_an_intake_the_route_refuses(repo):
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings.load())) as client:
        response = client.post("/agora/events", content=envelope(31), headers=signed(envelope(31)))
    assert response.status_code == 503
    assert repo.event_count() == 0


def test_intake_refuses_to_start_without_a_secret(repo):
    from storage.service.intake import EventIntake

    with pytest.raises(ValueError, match="AGORA_NCS_SECRET"):
        EventIntake(repo, "")


def test_parse_envelope_accepts_the_old_v12_shape():
    env = parse_envelope(b'{"notificationId": "old-1", "eventType": 31, "eventMs": 5, "payload": {"sid": "s"}}')
    assert env.notice_id == "old-1" and env.notify_ms == 5 and env.sid == "s"
    with pytest.raises(EnvelopeError):
        parse_envelope(b'{"noticeId": "", "eventType": 1}')


def test_parse_envelope_refuses_json_that_is_not_utf8():
    # json.loads(bytes) reads UTF-16 too; the intake stores the body as UTF-8 text, so it must be that.
    with pytest.raises(EnvelopeError, match="not JSON"):
        parse_envelope('{"noticeId": "n", "eventType": 31}'.encode("utf-16"))

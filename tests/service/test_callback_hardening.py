"""Hostile but validly signed callbacks: each is its own 4xx, never a 500, and never costs honest events."""

from __future__ import annotations

import asyncio
import json
import logging
from concurrent.futures import Future
from typing import Any

import httpx
import pytest

from storage.server.app import create_app
from storage.server.callbacks import attach
from storage.service.intake import Envelope, EnvelopeError, EventIntake, parse_envelope
from storage.service.repo import Repo
from storage.service.rules import Rules
from storage.settings import Settings
from tests.fixtures.wait import eventually
from tests.service.conftest import SECRET, App, envelope, signed


def _with(body: bytes, **fields: str) -> bytes:
    """`body` with top-level fields replaced by raw JSON text (so escapes like \\ud800 stay as sent)."""
    data = json.loads(body)
    text = json.dumps({k: v for k, v in data.items() if k not in fields}, separators=(",", ":"))
    extra = ",".join(f'"{k}":{v}' for k, v in fields.items())
    return (text[:-1] + "," + extra + "}").encode()


POISONS = {
    "lone-surrogate-notice-id": lambda n: _with(envelope(31), noticeId=f'"\\ud800-{n}"'),
    "event-type-over-64-bits": lambda n: _with(envelope(31), eventType=str(2 ** 64)),
    "product-id-over-64-bits": lambda n: _with(envelope(31), productId=str(2 ** 63)),
    "notify-ms-below-64-bits": lambda n: _with(envelope(31), notifyMs=str(-(2 ** 63) - 1)),
    "lone-surrogate-sid": lambda n: envelope(31, sid="x").replace(b'"sid":"x"', b'"sid":"\\udfff"'),
    "nul-in-cname": lambda n: envelope(31, cname="x").replace(b'"cname":"x"', b'"cname":"a\\u0000b"'),  # PostgreSQL
}


@pytest.mark.parametrize("poison", list(POISONS))
def test_unstorable_envelopes_are_refused(poison: str):
    with pytest.raises(EnvelopeError):
        parse_envelope(POISONS[poison](0))


def test_poisoned_events_sent_with_honest_ones_cost_them_nothing(repo: Repo):
    """All requests are in before the writer starts, so on the old code the poison shares their batch."""
    intake = EventIntake(repo, SECRET, Rules())
    application = create_app(Settings.load())
    attach(application, intake)
    honest = [envelope(31, sid=f"{n:032x}") for n in range(40)]
    poisoned = [make(n) for n in range(4) for make in POISONS.values()]
    bodies = [b for pair in zip(honest, poisoned + [None] * len(honest), strict=False) for b in pair if b]
    answered: list[int] = []

    async def scenario() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            async def post(body: bytes) -> httpx.Response:
                response = await client.post("/agora/events", content=body, headers=signed(body))
                answered.append(response.status_code)
                return response

            sent = asyncio.gather(*(post(b) for b in bodies))
            for _ in range(500):  # until every request is answered or waiting in the intake's queue
                if len(answered) + intake._queue.qsize() >= len(bodies):
                    break
                await asyncio.sleep(0.01)
            intake.start()
            return await sent

    try:
        responses = asyncio.run(scenario())
    finally:
        intake.stop()
    codes = dict(zip(bodies, (r.status_code for r in responses), strict=True))
    assert [codes[b] for b in poisoned] == [400] * len(poisoned)
    assert [codes[b] for b in honest] == [200] * len(honest)
    assert repo.notice_ids() == {json.loads(b)["noticeId"] for b in honest}
    assert len(repo.jobs()) == len(honest)


def test_a_batch_that_fails_anyway_stores_each_event_alone(repo: Repo):
    intake = EventIntake(repo, SECRET, Rules())
    honest = [envelope(31, sid=f"{n:032x}") for n in range(5)]
    # Past validation (as a field a future check forgets could be): the batch's COMMIT cannot happen.
    bad = Envelope("\ud800", 31, 3, None, "s" * 32, "c")
    items = [(parse_envelope(b), b, Future()) for b in honest]
    items.insert(2, (bad, envelope(31), Future()))
    intake._write(items)  # type: ignore[arg-type]
    assert [f.result(1) for env, _, f in items if env is not bad] == [True] * 5
    assert isinstance(items[2][2].exception(1), UnicodeEncodeError)
    assert repo.event_count() == 5


@pytest.mark.parametrize("header", ["Agora-Signature-V2", "Agora-Signature"])
def test_non_ascii_signature_header_is_401(app: App, header: str):
    body = envelope(31)
    response = app.post(body, {"Content-Type": "application/json", header: "säure-ü".encode()})  # type: ignore[dict-item]
    assert response.status_code == 401
    assert app.repo.event_count() == 0


@pytest.mark.parametrize("opening, closing", [(b'{"a":', b"}"), (b"[", b"]")])
def test_json_nested_100000_deep_is_400(app: App, opening: bytes, closing: bytes):
    body = opening * 100_000 + b"1" + closing * 100_000
    response = app.post(body)
    assert response.status_code == 400 and "not JSON" in response.json()["error"]
    assert app.repo.event_count() == 0


def test_client_leaving_mid_body_is_one_quiet_log_line(app: App, caplog: pytest.LogCaptureFixture):
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": b'{"noticeId": "n', "more_body": True},
                                      {"type": "http.disconnect"}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": "/agora/events", "raw_path": b"/agora/events", "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", b"400")],
             "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 80)}
    with caplog.at_level(logging.DEBUG):
        asyncio.run(app.client.app(scope, receive, send))  # raises on the old code
    ours = [r for r in caplog.records if r.name.startswith("storage.")]
    assert len(ours) == 1 and "disconnected" in ours[0].getMessage() and ours[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]
    assert app.repo.event_count() == 0
    assert eventually(lambda: app.intake._queue.qsize() == 0)

"""Fixtures: the Agora simulator served by uvicorn on 127.0.0.1, and an NCS callback receiver."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from fastapi import FastAPI

from storage.agora.client import AgoraClient
from storage.demo.simulator import AgoraSimulator, SimulatorSettings
from storage.server.simulator import simulator_router
from tests.emulators.base import serve_in_thread
from tests.fixtures.local import serve_app
from tests.fixtures.wait import eventually

CUSTOMER_ID = "test-customer"
CUSTOMER_SECRET = "test-customer-secret"
NCS_SECRET = "test-ncs-secret"
APP_ID = "0123456789abcdef0123456789abcdef"


@dataclass
class Running:
    sim: AgoraSimulator
    url: str

    def wait_for_slices(self, sid: str, count: int = 1, timeout_s: float = 30.0) -> None:
        """Until the recorder of `sid` has made `count` slices per track (no fixed sleeps: CI is slow)."""
        task = self.sim.task(sid)
        assert task is not None
        eventually(lambda: task.slices_done >= count, timeout_s, every_s=0.02)

    def client(self, **options: Any) -> AgoraClient:
        settings: dict[str, Any] = {"customer_id": CUSTOMER_ID, "customer_secret": CUSTOMER_SECRET,
                                    "base_url": self.url, "retry_delays": (0, 0, 0)}
        settings.update(options)
        return AgoraClient(APP_ID, **settings)


@pytest.fixture
def simulator() -> Iterator[Callable[..., Running]]:
    """`simulator(**settings) -> Running`: a fresh simulator on its own port (fast clock by default)."""
    stops: list[Callable[[], None]] = []
    sims: list[AgoraSimulator] = []

    def start(**overrides: Any) -> Running:
        settings = SimulatorSettings(customer_id=CUSTOMER_ID, customer_secret=CUSTOMER_SECRET,
                                     callback_secret=NCS_SECRET, speed=4.0, late_delay_s=0.5,
                                     callback_retry_delays=(0.05, 0.1, 0.2))
        for name, value in overrides.items():
            setattr(settings, name, value)
        sim = AgoraSimulator(settings)
        app = FastAPI()
        app.include_router(simulator_router(sim))
        url, stop = serve_app(app)
        stops.append(stop)
        sims.append(sim)
        return Running(sim, url)

    yield start
    for sim in sims:
        sim.close()
    for stop in stops:
        stop()


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class CallbackReceiver:
    url: str
    received: list[Received] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)  # answer these statuses first (to test resends)

    def events(self) -> list[dict[str, Any]]:
        import json

        return [json.loads(r.body) for r in self.received]

    def wait_for(self, predicate: Callable[[list[dict[str, Any]]], bool], timeout_s: float = 20.0) -> bool:
        return bool(eventually(lambda: predicate(self.events()), timeout_s))


@pytest.fixture
def callback_receiver() -> Iterator[CallbackReceiver]:
    receiver = CallbackReceiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                status = receiver.fail_next.pop(0) if receiver.fail_next else 200
                if status == 200:
                    receiver.received.append(Received(dict(self.headers.items()), body))
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    base, stop = serve_in_thread(ThreadingHTTPServer(("127.0.0.1", 0), Handler))
    receiver.url = base + "/agora/callback"
    yield receiver
    stop()

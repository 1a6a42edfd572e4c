"""Fixtures for the service: a database under tmp_path, a fake clock, signed envelopes, the app in-process,
and `recshelf serve` as a real subprocess (so it can be killed with SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from fastapi.testclient import TestClient

from storage.agora.signature import signature_headers
from storage.server.app import create_app
from storage.server.callbacks import attach
from storage.service.database import open_database
from storage.service.db import Database
from storage.service.intake import EventIntake
from storage.service.repo import Repo
from storage.service.rules import Rules
from storage.settings import Settings
from storage.testing.net import free_port, wait_healthy

if TYPE_CHECKING:
    from storage.service.db_postgres import PostgresDatabase

SECRET = "test-ncs-secret"
ROOT = Path(__file__).resolve().parents[2]


class FakeClock:
    def __init__(self, start: float = 1_800_000_000.0) -> None:
        self.t = start

    def __call__(self) -> float:
        return self.t

    def advance(self, seconds: float) -> None:
        self.t += seconds


def envelope(event_type: int, sid: str = "a" * 32, cname: str = "room_1", notice_id: str | None = None,
             product_id: int = 3, **details: Any) -> bytes:
    body = {"noticeId": notice_id or str(uuid.uuid4()), "productId": product_id, "eventType": event_type,
            "notifyMs": 1611566412672,
            "payload": {"cname": cname, "uid": "527841", "sid": sid, "sequence": 1, "sendts": 1611566412001,
                        "serviceType": 2, "details": details}}
    return json.dumps(body, separators=(",", ":")).encode()


def signed(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {"Content-Type": "application/json", **signature_headers(secret, body)}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """None for SQLite in the data folder, or the URL of a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def db(tmp_path: Path, clock: FakeClock, database_url: str | None) -> Iterator[Database | PostgresDatabase]:
    database = open_database(tmp_path / "data", url=database_url, clock=clock)
    yield database
    database.close()


@pytest.fixture
def repo(db: Database) -> Repo:
    return Repo(db)


@dataclass
class App:
    client: TestClient
    intake: EventIntake
    repo: Repo

    def post(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.client.post("/agora/events", content=body, headers=signed(body) if headers is None else headers)


@pytest.fixture
def app(repo: Repo) -> Iterator[App]:
    intake = EventIntake(repo, SECRET, Rules())
    intake.start()
    application = create_app(Settings.load())
    attach(application, intake)
    with TestClient(application) as client:
        yield App(client, intake, repo)
    intake.stop()


@dataclass
class Server:
    """`recshelf serve` in a subprocess."""

    data: Path
    env: dict[str, str]
    args: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.port = free_port()
        cmd = [sys.executable, "-m", "storage.cli", "serve", "--port", str(self.port), "--data", str(self.data),
               "--log-level", "warning", *self.args]
        # Logs go to a file: a pipe nobody reads would block the server once full.
        with (self.data.parent / "serve.log").open("ab") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, cwd=self.data.parent, stdout=log, stderr=log)
        wait_healthy(self.url + "/healthz", self.proc, "recshelf serve")
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown handler runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """`server(*args, config=None, data="data", **env)`: a configured (not yet started) `recshelf serve`."""
    made: list[Server] = []

    def make(*args: str, config: str | None = None, data: str = "data", **env: str) -> Server:
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("RECSHELF_", "AGORA_"))}
        environ.update({"AGORA_NCS_SECRET": SECRET, "PYTHONPATH": str(ROOT), **env})
        if config is not None:
            path = tmp_path / "recshelf.toml"
            path.write_text(config)
            environ["RECSHELF_CONFIG"] = str(path)
        srv = Server(tmp_path / data, environ, list(args))
        made.append(srv)
        return srv

    yield make
    for srv in made:
        srv.kill()


@dataclass
class Worker:
    """`recshelf worker` in a subprocess."""

    proc: subprocess.Popen[bytes]

    @property
    def pid(self) -> int:
        return self.proc.pid

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def workers(postgres_url: str, tmp_path: Path, server):  # postgres_url first: its database outlives the workers
    """`workers(n, srv)`: n `recshelf worker` processes with `srv`'s environment (database, rules)."""
    started: list[Worker] = []

    def start(count: int, srv) -> list[Worker]:
        for n in range(count):
            with (tmp_path / f"worker-{len(started)}.log").open("ab") as log:
                proc = subprocess.Popen([sys.executable, "-m", "storage.cli", "worker", "--data",
                                         str(tmp_path / f"worker-{n}"), "--log-level", "warning"],
                                        env=srv.env, cwd=ROOT, stdout=log, stderr=log)
            started.append(Worker(proc))
        return started[-count:]

    yield start
    for worker in started:
        worker.stop()

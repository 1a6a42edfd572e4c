"""One FastAPI process: Agora callbacks, signed media for local stores, and the Agora simulator.

Each concern lives in its own router module; this file only composes them. Everything the routes
need comes from the `Settings` the caller built at start-up: nothing here reads the environment.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI

from storage.server.callbacks import callbacks_router
from storage.server.login import login_router
from storage.server.media import media_router
from storage.server.share import share_router
from storage.server.simulator import router_from_env as agora_simulator_router
from storage.service.db import DB_NAME, Database
from storage.service.liveness import running_in
from storage.service.repo_shares import ShareRepo
from storage.settings import Settings

SHARE_ROOTS_TTL_S = 5.0  # the folders of active share links, looked up at most this often


def create_app(settings: Settings, *, reload: Callable[[], Settings] | None = None,
               shares: ShareRepo | None = None) -> FastAPI:
    """The app for `settings`; `reload` (e.g. `Settings.load`) lets share links see profile edits.

    `shares` is the share-link table; without one it is opened in the data folder on first use, so
    an app that never serves a share link never creates a database.
    """
    # No /docs, /redoc or /openapi.json: the routes are for players, Agora and the UI, not for browsing,
    # and they would answer without the UI's login.
    app = FastAPI(title="recshelf", docs_url=None, redoc_url=None, openapi_url=None)
    share_repo = _shares_source(settings, shares)
    # Secret: $RECSHELF_MEDIA_SECRET, else [server] media_secret. Served: the configured folders, and
    # the local folders that active share links open (made in the UI for a folder typed there).
    # A media-only app (no share link made yet) never creates the database just to look.
    has_shares = (lambda: True) if shares is not None else (settings.data_dir() / DB_NAME).exists
    data_dir = settings.data_dir().absolute()
    app.include_router(media_router(settings.media_secret, _media_roots(settings, share_repo, has_shares),
                                    running=lambda sid: running_in(data_dir, sid)))
    app.include_router(share_router(reload or settings, share_repo))  # /share/<token>: page, playlist, download
    app.include_router(agora_simulator_router(settings))  # Agora REST paths, only when $RECSHELF_SIMULATOR=1
    app.include_router(login_router(reload or (lambda: settings)))  # the UI's login cookie (webui/auth.py)
    app.include_router(callbacks_router())  # POST /agora/events; needs storage.server.callbacks.attach(app, intake)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _shares_source(settings: Settings, given: ShareRepo | None) -> Callable[[], ShareRepo]:
    if given is not None:
        return lambda: given

    @functools.cache
    def opened() -> ShareRepo:
        return ShareRepo(Database(settings.data_dir(), synchronous=settings.env.sqlite_sync))

    return opened


def _media_roots(settings: Settings, shares: Callable[[], ShareRepo],
                 has_shares: Callable[[], bool]) -> Callable[[], list[Path]]:
    lock = threading.Lock()
    cached: dict[str, tuple[float, list[Path]]] = {}

    def roots() -> list[Path]:
        with lock:
            at, found = cached.get("roots", (0.0, []))
            if not found or time.monotonic() - at > SHARE_ROOTS_TTL_S:
                try:
                    stores = shares().active_stores() if has_shares() else []
                except (OSError, sqlite3.Error):
                    stores = []
                found = settings.media_roots(extra_refs=stores)
                cached["roots"] = (time.monotonic(), found)
            return found

    return roots


def app_from_environment() -> FastAPI:
    """`uvicorn storage.server.app:app_from_environment --factory` (what `recshelf ui` starts)."""
    return create_app(Settings.load(), reload=Settings.load)

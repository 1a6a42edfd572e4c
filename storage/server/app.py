"""One FastAPI process: Agora callbacks, signed media for local stores, and the Agora simulator.

Each concern lives in its own router module; this file only composes them. Everything the routes
need comes from the `Settings` the caller built at start-up: nothing here reads the environment.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI

from storage.server.callbacks import callbacks_router
from storage.server.login import login_router
from storage.server.media import media_router
from storage.server.share import share_router
from storage.server.simulator import router_from_env as agora_simulator_router
from storage.service.liveness import running_in
from storage.settings import Settings


def create_app(settings: Settings, *, reload: Callable[[], Settings] | None = None) -> FastAPI:
    """The app for `settings`; `reload` (e.g. `Settings.load`) lets share links see profile edits."""
    # No /docs, /redoc or /openapi.json: the routes are for players, Agora and the UI, not for browsing,
    # and they would answer without the UI's login.
    app = FastAPI(title="recshelf", docs_url=None, redoc_url=None, openapi_url=None)
    # Secret: $RECSHELF_MEDIA_SECRET, else [server] media_secret; only the configured folders are served.
    data_dir = settings.data_dir().absolute()
    app.include_router(media_router(settings.media_secret, settings.media_roots(),
                                    running=lambda sid: running_in(data_dir, sid)))
    app.include_router(share_router(reload or settings))  # signed share links (playlist re-signed on each request)
    app.include_router(agora_simulator_router(settings))  # Agora REST paths, only when $RECSHELF_SIMULATOR=1
    app.include_router(login_router(reload or (lambda: settings)))  # the UI's login cookie (webui/auth.py)
    app.include_router(callbacks_router())  # POST /agora/events; needs storage.server.callbacks.attach(app, intake)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_environment() -> FastAPI:
    """`uvicorn storage.server.app:app_from_environment --factory` (what `recshelf ui` starts)."""
    return create_app(Settings.load(), reload=Settings.load)

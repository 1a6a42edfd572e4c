"""One FastAPI process: Agora callbacks, signed media for local stores, and the Agora simulator.

Each concern lives in its own router module; this file only composes them.
"""

from __future__ import annotations

from fastapi import FastAPI

from storage.server.callbacks import callbacks_router
from storage.server.media import media_router
from storage.server.share import router as share_router
from storage.server.simulator import router_from_env as agora_simulator_router


def create_app() -> FastAPI:
    app = FastAPI(title="recshelf")
    app.include_router(media_router())  # secret: $RECSHELF_MEDIA_SECRET, else [server] media_secret
    app.include_router(share_router)  # signed share links (playlist re-signed on each request)
    app.include_router(agora_simulator_router())  # Agora REST paths, only when $RECSHELF_SIMULATOR=1
    app.include_router(callbacks_router())  # POST /agora/events; needs storage.server.callbacks.attach(app, intake)

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

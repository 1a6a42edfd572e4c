"""One FastAPI process: Agora callbacks, signed media for local stores, and the Agora simulator.

Each concern lives in its own router module; this file only composes them.
"""

from __future__ import annotations

from fastapi import FastAPI

from storage.media_route import media_router


def create_app() -> FastAPI:
    app = FastAPI(title="recshelf")
    app.include_router(media_router())  # secret: app.state.media_secret, else $RECSHELF_MEDIA_SECRET

    @app.get("/healthz")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app

"""Open the service database that is configured: PostgreSQL when a URL is given, else the data folder's SQLite."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from storage.service.db import Database

if TYPE_CHECKING:
    from storage.service.db_postgres import PostgresDatabase


def open_database(folder: str | Path | None = None, *, url: str | None = None, synchronous: str | None = None,
                  clock: Callable[[], float] = time.time) -> Database | PostgresDatabase:
    """PostgreSQL when `url` is given (`Settings.database_url()`), else the folder's SQLite file.

    Either way the object answers alike: `conn()`, `close()`, `folder`, `where`, `clock`, `dialect`.
    """
    if url:
        from storage.service.db_postgres import PostgresDatabase  # psycopg loads only for PostgreSQL

        return PostgresDatabase(url, folder, clock=clock)
    return Database(folder, synchronous=synchronous, clock=clock)

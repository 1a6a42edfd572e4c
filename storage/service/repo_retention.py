"""The statement the periodic retention run needs on top of `storage.service.repo`: is a run already pending?"""

from __future__ import annotations

from typing import Any

RETENTION_KIND = "retention"


def pending_retention_job(conn: Any) -> int | None:
    """The id of the queued or running retention job, if there is one (a restart must not add a second)."""
    row = conn.execute("SELECT id FROM jobs WHERE kind = ? AND state IN ('queued', 'running') ORDER BY id LIMIT 1",
                       (RETENTION_KIND,)).fetchone()
    return int(row["id"]) if row is not None else None

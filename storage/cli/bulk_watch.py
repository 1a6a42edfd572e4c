"""`recshelf jobs --watch [BULK_ID]` and `recshelf jobs --bulk`: a bulk job's progress, live or once as JSON."""

from __future__ import annotations

import json
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

from storage.cli.common import error_exit, print_rows

REFRESH_S = 1.0


def _progress(repo: Any, bulk_id: int) -> dict[str, Any]:
    from storage.service.bulk import progress

    found = progress(repo, bulk_id, repo.clock())
    if found is None:
        raise error_exit(f"no bulk job {bulk_id} in {repo.db.where}")
    return found


def _bulk_id(repo: Any, given: int | None) -> int:
    from storage.service.repo_bulk import latest_bulk_id

    found = given if given is not None else latest_bulk_id(repo)
    if found is None:
        raise error_exit(f"no bulk job in {repo.db.where} (queue one with `recshelf export|verify --all --queue`)")
    return found


def _seconds(value: float | None) -> str:
    if value is None:
        return "?"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def _table(p: dict[str, Any]) -> Table:
    table = Table(title=f"bulk job {p['id']}: {p['kind']} of {p['total']} in {p['batches']} batch(es) — {p['state']}")
    for column in ("done", "failed", "running", "queued", "rate /s", "elapsed", "ETA", "statuses"):
        table.add_column(column)
    rate = f"{p['rate_per_s']:.2f}" if p["rate_per_s"] else "?"
    statuses = ", ".join(f"{k} {v}" for k, v in sorted(p["statuses"].items()))
    table.add_row(str(p["done"]), str(p["failed"]), str(p["running"]), str(p["queued"]), rate,
                  _seconds(p["elapsed_s"]), _seconds(p["eta_s"]), statuses)
    return table


def show_bulk(repo: Any, bulk_id: int | None, *, watch: bool, as_json: bool) -> None:
    """Once as JSON (scripts) or a table; with `watch`, a table refreshed every second until the job is done."""
    chosen = _bulk_id(repo, bulk_id)
    if as_json:
        print(json.dumps(_progress(repo, chosen), indent=2))
        return
    if not watch:
        Console().print(_table(_progress(repo, chosen)))
        return
    current = _progress(repo, chosen)
    with Live(_table(current), refresh_per_second=4) as live:
        while current["state"] != "done":
            time.sleep(REFRESH_S)
            current = _progress(repo, chosen)
            live.update(_table(current))


def list_bulk(repo: Any, as_json: bool) -> None:
    from storage.service.repo_bulk import bulk_jobs

    rows = [_progress(repo, row["id"]) for row in bulk_jobs(repo)]
    print_rows(rows, as_json, f"{len(rows)} bulk job(s) in {repo.db.where}",
               ("id", "kind", "state", "total", "done", "failed", "running", "store"),
               lambda p: (str(p["id"]), p["kind"], p["state"], str(p["total"]), str(p["done"]), str(p["failed"]),
                          str(p["running"]), str(p["params"].get("store", ""))))

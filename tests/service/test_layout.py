"""The service's shape: SQL only in storage.service.repo, its repo_* siblings and db; handlers never import jobs."""

from __future__ import annotations

import re
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]
SQL = re.compile(r"\b(SELECT .* FROM|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE (TABLE|INDEX))\b")
SQL_HOME = re.compile(r"storage/service/(repo(_\w+)?|db)\.py")


def test_sql_lives_in_the_repo_only():
    holders = sorted(str(path.relative_to(ROOT)) for folder in ("storage", "webui")
                     for path in (ROOT / folder).rglob("*.py") if SQL.search(path.read_text(encoding="utf-8")))
    assert all(SQL_HOME.fullmatch(holder) for holder in holders), holders


def test_db_holds_the_schema_only():
    text = (ROOT / "storage/service/db.py").read_text(encoding="utf-8")
    assert not re.search(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM)\b", text)


def test_no_import_cycle_between_jobs_and_handlers():
    graph = grimp.build_graph("storage")
    assert not graph.chain_exists("storage.service.handlers", "storage.service.jobs")
    assert not graph.chain_exists("storage.service.repo", "storage.service.jobs")
    assert not graph.chain_exists("storage.service", "storage.server", as_packages=True)

"""The web UI's verification results in the service database (storage.service.repo_verification)."""

from __future__ import annotations

from storage.service.db import MIGRATIONS, Database
from storage.service.repo_verification import VerificationRepo, Verified


def test_results_are_stored_replaced_and_read_by_fingerprint(tmp_path):
    repo = VerificationRepo(Database(tmp_path))
    report = {"status": "incomplete", "duration_s": 12.5, "missing": ["rec/a_1.ts"]}
    repo.save("store-a", [Verified("rec/a", "fp1", report), Verified("rec/b", "fp2", {"status": "complete"})])
    statuses = repo.statuses("store-a")
    assert {k: (v.fingerprint, v.status, v.duration_s) for k, v in statuses.items()} == {
        "rec/a": ("fp1", "incomplete", 12.5), "rec/b": ("fp2", "complete", None)}
    assert repo.report("store-a", "rec/a", "fp1") == report
    assert repo.report("store-a", "rec/a", "changed") is None  # a changed listing is not verified
    assert repo.statuses("store-b") == {}
    repo.save("store-a", [Verified("rec/a", "fp3", {"status": "complete", "duration_s": 13.0})])
    assert repo.statuses("store-a")["rec/a"].status == "complete"
    assert repo.report("store-a", "rec/a", "fp1") is None
    # A second process (the next `recshelf ui`) sees them at once.
    again = VerificationRepo(Database(tmp_path))
    assert set(again.statuses("store-a")) == {"rec/a", "rec/b"}
    again.forget("store-a")
    assert repo.statuses("store-a") == {}


def test_migration_is_appended(tmp_path):
    db = Database(tmp_path)
    assert db.conn().execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    names = {row[0] for row in db.conn().execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"events", "jobs", "checks", "recordings", "verifications"} <= names

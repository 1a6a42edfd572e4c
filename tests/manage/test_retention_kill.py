"""`recshelf retention apply` SIGKILLed mid-archive or mid-tier; the next periodic run of `recshelf serve`
(or the next `retention apply`) finishes it from its journal, ending as an uninterrupted run would.

Re-planning alone could not: a half-deleted recording no longer verifies complete (its archive rule stops
matching, its leftovers would stay) and a half-tiered one plans differently (its journal would refuse it).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from storage.media.naming import RecordingKey
from storage.service.audit import AuditTrail
from storage.service.database import open_database
from storage.service.jobs import JobRunner
from storage.service.repo import Repo
from storage.service.retention_job import schedule_retention
from storage.service.rules import Rules
from storage.stores.local import LocalStore
from tests.manage.helpers import SID, fake_keys, listed, write_all
from tests.manage.kill import child_env, interrupted_run, journal_lines, recshelf, steps
from tests.manage.test_cli_tier import CREDENTIALS, _classes, killed_mid_tier

OLD = RecordingKey(SID[:30], "old_room", "1", "audio")  # what the rule archives or tiers
KEPT = RecordingKey(SID, "staff", "1", "audio")  # a sid that starts with OLD's, another channel: never touched
ARCHIVE_RULE = {"name": "archive old rooms", "channel": "old_*", "older_than": "30d", "action": "archive"}
TIER_RULE = {"name": "cool old rooms", "channel": "old_*", "older_than": "30d", "action": "tier",
             "class": "GLACIER_IR"}


def _objects(slices: int) -> tuple[dict[str, bytes], dict[str, bytes]]:
    return (fake_keys("rec/", OLD, slices, failover_parts=1, redelivered=True, mp4=True),
            fake_keys("rec/", KEPT, slices))


def _config(folder: Path, store: str, rule: dict[str, str]) -> Path:
    lines = "".join(f'{name} = "{value}"\n' for name, value in rule.items())
    path = folder / "recshelf.toml"
    path.write_text(f'[rules]\nstore = "{store}"\n\n[[rules.retention]]\n{lines}')
    return path


def _periodic_run(data: Path, store: str, rule: dict[str, str]) -> dict[str, Any]:
    """One run of serve's retention job on the killed run's data folder; its audit row's detail."""
    rules = Rules.from_table({"store": store, "retention_every": "1h", "poll_s": 0.05, "workers": 1,
                              "retention": [rule]})
    repo = Repo(open_database(data))
    try:
        runner = JobRunner(repo, rules)
        assert schedule_retention(repo, rules, runner.clock() - 7200) is not None  # due now
        runner.run_once()
        (entry,) = [e for e in AuditTrail(repo.db).entries(action="retention") if e.outcome != "started"]
        assert (entry.actor, entry.outcome) == ("server", "done"), entry
        return entry.detail
    finally:
        repo.close()


def _archive_build(folder: Path, slices: int) -> tuple[list[str], Path]:
    source, archive = folder / "src", folder / "archive"
    source.mkdir(parents=True)
    archive.mkdir()
    target, others = _objects(slices)
    write_all(LocalStore(source), target | others)
    rule = {**ARCHIVE_RULE, "to": archive.as_posix()}
    config = _config(folder, source.as_posix(), rule)
    # Each attempt has its own recshelf.toml, named to the child (and to the re-run) on its command line.
    return ["env", f"RECSHELF_CONFIG={config}", *recshelf("retention", "apply", data=folder / "data")], \
        folder / "data"


def _copying(data: Path) -> bool:  # the plan is journaled and objects are arriving, the copy not proven
    archive = [p for p in (data.parent / "archive" / "rec").glob("*") if p.is_file()]
    return bool(journal_lines(data)) and len(archive) >= 10 and not steps("copy", data)


@pytest.mark.parametrize("cut", ["mid-copy", "mid-delete"])
@pytest.mark.parametrize("finisher", ["periodic run", "retention apply"])
def test_archive_killed_then_finished_never_loses_the_source(tmp_path: Path, cut: str, finisher: str) -> None:
    ready = _copying if cut == "mid-copy" else (lambda data: steps("delete", data) >= 1)
    folder, cmd, slices = interrupted_run(tmp_path, 500, _archive_build, ready)
    source, archive = LocalStore(folder / "src"), LocalStore(folder / "archive")
    target, others = _objects(slices)
    assert (steps("copy", folder / "data") > 0) == (cut == "mid-delete")
    now_source, now_archive = listed(source), listed(archive)
    for key, data in target.items():  # the source is never lost: each object is there, or copied whole
        assert now_source.get(key) == len(data) or now_archive.get(key) == len(data), key

    if finisher == "periodic run":
        rule = {**ARCHIVE_RULE, "to": archive.root.as_posix()}
        detail = _periodic_run(folder / "data", source.root.as_posix(), rule)
        (step,) = detail["steps"]
        assert (step["rule"], step["action"], step["status"], step["resumed"]) == \
            ("archive old rooms", "archive", "done", True), detail
        assert detail["objects"] == len(target)
    else:
        done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300, env=child_env())
        assert done.returncode == 0, done.stderr + done.stdout
        result = json.loads(done.stdout)
        assert result["plan"]["interrupted"] == [result["plan"]["steps"][0]["plan"]["id"]]
        assert [(o["status"], o["resumed"]) for o in result["outcomes"]] == [("done", True)]
    assert listed(source) == {key: len(data) for key, data in others.items()}
    assert {k: v for k, v in listed(archive).items() if not k.startswith(".recshelf")} == {
        key: len(data) for key, data in target.items()}


def test_tier_killed_mid_run_then_the_periodic_run_finishes_it(s3_store_factory: Any, s3_server_url: str,
                                                                tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    def command(folder: Path, url: str) -> list[str]:
        config = _config(folder, url, TIER_RULE)
        return ["env", f"RECSHELF_CONFIG={config}", *recshelf("retention", "apply", data=folder / "data")]

    run = killed_mid_tier(tmp_path, s3_store_factory, s3_server_url, _objects, command)
    store, target, others = run.store, run.target, run.others

    for name, value in CREDENTIALS.items():  # the job opens the store as `recshelf serve` would: from the env
        monkeypatch.setenv(name, value)
    detail = _periodic_run(run.folder / "data", run.url, TIER_RULE)
    (step,) = detail["steps"]
    assert (step["action"], step["status"], step["resumed"]) == ("tier", "done", True), detail
    assert set(_classes(store, target).values()) == {"GLACIER_IR"} and len(_classes(store, target)) == len(target)
    assert set(_classes(store, others).values()) == {"STANDARD"}

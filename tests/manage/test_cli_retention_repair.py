"""`recshelf retention plan|apply` from a recshelf.toml, and `recshelf repair`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from storage.demo.samples import write_recording
from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from tests.fixtures.media import SAMPLE_START
from tests.manage.helpers import listed
from tests.manage.kill import child_env

OLD = RecordingKey("a" * 32, "old_lesson")
RECENT = RecordingKey("c" * 32, "old_lesson_2")
BROKEN = RecordingKey("e" * 32, "lost playlist")


def _cli(*args: str, config: Path, check: bool = True) -> Any:
    result = subprocess.run([sys.executable, "-m", "storage.cli", *args, "--json"], capture_output=True, text=True,
                            timeout=300, stdin=subprocess.DEVNULL, env=child_env({"RECSHELF_CONFIG": str(config)}))
    assert not check or result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_retention_plan_then_apply_and_repair(tmp_path: Path) -> None:
    src, archive = tmp_path / "src", tmp_path / "archive"
    src.mkdir()
    archive.mkdir()
    store = LocalStore(src)
    old = write_recording(store, "rec/", OLD, SAMPLE_START)
    recent = write_recording(store, "rec/", RECENT, datetime.now(UTC))
    broken = write_recording(store, "rec/", BROKEN, SAMPLE_START, faults={"no_playlist"})
    config = tmp_path / "recshelf.toml"
    config.write_text(f'[rules]\nstore = "{src.as_posix()}"\n\n[[rules.retention]]\nname = "old lessons"\n'
                      'channel = "old_*"\nolder_than = "30d"\naction = "delete"\n')
    data = str(tmp_path / "data")

    preview = _cli("retention", "plan", config=config)["plan"]
    assert [step["rule"] for step in preview["steps"]] == ["old lessons"]
    planned = sorted(obj["key"] for obj in preview["steps"][0]["plan"]["objects"])
    assert planned == sorted(old) and listed(store).keys() >= set(old)  # a preview changes nothing
    applied = _cli("retention", "apply", "--yes", "--data", data, config=config)
    assert applied["plan"] == preview and [o["status"] for o in applied["outcomes"]] == ["done"]
    assert set(listed(store)) == set(recent) | set(broken)  # exactly the plan went

    repaired = _cli("repair", str(src), "--sid", BROKEN.sid, "--yes", "--data", data, config=config)
    assert repaired["outcome"]["status"] == "done"
    new_key = repaired["plan"]["objects"][0]["key"]
    assert new_key not in broken and store.read(new_key).startswith(b"#EXTM3U")
    verified = _cli("verify", str(src), "--sid", BROKEN.sid, config=config)
    assert verified["summary"] == {"complete": 1}


def test_a_wrong_rule_is_a_configuration_error(tmp_path: Path) -> None:
    config = tmp_path / "recshelf.toml"
    config.write_text('[rules]\nstore = "."\n[[rules.retention]]\naction = "shred"\n')
    result = subprocess.run([sys.executable, "-m", "storage.cli", "retention", "plan"], capture_output=True,
                            text=True, timeout=120, env=child_env({"RECSHELF_CONFIG": str(config)}))
    assert result.returncode == 2 and "action must be one of" in result.stderr

"""`recshelf retention plan|apply` from a recshelf.toml, and `recshelf repair`, as a user runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.demo.samples import write_recording
from storage.demo.synth import PlaylistItem, agora_playlist
from storage.media.naming import RecordingKey, playlist_name, slice_name
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


def test_repair_of_scattered_slices_and_a_refusal_naming_what_is_lost(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    store = LocalStore(tmp_path / "src")
    scattered = RecordingKey("f" * 32, "scattered")
    lost = RecordingKey("d" * 32, "lost slices")
    for key in (scattered, lost):
        write_recording(store, "rec/", key, SAMPLE_START, slices=4)
    for key, named in ((scattered, 2), (lost, 4)):
        slices = sorted(k for k in listed(store) if k.startswith(f"rec/{key.sid}") and k.endswith(".ts"))
        items = [PlaylistItem(k.removeprefix("rec/"), 1.0) for k in slices[:named]]
        store.write("rec/" + playlist_name(key), agora_playlist(items).encode())
    gone = sorted(k for k in listed(store) if k.startswith(f"rec/{lost.sid}") and k.endswith(".ts"))[1]
    store.delete(gone)
    store.write("rec/" + slice_name(lost, SAMPLE_START + timedelta(minutes=5)), store.read(slices[0]))
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    data = str(tmp_path / "data")

    repaired = _cli("repair", str(tmp_path / "src"), "--sid", scattered.sid, "--yes", "--data", data, config=config)
    assert repaired["outcome"]["status"] == "done"
    assert repaired["outcome"]["repaired"] == ["rec/" + scattered.base]
    assert any("2 of 4 slice(s) not named" in warning for warning in repaired["plan"]["warnings"])
    assert _cli("verify", str(tmp_path / "src"), "--sid", scattered.sid, config=config)["summary"] == {"complete": 1}

    refused = _cli("repair", str(tmp_path / "src"), "--sid", lost.sid, "--yes", "--data", data, config=config,
                   check=False)
    assert refused["outcome"] is None and gone in refused["plan"]["refusals"][0]

"""`recshelf tier` on S3 (moto) killed with SIGKILL mid-run, then run again; `ls` and `du` show the classes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from storage.stores.base import ObjectStore
from storage.stores.classes import listing_classes
from tests.fixtures.s3 import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY
from tests.manage.helpers import TARGET, colliding_set, write_all
from tests.manage.kill import child_env, interrupted_run, recshelf, steps

CREDENTIALS = {"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}


def _classes(store: ObjectStore, keys: Any) -> dict[str, str | None]:
    wanted = set(keys)
    with listing_classes(store):
        return {obj.key: obj.storage_class for obj in store.list() if obj.key in wanted}


Objects = Callable[[int], tuple[dict[str, bytes], dict[str, bytes]]]  # slices -> (target, others)
Command = Callable[[Path, str], list[str]]  # (the attempt's folder, the store URL) -> the command to kill


@dataclass
class CutTier:
    folder: Path
    cmd: list[str]
    store: ObjectStore
    url: str  # the store with its moto endpoint, as the child was given it
    target: dict[str, bytes]
    others: dict[str, bytes]


def killed_mid_tier(tmp_path: Path, s3_store_factory: Any, s3_server_url: str, objects: Objects,
                    command: Command) -> CutTier:
    """A tier to GLACIER_IR on moto, run by `command`, SIGKILLed after its first batch (proven cut mid-way)."""
    stores: dict[Path, tuple[ObjectStore, str]] = {}

    def build(folder: Path, slices: int) -> tuple[list[str], Path]:
        folder.mkdir(parents=True, exist_ok=True)
        store = s3_store_factory()
        target, others = objects(slices)
        write_all(store, target | others)
        url = f"{store.url}?endpoint={s3_server_url}&region={S3_REGION}"
        stores[folder] = (store, url)
        return command(folder, url), folder / "data"

    folder, cmd, slices = interrupted_run(tmp_path, 120, build, lambda data: steps("tier", data) >= 1,
                                          env=CREDENTIALS)
    store, url = stores[folder]
    target, others = objects(slices)
    cut = _classes(store, target)
    assert 0 < sum(cls == "GLACIER_IR" for cls in cut.values()) < len(target)  # cut mid-way
    assert set(_classes(store, others).values()) == {"STANDARD"}  # nothing of another recording touched
    return CutTier(folder, cmd, store, url, target, others)


def test_tier_killed_mid_run_then_rerun_on_s3(s3_store_factory: Any, s3_server_url: str, tmp_path: Path) -> None:
    def command(folder: Path, url: str) -> list[str]:
        return recshelf("tier", url, "--sid", TARGET.sid, "--uid", "1", "--class", "glacier_ir", data=folder / "data")

    run = killed_mid_tier(tmp_path, s3_store_factory, s3_server_url, colliding_set, command)
    cmd, store, url, target, others = run.cmd, run.store, run.url, run.target, run.others

    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300, env=child_env(CREDENTIALS))
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)["outcome"]
    assert outcome["status"] == "done" and outcome["resumed"], outcome
    assert set(_classes(store, target).values()) == {"GLACIER_IR"} and len(_classes(store, target)) == len(target)
    assert set(_classes(store, others).values()) == {"STANDARD"}

    def cli(*args: str) -> Any:
        result = subprocess.run([sys.executable, "-m", "storage.cli", *args, "--json"], capture_output=True,
                                text=True, timeout=120, env=child_env(CREDENTIALS))
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    listed = {row["id"]: row for row in cli("ls", url)["recordings"]}
    target_row = next(row for row in listed.values() if row["sid"] == TARGET.sid and row["uid"] == "1")
    assert target_row["storage_class"] == "GLACIER_IR" and not target_row["needs_restore"]
    assert {row["storage_class"] for row in listed.values() if row is not target_row} == {"STANDARD"}
    by_class = {row["group"]: row["recordings"] for row in cli("du", url, "--by", "class")["groups"]}
    assert by_class == {"GLACIER_IR": 1, "STANDARD": len(listed) - 1}

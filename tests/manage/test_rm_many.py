"""`recshelf rm` of many recordings: --sid repeated, --sids-from, --channel; one listing to plan, one to confirm."""

from __future__ import annotations

import json
import subprocess
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from storage.cli import app
from storage.cli.rm_many import verified_statuses
from storage.manage.apply import apply_deletes, pending_plan
from storage.manage.delete import plan_delete
from storage.manage.journal import Journal
from storage.manage.plan import Plan
from storage.manage.selection import plan_delete_many
from storage.media.naming import RecordingKey, playlist_name
from storage.recordings.catalog import find
from storage.recordings.objects import listing_fingerprint
from storage.recordings.verify import verify
from storage.service.db import Database
from storage.service.repo_verification import VerificationRepo, Verified
from storage.stores.base import ObjectStore
from storage.stores.local import LocalStore
from storage.stores.s3 import S3Store
from tests.fixtures.s3 import S3_ACCESS_KEY, S3_REGION, S3_SECRET_KEY
from tests.fixtures.stores import StoreFactory
from tests.manage.helpers import fake_keys, listed, write_all
from tests.manage.kill import interrupted_run, recshelf, steps

TARGETS = [RecordingKey("ab12", "room"), RecordingKey("ab12", "room2"), RecordingKey("cd34ef", "room", "7", "audio")]
NEIGHBOURS = [RecordingKey("ab123", "room"), RecordingKey("cd34", "room"), RecordingKey("ef56", "room2")]


def _objects(keys: list[RecordingKey], slices: int = 3) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for index, key in enumerate(keys):
        found |= fake_keys("agora/", key, slices, failover_parts=index % 2, redelivered=index == 0)
    return found


@pytest.fixture(params=["local", "s3"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[ObjectStore, str, dict[str, str]]:
    """A store holding the targets and their neighbours, the STORE argument naming it, and the CLI's env."""
    if request.param == "local":
        (tmp_path / "store").mkdir()
        store: ObjectStore = LocalStore(tmp_path / "store")
        arg, env = str(tmp_path / "store"), {}
    else:
        s3: S3Store = request.getfixturevalue("s3_store_factory")()
        store = s3
        arg = f"{s3.url}?endpoint={s3.client.meta.endpoint_url}&region={S3_REGION}"
        env = {"AWS_ACCESS_KEY_ID": S3_ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": S3_SECRET_KEY}
    write_all(store, _objects(TARGETS) | _objects(NEIGHBOURS))
    return store, arg, env


def _rm(site: tuple[ObjectStore, str, dict[str, str]], data: Path, *args: str, stdin: str | None = None) -> Any:
    _, arg, env = site
    return CliRunner().invoke(app, ["rm", arg, "--prefix", "agora/", *args, "--data", str(data)], env=env,
                              input=stdin)


def _kept() -> dict[str, int]:
    return {key: len(data) for key, data in _objects(NEIGHBOURS).items()}


def test_repeated_sid_deletes_every_recording_of_each_and_nothing_else(site, tmp_path: Path) -> None:
    result = _rm(site, tmp_path / "data", "--sid", "ab12", "--sid", "cd34ef", "--yes", "--json")
    assert result.exit_code == 0, result.output
    done = json.loads(result.stdout)
    assert done["plan"]["request"]["sids"] == ["ab12", "cd34ef"]
    assert len(done["plan"]["recordings"]) == 3 and done["plan"]["confirm_prefix"] == "agora/"
    assert done["outcome"]["status"] == "done" and done["outcome"]["deleted"] == len(_objects(TARGETS))
    assert listed(site[0]) == _kept()  # ab123 and cd34 share a prefix with a target, not a recording


def test_sids_from_a_file_and_from_stdin(site, tmp_path: Path) -> None:
    names = tmp_path / "sids.txt"
    names.write_text("# to delete\nab12\n\n  cd34ef  \nab12\n")
    result = _rm(site, tmp_path / "data", "--sids-from", str(names), "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)["plan"]
    assert plan["request"]["sids"] == ["ab12", "cd34ef"] and len(plan["recordings"]) == 3
    assert json.loads(result.stdout)["outcome"] is None
    assert len(listed(site[0])) == len(_objects(TARGETS) | _objects(NEIGHBOURS))  # a dry run changes nothing
    piped = _rm(site, tmp_path / "data", "--sids-from", "-", "--sid", "ef56", "--yes", "--json",
                stdin="ab12\ncd34ef\n")
    assert piped.exit_code == 0, piped.output
    assert json.loads(piped.stdout)["plan"]["request"]["sids"] == ["ab12", "cd34ef", "ef56"]
    assert listed(site[0]) == {key: size for key, size in _kept().items() if "ef56" not in key}


def test_a_sid_that_matches_nothing_is_refused_and_nothing_changes(site, tmp_path: Path) -> None:
    result = _rm(site, tmp_path / "data", "--sid", "ab12", "--sid", "ab1", "--yes", "--json")
    assert result.exit_code == 1
    done = json.loads(result.stdout)
    assert done["outcome"] is None and done["plan"]["refusals"] == [
        f"no recording of sid ab1 under 'agora/' in {site[0].url}"]
    assert len(listed(site[0])) == len(_objects(TARGETS) | _objects(NEIGHBOURS))


def test_channel_takes_exactly_that_channel(site, tmp_path: Path) -> None:
    result = _rm(site, tmp_path / "data", "--channel", "room2", "--dry-run", "--json")
    assert result.exit_code == 0, result.output
    ids = sorted(rec["id"] for rec in json.loads(result.stdout)["plan"]["recordings"])
    assert ids == ["agora/ab12_room2", "agora/ef56_room2"]  # not the channel "room"


def test_bad_names_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "store").mkdir()
    names = tmp_path / "sids.txt"
    names.write_text("ab12\nab12 room\n")

    def rm(*args: str) -> Any:
        return CliRunner().invoke(app, ["rm", str(tmp_path / "store"), *args, "--data", str(tmp_path / "data")])

    bad_line = rm("--sids-from", str(names))
    assert bad_line.exit_code == 2 and "line 2" in bad_line.output and "is not a sid" in bad_line.output
    assert rm().exit_code == 2 and "--sids-from" in rm().output
    assert rm("--sids-from", str(tmp_path / "nope.txt")).exit_code == 2
    assert rm("--sid", "bak0").exit_code == 2  # a failover prefix, never a sid
    names.write_text("# nothing\n")
    assert rm("--sids-from", str(names)).exit_code == 2


@contextmanager
def _operations(store: S3Store) -> Iterator[Counter[str]]:
    """Every request the store's boto3 client sends, by operation; listings by boto3 too, so none escapes."""
    counts: Counter[str] = Counter()

    def count(model: Any, **_: Any) -> None:
        counts[model.name] += 1

    store.client.meta.events.register("before-call.s3", count)
    try:
        with store.precise_listing():
            yield counts
    finally:
        store.client.meta.events.unregister("before-call.s3", count)


def test_three_recordings_on_s3_one_listing_to_plan_one_to_confirm(s3_store_factory: StoreFactory,
                                                                   tmp_path: Path) -> None:
    store = s3_store_factory()
    write_all(store, _objects(TARGETS) | _objects(NEIGHBOURS))
    with _operations(store) as planning:
        plan = plan_delete_many(store, ["ab12", "cd34ef"], prefix="agora/")
    assert not plan.refused and len(plan.recordings) == 3
    # One listing; each playlist read once (the second recording has a failover part: two playlists).
    assert planning == {"ListObjectsV2": 1, "GetObject": 4}
    with _operations(store) as applying:
        outcome = apply_deletes(store, plan, tmp_path)
    assert outcome.ok and not outcome.remaining
    assert applying == {"DeleteObjects": 1, "ListObjectsV2": 1}  # every key in one batch, one confirming listing
    assert listed(store) == _kept()


def test_verifications_kept_for_the_same_listing_spare_the_playlist_reads(s3_store_factory: StoreFactory,
                                                                          tmp_path: Path) -> None:
    store = s3_store_factory()
    write_all(store, _objects(TARGETS) | _objects(NEIGHBOURS))
    recs = {rec.id: rec for rec in find(store, prefix="agora/")}
    ours = ["agora/ab12_room", "agora/ab12_room2", "agora/cd34ef_room__uid_s_7__uid_e_audio"]
    VerificationRepo(Database(tmp_path)).save(store.url, [
        Verified(rec_id, listing_fingerprint(recs[rec_id]), verify(store, recs[rec_id]).to_dict())
        for rec_id in ours[:2]])
    # The second recording's playlist is rewritten after it was verified: its fingerprint no longer matches.
    playlist = "agora/" + playlist_name(TARGETS[1])
    store.write(playlist, store.read(playlist) + b"\n")
    known = verified_statuses(store.url, store, tmp_path)
    assert known is not None
    with _operations(store) as planning:
        plan = plan_delete_many(store, ["ab12", "cd34ef"], prefix="agora/", known=known)
    assert not plan.refused and [rec.status for rec in plan.recordings] == ["complete"] * 3
    # The first recording's status was kept for this very listing; the second (two parts) and third are read.
    assert planning == {"ListObjectsV2": 1, "GetObject": 3}
    assert verified_statuses(store.url, store, tmp_path / "elsewhere") is None  # no database: none made


def test_an_interrupted_plan_of_many_resumes_as_journaled(local_store_factory: StoreFactory, tmp_path: Path) -> None:
    store = local_store_factory()
    write_all(store, _objects(TARGETS) | _objects(NEIGHBOURS))
    plan = plan_delete_many(store, ["cd34ef", "ab12"], prefix="agora/")
    Journal(tmp_path, plan.id).start(plan)
    store.delete(plan.keys[0])  # as if cut by a crash after its first batch was sent
    again = plan_delete_many(store, ["ab12", "cd34ef"], prefix="agora/", force=True)
    assert again.id != plan.id  # --force is part of what was asked
    pending = pending_plan(tmp_path, plan_delete_many(store, ["ab12", "cd34ef"], prefix="agora/"))
    assert pending is not None and pending.to_dict() == plan.to_dict()
    assert Plan.from_dict(plan.to_dict()).confirm_prefix == "agora/"
    outcome = apply_deletes(store, pending, tmp_path)
    assert outcome.ok and outcome.resumed and listed(store) == _kept()
    single = plan_delete(store, "ef56", prefix="agora/")
    assert "confirm_prefix" not in single.to_dict()  # one sid: the plan and its journal as before


def test_rm_of_many_killed_mid_delete_then_rerun(tmp_path: Path) -> None:
    def build(folder: Path, slices: int) -> tuple[list[str], Path]:
        (folder / "src").mkdir(parents=True)
        write_all(LocalStore(folder / "src"), _objects(TARGETS, slices) | _objects(NEIGHBOURS))
        return recshelf("rm", str(folder / "src"), "--prefix", "agora/", "--sid", "ab12", "--sid", "cd34ef",
                        data=folder / "data"), folder / "data"

    folder, cmd, slices = interrupted_run(tmp_path, 600, build, lambda data: steps("delete", data) >= 1)
    store = LocalStore(folder / "src")
    now = listed(store)
    assert {key: now.get(key) for key in _kept()} == _kept()
    assert set(now) - set(_kept()) < set(_objects(TARGETS, slices))  # cut mid-way: some of the targets gone
    done = subprocess.run([*cmd, "--json"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)["outcome"]
    assert outcome["status"] == "done" and outcome["resumed"]
    assert listed(store) == _kept()

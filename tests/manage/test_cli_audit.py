"""`recshelf tag|notes|audit|user add` and the audit of `rm`, `mv`, `clean`, run as real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from storage.settings import load_config
from storage.stores.local import LocalStore
from tests.manage.helpers import SID, TARGET, colliding_set, listed, write_all

S = TARGET.sid


@pytest.fixture
def site(tmp_path: Path) -> tuple[LocalStore, dict[str, bytes], Path]:
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    target, others = colliding_set(3)
    write_all(store, target | others)
    config = tmp_path / "recshelf.toml"
    config.write_text("")
    return store, others, config


def _run(config: Path, *args: str, user: str | None = None, stdin: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RECSHELF_")}
    env |= {"RECSHELF_CONFIG": str(config), "RECSHELF_DATA": str(config.parent / "data"),
            "PYTHONPATH": os.environ.get("PYTHONPATH", os.getcwd())}
    if user:
        env["RECSHELF_USER"] = user
    return subprocess.run([sys.executable, "-m", "storage.cli", *args], capture_output=True, text=True, env=env,
                          input=stdin, timeout=120)


def _audit(config: Path, *args: str) -> list[dict]:
    done = _run(config, "audit", "--json", *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["entries"]


def _add_users(config: Path) -> None:
    for name, role in (("vera", "viewer"), ("ed", "editor")):
        done = _run(config, "user", "add", name, "--role", role, "--password-stdin", stdin=f"{name}-password\n")
        assert done.returncode == 0, done.stderr


def test_tag_then_find_by_tag_and_text(site):
    store, _, config = site
    done = _run(config, "tag", str(store.root), "--sid", S, "--uid", "1", "--title", "Board meeting",
                "--add-tag", "Finance", "--add-tag", "q1", "--text", "Keep for the auditors", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["note"]["tags"] == ["finance", "q1"]
    done = _run(config, "tag", str(store.root), "--sid", S, "--uid", "1", "--remove-tag", "q1", "--json")
    assert json.loads(done.stdout)["note"] | {"updatedAt": 0} == {
        "store": store.url, "sid": S, "uid": "1", "cname": "room", "title": "Board meeting", "tags": ["finance"],
        "text": "Keep for the auditors", "updatedAt": 0, "updatedBy": json.loads(done.stdout)["note"]["updatedBy"]}
    for flags, found in ((["--tag", "finance"], 1), (["--tag", "q1"], 0), (["--search", "AUDITORS"], 1),
                         (["--search", "board", "--tag", "finance"], 1), (["--search", "nothing"], 0)):
        listed_notes = json.loads(_run(config, "notes", "--json", *flags).stdout)["notes"]
        assert len(listed_notes) == found, flags
    assert [e["action"] for e in _audit(config)] == ["tag", "tag"]


def test_tag_of_an_unknown_recording_is_refused(site):
    store, _, config = site
    done = _run(config, "tag", str(store.root), "--sid", "deadbeef", "--title", "x")
    assert done.returncode == 1 and "no recording with sid 'deadbeef'" in done.stderr


def test_user_add_writes_an_argon2_hash_never_the_password(site):
    _, _, config = site
    _add_users(config)
    text = config.read_text()
    assert "vera-password" not in text and text.count("$argon2id$") == 2
    assert {n: u.role for n, u in load_config(config).users.items()} == {"vera": "viewer", "ed": "editor"}
    assert _run(config, "user", "list").stdout.split() == ["vera", "viewer", "ed", "editor"]
    bad = _run(config, "user", "add", "x", "--role", "boss", "--password-stdin", stdin="p\n")
    assert bad.returncode == 2 and "--role 'boss'" in bad.stderr


def test_a_viewers_rm_is_refused_audited_and_touches_nothing(site):
    store, others, config = site
    _add_users(config)
    before = listed(store)
    for user in ("vera", "ed"):
        done = _run(config, "rm", str(store.root), "--sid", S, "--uid", "1", "--yes", user=user)
        assert done.returncode == 1, done.stderr
        assert f"{user} (" in done.stderr and "may not delete" in done.stderr
    assert listed(store) == before
    denied = _audit(config, "--outcome", "denied")
    assert [(e["actor"], e["role"], e["action"], e["via"]) for e in denied] == [
        ("ed", "editor", "delete", "cli"), ("vera", "viewer", "delete", "cli")]
    assert denied[0]["detail"]["planned_objects"] == len(before) - len(others)
    assert _run(config, "tag", str(store.root), "--sid", S, "--title", "x", user="vera").returncode == 1
    assert _run(config, "audit", user="vera").returncode == 1  # reading the trail is an admin's right too


def test_an_admins_rm_is_audited_with_objects_and_bytes(site):
    store, others, config = site
    before = listed(store)
    done = _run(config, "rm", str(store.root), "--sid", S, "--uid", "1", "--yes", "--json")
    assert done.returncode == 0, done.stderr
    (entry,) = _audit(config)
    gone = {k: v for k, v in before.items() if k not in others}
    assert (entry["action"], entry["outcome"], entry["objects"], entry["bytes"], entry["store"]) == (
        "delete", "done", len(gone), sum(gone.values()), store.url)
    assert entry["target"] == f"sid {S} uid 1" and entry["role"] == "admin"


def test_mv_and_clean_are_audited(site, tmp_path):
    store, _, config = site
    (tmp_path / "archive").mkdir()
    moved = _run(config, "mv", str(store.root), "--sid", SID, "--uid", "1", "--to", str(tmp_path / "archive"), "--yes")
    assert moved.returncode == 0, moved.stderr
    store.write("rec/orphan/0123456789abcdef0123456789abcdef_x_20200101000000000.ts", b"\x47" * 188)
    cleaned = _run(config, "clean", str(store.root), "--older-than", "0s", "--yes")
    assert cleaned.returncode in (0, 1), cleaned.stderr
    actions = [(e["action"], e["outcome"]) for e in _audit(config)]
    assert ("move", "done") in actions and actions[0][0] == "clean"


def test_audit_since(site):
    store, _, config = site
    _run(config, "tag", str(store.root), "--sid", S, "--title", "x")
    assert len(_audit(config, "--since", "1h")) == 1
    assert _audit(config, "--since", "2999-01-01") == []
    bad = _run(config, "audit", "--since", "yesterday")
    assert bad.returncode == 2 and "--since 'yesterday'" in bad.stderr


def test_a_killed_rm_stays_started_and_the_rerun_records_the_outcome(tmp_path):
    from tests.manage.kill import interrupted_run, recshelf, steps

    def build(folder: Path, slices: int) -> tuple[list[str], Path]:
        store = LocalStore(folder / "src")
        (folder / "src").mkdir(parents=True)
        target, others = colliding_set(slices)
        write_all(store, target | others)
        return recshelf("rm", str(store.root), "--sid", S, "--uid", "1", data=folder / "data"), folder / "data"

    folder, cmd, _ = interrupted_run(tmp_path, 1500, build, lambda data: steps("delete", data) >= 1)
    config = folder / "recshelf.toml"  # its folder's data/ is the killed run's: the audit trail is there
    config.write_text("")
    assert [e["outcome"] for e in _audit(config)] == ["started"]
    assert _run(config, *cmd[3:]).returncode == 0
    rerun, killed = _audit(config)
    assert (killed["outcome"], rerun["outcome"], rerun["detail"]["resumed"]) == ("started", "done", True)
    assert rerun["detail"]["plan_id"] == killed["detail"]["plan_id"]


def test_titles_are_printed_as_text_not_markup(site):
    store, _, config = site
    title = "[bold red]x[/] [link=http://evil]y[/link]"
    shown = _run(config, "tag", str(store.root), "--sid", S, "--uid", "1", "--title", title, "--text", "[b]t[/b]")
    assert title in shown.stdout and "[b]t[/b]" in shown.stdout
    listed_table = _run(config, "notes")
    assert "[bold red]x[/]" in listed_table.stdout.replace("\n", "")

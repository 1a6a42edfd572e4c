"""`recshelf share`: make a link, list links, revoke one; JSON shapes and exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from storage.cli import app
from storage.media.naming import RecordingKey
from storage.signing import is_share_token
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, Seeder
from tests.webui.conftest import seeder as seeder  # the fixture, for this folder


@pytest.fixture
def store(tmp_path: Path, seeder: Seeder, monkeypatch: pytest.MonkeyPatch) -> LocalStore:
    (tmp_path / "recshelf.toml").write_text("")
    monkeypatch.setenv("RECSHELF_CONFIG", str(tmp_path / "recshelf.toml"))
    monkeypatch.setenv("RECSHELF_DATA", str(tmp_path / "data"))
    for name in ("RECSHELF_PUBLIC_URL", "RECSHELF_SERVER_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "store").mkdir()
    local = LocalStore(tmp_path / "store")
    seeder(local)
    seeder(local, key=RecordingKey(SID, "my_chan 1", "7", "video"))
    return local


def share(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, ["share", *args])
    return result.exit_code, result.stdout, result.stderr


def test_make_list_and_revoke(store, monkeypatch):
    monkeypatch.setenv("RECSHELF_PUBLIC_URL", "https://rec.example.com/")
    code, out, _ = share(store.url, "--sid", SID, "--expires", "2h", "--json")
    assert code == 0
    made = json.loads(out)
    assert made["state"] == "active" and made["uid"] is None and made["allow_download"] is True
    token = made["url"].removeprefix("https://rec.example.com/share/")
    assert is_share_token(token) and "token" not in made
    code, out, _ = share(store.url, "--sid", SID, "--uid", "7", "--no-download", "--json")
    assert code == 0 and json.loads(out)["allow_download"] is False and json.loads(out)["uid"] == "7"

    code, out, _ = share("--list", "--json")
    listed = json.loads(out)["shares"]
    assert code == 0 and [s["id"] for s in listed] == [2, 1]  # newest first
    code, out, _ = share("--revoke", "1")
    assert code == 0 and "revoked" in out
    states = {s["id"]: s["state"] for s in json.loads(share("--list", "--json")[1])["shares"]}
    assert states == {1: "revoked", 2: "active"}
    code, out, _ = share("--list")
    assert code == 0 and "2 share link(s)" in out


def test_without_a_public_url_links_name_the_local_server_and_say_so(store):
    code, out, err = share(store.url, "--sid", SID)
    assert code == 0 and "http://127.0.0.1:8765/share/" in out
    assert "public_url" in err


@pytest.mark.parametrize(("args", "code", "words"), [
    (["--sid", "f" * 32], 1, "no playable recording"),
    (["--sid", SID, "--uid", "99"], 1, "uid 99"),
    (["--sid", SID, "--expires", "8d"], 2, "at most 7d"),
    (["--sid", SID, "--expires", "soon"], 2, "not a duration"),
    ([], 2, "--sid is required"),
])
def test_refusals(store, args, code, words):
    got, _, err = share(store.url, *args)
    assert got == code and words in err


def test_one_action_at_a_time(store):
    assert share()[0] == 2
    assert share(store.url, "--list")[0] == 2
    code, _, err = share("--revoke", "42")
    assert code == 2 and "no share link with id 42" in err

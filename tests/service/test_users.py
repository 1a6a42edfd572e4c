"""Users and roles: the rights table, argon2 hashes, [users] in recshelf.toml and `write_user`."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage.errors import ConfigError, InvalidConfig
from storage.service.users import Actor, allowed, authenticate, cli_actor, hash_password, verify_password
from storage.service.users_file import write_user
from storage.settings import Environment, Settings, load_config, parse_config


@pytest.fixture(scope="module")
def a_hash() -> str:
    return hash_password("s3cret pass")


@pytest.mark.parametrize(("role", "may", "may_not"), [
    ("viewer", ["browse", "play"], ["export", "share", "tag", "share_create", "delete", "move", "clean", "audit"]),
    ("editor", ["browse", "export", "share_create", "share_revoke", "tag"], ["delete", "move", "clean", "record",
                                                                            "retention", "tier", "audit"]),
    ("admin", ["tag", "delete", "move", "clean", "tier", "retention", "record", "audit", "a_new_operation"], []),
    ("editor", [], ["a_new_operation"]),
    ("nobody", [], ["browse", "a_new_operation"]),
])
def test_rights(role, may, may_not):
    assert all(allowed(role, action) for action in may)
    assert not any(allowed(role, action) for action in may_not)


def test_hash_is_argon2id_and_verifies(a_hash):
    assert a_hash.startswith("$argon2id$") and "s3cret" not in a_hash
    assert verify_password(a_hash, "s3cret pass")
    assert not verify_password(a_hash, "s3cret pasS")
    assert not verify_password("not a hash", "s3cret pass")
    with pytest.raises(ConfigError):
        hash_password("")


def test_users_in_the_configuration(a_hash):
    config = parse_config({"users": {"ed": {"role": "editor", "password_hash": a_hash}}})
    assert config.users["ed"].role == "editor"
    assert a_hash not in repr(config.users["ed"])
    assert a_hash in config.secrets()  # redacted wherever text is shown
    assert authenticate(config.users, "ed", "s3cret pass") == Actor("ed", "editor", "ui")
    assert authenticate(config.users, "ed", "wrong") is None
    assert authenticate(config.users, "nobody", "s3cret pass") is None


@pytest.mark.parametrize(("table", "message"), [
    ({"role": "boss", "password_hash": "$argon2id$x"}, "'role' must be one of viewer, editor, admin"),
    ({"role": "admin", "password_hash": "plain text"}, "must be an argon2 hash"),
    ({"role": "admin"}, "must be an argon2 hash"),
    ({"role": "admin", "password_hash": "$argon2id$x", "password": "p"}, "unknown key 'password'"),
])
def test_bad_user_entries_are_errors(table, message):
    with pytest.raises(InvalidConfig, match=message):
        parse_config({"users": {"ed": table}})


def test_cli_actor(a_hash):
    config = parse_config({"users": {"vera": {"role": "viewer", "password_hash": a_hash}}})
    assert cli_actor(Settings(config, Environment.model_construct(user="vera"))) == Actor("vera", "viewer", "cli")
    with pytest.raises(ConfigError, match="not a \\[users\\] entry"):
        cli_actor(Settings(config, Environment.model_construct(user="mallory")))
    local = cli_actor(Settings(config, Environment.model_construct(user=None)))
    assert local.role == "admin" and local.via == "cli"


def test_write_user_adds_replaces_and_keeps_the_rest(tmp_path: Path, a_hash):
    path = tmp_path / "recshelf.toml"
    path.write_text('# our recordings\n[profiles.prod]\nurl = "s3://b/p"   # keep me\n\n[users.ed]\nrole = "viewer"\n'
                    'password_hash = "$argon2id$old"\n\n[server]\nport = 9000\n')
    assert write_user(path, "ed", "editor", a_hash) is True
    assert write_user(path, "new.person", "admin", a_hash) is False
    text = path.read_text()
    assert "# our recordings" in text and "# keep me" in text and "$argon2id$old" not in text
    config = load_config(path)
    assert {n: u.role for n, u in config.users.items()} == {"ed": "editor", "new.person": "admin"}
    assert config.server.port == 9000 and config.profiles["prod"].url == "s3://b/p"


def test_write_user_creates_a_private_file(tmp_path: Path, a_hash):
    path = tmp_path / "conf" / "recshelf.toml"
    write_user(path, "ada", "admin", a_hash)
    assert load_config(path).users["ada"].password_hash == a_hash
    assert path.stat().st_mode & 0o077 == 0


def test_write_user_refuses_what_it_cannot_edit(tmp_path: Path, a_hash):
    path = tmp_path / "recshelf.toml"
    path.write_text(f'[users]\ned = {{ role = "viewer", password_hash = "{a_hash}" }}\n')
    with pytest.raises(ConfigError):
        write_user(path, "ed", "admin", a_hash)
    assert "viewer" in path.read_text()  # left as it was
    assert list(tmp_path.iterdir()) == [path]  # no temp file left behind
    with pytest.raises(ConfigError):
        write_user(path, "bad name!", "admin", a_hash)

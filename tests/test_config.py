"""recshelf.toml: where it is found, what it may contain, and that secrets stay hidden."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from storage.settings import (
    Config,
    ServerConfig,
    find_config_path,
    is_sensitive,
    load_config,
    parse_config,
    redact,
)
from storage.stores.base import InvalidConfig

SAMPLE = """
[profiles.prod]
url = "s3://recordings/prod"
region = "ap-southeast-1"
access_key = "AKIDEXAMPLE"
secret_key = "very-secret-value"

[profiles.disk]
url = "/srv/recordings"
media_url = "http://127.0.0.1:8700"
media_secret = "media-secret-value"

[server]
host = "0.0.0.0"
port = 8800
public_url = "https://rec.example.com"
data = "~/recshelf-data"
ncs_secret = "ncs-secret-value"
media_secret = "media-secret-value"
"""


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No RECSHELF_CONFIG, an empty working folder and an empty home."""
    monkeypatch.delenv("RECSHELF_CONFIG", raising=False)
    home = tmp_path / "home"
    work = tmp_path / "work"
    home.mkdir()
    work.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(work)
    return tmp_path


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_parses_profiles_and_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(_write(tmp_path / "recshelf.toml", SAMPLE))
    prod = config.profiles["prod"]
    assert prod.url == "s3://recordings/prod"
    assert dict(prod.options) == {"region": "ap-southeast-1", "access_key": "AKIDEXAMPLE",
                                  "secret_key": "very-secret-value"}
    assert config.profiles["disk"].options["media_url"] == "http://127.0.0.1:8700"
    assert config.server == ServerConfig(
        host="0.0.0.0", port=8800, public_url="https://rec.example.com",
        data=tmp_path / "recshelf-data", ncs_secret="ncs-secret-value", media_secret="media-secret-value",
    )


def test_defaults_without_a_file(isolated: Path):
    assert find_config_path() is None
    config = load_config()
    assert config == Config()
    assert config.server.host == "127.0.0.1"


def test_search_order_env_then_cwd_then_home(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    in_home = _write(isolated / "home/.config/recshelf/recshelf.toml", '[profiles.h]\nurl = "/h"\n')
    assert find_config_path() == in_home
    in_cwd = _write(isolated / "work/recshelf.toml", '[profiles.c]\nurl = "/c"\n')
    assert find_config_path() == in_cwd
    explicit = _write(isolated / "elsewhere.toml", '[profiles.e]\nurl = "/e"\n')
    monkeypatch.setenv("RECSHELF_CONFIG", str(explicit))
    assert list(load_config().profiles) == ["e"]


def test_explicit_path_that_does_not_exist_is_an_error(isolated: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("RECSHELF_CONFIG", str(isolated / "nope.toml"))
    with pytest.raises(InvalidConfig, match="RECSHELF_CONFIG"):
        load_config()
    with pytest.raises(InvalidConfig, match="does not exist"):
        load_config(isolated / "nope.toml")


@pytest.mark.parametrize(("text", "named"), [
    ('[profiles.p]\nurl = "/x"\nsecret_kye = "hunter2"\n', "secret_kye"),
    ('[server]\nprot = 8000\n', "prot"),
    ('[servers]\nhost = "x"\n', "servers"),
])
def test_unknown_keys_are_named_without_their_values(text: str, named: str):
    with pytest.raises(InvalidConfig) as err:
        parse_config(tomllib.loads(text))
    assert repr(named) in str(err.value)
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(("text", "message"), [
    ('[profiles.p]\nregion = "x"\n', "'url' is required"),
    ('[server]\nport = "80"\n', "'port' must be an integer"),
    ('[server]\nport = 70000\n', "'port' must be an integer"),
    ('[server]\nhost = 1\n', "'host' must be a string"),
    ('profiles = 3\n', "must be a table"),
    ('[profiles.p]\nurl = "/x"\nregion = ["a"]\n', "must be a string, number or boolean"),
    ('[profiles."bad name"]\nurl = "/x"\n', "profile name"),
])
def test_invalid_values(text: str, message: str):
    with pytest.raises(InvalidConfig, match=message):
        parse_config(tomllib.loads(text))


def test_toml_syntax_error_is_invalid_config(tmp_path: Path):
    with pytest.raises(InvalidConfig, match="not valid TOML"):
        load_config(_write(tmp_path / "recshelf.toml", "[profiles.p\nurl = 1"))


def test_option_values_become_strings():
    config = parse_config({"profiles": {"p": {"url": "/x", "endpoint": "http://h:9000", "region": 1}}})
    assert config.profiles["p"].options["region"] == "1"


def test_sensitive_names():
    for name in ("secret_key", "session_token", "media_secret", "ncs_secret", "db_password", "api_token"):
        assert is_sensitive(name)
    for name in ("access_key", "endpoint", "region", "domain", "profile", "media_url"):
        assert not is_sensitive(name)


def test_redact_hides_every_secret_and_nothing_else(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(_write(tmp_path / "recshelf.toml", SAMPLE))
    text = "key AKIDEXAMPLE secret very-secret-value media media-secret-value ncs ncs-secret-value"
    assert config.redact(text) == "key AKIDEXAMPLE secret *** media *** ncs ***"
    assert redact("abc abcdef", ["abc", "abcdef"]) == "*** ***"
    assert redact("nothing", [""]) == "nothing"


def test_reprs_do_not_show_secrets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    config = load_config(_write(tmp_path / "recshelf.toml", SAMPLE))
    shown = repr(config)
    for secret in ("very-secret-value", "media-secret-value", "ncs-secret-value"):
        assert secret not in shown
    assert "AKIDEXAMPLE" in shown


def test_rules_table_is_kept_for_the_job_runner_and_its_webhook_redacted():
    config = parse_config({"rules": {"webhook": "https://hooks.example/T0KEN123", "verify": True}})
    assert config.rules["verify"] is True
    assert config.redact("posting to https://hooks.example/T0KEN123") == "posting to ***"

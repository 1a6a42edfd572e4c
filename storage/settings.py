"""`recshelf.toml`: named store profiles and the server's settings, validated when loaded.

The file is found at ``$RECSHELF_CONFIG``, else ``./recshelf.toml``, else
``~/.config/recshelf/recshelf.toml``; none of them existing means an empty configuration.

```toml
[profiles.prod]
url = "s3://agora-recordings/prod"
region = "ap-southeast-1"
profile = "recordings"          # an AWS profile name; keys then come from ~/.aws

[server]
host = "127.0.0.1"
port = 8765
media_secret = "..."
```

Like django-storages, an unknown key is an error naming the key, not something silently ignored:
a typo such as ``secret_kye`` would otherwise fall back to other credentials without a word.
Options whose values are secrets are flagged sensitive (as rclone does) so that `Config.redact`
can scrub them from any text before it is shown.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from storage.stores.base import InvalidConfig

CONFIG_ENV = "RECSHELF_CONFIG"
# What `recshelf ui` hands the web UI process (webui/ reads them by these names).
PUBLIC_URL_ENV = "RECSHELF_PUBLIC_URL"  # [server] public_url's override: where share links point
SERVER_URL_ENV = "RECSHELF_SERVER_URL"  # where `recshelf ui` started storage/server/app.py (may be internal)
UI_STORE_ENV = "RECSHELF_UI_STORE"  # the store `recshelf ui STORE` preselects
UI_PASSWORD_ENV = "RECSHELF_UI_PASSWORD"  # the web UI's optional password
CONFIG_NAME = "recshelf.toml"
DEFAULT_SERVER_PORT = 8765  # `recshelf serve`, `recshelf ui` and `recshelf demo` all start from this one

# Options a profile (or a store URL's query) may set. Each adapter accepts the subset it uses and
# rejects the rest; a new backend option must be added here so profiles can carry it.
PROFILE_OPTIONS: frozenset[str] = frozenset({
    "endpoint",  # S3 / OSS endpoint URL
    "region",
    "access_key",
    "secret_key",
    "session_token",
    "domain",  # Qiniu download domain
    "private",  # Qiniu: whether download URLs must be signed ("true" / "false")
    "profile",  # AWS shared-config profile name
    "auth_version",  # OSS signature version ("v1" / "v4")
    "up_host",  # Qiniu service hosts, for private deployments and emulators
    "rs_host",
    "rsf_host",
    "api_host",
    "uc_host",
    "media_url",  # base URL of `recshelf serve`, for signed URLs of local folders
    "media_secret",
})

_SENSITIVE_SUFFIXES = ("secret", "token", "password")
_SENSITIVE_NAMES = frozenset({"secret_key", "session_token", "media_secret", "ncs_secret"})
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
REDACTED = "***"


def is_sensitive(option: str) -> bool:
    """True for options whose values must never be shown (secret keys, tokens, passwords)."""
    name = option.lower()
    return name in _SENSITIVE_NAMES or name.endswith(_SENSITIVE_SUFFIXES)


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value replaced by ``***``."""
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def sensitive_values(options: Mapping[str, str]) -> list[str]:
    return [value for name, value in options.items() if is_sensitive(name) and value]


def is_profile_name(name: str) -> bool:
    return bool(_PROFILE_NAME.match(name))


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    options: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # dataclass repr would print the secrets
        shown = {k: (REDACTED if is_sensitive(k) else v) for k, v in self.options.items()}
        return f"Profile(name={self.name!r}, url={self.url!r}, options={shown!r})"


@dataclass(frozen=True)
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = DEFAULT_SERVER_PORT
    public_url: str | None = None  # what share links and signed media URLs point at
    data: Path | None = None  # folder for SQLite state; None = the caller's default
    ncs_secret: str | None = field(default=None, repr=False)  # Agora callback signing secret
    media_secret: str | None = field(default=None, repr=False)  # HMAC key of signed media URLs


@dataclass(frozen=True)
class Config:
    path: Path | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    server: ServerConfig = field(default_factory=ServerConfig)
    # [rules]: what the server does after Agora callbacks; validated by storage.service.jobs.Rules.from_table.
    rules: Mapping[str, Any] = field(default_factory=dict)

    def secrets(self) -> list[str]:
        values = [v for p in self.profiles.values() for v in sensitive_values(p.options)]
        values += [v for v in (self.server.ncs_secret, self.server.media_secret) if v]
        webhook = self.rules.get("webhook")  # webhook URLs often carry a token
        values += [webhook] if isinstance(webhook, str) and webhook else []
        return values

    def redact(self, text: str) -> str:
        """`text` with the value of every sensitive option in this configuration replaced by ``***``."""
        return redact(text, self.secrets())


def find_config_path() -> Path | None:
    explicit = os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InvalidConfig(f"{CONFIG_ENV} names {str(path)!r}, which is not a file")
        return path
    for candidate in (Path.cwd() / CONFIG_NAME, Path.home() / ".config" / "recshelf" / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the configuration file (`find_config_path` when no path is given)."""
    found = Path(path).expanduser() if path is not None else find_config_path()
    if found is None:
        return Config()
    try:
        with found.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise InvalidConfig(f"configuration file {str(found)!r} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        # The decoder's message gives line and column but never the offending value.
        raise InvalidConfig(f"{found}: not valid TOML: {exc}") from None
    return parse_config(data, path=found)


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    where = str(path) if path else "configuration"
    _reject_unknown(data, {"profiles", "server", "rules"}, where)
    profiles_data = _table(data.get("profiles", {}), f"{where}: [profiles]")
    profiles = {name: _parse_profile(name, value, where) for name, value in profiles_data.items()}
    server = _parse_server(_table(data.get("server", {}), f"{where}: [server]"), where)
    rules = dict(_table(data.get("rules", {}), f"{where}: [rules]"))
    return Config(path=path, profiles=profiles, server=server, rules=rules)


def check_options(options: Mapping[str, Any], where: str) -> dict[str, str]:
    """Options as strings, after refusing any name not in PROFILE_OPTIONS."""
    _reject_unknown(options, PROFILE_OPTIONS, where)
    return {name: _option_text(value, f"{where}: {name}") for name, value in options.items()}


def _parse_profile(name: str, value: Any, where: str) -> Profile:
    section = f"{where}: [profiles.{name}]"
    if not is_profile_name(name):
        raise InvalidConfig(f"{section}: a profile name uses letters, digits, '_', '.' and '-' only")
    table = dict(_table(value, section))
    url = table.pop("url", None)
    if not isinstance(url, str) or not url:
        raise InvalidConfig(f"{section}: 'url' is required (e.g. url = \"s3://bucket/prefix\")")
    return Profile(name=name, url=url, options=check_options(table, section))


def _parse_server(table: Mapping[str, Any], where: str) -> ServerConfig:
    section = f"{where}: [server]"
    known = {f.name for f in fields(ServerConfig)}
    _reject_unknown(table, known, section)
    values: dict[str, Any] = {}
    for name, value in table.items():
        if name == "port":
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
                raise InvalidConfig(f"{section}: 'port' must be an integer from 0 to 65535")
            values[name] = value
        elif name == "data":
            values[name] = Path(_string(value, section, name)).expanduser()
        else:
            values[name] = _string(value, section, name)
    return ServerConfig(**values)


def _reject_unknown(table: Mapping[str, Any], known: Iterable[str], where: str) -> None:
    allowed = set(known)
    for name in table:
        if name not in allowed:
            raise InvalidConfig(f"{where}: unknown key {name!r} (known: {', '.join(sorted(allowed))})")


def _table(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise InvalidConfig(f"{where} must be a table")
    return value


def _string(value: Any, section: str, name: str) -> str:
    if not isinstance(value, str):
        raise InvalidConfig(f"{section}: {name!r} must be a string")
    return value


def _option_text(value: Any, where: str) -> str:
    # TOML gives typed values; adapters take strings, like URL query parameters.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidConfig(f"{where} must be a string, number or boolean")

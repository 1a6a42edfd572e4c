"""What recshelf.toml says, parsed and validated (no environment, no file finding: storage.settings does that).

Like django-storages, an unknown key is an error naming the key, not something silently ignored: a typo
such as ``secret_kye`` would otherwise fall back to other credentials without a word. Which profile
options exist, and which are secrets, is declared once per backend in storage/stores/registry.py.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, SecretStr

from storage.stores.base import InvalidConfig
from storage.stores.registry import check_options, is_sensitive, redact, redacted_options

ROLES = ("viewer", "editor", "admin")  # [users.NAME] role; what each may do is storage/service/users.py's
DEFAULT_SERVER_PORT = 8765  # `recshelf serve`, `recshelf ui` and `recshelf demo` all start from this one
_PROFILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def is_profile_name(name: str) -> bool:
    return bool(_PROFILE_NAME.match(name))


def secret_value(value: SecretStr | None) -> str | None:
    return value.get_secret_value() if value is not None else None


@dataclass(frozen=True)
class Profile:
    name: str
    url: str
    options: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # dataclass repr would print the secrets
        return f"Profile(name={self.name!r}, url={self.url!r}, options={redacted_options(self.options)!r})"


@dataclass(frozen=True)
class UserEntry:
    """[users.NAME]: a role and an argon2 hash (never the password; `recshelf user add` writes it)."""

    name: str
    role: str
    password_hash: str = field(repr=False)


class ServerConfig(BaseModel):
    """[server]; the hand-written checks in `_parse_server` give the messages, this the types."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    host: str = "127.0.0.1"
    port: int = DEFAULT_SERVER_PORT
    public_url: str | None = None  # what share links and signed media URLs point at
    data: Path | None = None  # folder for SQLite state; None = the caller's default
    ncs_secret: SecretStr | None = None  # Agora callback signing secret
    media_secret: SecretStr | None = None  # HMAC key of signed media URLs
    database: SecretStr | None = None  # postgresql://… shared by replicas and workers; None = SQLite in data


class OidcConfig(BaseModel):
    """[oidc]: single sign-on through Streamlit's st.login (webui/oidc.py), and who gets which role.

    An OIDC user's role: their e-mail's entry in [oidc.emails], else the highest role any of their groups
    (the `groups_claim` of the ID token) has in [oidc.groups], else `default_role`; with no default an
    unmapped user is refused.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")
    server_metadata_url: str  # the provider's /.well-known/openid-configuration
    client_id: str
    client_secret: SecretStr
    redirect_uri: str  # this UI's http(s)://host:port/oauth2callback, registered at the provider
    cookie_secret: SecretStr | None = None  # signs Streamlit's login cookie; None = derived from the media secret
    default_role: str | None = None
    groups_claim: str = "groups"
    emails: dict[str, str] = {}
    groups: dict[str, str] = {}

    def role_for(self, claims: Mapping[str, Any]) -> str | None:
        email = str(claims.get("email") or "").lower()
        if email and email in self.emails:
            return self.emails[email]
        found = claims.get(self.groups_claim) or []
        names = [found] if isinstance(found, str) else [g for g in found if isinstance(g, str)]
        roles = [self.groups[g] for g in names if g in self.groups]
        return max(roles, key=ROLES.index) if roles else self.default_role


@dataclass(frozen=True)
class Config:
    """What recshelf.toml says (no environment)."""

    path: Path | None = None
    profiles: Mapping[str, Profile] = field(default_factory=dict)
    server: ServerConfig = field(default_factory=ServerConfig)
    # [rules]: what the server does after Agora callbacks; validated by storage.service.jobs.Rules.from_table.
    rules: Mapping[str, Any] = field(default_factory=dict)
    users: Mapping[str, UserEntry] = field(default_factory=dict)
    oidc: OidcConfig | None = None

    def secrets(self) -> list[str]:
        values = [v for p in self.profiles.values() for k, v in p.options.items() if is_sensitive(k) and v]
        values += [v for v in (secret_value(self.server.ncs_secret), secret_value(self.server.media_secret)) if v]
        values += url_secrets(secret_value(self.server.database))
        webhook = self.rules.get("webhook")  # webhook URLs often carry a token
        values += [webhook] if isinstance(webhook, str) and webhook else []
        if self.oidc is not None:
            values += [v for v in (secret_value(self.oidc.client_secret), secret_value(self.oidc.cookie_secret)) if v]
        return values + [u.password_hash for u in self.users.values()]  # a leaked hash invites offline guessing

    def redact(self, text: str) -> str:
        """`text` with the value of every sensitive option in this configuration replaced by ``***``."""
        return redact(text, self.secrets())


def parse_config(data: Mapping[str, Any], path: Path | None = None) -> Config:
    where = str(path) if path else "configuration"
    _reject_unknown(data, {"profiles", "server", "rules", "users", "oidc"}, where)
    profiles_data = _table(data.get("profiles", {}), f"{where}: [profiles]")
    profiles = {name: _parse_profile(name, value, where) for name, value in profiles_data.items()}
    server = _parse_server(_table(data.get("server", {}), f"{where}: [server]"), where)
    rules = dict(_table(data.get("rules", {}), f"{where}: [rules]"))
    users = {name: _parse_user(name, value, where) for name, value in _table(data.get("users", {}),
                                                                              f"{where}: [users]").items()}
    oidc = _parse_oidc(data["oidc"], where) if "oidc" in data else None
    return Config(path=path, profiles=profiles, server=server, rules=rules, users=users, oidc=oidc)


def _parse_oidc(value: Any, where: str) -> OidcConfig:
    section = f"{where}: [oidc]"
    table = dict(_table(value, section))
    _reject_unknown(table, {*OidcConfig.model_fields, "issuer"}, section)
    issuer = table.pop("issuer", None)
    if isinstance(issuer, str) and issuer and "server_metadata_url" not in table:  # OIDC discovery's one place
        table["server_metadata_url"] = issuer.rstrip("/") + "/.well-known/openid-configuration"
    for name in ("server_metadata_url", "client_id", "client_secret", "redirect_uri"):
        if not isinstance(table.get(name), str) or not table[name]:
            raise InvalidConfig(f"{section}: '{name}' is required (a string)")
    if urlsplit(table["server_metadata_url"]).scheme not in ("http", "https"):
        raise InvalidConfig(f"{section}: 'server_metadata_url' must be an http(s) URL")
    if urlsplit(table["redirect_uri"]).scheme not in ("http", "https") or \
            not table["redirect_uri"].endswith("/oauth2callback"):
        raise InvalidConfig(f"{section}: 'redirect_uri' must be this UI's http(s)://host:port/oauth2callback")
    for name in ("emails", "groups"):
        mapping = _table(table.get(name, {}), f"{section}.{name}")
        if any(role not in ROLES for role in mapping.values()):
            raise InvalidConfig(f"{section}.{name}: every role must be one of {', '.join(ROLES)}")
        table[name] = {(k.lower() if name == "emails" else k): v for k, v in mapping.items()}
    if table.get("default_role") is not None and table["default_role"] not in ROLES:
        raise InvalidConfig(f"{section}: 'default_role' must be one of {', '.join(ROLES)}")
    try:
        return OidcConfig(**table)
    except ValueError as exc:  # pydantic's types: a secret or name that is no string
        raise InvalidConfig(f"{section}: {exc.errors()[0]['loc'][0]} has the wrong type") from None


def _parse_user(name: str, value: Any, where: str) -> UserEntry:
    section = f"{where}: [users.{name}]"
    table = _table(value, section)
    _reject_unknown(table, ("role", "password_hash"), section)
    role, password_hash = table.get("role"), table.get("password_hash", "")
    if not is_profile_name(name):
        raise InvalidConfig(f"{section}: a user name uses letters, digits, '_', '.' and '-' only")
    if role not in ROLES:
        raise InvalidConfig(f"{section}: 'role' must be one of {', '.join(ROLES)}")
    if not isinstance(password_hash, str) or not password_hash.startswith("$argon2"):
        raise InvalidConfig(f"{section}: 'password_hash' must be an argon2 hash (`recshelf user add` writes one)")
    return UserEntry(name, role, password_hash)


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
    _reject_unknown(table, ServerConfig.model_fields, section)
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


def url_secrets(url: str | None) -> list[str]:
    """The password inside a database URL (and the URL itself), for redaction."""
    if not url:
        return []
    password = urlsplit(url).password
    return [url, password] if password else [url]


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

"""Settings: recshelf.toml plus the RECSHELF_* / Agora / backend environment, validated once.

This is the only module that reads the environment or the configuration file. Each face (a CLI
command, the server, the web UI) builds one `Settings` at start-up with `Settings.load()` and passes
down what each part needs: a store its options (`Settings.open_store`), a local store a signer, the
server its media secret and the folders it serves.

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
database = "postgresql://recshelf:...@db.internal/recshelf"   # shared state for several replicas
```

What the file may say is parsed and validated in storage/config_file.py (unknown keys are errors);
secrets of the server and the environment are `SecretStr`.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.config_file import (
    DEFAULT_SERVER_PORT,
    ROLES,
    Config,
    OidcConfig,
    Profile,
    ServerConfig,
    UserEntry,
    is_profile_name,
    parse_config,
    secret_value,
    url_secrets,
)
from storage.signing import MediaSigner
from storage.stores.base import InvalidConfig, ObjectStore, Signer
from storage.stores.registry import (
    REDACTED,
    declared_env_names,
    is_sensitive,
    option_names,
    parse_store_url,
    redact,
    sensitive_env_names,
)
from storage.stores.registry import open_store as open_store_url

__all__ = ["DEFAULT_SERVER_PORT", "REDACTED", "ROLES", "Config", "Environment", "Profile", "ServerConfig", "Settings",
           "UserEntry", "find_config_path", "is_profile_name", "is_sensitive", "load_config", "parse_config", "redact"]

CONFIG_ENV = "RECSHELF_CONFIG"
PUBLIC_URL_ENV = "RECSHELF_PUBLIC_URL"  # [server] public_url's override: where share links point
SERVER_URL_ENV = "RECSHELF_SERVER_URL"  # where `recshelf ui` started storage/server/app.py (may be internal)
UI_STORE_ENV = "RECSHELF_UI_STORE"  # the store `recshelf ui STORE` preselects
UI_PASSWORD_ENV = "RECSHELF_UI_PASSWORD"  # the web UI's optional password
MEDIA_SECRET_ENV = "RECSHELF_MEDIA_SECRET"
MEDIA_URL_ENV = "RECSHELF_MEDIA_URL"
DATA_ENV = "RECSHELF_DATA"
DATABASE_ENV = "RECSHELF_DATABASE"  # [server] database's override: a postgresql:// URL
USER_ENV = "RECSHELF_USER"  # the recshelf.toml user a CLI run acts as (its role is enforced and audited)
CONFIG_NAME = "recshelf.toml"
DEFAULT_DATA = "recshelf-data"
def _env(name: str) -> Any:
    return Field(None, validation_alias=name)


class Environment(BaseSettings):
    """The environment variables recshelf reads (besides the backends' declared ones), by their names."""

    model_config = SettingsConfigDict(frozen=True, extra="ignore", populate_by_name=True)
    config: str | None = _env(CONFIG_ENV)
    public_url: str | None = _env(PUBLIC_URL_ENV)
    server_url: str | None = _env(SERVER_URL_ENV)
    ui_store: str | None = _env(UI_STORE_ENV)
    ui_password: SecretStr | None = _env(UI_PASSWORD_ENV)
    media_secret: SecretStr | None = _env(MEDIA_SECRET_ENV)
    media_url: str | None = _env(MEDIA_URL_ENV)
    data: str | None = _env(DATA_ENV)
    database: SecretStr | None = _env(DATABASE_ENV)
    user: str | None = _env(USER_ENV)
    sqlite_sync: str | None = _env("RECSHELF_SQLITE_SYNC")
    ffmpeg: str | None = _env("RECSHELF_FFMPEG")
    simulator: str | None = _env("RECSHELF_SIMULATOR")
    simulator_stores: str | None = _env("RECSHELF_SIMULATOR_STORES")
    simulator_customer_id: str | None = _env("RECSHELF_SIMULATOR_CUSTOMER_ID")
    simulator_customer_secret: SecretStr | None = _env("RECSHELF_SIMULATOR_CUSTOMER_SECRET")
    simulator_callback_url: str | None = _env("RECSHELF_SIMULATOR_CALLBACK_URL")
    simulator_slice_seconds: float | None = _env("RECSHELF_SIMULATOR_SLICE_SECONDS")
    agora_app_id: str | None = _env("AGORA_APP_ID")
    agora_base_url: str | None = _env("AGORA_BASE_URL")
    agora_customer_id: str | None = _env("AGORA_CUSTOMER_ID")
    agora_customer_secret: SecretStr | None = _env("AGORA_CUSTOMER_SECRET")
    agora_ncs_secret: SecretStr | None = _env("AGORA_NCS_SECRET")

    def secrets(self) -> list[str]:
        values = [secret_value(getattr(self, name)) for name, info in type(self).model_fields.items()
                  if info.annotation == SecretStr | None]
        return [v for v in values if v] + url_secrets(secret_value(self.database))


@dataclass(frozen=True)
class Settings:
    """recshelf.toml + environment, resolved: build one with `Settings.load()` and pass it down."""

    config: Config = field(default_factory=Config)
    env: Environment = field(default_factory=lambda: Environment.model_construct())
    # The backends' declared environment fallbacks (OSS_*, QINIU_*, AWS_* for redaction), as found.
    store_env: Mapping[str, str] = field(default_factory=dict, repr=False)

    @classmethod
    def load(cls, path: str | Path | None = None) -> Settings:
        env = Environment()
        store_env = {name: value for name in declared_env_names() if (value := os.environ.get(name))}
        settings = cls(load_config(path, explicit=env.config), env, store_env)
        settings.database_url()  # a wrong URL is a configuration error now, not when a replica first writes
        return settings

    # -- the server and the UI -------------------------------------------------------------------

    @property
    def server(self) -> ServerConfig:
        return self.config.server

    @property
    def profiles(self) -> Mapping[str, Profile]:
        return self.config.profiles

    @property
    def media_secret(self) -> str | None:
        """$RECSHELF_MEDIA_SECRET, else [server] media_secret: one order for every signer and checker."""
        return secret_value(self.env.media_secret) or secret_value(self.server.media_secret)

    @property
    def public_url(self) -> str | None:
        """The externally reachable base URL, when configured; share links then never use an internal host."""
        value = self.env.public_url or self.server.public_url
        return value.rstrip("/") if value else None

    @property
    def server_url(self) -> str | None:
        return self.env.server_url.rstrip("/") if self.env.server_url else None

    def share_base(self) -> str | None:
        """Where share links point: the public URL when set, else the server's own URL."""
        return self.public_url or self.server_url

    def share_link_base(self) -> str:
        """`share_base()`, else the address `recshelf serve` listens on ([server] host and port)."""
        host = self.server.host if self.server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
        host = f"[{host}]" if ":" in host else host
        return self.share_base() or f"http://{host}:{self.server.port}"

    @property
    def media_url(self) -> str | None:
        """Where browsers reach the media route: $RECSHELF_MEDIA_URL, else the share base."""
        return (self.env.media_url or "").rstrip("/") or self.share_base()

    @property
    def ncs_secret(self) -> str | None:
        return secret_value(self.env.agora_ncs_secret) or secret_value(self.server.ncs_secret)

    @property
    def ui_password(self) -> str | None:
        return secret_value(self.env.ui_password) or None

    def database_url(self) -> str | None:
        """$RECSHELF_DATABASE, else [server] database: a postgresql:// URL, or None for SQLite in the data folder."""
        url = secret_value(self.env.database) or secret_value(self.server.database)
        if url and not url.startswith(("postgresql://", "postgres://")):
            raise InvalidConfig(f"{DATABASE_ENV} / [server] database must be a postgresql:// URL (leave it unset "
                                "for SQLite in the data folder)")
        return url or None
    @property
    def users(self) -> Mapping[str, UserEntry]:
        return self.config.users

    @property
    def oidc(self) -> OidcConfig | None:
        """[oidc]: single sign-on through Streamlit's st.login, when configured."""
        return self.config.oidc

    def cli_user(self) -> str:
        """Who a CLI run acts as: $RECSHELF_USER (a [users] name), else the operating system's login name."""
        return self.env.user or getpass.getuser()

    def data_dir(self, given: str | Path | None = None) -> Path:
        """The given folder, else $RECSHELF_DATA, else [server] data, else ./recshelf-data."""
        return Path(given or self.env.data or self.server.data or DEFAULT_DATA).expanduser()

    def signer(self, base_url: str | None = None) -> Signer | None:
        """The signer local stores get: the media route's URL and secret, or None when either is unknown."""
        base, secret = base_url or self.media_url, self.media_secret
        return MediaSigner(base, secret) if base and secret else None

    def media_roots(self, extra_refs: Iterable[str] = ()) -> list[Path]:
        """The local folders the media route serves: local-folder profiles, the UI's and the simulator's
        stores, the exports folder of the web UI, and the local ones among `extra_refs` (stores of
        active share links). Anything else is a 404."""
        refs = [p.url for p in self.profiles.values()]
        refs += [self.env.ui_store or "", *(self.env.simulator_stores or "").split(","), *extra_refs]
        roots = [self.data_dir().absolute() / "exports"]
        for ref in (r.strip() for r in refs if r.strip()):
            try:
                location = parse_store_url(self.profiles[ref].url if ref in self.profiles else ref)
            except InvalidConfig:
                continue
            if location.scheme == "file":
                roots.append(Path(location.prefix).expanduser().absolute())
        return roots

    # -- stores ----------------------------------------------------------------------------------

    def open_store(self, url_or_profile: str, *, signer: Signer | None = None, **options: Any) -> ObjectStore:
        """The store a URL, plain folder path or profile name designates, with its options resolved.

        Options: the profile's, then the URL query's, then these keyword arguments, then the
        backend's declared environment variables. A local store signs with `signer`, else `signer()`.
        """
        profile_options: Mapping[str, str] = {}
        url = url_or_profile
        if "://" not in url_or_profile and is_profile_name(url_or_profile):
            profile = self.profiles.get(url_or_profile)
            if profile is not None:
                url, profile_options = profile.url, profile.options
        return open_store_url(url, profile_options=profile_options, env=self.store_env,
                              signer=signer or self.signer(options.get("media_url")), **options)

    def child_environment(self, **extra: str) -> dict[str, str]:
        """This process's environment plus `extra`, for a child process a face starts (`recshelf ui`)."""
        return {**os.environ, **extra}

    # -- redaction -------------------------------------------------------------------------------

    def secrets(self) -> list[str]:
        values = self.config.secrets() + self.env.secrets()
        return values + [v for k, v in self.store_env.items() if k in sensitive_env_names()]

    def redact(self, text: str) -> str:
        """`text` with every secret this process knows (file, environment, backends) replaced by ``***``."""
        return redact(text, self.secrets())


def find_config_path(explicit: str | None = None) -> Path | None:
    """`explicit` (normally $RECSHELF_CONFIG), else ./recshelf.toml, else ~/.config/recshelf/recshelf.toml."""
    explicit = explicit if explicit is not None else os.environ.get(CONFIG_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise InvalidConfig(f"{CONFIG_ENV} names {str(path)!r}, which is not a file")
        return path
    for candidate in (Path.cwd() / CONFIG_NAME, Path.home() / ".config" / "recshelf" / CONFIG_NAME):
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | Path | None = None, *, explicit: str | None = None) -> Config:
    """Read and validate the configuration file (`find_config_path` when no path is given)."""
    found = Path(path).expanduser() if path is not None else find_config_path(explicit)
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


PROFILE_OPTIONS: frozenset[str] = option_names()  # every option some backend declares

"""Open a store from a URL, importing its adapter (and SDK) only when needed; each backend's options.

Schemes map lazily to ``"module:Class"`` plus an install hint, as fsspec's registry does, so a
missing SDK gives ``InvalidConfig("... pip install oss2")`` instead of an ImportError,
and ``recshelf --help`` never imports boto3.

Each backend also *declares* its options here, rclone-style: name, environment fallback, whether
the value is a secret, one line of help. Profile and URL-query validation, the refusal of secrets
in URLs, redaction (CLI errors, logs, UI) and the Agora storageConfig mapping all derive from that
one declaration, so a backend's options are never listed twice. Declaring them needs no SDK import.

Adapter construction convention (every adapter follows it):

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str]) -> Self

* ``bucket`` and ``prefix`` come from the URL ``scheme://bucket/prefix`` (prefix without leading
  '/', percent-decoded; it may be ""). For local folders ``bucket`` is "" and ``prefix`` is the
  folder path (``file:///abs/path`` or a plain path).
* ``options`` are strings: the profile's values, overridden by the URL's query parameters,
  overridden by keyword arguments of `open_store`, and for what is still unset the declared
  environment variable as `storage.settings.Settings` captured it. Adapters read no environment.
* Options marked ``sdk_env`` are read from the environment by the SDK itself (boto3's AWS_* chain):
  they are declared for redaction and the Agora mapping, not filled in here, so that an AWS profile
  keeps precedence over AWS_* keys exactly as boto3 orders them.
* Secrets never travel in a URL: userinfo (``s3://AK:SK@bucket``) and sensitive query parameters
  (``?secret_key=``) are refused, because URLs end up in logs, shell history and error messages.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from storage.stores.base import InvalidConfig, ObjectStore, Signer


@dataclass(frozen=True)
class Option:
    name: str
    help: str
    env: tuple[str, ...] = ()  # environment fallbacks, first set one wins
    sensitive: bool = False  # a secret: refused in URLs, redacted everywhere
    sdk_env: bool = False  # the SDK reads `env` itself; recshelf only documents and redacts it


@dataclass(frozen=True)
class Backend:
    target: str  # "module:Class"
    hint: str | None = None  # how to install what the module imports
    options: tuple[Option, ...] = ()

    def option(self, name: str) -> Option | None:
        return next((o for o in self.options if o.name == name), None)


def _qiniu_host(service: str) -> Option:
    return Option(f"{service}_host", f"Qiniu {service} service host (URL or host[:port]), for private deployments")


_AWS = "boto3 reads it from the standard AWS chain"
BACKENDS: dict[str, Backend] = {
    "file": Backend("storage.stores.local:LocalStore", options=(
        Option("media_url", "base URL of `recshelf serve`, for signed URLs of local folders", ("RECSHELF_MEDIA_URL",)),
        Option("media_secret", "HMAC key of signed media URLs (the server's)", ("RECSHELF_MEDIA_SECRET",), True),
    )),
    "memory": Backend("storage.stores.memory:MemoryStore"),
    "s3": Backend("storage.stores.s3:S3Store", "pip install boto3", (
        Option("endpoint", f"S3-compatible endpoint URL; {_AWS}", ("AWS_ENDPOINT_URL",), sdk_env=True),
        Option("region", f"bucket region; {_AWS}", ("AWS_REGION", "AWS_DEFAULT_REGION"), sdk_env=True),
        Option("access_key", f"access key id; {_AWS}", ("AWS_ACCESS_KEY_ID",), sdk_env=True),
        Option("secret_key", f"secret access key; {_AWS}", ("AWS_SECRET_ACCESS_KEY",), True, True),
        Option("session_token", f"STS session token; {_AWS}", ("AWS_SESSION_TOKEN",), True, True),
        Option("profile", f"AWS shared-config profile name; {_AWS}", ("AWS_PROFILE",), sdk_env=True),
    )),
    "oss": Backend("storage.stores.oss:OssStore", "pip install oss2", (
        Option("endpoint", "OSS endpoint (https:// when no scheme)", ("OSS_ENDPOINT",)),
        Option("region", "OSS region (else taken from a standard endpoint)", ("OSS_REGION",)),
        Option("access_key", "AccessKey ID", ("OSS_ACCESS_KEY_ID",)),
        Option("secret_key", "AccessKey secret", ("OSS_ACCESS_KEY_SECRET",), True),
        Option("session_token", "STS security token", ("OSS_SESSION_TOKEN",), True),
        Option("auth_version", "signature version: v1 or v4 (default v4 when a region is known)"),
    )),
    "qiniu": Backend("storage.stores.qiniu:QiniuStore", "pip install qiniu", (
        Option("access_key", "Qiniu access key", ("QINIU_ACCESS_KEY",)),
        Option("secret_key", "Qiniu secret key", ("QINIU_SECRET_KEY",), True),
        Option("domain", "download domain bound to the bucket (bare host means http)", ("QINIU_DOMAIN",)),
        Option("private", "true (default): sign download URLs", ("QINIU_PRIVATE",)),
        Option("region", "public region: z0, z1, z2, na0, as0", ("QINIU_REGION",)),
        Option("endpoint", "one base URL serving rs, rsf, up, io and api", ("QINIU_ENDPOINT",)),
        *(_qiniu_host(service) for service in ("up", "rs", "rsf", "api", "uc")),
    )),
}

# Names never declared by a backend still count as secrets by their shape, so a new option or a
# [server] key is hidden before anyone remembers to declare it.
_SECRET_SHAPE = re.compile(r"(secret|token|password)$", re.IGNORECASE)


@dataclass(frozen=True)
class StoreLocation:
    scheme: str
    bucket: str
    prefix: str
    options: Mapping[str, str]  # from the URL's query


def register_backend(scheme: str, target: str, hint: str | None = None, options: Iterable[Option] = ()) -> None:
    """Add or replace the adapter for a scheme (plugins, tests)."""
    BACKENDS[scheme] = Backend(target, hint, tuple(options))


def backend(scheme: str) -> Backend:
    found = BACKENDS.get(scheme)
    if found is None:
        raise InvalidConfig(f"unknown store scheme {scheme!r} (known: {', '.join(sorted(BACKENDS))})")
    return found


def option_names(scheme: str | None = None) -> frozenset[str]:
    """The options one backend declares, or (scheme None) every backend's."""
    chosen = [backend(scheme)] if scheme is not None else list(BACKENDS.values())
    return frozenset(o.name for b in chosen for o in b.options)


def is_sensitive(name: str) -> bool:
    """The one secret rule: declared sensitive by any backend, else a name shaped like a secret."""
    declared = [o for b in BACKENDS.values() for o in b.options if o.name == name.lower()]
    if declared:
        return any(o.sensitive for o in declared)
    return bool(_SECRET_SHAPE.search(name))


REDACTED = "***"


def redact(text: str, secrets: Iterable[str]) -> str:
    """`text` with every occurrence of each secret value replaced by ``***``."""
    # Longest first, so a secret that contains another is replaced whole.
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def redacted_options(options: Mapping[str, str]) -> dict[str, str]:
    """Options as they may be shown (reprs, logs): sensitive values replaced by ``***``."""
    return {k: (REDACTED if is_sensitive(k) else v) for k, v in options.items()}


def sensitive_env_names() -> frozenset[str]:
    """Environment variables that hold a backend secret (for redaction)."""
    return frozenset(e for b in BACKENDS.values() for o in b.options if o.sensitive for e in o.env)


def declared_env_names() -> frozenset[str]:
    return frozenset(e for b in BACKENDS.values() for o in b.options for e in o.env)


def env_value(scheme: str, name: str, env: Mapping[str, str]) -> str | None:
    """The declared environment fallback of one option (sdk_env ones included), from `env`."""
    option = backend(scheme).option(name)
    for var in option.env if option else ():
        if env.get(var):
            return env[var]
    return None


def check_options(options: Mapping[str, Any], where: str, scheme: str | None = None) -> dict[str, str]:
    """Options as strings, after refusing any name the backend (or, scheme None, every backend) lacks."""
    known = option_names(scheme)
    for name in options:
        if name not in known:
            raise InvalidConfig(f"{where}: unknown key {name!r} (known: {', '.join(sorted(known))})")
    return {name: option_text(value, f"{where}: {name}") for name, value in options.items()}


def option_text(value: Any, where: str) -> str:
    # TOML gives typed values; adapters take strings, like URL query parameters.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidConfig(f"{where} must be a string, number or boolean")


def parse_store_url(url: str) -> StoreLocation:
    """Split a store URL (or plain folder path) into scheme, bucket, prefix and query options."""
    if not url:
        raise InvalidConfig("empty store URL")
    if "://" not in url:
        return StoreLocation("file", "", str(Path(url).expanduser()), {})
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in BACKENDS:
        raise InvalidConfig(
            f"unknown store scheme {scheme!r} in {_safe(url)!r} (known: {', '.join(sorted(BACKENDS))})"
        )
    if "@" in parts.netloc:
        raise InvalidConfig(
            f"credentials in a store URL are refused ({scheme}://...@...); put them in a profile in "
            "recshelf.toml or in the environment"
        )
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in query:
        if is_sensitive(name):
            raise InvalidConfig(
                f"the secret option {name!r} is refused in a store URL; put it in a profile in "
                "recshelf.toml or in the environment"
            )
    where = f"store URL {_safe(url)!r}"
    options = check_options(query, where)
    if scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise InvalidConfig(f"{where}: only local file URLs (file:///path) are supported")
        return StoreLocation("file", "", unquote(parts.path), options)
    if not parts.netloc:
        raise InvalidConfig(f"{where}: no bucket (expected {scheme}://bucket/prefix)")
    return StoreLocation(scheme, unquote(parts.netloc), unquote(parts.path).lstrip("/"), options)


def backend_class(scheme: str) -> Any:
    """The adapter class for a scheme, imported now; InvalidConfig with the install hint if it cannot be."""
    found = backend(scheme)
    module_name, _, class_name = found.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name is not None and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise InvalidConfig(f"the {scheme} store adapter ({module_name}) is not available") from exc
        hint = f"; install it with: {found.hint}" if found.hint else ""
        raise InvalidConfig(
            f"the {scheme} store needs the Python package {exc.name or 'its SDK'!r}, which is not "
            f"installed{hint}"
        ) from exc
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise InvalidConfig(f"{module_name} has no store class {class_name}") from None


def open_store(url: str, *, profile_options: Mapping[str, str] | None = None, env: Mapping[str, str] | None = None,
               signer: Signer | None = None, **options: Any) -> ObjectStore:
    """The store a URL or plain folder path designates.

    Options: `profile_options`, then the URL query's, then these keyword arguments, later ones
    winning; then the declared environment fallbacks, looked up in `env` (never os.environ: the
    faces hand in what `storage.settings.Settings` captured). Profiles are resolved by
    `Settings.open_store`. A local store gets `signer` for its signed URLs.
    """
    location = parse_store_url(url)
    given = check_options({k: v for k, v in options.items() if v is not None}, "open_store options")
    merged = {**(profile_options or {}), **location.options, **given}
    for option in backend(location.scheme).options:
        if not merged.get(option.name) and not option.sdk_env:
            value = env_value(location.scheme, option.name, env or {})
            if value:
                merged[option.name] = value
    cls = backend_class(location.scheme)
    if location.scheme == "file":
        store: ObjectStore = cls.from_options(location.bucket, location.prefix, merged, signer=signer)
    else:
        store = cls.from_options(location.bucket, location.prefix, merged)
    return store


def _safe(url: str) -> str:
    """The URL without userinfo and query, for messages (either may hold secrets)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"

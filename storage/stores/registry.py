"""Open a store from a URL or a profile name, importing its adapter (and SDK) only when needed.

Schemes map lazily to ``"module:Class"`` plus an install hint, as fsspec's registry does, so a
missing SDK gives ``InvalidConfig("... pip install oss2")`` instead of an ImportError,
and ``recshelf --help`` never imports boto3.

Adapter construction convention (every adapter follows it):

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str]) -> Self

* ``bucket`` and ``prefix`` come from the URL ``scheme://bucket/prefix`` (prefix without leading
  '/', percent-decoded; it may be ""). For local folders ``bucket`` is "" and ``prefix`` is the
  folder path (``file:///abs/path`` or a plain path).
* ``options`` are strings: the profile's values, overridden by the URL's query parameters,
  overridden by keyword arguments of `open_store`. Names come from `storage.settings.PROFILE_OPTIONS`;
  an adapter raises `InvalidConfig` naming any option it does not use.
* Whatever ``options`` leave unset, the adapter takes from its backend's usual environment
  (AWS_* as boto3 reads them, OSS_*, QINIU_*, RECSHELF_MEDIA_*).
* Secrets never travel in a URL: userinfo (``s3://AK:SK@bucket``) and sensitive query parameters
  (``?secret_key=``) are refused, because URLs end up in logs, shell history and error messages.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from storage.settings import Config, check_options, is_profile_name, is_sensitive, load_config
from storage.stores.base import InvalidConfig, ObjectStore


@dataclass(frozen=True)
class Backend:
    target: str  # "module:Class"
    hint: str | None = None  # how to install what the module imports


BACKENDS: dict[str, Backend] = {
    "file": Backend("storage.stores.local:LocalStore"),
    "memory": Backend("storage.stores.memory:MemoryStore"),
    "s3": Backend("storage.stores.s3:S3Store", "pip install boto3"),
    "oss": Backend("storage.stores.oss:OssStore", "pip install oss2"),
    "qiniu": Backend("storage.stores.qiniu:QiniuStore", "pip install qiniu"),
}


@dataclass(frozen=True)
class StoreLocation:
    scheme: str
    bucket: str
    prefix: str
    options: Mapping[str, str]  # from the URL's query


def register_backend(scheme: str, target: str, hint: str | None = None) -> None:
    """Add or replace the adapter for a scheme (plugins, tests)."""
    BACKENDS[scheme] = Backend(target, hint)


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
    backend = BACKENDS.get(scheme)
    if backend is None:
        raise InvalidConfig(f"unknown store scheme {scheme!r} (known: {', '.join(sorted(BACKENDS))})")
    module_name, _, class_name = backend.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name is not None and (exc.name == module_name or module_name.startswith(exc.name + ".")):
            raise InvalidConfig(f"the {scheme} store adapter ({module_name}) is not available") from exc
        hint = f"; install it with: {backend.hint}" if backend.hint else ""
        raise InvalidConfig(
            f"the {scheme} store needs the Python package {exc.name or 'its SDK'!r}, which is not "
            f"installed{hint}"
        ) from exc
    try:
        return getattr(module, class_name)
    except AttributeError:
        raise InvalidConfig(f"{module_name} has no store class {class_name}") from None


def open_store(url_or_profile: str, *, config: Config | None = None, **options: Any) -> ObjectStore:
    """The store a URL, plain folder path or profile name (from recshelf.toml) designates.

    Options: the profile's, then the URL query's, then these keyword arguments, later ones winning.
    """
    profile_options: Mapping[str, str] = {}
    url = url_or_profile
    if "://" not in url_or_profile and is_profile_name(url_or_profile):
        # Only a bare name can be a profile; the file is read lazily so paths never need it.
        cfg = config if config is not None else load_config()
        profile = cfg.profiles.get(url_or_profile)
        if profile is not None:
            url, profile_options = profile.url, profile.options
    location = parse_store_url(url)
    given = check_options({k: v for k, v in options.items() if v is not None}, "open_store options")
    merged = {**profile_options, **location.options, **given}
    cls = backend_class(location.scheme)
    store: ObjectStore = cls.from_options(location.bucket, location.prefix, merged)
    return store


def _safe(url: str) -> str:
    """The URL without userinfo and query, for messages (either may hold secrets)."""
    parts = urlsplit(url)
    host = parts.netloc.rpartition("@")[2]
    return f"{parts.scheme}://{host}{parts.path}"

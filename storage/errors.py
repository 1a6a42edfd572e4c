"""Every error recshelf raises on purpose, in one tree, so a caller can catch as wide as it needs.

    RecshelfError                 anything recshelf refuses or cannot do
    ├── ConfigError               recshelf.toml, a profile, an option or an environment value is wrong
    │   └── InvalidConfig         ... for a store (URL, profile, options); also a StoreError, because
    │                             every "open this store" caller treats a bad store URL like a dead store
    ├── StoreError                an object store failed; names the store URL and key
    │   ├── NotFound              the key, bucket or folder does not exist
    │   ├── AccessDenied          credentials are wrong, expired or lack permission
    │   ├── Unavailable           network failure, timeout or server error, after bounded retries
    │   └── InvalidConfig         (see ConfigError)
    ├── PlaylistError             a playlist cannot be served to a player (storage.recordings, storage.media)
    ├── ShareError                a share link cannot be made: no such recording, or an ambiguous choice
    ├── ExportError               an export cannot produce a correct artefact (storage.export.errors)
    │   ├── SliceError            a slice is missing, empty, changed or not MPEG-TS
    │   └── SourceUnavailable     a store failed mid-export; a re-run resumes
    └── AgoraError                the Agora REST API refused or could not be reached (storage.agora.errors)
        ├── AgoraTransportError, AgoraAuthError, RouteNotFound, RateLimited
        └── AgoraServiceError     one subclass per documented service code (NoRecordedData, ...)

Messages never hold a secret (keys, tokens, passwords, signed query strings): they end up in logs,
terminals and the web UI. They name what failed (store URL without credentials, key, call, status).
This module is the base layer: it imports nothing from recshelf.
"""

from __future__ import annotations

from typing import Any


class RecshelfError(Exception):
    """Base of every error recshelf raises on purpose."""


class ConfigError(RecshelfError):
    """recshelf.toml, a profile, an option or an environment value is wrong or incomplete."""


class StoreError(RecshelfError):
    """An object store failed. The message names the store URL and key, never a secret."""

    def __init__(self, message: str, *, url: str = "", key: str | None = None) -> None:
        self.url = url
        self.key = key
        where = url + (f" key {key!r}" if key is not None else "")
        super().__init__(f"{where}: {message}" if where else message)
        self.reason = message


class NotFound(StoreError):
    """The key, bucket or folder does not exist."""


class AccessDenied(StoreError):
    """Credentials are wrong, expired or lack permission."""


class Unavailable(StoreError):
    """Network failure, timeout or server error that persisted after bounded retries."""


class InvalidConfig(ConfigError, StoreError):
    """The store URL, profile or options are wrong or incomplete.

    Both a ConfigError and a StoreError: commands and pages that open a store catch StoreError and
    must report a wrong store URL as clearly as a dead store.
    """


class PlaylistError(RecshelfError):
    """A playlist cannot be parsed or served to a player; names the recording, never a signed URL."""


class ShareError(RecshelfError):
    """A share link cannot be made (no such recording, or the choice is ambiguous); the message says which."""


class ExportError(RecshelfError):
    """An export that cannot produce a correct artefact. `resumable` jobs can simply be run again."""

    resumable = False


class AgoraError(RecshelfError):
    """Base of every error the Agora client raises (its subclasses live in storage.agora.errors).

    The message names the call and HTTP status, never the request body (it holds storage keys)
    nor the Authorization header.
    """

    meaning: str = "Agora Cloud Recording request failed"
    advice: str = ""
    # Safe to send the very same request again (it did nothing, or it is idempotent by nature).
    retry_same_request: bool = False

    def __init__(self, message: str = "", *, call: str = "", http_status: int | None = None,
                 code: int | None = None, reason: str | None = None,
                 body: dict[str, Any] | None = None) -> None:
        self.call = call
        self.http_status = http_status
        self.code = code
        self.reason = reason
        self.body = body or {}
        parts = [f"{call}:" if call else "", message or self.meaning]
        if http_status is not None:
            parts.append(f"(HTTP {http_status}" + (f", code {code})" if code is not None else ")"))
        if reason:
            parts.append(f"reason={reason!r}")
        if self.advice:
            parts.append(f"— {self.advice}")
        super().__init__(" ".join(p for p in parts if p))

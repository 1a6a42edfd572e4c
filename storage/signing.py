"""HMAC-signed, expiring URLs for objects that `storage/server/app.py` serves (local-folder stores).

A URL is ``<base>/media/<root_id>/<quoted key>?exp=<unix s>&sig=<hex>`` where ``root_id`` names the
folder (base64url of its absolute path, so the server needs no registry of roots) and ``sig`` is
HMAC-SHA256 over root_id, key and exp with the server's media secret. Anyone holding the URL can
read that one object until ``exp``; nothing else is reachable with it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import time
from typing import Any, Protocol
from urllib.parse import quote

MEDIA_SECRET_ENV = "RECSHELF_MEDIA_SECRET"


def configured_media_secret() -> str | None:
    """The HMAC key of signed media URLs and share links: $RECSHELF_MEDIA_SECRET, else [server] media_secret.

    One order for the routes that check signatures and for every signer (local stores, the UI), so a
    secret set in both places cannot make one side sign with one and the other check with the other.
    """
    from_env = os.environ.get(MEDIA_SECRET_ENV)
    if from_env:
        return from_env  # recshelf.toml is not read on every slice request
    from storage.settings import load_config
    from storage.stores.base import StoreError

    try:
        return load_config().server.media_secret
    except StoreError:
        return None


def encode_root(root: str) -> str:
    return base64.urlsafe_b64encode(root.encode()).decode().rstrip("=")


def decode_root(root_id: str) -> str:
    padded = root_id + "=" * (-len(root_id) % 4)
    return base64.urlsafe_b64decode(padded.encode()).decode()


def media_signature(secret: str, root_id: str, key: str, exp: int) -> str:
    message = f"{root_id}\n{key}\n{exp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def sign_media_url(base_url: str, secret: str, root: str, key: str, expires_s: int,
                   now: float | None = None) -> str:
    exp = int((time.time() if now is None else now) + expires_s)
    root_id = encode_root(root)
    sig = media_signature(secret, root_id, key, exp)
    return f"{base_url.rstrip('/')}/media/{root_id}/{quote(key, safe='/')}?exp={exp}&sig={sig}"


def check_media_signature(secret: str, root_id: str, key: str, exp: int, sig: str,
                          now: float | None = None) -> bool:
    if exp < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(media_signature(secret, root_id, key, exp), sig)


# -- share tokens --------------------------------------------------------------------------------
#
# A share link is ``<base>/share/<payload>/<sig>/<name>.m3u8`` (storage/server/share.py serves it).
# ``payload`` is base64url JSON naming the store (a profile name or a store URL, which never holds
# secrets), the recording (folder, sid and id) and the expiry; ``sig`` is HMAC-SHA256 of the payload
# with the media secret. The payload is signed, not encrypted: it shows the store reference and the
# recording's name.

MAX_EXPIRY_S = 7 * 24 * 3600  # SigV4 presigned URLs cannot live longer, so neither can a link to them
SHARE_EXPIRIES: dict[str, int] = {"1 hour": 3600, "1 day": 86400, "7 days": MAX_EXPIRY_S}


class SharedKey(Protocol):
    @property
    def sid(self) -> str: ...
    @property
    def cname(self) -> str: ...


class SharedRecording(Protocol):
    """What a share token names of a recording (storage.recordings.catalog.Recording has it)."""

    @property
    def folder(self) -> str: ...
    @property
    def id(self) -> str: ...
    @property
    def key(self) -> SharedKey: ...


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode())


def share_signature(secret: str, payload: str) -> str:
    # The "share" prefix keeps a share signature from ever passing as a media signature, and back.
    return hmac.new(secret.encode(), b"share\n" + payload.encode(), hashlib.sha256).hexdigest()


def make_share_url(base_url: str, secret: str, store_ref: str, rec: SharedRecording, expires_s: int,
                   now: float | None = None) -> str:
    """A signed playlist URL for `rec` in the store `store_ref`, valid for `expires_s` seconds."""
    if expires_s <= 0:
        raise ValueError("expires_s must be positive")
    exp = int((time.time() if now is None else now) + min(expires_s, MAX_EXPIRY_S))
    body = {"s": store_ref, "f": rec.folder, "sid": rec.key.sid, "id": rec.id, "e": exp}
    payload = _b64(json.dumps(body, separators=(",", ":"), sort_keys=True).encode())
    name = quote(f"{rec.key.sid}_{rec.key.cname}"[:80], safe="") or "recording"
    return f"{base_url.rstrip('/')}/share/{payload}/{share_signature(secret, payload)}/{name}.m3u8"


def read_share_token(secret: str, payload: str, sig: str, now: float | None = None) -> dict[str, Any] | None:
    """The token's fields when the signature is right and it has not expired, else None."""
    if not hmac.compare_digest(share_signature(secret, payload), sig):
        return None
    try:
        body = json.loads(_unb64(payload))
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(body, dict) or not isinstance(body.get("e"), int):
        return None
    if body["e"] < (time.time() if now is None else now):
        return None
    return body

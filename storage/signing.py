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
import os
import time
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

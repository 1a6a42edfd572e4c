"""HMAC-signed, expiring URLs for objects that `storage/server/app.py` serves (local-folder stores).

A URL is ``<base>/media/<store_id>/<quoted key>?exp=<unix s>&sig=<hex>``. ``store_id`` is opaque:
an HMAC of the folder's absolute path under the media secret, so it names no path, and the
server answers only for the ids of the folders its settings tell it to serve (`media_store_ids`);
any other id is a 404 however well it is signed. ``sig`` is HMAC-SHA256 over store_id, key and exp.
Anyone holding the URL can read that one object until ``exp``; nothing else is reachable with it.

The secret itself is resolved once by `storage.settings.Settings` ($RECSHELF_MEDIA_SECRET, else
[server] media_secret); nothing here reads the environment or the configuration file.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

STORE_ID_LENGTH = 24  # hex characters: 96 bits, more than enough to never collide between folders


def media_store_id(secret: str, root: str | Path) -> str:
    """The opaque id of a folder in media URLs."""
    message = b"media-root\n" + str(Path(root).absolute()).encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()[:STORE_ID_LENGTH]


def media_store_ids(secret: str, roots: Iterable[str | Path]) -> dict[str, Path]:
    """store_id -> folder, for the folders a server is configured to serve."""
    return {media_store_id(secret, root): Path(root).absolute() for root in roots}


def media_signature(secret: str, store_id: str, key: str, exp: int, download: str = "") -> str:
    # The download name is signed too (when there is one), so nobody can re-label someone's link.
    message = f"{store_id}\n{key}\n{exp}" + (f"\ndownload\n{download}" if download else "")
    return hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()


def sign_media_url(base_url: str, secret: str, root: str | Path, key: str, expires_s: int,
                   now: float | None = None, download: str = "") -> str:
    """The URL; with `download`, the server sends the file as an attachment under that name."""
    exp = int((time.time() if now is None else now) + expires_s)
    store_id = media_store_id(secret, root)
    sig = media_signature(secret, store_id, key, exp, download)
    dl = f"&dl={quote(download, safe='')}" if download else ""
    return f"{base_url.rstrip('/')}/media/{store_id}/{quote(key, safe='/')}?exp={exp}&sig={sig}{dl}"


def check_media_signature(secret: str, store_id: str, key: str, exp: int, sig: str,
                          now: float | None = None, download: str = "") -> bool:
    if exp < (time.time() if now is None else now):
        return False
    return hmac.compare_digest(media_signature(secret, store_id, key, exp, download), sig)


@dataclass(frozen=True)
class MediaSigner:
    """The `storage.stores.base.Signer` local stores get: the server's base URL and media secret."""

    base_url: str
    secret: str = field(repr=False)

    def sign(self, root: str, key: str, expires_s: int) -> str:
        return sign_media_url(self.base_url, self.secret, root, key, expires_s)


# -- share tokens --------------------------------------------------------------------------------
#
# A share link is ``<base>/share/<token>`` (storage/server/share.py serves it). The token is random
# and opaque: what it opens (store, folder, sid, expiry, revocation) is a row of the service
# database (storage/service/repo_shares.py), so nothing about the recording can be read from the
# link, and a link can be listed and revoked.

MAX_EXPIRY_S = 7 * 24 * 3600  # SigV4 presigned URLs cannot live longer, so neither can a link to them
SHARE_EXPIRIES: dict[str, int] = {"1 hour": 3600, "1 day": 86400, "7 days": MAX_EXPIRY_S}
SHARE_TOKEN_BYTES = 32  # 256 random bits; token_urlsafe gives 43 characters of [A-Za-z0-9_-]
_SHARE_TOKEN = re.compile(r"[A-Za-z0-9_-]{43}")
_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def new_share_token() -> str:
    return secrets.token_urlsafe(SHARE_TOKEN_BYTES)


def is_share_token(text: str) -> bool:
    """Whether `text` has the shape of a share token (checked before any database look-up)."""
    return _SHARE_TOKEN.fullmatch(text) is not None


def share_url(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/share/{token}"


def parse_duration(text: str) -> int:
    """Seconds in ``90``, ``45m``, ``12h``, ``1d`` or ``1w``; ValueError naming the text otherwise."""
    match = _DURATION.match(text.lower())
    if match is None or int(match.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a duration such as 1h, 1d or 7d")
    return int(match.group(1)) * _UNIT_S[match.group(2)]


# -- login sessions --------------------------------------------------------------------------------
#
# The web UI's login cookie: ``v1.<exp>.<nonce>.<sig>``, HMAC-SHA256 under a key derived from the media
# secret AND the UI password, so changing the password (or the secret) logs everyone out. The server
# sets it (POST /login, HttpOnly) and the UI, on the same host, reads and checks it; neither keeps a
# list of sessions, so logging out clears the cookie in that browser.

SESSION_COOKIE = "recshelf_session"
SESSION_TTL_S = 12 * 3600  # a working day: reloads and new tabs stay logged in until then, or logout


def _session_key(secret: str, password: str) -> bytes:
    return hmac.new(secret.encode(), b"ui-session\n" + hashlib.sha256(password.encode()).digest(),
                    hashlib.sha256).digest()


def make_session(secret: str, password: str, ttl_s: int = SESSION_TTL_S, now: float | None = None) -> str:
    exp = int((time.time() if now is None else now) + ttl_s)
    nonce = secrets.token_urlsafe(12)
    body = f"v1.{exp}.{nonce}"
    return f"{body}.{hmac.new(_session_key(secret, password), body.encode(), hashlib.sha256).hexdigest()}"


def session_valid(secret: str, password: str, token: str | None, now: float | None = None) -> bool:
    """True for an unexpired session token signed for this secret and password."""
    if not isinstance(token, str) or not token or len(token) > 200:
        return False
    body, _, sig = token.rpartition(".")
    parts = body.split(".")
    if len(parts) != 3 or parts[0] != "v1" or not parts[1].isdigit():
        return False
    expected = hmac.new(_session_key(secret, password), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig):
        return False
    return int(parts[1]) >= (time.time() if now is None else now)


def password_matches(typed: str, password: str) -> bool:
    """Constant-time: digests are compared, so the time says nothing about the password's length."""
    return hmac.compare_digest(hashlib.sha256(typed.encode()).digest(), hashlib.sha256(password.encode()).digest())


# With `[users.NAME]` the cookie names the user: ``u1.<exp>.<nonce>.<name as hex>.<sig>``, signed under a key
# derived from the media secret AND that user's password hash, so a changed password (or a removed user)
# ends that user's logins and nobody else's. Hex keeps any user name free of the token's dots.
_MAX_USER_TOKEN = 400


def make_user_session(secret: str, user: str, credential: str, ttl_s: int = SESSION_TTL_S,
                      now: float | None = None) -> str:
    exp = int((time.time() if now is None else now) + ttl_s)
    body = f"u1.{exp}.{secrets.token_urlsafe(12)}.{user.encode().hex()}"
    return f"{body}.{hmac.new(_session_key(secret, credential), body.encode(), hashlib.sha256).hexdigest()}"


def session_user(secret: str, token: str | None, credential_of: Callable[[str], str | None],
                 now: float | None = None) -> str | None:
    """The user an unexpired user-session token names, when it is signed with that user's current credential."""
    if not isinstance(token, str) or not token or len(token) > _MAX_USER_TOKEN:
        return None
    body, _, sig = token.rpartition(".")
    parts = body.split(".")
    if len(parts) != 4 or parts[0] != "u1" or not parts[1].isdigit():
        return None
    try:
        user = bytes.fromhex(parts[3]).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    credential = credential_of(user)
    if not credential:
        return None
    expected = hmac.new(_session_key(secret, credential), body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, sig) or int(parts[1]) < (time.time() if now is None else now):
        return None
    return user

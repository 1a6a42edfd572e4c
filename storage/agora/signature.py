"""Agora NCS callback signatures (reference/agora.md §3.5): hex HMAC over the raw body bytes."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def sign_v1(secret: str, raw_body: bytes) -> str:
    """`Agora-Signature`: lower-case hex HMAC-SHA1."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha1).hexdigest()


def sign_v2(secret: str, raw_body: bytes) -> str:
    """`Agora-Signature-V2`: lower-case hex HMAC-SHA256."""
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


def signature_headers(secret: str, raw_body: bytes) -> dict[str, str]:
    return {"Agora-Signature": sign_v1(secret, raw_body), "Agora-Signature-V2": sign_v2(secret, raw_body)}


def signature_ok(secret: str, raw_body: bytes, headers: Mapping[str, str]) -> bool:
    """True when the V2 header (preferred) or, failing that, the V1 header matches the body."""
    lowered = {k.lower(): v for k, v in headers.items()}
    v2 = lowered.get("agora-signature-v2")
    if v2:
        return _same(sign_v2(secret, raw_body), v2)
    v1 = lowered.get("agora-signature")
    if v1:
        return _same(sign_v1(secret, raw_body), v1)
    return False


def _same(expected: str, given: str) -> bool:
    # As bytes: compare_digest refuses non-ASCII str (TypeError), and a header may hold any Latin-1 text.
    return hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "surrogateescape"))

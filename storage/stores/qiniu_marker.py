"""Kodo list markers made from a key, so a Qiniu listing can start anywhere (storage/stores/ranges.py).

Kodo documents its marker as opaque, and shows it to be urlsafe base64 of `{"c": 0, "k": <last key>}`
(its knowledge-base example, reference/storage-sdks.md §2.3); the SDK has no start-after parameter.
"""

from __future__ import annotations

import base64
import json


def marker_after(key: str) -> str:
    """The marker of a listing that goes on after `key` (a full key, bucket prefix included)."""
    return base64.urlsafe_b64encode(json.dumps({"c": 0, "k": key}).encode()).decode()

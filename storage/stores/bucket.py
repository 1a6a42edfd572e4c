"""What every bucket adapter shares: bucket + URL prefix → the store URL and the full object keys."""

from __future__ import annotations

from typing import ClassVar

from storage.stores.base import InvalidConfig


class BucketKeys:
    """Mixin: call `_place(bucket, prefix)` first in `__init__`; then `url`, `bucket`, `prefix`, `_root`, `_full`."""

    scheme: ClassVar[str]

    def _place(self, bucket: str, prefix: str) -> None:
        if not bucket:
            raise InvalidConfig(f"no bucket given (expected {self.scheme}://bucket/prefix)")
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.url = f"{self.scheme}://{bucket}/{self.prefix}" if self.prefix else f"{self.scheme}://{bucket}"
        # Keys are relative to the prefix (DESIGN.md deviation noted): `_root + key` is the object's name.
        self._root = self.prefix + "/" if self.prefix else ""

    def _full(self, key: str) -> str:
        if not key:
            raise InvalidConfig("empty key", url=self.url, key=key)
        return self._root + key

"""Objects held in this process's memory, for tests and as the conformance suite's reference.

``memory://name/prefix``: every store opened with the same name shares one set of objects for the
life of the process (as fsspec's memory filesystem does), so a test can write through one store
and read through another opened by URL. Nothing can fetch its objects over HTTP, so `signed_url`
refuses with a clear error.
"""

from __future__ import annotations

import hashlib
import io
import threading
from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import BinaryIO, ClassVar, Self

from storage.stores.base import NotFound, ObjectInfo, StoreError, reject_unknown_options
from storage.stores.bucket import BucketKeys

OPTIONS: frozenset[str] = frozenset()  # nothing to configure: the name is the whole address
_CHUNK = 1 << 20


class _Bucket:
    """One name's objects; the lock makes every single operation atomic across threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, tuple[bytes, ObjectInfo]] = {}


class MemoryStore(BucketKeys):
    scheme = "memory"
    _buckets: ClassVar[dict[str, _Bucket]] = {}
    _buckets_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, name: str, prefix: str = "") -> None:
        self._place(name, prefix)
        with self._buckets_lock:
            self._bucket = self._buckets.setdefault(name, _Bucket())

    @classmethod
    def from_options(cls, bucket: str, prefix: str, options: Mapping[str, str]) -> Self:
        store = cls(bucket, prefix)
        reject_unknown_options(options, OPTIONS, "a memory store", store.url)
        return store

    @classmethod
    def forget(cls, name: str) -> None:
        """Drop every object of the stores named `name` (tests that want a clean slate)."""
        with cls._buckets_lock:
            cls._buckets.pop(name, None)

    def __repr__(self) -> str:
        return f"MemoryStore({self.url!r})"

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        return self._list(self._root + prefix)

    def _list(self, full_prefix: str) -> Iterator[ObjectInfo]:
        # A snapshot taken at the first next(): later writes do not disturb an ongoing listing.
        with self._bucket.lock:
            names = sorted(name for name in self._bucket.objects if name.startswith(full_prefix))
            infos = [self._bucket.objects[name][1] for name in names]
        for info in infos:
            yield self._relative(info)

    def _relative(self, info: ObjectInfo) -> ObjectInfo:
        # Stored under full names, so stores of one name with different prefixes see the same objects.
        return replace(info, key=info.key[len(self._root):])

    def stat(self, key: str) -> ObjectInfo | None:
        with self._bucket.lock:
            entry = self._bucket.objects.get(self._full(key))
        return self._relative(entry[1]) if entry else None

    def _data(self, key: str) -> bytes:
        with self._bucket.lock:
            entry = self._bucket.objects.get(self._full(key))
        if entry is None:
            raise NotFound("no such object", url=self.url, key=key)
        return entry[0]

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        data = self._data(key)
        if start < 0 or (end is not None and end < start):
            raise ValueError(f"invalid range [{start}, {end})")
        if start and start >= len(data):
            raise ValueError(f"range start {start} is past the end of {key!r} ({len(data)} bytes)")
        return data[start:end]

    def open(self, key: str) -> BinaryIO:
        return io.BytesIO(self._data(key))

    def write(self, key: str, data: bytes | BinaryIO, content_type: str | None = None) -> ObjectInfo:
        full = self._full(key)
        body = data if isinstance(data, bytes | bytearray) else _read_all(data)
        info = ObjectInfo(full, len(body), hashlib.md5(body, usedforsecurity=False).hexdigest(),
                          datetime.now(UTC))
        with self._bucket.lock:
            self._bucket.objects[full] = (bytes(body), info)
        return self._relative(info)

    def delete(self, key: str) -> None:
        with self._bucket.lock:
            self._bucket.objects.pop(self._full(key), None)

    def signed_url(self, key: str, expires_s: int = 3600) -> str:
        raise StoreError("a memory store cannot sign URLs: its objects live in this process and nothing "
                         "over HTTP can fetch them; use a local, S3, OSS or Qiniu store to play or share",
                         url=self.url, key=key)


def _read_all(stream: BinaryIO) -> bytes:
    chunks = []
    while chunk := stream.read(_CHUNK):
        chunks.append(chunk)
    return b"".join(chunks)

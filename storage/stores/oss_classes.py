"""OSS storage classes for OssStore: copy-in-place with x-oss-storage-class, RestoreObject for archives.

OSS changes an object's class by copying it onto itself with `x-oss-storage-class` (metadata kept by
`x-oss-metadata-directive: COPY`); Archive, ColdArchive and DeepColdArchive objects must be restored
before they can be read (RestoreObject; 409 RestoreAlreadyInProgress while one runs).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import oss2
from oss2.exceptions import OssError

from storage.stores.classes import OSS_CLASSES, RESTORE_IN_PROGRESS, RESTORE_STARTED, StorageClasses

T = TypeVar("T")
RESTORE_TIER = "Standard"  # ColdArchive: within 5 hours (Expedited is 1 hour, Bulk 10)


class OssClasses:
    """Mixin of OssStore (needs `_bucket`, `bucket`, `url`, `_full`, `_call`)."""

    storage_classes: StorageClasses = OSS_CLASSES
    _bucket: Any
    bucket: str
    url: str

    if TYPE_CHECKING:  # provided by BucketKeys and the adapter; never defined here (MRO)
        def _full(self, key: str) -> str: ...
        def _call(self, call: Callable[[], T], key: str | None, attempts: int | None = None) -> T: ...

    def set_storage_class(self, key: str, name: str) -> None:
        name = OSS_CLASSES.canonical(name, self.url)
        full = self._full(key)
        headers = {"x-oss-storage-class": name, "x-oss-metadata-directive": "COPY"}
        self._call(lambda: self._bucket.copy_object(self.bucket, full, full, headers=headers), key)

    def restore(self, key: str, days: int) -> str:
        full = self._full(key)
        config = oss2.models.RestoreConfiguration(days, oss2.models.RestoreJobParameters(RESTORE_TIER))

        def call() -> str:
            try:
                self._bucket.restore_object(full, input=config)
            except OssError as exc:
                if exc.code == "RestoreAlreadyInProgress":
                    return RESTORE_IN_PROGRESS
                raise
            return RESTORE_STARTED

        return self._call(call, key)

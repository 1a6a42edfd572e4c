"""Qiniu storage types for QiniuStore: chtype to change one, restoreAr to thaw an archived object.

Kodo numbers its types (0 standard, 1 low-frequency, 2 archive, 3 deep archive, 4 archive with direct
read); listings and stat report the number as `type`. Archive and deep-archive objects must be thawed
(restoreAr, `freezeAfterDays` 1-7) before they can be downloaded.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

from qiniu.http import ResponseInfo

from storage.stores.classes import QINIU_CLASSES, RESTORE_IN_PROGRESS, RESTORE_STARTED, StorageClasses

MAX_FREEZE_AFTER_DAYS = 7
_IN_PROGRESS = "restore already in progress"  # Kodo's error text for a second restoreAr while thawing


def qiniu_class(item: Mapping[str, Any]) -> str:
    """The type name of a listing item or stat result (`type`, 0 when absent)."""
    number = int(item.get("type") or 0)
    return QINIU_CLASSES.names[number] if 0 <= number < len(QINIU_CLASSES.names) else str(number)


class QiniuClasses:
    """Mixin of QiniuStore (needs `_manager`, `bucket`, `url`, `_full`, `_sdk`, `_raise`)."""

    storage_classes: StorageClasses = QINIU_CLASSES
    _manager: Any
    bucket: str
    url: str

    if TYPE_CHECKING:  # provided by BucketKeys and the adapter; never defined here (MRO)
        def _full(self, key: str) -> str: ...
        def _sdk(self, call: Callable[[], Any], key: str | None, action: str) -> tuple[Any, ResponseInfo]: ...
        def _raise(self, info: ResponseInfo, key: str | None, action: str) -> NoReturn: ...

    def set_storage_class(self, key: str, name: str) -> None:
        number = QINIU_CLASSES.names.index(QINIU_CLASSES.canonical(name, self.url))
        full = self._full(key)
        _, info = self._sdk(lambda: self._manager.change_type(self.bucket, full, number), key, "chtype")
        if not info.ok():
            self._raise(info, key, "chtype")

    def restore(self, key: str, days: int) -> str:
        days = max(1, min(days, MAX_FREEZE_AFTER_DAYS))
        full = self._full(key)
        _, info = self._sdk(lambda: self._manager.restore_ar(self.bucket, full, days), key, "restoreAr")
        if info.ok():
            return RESTORE_STARTED
        if _IN_PROGRESS in (info.error or "").lower():
            return RESTORE_IN_PROGRESS
        self._raise(info, key, "restoreAr")

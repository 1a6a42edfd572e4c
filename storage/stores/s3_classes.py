"""S3 storage classes for S3Store: copy-in-place with a new StorageClass, RestoreObject for Glacier.

S3 has no "change class" call: an object is copied onto itself with `StorageClass` (metadata and
Content-Type kept by `MetadataDirective=COPY`); S3 refuses a self-copy that changes nothing, so callers
skip objects already in the class. One CopyObject request copies up to 5 GB (Agora's slices and
playlists are far smaller; a larger MP4 gets S3's own error). GLACIER and DEEP_ARCHIVE objects cannot
be read, nor copied to another class, until restored.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from botocore.exceptions import ClientError

from storage.stores.classes import RESTORE_IN_PROGRESS, RESTORE_STARTED, S3_CLASSES, StorageClasses

RESTORE_TIER = "Standard"  # Glacier: 3-5 hours, Deep Archive: within 12 hours


class S3Classes:
    """Mixin of S3Store (needs `client`, `bucket`, `url`, `_full`, `_raise`)."""

    storage_classes: StorageClasses = S3_CLASSES
    client: Any
    bucket: str
    url: str

    if TYPE_CHECKING:  # provided by BucketKeys and the adapter; never defined here (MRO)
        def _full(self, key: str) -> str: ...
        def _raise(self, exc: BaseException, key: str | None) -> NoReturn: ...

    def set_storage_class(self, key: str, name: str) -> None:
        name = S3_CLASSES.canonical(name, self.url)
        full = self._full(key)
        try:
            self.client.copy_object(Bucket=self.bucket, Key=full, CopySource={"Bucket": self.bucket, "Key": full},
                                    StorageClass=name, MetadataDirective="COPY")
        except Exception as exc:
            self._raise(exc, key)

    def restore(self, key: str, days: int) -> str:
        request = {"Days": days, "GlacierJobParameters": {"Tier": RESTORE_TIER}}
        try:
            self.client.restore_object(Bucket=self.bucket, Key=self._full(key), RestoreRequest=request)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "RestoreAlreadyInProgress":
                return RESTORE_IN_PROGRESS
            self._raise(exc, key)
        except Exception as exc:
            self._raise(exc, key)
        return RESTORE_STARTED

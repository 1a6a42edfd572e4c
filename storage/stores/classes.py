"""Storage classes (cold storage): the optional capability of a bucket store to change an object's class
in place, and to restore an archived object before it can be read.

A store that has classes sets `storage_classes` (a `StorageClasses`: the backend's own names) and offers

    set_storage_class(key, name) -> None   the SDK's own call: S3 copy-in-place with StorageClass, OSS
                                           copy-in-place with x-oss-storage-class, Qiniu chtype
    restore(key, days) -> str              RESTORE_STARTED, or RESTORE_IN_PROGRESS when one already runs

and reports each object's class in `ObjectInfo.storage_class` from its listing. Local and memory stores
have no classes (`classes_of` gives None): everything above asks this module, never the store's type.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from functools import wraps
from typing import ParamSpec, Protocol, TypeVar, runtime_checkable

from storage.errors import InvalidConfig

P = ParamSpec("P")
R = TypeVar("R")

RESTORE_STARTED = "started"  # the backend accepted a restore (or extended a finished one)
RESTORE_IN_PROGRESS = "in_progress"  # a restore asked for earlier is still running


@dataclass(frozen=True)
class StorageClasses:
    names: tuple[str, ...]  # the backend's own names, the default (standard) class first
    cold: frozenset[str]  # classes whose objects must be restored before they can be read
    aliases: Mapping[str, str] = field(default_factory=dict)  # lower-case extra spellings -> a name

    @property
    def default(self) -> str:
        return self.names[0]

    def canonical(self, given: str, url: str = "") -> str:
        """The backend's name for `given` (case-insensitive, or an alias); InvalidConfig naming the known ones."""
        lowered = given.strip().lower()
        for name in self.names:
            if name.lower() == lowered:
                return name
        if lowered in self.aliases:
            return self.aliases[lowered]
        raise InvalidConfig(f"unknown storage class {given!r} (this store knows: {', '.join(self.names)})", url=url)

    def of(self, listed: str | None) -> str:
        """The class of a listed object: what the listing said, or the default when it said nothing."""
        return self.canonical(listed) if listed else self.default

    def needs_restore(self, listed: str | None) -> bool:
        return self.of(listed) in self.cold


@runtime_checkable
class ClassedStore(Protocol):
    storage_classes: StorageClasses

    def set_storage_class(self, key: str, name: str) -> None: ...

    def restore(self, key: str, days: int) -> str: ...


def classed(store: object) -> ClassedStore | None:
    """The store as one with storage classes, or None when it has none (local folders, memory)."""
    return store if isinstance(store, ClassedStore) else None


def classes_of(store: object) -> StorageClasses | None:
    """The store's storage classes, or None when it has none."""
    found = classed(store)
    return found.storage_classes if found is not None else None


S3_CLASSES = StorageClasses(
    ("STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"),
    frozenset({"GLACIER", "DEEP_ARCHIVE"}),
    {"ia": "STANDARD_IA", "archive": "GLACIER", "deep-archive": "DEEP_ARCHIVE"},
)
OSS_CLASSES = StorageClasses(
    ("Standard", "IA", "Archive", "ColdArchive", "DeepColdArchive"),
    frozenset({"Archive", "ColdArchive", "DeepColdArchive"}),
    {"low-frequency": "IA", "cold-archive": "ColdArchive", "deep-archive": "DeepColdArchive"},
)
# Kodo numbers its types (chtype, listing "type"); these names are the console's, in that order.
QINIU_CLASSES = StorageClasses(
    ("standard", "low-frequency", "archive", "deep-archive", "archive-ir"),
    frozenset({"archive", "deep-archive"}),
    {"ia": "low-frequency", "line": "low-frequency", "glacier": "archive"},
)


@contextmanager
def listing_classes(store: object) -> Iterator[None]:
    """Within it, the store's listings report every object's class (S3 with obstore does not, unless asked)."""
    precise = getattr(store, "precise_listing", None)
    with precise() if precise is not None else nullcontext():
        yield


def lists_classes(func: Callable[P, R]) -> Callable[P, R]:
    """`func(store, …)` run within `listing_classes(store)`: for what plans or checks by storage class."""
    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with listing_classes(args[0]):
            return func(*args, **kwargs)
    return wrapper

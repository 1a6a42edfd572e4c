"""How a simulator behaves: credentials, clock speed, callbacks, media size, where it may write."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from storage.agora.models import StorageConfig
from storage.agora.storage_config import store_target
from storage.stores.base import ObjectStore

StoreResolver = Callable[[StorageConfig], ObjectStore]


def default_store_resolver(sc: StorageConfig) -> ObjectStore:
    """The bucket (or folder) root; the simulator adds the fileNamePrefix path to each key itself."""
    return store_target(sc.model_copy(update={"file_name_prefix": []})).open()


@dataclass
class SimulatorSettings:
    customer_id: str = "recshelf"
    customer_secret: str = "recshelf-secret"
    app_ids: frozenset[str] | None = None  # None: any App ID is accepted
    slice_seconds: float = 1.0  # media seconds per slice
    speed: float = 1.0  # >1 produces slices faster than real time
    resource_ttl_s: float = 300.0  # resource ID life (Agora: 5 minutes)
    stop_upload_wait_s: float = 20.0  # a synchronous stop longer than this answers code 50
    late_delay_s: float = 2.0  # default delay of late (backuped) slices after stop
    publishers: tuple[str, ...] = ("1001",)  # uids "in the channel" for individual mode
    callback_url: str | None = None
    callback_secret: str = ""
    callback_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
    progress_every: int = 5  # event 33 every this many slices (Agora: every minute)
    faults: dict[str, Any] = field(default_factory=dict)
    # Vendor 100 (recshelf extension) writes wherever `extensionParams.storeUrl` points, with this
    # server's own credentials: only these targets are accepted. None accepts any (in-process tests).
    extension_stores: frozenset[str] | None = None
    media_fps: int = 10
    media_size: tuple[int, int] = (128, 72)
    clock: Callable[[], float] = time.monotonic  # resource expiry
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # UTC in file names
    store_resolver: StoreResolver = default_store_resolver

    @property
    def tick_s(self) -> float:
        return self.slice_seconds / self.speed

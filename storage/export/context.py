"""What a format writer gets: the unit to export, the stores, options, progress and the resume cache."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from storage.export.dest import Destination
from storage.export.fetch import Fetched, SliceCache, SliceRef, fetch_in_order
from storage.export.options import ExportOptions
from storage.export.plan import Segment, Unit
from storage.export.progress import ProgressTracker
from storage.stores.base import ObjectStore


@dataclass
class FetchCounts:
    downloaded: int = 0  # slices read from the source store
    reused: int = 0  # slices read back from the resume cache (or already present at a copy target)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, cached: bool) -> None:
        with self.lock:
            if cached:
                self.reused += 1
            else:
                self.downloaded += 1


@dataclass
class UnitContext:
    store: ObjectStore
    unit: Unit
    dest: Destination
    options: ExportOptions
    tracker: ProgressTracker
    counts: FetchCounts = field(default_factory=FetchCounts)

    @property
    def cache(self) -> SliceCache:
        return SliceCache(self.dest.work_dir(self.unit.name) / "slices")

    def fetch(self, segments: Sequence[Segment], workers: int | None = None) -> Iterator[Fetched]:
        """The present segments' bytes in order, fetched ahead in parallel, checked and cached."""
        return self.fetch_refs([s.ref() for s in segments], workers)

    def fetch_refs(self, refs: Sequence[SliceRef], workers: int | None = None, *,
                   cached: bool = True) -> Iterator[Fetched]:
        """`fetch` of slice references; `cached=False` for a writer whose output is its own resume state."""
        return fetch_in_order(self.store, refs, workers=workers or self.options.workers,
                              window=self.options.window, cache=self.cache if cached else None,
                              on_fetched=self._fetched)

    def resumed(self, slices: int, nbytes: int) -> None:
        """Count slices a writer took from its own partial output as reused, and show them done."""
        with self.counts.lock:
            self.counts.reused += slices
        if slices:
            self.tracker.advance(nbytes, slices)

    def _fetched(self, item: Fetched) -> None:
        self.counts.add(item.cached)
        self.tracker.advance(len(item.data))

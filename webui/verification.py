"""Verification for the web UI: results kept in the service database, the visible page verified in the background.

A result is stored with the fingerprint of the listing it came from (object names, sizes, etags or
times), so the next load shows it at once and a recording whose objects changed is simply "not
verified" again. Work is queued per recording and never twice at a time; `verify_many` owns the
concurrency of one batch. A failed verification (the store unreachable) is kept in memory only, so it
is retried on a later page load instead of being remembered.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from storage.recordings.catalog import Recording
from storage.recordings.objects import listing_fingerprint as fingerprint
from storage.recordings.posters import cached_poster, make_poster
from storage.recordings.verify import verify, verify_many
from storage.service.db import Database
from storage.service.repo_verification import CachedStatus, VerificationRepo, Verified
from storage.stores.base import ObjectStore, StoreError

SAVE_EVERY = 16  # results written per transaction while a batch runs, so the table fills in as it goes
ERROR_RETRY_S = 60.0
POSTER_WORKERS = 2


class Verifications:
    """The UI's verification results for every store of this process, and its background workers."""

    def __init__(self, data_dir: Path) -> None:
        # NORMAL: losing the last cached results to a power cut only costs verifying them again.
        self.repo = VerificationRepo(Database(data_dir, synchronous="NORMAL"))
        self.poster_dir = data_dir / "posters"
        self._lock = threading.Condition()
        self._pending: set[tuple[str, str]] = set()
        self._poster_pending: set[tuple[str, str]] = set()  # (store URL, recording id)
        self._errors: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
        self._batches = ThreadPoolExecutor(max_workers=2, thread_name_prefix="recshelf-verify")
        self._posters = ThreadPoolExecutor(max_workers=POSTER_WORKERS, thread_name_prefix="recshelf-poster")

    def statuses(self, store_ref: str) -> dict[str, CachedStatus]:
        found = self.repo.statuses(store_ref)
        now = time.monotonic()
        with self._lock:
            for (ref, rec_id), (at, report) in list(self._errors.items()):
                if ref == store_ref and now - at < ERROR_RETRY_S:
                    found[rec_id] = CachedStatus(report["fingerprint"], "error", None)
        return found

    def pending(self, store_ref: str) -> set[str]:
        with self._lock:
            return {rec_id for ref, rec_id in self._pending if ref == store_ref}

    def report(self, store_ref: str, rec: Recording) -> dict[str, Any] | None:
        fp = fingerprint(rec)
        with self._lock:
            error = self._errors.get((store_ref, rec.id))
        if error and error[1]["fingerprint"] == fp and time.monotonic() - error[0] < ERROR_RETRY_S:
            return error[1]
        return self.repo.report(store_ref, rec.id, fp)

    def verify_now(self, store_ref: str, store: ObjectStore, rec: Recording) -> dict[str, Any]:
        """The cached report, or verify it here and now (one recording, for its own page)."""
        found = self.report(store_ref, rec)
        if found is None:
            self._finish(store_ref, [(rec, self._verify_one(store, rec))])
            found = self.report(store_ref, rec)
        assert found is not None
        return found

    def submit(self, store_ref: str, store: ObjectStore, recs: Sequence[Recording], *, posters: bool = True,
               cached: Mapping[str, CachedStatus] | None = None) -> None:
        """Verify in the background those of `recs` not verified for their current listing, and make posters.

        `cached` is `statuses(store_ref)` when the caller has just read it (one query per page run).
        """
        cached = self.statuses(store_ref) if cached is None else cached
        todo = [r for r in recs if r.id not in cached or cached[r.id].fingerprint != fingerprint(r)]
        with self._lock:
            todo = [r for r in todo if (store_ref, r.id) not in self._pending]
            self._pending.update((store_ref, r.id) for r in todo)
        if todo:
            self._batches.submit(self._run, store_ref, store, todo)
        # Statuses first: decoding posters would take CPU from them; the next page run asks again.
        if posters and not self.pending_among(store_ref, {r.id for r in recs}):
            with self._lock:
                wanted = [r for r in recs if (store.url, r.id) not in self._poster_pending
                          and cached_poster(self.poster_dir, store.url, r) is None]
                self._poster_pending.update((store.url, r.id) for r in wanted)
            for rec in wanted:
                self._posters.submit(self._poster, store, rec)

    def wait(self, store_ref: str, rec_ids: set[str], timeout_s: float) -> bool:
        """Wait up to `timeout_s` for these recordings to leave the queue; True when none is pending."""
        deadline = time.monotonic() + timeout_s
        with self._lock:
            while self.pending_among(store_ref, rec_ids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def pending_among(self, store_ref: str, rec_ids: set[str]) -> bool:
        return any((store_ref, rec_id) in self._pending for rec_id in rec_ids)

    def posters_pending(self, store_url: str, rec_ids: set[str]) -> bool:
        with self._lock:
            return any((store_url, rec_id) in self._poster_pending for rec_id in rec_ids)

    def forget(self, store_ref: str) -> None:
        self.repo.forget(store_ref)
        with self._lock:
            for k in [k for k in self._errors if k[0] == store_ref]:
                del self._errors[k]

    # -- workers -------------------------------------------------------------------------------

    def _run(self, store_ref: str, store: ObjectStore, recs: list[Recording]) -> None:
        done: list[tuple[Recording, dict[str, Any]]] = []
        finished: set[str] = set()
        try:
            for rec, report in zip(recs, verify_many(store, recs), strict=True):
                done.append((rec, report.to_dict()))
                finished.add(rec.id)
                if len(done) >= SAVE_EVERY:
                    self._finish(store_ref, done)
                    done = []
        except Exception:  # noqa: BLE001 - a store error mid-batch: verify the rest one by one, errors kept
            done += [(rec, self._verify_one(store, rec)) for rec in recs if rec.id not in finished]
        finally:
            self._finish(store_ref, done)
            with self._lock:
                self._pending.difference_update((store_ref, r.id) for r in recs)
                self._lock.notify_all()

    def _verify_one(self, store: ObjectStore, rec: Recording) -> dict[str, Any]:
        try:
            return verify(store, rec).to_dict()
        except Exception as exc:  # noqa: BLE001 - one bad recording must not break the whole table
            text = str(exc) if isinstance(exc, StoreError) else f"{type(exc).__name__}: {exc}"
            return {"status": "error", "problems": [{"message": text}]}

    def _finish(self, store_ref: str, results: list[tuple[Recording, dict[str, Any]]]) -> None:
        good = [Verified(rec.id, fingerprint(rec), report) for rec, report in results if report["status"] != "error"]
        self.repo.save(store_ref, good)
        now = time.monotonic()
        with self._lock:
            for rec, report in results:
                if report["status"] == "error":
                    self._errors[(store_ref, rec.id)] = (now, {**report, "fingerprint": fingerprint(rec)})
                else:
                    self._errors.pop((store_ref, rec.id), None)
                self._pending.discard((store_ref, rec.id))
            self._lock.notify_all()

    def _poster(self, store: ObjectStore, rec: Recording) -> None:
        try:
            make_poster(self.poster_dir, store, rec)
        except Exception:  # noqa: BLE001, S110 - no poster is shown, nothing else depends on it
            pass
        finally:
            with self._lock:
                self._poster_pending.discard((store.url, rec.id))

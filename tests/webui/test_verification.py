"""Background verification of the UI (webui.verification): stored results, fingerprints, failures kept in memory."""

from __future__ import annotations

from storage.errors import Unavailable
from storage.recordings.catalog import find
from storage.recordings.verify import verify
from storage.service.repo_verification import VerificationRepo
from storage.stores.memory import MemoryStore
from tests.fixtures.media import SpyStore
from webui.verification import Verifications, fingerprint

STORE = "memory://verifications"


class DownStore(SpyStore):
    """Lists fine, then every read fails: a bucket that went away between listing and verifying."""

    def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
        raise Unavailable("connection refused", url=self.url, key=key)


def _recs(store, recording_factory):
    recording_factory(store, slices=3)
    recording_factory(store, folder="other/", slices=3, faults={"missing_slice"})
    return find(store)


def test_results_are_stored_with_the_listing_fingerprint(tmp_path, recording_factory):
    store = SpyStore(MemoryStore("verifications"))
    recs = _recs(store, recording_factory)
    verifications = Verifications(tmp_path)
    verifications.submit(STORE, store, recs, posters=False)
    assert verifications.wait(STORE, {r.id for r in recs}, timeout_s=120)
    statuses = verifications.statuses(STORE)
    assert {statuses[r.id].status for r in recs} == {"complete", "incomplete"}
    assert all(statuses[r.id].fingerprint == fingerprint(r) for r in recs)
    assert verifications.report(STORE, recs[0]) == verify(store, recs[0]).to_dict()
    reads = len(store.reads)
    verifications.submit(STORE, store, recs, posters=False)  # nothing changed: nothing queued
    assert verifications.pending(STORE) == set() and len(store.reads) == reads
    # One slice re-uploaded: that recording's fingerprint changes, so it is not verified any more.
    changed_key = recs[0].slices[0].key
    store.write(changed_key, store.read(recs[0].slices[1].key))
    again = {r.id: r for r in find(store)}
    assert fingerprint(again[recs[0].id]) != fingerprint(recs[0])
    assert verifications.report(STORE, again[recs[0].id]) is None
    assert verifications.report(STORE, again[recs[1].id]) is not None


def test_store_failures_are_shown_but_never_stored(tmp_path, recording_factory):
    good = MemoryStore("down")
    recs = _recs(good, recording_factory)
    verifications = Verifications(tmp_path)
    verifications.submit(STORE, DownStore(good), recs, posters=False)
    assert verifications.wait(STORE, {r.id for r in recs}, timeout_s=120)
    assert {s.status for s in verifications.statuses(STORE).values()} == {"error"}
    report = verifications.report(STORE, recs[0])
    assert report is not None and "connection refused" in report["problems"][0]["message"]
    assert VerificationRepo(verifications.repo.db).statuses(STORE) == {}  # retried on a later load

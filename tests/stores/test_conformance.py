"""Every ObjectStore adapter against the shipped conformance suite, each against a real server on 127.0.0.1.

`storage.testing.conformance.StoreConformance` holds the cases; here its `store_factory` is
parametrised over every kind (tests/fixtures/stores.py), and `gaps` names what a test server
cannot show, with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from storage.testing.conformance import StoreConformance, StoreFactory

# Behaviour a test server (or the backend itself) cannot show, per kind and case, with the reason.
SERVER_GAPS: dict[str, dict[str, str]] = {
    "s3": {
        "expiry": "moto does not check presigned-URL expiry (real S3 does: 403 AccessDenied)",
        "signature": "moto does not check presigned-URL signatures (real S3 does: 403)",
    },
    "memory": {"signed_url": "a memory store's objects live in this process; nothing over HTTP can fetch them"},
}


class TestEveryAdapter(StoreConformance):
    @pytest.fixture
    def store_factory(self, store_factory: StoreFactory) -> StoreFactory:
        return store_factory  # tests/fixtures/stores.py: one parameter per store kind

    @pytest.fixture
    def gaps(self, store_kind: str) -> Mapping[str, str]:
        return SERVER_GAPS.get(store_kind, {})

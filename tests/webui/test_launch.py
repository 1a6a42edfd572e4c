"""`recshelf ui`'s head start (webui.launch): the store is listed and its first page verified before a visit."""

from __future__ import annotations

from datetime import timedelta

from storage.media.naming import RecordingKey
from storage.stores.local import LocalStore
from tests.fixtures.media import SAMPLE_START
from tests.webui.conftest import ui_environment
from webui import launch, state, table


def test_warm_fills_the_pages_caches_and_verifies_its_first_page(tmp_path, monkeypatch, recording_factory):
    root = tmp_path / "store"
    root.mkdir()
    store = LocalStore(root)
    for n in range(3):
        recording_factory(store, key=RecordingKey(f"{n:032x}", f"chan_{n}"), start=SAMPLE_START + timedelta(minutes=n),
                          slices=2, faults={"missing_slice"} if n == 1 else ())
    ui_environment(monkeypatch, tmp_path, root)
    state.table_frames.clear()
    launch.warm()
    recording_factory(store, key=RecordingKey("f" * 32, "later"), slices=2)  # after the listing: not in it
    store_ref = str(root)
    frames = state.table_frames(store_ref, "")  # the entry warm() made, not a new listing
    assert len(frames.rows) == 3 and set(state.recordings_by_id(store_ref, "")) == set(frames.members["rec"])
    verifications = state.verifications()
    assert verifications.wait(store_ref, set(frames.members["rec"]), timeout_s=120)
    rows = table.with_statuses(frames, verifications.statuses(store_ref), set())
    assert sorted(rows["status"]) == ["complete", "complete", "incomplete"]

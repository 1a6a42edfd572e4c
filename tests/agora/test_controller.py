"""RecordingController: the facade the Record page and the CLI use."""

from __future__ import annotations

from storage.agora.controller import RecordingController, RecordingSession
from storage.recordings import catalog
from storage.recordings.verify import verify
from storage.stores.local import LocalStore


def test_start_query_stop_into_a_folder(simulator, tmp_path):
    running = simulator()
    controller = RecordingController(running.client())
    session = controller.start_recording("lesson 7", storage=str(tmp_path), file_name_prefix=["demo", "day1"],
                                         mode="individual")
    assert session.store_url == f"file://{tmp_path}/demo/day1" and session.folder == "demo/day1/"
    assert controller.wait_until_running(session, sleep=lambda s: running.sim.task(session.sid).stop_event.wait(s / 8))
    # A session survives a round trip through JSON (Streamlit session state, a CLI state file).
    session = RecordingSession.model_validate_json(session.model_dump_json())
    assert controller.query(session).sid == session.sid
    stopped = controller.stop(session)
    assert stopped.uploading_status == "uploaded"
    assert not controller.is_running(session)
    store = LocalStore(tmp_path)
    found = catalog.find(store, session.folder, sid=session.sid)
    assert [r.key.stream for r in found] == ["audio", "video"]
    assert all(verify(store, r).status == "complete" for r in found)
    controller.close()

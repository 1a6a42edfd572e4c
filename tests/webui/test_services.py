"""Page logic without Streamlit: rows, filters, report wording, timeline states."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from storage.media.naming import RecordingKey, slice_name
from storage.recordings.catalog import find
from storage.recordings.verify import verify
from storage.stores.local import LocalStore
from tests.webui.conftest import SID, START
from webui import services, table


def _store(tmp_path: Path) -> LocalStore:
    (tmp_path / "s").mkdir()
    return LocalStore(tmp_path / "s")


def test_timeline_states_and_plain_words(tmp_path, seeder):
    store = _store(tmp_path)
    keys = seeder(store, missing=[1])
    store.write(keys[4], b"")  # slice 3 empty
    key = RecordingKey(SID, "my_chan 1")
    orphan = "rec/" + slice_name(key, START + timedelta(seconds=30))
    store.write(orphan, store.read(keys[1]))
    (rec,) = find(store)
    report = verify(store, rec).to_dict()
    rows = services.timeline_rows(rec, report)
    states = {r["slice"]: r["state"] for r in rows}
    assert states[keys[2].split("/")[1]] == "missing"
    assert states[keys[4].split("/")[1]] == "empty"
    assert states[orphan.split("/")[1]] == "orphan"
    assert list(states.values()).count("present") == 4
    assert all(r["end"] > r["start"] for r in rows)
    # The 24 s between the last slice and the orphan hold no slice at all: one gap bar (issue 12).
    (gap,) = [r for r in rows if r["state"] == services.GAP_STATE]
    assert gap["end"] == next(r["start"] for r in rows if r["state"] == "orphan")
    assert gap["slice"] == "24.0 s without a slice"
    headline, details, advice = services.explain(report)
    assert headline.startswith("Incomplete")
    assert any("missing" in d for d in details) and any("empty" in d for d in details)
    assert any("orphaned" in d for d in details) and advice


def test_rows_and_filters(tmp_path, seeder):
    store = _store(tmp_path)
    seeder(store)
    seeder(store, key=RecordingKey("ffff456789abcdef0123456789abcdef", "other", "42", "video"))
    frames = table.catalog_frames(find(store))
    rows = table.with_statuses(frames, {}, set())
    first = rows.loc[f"rec/{SID}_my_chan 1"]
    assert first["status"] == "not verified" and first["slices"] == 6 and first["duration_s"] == 6.0
    assert rows.loc[rows["uid"] == "42", "streams"].tolist() == ["video"]
    f = services.Filters

    def channels(**kwargs: object) -> list[str]:
        return table.apply_filters(rows, f(**kwargs))["channel"].tolist()  # type: ignore[arg-type]

    assert channels(uid="4") == ["other"]
    assert channels(start_from=date(2026, 1, 3)) == []
    assert len(channels(start_to=date(2026, 1, 2))) == 2
    assert channels(statuses=("complete",)) == []

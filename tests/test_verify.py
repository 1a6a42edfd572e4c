"""verify(): every fault classifies to its status; reads stay within one GET per playlist."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from storage.demo.samples import HOSTILE_URI
from storage.demo.synth import make_slices
from storage.media.naming import RecordingKey
from storage.recordings.catalog import Recording, find
from storage.recordings.verify import MAX_PROBLEMS_PER_CODE, STATUS_ORDER, Report, verify, verify_many, worst_status
from storage.stores.base import NotFound, ObjectStore, StoreError
from storage.stores.local import LocalStore
from tests.fixtures.media import RecordingFactory, SpyStore

DESIGN_KEYS = {"playlist", "folder", "sid", "cname", "uid", "stream", "status", "segments", "missing", "empty",
               "orphans", "duration_s", "bytes", "problems"}


@pytest.fixture
def spy(tmp_path) -> SpyStore:
    return SpyStore(LocalStore(tmp_path))


def _only(store: ObjectStore) -> Recording:
    recordings = find(store)
    assert len(recordings) == 1, [r.id for r in recordings]
    return recordings[0]


def _codes(report: Report) -> set[str]:
    return {p.code for p in report.problems}


def test_complete_recording_reads_only_its_playlist(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy)
    recording = _only(spy)
    report = verify(spy, recording)
    assert report.status == "complete", report.problems
    assert report.playlist == keys[-1] and spy.reads == [keys[-1]] and spy.stats == []
    assert report.segments == keys[:-1]
    assert report.missing == report.empty == report.orphans == []
    assert report.duration_s == pytest.approx(6.0)
    assert report.bytes == sum(s.size for s in recording.slices)
    assert (report.folder, report.cname, report.uid, report.stream) == ("rec/", "my_chan 1", None, None)
    assert [p.severity for p in report.problems if p.severity == "error"] == []


def test_deep_complete_reads_each_slice_once(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy)
    report = verify(spy, _only(spy), deep=True)
    assert report.status == "complete", report.problems
    assert sorted(spy.reads) == sorted(keys)
    assert not [p for p in report.problems if p.severity != "info"]


@pytest.mark.parametrize(("fault", "status", "deep_status", "codes"), [
    ("missing_slice", "incomplete", "incomplete", {"missing_segment"}),
    ("empty_slice", "incomplete", "incomplete", {"empty_segment"}),
    ("truncated_slice", "complete", "incomplete", {"size_not_188"}),
    ("not_ts_slice", "complete", "incomplete", {"size_not_188"}),
    ("orphan_slice", "complete", "complete", {"orphans"}),
    ("no_endlist", "unfinished", "unfinished", {"no_endlist"}),
    ("no_playlist", "missing_playlist", "missing_playlist", {"playlist_missing"}),
    ("hostile_uri", "invalid", "invalid", {"unsafe_uri"}),
    ("malformed_playlist", "invalid", "invalid", {"not_m3u8"}),
    ("backup_redelivery", "complete", "complete", set()),
])
def test_fault_classifies(spy: SpyStore, recording_factory: RecordingFactory, fault: str, status: str,
                          deep_status: str, codes: set[str]) -> None:
    recording_factory(spy, faults={fault})
    recording = _only(spy)
    report = verify(spy, recording)
    assert report.status == status, report.problems
    assert codes <= _codes(report)
    deep = verify(spy, recording, deep=True)
    assert deep.status == deep_status, deep.problems
    json.dumps(deep.to_dict())


def test_missing_and_empty_lists(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    recording_factory(spy, folder="a/", faults={"missing_slice"})
    recording_factory(spy, folder="b/", faults={"empty_slice"})
    missing, empty = (verify(spy, r) for r in find(spy))
    assert len(missing.missing) == 1 and missing.missing[0] in missing.segments and not missing.empty
    assert len(empty.empty) == 1 and not empty.missing
    assert missing.bytes > 0 and missing.duration_s == pytest.approx(6.0)


def test_deep_names_the_broken_bytes(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    recording_factory(spy, folder="t/", faults={"truncated_slice"})
    recording_factory(spy, folder="x/", faults={"not_ts_slice"})
    truncated, xml = (verify(spy, r, deep=True) for r in find(spy))
    assert "truncated" in _codes(truncated)
    assert "not_ts_bytes" in _codes(xml)
    assert any("error body" in p.message for p in xml.problems)


def test_orphans_and_missing_playlist_lists(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy, folder="o/", faults={"orphan_slice"})
    report = verify(spy, find(spy, "o/")[0])
    assert len(report.orphans) == 1 and report.orphans[0] not in report.segments
    keys = recording_factory(spy, folder="m/", faults={"no_playlist"})
    report = verify(spy, find(spy, "m/")[0])
    assert report.playlist is None and report.segments == [] and report.orphans == keys
    assert report.problems[0].key == "m/0123456789abcdef0123456789abcdef_my_chan 1.m3u8"


def test_hostile_uri_is_never_read(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy, faults={"hostile_uri"})
    # The target exists where a resolving reader would look (outside rec/), bait for a leak.
    spy.write(HOSTILE_URI.removeprefix("../"), b"secret")
    recording = find(spy, "rec/")[0]
    report = verify(spy, recording, deep=True)
    assert report.status == "invalid"
    assert not any("escape" in key for key in spy.reads)
    assert set(spy.reads) <= set(keys)
    assert all(".." not in key for key in report.segments)
    unsafe = [p for p in report.problems if p.code == "unsafe_uri"]
    assert unsafe and unsafe[0].key == keys[-1] and HOSTILE_URI in unsafe[0].message


def test_backup_redelivery_uses_the_whole_variant(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy, faults={"backup_redelivery"})
    recording = _only(spy)
    plain, redelivered = keys[-2], keys[-1]
    assert redelivered.endswith("_0.m3u8")
    report = verify(spy, recording)
    assert report.playlist == redelivered and len(report.segments) == 6
    # Even when the shorter variant is chosen, verify reads the others (one GET each) and takes the whole one.
    part = recording.parts[0]
    forced = replace(recording, parts=[replace(part, playlist=next(p for p in part.playlists if p.key == plain))])
    spy.reads.clear()
    report = verify(spy, forced)
    assert report.status == "complete" and report.playlist == redelivered
    assert sorted(spy.reads) == sorted([plain, redelivered])
    assert "variant_used" in _codes(report)


def test_individual_mode(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    for stream in ("audio", "video"):
        recording_factory(spy, key=RecordingKey("0123456789abcdef0123456789abcdef", "class_7b", "1001", stream))
    reports = [verify(spy, r, deep=True) for r in find(spy)]
    assert [(r.uid, r.stream, r.status) for r in reports] == [("1001", "audio", "complete"),
                                                               ("1001", "video", "complete")]


def test_failover_parts(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy, slices=3, failover_parts=2)
    recording = _only(spy)
    report = verify(spy, recording, deep=True)
    assert report.status == "complete", report.problems
    assert [p.failover for p in report.parts] == [None, 0, 1]
    assert len(report.segments) == 9 and len(spy.reads) == 3 + 9
    bak = [k for k in report.segments if "/bak" in k]
    assert report.segments[3:6] == bak[:3] and "bak0_" in report.segments[3]
    assert report.to_dict()["parts"][1]["playlist"] == next(k for k in keys if k.startswith("rec/bak0_")
                                                             and k.endswith(".m3u8"))


def test_failover_status_is_worst_part(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    recording_factory(spy, slices=3, failover_parts=1, faults={"no_endlist"})
    report = verify(spy, _only(spy))
    assert [p.status for p in report.parts] == ["unfinished", "complete"]
    assert report.status == "unfinished"


def test_worst_status_order() -> None:
    assert STATUS_ORDER[0] == "invalid" and STATUS_ORDER[-1] == "complete"
    assert worst_status(["complete", "unfinished", "missing_playlist"]) == "missing_playlist"
    assert worst_status(["missing_playlist", "incomplete"]) == "incomplete"
    assert worst_status(["incomplete", "invalid", "complete"]) == "invalid"
    assert worst_status([]) == "complete"


def test_to_dict_has_design_keys(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    recording_factory(spy, faults={"missing_slice"})
    data = verify(spy, _only(spy)).to_dict()
    assert set(data) == DESIGN_KEYS | {"parts"}
    assert json.loads(json.dumps(data)) == data
    assert {"code", "key", "message", "severity"} == set(data["problems"][0])


def test_store_error_reading_the_playlist_propagates(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy)
    recording = _only(spy)
    spy.delete(keys[-1])
    with pytest.raises(StoreError) as raised:
        verify(spy, recording)
    assert isinstance(raised.value, NotFound)


def test_oversized_playlist_is_not_read(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    recording_factory(spy)
    recording = _only(spy)
    part = recording.parts[0]
    huge = replace(part.playlist, size=50 * 1024 * 1024)
    report = verify(spy, replace(recording, parts=[replace(part, playlist=huge, playlists=[huge])]))
    assert report.status == "invalid" and spy.reads == [] and "playlist_too_large" in _codes(report)


@pytest.mark.parametrize(("text", "status", "code"), [
    ("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXT-X-ENDLIST\n", "invalid", "no_segments"),
    ("#EXTM3U\n#EXT-X-TARGETDURATION:1\n", "unfinished", "no_segments"),
    ("#EXTM3U\n#EXTINF:abc,\nx.ts\n", "invalid", "parse_error"),
    ("#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n", "invalid", "is_master"),
    ("\ufeff#EXTM3U\r\n#EXTINF:1\r\nnowhere.ts\r\n#EXT-X-ENDLIST\r\n", "incomplete", "missing_segment"),
])
def test_playlist_bodies(spy: SpyStore, recording_factory: RecordingFactory, text: str, status: str,
                         code: str) -> None:
    keys = recording_factory(spy)
    spy.write(keys[-1], text.encode())
    report = verify(spy, _only(spy))
    assert report.status == status and code in _codes(report), report.problems


def test_channel_name_with_url_characters(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    key = RecordingKey("0123456789abcdef0123456789abcdef", "q&a: what? #1")
    recording_factory(spy, key=key)
    report = verify(spy, _only(spy))
    assert report.status == "complete", report.problems


@pytest.mark.parametrize("fault", [None, "missing_slice", "hostile_uri"])
def test_on_every_store(store_factory: Any, recording_factory: RecordingFactory, fault: str | None) -> None:
    store = SpyStore(store_factory())
    keys = recording_factory(store, faults={fault} if fault else frozenset())
    report = verify(store, _only(store))
    assert report.status == {None: "complete", "missing_slice": "incomplete", "hostile_uri": "invalid"}[fault]
    assert store.reads == [keys[-1]] and store.stats == []


def test_duplicate_names_count_once(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = recording_factory(spy, faults={"missing_slice"})
    text = spy.read(keys[-1]).decode()
    missing = next(line for line in text.splitlines() if line.endswith(".ts") and "rec/" + line not in keys)
    spy.write(keys[-1], text.replace("#EXT-X-ENDLIST", f"#EXTINF:1.000000\n{missing}\n#EXT-X-ENDLIST").encode())
    report = verify(spy, _only(spy))
    assert report.missing == ["rec/" + missing] and len(report.segments) == 7
    assert report.bytes == sum(spy.stat(k).size for k in keys[:-1])
    assert "duplicate_uri" in _codes(report)


def test_webm_slices_are_not_walked_as_ts(spy: SpyStore) -> None:
    name = "0123456789abcdef0123456789abcdef_web__uid_s_7__uid_e_video_20260102030405678.webm"
    spy.write("w/" + name, b"\x1a\x45\xdf\xa3" + bytes(1001))
    spy.write("w/0123456789abcdef0123456789abcdef_web__uid_s_7__uid_e_video.m3u8",
              f"#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1.0\n{name}\n#EXT-X-ENDLIST\n".encode())
    report = verify(spy, _only(spy), deep=True)
    assert report.status == "complete", report.problems
    assert spy.reads == ["w/0123456789abcdef0123456789abcdef_web__uid_s_7__uid_e_video.m3u8"]


def _slice_keys(keys: list[str]) -> list[str]:
    return [k for k in keys if k.endswith(".ts")]


def test_deep_duration_mismatch_on_whole_packets(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = _slice_keys(recording_factory(spy))
    data = spy.read(keys[2])
    spy.write(keys[2], data[: (len(data) // 3) // 188 * 188])  # cut on a packet boundary: the size looks fine
    recording = _only(spy)
    assert verify(spy, recording).status == "complete"
    report = verify(spy, recording, deep=True)
    assert report.status == "incomplete"
    mismatch = [p for p in report.problems if p.code == "duration_mismatch"]
    assert [p.key for p in mismatch] == [keys[2]] and mismatch[0].severity == "error"


def test_deep_pts_gap_without_discontinuity(spy: SpyStore, recording_factory: RecordingFactory) -> None:
    keys = _slice_keys(recording_factory(spy))
    spy.write(keys[3], make_slices(1, 1.0, start_offset_s=500.0)[0].data)  # a slice from elsewhere in time
    report = verify(spy, _only(spy), deep=True)
    assert report.status == "complete"
    gaps = [p for p in report.problems if p.code == "pts_gap"]
    assert gaps and gaps[0].key == keys[3] and gaps[0].severity == "warning"


def test_deep_reads_are_bounded(tmp_path, recording_factory: RecordingFactory) -> None:
    class Counting(SpyStore):
        def __init__(self, inner: ObjectStore) -> None:
            super().__init__(inner)
            self.lock = threading.Lock()
            self.active = self.peak = 0

        def read(self, key: str, start: int = 0, end: int | None = None) -> bytes:
            with self.lock:
                self.active += 1
                self.peak = max(self.peak, self.active)
            try:
                time.sleep(0.01)  # let reads overlap so the pool size shows
                return super().read(key, start, end)
            finally:
                with self.lock:
                    self.active -= 1

    store = Counting(LocalStore(tmp_path))
    recording_factory(store, slices=8)
    report = verify(store, _only(store), deep=True, workers=2)
    assert report.status == "complete" and 1 <= store.peak <= 2


# -- hostile input is one recording's problem ------------------------------------------------------

OTHER = RecordingKey("fedcba9876543210fedcba9876543210", "healthy")


def _hostile_playlist(store: ObjectStore, recording_factory: RecordingFactory, body: str) -> list[str]:
    keys = recording_factory(store, folder="bad/")
    store.write(keys[-1], body.encode())
    recording_factory(store, folder="ok/", key=OTHER)
    return keys


@pytest.mark.parametrize(("extinf", "code"), [("inf", "bad_duration"), ("1e309", "bad_duration"),
                                              ("1e12", "absurd_duration")])
def test_overflowing_playlist_is_invalid_and_the_run_goes_on(tmp_path, recording_factory: RecordingFactory,
                                                             extinf: str, code: str) -> None:
    from typer.testing import CliRunner

    from storage.cli import app

    store = LocalStore(tmp_path)
    keys = recording_factory(store, folder="bad/")
    body = ("#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXT-X-PROGRAM-DATE-TIME:2026-01-02T03:04:05Z\n"
            f"#EXTINF:{extinf},\n{keys[0].removeprefix('bad/')}\n#EXTINF:1,\n{keys[1].removeprefix('bad/')}\n"
            "#EXT-X-ENDLIST\n")
    _hostile_playlist(store, recording_factory, body)
    reports = {r.folder: r for r in verify_many(store, find(store))}
    assert reports["bad/"].status == "invalid" and code in _codes(reports["bad/"])
    assert reports["ok/"].status == "complete"
    result = CliRunner().invoke(app, ["verify", str(tmp_path), "--json"])
    assert result.exit_code == 1, result.output
    assert json.loads(result.stdout)["summary"] == {"invalid": 1, "complete": 1}


def test_millions_of_lines_cost_little_and_report_small(tmp_path, recording_factory: RecordingFactory) -> None:
    store = LocalStore(tmp_path)
    _hostile_playlist(store, recording_factory, "#EXTM3U\n" + "x\n" * 2_600_000)
    started = time.perf_counter()
    reports = {r.folder: r for r in verify_many(store, find(store))}
    assert time.perf_counter() - started < 2.0
    bad = reports["bad/"]
    assert bad.status == "invalid" and "too_many_lines" in _codes(bad) and reports["ok/"].status == "complete"
    assert len(json.dumps(bad.to_dict())) < 10_000


def test_problems_collapse_per_code(tmp_path, recording_factory: RecordingFactory) -> None:
    store = LocalStore(tmp_path)
    _hostile_playlist(store, recording_factory, "#EXTM3U\n#EXT-X-TARGETDURATION:1\n" +
                      "".join(f"#EXTINF:1,\nx{i}.txt\n" for i in range(500)) + "#EXT-X-ENDLIST\n")
    report = next(r for r in verify_many(store, find(store)) if r.folder == "bad/")
    assert report.status == "incomplete" and len(report.segments) == 500
    by_code: dict[str, list[Any]] = {}
    for p in report.problems:
        by_code.setdefault(p.code, []).append(p)
    assert len(by_code["missing_segment"]) == MAX_PROBLEMS_PER_CODE + 1
    summary = by_code["missing_segment"][-1]
    assert summary.message == f"… and {500 - MAX_PROBLEMS_PER_CODE} more missing_segment"
    assert summary.severity == "error" and len(by_code["not_ts"]) == MAX_PROBLEMS_PER_CODE + 1


def test_an_unexpected_error_is_that_recordings_problem(tmp_path, recording_factory: RecordingFactory,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import storage.recordings.verify as verify_module

    store = LocalStore(tmp_path)
    recording_factory(store, folder="bad/")
    recording_factory(store, folder="ok/", key=OTHER)
    real = verify_module._listing_checks

    def explode(part: Any, playlist: Any) -> None:
        if playlist.key.startswith("bad/"):
            raise ZeroDivisionError("a bug")
        real(part, playlist)

    monkeypatch.setattr(verify_module, "_listing_checks", explode)
    reports = {r.folder: r for r in verify_many(store, find(store), deep=True)}
    bad = reports["bad/"]
    assert bad.status == "invalid" and [p.code for p in bad.problems] == ["internal_error"]
    assert "ZeroDivisionError: a bug" in bad.problems[0].message
    assert reports["ok/"].status == "complete"


def test_a_symlinked_slice_does_not_abort_deep_verify(tmp_path, recording_factory: RecordingFactory) -> None:
    (tmp_path / "store").mkdir()
    store = LocalStore(tmp_path / "store")
    keys = recording_factory(store, folder="rec/")
    (tmp_path / "passwd").write_bytes(b"root:x:0:0::/root:/bin/sh\n")
    slice_path = store.root / keys[1]
    slice_path.unlink()
    slice_path.symlink_to(tmp_path / "passwd")
    recording_factory(store, folder="ok/", key=OTHER)
    reports = {r.folder: r for r in verify_many(store, find(store), deep=True)}
    assert reports["rec/"].status == "incomplete" and reports["rec/"].missing == [keys[1]]
    assert reports["ok/"].status == "complete"

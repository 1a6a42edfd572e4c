"""The remux engine alone, on slices straight from storage.demo.synth."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from storage.demo.synth import make_slices
from storage.export.errors import ExportError
from storage.export.mp4 import TrackSlice, remux_to_mp4
from tests.export.conftest import decode_warnings, ffprobe, needs_ffprobe

pytestmark = needs_ffprobe


def _track(slices: list, anchors: list | None = None) -> list[TrackSlice]:
    anchors = anchors or [None] * len(slices)
    return [TrackSlice(s.data, a, f"s{i}.ts") for i, (s, a) in enumerate(zip(slices, anchors, strict=True))]


def test_continuous_slices_give_the_sum_of_their_durations(tmp_path: Path, av_slices: list) -> None:
    stats = remux_to_mp4([_track(av_slices)], tmp_path / "o.mp4")
    info = ffprobe(tmp_path / "o.mp4")
    assert float(info["format"]["duration"]) == pytest.approx(6.0, abs=0.2)
    assert float(info["format"]["start_time"]) == pytest.approx(0.0, abs=0.05)
    assert sorted(s["codec_name"] for s in info["streams"]) == ["aac", "h264"]
    assert stats.resyncs == [] and stats.slices == 6
    assert decode_warnings(tmp_path / "o.mp4") == ""


def test_pts_reset_and_resolution_change_stay_monotonic(tmp_path: Path, av_slices: list) -> None:
    # A second recorder run restarts PTS at the same offset, at another resolution (#EXT-X-DISCONTINUITY).
    again = make_slices(3, 1.0, width=320, height=240)
    stats = remux_to_mp4([_track(list(av_slices) + again)], tmp_path / "o.mp4")
    assert float(ffprobe(tmp_path / "o.mp4")["format"]["duration"]) == pytest.approx(9.0, abs=0.2)
    assert [label for label, _ in stats.resyncs] == ["s6.ts"]
    assert "non monoton" not in decode_warnings(tmp_path / "o.mp4")


def test_timestamps_wrapping_at_33_bits(tmp_path: Path) -> None:
    wrap_s = (1 << 33) / 90000
    slices = make_slices(4, 1.0, start_offset_s=wrap_s - 2.0)
    remux_to_mp4([_track(slices)], tmp_path / "o.mp4")
    assert float(ffprobe(tmp_path / "o.mp4")["format"]["duration"]) == pytest.approx(4.0, abs=0.2)


def test_separate_audio_and_video_tracks_are_aligned_by_anchor(tmp_path: Path, audio_slices: list,
                                                               video_slices: list) -> None:
    # Video started 2 s after audio (UTC in the slice names): its first frame lands at 2 s.
    audio = _track(audio_slices, [float(i) for i in range(4)])
    video = _track(video_slices, [2.0 + i for i in range(4)])
    remux_to_mp4([audio, video], tmp_path / "o.mp4")
    streams = {s["codec_type"]: s for s in ffprobe(tmp_path / "o.mp4")["streams"]}
    assert float(streams["audio"]["start_time"]) == pytest.approx(0.0, abs=0.05)
    assert float(streams["video"]["start_time"]) == pytest.approx(2.0, abs=0.1)
    assert float(ffprobe(tmp_path / "o.mp4")["format"]["duration"]) == pytest.approx(6.0, abs=0.2)


def test_garbage_is_refused_naming_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ExportError):
        remux_to_mp4([[TrackSlice(b"<html>no</html>" * 50, None, "bad.ts")]], tmp_path / "o.mp4")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed")
def test_ffmpeg_engine_joins_a_pts_reset_too(tmp_path: Path, av_slices: list) -> None:
    from storage.export.mp4_ffmpeg import remux_with_ffmpeg

    again = make_slices(3, 1.0)
    duration = remux_with_ffmpeg(_track(list(av_slices) + again), tmp_path / "o.mp4")
    assert duration == pytest.approx(9.0, abs=0.3)
    assert float(ffprobe(tmp_path / "o.mp4")["format"]["duration"]) == pytest.approx(9.0, abs=0.3)


def test_helper_process_gives_the_same_result_and_reports_errors(tmp_path: Path, av_slices: list) -> None:
    from storage.export.remux_worker import remux_in_child

    again = make_slices(3, 1.0)
    stats = remux_in_child([_track(list(av_slices) + again)], tmp_path / "o.mp4")
    assert stats.duration_s == pytest.approx(9.0, abs=0.2) and [s for s, _ in stats.resyncs] == ["s6.ts"]
    assert float(ffprobe(tmp_path / "o.mp4")["format"]["duration"]) == pytest.approx(9.0, abs=0.2)
    null_packets = (b"\x47\x1f\xff\x10" + b"\xff" * 184) * 100  # valid TS, but no audio or video in it
    with pytest.raises(ExportError, match="no audio or video|cannot read"):
        remux_in_child([[TrackSlice(null_packets, None, "null.ts")]], tmp_path / "bad.mp4")


def test_prestarted_helper_does_the_next_remux_and_an_unused_one_leaves_quietly(tmp_path: Path,
                                                                               av_slices: list) -> None:
    from storage.export import remux_worker

    remux_worker.prestart()
    spare = remux_worker._spare
    assert spare is not None
    stats = remux_worker.remux_in_child([_track(list(av_slices))], tmp_path / "o.mp4")
    assert remux_worker._spare is None and spare.returncode == 0  # that very process did the job
    assert stats.duration_s == pytest.approx(6.0, abs=0.2) and stats.slices == 6

    remux_worker.prestart()  # e.g. the export was skipped: its helper must exit without output
    unused = remux_worker._spare
    assert unused is not None
    remux_worker._retire_spare()
    assert unused.returncode == 0 and remux_worker._spare is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mp4"]

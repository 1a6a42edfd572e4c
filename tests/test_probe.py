"""The pure-Python TS walk: sound slices pass, each kind of damage is named."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from storage.demo.synth import Slice, make_slices
from storage.media.probe import PACKET, PTS_WRAP, measure_duration, probe_ts, pts_gap_s


def _codes(data: bytes) -> list[str]:
    return [i.code for i in probe_ts(data).issues]


def _packets(data: bytes) -> list[bytes]:
    return [data[o:o + PACKET] for o in range(0, len(data), PACKET)]


def _pid(packet: bytes) -> int:
    return ((packet[1] & 0x1F) << 8) | packet[2]


def test_sound_slices(av_slices: list[Slice]) -> None:
    for piece in av_slices:
        probe = probe_ts(piece.data)
        assert probe.ok and probe.issues == []
        assert sorted(probe.codecs) == ["aac", "h264"] and probe.has_audio and probe.has_video
        assert probe.packets * PACKET == len(piece.data)
        assert probe.starts_with_keyframe is True
        assert probe.span_s == pytest.approx(piece.duration_s, abs=0.1)
        assert probe.start_s == pytest.approx(piece.start_s, abs=0.05)


def test_single_stream_slices(audio_slices: list[Slice], video_slices: list[Slice]) -> None:
    audio, video = probe_ts(audio_slices[1].data), probe_ts(video_slices[1].data)
    assert audio.codecs == ["aac"] and audio.starts_with_keyframe is None and audio.ok
    assert video.codecs == ["h264"] and video.ok


def test_pts_continuity_between_slices(av_slices: list[Slice]) -> None:
    probes = [probe_ts(s.data) for s in av_slices]
    for before, after in zip(probes, probes[1:], strict=False):
        gap = pts_gap_s(before, after)
        assert gap is not None and -0.1 <= gap <= 0.1


def test_pts_wrap_is_unwrapped() -> None:
    pieces = make_slices(2, 1.0, start_offset_s=PTS_WRAP / 90000 - 0.5, audio=False)
    first, second = (probe_ts(p.data) for p in pieces)
    assert first.span_s == pytest.approx(0.93, abs=0.05)  # not a 26 h jump backwards
    assert max(first.last_pts.values()) > PTS_WRAP
    assert pts_gap_s(first, second) == pytest.approx(1 / 15, abs=0.01)


def test_empty_and_error_bodies() -> None:
    assert _codes(b"") == ["not_ts_bytes"]
    probe = probe_ts(b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code></Error>')
    assert [i.code for i in probe.issues] == ["not_ts_bytes"] and "error body" in probe.issues[0].message
    assert not probe.ok


def test_truncated_mid_packet(av_slices: list[Slice]) -> None:
    data = av_slices[0].data
    assert "truncated" in _codes(data[: len(data) // 2 + 100])


def test_loss_of_sync(av_slices: list[Slice]) -> None:
    data = av_slices[0].data
    broken = data[: PACKET * 20] + bytes(PACKET * 20) + data[PACKET * 40:]
    probe = probe_ts(broken)
    assert [(i.code, i.offset) for i in probe.issues] == [("not_ts_bytes", PACKET * 20)]


def test_continuity_jump(av_slices: list[Slice]) -> None:
    data = av_slices[0].data
    assert "cc_jump" in _codes(data[: PACKET * 20] + data[PACKET * 25:])


def test_transport_error_indicator(av_slices: list[Slice]) -> None:
    data = bytearray(av_slices[0].data)
    data[PACKET * 10 + 1] |= 0x80
    assert _codes(bytes(data)) == ["tei"]


def test_no_pat(av_slices: list[Slice]) -> None:
    data = b"".join(p for p in _packets(av_slices[0].data) if _pid(p) != 0)
    assert "no_pat_pmt" in _codes(data)


def test_first_video_not_a_keyframe_is_a_warning(av_slices: list[Slice]) -> None:
    packets = [bytearray(p) for p in _packets(av_slices[0].data)]
    for p in packets:
        # The first video PES start carries random_access_indicator in its adaptation field.
        if _pid(p) == 256 and p[1] & 0x40 and (p[3] >> 4) & 0x2 and p[4]:
            p[5] &= ~0x40 & 0xFF
            break
    probe = probe_ts(b"".join(bytes(p) for p in packets))
    assert probe.starts_with_keyframe is False
    assert [(i.code, i.severity) for i in probe.issues] == [("no_idr_start", "warning")] and probe.ok


def test_measure_duration(av_slices: list[Slice]) -> None:
    data = av_slices[0].data
    assert measure_duration(data) == pytest.approx(av_slices[0].duration_s, abs=0.05)
    half = measure_duration(data[: len(data) // 2])
    assert half is not None and half < 0.75
    assert measure_duration(b"not a transport stream at all" * 10) is None


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=40))
def test_corrupted_bytes_never_crash(av_slices: list[Slice], edits: list[tuple[int, int]]) -> None:
    data = bytearray(av_slices[0].data)
    for where, value in edits:
        data[where % len(data)] = value
    probe_ts(bytes(data))

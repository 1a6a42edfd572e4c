"""Synthetic media: real, decodable H.264 + AAC TS slices on a continuous timeline."""

from __future__ import annotations

import io
import json
import shutil
import subprocess

import av
import pytest

from storage.demo.synth import PlaylistItem, Slice, agora_playlist, concat, iter_slices, make_slices


def _packets(data: bytes) -> list[tuple[str, int, bool]]:
    with av.open(io.BytesIO(data), format="mpegts") as container:
        return [(p.stream.type, p.pts, p.is_keyframe) for p in container.demux() if p.pts is not None]


def test_slices_decode_and_carry_both_streams(av_slices: list[Slice]) -> None:
    assert len(av_slices) == 6
    for piece in av_slices:
        assert len(piece.data) % 188 == 0 and piece.data[0] == 0x47
        assert piece.duration_s == pytest.approx(1.0, abs=0.05)
        with av.open(io.BytesIO(piece.data), format="mpegts") as container:
            kinds = {s.type for s in container.streams}
            assert kinds == {"video", "audio"}
            frames = list(container.decode(video=0))
            assert frames and frames[0].width == 160 and frames[0].height == 120


def test_each_slice_starts_with_a_keyframe(av_slices: list[Slice]) -> None:
    for piece in av_slices:
        video = [p for p in _packets(piece.data) if p[0] == "video"]
        assert video[0][2], "first video packet of a slice must be a keyframe"


def test_frames_differ(av_slices: list[Slice]) -> None:
    with av.open(io.BytesIO(av_slices[0].data), format="mpegts") as container:
        frames = [f.to_ndarray() for f in container.decode(video=0)][:2]
    assert (frames[0] != frames[1]).any()


def test_pts_continuous_across_slices(av_slices: list[Slice]) -> None:
    previous_last: int | None = None
    for piece in av_slices:
        video = [p[1] for p in _packets(piece.data) if p[0] == "video"]
        first, last = min(video), max(video)
        if previous_last is not None:
            assert first - previous_last == 90000 // 15  # exactly one frame later (90 kHz clock)
        previous_last = last
    assert av_slices[0].start_s == pytest.approx(10.0)


def test_concatenation_demuxes_cleanly(av_slices: list[Slice]) -> None:
    with av.open(io.BytesIO(concat(av_slices)), format="mpegts") as container:
        packets = list(container.demux())
    assert not any(p.is_corrupt for p in packets)


@pytest.mark.parametrize(("audio", "video", "kind"), [(True, False, "audio"), (False, True, "video")])
def test_single_stream_slices(audio: bool, video: bool, kind: str) -> None:
    slices = make_slices(3, 1.0, audio=audio, video=video)
    assert len(slices) == 3
    for piece in slices:
        with av.open(io.BytesIO(piece.data), format="mpegts") as container:
            assert {s.type for s in container.streams} == {kind}


def test_cache_returns_equal_slices() -> None:
    assert make_slices(2, 1.0) == make_slices(2, 1.0)


def test_iter_slices_continues_the_timeline() -> None:
    pieces = list(iter_slices(1.0, count=4, chunk=2))
    assert len(pieces) == 4
    starts = [p.start_s for p in pieces]
    assert starts == pytest.approx([10.0, 11.0, 12.0, 13.0], abs=0.05)
    first_pts = [min(p[1] for p in _packets(x.data) if p[0] == "video") for x in pieces]
    assert [b - a for a, b in zip(first_pts, first_pts[1:], strict=False)] == [90000] * 3


def test_rejects_nothing_to_encode() -> None:
    with pytest.raises(ValueError):
        make_slices(1, 1.0, audio=False, video=False)


@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe not installed")
def test_ffprobe_sees_h264_and_aac(av_slices: list[Slice], tmp_path) -> None:
    path = tmp_path / "s.ts"
    path.write_bytes(av_slices[1].data)
    out = subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True, timeout=60)
    codecs = {s["codec_name"] for s in json.loads(out.stdout)["streams"]}
    assert codecs == {"h264", "aac"}


def test_agora_playlist_text() -> None:
    text = agora_playlist([("x_20260102030405678.ts", 2.0), PlaylistItem("x_20260102030407678.ts", 1.5)],
                          track_event="AUDIO")
    assert text.splitlines() == [
        "#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-ALLOW-CACHE:YES",
        "#EXT-X-TARGETDURATION:2", "#EXT-X-DISCONTINUITY",
        "#EXT-X-AGORA-TRACK-EVENT:EVENT=START,TRACK_TYPE=AUDIO,TIME=20260102030405678",
        "#EXTINF:2.000000", "x_20260102030405678.ts", "#EXTINF:1.500000", "x_20260102030407678.ts",
        "#EXT-X-ENDLIST",
    ]


def test_agora_playlist_options() -> None:
    text = agora_playlist([("a.ts", 1.0)], endlist=False, target=18, discontinuity_first=False,
                          track_event=None, comma=True)
    assert "#EXT-X-ENDLIST" not in text and "#EXT-X-DISCONTINUITY" not in text
    assert "#EXT-X-TARGETDURATION:18" in text and "#EXTINF:1.000000," in text
    assert "AGORA" not in text

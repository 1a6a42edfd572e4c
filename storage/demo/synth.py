"""Synthetic Agora-like media: real H.264 + AAC MPEG-TS slices and Agora-style playlist text.

Used by tests, the demo seeder and the live simulator. Slices come from PyAV's ``hls`` muxer
(reference/playback.md §3.3) because it keeps continuity counters and PTS running across slices,
which is what Agora's slices look like when concatenated; one container per slice would restart both.
"""

from __future__ import annotations

import math
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from pathlib import Path

import av
import numpy as np

SAMPLE_RATE = 48000
AAC_FRAME = 1024  # samples per AAC frame
_UTC17 = re.compile(r"_(\d{17})\.[A-Za-z0-9]+$")


@dataclass(frozen=True)
class Slice:
    data: bytes  # one whole MPEG-TS slice
    duration_s: float  # as the muxer measured it (what EXTINF should say)
    start_s: float = 0.0  # timeline position of the slice start (PTS seconds, includes the offset)


@dataclass(frozen=True)
class PlaylistItem:
    name: str  # bare slice file name
    duration_s: float
    discontinuity: bool = False  # #EXT-X-DISCONTINUITY before this entry (see agora_playlist for the first)
    gap: bool = False  # write #EXT-X-GAP before this entry


def make_slices(seconds: float, slice_s: float, *, fps: int = 15, width: int = 160, height: int = 120,
                audio: bool = True, video: bool = True, start_offset_s: float = 10.0,
                workdir: str | Path | None = None) -> list[Slice]:
    """Encode `seconds` of a moving bar and a sine tone into TS slices of about `slice_s` each.

    `start_offset_s` places the first PTS on a timeline, so a later call with
    `start_offset_s = previous offset + previous seconds` continues it (the live simulator does this).
    Identical requests are served from an in-process cache; `workdir` only picks where temp files go.
    """
    if not (audio or video):
        raise ValueError("need audio, video or both")
    if seconds <= 0 or slice_s <= 0:
        raise ValueError("seconds and slice_s must be positive")
    return list(_make_slices_cached(float(seconds), float(slice_s), fps, width, height, audio, video,
                                    float(start_offset_s), str(workdir) if workdir else None))


def iter_slices(slice_s: float, *, count: int | None = None, chunk: int = 5, fps: int = 15, width: int = 160,
                height: int = 120, audio: bool = True, video: bool = True,
                start_offset_s: float = 10.0) -> Iterator[Slice]:
    """Slices one by one on a continuous timeline, encoded `chunk` at a time (forever when count is None).

    Each chunk is its own muxer run, so continuity counters restart between chunks, but PTS and
    picture/tone continue — like an Agora stream whose recorder restarted its muxer.
    """
    made = 0
    offset = start_offset_s
    while count is None or made < count:
        n = chunk if count is None else min(chunk, count - made)
        for piece in make_slices(n * slice_s, slice_s, fps=fps, width=width, height=height, audio=audio,
                                 video=video, start_offset_s=offset):
            if count is not None and made >= count:
                return
            made += 1
            yield piece
        offset += n * slice_s


@lru_cache(maxsize=64)
def _make_slices_cached(seconds: float, slice_s: float, fps: int, width: int, height: int, audio: bool,
                        video: bool, start_offset_s: float, workdir: str | None) -> tuple[Slice, ...]:
    with tempfile.TemporaryDirectory(prefix="recshelf-media-", dir=workdir) as tmp:
        return tuple(_encode(Path(tmp), seconds, slice_s, fps, width, height, audio, video, start_offset_s))


def _encode(tmp: Path, seconds: float, slice_s: float, fps: int, width: int, height: int, audio: bool,
            video: bool, start_offset_s: float) -> list[Slice]:
    playlist = tmp / "tmp.m3u8"
    out = av.open(str(playlist), "w", format="hls", options={
        "hls_time": f"{slice_s:g}", "hls_list_size": "0", "hls_playlist_type": "vod",
        "hls_segment_filename": str(tmp / "tmp_%05d.ts"),
        # Positive PTS from the start: AAC priming would otherwise sit at negative PTS, which the
        # TS muxer wraps to 2^33 - 1920.
        "output_ts_offset": f"{start_offset_s:g}"})
    try:
        v_stream = a_stream = None
        if video:
            v_stream = out.add_stream("libx264", rate=fps)
            v_stream.width, v_stream.height, v_stream.pix_fmt = width, height, "yuv420p"
            gop = str(max(1, round(fps * slice_s)))
            # A keyframe exactly every slice, no B-frames: the muxer can only cut on keyframes.
            v_stream.codec_context.options = {"preset": "ultrafast", "tune": "zerolatency", "g": gop,
                                              "keyint_min": gop, "sc_threshold": "0"}
        if audio:
            a_stream = out.add_stream("aac", rate=SAMPLE_RATE)
            a_stream.layout = "mono"
            a_stream.bit_rate = 32000
        # The picture and the tone are functions of absolute timeline time, so a continued timeline
        # (start_offset_s moved on) keeps moving smoothly.
        v_base = round(start_offset_s * fps)
        a_base = round(start_offset_s * SAMPLE_RATE)
        n_video = round(seconds * fps) if video else 0
        n_audio = round(seconds * SAMPLE_RATE) if audio else 0
        vi = ai = 0
        # Interleave by presentation time: encoding all video then all audio yields audio-less slices.
        while vi < n_video or ai < n_audio:
            if vi < n_video and (ai >= n_audio or vi / fps <= ai / SAMPLE_RATE):
                assert v_stream is not None
                out.mux(v_stream.encode(_picture(v_base + vi, vi, width, height, fps)))
                vi += 1
            else:
                assert a_stream is not None
                out.mux(a_stream.encode(_tone(a_base + ai, ai)))
                ai += AAC_FRAME
        for stream in (v_stream, a_stream):
            if stream is not None:
                out.mux(stream.encode(None))
    finally:
        out.close()
    durations = _muxer_durations(playlist.read_text())
    files = sorted(tmp.glob("tmp_*.ts"))
    slices: list[Slice] = []
    position = start_offset_s
    for path, duration in zip(files, durations, strict=True):
        slices.append(Slice(path.read_bytes(), duration, position))
        position += duration
    # The AAC flush can spill a few milliseconds into an extra slice; the muxer's slices are one
    # continuous TS stream, so the sliver is appended to the previous slice rather than kept alone.
    if len(slices) > 1 and slices[-1].duration_s < 0.25 * slice_s:
        last, sliver = slices[-2], slices[-1]
        slices[-2:] = [Slice(last.data + sliver.data, round(last.duration_s + sliver.duration_s, 6),
                             last.start_s)]
    return slices


def _picture(absolute: int, pts: int, width: int, height: int, fps: int) -> av.VideoFrame:
    img = np.full((height, width, 3), 16, np.uint8)
    bar = (absolute * 4) % width  # a moving bar so consecutive frames differ (and decoders must work)
    img[:, bar:bar + 4] = 235
    img[: max(2, height // 20), : (absolute % fps + 1) * width // fps] = (200, 60, 60)  # second ticker
    frame = av.VideoFrame.from_ndarray(img, format="rgb24")
    frame.pts = pts
    frame.time_base = Fraction(1, fps)
    return frame


def _tone(absolute: int, pts: int) -> av.AudioFrame:
    t = np.arange(absolute, absolute + AAC_FRAME) / SAMPLE_RATE
    samples = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
    frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
    frame.sample_rate = SAMPLE_RATE
    frame.pts = pts
    frame.time_base = Fraction(1, SAMPLE_RATE)
    return frame


def _muxer_durations(text: str) -> list[float]:
    return [float(line[len("#EXTINF:"):].split(",")[0]) for line in text.splitlines()
            if line.startswith("#EXTINF:")]


def agora_playlist(entries: Iterable[PlaylistItem | tuple[str, float]], *, endlist: bool = True,
                   target: int | None = None, discontinuity_first: bool = True,
                   track_event: str | None = "VIDEO", track_time: str | None = None, comma: bool = False,
                   version: int = 3, newline: str = "\n") -> str:
    """Playlist text the way Agora writes it (reference/agora.md §2.4).

    Comma-less ``#EXTINF:2.000000`` unless `comma` (Agora's ``correctEXTINF``); a leading
    ``#EXT-X-DISCONTINUITY`` and ``#EXT-X-AGORA-TRACK-EVENT`` before the first slice; bare names.
    `track_time` defaults to the 17-digit UTC in the first slice name.
    """
    items = [e if isinstance(e, PlaylistItem) else PlaylistItem(e[0], float(e[1])) for e in entries]
    if target is None:
        target = max((math.ceil(i.duration_s) for i in items), default=1)
    lines = ["#EXTM3U", f"#EXT-X-VERSION:{version}", "#EXT-X-MEDIA-SEQUENCE:0", "#EXT-X-ALLOW-CACHE:YES",
             f"#EXT-X-TARGETDURATION:{target}"]
    for n, item in enumerate(items):
        if item.discontinuity or (n == 0 and discontinuity_first):
            lines.append("#EXT-X-DISCONTINUITY")
        if n == 0 and track_event:
            when = track_time or _name_time(item.name) or "0" * 17
            lines.append(f"#EXT-X-AGORA-TRACK-EVENT:EVENT=START,TRACK_TYPE={track_event},TIME={when}")
        lines.append(f"#EXTINF:{item.duration_s:.6f}" + ("," if comma else ""))
        if item.gap:
            lines.append("#EXT-X-GAP")
        lines.append(item.name)
    if endlist:
        lines.append("#EXT-X-ENDLIST")
    return newline.join(lines) + newline


def _name_time(name: str) -> str | None:
    match = _UTC17.search(name)
    return match.group(1) if match else None


def concat(slices: Sequence[Slice]) -> bytes:
    """The slices as one TS stream (what a concatenating export would produce)."""
    return b"".join(s.data for s in slices)

"""Poster frames: the first keyframe of a video slice as a small JPEG (PyAV, no other imaging library).

Bytes in, bytes out: reading the slice and caching the picture are `storage.recordings.posters`'.
A slice that does not decode (cut, not MPEG-TS, audio only) has no poster: None, never an exception.
"""

from __future__ import annotations

import io
from fractions import Fraction

import av

POSTER_WIDTH = 240  # pixels; a table thumbnail and a recording page's poster alike
JPEG_QSCALE = 4  # MJPEG quantiser, 2 (best) … 31; 4 keeps a 240-pixel frame near 5-10 KB


def poster_jpeg(data: bytes, width: int = POSTER_WIDTH, container_format: str | None = "mpegts") -> bytes | None:
    """The first keyframe of the first video stream in `data`, scaled to `width`, as JPEG bytes."""
    try:
        with av.open(io.BytesIO(data), format=container_format) as container:
            stream = next((s for s in container.streams if s.type == "video"), None)
            if stream is None:
                return None
            stream.codec_context.skip_frame = "NONKEY"  # decode keyframes only: the first one is the poster
            for frame in container.decode(stream):
                return _jpeg(frame, width)
    except (av.FFmpegError, ValueError, EOFError):
        return None
    return None


def _jpeg(frame: av.VideoFrame, width: int) -> bytes:
    width = max(2, min(width, frame.width) // 2 * 2)
    height = max(2, round(frame.height * width / frame.width / 2) * 2)
    codec = av.CodecContext.create("mjpeg", "w")
    codec.width, codec.height, codec.pix_fmt = width, height, "yuvj420p"
    codec.time_base = Fraction(1, 25)
    codec.qscale = JPEG_QSCALE  # type: ignore[attr-defined]
    picture = frame.reformat(width=width, height=height, format="yuvj420p")
    picture.pts = 0
    packets = [*codec.encode(picture), *codec.encode(None)]
    return b"".join(bytes(p) for p in packets)

"""Write a VOD playlist for a run of slices: what `recshelf repair` puts beside Agora's objects.

Pure: names and durations in, playlist text out. The text is what players and `hls.parse` accept:
`#EXTINF` per slice with its probed duration, a discontinuity where failover parts meet, a target
duration of the longest slice rounded up, and `#EXT-X-ENDLIST`. A leading comment (a line starting
with `#` but not `#EXT`, which players ignore) says who wrote it and why.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Segment:
    name: str  # the slice's name, relative to the playlist's folder
    duration_s: float
    discontinuity: bool = False  # a new part (failover, or a gap in the timeline) starts here


def vod_playlist(segments: Sequence[Segment], comment: str = "") -> str:
    if not segments:
        raise ValueError("a playlist needs at least one segment")
    if any("\n" in s.name or "\r" in s.name for s in segments) or "\n" in comment:
        raise ValueError("segment names and the comment are single lines")
    target = max(1, max(math.ceil(s.duration_s) for s in segments))
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", "#EXT-X-PLAYLIST-TYPE:VOD", "#EXT-X-MEDIA-SEQUENCE:0",
             f"#EXT-X-TARGETDURATION:{target}"]
    if comment:
        lines.insert(1, f"# {comment}")
    for segment in segments:
        if segment.discontinuity:
            lines.append("#EXT-X-DISCONTINUITY")
        lines += [f"#EXTINF:{segment.duration_s:.6f},", segment.name]
    lines.append("#EXT-X-ENDLIST")
    return "\n".join(lines) + "\n"

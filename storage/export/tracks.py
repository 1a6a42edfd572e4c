"""What the MP4 engines exchange: slices of one track in, remux statistics out.

Kept apart from mp4.py (which imports PyAV) so the exporting process can feed the helper process
(remux_worker.py) without loading libav* itself: that import sits on the start-up path of every
`recshelf export --format mp4`, before the first slice is fetched.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TrackSlice:
    data: bytes
    anchor_s: float | None = None  # where the slice starts on the output timeline, if known
    label: str = ""  # for error messages (the slice key)


@dataclass
class RemuxStats:
    duration_s: float = 0.0  # end of the last packet on the output timeline
    packets: int = 0
    slices: int = 0
    resyncs: list[tuple[str, float]] = field(default_factory=list)  # (slice, output time) where offsets moved

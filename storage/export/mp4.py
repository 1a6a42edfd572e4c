"""MPEG-TS slices → one MP4 with PyAV: packet copy, no re-encoding.

Exports run this in a helper process (remux_worker.py) so the per-packet loop does not share the
GIL with the fetch threads; `--engine pyav-inline` runs it in the exporting process.

Each track (a composite recording, or one of an individual-mode uid's audio and video playlists)
is fed to ONE mpegts demuxer through a chained, non-seekable reader that pulls slices from the
fetch pipeline as the demuxer asks for bytes, so remuxing overlaps the downloads and memory stays
bounded by the fetch window. One demuxer per track is about twice as fast as one `av.open` per
slice (reference/playback.md §3.4); the reader records where each slice starts, and `packet.pos`
maps every packet back to its slice.

Timestamps are repaired per slice boundary, with the same offset for every stream of the track
(playback.md §3.2: shifting streams independently makes audio run backwards):

* inside a slice, DTS/PTS are unwrapped at 2^33 relative to the slice's first packet;
* a slice that starts where the previous one ended (within tolerance) keeps the running offset;
* any other start — `#EXT-X-DISCONTINUITY`, a PTS reset, a missing slice, a failover part — is
  moved to where the track ended, or to the slice's anchor (its UTC start on the recording's
  timeline) when that is later: anchors keep individual-mode audio and video in sync;
* tiny overlaps left after that are nudged so each output stream's DTS strictly increases.

The MP4 starts at t=0 (or at its anchor) and gets `+faststart` so browsers can play it progressively.
"""

from __future__ import annotations

import bisect
import contextlib
import heapq
import itertools
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

import av

from storage.export.errors import ExportError
from storage.export.tracks import RemuxStats, TrackSlice

TS_HZ = 90_000  # MPEG-TS timestamps are always in 1/90000 s
WRAP = 1 << 33
HALF_WRAP = 1 << 32
BACK_TOLERANCE = TS_HZ // 2  # a slice may start a little before the previous one's last audio packet ends
MAX_GAP = TS_HZ  # a forward jump over 1 s is a hole or a reset, not jitter
PRIME_PACKETS = 64  # packets read before fixing t=0: audio may start a little before video
READ_CHUNK = 1 << 20  # bytes per read callback: each one takes the GIL, so few and large
HUGE = 1 << 62

__all__ = ["RemuxStats", "TrackSlice", "remux_to_mp4"]  # the types live in tracks.py (no PyAV import)


class _ChainedReader:
    """A read-only, non-seekable file over a sequence of slices, remembering where each one starts."""

    def __init__(self, slices: Iterator[TrackSlice]) -> None:
        self._slices = slices
        self._data = b""
        self._at = 0  # bytes of `_data` already handed out
        self._total = 0
        self.starts: list[int] = []  # byte offset of each slice in the chained stream
        self.meta: list[TrackSlice] = []

    def read(self, size: int = -1) -> bytes:
        while self._at >= len(self._data):
            nxt = next(self._slices, None)
            if nxt is None:
                return b""
            self.starts.append(self._total)
            self.meta.append(TrackSlice(b"", nxt.anchor_s, nxt.label))  # keep no bytes once consumed
            self._total += len(nxt.data)
            self._data, self._at = nxt.data, 0
        left = len(self._data) - self._at
        if self._at == 0 and (size is None or size < 0 or left <= size):
            self._at = left
            return self._data  # a whole slice fits the demuxer's buffer: hand it over without a copy
        n = left if size is None or size < 0 else min(size, left)
        out = self._data[self._at:self._at + n]
        self._at += n
        return out

    def seekable(self) -> bool:
        return False


class _Track:
    """One demuxer over one slice sequence, with its own timeline repair state."""

    def __init__(self, slices: Iterable[TrackSlice], name: str) -> None:
        self.name = name
        self.reader = _ChainedReader(iter(slices))
        try:
            self.container: Any = av.open(self.reader, "r", format="mpegts", buffer_size=READ_CHUNK)
        except av.FFmpegError as exc:
            raise ExportError(f"{name}: cannot read the first slice as MPEG-TS ({exc})") from exc
        self.streams = [s for s in self.container.streams if s.type in ("video", "audio")]

    def close(self) -> None:
        self.container.close()


def _out_streams(out: Any, tracks: Sequence[_Track]) -> dict[tuple[int, int], Any]:
    """Output streams from the first video and first audio stream among the tracks."""
    routes: dict[tuple[int, int], Any] = {}
    taken: set[str] = set()
    for t, track in enumerate(tracks):
        for s in track.streams:
            if s.type in taken:
                continue
            if s.type == "audio" and not s.codec_context.sample_rate:
                # The probe window saw no audio packet: the mp4 muxer would refuse "sample rate not set".
                raise ExportError(f"{track.name}: the audio stream has no sample rate in the first slice")
            taken.add(s.type)
            routes[(t, s.index)] = out.add_stream_from_template(s)
    if not routes:
        raise ExportError("no audio or video stream in the first slice")
    return routes


def _repaired(track: _Track, t: int, routes: dict[tuple[int, int], Any], stats: RemuxStats) -> Iterator[Any]:
    """The track's packets in demux order, timestamps repaired and routed to their output stream.

    This loop runs once per packet (~60 per second of recording), so it keeps to local variables
    and reads each packet property once.
    """
    route: dict[int, Any] = {}
    for s in track.container.streams:
        route[s.index] = routes.get((t, s.index))
    reader = track.reader
    starts, meta = reader.starts, reader.meta
    demux = track.container.demux()

    def out_for(pkt: Any) -> Any:
        idx = pkt.stream_index
        if idx not in route:  # a stream that appeared mid-recording (new PMT): route it by type
            kind = pkt.stream.type
            route[idx] = next((o for (tt, i), o in routes.items()
                               if tt == t and track.container.streams[i].type == kind), None)
        return route[idx]

    # Prime: the first packets fix t=0 at the earliest DTS among them, not just the first one seen.
    head: list[Any] = []
    for pkt in demux:
        if pkt.dts is None or out_for(pkt) is None:
            continue
        head.append(pkt)
        if len(head) >= PRIME_PACKETS:
            break
    if not head:
        return
    ref = head[0].dts
    first = min(_unwrap(p.dts, ref) for p in head)
    anchor = meta[0].anchor_s if meta else None
    offset = round((anchor or 0.0) * TS_HZ) - first
    end = offset + first
    k = 0
    here_start = 0  # byte offset where slice k starts
    next_start = HUGE  # where slice k + 1 starts, once the reader got there
    placed = [(0, offset, ref)]  # (slice start byte, offset, ref) of every slice so far, for late packets
    last: dict[int, int] = {}
    for pkt in itertools.chain(head, demux):
        dts = pkt.dts
        if dts is None:
            continue
        sid = pkt.stream_index
        o = route.get(sid, False)
        if o is False:
            o = out_for(pkt)
        if o is None:
            continue
        pos = pkt.pos
        if pos is None:
            pos = here_start
        if next_start == HUGE and k + 1 < len(starts):
            next_start = starts[k + 1]
        if pos >= next_start:
            while k + 1 < len(starts) and pos >= starts[k + 1]:
                k += 1
            here_start = starts[k]
            next_start = starts[k + 1] if k + 1 < len(starts) else HUGE
            ref = dts
            here = dts + offset
            if not (end - BACK_TOLERANCE <= here <= end + MAX_GAP):
                target = end
                anchor = meta[k].anchor_s
                if anchor is not None and round(anchor * TS_HZ) > end:
                    target = round(anchor * TS_HZ)
                offset = target - dts
                stats.resyncs.append((meta[k].label, target / TS_HZ))
            placed.append((here_start, offset, ref))
        if pos >= here_start:
            shift, delta = offset, dts - ref
        else:
            # The demuxer emits a slice's last PES only when the next one starts, i.e. after packets of
            # the next slice: such a late packet keeps the offset of the slice it came from.
            _, shift, p_ref = placed[max(0, bisect.bisect_right(placed, (pos, HUGE, HUGE)) - 1)]
            delta = dts - p_ref
        if delta > HALF_WRAP:
            shift -= WRAP
        elif delta < -HALF_WRAP:
            shift += WRAP
        dts += shift
        prev = last.get(sid)
        if prev is not None and dts <= prev:
            shift += prev + 1 - dts
            dts = prev + 1
        last[sid] = dts
        pts = pkt.pts
        pkt.dts = dts
        if pts is not None:
            pkt.pts = pts + shift
        stop = dts + (pkt.duration or 0)
        if stop > end:
            end = stop
        pkt.stream = o
        yield pkt
    stats.slices += len(starts)
    stats.duration_s = max(stats.duration_s, end / TS_HZ)


def _dts(pkt: Any) -> int:
    return int(pkt.dts)


def _unwrap(dts: int, ref: int) -> int:
    if dts - ref > HALF_WRAP:
        return dts - WRAP
    if ref - dts > HALF_WRAP:
        return dts + WRAP
    return dts


def remux_to_mp4(tracks: Sequence[Iterable[TrackSlice]], dst: str | Path, *, faststart: bool = True) -> RemuxStats:
    """Write the tracks' packets, merged by time, into a new MP4 at `dst` (overwritten). No re-encode."""
    if not tracks:
        raise ExportError("nothing to remux")
    stats = RemuxStats()
    opened: list[_Track] = []
    out: Any = None
    try:
        for n, slices in enumerate(tracks):
            opened.append(_Track(slices, f"track {n}"))
        options = {"movflags": "+faststart"} if faststart else {}
        out = av.open(str(dst), "w", format="mp4", options=options)
        routes = _out_streams(out, opened)
        streams = [_repaired(tr, t, routes, stats) for t, tr in enumerate(opened)]
        # One track: demux order is already interleaved. Several: merge by output DTS so the muxer's
        # interleaving queue (and memory) stays small.
        merged = streams[0] if len(streams) == 1 else heapq.merge(*streams, key=_dts)
        mux = out.mux_one
        count = 0
        for pkt in merged:
            mux(pkt)
            count += 1
        stats.packets = count
        out.close()
        out = None
    except av.FFmpegError as exc:
        raise ExportError(f"remux failed: {exc}") from exc
    finally:
        if out is not None:
            with contextlib.suppress(av.FFmpegError):
                out.close()  # the error that got us here is the one to report
        for tr in opened:
            tr.close()
    return stats

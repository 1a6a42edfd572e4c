"""Run the PyAV remux in a child process, fed slice by slice through a pipe.

Why a process: PyAV releases the GIL inside every demux and mux call, so the remux loop hands the
GIL over twice per packet (~220,000 packets per hour of recording). With the fetch threads busy
in the same interpreter, each handover waits for another thread, and the remux slows down. In its
own process the loop keeps its interpreter to itself and runs on another core, as an ffmpeg binary
would, with the same PyAV code and timestamp repair.

Protocol on the child's stdin: frames of ``<u8 track><u32 data length><f64 anchor (NaN = none)>
<u16 label length>`` + label (UTF-8) + data, ended by EOF. Several tracks (individual-mode audio
and video) are sent interleaved by anchor, which is about the order the child's merge needs them;
a reader thread in the child sorts frames into one queue per track, so a track never waits behind
another one's frames. The child answers one JSON line on stdout: ``{"duration_s", "packets",
"slices", "resyncs"}`` or ``{"error": message}`` (exit status 1).
"""

from __future__ import annotations

import heapq
import json
import math
import os
import queue
import struct
import subprocess
import sys
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from storage.export.errors import ExportError
from storage.export.mp4 import RemuxStats, TrackSlice, remux_to_mp4

_HEADER = struct.Struct("<BIdH")


def _send(stdin: BinaryIO, track: int, piece: TrackSlice) -> None:
    label = piece.label.encode()
    anchor = math.nan if piece.anchor_s is None else piece.anchor_s
    stdin.write(_HEADER.pack(track, len(piece.data), anchor, len(label)) + label)
    stdin.write(piece.data)


def _interleaved(tracks: Sequence[Iterable[TrackSlice]]) -> Iterator[tuple[int, TrackSlice]]:
    """(track, slice) of every track, merged by anchor (or by position when a slice has none)."""
    def keyed(t: int, slices: Iterable[TrackSlice]) -> Iterator[tuple[float, int, int, TrackSlice]]:
        for n, piece in enumerate(slices):
            yield (piece.anchor_s if piece.anchor_s is not None else float(n)), t, n, piece

    for _, t, _, piece in heapq.merge(*(keyed(t, s) for t, s in enumerate(tracks)),
                                      key=lambda item: item[:3]):
        yield t, piece


def remux_in_child(tracks: Sequence[Iterable[TrackSlice]], dst: str | Path, *,
                   faststart: bool = True) -> RemuxStats:
    """Like `remux_to_mp4`, with the remux in a child Python process."""
    cmd = [sys.executable, "-m", "storage.export.remux_worker", str(dst), str(len(tracks))]
    if not faststart:
        cmd.append("--no-faststart")
    # The child imports this very package, installed or not (tests and benchmarks run from a checkout).
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    try:
        try:
            for track, piece in _interleaved(tracks):
                _send(proc.stdin, track, piece)
        except BrokenPipeError:
            pass  # the child stopped early; its answer says why
        finally:
            proc.stdin.close()
        answer, err = proc.stdout.read(), proc.stderr.read()
        code = proc.wait()
    except BaseException:
        proc.kill()  # a fetch failed or we were interrupted: the partial output is the caller's to delete
        proc.wait()
        raise
    finally:
        proc.stdout.close()
        proc.stderr.close()
    try:
        result = json.loads(answer.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        tail = err.decode(errors="replace").strip().splitlines()
        raise ExportError(f"the remux process failed ({code}): {tail[-1] if tail else 'no message'}") from None
    if "error" in result or code != 0:
        raise ExportError(result.get("error", f"the remux process failed ({code})"))
    return RemuxStats(result["duration_s"], result["packets"], result["slices"],
                      [(label, at) for label, at in result["resyncs"]])


def _frames(stream: BinaryIO) -> Iterator[tuple[int, TrackSlice]]:
    while True:
        head = stream.read(_HEADER.size)
        if len(head) < _HEADER.size:
            return
        track, size, anchor, label_size = _HEADER.unpack(head)
        label = stream.read(label_size).decode()
        data = stream.read(size)
        if len(data) != size:
            return  # the parent went away mid-frame; the remux sees a short stream, the parent an error
        yield track, TrackSlice(data, None if math.isnan(anchor) else anchor, label)


def _sort_frames(stream: BinaryIO, queues: list[queue.SimpleQueue[TrackSlice | None]]) -> None:
    try:
        for track, piece in _frames(stream):
            queues[track].put(piece)
    finally:
        for q in queues:
            q.put(None)


def main() -> None:
    dst, n_tracks, faststart = sys.argv[1], int(sys.argv[2]), "--no-faststart" not in sys.argv[3:]
    tracks: list[Iterator[TrackSlice]]
    if n_tracks == 1:
        # One track needs no sorting thread (which would compete with the remux loop for the GIL).
        tracks = [(piece for _, piece in _frames(sys.stdin.buffer))]
    else:
        queues: list[queue.SimpleQueue[TrackSlice | None]] = [queue.SimpleQueue() for _ in range(n_tracks)]
        threading.Thread(target=_sort_frames, args=(sys.stdin.buffer, queues), daemon=True).start()
        tracks = [iter(q.get, None) for q in queues]
    try:
        stats = remux_to_mp4(tracks, dst, faststart=faststart)
    except ExportError as exc:
        print(json.dumps({"error": str(exc)}), flush=True)
        sys.exit(1)
    print(json.dumps({"duration_s": stats.duration_s, "packets": stats.packets, "slices": stats.slices,
                      "resyncs": stats.resyncs}), flush=True)


if __name__ == "__main__":
    main()

"""Run the PyAV remux in a child process, fed slice by slice through a pipe.

Why a process: PyAV releases the GIL inside every demux and mux call, so the remux loop hands the
GIL over twice per packet (~220,000 packets per hour of recording). With the fetch threads busy
in the same interpreter, each handover waits for another thread, and the remux slows down. In its
own process the loop keeps its interpreter to itself and runs on another core, as an ffmpeg binary
would, with the same PyAV code and timestamp repair.

Protocol on the child's stdin: one JSON line ``{"dst", "tracks", "faststart"}``, then frames of
``<u8 track><u32 data length><f64 anchor (NaN = none)><u16 label length>`` + label (UTF-8) + data,
ended by EOF. Several tracks (individual-mode audio and video) are sent interleaved by anchor, which
is about the order the child's merge needs them; a reader thread in the child sorts frames into one
queue per track, so a track never waits behind another one's frames. The child answers one JSON line
on stdout: ``{"duration_s", "packets", "slices", "resyncs"}`` or ``{"error": message}`` (exit status 1).
EOF before the JSON line means the helper was not needed: it exits 0 and writes nothing.

The job comes on stdin rather than argv so a helper can be started before the job is known
(`prestart`): its interpreter start and PyAV import (~0.15 CPU-s) then overlap the listing and
playlist round trips instead of competing with the fetch threads and the moto/S3 client for the CPU
while slices stream in, and the first slices need not wait for the helper to come up.
"""

from __future__ import annotations

import atexit
import contextlib
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
from storage.export.tracks import RemuxStats, TrackSlice

_HEADER = struct.Struct("<BIdH")
_spare: subprocess.Popen[bytes] | None = None  # a helper started ahead of its job (prestart)


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


def _spawn() -> subprocess.Popen[bytes]:
    # The child imports this very package, installed or not (tests and benchmarks run from a checkout):
    # its folder goes first on the child's sys.path, and the child inherits our environment unchanged.
    root = str(Path(__file__).resolve().parents[2])
    boot = (f"import runpy, sys; sys.path.insert(0, {root!r}); "
            "runpy.run_module('storage.export.remux_worker', run_name='__main__')")
    cmd = [sys.executable, "-c", boot]
    return subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _retire(proc: subprocess.Popen[bytes]) -> None:
    """Let an unused helper go: EOF before a job makes it exit without writing anything."""
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def prestart() -> None:
    """Start the helper for the next `remux_in_child` now, while the caller lists and plans."""
    global _spare
    if _spare is None:
        _spare = _spawn()
        atexit.unregister(_retire_spare)  # once, however many exports this process runs
        atexit.register(_retire_spare)


def _retire_spare() -> None:
    global _spare
    if _spare is not None:
        proc, _spare = _spare, None
        _retire(proc)


def _take_spare() -> subprocess.Popen[bytes] | None:
    global _spare
    proc, _spare = _spare, None
    if proc is not None and proc.poll() is not None:
        _retire(proc)  # it died (killed, or its start-up failed): start a fresh one
        return None
    return proc


def remux_in_child(tracks: Sequence[Iterable[TrackSlice]], dst: str | Path, *,
                   faststart: bool = True) -> RemuxStats:
    """Like `remux_to_mp4`, with the remux in a child Python process (the one `prestart` made, if any)."""
    proc = _take_spare() or _spawn()
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    # Absolute: a prestarted helper kept the working directory of its own start.
    job = json.dumps({"dst": os.path.abspath(dst), "tracks": len(tracks), "faststart": faststart}).encode() + b"\n"
    try:
        try:
            proc.stdin.write(job)
            for track, piece in _interleaved(tracks):
                _send(proc.stdin, track, piece)
        except BrokenPipeError:
            pass  # the child stopped early; its answer says why
        finally:
            with contextlib.suppress(BrokenPipeError):
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
    # Import PyAV before waiting for the job: a prestarted helper does this while the parent plans.
    from storage.export.mp4 import remux_to_mp4

    stdin = sys.stdin.buffer
    line = stdin.readline()
    if not line:
        return  # started ahead of a job that never came (the export was skipped or failed)
    job = json.loads(line)
    dst, n_tracks, faststart = job["dst"], int(job["tracks"]), bool(job["faststart"])
    tracks: list[Iterator[TrackSlice]]
    if n_tracks == 1:
        # One track needs no sorting thread (which would compete with the remux loop for the GIL).
        tracks = [(piece for _, piece in _frames(stdin))]
    else:
        queues: list[queue.SimpleQueue[TrackSlice | None]] = [queue.SimpleQueue() for _ in range(n_tracks)]
        threading.Thread(target=_sort_frames, args=(stdin, queues), daemon=True).start()
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

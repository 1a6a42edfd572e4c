"""Optional MP4 engine: pipe the slices into an `ffmpeg` binary (`-c copy`) instead of remuxing in process.

The CLI repairs timestamp jumps across discontinuities itself (`-dts_delta_threshold`, playback.md
§3.1) and runs in its own process, so remuxing never competes with the fetch threads for the GIL.
It handles one track (composite recordings); individual-mode A/V merging stays with PyAV. The binary
comes from RECSHELF_FFMPEG, the `imageio-ffmpeg` wheel when installed, or PATH.

Why PyAV stays the default (benchmarks/export_bench.py, 1-hour recording on 2 shared cores): PyAV in
its helper process (remux_worker.py) finished within ~10 % of this engine, and both ~15-20 % ahead
of PyAV sharing the interpreter with the fetch threads; what remains is libavformat demux + mux
CPU, which both pay. The binary handles one track only, and the wheel that ships one (imageio-ffmpeg) is ~165 MB,
against PyAV, which recshelf needs anyway.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

from storage.export.errors import ExportError
from storage.export.tracks import TrackSlice

FFMPEG_ENV = "RECSHELF_FFMPEG"


def find_ffmpeg(explicit: str | None = None) -> str | None:
    """`explicit` ($RECSHELF_FFMPEG, from Settings), else imageio-ffmpeg's binary, else ffmpeg on PATH."""
    if explicit:
        return explicit
    try:
        import imageio_ffmpeg  # type: ignore[import-not-found]

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except (ImportError, RuntimeError):
        return shutil.which("ffmpeg")


def remux_with_ffmpeg(slices: Iterable[TrackSlice], dst: str | Path, binary: str | None = None) -> float:
    """Remux the chained slices into `dst` (MP4, +faststart); returns the output's duration in seconds."""
    exe = binary or find_ffmpeg()
    if not exe:
        raise ExportError(f"no ffmpeg binary found (set {FFMPEG_ENV}, pip install imageio-ffmpeg, or use "
                          "--engine pyav)")
    cmd = [exe, "-hide_banner", "-nostdin", "-loglevel", "error",
           # A jump over 1 s between packets is a discontinuity or a hole: close it, as the PyAV engine does.
           "-dts_delta_threshold", "1", "-f", "mpegts", "-i", "pipe:0",
           "-map", "0:v?", "-map", "0:a?", "-c", "copy", "-movflags", "+faststart", "-f", "mp4", "-y", str(dst)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stdin is not None and proc.stderr is not None
    try:
        try:
            for piece in slices:
                proc.stdin.write(piece.data)
        except BrokenPipeError:
            pass  # ffmpeg gave up; its stderr says why
        finally:
            proc.stdin.close()
        err = proc.stderr.read().decode(errors="replace").strip()
        code = proc.wait()
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        proc.stderr.close()
    if code != 0:
        raise ExportError(f"ffmpeg failed ({code}): {err.splitlines()[-1] if err else 'no message'}")
    import av  # only to read the duration back; the exporting process never needs PyAV otherwise

    with av.open(str(dst)) as container:
        return (container.duration or 0) / av.time_base

"""Export options and defaults. Kept free of heavy imports so the CLI can build its help without PyAV."""

from __future__ import annotations

from dataclasses import dataclass

FORMATS = ("mp4", "ts", "hls", "zip", "copy")
DEFAULT_WORKERS = 12  # enough parallel GETs to hide ~40-100 ms of cloud latency per slice
# pyav: PyAV remux in a helper process (remux_worker.py); pyav-inline: the same in this process;
# ffmpeg: an ffmpeg binary (one track; A/V merges fall back to pyav). See benchmarks/export_bench.py.
ENGINES = ("pyav", "pyav-inline", "ffmpeg")


@dataclass(frozen=True)
class ExportOptions:
    format: str  # one of FORMATS
    workers: int = DEFAULT_WORKERS  # parallel slice downloads (and uploads, for hls and copy)
    window: int | None = None  # slices fetched ahead of the writer; default 2 × workers
    allow_incomplete: bool = False  # export what exists of incomplete recordings; gaps are reported
    engine: str = "pyav"  # mp4 only: one of ENGINES
    ffmpeg: str | None = None  # engine ffmpeg: the binary ($RECSHELF_FFMPEG through Settings); None = find one

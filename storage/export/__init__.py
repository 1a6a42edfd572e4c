"""Export recordings: MP4 (remux), TS (concatenated), HLS (as is), zip (stored) and cross-store copy.

Entry point: `run_export(store, recordings, dest, ExportOptions(format=...), progress=callback)`
returns one `ExportResult` per output. Progress snapshots are described in `progress.py`.
Names are imported on first use, so importing the package (e.g. for `recshelf --help`) stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "FORMATS": "options", "ExportOptions": "options", "Destination": "dest", "ExportError": "errors",
    "SliceError": "errors", "SourceUnavailable": "errors", "ExportResult": "jobs", "run_export": "jobs",
    "Progress": "progress", "ProgressCallback": "progress",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)

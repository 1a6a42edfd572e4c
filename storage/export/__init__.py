"""Export recordings: MP4 (remux), TS (concatenated), HLS (as is), zip (stored) and cross-store copy.

Entry point: `run_export(store, recordings, dest, ExportOptions(format=...), progress=callback)`
returns one `ExportResult` per output. Progress snapshots are described in `progress.py`.
"""

from storage.export.context import FORMATS, ExportOptions
from storage.export.dest import Destination
from storage.export.errors import ExportError, SliceError, SourceUnavailable
from storage.export.jobs import ExportResult, run_export
from storage.export.progress import Progress, ProgressCallback

__all__ = ["FORMATS", "Destination", "ExportError", "ExportOptions", "ExportResult", "Progress", "ProgressCallback",
           "SliceError", "SourceUnavailable", "run_export"]

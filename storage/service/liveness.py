"""Whether a recording is still running, as far as Agora's callbacks tell.

A playlist without ``#EXT-X-ENDLIST`` means either "still being written" or "stopped abnormally";
only the events say which. A sid counts as running once a start event arrived and no end event has:
players then treat it as live, and every other unfinished recording is played as VOD to its last slice.
"""

from __future__ import annotations

from pathlib import Path

from storage.agora.events import (
    EVENT_RECORDER_LEAVE,
    EVENT_RECORDER_SLICE_START,
    EVENT_RECORDER_STARTED,
    EVENT_SESSION_EXIT,
    EVENT_UPLOADED,
    EVENT_UPLOADER_STARTED,
    EVENT_UPLOADING_PROGRESS,
)
from storage.service.db import DB_NAME, Database
from storage.service.repo import Repo

STARTED = (EVENT_RECORDER_STARTED, EVENT_UPLOADER_STARTED, EVENT_RECORDER_SLICE_START, EVENT_UPLOADING_PROGRESS)
ENDED = (EVENT_SESSION_EXIT, EVENT_RECORDER_LEAVE, EVENT_UPLOADED)


def is_running(repo: Repo, sid: str) -> bool:
    return repo.has_event(sid, STARTED) and not repo.has_event(sid, ENDED)


def running_in(data_dir: Path, sid: str) -> bool:
    """`is_running` against the data folder's database; False when the folder holds none (no callbacks)."""
    if not (data_dir / DB_NAME).is_file():
        return False
    db = Database(data_dir)
    try:
        return is_running(Repo(db), sid)
    finally:
        db.close()

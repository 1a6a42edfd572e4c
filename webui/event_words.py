"""Agora callback events in words for the Events page: never "33 uploading_progress progress=10000"."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from storage.agora import events as ev

EVENT_WORDS: dict[int, str] = {
    ev.EVENT_ERROR: "error",
    ev.EVENT_WARNING: "warning",
    ev.EVENT_STATUS_UPDATE: "status update",
    ev.EVENT_FILE_INFOS: "file list",
    ev.EVENT_SESSION_EXIT: "recording ended",
    ev.EVENT_SESSION_FAILOVER: "moved to another server (failover)",
    ev.EVENT_UPLOADER_STARTED: "upload started",
    ev.EVENT_UPLOADED: "all files uploaded",
    ev.EVENT_BACKUPED: "some files went to Agora's backup",
    ev.EVENT_UPLOADING_PROGRESS: "upload progress",
    ev.EVENT_RECORDER_STARTED: "recorder started",
    ev.EVENT_RECORDER_LEAVE: "recorder left the channel",
    ev.EVENT_RECORDER_SLICE_START: "new slice started",
    ev.EVENT_RECORDER_AUDIO_STREAM_STATE: "audio stream changed",
    ev.EVENT_RECORDER_VIDEO_STREAM_STATE: "video stream changed",
}
_HIDDEN = frozenset({"msgName", "fileList"})
PROGRESS_SCALE = 100  # Agora reports upload progress in hundredths of a percent (10000 = all)


def event_words(event_type: int) -> str:
    return EVENT_WORDS.get(event_type, f"event {event_type} (not documented)")


def detail_words(event_type: int, details: Mapping[str, Any]) -> str:
    """An event's details as a short sentence."""
    if event_type == ev.EVENT_UPLOADING_PROGRESS and isinstance(details.get("progress"), int | float):
        return f"{details['progress'] / PROGRESS_SCALE:.0f}% uploaded"
    return ", ".join(f"{_words(k)}: {v}" for k, v in details.items() if k not in _HIDDEN)


def _words(key: str) -> str:
    """camelCase / snake_case to words: "startTime" -> "start time"."""
    spaced = "".join(f" {ch.lower()}" if ch.isupper() else ch for ch in key).replace("_", " ")
    return spaced.strip()

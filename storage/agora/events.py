"""Agora NCS callbacks as data (reference/agora.md §3): the envelope, the event-type and product ids.

Both sides use these: the simulator builds `Notice`s that `storage.agora.sender` posts, and the
callback intake and job handlers of `storage.service` read the same event ids.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

PRODUCT_CLOUD_RECORDING = 3

# eventType ids of Cloud Recording, named as on the NCS event-types page.
EVENT_ERROR = 1
EVENT_WARNING = 2
EVENT_STATUS_UPDATE = 3
EVENT_FILE_INFOS = 4
EVENT_SESSION_EXIT = 11
EVENT_SESSION_FAILOVER = 12
EVENT_UPLOADER_STARTED = 30
EVENT_UPLOADED = 31
EVENT_BACKUPED = 32
EVENT_UPLOADING_PROGRESS = 33
EVENT_RECORDER_STARTED = 40
EVENT_RECORDER_LEAVE = 41
EVENT_RECORDER_SLICE_START = 42
EVENT_RECORDER_AUDIO_STREAM_STATE = 43
EVENT_RECORDER_VIDEO_STREAM_STATE = 44

# eventType -> (serviceType, msgName), from the NCS event-types page.
EVENTS: dict[int, tuple[int, str]] = {
    EVENT_ERROR: (0, "cloud_recording_error"),
    EVENT_WARNING: (0, "cloud_recording_warning"),
    EVENT_STATUS_UPDATE: (0, "cloud_recording_status_update"),
    EVENT_FILE_INFOS: (0, "cloud_recording_file_infos"),
    EVENT_SESSION_EXIT: (0, "session_exit"),
    EVENT_SESSION_FAILOVER: (0, "session_failover"),
    EVENT_UPLOADER_STARTED: (2, "uploader_started"),
    EVENT_UPLOADED: (2, "uploaded"),
    EVENT_BACKUPED: (2, "backuped"),
    EVENT_UPLOADING_PROGRESS: (2, "uploading_progress"),
    EVENT_RECORDER_STARTED: (1, "recorder_started"),
    EVENT_RECORDER_LEAVE: (1, "recorder_leave"),
    EVENT_RECORDER_SLICE_START: (1, "recorder_slice_start"),
    EVENT_RECORDER_AUDIO_STREAM_STATE: (1, "recorder_audio_stream_state_changed"),
    EVENT_RECORDER_VIDEO_STREAM_STATE: (1, "recorder_video_stream_state_changed"),
}


@dataclass
class Notice:
    event_type: int
    cname: str
    uid: str
    sid: str
    sequence: int
    details: dict[str, Any]
    notice_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    sendts: int = field(default_factory=lambda: int(time.time() * 1000))

    def body(self, notify_ms: int) -> bytes:
        """The raw JSON bytes that are both sent and signed."""
        service_type, msg_name = EVENTS.get(self.event_type, (0, ""))
        details = {"msgName": msg_name, **self.details} if msg_name else dict(self.details)
        envelope = {
            "noticeId": self.notice_id, "productId": PRODUCT_CLOUD_RECORDING, "eventType": self.event_type,
            "notifyMs": notify_ms,
            "payload": {"cname": self.cname, "uid": self.uid, "sid": self.sid, "sequence": self.sequence,
                        "sendts": self.sendts, "serviceType": service_type, "details": details},
        }
        return json.dumps(envelope, separators=(",", ":")).encode()

"""What the simulator remembers: acquired resources, and per started task its tracks and progress."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from storage.agora.models import StorageConfig
from storage.demo import synth as media
from storage.media.naming import RecordingKey
from storage.stores.base import ObjectStore

if TYPE_CHECKING:  # faults.py needs MAX_UID from here at run time
    from storage.demo.simulator.faults import Faults

MAX_UID = 2**32 - 1


@dataclass
class Resource:
    resource_id: str
    app_id: str
    cname: str
    uid: str
    acquired_at: float
    sid: str | None = None


@dataclass
class Track:
    key: RecordingKey
    audio: bool
    video: bool
    slices: Iterator[media.Slice]
    entries: dict[int | None, list[media.PlaylistItem]] = field(default_factory=dict)  # failover part -> items
    playlist_written: set[int | None] = field(default_factory=set)
    late: list[tuple[str, bytes]] = field(default_factory=list)
    first_utc: datetime | None = None
    media: dict[int | None, list[bytes]] = field(default_factory=dict)  # slice bytes per part, for MP4
    mp4s: list[str] = field(default_factory=list)  # MP4 names written at exit

    @property
    def track_type(self) -> str:
        return "audio_and_video" if self.audio and self.video else ("audio" if self.audio else "video")

    def playlist_text(self, part: int | None) -> str:
        """The playlist of one failover part as Agora writes it (call with the task's lock held)."""
        return media.agora_playlist(self.entries.get(part, []), track_event="VIDEO" if self.video else "AUDIO")


@dataclass
class Task:
    resource: Resource
    sid: str
    mode: str
    storage: StorageConfig
    store: ObjectStore
    tracks: list[Track]
    faults: Faults
    file_list_json: bool
    mp4: bool  # avFileType ["hls", "mp4"] (composite and web only)
    started_utc: datetime
    max_idle_s: float = 30.0  # recordingConfig.maxIdleTime
    status: int = 4
    stopped: bool = False
    exited: bool = False
    backuped: bool = False  # some slices went to the "backup cloud" (fixed at exit, unlike `late`)
    slices_done: int = 0
    uploaded: int = 0
    sequence: int = 0
    failover: int | None = None
    unavailable_until: float = 0.0  # time.monotonic() until which a failover hides the task (404)
    stop_event: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None  # the recorder
    late_thread: threading.Thread | None = None  # delivers backuped slices after stop
    late_release: threading.Event = field(default_factory=threading.Event)  # deliver now, don't wait
    lock: threading.Lock = field(default_factory=threading.Lock)

"""The recorder: one thread per task that makes slices, uploads them and the playlist, and sends events.

The clock is sped up: each slice holds `slice_seconds` of media and is produced every
`slice_seconds / speed` real seconds; file names carry the simulated UTC time. After each slice the
playlist is overwritten (with `#EXT-X-ENDLIST` every time, as Agora does).

Callbacks (eventType): 40 recorder started, 30 uploader started, 42 first slice of each track,
4 first playlist upload, 33 progress (every `progress_every` slices and at exit), 2 warning 32 when a
slice goes to the backup cloud, 1 error 47 when an upload fails, 12 failover, 41 recorder left
(leaveCode 2 on stop, 4 after `maxIdleTime` with nobody publishing), 31 uploaded or 32 backuped
(with fileList), 11 session exit. Delivery is best effort on a background thread (see agora/sender.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from storage.agora import events
from storage.agora.events import Notice
from storage.agora.sender import CallbackSender
from storage.demo import synth as media
from storage.demo.simulator.answers import file_entries
from storage.demo.simulator.errors import fail
from storage.demo.simulator.faults import fail_over, start_late_delivery
from storage.demo.simulator.remux import write_mp4s
from storage.demo.simulator.session import Task, Track
from storage.demo.simulator.settings import SimulatorSettings
from storage.media.naming import RecordingKey, playlist_name, slice_name
from storage.stores.base import StoreError

log = logging.getLogger(__name__)

TIMELINE_START_S = 10.0  # media PTS of the first slice (positive, clear of AAC priming)


def plan_tracks(task: Task, config: dict[str, Any], settings: SimulatorSettings) -> list[Track]:
    """The tracks `recordingConfig` asks for: one mixed track, or audio and video per uid (individual)."""
    size = settings.media_size
    opts = {"fps": settings.media_fps, "width": size[0], "height": size[1]}

    def stream(audio: bool, video: bool) -> Iterator[media.Slice]:
        return media.iter_slices(settings.slice_seconds, audio=audio, video=video,
                                 start_offset_s=TIMELINE_START_S, **opts)

    sid, cname = task.sid, task.resource.cname
    stream_types = config.get("streamTypes", 2)
    if stream_types not in (0, 1, 2):
        raise fail(400, 2, "recordingConfig.streamTypes must be 0, 1 or 2")
    audio, video = stream_types in (0, 2), stream_types in (1, 2)
    if task.mode != "individual":
        if task.mode == "web":
            audio = video = True
        return [Track(RecordingKey(sid, cname), audio, video, stream(audio, video))]
    group = config.get("subscribeUidGroup")
    if not isinstance(group, int) or not 0 <= group <= 5:
        raise fail(400, 2, "recordingConfig.subscribeUidGroup (0-5) is required in individual mode")
    tracks = []
    for uid in _publishers(config, settings):
        if audio:
            tracks.append(Track(RecordingKey(sid, cname, uid, "audio"), True, False, stream(True, False)))
        if video:
            tracks.append(Track(RecordingKey(sid, cname, uid, "video"), False, True, stream(False, True)))
    return tracks


def _publishers(config: dict[str, Any], settings: SimulatorSettings) -> list[str]:
    wanted = [str(u) for u in (config.get("subscribeAudioUids") or []) + (config.get("subscribeVideoUids") or [])]
    concrete = [u for u in dict.fromkeys(wanted) if u.isdigit()]
    return concrete or list(settings.publishers)


class Recorder:
    """Runs tasks' recorder threads; every event goes through `notify` to the one callback sender."""

    def __init__(self, settings: SimulatorSettings, sender: CallbackSender | None) -> None:
        self.settings = settings
        self._sender = sender

    def start(self, task: Task) -> None:
        self.notify(task, events.EVENT_RECORDER_STARTED, {"status": 0})
        self.notify(task, events.EVENT_UPLOADER_STARTED, {"status": 0})
        task.thread = threading.Thread(target=self._record, args=(task,), name=f"agora-sim-{task.sid[:8]}",
                                       daemon=True)
        task.thread.start()

    def notify(self, task: Task, event_type: int, details: dict[str, Any]) -> None:
        if self._sender is None:
            return
        with task.lock:
            sequence = task.sequence
            task.sequence += 1
        self._sender.send(Notice(event_type, task.resource.cname, task.resource.uid, task.sid, sequence, details))

    def _record(self, task: Task) -> None:
        try:
            if task.faults.no_publisher:
                # Nobody to record: the bot idles until stop or until maxIdleTime makes it leave.
                stopped = task.stop_event.wait(task.max_idle_s / self.settings.speed)
                self._finish(task, leave_code=2 if stopped else 4)
            else:
                self._record_slices(task)
                self._finish(task)
        except Exception:  # a crashed recorder must still exit the task, like Agora's abnormal exit
            log.exception("simulated recorder for sid %s failed", task.sid)
            task.status = 20
            task.exited = True
            self.notify(task, events.EVENT_SESSION_EXIT, {"exitStatus": 1})

    def _record_slices(self, task: Task) -> None:
        index = 0
        gap = timedelta(0)
        while True:
            # On stop the slice in progress is cut short and still uploaded, so the loop makes one more.
            stopping = task.stop_event.wait(self.settings.tick_s)
            if index == task.faults.failover_after and task.failover is None:
                new_uid = fail_over(task, self.settings.speed)
                # The new server needs a moment to take over: leave a hole in the timeline.
                gap = timedelta(seconds=self.settings.slice_seconds)
                self.notify(task, events.EVENT_SESSION_FAILOVER, {"newUid": new_uid})
            for track in task.tracks:
                self._one_slice(task, track, index, gap)
            index += 1
            task.slices_done = index
            task.status = 5
            if self.settings.progress_every and index % self.settings.progress_every == 0:
                self.notify(task, events.EVENT_UPLOADING_PROGRESS, {"progress": self._progress(task)})
            if stopping:
                break

    def _one_slice(self, task: Task, track: Track, index: int, gap: timedelta) -> None:
        piece = next(track.slices)
        offset = piece.start_s - TIMELINE_START_S
        utc = task.started_utc + timedelta(seconds=offset) + gap
        if track.first_utc is None:
            track.first_utc = utc
            self.notify(task, events.EVENT_RECORDER_SLICE_START, {
                "startUtcMs": int(utc.timestamp() * 1000), "discontinueUtcMs": 0,
                "mixedAllUser": track.key.uid is None, "streamUid": track.key.uid or "0",
                "trackType": track.track_type})
        name = slice_name(track.key, utc, task.failover)
        prefix = task.storage.prefix_path
        with task.lock:
            track.entries.setdefault(task.failover, []).append(media.PlaylistItem(name, piece.duration_s))
        if task.mp4:
            track.media.setdefault(task.failover, []).append(piece.data)
        if index in task.faults.late_slices:
            track.late.append((prefix + name, piece.data))
            self.notify(task, events.EVENT_WARNING, {"module": 1, "warnCode": 32})
        elif index not in task.faults.lost_slices and self.write(task, prefix + name, piece.data):
            task.uploaded += 1
        if not (task.faults.late_playlist and task.faults.late_slices):
            self._write_playlist(task, track, task.failover)

    def _write_playlist(self, task: Task, track: Track, part: int | None) -> None:
        with task.lock:
            text = track.playlist_text(part)
        name = playlist_name(track.key, part)
        if self.write(task, task.storage.prefix_path + name, text.encode()):
            first = not track.playlist_written
            track.playlist_written.add(part)
            if first:
                self.notify(task, events.EVENT_FILE_INFOS, {"fileList": name})

    def write(self, task: Task, key: str, data: bytes) -> bool:
        """Upload one object; a failure is Agora's error 47, not an exception."""
        if task.faults.upload_delay_s:
            time.sleep(task.faults.upload_delay_s)
        try:
            task.store.write(key, data)
            return True
        except StoreError as exc:
            log.warning("simulated upload of %s failed: %s", key, exc)
            self.notify(task, events.EVENT_ERROR, {"module": 1, "errorLevel": 3, "errorCode": 47, "stat": 0,
                                                   "errorMsg": "upload failed"})
            return False

    @staticmethod
    def _progress(task: Task) -> int:
        recorded = max(1, task.slices_done * len(task.tracks))
        return min(10000, task.uploaded * 10000 // recorded)

    def _finish(self, task: Task, leave_code: int = 2) -> None:
        no_data = task.faults.no_publisher
        # leaveCode 2 = stopped on request, 4 = idle (no users)
        self.notify(task, events.EVENT_RECORDER_LEAVE, {"leaveCode": leave_code})
        if not no_data:
            if task.mp4:
                write_mp4s(task, self.write)
            self.notify(task, events.EVENT_UPLOADING_PROGRESS, {"progress": self._progress(task)})
            task.backuped = any(t.late for t in task.tracks)
            self.notify(task, events.EVENT_BACKUPED if task.backuped else events.EVENT_UPLOADED,
                        {"status": 0, "fileList": file_entries(task)})
            if task.backuped:
                delay = task.faults.late_delay_s
                start_late_delivery(task, self.settings.late_delay_s if delay is None else delay, self.write)
        for track in task.tracks:  # finished tasks stay queryable for codes 49/1003; drop their media
            track.media.clear()
            track.slices = iter(())
        task.status = 8
        task.exited = True
        self.notify(task, events.EVENT_SESSION_EXIT, {"exitStatus": 0})

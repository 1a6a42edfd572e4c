"""A local, Agora-compatible Cloud Recording service that records for real (reference/agora.md §1–§4).

The state machine behind `simulator_routes`: acquire → start → query / update / updateLayout → stop
with Agora's status codes, and between start and stop a background thread per task that makes
synthetic H.264/AAC slices (`storage.demo.synth`), names them as Agora does (`storage.media.naming`), uploads
them through recshelf's store adapters to the store `storageConfig` names, overwrites the playlist
after each slice (with `#EXT-X-ENDLIST` every time, as Agora does) and sends signed NCS callbacks.

The clock is sped up: each slice holds `slice_seconds` of media and is produced every
`slice_seconds / speed` real seconds; file names carry the simulated UTC time. With
`avFileType: ["hls", "mp4"]` (mix / web) a `<sid>_<cname>_0.mp4` per part is remuxed at exit.

Callbacks (eventType): 40 recorder started, 30 uploader started, 42 first slice of each track,
4 first playlist upload, 33 progress (every `progress_every` slices and at exit), 2 warning 32 when a
slice goes to the backup cloud, 1 error 47 when an upload fails, 12 failover, 41 recorder left
(leaveCode 2 on stop, 4 after `maxIdleTime` with nobody publishing), 31 uploaded or 32 backuped
(with fileList), 11 session exit. Delivery is best effort on a background thread (see callbacks.py).

Fault injection, per start via the recshelf extension field `clientRequest.recshelf_faults`
(or `SimulatorSettings.faults` for every start); never send it to real Agora:

* ``late_slices: [i, …]`` — those slices (0-based, per track) go to the "backup cloud": stop answers
  `backuped` (event 32); `late_delay_s` after stop they arrive, followed by a re-delivered playlist
  `<basename>_<tick>_0.m3u8`. With ``late_playlist: true`` the original playlist never arrives either.
* ``lost_slices: [i, …]`` — those slices never arrive (the playlist still names them).
* ``failover_after: n`` — after n slices the task fails over (event 12, new uid): later slices and
  their playlist carry the ``bak0_`` prefix; for ``failover_window_s`` (simulated seconds, default 0)
  query / update / stop answer 404, as during Agora's high-availability switch.
* ``upload_delay_s: s`` — every upload takes this long (a synchronous stop may then answer code 50).
* ``no_publisher: true`` (or a cname starting with ``NO_PUBLISHER_CNAME_PREFIX``) — nobody publishes:
  nothing is written and stop answers code 435.

Per call, `AgoraSimulator.inject(call, *faults)` queues HTTP-level faults for the next requests
(429, 5xx, code 65, a delayed answer) to test clients' retry rules; `requests` counts every call.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from storage.agora.events import CallbackSender, Notice
from storage.agora.models import MODES, StorageConfig
from storage.agora.storage_config import VENDOR_RECSHELF, StorageConfigError, store_target
from storage.demo import synth as media
from storage.media.naming import RecordingKey, mp4_name, playlist_name, redelivered_playlist_name, slice_name
from storage.stores.base import ObjectStore, StoreError

log = logging.getLogger(__name__)

NO_PUBLISHER_CNAME_PREFIX = "recshelfNobody"
FAULTS_FIELD = "recshelf_faults"
_CNAME = re.compile(r"^[A-Za-z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]+$")
_MAX_UID = 2**32 - 1

TIMELINE_START_S = 10.0  # media PTS of the first slice (positive, clear of AAC priming)

StoreResolver = Callable[[StorageConfig], ObjectStore]


class Faults(BaseModel):
    """`recshelf_faults`: see the module docstring. An unknown name is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    late_slices: frozenset[int] = frozenset()
    late_delay_s: float | None = None  # None: SimulatorSettings.late_delay_s
    late_playlist: bool = False
    lost_slices: frozenset[int] = frozenset()
    failover_after: int | None = None
    failover_window_s: float = 0.0
    upload_delay_s: float = 0.0
    no_publisher: bool = False


def default_store_resolver(sc: StorageConfig) -> ObjectStore:
    """The bucket (or folder) root; the simulator adds the fileNamePrefix path to each key itself."""
    return store_target(sc.model_copy(update={"file_name_prefix": []})).open()


@dataclass
class SimulatorSettings:
    customer_id: str = "recshelf"
    customer_secret: str = "recshelf-secret"
    app_ids: frozenset[str] | None = None  # None: any App ID is accepted
    slice_seconds: float = 1.0  # media seconds per slice
    speed: float = 1.0  # >1 produces slices faster than real time
    resource_ttl_s: float = 300.0  # resource ID life (Agora: 5 minutes)
    stop_upload_wait_s: float = 20.0  # a synchronous stop longer than this answers code 50
    late_delay_s: float = 2.0  # default delay of late (backuped) slices after stop
    publishers: tuple[str, ...] = ("1001",)  # uids "in the channel" for individual mode
    callback_url: str | None = None
    callback_secret: str = ""
    callback_retry_delays: tuple[float, ...] = (0.2, 0.5, 1.0)
    progress_every: int = 5  # event 33 every this many slices (Agora: every minute)
    faults: dict[str, Any] = field(default_factory=dict)
    # Vendor 100 (recshelf extension) writes wherever `extensionParams.storeUrl` points, with this
    # server's own credentials: only these targets are accepted. None accepts any (in-process tests).
    extension_stores: frozenset[str] | None = None
    media_fps: int = 10
    media_size: tuple[int, int] = (128, 72)
    clock: Callable[[], float] = time.monotonic  # resource expiry
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))  # UTC in file names
    store_resolver: StoreResolver = default_store_resolver

    @property
    def tick_s(self) -> float:
        return self.slice_seconds / self.speed


class SimulatorError(Exception):
    """An Agora error answer: HTTP status and JSON body."""

    def __init__(self, http_status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {http_status}: {body}")
        self.http_status = http_status
        self.body = body


def _fail(http_status: int, code: int, reason: str, **extra: Any) -> SimulatorError:
    return SimulatorError(http_status, {"code": code, "reason": reason, **extra})


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


class AgoraSimulator:
    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self._lock = threading.RLock()
        self._resources: dict[str, Resource] = {}
        self._tasks: dict[str, Task] = {}
        self._injected: dict[str, list[Any]] = {}
        self.requests: Counter[str] = Counter()  # call name -> requests received (faulted ones included)
        self._sender: CallbackSender | None = None
        if self.settings.callback_url:
            self._sender = CallbackSender(self.settings.callback_url, self.settings.callback_secret,
                                          retry_delays=self.settings.callback_retry_delays)

    def __repr__(self) -> str:
        return f"AgoraSimulator(tasks={len(self._tasks)})"

    # ------------------------------------------------------------------------------------ test hooks

    def inject(self, call: str, *faults: int | str | tuple[str, float]) -> None:
        """Queue faults for the next `call` requests: an HTTP status (429, 500, 502, 504), "code65",
        or ("delay", seconds) — answer normally but late (to trigger client read timeouts)."""
        with self._lock:
            self._injected.setdefault(call, []).extend(faults)

    def take_fault(self, call: str) -> int | str | tuple[str, float] | None:
        with self._lock:
            self.requests[call] += 1
            pending = self._injected.get(call)
            return pending.pop(0) if pending else None

    def check_auth(self, customer_id: str | None, customer_secret: str | None) -> bool:
        ok_id = secrets.compare_digest(customer_id or "", self.settings.customer_id)
        ok_secret = secrets.compare_digest(customer_secret or "", self.settings.customer_secret)
        return ok_id and ok_secret

    def task(self, sid: str) -> Task | None:
        return self._tasks.get(sid)

    def tasks(self) -> list[Task]:
        with self._lock:
            return list(self._tasks.values())

    def wait_idle(self, timeout_s: float = 30.0) -> bool:
        """Wait until every recorder thread, late delivery and queued callback is done."""
        deadline = time.monotonic() + timeout_s
        for task in self.tasks():
            for thread in (task.thread, task.late_thread):
                if thread is not None:
                    thread.join(timeout=max(0.0, deadline - time.monotonic()))
        if self._sender is not None:
            self._sender.flush(max(0.0, deadline - time.monotonic()))
        return time.monotonic() < deadline

    def release_late(self, sid: str) -> None:
        """Deliver the task's backuped slices now instead of after `late_delay_s` (tests, demos)."""
        task = self._tasks.get(sid)
        if task is not None:
            task.late_release.set()

    def close(self) -> None:
        for task in self.tasks():
            task.stop_event.set()
            task.late_release.set()
        self.wait_idle(10)
        if self._sender is not None:
            self._sender.close()

    # ------------------------------------------------------------------------------------ REST calls

    def acquire(self, app_id: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_app(app_id)
        cname, uid = self._cname_uid(body)
        request = body.get("clientRequest") or {}
        hours = request.get("resourceExpiredHour", 72)
        if not isinstance(hours, int) or not 1 <= hours <= 720:
            raise _fail(400, 2, "Acquire: invalid resourceExpiredHour value!")
        rid = secrets.token_urlsafe(96)
        with self._lock:
            self._resources[rid] = Resource(rid, app_id, cname, uid, self.settings.clock())
        return {"cname": cname, "uid": uid, "resourceId": rid}

    def start(self, app_id: str, resource_id: str, mode: str, body: dict[str, Any]) -> dict[str, Any]:
        self._check_app(app_id)
        self._check_mode(mode)
        cname, uid = self._cname_uid(body)
        with self._lock:
            resource = self._resource(app_id, resource_id, cname, uid)
            if resource.sid is not None:
                raise SimulatorError(201, {"cname": cname, "uid": uid, "resourceId": resource_id,
                                           "code": 7, "reason": "already started"})
            if self.settings.clock() - resource.acquired_at > self.settings.resource_ttl_s:
                raise _fail(400, 433, "resource expired")
            for other in self._tasks.values():
                if (not other.exited and other.resource.app_id == app_id and other.resource.cname == cname
                        and other.resource.uid == uid):
                    raise _fail(400, 53, "task conflict: cname and uid already recording")
            request = body.get("clientRequest") or {}
            storage = self._storage(request)
            self._check_extension_store(storage)
            try:
                store = self.settings.store_resolver(storage)
            except (StorageConfigError, StoreError) as exc:
                raise _fail(400, 2, f"invalid storageConfig: {exc}") from None
            faults = self._faults(request.get(FAULTS_FIELD), cname)
            sid = secrets.token_hex(16)
            file_types = (request.get("recordingFileConfig") or {}).get("avFileType") or ["hls"]
            if "hls" not in file_types or not set(file_types) <= {"hls", "mp4"}:
                raise _fail(400, 2, "recordingFileConfig.avFileType must be [\"hls\"] or [\"hls\", \"mp4\"]")
            mp4 = "mp4" in file_types
            if mp4 and mode == "individual":
                raise _fail(400, 2, "avFileType mp4 is for mix and web modes")
            task = Task(resource=resource, sid=sid, mode=mode, storage=storage, store=store, tracks=[],
                        faults=faults, file_list_json=(mode == "individual" or mp4), mp4=mp4,
                        started_utc=self.settings.now())
            recording_config = request.get("recordingConfig") or {}
            task.tracks = self._tracks(task, recording_config)
            idle = recording_config.get("maxIdleTime", 30)
            if not isinstance(idle, int) or not 5 <= idle <= 2_592_000:
                raise _fail(400, 2, "recordingConfig.maxIdleTime must be 5..2592000")
            task.max_idle_s = float(idle)
            resource.sid = sid
            self._tasks[sid] = task
        self._notify(task, 40, {"status": 0})
        self._notify(task, 30, {"status": 0})
        task.thread = threading.Thread(target=self._record, args=(task,), name=f"agora-sim-{sid[:8]}",
                                       daemon=True)
        task.thread.start()
        return {"cname": cname, "uid": uid, "resourceId": resource_id, "sid": sid}

    def query(self, app_id: str, resource_id: str, sid: str, mode: str) -> dict[str, Any]:
        task = self._running(app_id, resource_id, sid, mode)
        if task.stopped or task.exited:
            raise _fail(404, 404, "failed to find worker")
        with task.lock:
            server = self._server_response(task)
        server["status"] = task.status
        return self._answer(task, server)

    def update(self, app_id: str, resource_id: str, sid: str, mode: str, body: dict[str, Any],
               layout: bool = False) -> dict[str, Any]:
        task = self._running(app_id, resource_id, sid, mode)
        self._cname_uid(body)
        if task.stopped or task.exited:
            raise _fail(404, 404, "failed to find worker")
        request = body.get("clientRequest")
        if not isinstance(request, dict):
            raise _fail(400, 1028 if layout else 2, "invalid clientRequest")
        if layout:
            if mode != "mix":
                raise _fail(400, 1028, "updateLayout is for mix mode only")
            layout_mode = request.get("mixedVideoLayout", 0)
            if not isinstance(layout_mode, int) or not 0 <= layout_mode <= 3:
                raise _fail(400, 1028, "invalid mixedVideoLayout")
        elif "storageConfig" in request:
            task.storage = self._storage(request)  # an STS refresh; the store stays the same
        return self._answer(task)

    def stop(self, app_id: str, resource_id: str, sid: str, mode: str, body: dict[str, Any]) -> dict[str, Any]:
        task = self._running(app_id, resource_id, sid, mode)
        self._cname_uid(body)
        with self._lock:
            if task.stopped:
                raise _fail(400, 49, "invalid operation: the task is already exiting")
            task.stopped = True
        task.status = 6
        task.stop_event.set()
        async_stop = bool((body.get("clientRequest") or {}).get("async_stop", False))
        if async_stop:
            return self._answer(task, {"uploadingStatus": "unknown"})
        assert task.thread is not None
        task.thread.join(timeout=self.settings.stop_upload_wait_s)
        if task.thread.is_alive():
            raise _fail(400, 50, "upload timeout")
        if task.faults.no_publisher:
            raise SimulatorError(206, {"cname": task.resource.cname, "uid": task.resource.uid,
                                       "resourceId": resource_id, "sid": sid, "code": 435,
                                       "reason": "no recorded data"})
        status = "backuped" if task.backuped else "uploaded"
        with task.lock:
            server = self._server_response(task)
        if mode == "web":
            server["extensionServiceState"].insert(0, {"serviceName": "upload_service",
                                                       "payload": {"uploadingStatus": status}})
        else:
            server["uploadingStatus"] = status
        return self._answer(task, server)

    # ------------------------------------------------------------------------------------ validation

    def _check_extension_store(self, storage: StorageConfig) -> None:
        allowed = self.settings.extension_stores
        if storage.vendor != VENDOR_RECSHELF or allowed is None:
            return
        target = str((storage.extension_params or {}).get("storeUrl", ""))
        if target not in allowed:
            raise _fail(400, 2, "invalid storageConfig: vendor 100 may only record into the stores this "
                                "simulator was started with (RECSHELF_SIMULATOR_STORES)")

    def _faults(self, requested: Any, cname: str) -> Faults:
        merged = {**self.settings.faults, **(requested if isinstance(requested, dict) else {})}
        if cname.startswith(NO_PUBLISHER_CNAME_PREFIX):
            merged["no_publisher"] = True
        try:
            return Faults.model_validate(merged)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise _fail(400, 2, f"invalid {FAULTS_FIELD}: {problems}") from None

    def _check_app(self, app_id: str) -> None:
        if self.settings.app_ids is not None and app_id not in self.settings.app_ids:
            raise _fail(400, 400, "invalid_appid")

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in MODES:
            raise SimulatorError(404, {"message": "no Route matched with those values"})

    @staticmethod
    def _cname_uid(body: dict[str, Any]) -> tuple[str, str]:
        cname, uid = body.get("cname"), body.get("uid")
        if not isinstance(cname, str) or not cname:
            raise _fail(400, 2, "cname is required")
        if len(cname.encode()) >= 64 or not _CNAME.match(cname):
            raise _fail(400, 1013, "invalid channel name")
        if not isinstance(uid, str) or not uid.isdigit() or not 1 <= int(uid) <= _MAX_UID:
            raise _fail(400, 2, "uid must be a string holding an integer 1..2^32-1")
        return cname, uid

    def _resource(self, app_id: str, resource_id: str, cname: str, uid: str) -> Resource:
        resource = self._resources.get(resource_id)
        if resource is None:
            raise _fail(400, 1001, "cannot parse resource ID")
        if (resource.app_id, resource.cname, resource.uid) != (app_id, cname, uid):
            raise _fail(400, 432, "parameter mismatch: appid, cname or uid do not match the resource ID")
        return resource

    def _running(self, app_id: str, resource_id: str, sid: str, mode: str) -> Task:
        self._check_app(app_id)
        self._check_mode(mode)
        if resource_id not in self._resources:
            raise _fail(400, 1001, "cannot parse resource ID")
        task = self._tasks.get(sid)
        if task is None:
            raise _fail(404, 404, "failed to find worker")
        if task.resource.resource_id != resource_id or task.resource.app_id != app_id:
            raise _fail(400, 1003, "appid or sid does not match the resource ID")
        if task.mode != mode:
            raise _fail(400, 2, f"mode {mode!r} does not match the task's mode {task.mode!r}")
        if time.monotonic() < task.unavailable_until:
            raise _fail(404, 404, "failed to find worker")  # mid-failover, as Agora answers for up to 90 s
        return task

    @staticmethod
    def _storage(request: dict[str, Any]) -> StorageConfig:
        raw = request.get("storageConfig")
        if not isinstance(raw, dict):
            raise _fail(400, 2, "storageConfig is required")
        try:
            return StorageConfig.model_validate(raw)
        except ValidationError as exc:
            raise _fail(400, 2, f"invalid storageConfig ({exc.error_count()} problem(s))") from None

    # ------------------------------------------------------------------------------------ answers

    @staticmethod
    def _answer(task: Task, server: dict[str, Any] | None = None) -> dict[str, Any]:
        answer: dict[str, Any] = {"cname": task.resource.cname, "uid": task.resource.uid,
                                  "resourceId": task.resource.resource_id, "sid": task.sid}
        if server is not None:
            answer["serverResponse"] = server
        return answer

    def _file_entries(self, task: Task) -> list[dict[str, Any]]:
        entries = []
        for track in task.tracks:
            part = task.failover if task.failover in track.entries else None
            if part not in track.playlist_written and not track.late:
                continue
            entries.append({
                "fileName": playlist_name(track.key, part), "trackType": track.track_type,
                "uid": track.key.uid or "0", "mixedAllUser": track.key.uid is None, "isPlayable": True,
                "sliceStartTime": int(track.first_utc.timestamp() * 1000) if track.first_utc else 0})
            entries[:0] = [{**entries[-1], "fileName": name} for name in track.mp4s]  # MP4 first, as Agora lists
        return entries

    def _server_response(self, task: Task) -> dict[str, Any]:
        entries = self._file_entries(task)
        if task.mode == "web":
            return {"extensionServiceState": [{
                "serviceName": "web_recorder_service",
                "payload": {"fileList": [{"filename": e["fileName"], "sliceStartTime": e["sliceStartTime"]}
                                         for e in entries],
                            "onhold": False, "state": "exit" if task.stopped else "inProgress"}}]}
        server: dict[str, Any] = {}
        if task.file_list_json:
            server.update(fileListMode="json", fileList=entries)
        else:
            server.update(fileListMode="string", fileList=entries[0]["fileName"] if entries else "")
        if task.mode == "individual":
            server["sliceStartTime"] = int(task.started_utc.timestamp() * 1000)
        return server

    # ------------------------------------------------------------------------------------ recording

    def _tracks(self, task: Task, config: dict[str, Any]) -> list[Track]:
        size = self.settings.media_size
        opts = {"fps": self.settings.media_fps, "width": size[0], "height": size[1]}

        def stream(audio: bool, video: bool) -> Iterator[media.Slice]:
            return media.iter_slices(self.settings.slice_seconds, audio=audio, video=video,
                                     start_offset_s=TIMELINE_START_S, **opts)

        sid, cname = task.sid, task.resource.cname
        stream_types = config.get("streamTypes", 2)
        if stream_types not in (0, 1, 2):
            raise _fail(400, 2, "recordingConfig.streamTypes must be 0, 1 or 2")
        audio, video = stream_types in (0, 2), stream_types in (1, 2)
        if task.mode != "individual":
            if task.mode == "web":
                audio = video = True
            return [Track(RecordingKey(sid, cname), audio, video, stream(audio, video))]
        group = config.get("subscribeUidGroup")
        if not isinstance(group, int) or not 0 <= group <= 5:
            raise _fail(400, 2, "recordingConfig.subscribeUidGroup (0-5) is required in individual mode")
        tracks = []
        for uid in self._publishers(config):
            if audio:
                tracks.append(Track(RecordingKey(sid, cname, uid, "audio"), True, False, stream(True, False)))
            if video:
                tracks.append(Track(RecordingKey(sid, cname, uid, "video"), False, True, stream(False, True)))
        return tracks

    def _publishers(self, config: dict[str, Any]) -> list[str]:
        wanted = [str(u) for u in (config.get("subscribeAudioUids") or []) + (config.get("subscribeVideoUids") or [])]
        concrete = [u for u in dict.fromkeys(wanted) if u.isdigit()]
        return concrete or list(self.settings.publishers)

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
            self._notify(task, 11, {"exitStatus": 1})

    def _record_slices(self, task: Task) -> None:
        faults = task.faults
        index = 0
        gap = timedelta(0)
        while True:
            # On stop the slice in progress is cut short and still uploaded, so the loop makes one more.
            stopping = task.stop_event.wait(self.settings.tick_s)
            if index == faults.failover_after and task.failover is None:
                window = faults.failover_window_s / self.settings.speed
                task.unavailable_until = time.monotonic() + window  # before `failover`, which tests watch
                task.failover = 0
                # The new server needs a moment to take over: leave a hole in the timeline.
                gap = timedelta(seconds=self.settings.slice_seconds)
                self._notify(task, 12, {"newUid": secrets.randbelow(_MAX_UID - 1) + 1})
            for track in task.tracks:
                self._one_slice(task, track, index, gap)
            index += 1
            task.slices_done = index
            task.status = 5
            if self.settings.progress_every and index % self.settings.progress_every == 0:
                self._notify(task, 33, {"progress": self._progress(task)})
            if stopping:
                break

    def _one_slice(self, task: Task, track: Track, index: int, gap: timedelta) -> None:
        piece = next(track.slices)
        offset = piece.start_s - TIMELINE_START_S
        utc = task.started_utc + timedelta(seconds=offset) + gap
        if track.first_utc is None:
            track.first_utc = utc
            self._notify(task, 42, {"startUtcMs": int(utc.timestamp() * 1000), "discontinueUtcMs": 0,
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
            self._notify(task, 2, {"module": 1, "warnCode": 32})
        elif index not in task.faults.lost_slices and self._write(task, prefix + name, piece.data):
            task.uploaded += 1
        if not (task.faults.late_playlist and task.faults.late_slices):
            self._write_playlist(task, track, task.failover)

    def _playlist_text(self, track: Track, part: int | None) -> str:
        return media.agora_playlist(track.entries.get(part, []), track_event="VIDEO" if track.video else "AUDIO")

    def _write_playlist(self, task: Task, track: Track, part: int | None) -> None:
        with task.lock:
            text = self._playlist_text(track, part)
        name = playlist_name(track.key, part)
        if self._write(task, task.storage.prefix_path + name, text.encode()):
            first = not track.playlist_written
            track.playlist_written.add(part)
            if first:
                self._notify(task, 4, {"fileList": name})

    def _write(self, task: Task, key: str, data: bytes) -> bool:
        if task.faults.upload_delay_s:
            time.sleep(task.faults.upload_delay_s)
        try:
            task.store.write(key, data)
            return True
        except StoreError as exc:
            log.warning("simulated upload of %s failed: %s", key, exc)
            self._notify(task, 1, {"module": 1, "errorLevel": 3, "errorCode": 47, "stat": 0,
                                   "errorMsg": "upload failed"})
            return False

    def _progress(self, task: Task) -> int:
        recorded = max(1, task.slices_done * len(task.tracks))
        return min(10000, task.uploaded * 10000 // recorded)

    def _finish(self, task: Task, leave_code: int = 2) -> None:
        no_data = task.faults.no_publisher
        self._notify(task, 41, {"leaveCode": leave_code})  # 2 = stopped on request, 4 = idle (no users)
        if not no_data:
            if task.mp4:
                self._write_mp4s(task)
            self._notify(task, 33, {"progress": self._progress(task)})
            task.backuped = any(t.late for t in task.tracks)
            self._notify(task, 32 if task.backuped else 31, {"status": 0, "fileList": self._file_entries(task)})
            if task.backuped:
                delay = task.faults.late_delay_s
                delay = self.settings.late_delay_s if delay is None else delay
                task.late_thread = threading.Thread(target=self._deliver_late, args=(task, delay),
                                                    name=f"agora-sim-late-{task.sid[:8]}", daemon=True)
                task.late_thread.start()
        for track in task.tracks:  # finished tasks stay queryable for codes 49/1003; drop their media
            track.media.clear()
            track.slices = iter(())
        task.status = 8
        task.exited = True
        self._notify(task, 11, {"exitStatus": 0})

    def _write_mp4s(self, task: Task) -> None:
        """`<sid>_<cname>_0.mp4` per part, remuxed from the slices (Agora rolls over after ~2 h; we never do)."""
        import tempfile

        from storage.export.mp4 import TrackSlice, remux_to_mp4  # PyAV remux, no re-encode

        for track in task.tracks:
            for part, datas in track.media.items():
                name = mp4_name(track.key, 0, part)
                with tempfile.TemporaryDirectory(prefix="recshelf-sim-") as tmp:
                    path = f"{tmp}/{name}"
                    remux_to_mp4([[TrackSlice(d) for d in datas]], path)
                    with open(path, "rb") as f:
                        written = self._write(task, task.storage.prefix_path + name, f.read())
                if written:
                    track.mp4s.append(name)

    def _deliver_late(self, task: Task, delay_s: float) -> None:
        task.late_release.wait(delay_s)
        tick = int(time.time())
        for track in task.tracks:
            if not track.late:
                continue
            for key, data in track.late:
                self._write(task, key, data)
            # Agora re-delivers the playlist under a new name; the unsuffixed one stays as it was.
            for part in track.entries:
                with task.lock:
                    text = self._playlist_text(track, part)
                name = redelivered_playlist_name(track.key, tick, 0, part)
                self._write(task, task.storage.prefix_path + name, text.encode())
            track.late.clear()

    def _notify(self, task: Task, event_type: int, details: dict[str, Any]) -> None:
        if self._sender is None:
            return
        with task.lock:
            sequence = task.sequence
            task.sequence += 1
        self._sender.send(Notice(event_type, task.resource.cname, task.resource.uid, task.sid, sequence, details))


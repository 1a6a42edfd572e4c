"""The Agora REST state machine (reference/agora.md §1): resources, tasks, and Agora's answers and codes.

acquire → start → query / update / updateLayout → stop, with the status codes and error bodies Agora
gives; `storage.server.simulator` puts it on Agora's own paths. A started task records on its own
thread (`recorder.py`); its faults are chosen at start (`faults.py`).
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from typing import Any

from pydantic import ValidationError

from storage.agora.models import MODES, StorageConfig
from storage.agora.sender import CallbackSender
from storage.agora.storage_config import VENDOR_RECSHELF, StorageConfigError
from storage.demo.simulator.answers import answer, server_response
from storage.demo.simulator.errors import SimulatorError, fail
from storage.demo.simulator.faults import FAULTS_FIELD, RequestFault, RequestFaults, faults_for_start
from storage.demo.simulator.recorder import Recorder, plan_tracks
from storage.demo.simulator.session import MAX_UID, Resource, Task
from storage.demo.simulator.settings import SimulatorSettings
from storage.stores.base import StoreError

_CNAME = re.compile(r"^[A-Za-z0-9 !#$%&()+\-:;<=.>?@\[\]^_{}|~,]+$")


class AgoraSimulator:
    def __init__(self, settings: SimulatorSettings | None = None) -> None:
        self.settings = settings or SimulatorSettings()
        self._lock = threading.RLock()
        self._resources: dict[str, Resource] = {}
        self._tasks: dict[str, Task] = {}
        self._request_faults = RequestFaults()
        self.requests = self._request_faults.requests  # call name -> requests received (faulted ones included)
        self._sender: CallbackSender | None = None
        if self.settings.callback_url:
            self._sender = CallbackSender(self.settings.callback_url, self.settings.callback_secret,
                                          retry_delays=self.settings.callback_retry_delays)
        self._recorder = Recorder(self.settings, self._sender)

    def __repr__(self) -> str:
        return f"AgoraSimulator(tasks={len(self._tasks)})"

    # ------------------------------------------------------------------------------------ test hooks

    def inject(self, call: str, *faults: RequestFault) -> None:
        """Queue faults for the next `call` requests: an HTTP status (429, 500, 502, 504), "code65",
        or ("delay", seconds) — answer normally but late (to trigger client read timeouts)."""
        self._request_faults.inject(call, *faults)

    def take_fault(self, call: str) -> RequestFault | None:
        return self._request_faults.take(call)

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
            raise fail(400, 2, "Acquire: invalid resourceExpiredHour value!")
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
                raise fail(400, 433, "resource expired")
            for other in self._tasks.values():
                if (not other.exited and other.resource.app_id == app_id and other.resource.cname == cname
                        and other.resource.uid == uid):
                    raise fail(400, 53, "task conflict: cname and uid already recording")
            request = body.get("clientRequest") or {}
            storage = self._storage(request)
            self._check_extension_store(storage)
            try:
                store = self.settings.store_resolver(storage)
            except (StorageConfigError, StoreError) as exc:
                raise fail(400, 2, f"invalid storageConfig: {exc}") from None
            faults = faults_for_start(self.settings.faults, request.get(FAULTS_FIELD), cname)
            sid = secrets.token_hex(16)
            file_types = (request.get("recordingFileConfig") or {}).get("avFileType") or ["hls"]
            if "hls" not in file_types or not set(file_types) <= {"hls", "mp4"}:
                raise fail(400, 2, "recordingFileConfig.avFileType must be [\"hls\"] or [\"hls\", \"mp4\"]")
            mp4 = "mp4" in file_types
            if mp4 and mode == "individual":
                raise fail(400, 2, "avFileType mp4 is for mix and web modes")
            task = Task(resource=resource, sid=sid, mode=mode, storage=storage, store=store, tracks=[],
                        faults=faults, file_list_json=(mode == "individual" or mp4), mp4=mp4,
                        started_utc=self.settings.now())
            recording_config = request.get("recordingConfig") or {}
            task.tracks = plan_tracks(task, recording_config, self.settings)
            idle = recording_config.get("maxIdleTime", 30)
            if not isinstance(idle, int) or not 5 <= idle <= 2_592_000:
                raise fail(400, 2, "recordingConfig.maxIdleTime must be 5..2592000")
            task.max_idle_s = float(idle)
            resource.sid = sid
            self._tasks[sid] = task
        self._recorder.start(task)
        return {"cname": cname, "uid": uid, "resourceId": resource_id, "sid": sid}

    def query(self, app_id: str, resource_id: str, sid: str, mode: str) -> dict[str, Any]:
        task = self._running(app_id, resource_id, sid, mode)
        if task.stopped or task.exited:
            raise fail(404, 404, "failed to find worker")
        with task.lock:
            server = server_response(task)
        server["status"] = task.status
        return answer(task, server)

    def update(self, app_id: str, resource_id: str, sid: str, mode: str, body: dict[str, Any],
               layout: bool = False) -> dict[str, Any]:
        task = self._running(app_id, resource_id, sid, mode)
        self._cname_uid(body)
        if task.stopped or task.exited:
            raise fail(404, 404, "failed to find worker")
        request = body.get("clientRequest")
        if not isinstance(request, dict):
            raise fail(400, 1028 if layout else 2, "invalid clientRequest")
        if layout:
            if mode != "mix":
                raise fail(400, 1028, "updateLayout is for mix mode only")
            layout_mode = request.get("mixedVideoLayout", 0)
            if not isinstance(layout_mode, int) or not 0 <= layout_mode <= 3:
                raise fail(400, 1028, "invalid mixedVideoLayout")
        elif "storageConfig" in request:
            task.storage = self._storage(request)  # an STS refresh; the store stays the same
        return answer(task)

    def stop(self, app_id: str, resource_id: str, sid: str, mode: str, body: dict[str, Any]) -> dict[str, Any]:
        task = self._running(app_id, resource_id, sid, mode)
        self._cname_uid(body)
        with self._lock:
            if task.stopped:
                raise fail(400, 49, "invalid operation: the task is already exiting")
            task.stopped = True
        task.status = 6
        task.stop_event.set()
        async_stop = bool((body.get("clientRequest") or {}).get("async_stop", False))
        if async_stop:
            return answer(task, {"uploadingStatus": "unknown"})
        assert task.thread is not None
        task.thread.join(timeout=self.settings.stop_upload_wait_s)
        if task.thread.is_alive():
            raise fail(400, 50, "upload timeout")
        if task.faults.no_publisher:
            raise SimulatorError(206, {"cname": task.resource.cname, "uid": task.resource.uid,
                                       "resourceId": resource_id, "sid": sid, "code": 435,
                                       "reason": "no recorded data"})
        status = "backuped" if task.backuped else "uploaded"
        with task.lock:
            server = server_response(task)
        if mode == "web":
            server["extensionServiceState"].insert(0, {"serviceName": "upload_service",
                                                       "payload": {"uploadingStatus": status}})
        else:
            server["uploadingStatus"] = status
        return answer(task, server)

    # ------------------------------------------------------------------------------------ validation

    def _check_extension_store(self, storage: StorageConfig) -> None:
        allowed = self.settings.extension_stores
        if storage.vendor != VENDOR_RECSHELF or allowed is None:
            return
        target = str((storage.extension_params or {}).get("storeUrl", ""))
        if target not in allowed:
            raise fail(400, 2, "invalid storageConfig: vendor 100 may only record into the stores this "
                                "simulator was started with (RECSHELF_SIMULATOR_STORES)")

    def _check_app(self, app_id: str) -> None:
        if self.settings.app_ids is not None and app_id not in self.settings.app_ids:
            raise fail(400, 400, "invalid_appid")

    @staticmethod
    def _check_mode(mode: str) -> None:
        if mode not in MODES:
            raise SimulatorError(404, {"message": "no Route matched with those values"})

    @staticmethod
    def _cname_uid(body: dict[str, Any]) -> tuple[str, str]:
        cname, uid = body.get("cname"), body.get("uid")
        if not isinstance(cname, str) or not cname:
            raise fail(400, 2, "cname is required")
        if len(cname.encode()) >= 64 or not _CNAME.match(cname):
            raise fail(400, 1013, "invalid channel name")
        if not isinstance(uid, str) or not uid.isdigit() or not 1 <= int(uid) <= MAX_UID:
            raise fail(400, 2, "uid must be a string holding an integer 1..2^32-1")
        return cname, uid

    def _resource(self, app_id: str, resource_id: str, cname: str, uid: str) -> Resource:
        resource = self._resources.get(resource_id)
        if resource is None:
            raise fail(400, 1001, "cannot parse resource ID")
        if (resource.app_id, resource.cname, resource.uid) != (app_id, cname, uid):
            raise fail(400, 432, "parameter mismatch: appid, cname or uid do not match the resource ID")
        return resource

    def _running(self, app_id: str, resource_id: str, sid: str, mode: str) -> Task:
        self._check_app(app_id)
        self._check_mode(mode)
        if resource_id not in self._resources:
            raise fail(400, 1001, "cannot parse resource ID")
        task = self._tasks.get(sid)
        if task is None:
            raise fail(404, 404, "failed to find worker")
        if task.resource.resource_id != resource_id or task.resource.app_id != app_id:
            raise fail(400, 1003, "appid or sid does not match the resource ID")
        if task.mode != mode:
            raise fail(400, 2, f"mode {mode!r} does not match the task's mode {task.mode!r}")
        if time.monotonic() < task.unavailable_until:
            raise fail(404, 404, "failed to find worker")  # mid-failover, as Agora answers for up to 90 s
        return task

    @staticmethod
    def _storage(request: dict[str, Any]) -> StorageConfig:
        raw = request.get("storageConfig")
        if not isinstance(raw, dict):
            raise fail(400, 2, "storageConfig is required")
        try:
            return StorageConfig.model_validate(raw)
        except ValidationError as exc:
            raise fail(400, 2, f"invalid storageConfig ({exc.error_count()} problem(s))") from None

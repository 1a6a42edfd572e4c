"""The bodies of successful answers: the task ids, and `serverResponse` with its file list per mode."""

from __future__ import annotations

from typing import Any

from storage.demo.simulator.session import Task
from storage.media.naming import playlist_name


def answer(task: Task, server: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"cname": task.resource.cname, "uid": task.resource.uid,
                            "resourceId": task.resource.resource_id, "sid": task.sid}
    if server is not None:
        body["serverResponse"] = server
    return body


def file_entries(task: Task) -> list[dict[str, Any]]:
    """`fileList` entries (JSON form) of the files written so far: each track's playlist, MP4s first."""
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


def server_response(task: Task) -> dict[str, Any]:
    """`serverResponse` of query and stop (call with the task's lock held)."""
    entries = file_entries(task)
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

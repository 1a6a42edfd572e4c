"""A plan: exactly which objects an operation will change, shown before anything changes, then applied as is.

Every operation of `storage.manage` (delete, move, clean) first builds a `Plan`. The CLI prints it
(``--dry-run``, the confirmation prompt) and `storage.manage.apply` carries out that same plan, object
for object: nothing is listed again to decide what to touch. A plan is JSON (`to_dict` / `from_dict`),
so the journal can store it and an interrupted run resumes with the very plan it started.

A plan's id names the request (operation, store, what was asked for), not its objects: a re-run of an
interrupted command finds its unfinished journal under the same id, even though some objects are gone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from storage.recordings.catalog import Recording
from storage.recordings.objects import recording_class, recording_objects

OPERATIONS = ("delete", "move", "clean", "tier", "restore", "repair")


@dataclass(frozen=True)
class PlannedObject:
    key: str
    size: int
    recording: str | None = None  # the recording id it belongs to, None for temp files and orphans
    reason: str = ""  # clean-up: why it goes ("orphan_slice", "missing_playlist", "temp_file")
    storage_class: str | None = None  # as listed when planned (tier, restore), None where the store has none


@dataclass
class PlannedRecording:
    id: str
    folder: str
    sid: str
    cname: str
    uid: str | None
    stream: str | None
    status: str  # its verify status when planned
    objects: int = 0
    bytes: int = 0
    storage_class: str | None = None  # the class of all its objects, "mixed", or None (no classes)


@dataclass
class Plan:
    operation: str  # one of OPERATIONS
    store: str  # the store URL (never holds secrets)
    request: dict[str, Any]  # what was asked for (sid, uid, older_than …): the id derives from it
    recordings: list[PlannedRecording] = field(default_factory=list)
    objects: list[PlannedObject] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)  # non-empty: apply refuses to run
    dest: str | None = None  # move: the store the recordings go to
    # Set when the plan came from one listing of this prefix (many recordings): apply confirms with one
    # listing of it too, instead of one narrow listing per recording.
    confirm_prefix: str | None = None

    @property
    def id(self) -> str:
        return plan_id(self.operation, self.store, self.request)

    @property
    def total_bytes(self) -> int:
        return sum(obj.size for obj in self.objects)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)

    @property
    def keys(self) -> list[str]:
        return [obj.key for obj in self.objects]

    def to_dict(self) -> dict[str, Any]:
        # confirm_prefix only when set, so the journals of plans without it read exactly as before.
        extra = {} if self.confirm_prefix is None else {"confirm_prefix": self.confirm_prefix}
        return {"id": self.id, "operation": self.operation, "store": self.store, "dest": self.dest,
                "request": self.request, "recordings": [asdict(r) for r in self.recordings],
                "objects": [asdict(o) for o in self.objects], "total_objects": len(self.objects),
                "total_bytes": self.total_bytes, "warnings": list(self.warnings), "refusals": list(self.refusals),
                **extra}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(data["operation"], data["store"], dict(data["request"]),
                   [PlannedRecording(**r) for r in data["recordings"]],
                   [PlannedObject(**o) for o in data["objects"]],
                   list(data["warnings"]), list(data["refusals"]), data.get("dest"),
                   data.get("confirm_prefix"))


def plan_id(operation: str, store: str, request: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps([operation, store, request], sort_keys=True).encode()).hexdigest()
    return f"{operation}-{digest[:16]}"


def planned_recording(rec: Recording, status: str) -> PlannedRecording:
    objects = recording_objects(rec)
    key = rec.key
    return PlannedRecording(rec.id, rec.folder, key.sid, key.cname, key.uid, key.stream, status,
                            len(objects), sum(obj.size for obj in objects), recording_class(rec))

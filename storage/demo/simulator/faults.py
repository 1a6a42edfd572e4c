"""Fault injection: Agora's bad days on demand (reference/agora.md §4), never sent to real Agora.

Per start via the recshelf extension field `clientRequest.recshelf_faults` (or
`SimulatorSettings.faults` for every start):

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

Per call, `RequestFaults.inject(call, *faults)` queues HTTP-level faults for the next requests
(429, 5xx, code 65, a delayed answer) to test clients' retry rules; `requests` counts every call.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, ValidationError

from storage.demo.simulator.errors import fail
from storage.demo.simulator.session import MAX_UID
from storage.media.naming import redelivered_playlist_name

if TYPE_CHECKING:
    from storage.demo.simulator.session import Task

NO_PUBLISHER_CNAME_PREFIX = "recshelfNobody"
FAULTS_FIELD = "recshelf_faults"

RequestFault = int | str | tuple[str, float]


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


def faults_for_start(defaults: dict[str, Any], requested: Any, cname: str) -> Faults:
    """The faults of one start: the simulator's defaults, overridden by the request's own field."""
    merged = {**defaults, **(requested if isinstance(requested, dict) else {})}
    if cname.startswith(NO_PUBLISHER_CNAME_PREFIX):
        merged["no_publisher"] = True
    try:
        return Faults.model_validate(merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise fail(400, 2, f"invalid {FAULTS_FIELD}: {problems}") from None


class RequestFaults:
    """HTTP-level faults queued per REST call, and how many requests each call received."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[str, list[RequestFault]] = {}
        self.requests: Counter[str] = Counter()  # call name -> requests received (faulted ones included)

    def inject(self, call: str, *faults: RequestFault) -> None:
        with self._lock:
            self._pending.setdefault(call, []).extend(faults)

    def take(self, call: str) -> RequestFault | None:
        with self._lock:
            self.requests[call] += 1
            pending = self._pending.get(call)
            return pending.pop(0) if pending else None


def fail_over(task: Task, speed: float) -> int:
    """Hand the task to a backup recorder (later names carry `bak0_`); returns the new recorder's uid."""
    # Set before `failover`, which tests watch: once they see the switch, the 404 window is in place.
    task.unavailable_until = time.monotonic() + task.faults.failover_window_s / speed
    task.failover = 0
    return secrets.randbelow(MAX_UID - 1) + 1


def start_late_delivery(task: Task, delay_s: float, write: Callable[[Task, str, bytes], bool]) -> None:
    """After `delay_s` (or `release_late`), the backuped slices arrive and the playlists are re-delivered."""
    task.late_thread = threading.Thread(target=_deliver_late, args=(task, delay_s, write),
                                        name=f"agora-sim-late-{task.sid[:8]}", daemon=True)
    task.late_thread.start()


def _deliver_late(task: Task, delay_s: float, write: Callable[[Task, str, bytes], bool]) -> None:
    task.late_release.wait(delay_s)
    tick = int(time.time())
    for track in task.tracks:
        if not track.late:
            continue
        for key, data in track.late:
            write(task, key, data)
        # Agora re-delivers the playlist under a new name; the unsuffixed one stays as it was.
        for part in track.entries:
            with task.lock:
                text = track.playlist_text(part)
            name = redelivered_playlist_name(track.key, tick, 0, part)
            write(task, task.storage.prefix_path + name, text.encode())
        track.late.clear()

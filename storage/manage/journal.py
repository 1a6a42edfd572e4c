"""The journal of one applied plan: `<data dir>/journal/<plan id>.jsonl`.

Line one is the plan; then one line per step done (a batch of deletes, the copy of a move); last the
outcome. Each line is flushed and fsynced before the work goes on, so after a crash (SIGKILL, power)
the journal never claims more than was done. A re-run finds an unfinished journal under the same plan
id and resumes that plan; a finished one is kept (renamed with its finish time) for a later audit
trail to import, and the new run starts a fresh journal.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from storage.errors import ManageError
from storage.manage.plan import Plan

JOURNAL_DIR = "journal"


class Journal:
    def __init__(self, data_dir: Path, plan_id: str) -> None:
        self.path = Path(data_dir) / JOURNAL_DIR / f"{plan_id}.jsonl"
        self.lines: list[dict[str, Any]] = self._read()

    def _read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        lines = []
        for text in self.path.read_text().splitlines():
            try:
                lines.append(json.loads(text))
            except ValueError:
                break  # a line cut by a crash: nothing after it was written either
        return lines

    @property
    def plan(self) -> Plan | None:
        first = self.lines[0] if self.lines else None
        return Plan.from_dict(first["plan"]) if first and "plan" in first else None

    @property
    def finished(self) -> bool:
        return any("outcome" in line for line in self.lines)

    @property
    def unfinished_plan(self) -> Plan | None:
        """The plan of an interrupted run, to resume; None when there is none (or it finished)."""
        return None if self.finished else self.plan

    def steps(self, step: str) -> list[dict[str, Any]]:
        return [line for line in self.lines if line.get("step") == step]

    def start(self, plan: Plan) -> None:
        """Begin a journal for `plan`, keeping a finished earlier one of the same id beside it."""
        if self.path.exists():
            if self.plan is None:
                self.path.unlink()  # cut before its plan line was on disk: nothing was done yet
            elif not self.finished:
                raise ManageError(f"{self.path} holds an unfinished run; resume it instead")
            else:
                self.path.rename(self.path.with_suffix(f".{int(time.time() * 1000)}.jsonl"))
        self.lines = []
        self.add({"plan": plan.to_dict(), "started": time.time()})

    def add(self, line: dict[str, Any]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a") as f:
            f.write(json.dumps(line) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.lines.append(line)


def unfinished_plans(data_dir: Path) -> list[Plan]:
    """The plans of every interrupted run under `data_dir` (finished ones are read and skipped)."""
    folder = Path(data_dir) / JOURNAL_DIR
    if not folder.is_dir():
        return []
    plans = []
    for path in sorted(folder.glob("*.jsonl")):
        if path.stem.count(".") == 0:  # `<id>.<finish ms>.jsonl` are finished runs kept for the record
            plan = Journal(data_dir, path.stem).unfinished_plan
            if plan is not None:
                plans.append(plan)
    return plans

"""What the manage dialogs and pages show, computed without Streamlit so it can be tested on its own.

Sizes in human units, a plan as table rows and one headline, the typed confirmation, outcomes in words,
the clean-up plan by reason, usage rows scaled for charts, and export progress for the whole job.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.export.progress import Progress
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan, PlannedRecording

UNITS = ("B", "KB", "MB", "GB", "TB")
REASONS = {"orphan_slice": "orphan slices (no playlist names them)",
           "missing_playlist": "slices of recordings whose playlist never came",
           "temp_file": "stale temp files of interrupted writes"}
AGE_UNITS = {"hours": 3600, "days": 86400, "weeks": 7 * 86400}


def human_bytes(n: float) -> str:
    """1024-based, as `recshelf du` prints: '512 B', '1.5 MB'."""
    size = float(n)
    for unit in UNITS:
        if abs(size) < 1024 or unit == UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def byte_scale(largest: float) -> tuple[str, float]:
    """(unit, divisor) that shows `largest` as a number between 1 and 1024: one axis unit for a chart."""
    divisor = 1.0
    for unit in UNITS:
        if largest < divisor * 1024 or unit == UNITS[-1]:
            return unit, divisor
        divisor *= 1024
    raise AssertionError("unreachable")


def who(rec: PlannedRecording) -> str:
    return f"uid {rec.uid} {rec.stream or ''}".rstrip() if rec.uid else "composite"


def plan_rows(plan: Plan) -> list[dict[str, Any]]:
    """One row per planned recording, for a table."""
    return [{"channel": rec.cname, "sid": rec.sid, "uid / stream": who(rec), "folder": rec.folder,
             "status": rec.status, "objects": rec.objects, "size": human_bytes(rec.bytes)}
            for rec in plan.recordings]


def plans_headline(plans: Sequence[Plan]) -> str:
    recordings = sum(len(plan.recordings) for plan in plans)
    objects = sum(len(plan.objects) for plan in plans)
    total = sum(plan.total_bytes for plan in plans)
    return f"{recordings} recording(s) · {objects} object(s) · {human_bytes(total)}"


def not_complete(plans: Sequence[Plan]) -> list[PlannedRecording]:
    """The planned recordings that need an explicit force (they do not verify complete)."""
    return [rec for plan in plans for rec in plan.recordings if rec.status != "complete"]


def other_refusals(plans: Sequence[Plan]) -> list[str]:
    """Refusals that a force tick does not lift (no such recording, the same store as destination, …)."""
    flagged = {rec.id for rec in not_complete(plans)}
    return [text for plan in plans for text in plan.refusals
            if not any(text.startswith(f"{rec_id} is ") for rec_id in flagged)]


def confirmed(typed: str, plans: Sequence[Plan]) -> bool:
    """The person typed the number of recordings the plans hold (and there is at least one)."""
    count = sum(len(plan.recordings) for plan in plans)
    return count > 0 and typed.strip().replace(",", "") == str(count)


def outcome_text(outcome: Outcome, verb: str = "removed") -> str:
    text = f"{outcome.status}: {outcome.deleted} object(s), {human_bytes(outcome.bytes)} {verb}"
    if outcome.resumed:
        text += " (resumed an interrupted run)"
    if outcome.remaining:
        text += f"; {len(outcome.remaining)} still listed"
    if outcome.error:
        text += f"; {outcome.error}"
    return text


def clean_rows(plan: Plan) -> list[dict[str, Any]]:
    """The clean-up plan by reason: objects and bytes of each."""
    rows = []
    for reason, words in REASONS.items():
        objects = [obj for obj in plan.objects if obj.reason == reason]
        if objects:
            rows.append({"what": words, "objects": len(objects), "size": human_bytes(sum(o.size for o in objects)),
                         "recordings": len({o.recording for o in objects if o.recording})})
    return rows


def age(amount: float, unit: str) -> timedelta:
    return timedelta(seconds=amount * AGE_UNITS[unit])


def resume_or(data_dir: Path, fresh: Plan) -> tuple[Plan, bool]:
    """The plan an interrupted run of the same request left unfinished (to resume), else `fresh`."""
    from storage.manage.apply import pending_plan

    pending = pending_plan(data_dir, fresh)
    return (pending, True) if pending is not None else (fresh, False)


def export_progress_text(p: Progress) -> str:
    """The whole job first (recording k of n), then where the current recording is."""
    current = min(p.recordings_done + 1, p.recordings_total)
    head = f"Recording {current} of {p.recordings_total}" if p.recordings_total else "Planning"
    detail = f"{p.recording}: {p.stage} {p.slices_done}/{p.slices_total}" if p.recording else p.stage
    return f"{head} · {human_bytes(p.job_bytes_done)} of {human_bytes(p.job_bytes_total)} · {detail}"

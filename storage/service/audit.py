"""The audit trail: every change recshelf makes, and every refused attempt, with who, when, what and the outcome.

Faces call this module, never the table: `AuditTrail.guard` wraps a manage plan's apply (role check first,
a refusal recorded as `denied`; then a `started` row that the outcome completes, so a run killed mid-way
still shows), `authorize` guards any other action, `record` logs a finished one (a note saved), and
`share_created` / `share_revoked` are for the share links. Rows live in the service database
(storage/service/repo_audit.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from storage.errors import Forbidden
from storage.service.db import Database
from storage.service.repo_audit import AuditEntry, AuditRepo
from storage.service.users import Actor, check

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan

OUTCOMES = ("started", "done", "partial", "refused", "denied", "failed", "interrupted")


def plan_target(plan: Plan) -> str:
    """What a plan was asked to change, in words: `sid S uid U`, or the clean-up's age."""
    request = plan.request
    parts = [f"{name} {request[name]}" for name in ("sid", "uid", "older_than", "prefix") if request.get(name)]
    sids = request.get("sids") or []  # `rm` of many: their number, not a line of a thousand sids
    named = [f"sid {sids[0]}" if len(sids) == 1 else f"{len(sids)} sids ({sids[0]} …)"] if sids else []
    parts[:0] = named + ([f"channel {request['channel']}"] if request.get("channel") else [])
    return " ".join(parts) or plan.id


class AuditTrail:
    def __init__(self, db: Database, clock: Callable[[], float] = time.time) -> None:
        self.repo = AuditRepo(db)
        self.clock = clock

    def record(self, actor: Actor, action: str, outcome: str = "done", *, store: str = "", target: str = "",
               objects: int = 0, bytes: int = 0, detail: dict[str, Any] | None = None) -> int:
        return self.repo.add(AuditEntry(self.clock(), actor.name, actor.role, actor.via, action, outcome, store,
                                        target, objects, bytes, dict(detail or {})))

    def finish(self, entry_id: int, *, outcome: str, objects: int = 0, bytes: int = 0,
               detail: dict[str, Any] | None = None) -> None:
        """Complete an entry recorded as `started` before a long change ran."""
        self.repo.finish(entry_id, outcome=outcome, objects=objects, bytes=bytes, detail=dict(detail or {}))

    def authorize(self, actor: Actor, action: str, *, store: str = "", target: str = "",
                  detail: dict[str, Any] | None = None) -> None:
        """Raise Forbidden unless the actor may `action`; a refusal is recorded as `denied` first."""
        try:
            check(actor, action)
        except Forbidden:
            self.record(actor, action, "denied", store=store, target=target, detail=detail)
            raise

    def guard(self, actor: Actor, plan: Plan, apply: Callable[[Plan], Outcome]) -> Callable[[Plan], Outcome]:
        """Check the role now (Forbidden, audited), and return `apply` wrapped so its run is audited."""
        planned = {"plan_id": plan.id, "dest": plan.dest, "planned_objects": len(plan.objects),
                   "planned_bytes": plan.total_bytes, "recordings": [r.id for r in plan.recordings]}
        self.authorize(actor, plan.operation, store=plan.store, target=plan_target(plan), detail=planned)

        def audited(chosen: Plan) -> Outcome:
            entry = self.record(actor, chosen.operation, "started", store=chosen.store, target=plan_target(chosen),
                                detail=planned)
            try:
                outcome = apply(chosen)
            except BaseException as exc:
                interrupted = isinstance(exc, KeyboardInterrupt)
                self.repo.finish(entry, outcome="interrupted" if interrupted else "failed", objects=0, bytes=0,
                                 detail={**planned, "error": type(exc).__name__ if interrupted else str(exc)})
                raise
            self.repo.finish(entry, outcome=outcome.status, objects=outcome.deleted, bytes=outcome.bytes,
                             detail={**planned, "resumed": outcome.resumed, "remaining": len(outcome.remaining),
                                     "failed": len(outcome.failed), "error": outcome.error})
            return outcome

        return audited

    def share_created(self, actor: Actor, *, store: str, target: str, expires_s: int,
                      detail: dict[str, Any] | None = None) -> int:
        """A share link was issued (call after `authorize(actor, "share_create")`); never pass the link itself."""
        return self.record(actor, "share_create", store=store, target=target,
                           detail={"expires_s": expires_s, **(detail or {})})

    def share_revoked(self, actor: Actor, *, store: str, target: str, detail: dict[str, Any] | None = None) -> int:
        return self.record(actor, "share_revoke", store=store, target=target, detail=detail)

    def entries(self, **filters: Any) -> list[AuditEntry]:
        return self.repo.entries(**filters)

"""Who a CLI run acts as, and the audit trail it writes to: the role check and audit of every changing command."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from storage.cli.common import EXIT_NOT_OK, error_exit, settings_or_exit
from storage.errors import ConfigError, Forbidden

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan
    from storage.service.audit import AuditTrail
    from storage.service.users import Actor


def refused(exc: Forbidden) -> typer.Exit:
    print(f"recshelf: refused: {exc} (recorded in the audit trail)", file=sys.stderr)
    return typer.Exit(EXIT_NOT_OK)


def actor_and_trail(data: Path | None) -> tuple[Actor, AuditTrail]:
    """The acting user (storage.service.users.cli_actor) and the audit trail of the data folder."""
    from storage.service.audit import AuditTrail
    from storage.service.db import Database
    from storage.service.users import cli_actor

    settings = settings_or_exit()
    try:
        actor = cli_actor(settings)
    except ConfigError as exc:
        raise error_exit(str(exc)) from None
    return actor, AuditTrail(Database(settings.data_dir(data)))


def authorize(data: Path | None, action: str, **audit: Any) -> tuple[Actor, AuditTrail]:
    """The actor and trail, once the actor's role allows `action` (a refusal is audited, then exit 1)."""
    actor, trail = actor_and_trail(data)
    try:
        trail.authorize(actor, action, **audit)
    except Forbidden as exc:
        raise refused(exc) from None
    return actor, trail


def guard_plan(plan: Plan, apply: Callable[[Plan], Outcome], data: Path | None) -> Callable[[Plan], Outcome]:
    """`apply`, role-checked now and audited when it runs: the manage commands' one hook. `data` is the
    journal's folder (None: the configured one), so a plan's journal and its audit entry sit together."""
    actor, trail = actor_and_trail(data)
    try:
        return trail.guard(actor, plan, apply)
    except Forbidden as exc:
        raise refused(exc) from None

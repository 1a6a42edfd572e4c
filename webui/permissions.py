"""Who may change what: the one check every manage action makes where it runs, not only to hide a button.

Roles are storage/service/users.py's and the acting user is webui/access.py's: with users in
recshelf.toml each has a role; with the single shared password (RECSHELF_UI_PASSWORD), or none on
127.0.0.1, whoever is past the gate is the admin. Handlers call `can` just before they apply a plan, so a
page reached without app.py's gate (or a crafted rerun) still changes nothing, and a refusal is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from storage.errors import Forbidden
from webui import access, auth

if TYPE_CHECKING:
    from storage.manage.apply import Outcome
    from storage.manage.plan import Plan

ACTIONS = ("delete", "move", "export", "clean", "tier", "restore", "retention")  # move: archive to another store


def can(action: str, *, store: str = "", target: str = "") -> bool:
    """True when this session may run `action` (one of ACTIONS) now; a refusal is recorded in the audit trail."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    actor = access.current_actor() if auth.logged_in() else None
    if actor is None:
        return False
    try:
        access.trail().authorize(actor, action, store=store, target=target)
    except Forbidden:
        return False
    return True


def audited(plan: Plan, apply: Callable[[Plan], Outcome]) -> Callable[[Plan], Outcome]:
    """`apply` wrapped so its run lands in the audit trail (started, then its outcome), as the CLI's do."""
    actor = access.current_actor()
    if actor is None:
        raise Forbidden("log in first")
    return access.trail().guard(actor, plan, apply)


def refusal(action: str) -> str:
    """What a refused session is told."""
    return (f"Not allowed: {action} needs a role that may do it (see the Audit page; the attempt is recorded). "
            "Nothing was changed.")

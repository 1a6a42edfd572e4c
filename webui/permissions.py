"""Who may change what: the one check every manage action makes where it runs, not only to hide a button.

`can(action)` is the single place to replace when users and roles arrive (issue 13 item 10): today the
UI has one shared password (RECSHELF_UI_PASSWORD), or none on 127.0.0.1, and whoever is past that gate
is the admin. Handlers call it just before they apply a plan, so a page reached without app.py's gate
(or a crafted rerun) still changes nothing.
"""

from __future__ import annotations

from webui import auth

ACTIONS = ("delete", "move", "export", "clean")  # move: archive to another store


def can(action: str) -> bool:
    """True when this session may run `action` (one of ACTIONS) now."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    return auth.logged_in()


def refusal(action: str) -> str:
    """What a refused session is told."""
    return f"Not allowed: {action} needs you to be logged in as an administrator. Nothing was changed."

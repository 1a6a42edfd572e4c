"""Users and roles: who may do what, checked where each action runs (library entry, CLI, UI handler).

    viewer   browse, play
    editor   + export, share, notes
    admin    + delete, move, tier, restore, clean, repair, retention, record, and reading the audit trail

Users live in recshelf.toml (`[users.NAME]` with `role` and an argon2 `password_hash`; `recshelf user add`
writes them, storage/service/users_file.py). The single shared UI password (RECSHELF_UI_PASSWORD) is the
simplest mode and means admin, as does a UI with no password at all (it listens on 127.0.0.1 only).

In the CLI a role is a guard, not a wall: whoever runs `recshelf` holds the stores' credentials anyway.
A run acts as $RECSHELF_USER when set (a configured user: its role is enforced and audited), else as the
operating system's login name with the admin role.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from storage.errors import ConfigError, Forbidden
from storage.settings import ROLES, Settings, UserEntry

VIEWER, EDITOR, ADMIN = ROLES
RIGHTS: dict[str, frozenset[str]] = {VIEWER: frozenset({"browse", "play"})}
RIGHTS[EDITOR] = RIGHTS[VIEWER] | {"export", "share", "notes"}
RIGHTS[ADMIN] = RIGHTS[EDITOR] | {"delete", "move", "tier", "restore", "clean", "repair", "retention", "record",
                                  "audit"}

# What an audited action needs: a plan's operation, or a UI/CLI action name.
NEEDS = {"delete": "delete", "move": "move", "clean": "clean", "tier": "tier", "restore": "restore",
         "repair": "repair", "retention": "retention", "record": "record", "tag": "notes", "notes": "notes",
         "share_create": "share", "share_revoke": "share", "share": "share", "export": "export"}


@dataclass(frozen=True)
class Actor:
    """Who acts, with which role, through which face (cli | ui | server)."""

    name: str
    role: str
    via: str

    def may(self, action: str) -> bool:
        return allowed(self.role, action)


def allowed(role: str, action: str) -> bool:
    """Whether `role` may do `action`. An action not named here (a new manage operation) is an admin's only;
    an unknown role may do nothing."""
    need = NEEDS.get(action, action)
    rights = RIGHTS.get(role, frozenset())
    return need in rights or (role == ADMIN and not any(need in r for r in RIGHTS.values()))


def check(actor: Actor, action: str) -> None:
    """Raise Forbidden unless the actor's role allows the action (storage.service.audit also records it)."""
    if not actor.may(action):
        raise Forbidden(actor.name, actor.role, action)


def _hasher():  # noqa: ANN202 - argon2 is imported only where passwords are handled
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id with the library's current (RFC 9106 low-memory) parameters


def hash_password(password: str) -> str:
    if not password:
        raise ConfigError("a password cannot be empty")
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(_hasher().verify(password_hash, password))
    except (VerificationError, InvalidHashError):
        return False


_DUMMY_HASH: list[str] = []


def authenticate(users: Mapping[str, UserEntry], name: str, password: str, via: str = "ui") -> Actor | None:
    """The user's Actor when the password matches; None otherwise (an unknown name costs a hash too)."""
    user = users.get(name)
    if user is None:
        if not _DUMMY_HASH:
            _DUMMY_HASH.append(hash_password("recshelf-no-such-user"))
        verify_password(_DUMMY_HASH[0], password)  # the same work, so timing does not tell names apart
        return None
    return Actor(user.name, user.role, via) if verify_password(user.password_hash, password) else None


def cli_actor(settings: Settings) -> Actor:
    """Who a CLI run acts as (see the module docstring); a $RECSHELF_USER not in recshelf.toml is an error."""
    name = settings.cli_user()
    if settings.env.user:
        user = settings.users.get(name)
        if user is None:
            raise ConfigError(f"RECSHELF_USER names {name!r}, which is not a [users] entry of recshelf.toml")
        return Actor(user.name, user.role, "cli")
    return Actor(name, ADMIN, "cli")

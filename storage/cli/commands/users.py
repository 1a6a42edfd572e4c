"""`recshelf user add|list`: the web UI's users and their roles, kept in recshelf.toml with argon2 hashes."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from storage.cli.common import error_exit, settings_or_exit

user_app = typer.Typer(help="Users of the web UI and their roles (viewer, editor, admin), in recshelf.toml.",
                       no_args_is_help=True)
ConfigOpt = Annotated[Path | None, typer.Option("--config", help="The recshelf.toml to write (default: the one "
                                                                   "recshelf reads, else ./recshelf.toml).")]


def _password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if not sys.stdin.isatty():
        raise error_exit("no terminal to type the password on; pass --password-stdin and pipe it in")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@user_app.command("add")
def add_command(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, '_', '.', '-').")],
    role: Annotated[str, typer.Option("--role", help="viewer (browse, play), editor (+ export, share, notes) or "
                                                      "admin (+ delete, move, tier, clean-up, retention, record).")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from the first "
                                                                          "line of standard input.")] = False,
    config: ConfigOpt = None,
) -> None:
    """Add a user, or change an existing one's role and password. Only an argon2 hash is written."""
    from storage.errors import ConfigError
    from storage.service.users import hash_password
    from storage.service.users_file import write_user
    from storage.settings import ROLES

    if role not in ROLES:
        raise error_exit(f"--role {role!r}: use one of {', '.join(ROLES)}")
    path = config or settings_or_exit().config.path or Path("recshelf.toml")
    try:
        replaced = write_user(path, name, role, hash_password(_password(password_stdin)))
    except (ConfigError, OSError) as exc:
        raise error_exit(str(exc)) from None
    print(f"{'updated' if replaced else 'added'} user {name!r} ({role}) in {path}")


@user_app.command("list")
def list_command() -> None:
    """The configured users and their roles (never their hashes)."""
    for user in settings_or_exit().users.values():
        print(f"{user.name}\t{user.role}")


def register(app: typer.Typer) -> None:
    app.add_typer(user_app, name="user")

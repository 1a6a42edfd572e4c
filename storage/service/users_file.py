"""`recshelf user add`: write a `[users.NAME]` table into recshelf.toml, keeping everything else as written.

The standard library reads TOML but does not write it, and rewriting the whole file would drop the
comments people keep in it; so the one table is replaced (or appended) as text, and the result is read
back through storage.settings before it replaces the file (atomically: a temp file, then a rename).
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from storage.errors import ConfigError
from storage.settings import ROLES, is_profile_name, load_config

_HEADER = re.compile(r"^\s*\[")  # any table or array-of-tables header


def _own_header(name: str) -> re.Pattern[str]:
    quoted = re.escape(name)
    return re.compile(rf"^\s*\[\s*users\s*\.\s*(\"{quoted}\"|'{quoted}'|{quoted})\s*\]\s*(#.*)?$")


def user_table(name: str, role: str, password_hash: str) -> str:
    return f'[users."{name}"]\nrole = "{role}"\npassword_hash = "{password_hash}"\n'


def write_user(path: Path, name: str, role: str, password_hash: str) -> bool:
    """Add or replace the user in the file at `path` (created when missing); True when it replaced one."""
    if not is_profile_name(name):
        raise ConfigError(f"user name {name!r}: use letters, digits, '_', '.' and '-' only")
    if role not in ROLES:
        raise ConfigError(f"role {role!r}: use one of {', '.join(ROLES)}")
    if '"' in password_hash or "\\" in password_hash:
        raise ConfigError("not an argon2 hash")
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True) if path.exists() else []
    header = _own_header(name)
    start = next((n for n, line in enumerate(lines) if header.match(line)), None)
    if start is None:
        kept = lines
        if kept and not kept[-1].endswith("\n"):
            kept[-1] += "\n"
        text = "".join(kept) + ("\n" if kept else "") + user_table(name, role, password_hash)
    else:
        end = next((n for n in range(start + 1, len(lines)) if _HEADER.match(lines[n])), len(lines))
        tail = "".join(lines[end:])
        text = "".join(lines[:start]) + user_table(name, role, password_hash) + ("\n" + tail if tail else "")
    _replace_checked(path, text, name, password_hash)
    return start is not None


def _replace_checked(path: Path, text: str, name: str, password_hash: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=".recshelf-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        config = load_config(temp)  # the result must still be a valid configuration, with this user in it
        user = config.users.get(name)
        if user is None or user.password_hash != password_hash:
            raise ConfigError(f"{path}: user {name!r} is defined in a way recshelf cannot edit; edit it by hand")
        os.chmod(temp, path.stat().st_mode & 0o777 if path.exists() else 0o600)  # hashes: not for everyone
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise

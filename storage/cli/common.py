"""What every command shares: opening a store and turning store errors into one clear line."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import typer

from storage.errors import DatabaseUnavailable
from storage.stores.base import InvalidConfig, ObjectStore, StoreError

if TYPE_CHECKING:
    from storage.settings import Config, Settings

# Exit codes shared by every command (DESIGN.md): 1 = the data is not as wanted, 2 = usage/config/store errors.
EXIT_NOT_OK = 1
EXIT_ERROR = 2


def error_exit(message: str) -> typer.Exit:
    print(f"recshelf: error: {message}", file=sys.stderr)
    return typer.Exit(EXIT_ERROR)


def require_extra(extra: str, *modules: str) -> None:
    """Exit 2 naming the pip extra to install when one of `modules` is missing (found, not imported)."""
    missing = [name for name in modules if importlib.util.find_spec(name) is None]
    if missing:
        raise error_exit(f"{', '.join(missing)} not installed; this command needs the {extra!r} extra: "
                         f"pip install 'recshelf[{extra}]'")


def open_store_or_exit(url_or_profile: str, settings: Settings | None = None) -> ObjectStore:
    """The store a URL or profile names, with the command's settings (built now when not given)."""
    settings = settings if settings is not None else settings_or_exit()
    try:
        return settings.open_store(url_or_profile)
    except StoreError as exc:
        raise error_exit(settings.redact(str(exc))) from None


def settings_or_exit() -> Settings:
    """The command's Settings (recshelf.toml + environment), or exit 2 with one line saying what is wrong."""
    from storage.settings import Settings

    with fail_on_store_errors():
        return Settings.load()


def load_config_or_exit() -> Config:
    """recshelf.toml (see storage/settings.py), or exit 2 with one line saying what is wrong in it."""
    return settings_or_exit().config


@contextmanager
def fail_on_store_errors() -> Iterator[None]:
    """A wrong bucket, wrong credentials or a dead endpoint end the command with one line and exit 2.

    StoreError messages name the store and key and never carry secrets (see stores/base.py), so the
    message is safe to print; the traceback is not shown because it may hold request details.
    """
    try:
        yield
    except InvalidConfig as exc:
        raise error_exit(f"configuration: {exc}") from None
    except DatabaseUnavailable as exc:
        raise error_exit(str(exc)) from None
    except StoreError as exc:
        raise error_exit(str(exc)) from None


def print_rows(rows: list[dict[str, Any]], as_json: bool, title: str, columns: Sequence[str],
               cells: Callable[[dict[str, Any]], Sequence[str]]) -> None:
    """`rows` as indented JSON, or as a rich table of `columns` (one `cells(row)` per row) under `title`."""
    if as_json:
        import json

        print(json.dumps(rows, indent=2))
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*cells(row))
    Console().print(table)

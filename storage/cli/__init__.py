"""The `recshelf` command. Each command lives in its own module under storage/commands/."""

from __future__ import annotations

import importlib

import typer

app = typer.Typer(
    name="recshelf",
    help="Find, verify, play and export Agora Cloud Recording files in your own storage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


# One module per command group; each has `register(app)`. Add a line here for a new group.
COMMAND_MODULES = [
    "storage.cli.commands.catalog",  # recshelf ls, verify
    "storage.cli.commands.ui",  # recshelf ui
    "storage.cli.commands.demo",  # recshelf demo
    "storage.cli.commands.service",  # recshelf serve, events, jobs, checks
    "storage.cli.commands.export",  # recshelf export
    "storage.cli.commands.agora",  # recshelf record acquire|start|query|stop
    "storage.cli.commands.manage",  # recshelf rm, mv, du, clean
]


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register()


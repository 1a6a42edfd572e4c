"""The `recshelf` command. Each command lives in its own module under storage/commands/."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="recshelf",
    help="Find, verify, play and export Agora Cloud Recording files in your own storage.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _register() -> None:
    # Imported here so `recshelf --help` stays fast and one broken command cannot hide the others.
    from storage.commands import catalog_commands

    catalog_commands.register(app)


_register()

if __name__ == "__main__":
    app()

"""The `recshelf` command. Each command lives in its own module under storage/commands/."""

from __future__ import annotations

import importlib

import typer
import typer.core

# Typer ≥ 0.24 (with its own copy of click) labels parameters in `--help` by their Python annotation:
# `<str>`, `<int range>`, and `<bool>` even after a flag, which takes no value. Show click's
# conventional names instead (`TEXT`, `INTEGER RANGE`, nothing after a flag); a parameter's own
# `metavar=` still wins. Older typer asks click's `make_metavar()`, which already does this.
_TYPE_NAMES = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "bool": "BOOLEAN", "path": "PATH",
               "int range": "INTEGER RANGE", "float range": "FLOAT RANGE", "datetime": "DATETIME", "uuid": "UUID"}


def _conventional_metavar(param: typer.core.TyperArgument | typer.core.TyperOption, ctx: object) -> str | None:
    if param.metavar is not None:
        return param.metavar
    if isinstance(param, typer.core.TyperOption) and (param.is_flag or param.count):
        return None
    label = param.display_type(ctx).removeprefix("<").removesuffix(">")
    if label.startswith("list[") and label.endswith("]"):  # a repeated option: one value each time
        label = label[len("list["):-1]
    metavar = f"[{label}]" if "|" in label else _TYPE_NAMES.get(label, label.upper())
    return metavar + "..." if param.nargs != 1 else metavar


def _conventional_usage_name(param: typer.core.TyperArgument) -> str:
    """`STORE` / `[STORE]` in the usage line, as click writes arguments (typer writes `{store}`)."""
    name = param.metavar or param.name.upper()
    name = name if param.required else f"[{name}]"
    return name + "..." if param.nargs != 1 else name


if hasattr(typer.core.TyperOption, "display_type"):
    typer.core.TyperOption.display_type_rich = _conventional_metavar
    typer.core.TyperArgument.display_type_rich = _conventional_metavar
if hasattr(typer.core.TyperArgument, "_usage_display_name"):
    typer.core.TyperArgument._usage_display_name = _conventional_usage_name

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
    "storage.cli.commands.share",  # recshelf share
    "storage.cli.commands.report",  # recshelf report (merges --shard results)
    "storage.cli.commands.agora",  # recshelf record acquire|start|query|stop
    "storage.cli.commands.manage",  # recshelf rm, mv, tier, restore, repair, du, clean
    "storage.cli.commands.retention",  # recshelf retention plan|apply
    "storage.cli.commands.notes",  # recshelf tag, notes
    "storage.cli.commands.audit",  # recshelf audit
    "storage.cli.commands.users",  # recshelf user add|list
]


def _register() -> None:
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(app)


_register()


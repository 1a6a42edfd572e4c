"""`recshelf retention plan|apply`: the `[[rules.retention]]` of recshelf.toml, previewed or carried out.

`plan` prints what the rules would do now (exit 0); `apply` prints that same plan and, after --yes or a
confirmation at the terminal, applies exactly it: one delete, move or tier plan per matching recording,
each journaled and resumable like `recshelf rm` / `mv` / `tier`. Both begin with the retention runs of the
store that were interrupted (a killed `apply`, or `recshelf serve`'s periodic run), which apply finishes
first. Exit codes as the other commands.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from storage.cli.commands.manage import DataOpt, JsonOpt, YesOpt, _data, _human, _print_plan
from storage.cli.common import EXIT_NOT_OK, error_exit, fail_on_store_errors, open_store_or_exit, settings_or_exit
from storage.errors import ConfigError

if TYPE_CHECKING:
    from storage.manage.retention import RetentionPlan
    from storage.stores.base import ObjectStore

retention_app = typer.Typer(help="Retention rules from recshelf.toml: preview (plan) or carry out (apply).",
                            no_args_is_help=True)
StoreOpt = Annotated[str | None, typer.Argument(help="Store URL or profile (default: \\[rules] store).")]


def _planned(store: str | None, data: Path | None) -> tuple[ObjectStore, RetentionPlan, Callable[[str], ObjectStore]]:
    """The store, the retention plan for it now, and how its rules' other stores are opened (one Settings)."""
    from storage.manage.retention import parse_rules, plan_retention

    settings = settings_or_exit()
    rules_table = settings.config.rules
    try:
        rules = parse_rules(rules_table.get("retention"), "[[rules.retention]]")
    except ConfigError as exc:
        raise error_exit(f"configuration: {exc}") from None
    if not rules:
        raise error_exit("no [[rules.retention]] in recshelf.toml: nothing to plan")
    target = store or rules_table.get("store")
    if not target:
        raise error_exit("no store given and no [rules] store in recshelf.toml")
    opened = open_store_or_exit(str(target), settings)

    def opener(ref: str) -> ObjectStore:
        return open_store_or_exit(ref, settings)

    with fail_on_store_errors():
        return opened, plan_retention(opened, rules, opener, data_dir=settings.data_dir(data)), opener


def _show(plan: RetentionPlan, as_json: bool) -> Console:
    console = Console(stderr=as_json, soft_wrap=True)
    console.print(f"retention of {plan.store}: {len(plan.steps)} recording(s) match a rule", highlight=False)
    for rule, step in plan.steps:
        console.print(f"[bold]{rule.name}[/] ({rule.action}):", highlight=False)
        _print_plan(console, step, resumed=step.id in plan.interrupted)
    return console


@retention_app.command("plan")
def plan_command(store: StoreOpt = None, as_json: JsonOpt = False, data: DataOpt = None) -> None:
    """Show what the retention rules would change now; change nothing."""
    _, plan, _ = _planned(store, data)
    _show(plan, as_json)
    if as_json:
        print(json.dumps({"plan": plan.to_dict(), "outcomes": None}, indent=1))


@retention_app.command("apply")
def apply_command(store: StoreOpt = None, yes: YesOpt = False, as_json: JsonOpt = False,
                  data: DataOpt = None) -> None:
    """Apply the retention rules: exactly the plan `retention plan` shows."""
    from storage.export.jobs import copy_recordings
    from storage.manage.retention import apply_retention

    opened, plan, opener = _planned(store, data)
    console = _show(plan, as_json)
    runnable = [step for step in plan.plans if not step.refused and step.objects]
    if runnable and not yes:
        if not sys.stdin.isatty():
            raise error_exit("not applied: no terminal to confirm on; pass --yes (or run `retention plan`)")
        total = sum(len(step.objects) for step in runnable)
        if not typer.confirm(f"Apply {len(runnable)} plan(s) ({total} object(s))?"):
            raise typer.Exit(EXIT_NOT_OK)
    with fail_on_store_errors():
        outcomes = apply_retention(opened, plan, _data(data), opener, copy_recordings)
    if as_json:
        print(json.dumps({"plan": plan.to_dict(), "outcomes": [o.to_dict() for o in outcomes]}, indent=1))
    for (rule, step), outcome in zip(plan.steps, outcomes, strict=True):
        style = "green" if outcome.ok else "red"
        console.print(f"[{style}]{outcome.status}[/] {rule.name}: {step.operation} {outcome.deleted} object(s), "
                      f"{_human(outcome.bytes)}" + (f"; {outcome.error}" if outcome.error else ""), highlight=False)
    if not all(o.ok for o in outcomes):
        raise typer.Exit(EXIT_NOT_OK)


def register(app: typer.Typer) -> None:
    app.add_typer(retention_app, name="retention")

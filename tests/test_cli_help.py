"""`--help` names value types as click tools do (TEXT, INTEGER, PATH) and shows nothing after a flag."""

from __future__ import annotations

import re
from typing import Annotated

import pytest
import typer
from typer.testing import CliRunner

from storage.cli import app

TYPER_LABELS = re.compile(r"<(str|bool|int|float|path|int range|float range|list\[[^\]]*\])>")


def help_text(*args: str) -> str:
    result = CliRunner().invoke(app, [*args, "--help"], env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    return result.output


@pytest.mark.parametrize("command", [[], ["verify"], ["ls"], ["export"], ["jobs"], ["record", "start"]])
def test_no_typer_annotation_labels(command):
    text = help_text(*command)
    assert not TYPER_LABELS.search(text), text
    assert re.search(r"--help\s+Show this message", text), text


def test_verify_help_shows_conventional_metavars():
    text = help_text("verify")
    assert re.search(r"Usage: .*verify \[OPTIONS\] STORE\b", text), text
    assert re.search(r"store\s+TEXT\s", text), text
    assert re.search(r"--prefix\s+TEXT\s", text), text
    assert re.search(r"--workers\s+INTEGER RANGE\s+\[1<=x<=64\]", text), text
    assert re.search(r"--deep\s+Also read every slice", text), text  # a flag: no metavar at all
    assert re.search(r"--json\s+Print one JSON object", text), text


def test_jobs_help_names_paths_and_repeatable_options():
    text = help_text("jobs")
    assert re.search(r"--data\s+PATH\s", text), text
    assert re.search(r"--state\s+TEXT\s", text), text


def test_a_chosen_metavar_wins():
    demo = typer.Typer()

    @demo.command()
    def main(prefix: Annotated[str, typer.Option("--prefix", metavar="PREFIX", help="Folder.")] = "",
             deep: Annotated[bool, typer.Option("--deep", help="Deep.")] = False) -> None:
        pass

    result = CliRunner().invoke(demo, ["--help"], env={"COLUMNS": "160", "NO_COLOR": "1"})
    assert re.search(r"--prefix\s+PREFIX\s+Folder", result.output), result.output
    assert re.search(r"--deep\s+Deep", result.output), result.output

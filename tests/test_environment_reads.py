"""Only storage/settings.py reads the environment: every other module gets what it needs passed down."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {ROOT / "storage" / "settings.py"}


NAMES = ("environ", "getenv", "putenv", "environb")


def environment_reads(tree: ast.AST) -> list[int]:
    """Lines that touch os.environ / os.getenv / os.putenv, however imported."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in NAMES:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os":
            lines += [node.lineno for alias in node.names if alias.name in NAMES]
    return lines


def test_no_environment_reads_outside_settings():
    found = []
    for folder in ("storage", "webui"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path in ALLOWED:
                continue
            found += [f"{path.relative_to(ROOT)}:{line}" for line in environment_reads(ast.parse(path.read_text()))]
    assert not found, "environment read outside storage/settings.py: " + ", ".join(found)


def test_the_scan_sees_every_spelling():
    source = "import os\nfrom os import getenv\na = os.environ.get('X')\nb = os.getenv('Y')\n"
    assert sorted(environment_reads(ast.parse(source))) == [2, 3, 4]

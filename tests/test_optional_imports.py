"""numpy (and the whole synthetic-media package) is only for the `demo` and `test` extras.

A plain `pip install recshelf` has no numpy: the CLI, the server, verification and export must import
without it, and only `storage.demo` may use it.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "storage" / "demo"


@pytest.mark.parametrize("module", ["storage.cli", "storage.server.app", "storage.recordings.verify",
                                    "storage.export"])
def test_importing_does_not_load_numpy_or_the_demo_package(module):
    code = (f"import sys, json, {module}\n"
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'numpy'"
            " or m.startswith('storage.demo'))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("RECSHELF_SIMULATOR", None)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def _imports_numpy(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "numpy" for a in node.names):
            return True
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "numpy" and not node.level:
            return True
    return False


def test_only_the_demo_package_imports_numpy():
    offenders = [str(p.relative_to(ROOT)) for folder in ("storage", "webui") for p in (ROOT / folder).rglob("*.py")
                 if not p.is_relative_to(DEMO) and _imports_numpy(p)]
    assert offenders == []


def test_a_missing_extra_is_named_with_its_pip_install(capsys):
    import typer

    from storage.cli.common import require_extra

    require_extra("server", "json")  # installed: nothing happens
    with pytest.raises(typer.Exit) as exited:
        require_extra("server", "json", "recshelf_no_such_module")
    assert exited.value.exit_code == 2
    assert "pip install 'recshelf[server]'" in capsys.readouterr().err

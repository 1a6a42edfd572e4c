"""The house keeps standing: the layers of DESIGN.md, no import cycles, small modules, one error tree.

These are tests, not prose: a broken layer names the offending import in the failure message.
"""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import storage.agora.errors
import storage.errors
import storage.export.errors
from storage import errors

ROOT = Path(__file__).resolve().parents[1]
MAX_MODULE_LINES = 400


def _env() -> dict[str, str]:
    # This tree's packages, whatever the virtualenv has installed.
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}


def test_import_linter_contracts_hold():
    lint_imports = Path(sys.executable).with_name("lint-imports")
    assert lint_imports.exists(), f"import-linter is not installed beside {sys.executable}"
    result = subprocess.run([str(lint_imports), "--no-cache"], cwd=ROOT, env=_env(), capture_output=True,
                            text=True, timeout=300)
    report = result.stdout[result.stdout.find("Contracts"):] if "Contracts" in result.stdout else result.stdout
    assert result.returncode == 0, f"import contracts broken (pyproject.toml [tool.importlinter]):\n{report}\n" \
                                   f"{result.stderr}"


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for start in sorted(graph.modules):
        if start in index:
            continue
        work = [(start, iter(sorted(graph.find_modules_directly_imported_by(start))))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.find_modules_directly_imported_by(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_in_storage():
    # Imports under `if TYPE_CHECKING:` never run, so they cannot make a cycle at import time.
    graph = grimp.build_graph("storage", exclude_type_checking_imports=True, cache_dir=None)
    cycles = _cycles(graph)
    described = []
    for component in cycles:
        members = set(component)
        edges = [f"{a} -> {b}" for a in component for b in sorted(graph.find_modules_directly_imported_by(a))
                 if b in members]
        described.append("  " + "; ".join(edges))
    assert not cycles, "import cycles in storage/:\n" + "\n".join(described)


def test_no_module_over_400_lines():
    too_long = {}
    for package in ("storage", "webui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            lines = len(path.read_text(encoding="utf-8").splitlines())
            if lines > MAX_MODULE_LINES:
                too_long[str(path.relative_to(ROOT))] = lines
    assert not too_long, f"modules over {MAX_MODULE_LINES} lines (split them by job): {too_long}"


def test_pytest_is_imported_only_inside_storage_testing():
    importers = []
    for package in ("storage", "webui"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path.is_relative_to(ROOT / "storage" / "testing"):
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(name == "pytest" or name.startswith(("pytest.", "_pytest")) for name in names):
                    importers.append(str(path.relative_to(ROOT)))
    assert not importers, f"pytest is a test dependency, imported by: {importers}"


def test_the_runtime_helpers_of_storage_testing_do_not_need_pytest():
    code = ("import sys, storage.testing, storage.testing.net, storage.cli.commands.ui, storage.stores.memory; "
            "assert 'pytest' not in sys.modules, 'pytest imported'")
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=_env(), check=True, timeout=60)


# -- the error tree ----------------------------------------------------------------------------------


def _error_classes() -> list[type[BaseException]]:
    modules = [storage.errors, storage.agora.errors, storage.export.errors]
    return [cls for module in modules for _, cls in inspect.getmembers(module, inspect.isclass)
            if issubclass(cls, Exception)]


def test_every_error_recshelf_defines_is_a_recshelf_error():
    strays = [cls.__qualname__ for cls in _error_classes() if not issubclass(cls, errors.RecshelfError)]
    assert not strays


@pytest.mark.parametrize("name", ["ConfigError", "StoreError", "NotFound", "AccessDenied", "Unavailable",
                                  "InvalidConfig", "PlaylistError", "ExportError", "AgoraError"])
def test_the_module_docstring_documents_the_whole_tree(name: str):
    assert hasattr(errors, name)
    assert f" {name} " in (errors.__doc__ or "")


def test_configuration_errors_are_still_caught_as_store_errors():
    # `except StoreError` in the CLI (storage/cli/common.py) and the UI must keep reporting a bad store URL.
    assert issubclass(errors.InvalidConfig, errors.ConfigError)
    assert issubclass(errors.InvalidConfig, errors.StoreError)
    from storage.stores.base import InvalidConfig, StoreError

    assert (InvalidConfig, StoreError) == (errors.InvalidConfig, errors.StoreError)
    assert str(InvalidConfig("no bucket", url="s3://b", key="k")) == "s3://b key 'k': no bucket"


def test_subsystem_errors_share_the_base_classes():
    assert storage.export.errors.ExportError is errors.ExportError
    assert storage.agora.errors.AgoraError is errors.AgoraError
    assert issubclass(storage.agora.errors.NoRecordedData, errors.AgoraError)
    assert issubclass(storage.export.errors.SliceError, errors.ExportError)

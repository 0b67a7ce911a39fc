"""No import cycle among the project's modules (conformance/, benchmarks/): every import
statement counts, inside functions too; ``from package import submodule`` counts as the submodule."""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCHMARK_SIBLINGS = ("harness", "latency", "run")  # imported by name from benchmarks/ scripts


def import_graph(root: Path) -> dict[str, set[str]]:
    modules = {}
    for base in ("conformance", "benchmarks"):
        for path in (root / base).rglob("*.py"):
            name = ".".join(path.relative_to(root).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in modules]
                candidates = subs or [node.module]
            elif isinstance(node, ast.Import):
                candidates = [alias.name for alias in node.names]
            else:
                continue
            for candidate in candidates:
                if candidate in BENCHMARK_SIBLINGS:
                    candidate = f"benchmarks.{candidate}"
                if candidate in modules and candidate != name:
                    found.add(candidate)
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (iterative Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
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
                    work.append((child, iter(sorted(graph[child]))))
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


def test_no_module_imports_one_that_imports_it_back():
    graph = import_graph(ROOT)
    assert len(graph) > 30
    assert cycles(graph) == []


def test_a_cycle_is_seen():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """import-linter's contracts (pyproject.toml) over the package at ``root``."""
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
        check=False,
    )


@pytest.mark.subprocess
def test_each_layer_imports_only_the_layers_below_it():
    completed = lint_imports(ROOT)
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-2000:]
    assert "0 broken" in completed.stdout


@pytest.mark.subprocess
def test_an_upward_import_breaks_the_layers_contract(tmp_path):
    """The contract is real: the schemas (contract) importing the report's pages fails it."""
    shutil.copytree(
        ROOT / "conformance", tmp_path / "conformance", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    schemas = tmp_path / "conformance" / "contract" / "schemas.py"
    schemas.write_text(schemas.read_text() + "\nfrom conformance.report import pages  # noqa\n")
    completed = lint_imports(tmp_path)
    assert completed.returncode == 1, completed.stdout[-3000:]
    assert "nothing imports upward BROKEN" in completed.stdout
    assert "conformance.contract.schemas -> conformance.report.pages" in completed.stdout


def test_conformance_s_root_holds_only_the_package_s_face_and_each_module_says_its_concern():
    """Every module sits in its layer's folder; its docstring's first line says what it is for."""
    assert sorted(p.name for p in (ROOT / "conformance").glob("*.py")) == ["__init__.py"]
    for path in (ROOT / "conformance").rglob("*.py"):
        docstring = ast.get_docstring(ast.parse(path.read_text(encoding="utf-8")))
        first = (docstring or "").split("\n")[0].strip()
        assert first, f"{path.relative_to(ROOT)} says nothing of itself"

"""The folder tree is the pipeline: subpackages by stage, one-way dependencies (issue 14).

These checks read the source with :mod:`ast`; they import nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

PKG = Path(__file__).resolve().parents[1] / "yulin_gis"
SUBPACKAGES = ("io", "survey", "packaging", "planning", "utilities", "maps", "reports", "scale",
               "sample", "pipeline")
# which subpackages each may import (DESIGN.md); top-level modules (errors, log, crs, profile)
# may be imported by all
ALLOWED = {
    "io": set(),
    "survey": {"io"},
    "packaging": {"io"},
    "planning": {"io"},
    "utilities": {"io"},
    "maps": {"io"},
    "reports": {"io", "planning"},  # reports read the plan results and their labels
    "sample": {"io"},
    "scale": {"io", "survey", "packaging", "planning", "utilities"},
    "pipeline": {"io", "survey", "packaging", "planning", "utilities", "maps", "reports", "scale",
                 "sample"},
    "cli": {"io", "pipeline", "sample", "survey", "packaging", "planning", "utilities", "maps",
            "reports", "scale"},
}


def _modules() -> dict[str, Path]:
    out = {}
    for path in sorted(PKG.rglob("*.py")):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _lazy_targets(package: str) -> dict[str, str]:
    """``name -> module`` of a subpackage's lazy ``_LAZY`` table."""
    tree = ast.parse(MODULES[package].read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "_LAZY" for t in node.targets):
            table = ast.literal_eval(node.value)
            return {k: (v if v.startswith("yulin_gis") else f"{package}.{v}") for k, v in table.items()}
    return {}


def _type_only(tree: ast.Module) -> set[int]:
    """ids of the import nodes under ``if TYPE_CHECKING:`` (never executed, so never a cycle)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


def _imports(module: str, *, type_only: bool = False) -> list[tuple[str, str | None]]:
    """Every executed ``(imported module, name)`` of ``module``, function-level imports included.

    Imports under ``if TYPE_CHECKING:`` are left out unless ``type_only`` is true.
    """
    tree = ast.parse(MODULES[module].read_text(encoding="utf-8"))
    skip = set() if type_only else _type_only(tree)
    found: list[tuple[str, str | None]] = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("yulin_gis"):
            for alias in node.names:
                found.append((node.module, alias.name))
        elif isinstance(node, ast.Import):
            found += [(a.name, None) for a in node.names if a.name.startswith("yulin_gis")]
    return found


def _resolve(target: str, name: str | None) -> str | None:
    """The module a ``from target import name`` really reaches."""
    if name and f"{target}.{name}" in MODULES:
        return f"{target}.{name}"
    if target in MODULES and MODULES[target].name == "__init__.py" and name:
        lazy = _lazy_targets(target)
        if name in lazy:
            return lazy[name]
    return target if target in MODULES else None


def _graph() -> nx.DiGraph:
    graph = nx.DiGraph()
    for module in MODULES:
        graph.add_node(module)
        for target, name in _imports(module):
            resolved = _resolve(target, name)
            if resolved and resolved != module and module != "yulin_gis":
                graph.add_edge(module, resolved)
    return graph


def _package_of(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 2 or (len(parts) == 2 and parts[1] in SUBPACKAGES) else None


def test_subpackages_and_few_top_level_modules() -> None:
    subpackages = [p.name for p in PKG.iterdir() if (p / "__init__.py").exists()]
    assert len(set(subpackages) & set(SUBPACKAGES)) >= 5
    top = [p.stem for p in PKG.glob("*.py") if p.stem not in ("__init__", "__main__")]
    assert len(top) <= 10, top


def test_no_import_cycle() -> None:
    cycles = list(nx.simple_cycles(_graph()))
    assert cycles == [], cycles[:5]


def test_no_private_name_crosses_a_subpackage() -> None:
    crossings = []
    for module in MODULES:
        home = _package_of(module)
        for target, name in _imports(module, type_only=True):
            there = _package_of(target)
            if there is None or there == home:
                continue
            private_module = any(part.startswith("_") for part in target.split(".")[2:])
            if private_module or (name or "").startswith("_"):
                crossings.append(f"{module}: from {target} import {name}")
    assert crossings == []


def test_dependencies_point_one_way() -> None:
    wrong = []
    for module in MODULES:
        home = _package_of(module) or (module.split(".")[1] if module.count(".") >= 1 else None)
        if home not in ALLOWED:
            continue
        for target, _name in _imports(module, type_only=True):
            there = _package_of(target)
            if there and there != home and there not in ALLOWED[home]:
                wrong.append(f"{module} → {target}")
    assert wrong == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_module_under_600_lines(module: str) -> None:
    lines = MODULES[module].read_text(encoding="utf-8").count("\n")
    assert lines <= 600, f"{module}: {lines} lines"


def test_every_public_name_importable_from_yulin_gis() -> None:
    import yulin_gis

    for package in SUBPACKAGES:
        for name in _lazy_targets(f"yulin_gis.{package}"):
            if name in yulin_gis.__all__:
                assert getattr(yulin_gis, name) is not None

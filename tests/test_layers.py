"""The import graph of the source: the method (``src/ssv``) depends on the data layer (``datamodules``), never the
reverse, and no two modules import each other, directly or round a longer loop. Imports inside functions count too,
so that none can hide a cycle."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE_FOLDERS = {"ssv": ROOT / "src" / "ssv", "datamodules": ROOT / "datamodules"}


def module_files() -> dict[str, Path]:
    modules = {}
    for package, folder in PACKAGE_FOLDERS.items():
        for path in folder.rglob("*.py"):
            parts = (package, *path.relative_to(folder).with_suffix("").parts)
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def imported_modules(path: Path, modules: dict[str, Path]) -> set[str]:
    """The project modules ``path`` imports; ``from package import submodule`` counts as the submodule alone."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            submodules = {f"{node.module}.{alias.name}" for alias in node.names} & modules.keys()
            names.update(submodules or {node.module})
    return {name for name in names if name in modules}


def import_graph() -> dict[str, set[str]]:
    modules = module_files()
    return {name: imported_modules(path, modules) - {name} for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import loop as ``[a, b, ..., a]``, or None."""
    done, path = set(), []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return path[path.index(module):] + [module]
        if module in done:
            return None
        path.append(module)
        for imported in sorted(graph[module]):
            cycle = visit(imported)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    return next((cycle for cycle in map(visit, sorted(graph)) if cycle), None)


def test_the_data_layer_imports_nothing_from_the_method():
    graph = import_graph()
    upward = {module: sorted(name for name in imported if name.split(".")[0] == "ssv")
              for module, imported in graph.items() if module.startswith("datamodules")}
    assert {module: names for module, names in upward.items() if names} == {}


def test_no_module_imports_itself_round_a_loop():
    assert find_cycle(import_graph()) is None


def test_find_cycle_reports_a_loop():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None

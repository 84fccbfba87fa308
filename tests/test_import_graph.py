"""No import cycle inside the package, apart from `__init__` re-exports.

Builds the graph of module-level imports between `stacked_keras` modules from
their source (AST, nothing imported) and asserts it has no cycle. Imports of
a package's `__init__` (re-exports) and imports inside functions (lazy ones)
are left out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import stacked_keras

_ROOT = Path(stacked_keras.__file__).parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(_ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in _ROOT.rglob("*.py")}
    packages = {_module_name(p) for p in _ROOT.rglob("__init__.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        if name in packages:
            continue  # __init__ re-exports are allowed to import their modules
        targets: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:  # module level only
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                base = node.module
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.add(full if full in modules else base)
            elif isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
        graph[name] = {t for t in targets if t in modules and t not in packages and t != name}
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    colour: dict[str, int] = {}
    for start in sorted(graph):
        if colour.get(start):
            continue
        stack = [(start, iter(sorted(graph[start])))]
        path = [start]
        colour[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                colour[node] = 2
                stack.pop()
                path.pop()
            elif colour.get(child) == 1:
                return path[path.index(child):] + [child]
            elif not colour.get(child):
                colour[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def test_no_import_cycle_between_modules():
    assert _cycle(_import_graph()) is None


def test_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_imports_nothing_of_the_linter():
    # the flow model (lint.semantics) reads the graph, never the reverse
    # (at module level or inside a function)
    assert not [m for m in _all_imports(_ROOT / "graph.py") if m.startswith("stacked_keras.lint")]


def test_flow_model_imports_only_the_graph():
    graph = _import_graph()
    assert graph["stacked_keras.lint.semantics"] <= {"stacked_keras.graph"}


_FRONT_ENDS = {
    "stacked_keras.lint.from_source",
    "stacked_keras.lint.from_config",
    "stacked_keras.lint.from_model",
}


def _all_imports(path: Path) -> set[str]:
    """Every module a file imports, at module level or inside functions."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def test_no_front_end_imports_another_front_end():
    # Shared Keras knowledge lives in keras_catalogue / lint.keras_names, read by each.
    for name in sorted(_FRONT_ENDS):
        path = _ROOT.parent / (name.replace(".", "/") + ".py")
        borrowed = _all_imports(path) & (_FRONT_ENDS - {name})
        assert not borrowed, f"{name} imports {sorted(borrowed)}"


def test_the_config_front_end_modules_stay_small():
    for module in ("from_config", "config_walk", "config_forms", "keras_names"):
        lines = (_ROOT / "lint" / f"{module}.py").read_text(encoding="utf-8").count("\n")
        assert lines <= 600, f"lint/{module}.py has {lines} lines"

"""How a rule's finding names layers and where it points: shared by every check.

Plain Python over the flow model (`stacked_keras.lint.semantics`).
"""

from __future__ import annotations

import os
from typing import Any

from stacked_keras.graph import LayerNode, Location
from stacked_keras.lint.findings import Finding
from stacked_keras.lint.rules.codes import RuleCode
from stacked_keras.lint.semantics import GraphView as _GraphView, _class_of

__all__ = []


def _name_of(node: LayerNode) -> str | None:
    name = getattr(node, "name", None)
    return name if isinstance(name, str) and name else None


def _label(view: _GraphView, i: int) -> str:
    """How a message names node i: `lstm_1`, or `bidirectional (wrapping lstm)`."""
    node = view.nodes[i]
    name = _name_of(node) or f"{view.cls(i) or 'layer'} #{i}"
    core = view.core(i)
    if core is not node:
        inner = _name_of(core) or _class_of(core)
        if inner and inner != name:
            return f"{name} (wrapping {inner})"
    return name


def _target_label(view: _GraphView, i: int) -> str:
    """The layer a fix sentence points at: the inner layer of a wrapper."""
    node = view.nodes[i]
    core = view.core(i)
    name = _name_of(node) or f"{view.cls(i) or 'layer'} #{i}"
    inner = _name_of(core)
    if core is not node and inner and inner != name:
        return f"{inner} inside {name}"
    return name


def _first_location(*candidates: Any) -> Location | None:
    for candidate in candidates:
        if isinstance(candidate, Location):
            return candidate
    return None


def _finding(rule: RuleCode, view: _GraphView, i: int, message: str, fix: str, *,
             severity: str | None = None, at: LayerNode | None = None) -> Finding:
    """A finding of `rule` on node i, located at the layer call to change.

    The location is the one of `at` when given, else of the core layer (the
    LSTM inside a Bidirectional, which holds `return_sequences`), else of the
    node itself, else of the model.
    """
    graph = view.graph
    node = view.nodes[i]
    location = _first_location(
        getattr(at, "location", None),
        getattr(view.core(i), "location", None),
        getattr(node, "location", None),
        getattr(graph, "location", None),
    )
    path = location.path if location is not None and location.path else getattr(graph, "path", None)
    model = getattr(graph, "name", None)
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=severity or rule.severity,
        message=message,
        fix=fix,
        path=path if isinstance(path, str) else (os.fspath(path) if isinstance(path, os.PathLike) else None),
        line=location.line if location is not None else None,
        column=location.column if location is not None else None,
        layer=_name_of(node),
        cell=location.cell if location is not None else None,
        model=model if isinstance(model, str) else None,
    )



def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]



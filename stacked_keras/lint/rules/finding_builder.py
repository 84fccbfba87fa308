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


def _display_name(node: LayerNode) -> str | None:
    """The node's name, or `lstm_stack (layer 2 of 2)` for a layer of a stack layer."""
    part = getattr(node, "part", None)
    if part is not None and _name_of(node):
        return part.label
    return _name_of(node)


def _label(view: _GraphView, i: int) -> str:
    """How a message names node i: `lstm_1`, `bidirectional (wrapping lstm)`, `lstm_stack (layer 2 of 2)`."""
    node = view.nodes[i]
    name = _display_name(node) or f"{view.cls(i) or 'layer'} #{i}"
    core = view.core(i)
    if core is not node:
        inner = _name_of(core) or _class_of(core)
        if inner and inner != name:
            return f"{name} (wrapping {inner})"
    return name


def _labels(view: _GraphView, ids: list[int]) -> list[str]:
    """How a message names several nodes: every layer of one stack layer, when all are there, as one.

    `["lstm_stack (its 3 layers)"]` for the three parts of `lstm_stack`;
    each node's `_label` otherwise.
    """
    labels: list[str] = []
    position = 0
    while position < len(ids):
        part = getattr(view.nodes[ids[position]], "part", None)
        depth = getattr(part, "depth", None)
        run = ids[position:position + depth] if part is not None and depth else []
        parts = [getattr(view.nodes[j], "part", None) for j in run]
        if depth and depth > 1 and len(run) == depth and all(
                p is not None and p.node == part.node and p.index == k for k, p in enumerate(parts)):
            labels.append(f"{part.stack} (its {depth} layers)")
            position += depth
            continue
        labels.append(_label(view, ids[position]))
        position += 1
    return labels


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



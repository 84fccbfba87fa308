"""What the source front-end knows of Keras names, and the values it adds to the Python evaluator's.

`keras_kind` says what a module path names (a layer class, `Sequential`,
`Model`, `Input`, a merge function, an op...; stacked-keras's stack layers
`stacked_keras.LSTMStack` and `stacked_keras.grid_layers.GRUStack` are layer
classes too), reading the layer names and
aliases from `stacked_keras.keras_catalogue`. The classes are the
`External` values `SourceFrontEnd` (see `source_graph.py`) gives the
evaluator: layers built but not applied (`LayerValue`), one layer of several
when a branch could not be decided (`LayerChoice`), symbolic tensors
(`TensorValue`), regularizers and losses (`KerasObject`) and models being
built (`ModelRecord`), plus the nodes of the front-end's dag (`DagNode`).
"""

from __future__ import annotations

import functools
import re
from typing import Any

from stacked_keras.graph import UNKNOWN, LayerNode, Location, canonical_class
from stacked_keras.keras_catalogue import (
    KERAS_MODULE_ALIASES as _KERAS_ALIASES,
    MERGE_FUNCTIONS as _MERGE_FUNCTIONS,
    STACK_REGISTERED_NAMES as _STACK_NAMES,
)
from stacked_keras.lint.pyeval import External, ModuleRef

__all__ = [
    "SEQUENTIAL", "MODEL", "INPUT", "LAYER", "LAYER_BASE", "MERGE", "OP", "ACTIVATION", "OBJECT",
    "keras_kind", "canonical_path", "snake_case", "loss_name", "copy_template",
    "KerasObject", "LayerValue", "LayerChoice", "TensorValue", "ModelRecord", "DagNode",
]

_SNAKE_FIRST = re.compile(r"(.)([A-Z][a-z]+)")
_SNAKE_SECOND = re.compile(r"([a-z])([A-Z])")

# Kinds of Keras objects a module path can name.
SEQUENTIAL = "sequential"
MODEL = "model"
INPUT = "input"
LAYER = "layer"
LAYER_BASE = "layer_base"
MERGE = "merge"
OP = "op"
ACTIVATION = "activation"
OBJECT = "object"
_OBJECT_MODULES = frozenset({
    "regularizers", "initializers", "constraints", "losses", "metrics", "optimizers", "callbacks",
})


@functools.lru_cache(maxsize=4096)
def snake_case(name: str) -> str:
    """`"SimpleRNN"` -> `"simple_rnn"`, the way Keras names layers."""
    name = re.sub(r"\W+", "", name)
    return _SNAKE_SECOND.sub(r"\1_\2", _SNAKE_FIRST.sub(r"\1_\2", name)).lower()


@functools.lru_cache(maxsize=16384)
def canonical_path(path: str) -> str:
    """`"tensorflow.keras.layers.LSTM"` -> `"keras.layers.LSTM"`."""
    for alias in _KERAS_ALIASES:
        if path == alias or path.startswith(alias + "."):
            return "keras" + path[len(alias):]
    for prefix in ("tensorflow.compat.v1.", "tensorflow.compat.v2."):
        if path.startswith(prefix):
            return "tensorflow." + path[len(prefix):]
    return path


@functools.lru_cache(maxsize=16384)
def keras_kind(path: str) -> tuple[str, str] | None:
    """What a canonical module path names: `("layer", "LSTM")`, `("op", "reshape")`..."""
    parts = path.split(".")
    last = parts[-1]
    head = parts[0]
    if head == "stacked_keras":  # `from stacked_keras import LSTMStack`, `sk.grid_layers.GRUStack`
        return (LAYER, _STACK_NAMES[path]) if path in _STACK_NAMES else None
    if head == "tensorflow":
        if len(parts) >= 3 and parts[1] in ("nn", "math") and last.islower():
            return ACTIVATION if parts[1] == "nn" else OP, last
        if last[:1].islower():
            return OP, last
        return None
    if head != "keras" or len(parts) < 2:
        return None
    sub = parts[1]
    if len(parts) == 2:
        if last == "Sequential":
            return SEQUENTIAL, last
        if last == "Model":
            return MODEL, last
        if last == "Input":
            return INPUT, last
        if last == "Layer":
            return LAYER_BASE, last
        if last == "InputLayer":
            return LAYER, last
        return None
    if sub == "layers":
        if last == "Input":
            return INPUT, last
        if last == "Layer":
            return LAYER_BASE, last
        if last in _MERGE_FUNCTIONS and len(parts) == 3:
            return MERGE, _MERGE_FUNCTIONS[last]
        if last[:1].isupper():
            return LAYER, canonical_class(last)
        return None
    if sub in ("models", "engine"):
        if last == "Sequential":
            return SEQUENTIAL, last
        if last in ("Model", "Functional"):
            return MODEL, last
        if last == "Layer":
            return LAYER_BASE, last
        if last == "Input":
            return INPUT, last
        return None
    if sub in ("ops", "backend"):
        return (OP, last) if last[:1].islower() else None
    if sub == "activations":
        return ACTIVATION, last
    if sub in _OBJECT_MODULES:
        return OBJECT, last
    return None


class KerasObject(External):
    """A regularizer, initializer or loss built by a call (`keras.regularizers.l2(1e-4)`)."""

    __slots__ = ("module", "class_name", "config")

    def __init__(self, module: str, class_name: str, config: dict[str, Any]) -> None:
        self.module = module
        self.class_name = class_name
        self.config = config


class LayerValue(External):
    """A layer object, built but not yet applied: `LSTM(32)`; `frame` is the call frame that built it."""

    __slots__ = ("template", "frame")

    def __init__(self, template: LayerNode, frame: int) -> None:
        self.template = template
        self.frame = frame


class LayerChoice(External):
    """One layer out of several, when a branch could not be decided."""

    __slots__ = ("options",)

    def __init__(self, options: list[Any]) -> None:
        self.options = options


class TensorValue(External):
    """A symbolic tensor: the output of the dag nodes in `producers`.

    Several producers mean "one of these" (branches joined). `multi` marks the
    list a layer with `return_state=True` returns: its items are outputs of
    the same node. Its truth value is not known.
    """

    __slots__ = ("producers", "multi")
    truth = None

    def __init__(self, producers: tuple[int, ...], multi: bool = False) -> None:
        self.producers = producers
        self.multi = multi


class ModelRecord(External):
    """A model being built: a `Sequential`, a functional `Model`, a subclass."""

    __slots__ = (
        "kind", "members", "frontier", "inputs", "outputs", "name", "keras_name",
        "function_name", "location", "loss", "nested",
    )

    def __init__(self, kind: str, location: Location | None, function_name: str | None) -> None:
        self.kind = kind
        self.members: list[int] = []
        self.frontier: tuple[int, ...] = ()
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.name: str | None = None
        self.keras_name: str | None = None
        self.function_name = function_name
        self.location = location
        self.loss: Any = None
        self.nested = False


class DagNode:
    """A layer applied to tensors; `branch` marks one made under an iteration-dependent branch of a loop."""

    __slots__ = ("template", "inputs", "branch")

    def __init__(self, template: LayerNode, inputs: list[tuple[int, str, int]], branch: bool = False) -> None:
        self.template = template
        self.inputs = inputs
        self.branch = branch


def loss_name(value: Any) -> Any:
    """What `compile(loss=...)` was given, as a string when it is known."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, ModuleRef):
        return value.path.rsplit(".", 1)[-1]
    if isinstance(value, KerasObject):
        return snake_case(value.class_name)
    return UNKNOWN


def copy_template(template: LayerNode) -> LayerNode:
    """A copy of a layer's node for one graph (wrapped layers named as Keras names them)."""
    wrapped = copy_template(template.wrapped) if template.wrapped is not None else None
    if wrapped is not None and not wrapped.name:
        wrapped.name = snake_case(wrapped.cls)
    return LayerNode(
        name=template.name, cls=template.cls, config=dict(template.config), wrapped=wrapped,
        location=template.location, kind=template.kind,
    )

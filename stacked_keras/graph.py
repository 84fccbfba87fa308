"""The model graph that every part of stacked-keras speaks.

Each lint front-end (Python source, notebooks, live models, saved files) turns
its input into one `ModelGraph`; the rules read only this graph. A graph is a
set of `LayerNode`s joined by `Edge`s, in the order the layers were written.

Nothing here imports TensorFlow or Keras: the graph is plain data.

Conventions:

- `LayerNode.cls` is the Keras class name as written (`"LSTM"`,
  `"Bidirectional"`, `"Dense"`, `"InputLayer"`, ...). Spellings such as
  `tf.keras.layers.LSTM` or `L.LSTM` become `"LSTM"`.
- Wrappers keep the layer they wrap in `wrapped`: `Bidirectional(LSTM(..))` is
  a `"Bidirectional"` node whose `wrapped` is an `"LSTM"` node, and
  `RNN(LSTMCell(..))` is an `"RNN"` node whose `wrapped` is an `"LSTMCell"`.
- `config` holds the arguments that are known, under Keras's own config keys
  (`return_sequences`, `units`, `rate`, `target_shape`, ...). A missing key
  means the Keras default (see `KERAS_DEFAULTS`); the value `UNKNOWN` means
  the front-end could not know it (a static front-end meeting a runtime value).
  Rules never report an error on an `UNKNOWN`.
- Functions applied between layers (`tf.expand_dims`, `ops.reshape`, ...) are
  nodes too, with `cls` set to their name (`"expand_dims"`) and `kind="op"`.
- A recurrent layer inside `TimeDistributed` runs over the inner time axis:
  `LayerNode.time_distributed_depth` counts those wrappers, and only layers
  of the same depth are stacked on one time axis.
- The node's properties are plain data accessors (the core layer inside the
  wrappers, its own `return_sequences` flag, its cell). What a layer hands up
  to the next one (a sequence or a last state, through which layers) is the
  flow model's to decide, in one place: `stacked_keras.lint.semantics`
  (`output_has_time_axis`, `GraphView`). This module must not import it:
  the linter imports the graph.
- stacked-keras's stack layers (`LSTMStack([64, 32])`, `GRUStack`) are one
  node of that class in a front-end's graph, holding the stack's `units`
  list and its `return_sequences`; `expand_stack_layers` replaces each one by
  the LSTM or GRU layers it stands for (each with a `LayerPart` in `part`),
  and the rules read that expanded graph.
- A front-end that sees the layers but not how they are wired (a subclassed
  `keras.Model`, wired in `call()`) says why in `ModelGraph.opaque`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
import dataclasses
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "UNKNOWN",
    "Location",
    "LayerNode",
    "Edge",
    "ModelGraph",
    "RECURRENT_LAYERS",
    "RECURRENT_CELLS",
    "WRAPPERS",
    "RANK_KEEPING",
    "TIME_COLLAPSING",
    "TIME_FABRICATING",
    "KERAS_DEFAULTS",
    "OWN_LAYERS",
    "canonical_class",
    "LayerPart",
    "STACK_LAYERS",
    "expand_stack_layers",
    "stack_expansion",
]


from stacked_keras.unknown import UNKNOWN  # shared with the Python evaluator (lint/pyeval)

from stacked_keras.keras_catalogue import (  # the Keras knowledge lives in the catalogue
    CLASS_ALIASES as _ALIASES,
    KERAS_DEFAULTS,
    OWN_LAYERS,
    RANK_KEEPING,
    RECURRENT_CELLS,
    RECURRENT_LAYERS,
    STACK_LAYERS,
    TIME_COLLAPSING,
    TIME_FABRICATING,
    WRAPPERS,
)


def canonical_class(name: str) -> str:
    """Returns the class name a layer is known by in the graph.

    Strips module prefixes (`keras.layers.LSTM` -> `LSTM`) and maps the few
    aliases Keras keeps (`GlobalAvgPool1D` -> `GlobalAveragePooling1D`,
    `Input` -> `InputLayer`).
    """
    short = name.rsplit(".", 1)[-1]
    return _ALIASES.get(short, short)


@dataclass(frozen=True)
class Location:
    """Where a layer was written: file, line and column (1-based), notebook cell.

    `cell` is the 1-based index of the notebook cell as a user sees it
    (every cell counts, markdown included), and then `line` counts from the
    top of that cell.
    """

    path: str | None = None
    line: int | None = None
    column: int | None = None
    cell: int | None = None
    end_line: int | None = None
    end_column: int | None = None


@dataclass(frozen=True)
class LayerPart:
    """Which layer of a stack layer (`LSTMStack`, `GRUStack`) a node stands for.

    Args:
        stack: the stack layer's name (`"lstm_stack"`).
        index: 0 for the bottom layer of the stack.
        depth: how many layers the stack has; None when its `units` are not
            known (the stack is then one node standing for all its layers).
        node: the stack's node id in the graph before the expansion.
    """

    stack: str
    index: int
    depth: int | None
    node: int = -1

    @property
    def label(self) -> str:
        """`"lstm_stack (layer 2 of 2)"`: how messages and pictures name the part."""
        if self.depth is None:
            return self.stack
        return f"{self.stack} (layer {self.index + 1} of {self.depth})"

    @property
    def is_top(self) -> bool:
        return self.depth is None or self.index == self.depth - 1


@dataclass
class LayerNode:
    """One layer (or one op between layers) of a model.

    Args:
        name: the layer's name (`lstm_1`), or a generated one when the source
            does not give it.
        cls: the Keras class name (`"LSTM"`), or the op name for `kind="op"`.
        config: known settings under Keras's config keys; a missing key means
            the Keras default, `UNKNOWN` means not statically known.
        wrapped: for wrappers (`Bidirectional`, `TimeDistributed`) and for
            `RNN`, the layer or cell inside.
        location: where the layer was written, when the front-end knows.
        kind: `"layer"`, `"op"` (a function between layers) or `"input"`.
        id: the node's index in its graph, set by `ModelGraph.add`.
        part: for a layer of a stack layer, after `expand_stack_layers`:
            which one (its `name` is the stack layer's).
    """

    name: str
    cls: str
    config: dict[str, Any] = field(default_factory=dict)
    wrapped: "LayerNode | None" = None
    location: Location | None = None
    kind: str = "layer"
    id: int = -1
    part: LayerPart | None = None

    @property
    def display_name(self) -> str:
        """How messages name the layer: its name, or `lstm_stack (layer 2 of 2)` for a stack's part."""
        if self.part is not None:
            return self.part.label
        return self.name

    def get(self, key: str, default: Any = None) -> Any:
        """A config value, falling back to the Keras default for this class."""
        if key in self.config:
            return self.config[key]
        return KERAS_DEFAULTS.get(self.cls, {}).get(key, default)

    @property
    def core(self) -> "LayerNode":
        """The innermost layer: the LSTM inside `Bidirectional(LSTM(..))`.

        For `RNN(LSTMCell(..))` the core is the `RNN` node itself, since the
        `RNN` layer holds `return_sequences`; see `cell_type` for the cell.
        """
        node = self
        while node.cls in WRAPPERS and node.wrapped is not None:
            node = node.wrapped
        return node

    @property
    def is_recurrent(self) -> bool:
        """Whether the layer (or the layer it wraps) runs a recurrence.

        A recurrent layer inside `TimeDistributed` counts: it runs its
        recurrence over the inner time axis, once per outer timestep (see
        `time_distributed_depth`).
        """
        return self.core.cls in RECURRENT_LAYERS

    @property
    def time_distributed_depth(self) -> int:
        """How many `TimeDistributed` wrappers sit around the core layer.

        0 for a plain layer. `TimeDistributed(LSTM(..))` has depth 1: the LSTM
        runs over axis 2 of its input (the words of each sentence) and keeps
        axis 1 (the sentences). Two recurrent layers form a stack only at the
        same depth; a layer of depth d feeding one of depth d - 1 hands over
        one vector per outer timestep, which is what that layer reads (a
        hierarchical model: sentence encoder, then document encoder).
        """
        return sum(1 for name in self.wrappers if name == "TimeDistributed")

    @property
    def cell_type(self) -> str | None:
        """`"LSTM"`, `"GRU"`, `"SimpleRNN"`, `"ConvLSTM2D"`... or None.

        `RNN(LSTMCell(..))` reports `"LSTM"`; an `RNN` over an unknown or
        custom cell reports `"RNN"`.
        """
        core = self.core
        if core.cls not in RECURRENT_LAYERS:
            return None
        if core.cls == "RNN" and core.wrapped is not None:
            return RECURRENT_CELLS.get(core.wrapped.cls, "RNN")
        return core.cls

    @property
    def cell_config(self) -> "LayerNode":
        """The node whose config holds the cell settings (units, activation...).

        The cell for `RNN(LSTMCell(..))`, the core layer otherwise.
        """
        core = self.core
        if core.cls == "RNN" and core.wrapped is not None:
            return core.wrapped
        return core

    @property
    def return_sequences(self) -> Any:
        """The recurrent core's own `return_sequences`: True, False or UNKNOWN.

        None when the layer is not recurrent. This is the flag a fixer sets.
        It speaks of the axis the core runs over: for `TimeDistributed(LSTM(..))`
        the inner axis, so False there still gives one vector per outer
        timestep (see `stacked_keras.lint.semantics.output_has_time_axis`).
        """
        if not self.is_recurrent:
            return None
        return self.core.get("return_sequences", False)

    @property
    def wrappers(self) -> tuple[str, ...]:
        """The wrapper classes around the core layer, outermost first."""
        names = []
        node = self
        while node.cls in WRAPPERS and node.wrapped is not None:
            names.append(node.cls)
            node = node.wrapped
        return tuple(names)


@dataclass(frozen=True)
class Edge:
    """Data flowing from node `src` into node `dst`.

    `role` is `"input"` for the ordinary input and `"initial_state"` for a
    state handed to a recurrent layer (`LSTM(..)(x, initial_state=...)`).
    `index` orders several inputs of one node (`Concatenate()([a, b])`).
    """

    src: int
    dst: int
    role: str = "input"
    index: int = 0


@dataclass
class ModelGraph:
    """A model as the linter sees it.

    Args:
        name: the model's name (the variable or class it came from, or the
            Keras model name).
        path: the file it came from (as the user gave it), if any.
        nodes: the layers, in the order they were written.
        edges: the data flow between them.
        inputs: ids of the model's input nodes (may be empty when the input is
            implicit, as in a `Sequential` without `Input`).
        outputs: ids of the nodes whose output is the model's output.
        loss: the loss given to `compile`, when known (a string such as
            `"mse"`, or `UNKNOWN`).
        target_shape: the shape of the training target without the batch
            axis, when a model is linted with data, or when the source
            shows the target given to `fit`.
        target_location: where that target was seen: the `fit` call in the
            source; None when the target was given with the model (or is
            not known).
        location: where the model itself was written.
        origin: which front-end built it (`"source"`, `"notebook"`, `"model"`,
            `"config"`).
        opaque: None when the graph shows how the layers are wired; otherwise
            one sentence saying why the wiring is not visible (a subclassed
            `keras.Model` wires its layers in `call()`, which no front-end
            runs). Rule SK006 reports it, and the rules that follow the data
            find nothing to say about the layers left unconnected.
        assumed: `(name, Keras path)` pairs for the names the source used
            without importing them and the front-end read as Keras's (`LSTM`
            in a snippet with no imports); every finding on the model says so.
    """

    name: str = "model"
    path: str | None = None
    nodes: list[LayerNode] = field(default_factory=list)
    edges: list[Edge] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)
    loss: Any = None
    target_shape: tuple[int | None, ...] | None = None
    target_location: Location | None = None
    location: Location | None = None
    origin: str = "unknown"
    opaque: str | None = None
    assumed: tuple[tuple[str, str], ...] = field(default=(), repr=False, compare=False)

    # -- building -----------------------------------------------------------
    def add(self, node: LayerNode) -> LayerNode:
        """Appends a node and gives it its id."""
        node.id = len(self.nodes)
        self.nodes.append(node)
        return node

    def connect(self, src: int | LayerNode, dst: int | LayerNode, role: str = "input", index: int = 0) -> None:
        """Adds an edge from `src` to `dst` (nodes or ids)."""
        s = src.id if isinstance(src, LayerNode) else src
        d = dst.id if isinstance(dst, LayerNode) else dst
        for i in (s, d):
            if not 0 <= i < len(self.nodes):
                raise ValueError(f"edge {s}->{d} names node {i}, which is not in the graph")
        self.edges.append(Edge(s, d, role, index))

    @classmethod
    def chain(cls, nodes: Iterable[LayerNode], **kwargs: Any) -> "ModelGraph":
        """A graph where each node feeds the next (a `Sequential` model).

        The first node is the input when its kind is `"input"`; the last node
        is the output.
        """
        graph = cls(**kwargs)
        previous: LayerNode | None = None
        for node in nodes:
            graph.add(node)
            if previous is not None:
                graph.connect(previous, node)
            previous = node
        if graph.nodes:
            if graph.nodes[0].kind == "input":
                graph.inputs = [0]
            graph.outputs = [len(graph.nodes) - 1]
        return graph

    # -- reading ------------------------------------------------------------
    def node(self, node_id: int) -> LayerNode:
        return self.nodes[node_id]

    def successors(self, node: int | LayerNode, role: str | None = "input") -> list[LayerNode]:
        """Nodes reading this node's output (by `role`; None for any role)."""
        i = node.id if isinstance(node, LayerNode) else node
        return [self.nodes[e.dst] for e in self.edges if e.src == i and (role is None or e.role == role)]

    def predecessors(self, node: int | LayerNode, role: str | None = "input") -> list[LayerNode]:
        """Nodes whose output this node reads (by `role`; None for any role)."""
        i = node.id if isinstance(node, LayerNode) else node
        found = [e for e in self.edges if e.dst == i and (role is None or e.role == role)]
        return [self.nodes[e.src] for e in sorted(found, key=lambda e: e.index)]

    def incoming(self, node: int | LayerNode) -> list[Edge]:
        i = node.id if isinstance(node, LayerNode) else node
        return [e for e in self.edges if e.dst == i]

    def recurrent_nodes(self) -> list[LayerNode]:
        """The recurrent layers, in the order they were written."""
        return [n for n in self.nodes if n.is_recurrent]

    def walk_forward(self, start: int | LayerNode, through: frozenset[str] | Iterable[str]) -> Iterator[tuple[LayerNode, list[LayerNode]]]:
        """Follows the data from `start` through layers whose class is in `through`.

        Yields `(node, path)` for each node reached whose class is *not* in
        `through` (the first layer that changes the data), where `path` lists
        the pass-through layers crossed on the way. Only `"input"` edges are
        followed. Each node is yielded once per path; cycles are cut.

        A plain traversal: the caller says which classes the data crosses.
        The linter's rules and fixers ask the flow model
        (`stacked_keras.lint.semantics`) instead, which also knows wrappers,
        `TimeDistributed` depths and fabricated time axes.
        """
        through = frozenset(through)
        first = start.id if isinstance(start, LayerNode) else start
        stack: list[tuple[int, list[LayerNode]]] = [(first, [])]
        seen_edges: set[tuple[int, int]] = set()
        while stack:
            current, path = stack.pop()
            for nxt in reversed(self.successors(current)):
                key = (current, nxt.id)
                if key in seen_edges:
                    continue
                seen_edges.add(key)
                if nxt.cls in through and nxt.kind != "input":
                    stack.append((nxt.id, path + [nxt]))
                else:
                    yield nxt, path

    def is_output(self, node: int | LayerNode) -> bool:
        i = node.id if isinstance(node, LayerNode) else node
        return i in self.outputs

    def __iter__(self) -> Iterator[LayerNode]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)


# -- stack layers --------------------------------------------------------------


def _stack_core(node: LayerNode) -> tuple[list[LayerNode], LayerNode] | None:
    """The `TimeDistributed` wrappers around a stack layer and the stack node, or None."""
    wrappers: list[LayerNode] = []
    current = node
    while getattr(current, "cls", None) == "TimeDistributed" and current.wrapped is not None:
        if len(wrappers) > 8 or any(current is seen for seen in wrappers):
            return None  # a wrapper cycle (a malformed graph): nothing to expand
        wrappers.append(current)
        current = current.wrapped
    if (isinstance(current, LayerNode) and current.cls in STACK_LAYERS and current.kind == "layer"
            and current.wrapped is None and isinstance(current.config, dict)):
        return wrappers, current
    return None


def _stack_parts(node: LayerNode, position: int, wrappers: list[LayerNode], stack: LayerNode) -> list[LayerNode]:
    """The LSTM/GRU nodes one stack node stands for, bottom to top."""
    units = stack.config.get("units", UNKNOWN)
    known = isinstance(units, (list, tuple)) and len(units) > 0
    sizes = list(units) if known else [UNKNOWN]
    depth = len(sizes) if known else None
    top_sequences = stack.config.get("return_sequences", False)
    parts = []
    for index, size in enumerate(sizes):
        config = {key: value for key, value in stack.config.items() if key not in ("units", "name")}
        config["units"] = size
        config["return_sequences"] = True if index < len(sizes) - 1 else top_sequences
        part = LayerPart(stack.name, index, depth, position)
        current = LayerNode(stack.name, STACK_LAYERS[stack.cls], config, location=stack.location, part=part)
        for wrapper in reversed(wrappers):
            current = LayerNode(wrapper.name, wrapper.cls, dict(wrapper.config), current,
                                location=wrapper.location, kind=wrapper.kind, part=part)
        parts.append(current)
    return parts


def stack_expansion(graph: ModelGraph) -> tuple[ModelGraph, list[int]]:
    """`expand_stack_layers`, and where each node of the result came from.

    Returns:
        The expanded graph (`graph` itself when it has no stack layer) and,
        for each of its node ids, the id of the node of `graph` it stands
        for (a stack's parts all map to the stack): what a fixer needs to
        edit the stack layer a finding on one of its parts names.
    """
    found = [_stack_core(node) for node in graph.nodes]
    if not any(found):
        return graph, list(range(len(graph.nodes)))
    expanded = dataclasses.replace(graph, nodes=[], edges=[], inputs=[], outputs=[])
    origin: list[int] = []
    first: dict[int, int] = {}
    last: dict[int, int] = {}
    for position, (node, core) in enumerate(zip(graph.nodes, found)):
        copies = [dataclasses.replace(node)] if core is None else _stack_parts(node, position, *core)
        ids = []
        for part in copies:
            expanded.add(part)
            origin.append(position)
            ids.append(part.id)
        for below, above in zip(ids, ids[1:]):
            expanded.connect(below, above)
        first[position], last[position] = ids[0], ids[-1]
    for edge in graph.edges:  # an edge naming a missing node (a malformed graph) is dropped
        if edge.src in last and edge.dst in first:
            expanded.connect(last[edge.src], first[edge.dst], edge.role, edge.index)
    expanded.inputs = [first[i] for i in graph.inputs if i in first]
    expanded.outputs = [last[i] for i in graph.outputs if i in last]
    return expanded, origin


def expand_stack_layers(graph: ModelGraph) -> ModelGraph:
    """The graph with every stack layer replaced by the layers it stands for.

    An `LSTMStack` node with `units=[64, 32]` becomes two `LSTM` nodes, 64
    then 32 units, wired in a chain: the lower one returns its sequence (a
    stack's intermediate layers always do) and the top one has the stack's
    `return_sequences`. Both keep the stack's name, location and (inside
    `TimeDistributed`) its wrappers, and carry a `LayerPart` in `part`, so a
    message names `lstm_stack (layer 2 of 2)`. A stack whose `units` are not
    known becomes one node. The rules call this once, before they run; the
    input graph is not changed.

    Example:

    >>> graph = ModelGraph.chain([
    ...     LayerNode("lstm_stack", "LSTMStack", {"units": [64, 32]}),
    ...     LayerNode("dense", "Dense", {"units": 1}),
    ... ])
    >>> [(n.cls, n.display_name, n.return_sequences) for n in expand_stack_layers(graph).nodes[:2]]
    [('LSTM', 'lstm_stack (layer 1 of 2)', True), ('LSTM', 'lstm_stack (layer 2 of 2)', False)]
    """
    return stack_expansion(graph)[0]

"""The flow model of the linter: what each layer hands up, and where a last state ends.

`GraphView` is a read-only view of a `ModelGraph` that answers, once per
graph, the questions the rules and both fixers ask: does a node output a
sequence or a vector (`time_axis`), which recurrent layers are stacked
(`stack_links`, `stacks`), and which recurrent layers read the last-state
vector of a recurrent layer, through which layers (`last_state_destinations`).
The rules (`stacked_keras.lint.rules`), `fix(model)`
(`stacked_keras.lint.fix_model`) and `lint --fix`
(`stacked_keras.lint.fix_source`) all ask it, so they cannot disagree.

Plain Python over the shared graph: no TensorFlow or Keras import.
"""

# Size: just over 600 lines: the one flow model, kept in one module so that every
# question of what flows has one place to be answered.

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from stacked_keras.graph import (
    KERAS_DEFAULTS,
    RANK_KEEPING,
    RECURRENT_CELLS,
    RECURRENT_LAYERS,
    TIME_COLLAPSING,
    TIME_FABRICATING,
    UNKNOWN,
    WRAPPERS,
    LayerNode,
    ModelGraph,
)

__all__ = ["GraphView", "last_state_destinations", "output_has_time_axis", "vector_feeders"]


# ---------------------------------------------------------------------------
# Reading a graph safely
# ---------------------------------------------------------------------------

# Layers a recurrent layer's output can cross without changing what it is (a
# vector stays a vector, a sequence a sequence). `Concatenate` keeps the rank
# too: Keras requires inputs of one rank.
_PASS_THROUGH = RANK_KEEPING | {"Concatenate"}
_DROPOUT_LAYERS = frozenset(
    {
        "Dropout",
        "SpatialDropout1D",
        "SpatialDropout2D",
        "SpatialDropout3D",
        "GaussianDropout",
        "GaussianNoise",
        "AlphaDropout",
    }
)
# Reshapes that can fabricate a time axis; RepeatVector is the deliberate
# encoder-decoder bridge and is kept apart (`_fabricates_one_step`).
_RESHAPING = TIME_FABRICATING - {"RepeatVector"}
# Layers that keep the time axis of their input, to find a layer's timesteps.
_TIME_KEEPING = _PASS_THROUGH | {"Embedding", "Masking", "TimeDistributed"}
_WRAPPER_DEPTH_LIMIT = 16


def _class_of(node: Any) -> str:
    """A node's class name, or "" when it has none that can be read."""
    cls = getattr(node, "cls", None)
    return cls if isinstance(cls, str) else ""


def _core_of(node: LayerNode) -> LayerNode:
    """The innermost layer, like `LayerNode.core` but safe on wrapper cycles."""
    current = node
    for _ in range(_WRAPPER_DEPTH_LIMIT):
        inner = getattr(current, "wrapped", None)
        if _class_of(current) not in WRAPPERS or not isinstance(inner, LayerNode):
            return current
        current = inner
    return current


def _time_distributed_depth_of(node: LayerNode) -> int:
    """How many TimeDistributed wrappers sit around the core, safe on wrapper cycles."""
    depth = 0
    current = node
    for _ in range(_WRAPPER_DEPTH_LIMIT):
        inner = getattr(current, "wrapped", None)
        cls = _class_of(current)
        if cls not in WRAPPERS or not isinstance(inner, LayerNode):
            break
        depth += cls == "TimeDistributed"
        current = inner
    return depth


def _setting(node: LayerNode, key: str, default: Any = None) -> Any:
    """A config value (Keras default when missing); UNKNOWN for unreadable config."""
    config = getattr(node, "config", None)
    if type(config) is not dict and not isinstance(config, Mapping):
        return UNKNOWN
    if key in config:
        return config[key]
    defaults = KERAS_DEFAULTS.get(_class_of(node), {})
    return defaults.get(key, default)


def _as_bool(value: Any) -> Any:
    """True or False for a boolean value (numpy's too), UNKNOWN for anything else."""
    if value is UNKNOWN:
        return UNKNOWN
    if isinstance(value, bool):
        return value
    if type(value).__name__ == "bool_":
        return bool(value)
    return UNKNOWN


def _as_number(value: Any) -> float | None:
    """A known real number, or None (UNKNOWN, strings, booleans...)."""
    if value is UNKNOWN or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    return None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value


def _shape_of(value: Any, *, drop_batch: bool = False) -> tuple[int | None, ...] | None:
    """A shape given as a list or tuple of ints and Nones, or None."""
    if value is UNKNOWN or not isinstance(value, (list, tuple)):
        return None
    dims = list(value)
    if drop_batch:
        if not dims:
            return None
        dims = dims[1:]
    if not all(d is None or _as_int(d) is not None for d in dims):
        return None
    return tuple(dims)


def _activation_name(value: Any) -> str | None:
    """`"sigmoid"` for "sigmoid", a serialized activation or a function; None if unknown."""
    if value is UNKNOWN:
        return None
    if value is None:
        return "linear"
    if isinstance(value, Mapping):
        inner = value.get("config")
        if isinstance(inner, Mapping):
            inner = inner.get("name")
        value = inner if isinstance(inner, str) else value.get("class_name")
    elif callable(value):
        value = getattr(value, "__name__", None)
    return value.lower() if isinstance(value, str) else None


def _loss_name(value: Any) -> str | None:
    """A loss's name, squeezed (`"binarycrossentropy"`), or None when unknown."""
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, Mapping):
        inner = value.get("config")
        name = inner.get("name") if isinstance(inner, Mapping) else None
        if value.get("class_name") == "function" and isinstance(inner, str):
            name = inner  # a serialized loss function: {"class_name": "function", "config": "mse"}
        value = name if isinstance(name, str) else value.get("class_name")
    elif not isinstance(value, str):
        name = getattr(value, "name", None)
        if not isinstance(name, str):
            name = getattr(value, "__name__", None)
        value = name if isinstance(name, str) else type(value).__name__
    if not isinstance(value, str):
        return None
    return re.sub(r"[^a-z0-9]", "", value.lower()) or None


def output_has_time_axis(node: LayerNode) -> Any:
    """Whether a recurrent layer hands the next layer a sequence: the one answer.

    A plain recurrent layer hands up a sequence when its `return_sequences`
    is True, its last state when it is False. Inside `TimeDistributed` the
    output is always a sequence over the outer axis (one vector, or one
    sequence, per outer timestep), whatever the inner layer's own flag.
    `GraphView.time_axis` asks this for every recurrent node.

    Args:
        node: a graph node (a wrapper cycle or an odd config never raises).

    Returns:
        True, False or `UNKNOWN`; None when the node is not recurrent.

    Example:

    >>> inner = LayerNode("lstm", "LSTM", {"units": 4})
    >>> output_has_time_axis(LayerNode("td", "TimeDistributed", wrapped=inner))
    True
    >>> output_has_time_axis(inner)
    False
    """
    core = _core_of(node)
    if _class_of(core) not in RECURRENT_LAYERS:
        return None
    if _time_distributed_depth_of(node):
        return True
    return _as_bool(_setting(core, "return_sequences", False))


def _postorder(start: int, dependencies: Callable[[int], Iterable[int]],
               compute: Callable[[int, dict], Any], memo: dict[int, Any]) -> Any:
    """Computes `memo[start]` after the values it depends on, without recursion.

    A dependency still being computed (a cycle) is simply missing from `memo`
    when `compute` runs, which then treats it as unknown.
    """
    if start in memo:
        return memo[start]
    in_progress: set[int] = set()
    stack: list[tuple[int, bool]] = [(start, False)]
    while stack:
        node, ready = stack.pop()
        if ready:
            memo[node] = compute(node, memo)
            in_progress.discard(node)
            continue
        if node in memo or node in in_progress:
            continue
        in_progress.add(node)
        stack.append((node, True))
        for dep in dependencies(node):
            if dep not in memo and dep not in in_progress:
                stack.append((dep, False))
    return memo[start]


class GraphView:
    """A read-only view of a `ModelGraph` that the rules can trust.

    Edges naming nodes that do not exist are dropped, cycles are cut, and the
    answers the rules share (time axes, stack links) are computed once.
    """

    def __init__(self, graph: ModelGraph) -> None:
        self.graph = graph
        nodes = getattr(graph, "nodes", None)
        # Positions matter (edges name them): anything that is not a node
        # becomes a blank one the rules ignore.
        self.nodes: list[LayerNode] = [
            n if isinstance(n, LayerNode) else LayerNode(name="", cls="")
            for n in (nodes if isinstance(nodes, (list, tuple)) else [])
        ]
        count = len(self.nodes)
        self._out: list[list[tuple[int, str]]] = [[] for _ in range(count)]
        self._in: list[list[tuple[int, int, str]]] = [[] for _ in range(count)]
        edges = getattr(graph, "edges", None)
        for edge in edges if isinstance(edges, (list, tuple)) else []:
            src = _as_int(getattr(edge, "src", None))
            dst = _as_int(getattr(edge, "dst", None))
            role = getattr(edge, "role", None)
            index = _as_int(getattr(edge, "index", 0)) or 0
            if src is None or dst is None or not isinstance(role, str):
                continue
            if not (0 <= src < count and 0 <= dst < count):
                continue
            self._out[src].append((dst, role))
            self._in[dst].append((index, src, role))
        for incoming in self._in:
            incoming.sort(key=lambda item: item[0])
        outputs = getattr(graph, "outputs", None)
        declared = [
            i for i in (outputs if isinstance(outputs, (list, tuple)) else [])
            if _as_int(i) is not None and 0 <= i < count
        ]
        # Without declared outputs, the layers nothing reads are the outputs.
        self.outputs: list[int] = declared or [i for i in range(count) if not self._out[i]]
        self._output_set = set(self.outputs)
        self._classes = [_class_of(n) for n in self.nodes]
        self._cores = [_core_of(n) for n in self.nodes]
        self._recurrent = [_class_of(c) in RECURRENT_LAYERS for c in self._cores]
        self._distributed = [_time_distributed_depth_of(n) for n in self.nodes]
        self._inputs = [
            getattr(n, "kind", None) == "input" or c == "InputLayer"
            for n, c in zip(self.nodes, self._classes)
        ]
        self._time_axis: dict[int, Any] = {}
        self._links: dict[int, list[int]] | None = None
        self._stacks: list[list[int]] | None = None
        self._below: dict[int, list[int]] | None = None
        self.decoders: dict[int, bool] = {}  # memo of `_is_decoder`
        self.vector_feeders: list[tuple[int, list[tuple[int, int | None]]]] | None = None
        self._levels: dict[int, tuple[int, int, tuple[int, ...]]] = {}

    # -- nodes ---------------------------------------------------------------
    def cls(self, i: int) -> str:
        return self._classes[i]

    def core(self, i: int) -> LayerNode:
        return self._cores[i]

    def is_recurrent(self, i: int) -> bool:
        return self._recurrent[i]

    def is_input(self, i: int) -> bool:
        return self._inputs[i]

    def time_distributed_depth(self, i: int) -> int:
        """0 for a plain layer, 1 for `TimeDistributed(LSTM(..))`, and so on.

        A recurrent layer of depth d runs over axis d + 1 of its input. Two
        recurrent layers are stacked on one time axis only at the same depth.
        """
        return self._distributed[i]

    def return_sequences(self, i: int) -> Any:
        """True, False or UNKNOWN for a recurrent layer."""
        return _as_bool(_setting(self.core(i), "return_sequences", False))

    def cell_type(self, i: int) -> str | None:
        core = self.core(i)
        cls = _class_of(core)
        if cls not in RECURRENT_LAYERS:
            return None
        if cls == "RNN" and isinstance(core.wrapped, LayerNode):
            return RECURRENT_CELLS.get(_class_of(core.wrapped), "RNN")
        return cls

    def keeps_rank(self, i: int) -> bool:
        """Whether a vector stays a vector (and a sequence a sequence) through node i."""
        if self.is_input(i):
            return False
        cls = self.cls(i)
        if cls in _PASS_THROUGH:
            return True
        return cls == "TimeDistributed" and _class_of(self.core(i)) in _PASS_THROUGH

    def is_output(self, i: int) -> bool:
        return i in self._output_set

    # -- edges ---------------------------------------------------------------
    def successors(self, i: int, role: str = "input") -> list[int]:
        return [dst for dst, r in self._out[i] if r == role]

    def predecessors(self, i: int, role: str = "input") -> list[int]:
        return [src for _, src, r in self._in[i] if r == role]

    def ancestors(self, i: int) -> list[int]:
        """Every node whose output reaches node i through input edges."""
        seen: set[int] = set()
        order: list[int] = []
        stack = list(self.predecessors(i))
        while stack:
            node = stack.pop()
            if node in seen or node == i:
                continue
            seen.add(node)
            order.append(node)
            stack.extend(self.predecessors(node))
        return order

    # -- what flows ----------------------------------------------------------
    def time_axis(self, i: int) -> Any:
        """True if node i outputs a sequence, False for a vector, None if unknown."""

        def dependencies(node: int) -> list[int]:
            return self.predecessors(node) if self.keeps_rank(node) else []

        def compute(node: int, memo: dict) -> Any:
            if self.is_recurrent(node):
                value = output_has_time_axis(self.nodes[node])
                return None if value is UNKNOWN else value
            cls = self.cls(node)
            config_node = self.nodes[node]
            if self.is_input(node):
                shape = _shape_of(_setting(config_node, "shape"))
                if shape is None:
                    shape = _shape_of(_setting(config_node, "batch_shape"), drop_batch=True)
                return None if not shape else len(shape) >= 2
            if cls in TIME_COLLAPSING:
                return False
            if cls in ("RepeatVector", "Embedding"):
                return True
            if cls == "Reshape":
                shape = _shape_of(_setting(config_node, "target_shape"))
                return None if not shape else len(shape) >= 2
            if self.keeps_rank(node):
                values = [memo.get(p) for p in self.predecessors(node)]
                if not values:
                    return None
                if any(v is True for v in values):
                    return True
                return False if all(v is False for v in values) else None
            return None

        return _postorder(i, dependencies, compute, self._time_axis)

    def stack_links(self) -> dict[int, list[int]]:
        """For each recurrent layer, the recurrent layers stacked right above it.

        Two recurrent layers are stacked when the output of one reaches the
        input of the other, directly or through rank-keeping layers, whatever
        their `return_sequences` (a broken connection is still a stack).
        """
        if self._links is None:
            self._links = {}
            for start in range(len(self.nodes)):
                if not self.is_recurrent(start):
                    continue
                above: list[int] = []
                seen: set[int] = set()
                stack = [start]
                while stack:
                    current = stack.pop()
                    for nxt in self.successors(current):
                        if nxt in seen or nxt == start:
                            continue
                        seen.add(nxt)
                        if self.is_recurrent(nxt):
                            above.append(nxt)
                        elif self.keeps_rank(nxt):
                            stack.append(nxt)
                self._links[start] = sorted(above)
        return self._links

    def stacks(self) -> list[list[int]]:
        """The stacks of the model: groups of recurrent layers linked together."""
        if self._stacks is None:
            self._stacks = self._find_stacks()
        return self._stacks

    def _find_stacks(self) -> list[list[int]]:
        links = self.stack_links()
        neighbours: dict[int, set[int]] = {r: set() for r in links}
        for r, above in links.items():
            for a in above:
                neighbours[r].add(a)
                neighbours[a].add(r)
        groups: list[list[int]] = []
        seen: set[int] = set()
        for r in sorted(neighbours):
            if r in seen:
                continue
            group, stack = [], [r]
            seen.add(r)
            while stack:
                node = stack.pop()
                group.append(node)
                for other in neighbours[node]:
                    if other not in seen:
                        seen.add(other)
                        stack.append(other)
            groups.append(sorted(group))
        return groups

    def best_chain(self, group: Iterable[int], weight: Callable[[int], int],
                   memo: dict[int, tuple[int, int, tuple[int, ...]]] | None = None) -> list[int]:
        """The bottom-to-top chain in a stack with the largest total `weight`.

        `memo` keeps the answers between calls made with the same `weight`.
        """
        if self._below is None:
            self._below = {}
            for r, above in self.stack_links().items():
                for a in above:
                    self._below.setdefault(a, []).append(r)
        below = self._below
        if memo is None:
            memo = {}

        def compute(node: int, done: dict) -> tuple[int, int, tuple[int, ...]]:
            options = [done[p] for p in below.get(node, []) if p in done]
            base = max(options, default=(0, 0, ()))
            return (base[0] + weight(node), base[1] + 1, base[2] + (node,))

        best: tuple[int, int, tuple[int, ...]] = (0, 0, ())
        for r in group:
            value = _postorder(r, lambda n: below.get(n, []), compute, memo)
            if value[:2] > best[:2]:
                best = value
        return list(best[2])

    def level(self, i: int) -> int:
        """1 for the bottom layer of a stack, 2 for the one above it, and so on."""
        return max(1, len(self.best_chain([i], lambda n: 1, self._levels)))

    def timesteps(self, i: int) -> int | None:
        """The number of timesteps node i reads, when the input shape tells it."""
        current = i
        through_embedding = False
        for _ in range(len(self.nodes) + 1):
            node = self.nodes[current]
            preds = self.predecessors(current)
            if self.is_input(current) or not preds:
                shape = None
                for key, drop in (("shape", False), ("input_shape", False),
                                  ("batch_shape", True), ("batch_input_shape", True)):
                    shape = _shape_of(_setting(node, key), drop_batch=drop)
                    if shape is not None:
                        break
                if not shape or (len(shape) < 2 and not through_embedding):
                    return None
                return shape[0]
            if len(preds) != 1:
                return None
            current = preds[0]
            cls = self.cls(current)
            if cls == "Embedding":
                through_embedding = True
            elif self.is_recurrent(current):
                if self.time_distributed_depth(current) == 0 and self.return_sequences(current) is not True:
                    return None
            elif not (cls in _TIME_KEEPING or self.is_input(current)):
                return None
        return None

    def vocabulary_sizes(self, i: int) -> set[int]:
        """The `input_dim` of the Embedding layers that feed node i."""
        sizes = set()
        for a in self.ancestors(i):
            if self.cls(a) == "Embedding":
                size = _as_int(_setting(self.nodes[a], "input_dim"))
                if size is not None:
                    sizes.add(size)
        return sizes


# ---------------------------------------------------------------------------
# Building findings
# ---------------------------------------------------------------------------

# ---------------------------------------------------------------------------
# SK101 and SK103: where a recurrent layer's last state goes
# ---------------------------------------------------------------------------


def _fabricates_one_step(repeat: LayerNode) -> bool:
    """Whether a RepeatVector makes one timestep of a vector (`n` known to be 1).

    `RepeatVector(n)` with n > 1 is the autoencoder and seq2seq bridge; with
    n = 1 it only adds a time axis of one step, as `Reshape((1, units))` does.
    """
    return _as_int(_setting(repeat, "n")) == 1


def last_state_destinations(view: GraphView, r: int) -> list[tuple[int, int | None]]:
    """The recurrent layers that read the last-state vector of recurrent layer r.

    Follows input edges from r through rank-keeping layers (the vector stays
    a vector) and through reshapes (the vector becomes a fabricated
    sequence), `RepeatVector(1)` among them: one copy of the vector is one
    fabricated timestep, like `Reshape((1, units))`. Stops at a
    `RepeatVector(n)` with n > 1 or n unknown (the encoder-decoder bridge
    copies the vector to every timestep on purpose), at any other layer, and
    at a merge whose other inputs are not known to be vectors too (adding a
    vector to a real sequence conditions it on purpose). Returns
    `(recurrent layer, reshape or None)` pairs.

    Only recurrent layers at r's `TimeDistributed` depth count: they run over
    the time axis r summed up. `TimeDistributed(LSTM(..))` returning its last
    state into a plain LSTM hands it one vector per outer timestep, the
    sequence that LSTM reads (a hierarchical model); and a vector into a
    layer of another depth is a rank mismatch that `return_sequences` cannot
    repair, so it is no broken vertical connection either.
    """
    found: list[tuple[int, int | None]] = []
    seen: set[tuple[int, bool]] = set()
    stack: list[tuple[int, int | None]] = [(r, None)]
    while stack:
        current, reshape = stack.pop()
        for nxt in view.successors(current):
            state = (nxt, reshape is not None)
            if nxt == r or state in seen:
                continue
            seen.add(state)
            if view.is_recurrent(nxt):
                if view.time_distributed_depth(nxt) == view.time_distributed_depth(r):
                    found.append((nxt, reshape))
            elif view.is_input(nxt):
                continue
            elif view.cls(nxt) == "RepeatVector":
                if _fabricates_one_step(view.nodes[nxt]):
                    stack.append((nxt, nxt if reshape is None else reshape))
            elif view.cls(nxt) in _RESHAPING:
                stack.append((nxt, nxt if reshape is None else reshape))
            elif view.keeps_rank(nxt):
                others = list(view.predecessors(nxt))
                if current in others:
                    others.remove(current)
                if others and (reshape is not None or not all(view.time_axis(o) is False for o in others)):
                    continue
                stack.append((nxt, reshape))
    return sorted(set(found), key=lambda pair: (pair[0], -1 if pair[1] is None else pair[1]))


def vector_feeders(view: GraphView) -> list[tuple[int, list[tuple[int, int | None]]]]:
    """Each recurrent layer returning its last state, with the recurrent layers it reaches.

    Shared by SK101 and SK103, so computed once per view.
    """
    if view.vector_feeders is None:
        view.vector_feeders = []
        for r in range(len(view.nodes)):
            if view.is_recurrent(r) and view.return_sequences(r) is False:
                destinations = last_state_destinations(view, r)
                if destinations:
                    view.vector_feeders.append((r, destinations))
    return view.vector_feeders

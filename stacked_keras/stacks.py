"""The recurrent stacks of a model graph, and the links between them.

Most models hold one stack: layer L reads the sequence of layer L-1. An
encoder-decoder holds two, side by side, joined across rather than upwards:
the decoder's layers start from the encoder's last states (`initial_state`)
and, with attention, read the encoder's outputs at every step. Numbering
their layers 1..4 in `model.layers` order would say that the decoder's first
layer reads the encoder's first, which is false. `find_stacks` splits the
recurrent layers of a `ModelGraph` into stacks, each numbered from L = 1,
and names the cross links. `describe` and `plot_stack` read it.

A recurrent layer continues the stack of the recurrent layer below it
(found by walking back through non-recurrent layers along ordinary inputs;
a residual `Add` brings lower layers of the same stack too), when that
layer is the stack's top (a `TimeDistributed` sentence encoder
under a document encoder is one stack too: the upper layer reads one vector
per outer timestep). Anything else starts a stack of its own: a layer
that reads the model input, a second branch on top of one layer, a layer
that reads two stacks joined (its `reads` names them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from stacked_keras.graph import Edge, LayerNode, ModelGraph

__all__ = ["ATTENTION_LAYERS", "CrossLink", "Stack", "find_stacks"]

# Layers whose first input is the query and whose other inputs are attended over.
ATTENTION_LAYERS = frozenset({"Attention", "AdditiveAttention", "MultiHeadAttention"})
_CELL_WORDS = {"rnn", "lstm", "gru", "simple", "simplernn", "bi", "bidirectional", "layer", "recurrent"}


@dataclass
class Stack:
    """One column of recurrent layers, bottom (L = 1) to top.

    Attributes:
        index: 1-based, in the order the stacks' bottom layers appear.
        name: the words the layers' names share (`"encoder"` for
            `encoder_lstm_1`, `encoder_lstm_2`), or `"stack N"`.
        layers: the recurrent nodes, bottom first.
        reads: what the bottom layer reads: `(stack index, L)` of each
            recurrent layer below it, or empty when it reads no recurrent
            layer (the model input, an embedding).
        reads_from: the name of the node the bottom layer reads directly.
    """

    index: int
    name: str
    layers: list[LayerNode] = field(default_factory=list)
    reads: list[tuple[int, int]] = field(default_factory=list)
    reads_from: str | None = None


@dataclass(frozen=True)
class CrossLink:
    """A link between two stacks' layers that is not the vertical one.

    `kind` is `"initial_state"` (the source layer's last states start the
    target layer) or `"attention"` (the target layer's outputs attend over
    the source layer's outputs, through `via`). `source` and `target` are
    `(stack index, L)`.
    """

    kind: str
    source: tuple[int, int]
    target: tuple[int, int]
    via: str | None = None


def _recurrent_behind(graph: ModelGraph, node: LayerNode, roles: tuple[str, ...] = ("input",)) -> list[LayerNode]:
    """The recurrent layers whose output reaches `node` through non-recurrent layers.

    Attention layers pass on their query (input 0) only: the values they
    attend over are a cross link, not the layer below.
    """
    found: list[LayerNode] = []
    seen: set[int] = set()
    frontier = [edge for edge in graph.incoming(node) if edge.role in roles]
    while frontier:
        edge = frontier.pop(0)
        if edge.src in seen:
            continue
        seen.add(edge.src)
        source = graph.node(edge.src)
        if source.is_recurrent:
            found.append(source)
            continue
        frontier.extend(
            e for e in graph.incoming(source)
            if e.role == "input" and (source.cls not in ATTENTION_LAYERS or e.index == 0)
        )
    return found


def _shared_name(names: list[str], index: int) -> str:
    words = [re.split(r"[_/\-\s]+", name.lower()) for name in names]
    shared: list[str] = []
    for column in zip(*words):
        if len(set(column)) != 1:
            break
        shared.append(column[0])
    kept = [w for w in shared if w and w not in _CELL_WORDS and not w.isdigit()]
    return "_".join(kept) or f"stack {index}"


def find_stacks(graph: ModelGraph) -> tuple[list[Stack], list[CrossLink]]:
    """Splits a graph's recurrent layers into stacks and finds the links across.

    Args:
        graph: a `ModelGraph` from any front-end.

    Returns:
        `(stacks, links)`: the stacks in order of their bottom layers (one
        stack for an ordinary model), and the `initial_state` and attention
        links between their layers, each once.
    """
    stacks: list[Stack] = []
    where: dict[int, tuple[int, int]] = {}  # node id -> (stack index, L)
    for node in graph.recurrent_nodes():
        below = _recurrent_behind(graph, node)
        placed = [where[b.id] for b in below if b.id in where]
        if placed and len(placed) == len(below) and len({stack for stack, _ in placed}) == 1:
            # One layer below, or several of one stack (a residual Add joins
            # a layer's output with its input): continue that stack at its top.
            stack_index, level = max(placed)
            stack = stacks[stack_index - 1]
            if len(stack.layers) == level:
                stack.layers.append(node)
                where[node.id] = (stack_index, level + 1)
                continue
        direct = [graph.node(e.src).name for e in graph.incoming(node) if e.role == "input"]
        stack = Stack(
            index=len(stacks) + 1,
            name="",
            layers=[node],
            reads=[where[b.id] for b in below if b.id in where],
            reads_from=direct[0] if direct else None,
        )
        stacks.append(stack)
        where[node.id] = (stack.index, 1)
    for stack in stacks:
        stack.name = _shared_name([layer.name for layer in stack.layers], stack.index)
    if len({s.name for s in stacks}) < len(stacks):  # two stacks would read alike
        for stack in stacks:
            stack.name = f"stack {stack.index}"

    links: list[CrossLink] = []
    for node in graph:
        if node.id in where:
            for source in _recurrent_behind(graph, node, roles=("initial_state",)):
                if source.id in where:
                    links.append(CrossLink("initial_state", where[source.id], where[node.id]))
        elif node.cls in ATTENTION_LAYERS:
            queries = [e for e in graph.incoming(node) if e.role == "input" and e.index == 0]
            values = [e for e in graph.incoming(node) if e.role == "input" and e.index > 0]
            targets = [t for e in queries for t in _behind_edge(graph, e)]
            sources = [s for e in values for s in _behind_edge(graph, e)]
            links.extend(
                CrossLink("attention", where[s.id], where[t.id], via=node.name)
                for t in targets for s in sources
                if s.id in where and t.id in where
            )
    unique = list(dict.fromkeys(links))
    return stacks, unique


def _behind_edge(graph: ModelGraph, edge: Edge) -> list[LayerNode]:
    source = graph.node(edge.src)
    return [source] if source.is_recurrent else _recurrent_behind(graph, source)

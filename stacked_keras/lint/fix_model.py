"""`fix(model)`: a corrected copy of a live model with broken vertical connections.

In a stack of recurrent layers, every layer but the top one must hand its
whole sequence to the layer above (`return_sequences=True`); see
`stacked_keras.stack`. `fix` finds each chain of recurrent layers in the
model's graph (recurrent layers feeding one another directly or through
layers that keep the rank, `graph.RANK_KEEPING`, on one time axis: two
layers inside `TimeDistributed` are a chain over the inner axis, while
`TimeDistributed(LSTM(..))` under a plain LSTM is a hierarchical model whose
inner layer rightly returns one vector per outer timestep), asks
`stack.return_sequences_for` what each layer of the chain must return, and
rebuilds the model from its edited config:

- SK101: a recurrent layer below another gets `return_sequences=True`; the
  top layer of each chain keeps its own setting.
- SK103: a `Reshape` (or `expand_dims`) that fabricates a one-step time axis
  from a recurrent layer's last state, right below another recurrent layer, is
  removed, and the layer below returns its sequence instead.

A stack layer (`LSTMStack`, `GRUStack`) counts as the layers it stands
for: when its top layer must return its sequence, the stack layer is
rebuilt with `return_sequences=True` (the same units, so its weights are
copied as they are).

Weights are copied layer by layer wherever the shapes match (they do for
these changes). The original model is never modified. Where the fix is
ambiguous (the last state also feeds a per-sample head, a reshape into
several timesteps, a layer called twice) the layer is left as it is and a
`AmbiguousFixWarning` says why.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from stacked_keras.graph import (
    WRAPPERS,
    LayerNode,
    ModelGraph,
    stack_expansion,
)
from stacked_keras.lint.semantics import GraphView
from stacked_keras.stack import return_sequences_for

__all__ = ["fix", "plan_fix", "FixPlan", "AmbiguousFixWarning"]

# Time-fabricating layers and ops the fixer removes (RepeatVector is the
# encoder-decoder bridge and is never touched).
_REMOVABLE = frozenset({"Reshape", "reshape", "expand_dims"})


class AmbiguousFixWarning(UserWarning):
    """`fix()` left a layer unchanged because the right change is not clear."""


@dataclass
class FixPlan:
    """What `fix` changes in a model's graph.

    Args:
        return_sequences: ids of the recurrent nodes that must return their
            whole sequence.
        remove: ids of the time-fabricating nodes (Reshape, expand_dims) to
            remove, each replaced by the sequence of the layer below.
        ambiguous: one sentence per layer left unchanged, saying why.
    """

    return_sequences: set[int] = field(default_factory=set)
    remove: set[int] = field(default_factory=set)
    ambiguous: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.return_sequences or self.remove)


def _one_step(node: LayerNode) -> bool:
    """Whether a Reshape / expand_dims node turns a vector into one timestep."""
    if node.cls == "Reshape":
        shape = node.config.get("target_shape")
        return isinstance(shape, (list, tuple)) and len(shape) == 2 and shape[0] == 1
    if node.cls == "expand_dims":
        return node.config.get("axis") in (1, -2)
    if node.cls == "reshape":
        shape = node.config.get("newshape")
        return isinstance(shape, (list, tuple)) and len(shape) == 3 and shape[1] == 1
    return False


def _reached(view: GraphView, start: LayerNode, *, reshaped: bool = False) -> tuple[list[LayerNode], list[LayerNode]]:
    """Where `start`'s last-state vector goes, as the flow model sees it.

    Crosses the layers `GraphView.keeps_rank` names (Concatenate among them),
    and crosses a merge only where the rules do: when every other input is a
    vector too (a vector added to a real sequence conditions it on purpose,
    and after a reshape no merge is crossed). Returns the first nodes that
    are not crossed (each once, in the order met), and every node crossed on
    the way, including those the data leaves the model from.
    """
    graph = view.graph
    ends: list[LayerNode] = []
    crossed: list[LayerNode] = []
    seen = {start.id}
    queue = [start]
    while queue:
        current = queue.pop(0)
        for node in graph.successors(current):
            if node.id in seen:
                continue
            if view.keeps_rank(node.id):
                others = list(view.predecessors(node.id))
                if current.id in others:
                    others.remove(current.id)
                if others and (reshaped or not all(view.time_axis(o) is False for o in others)):
                    continue  # not followed by the rules either: nothing to fix there
                seen.add(node.id)
                crossed.append(node)
                queue.append(node)
            else:
                seen.add(node.id)
                ends.append(node)
    return ends, crossed


def _rank_keeping_dead_end(graph: ModelGraph, crossed: list[LayerNode]) -> LayerNode | None:
    """A crossed rank-keeping node whose output leaves the model or goes nowhere."""
    for node in crossed:
        if graph.is_output(node) or not graph.successors(node):
            return node
    return None


def plan_fix(graph: ModelGraph) -> FixPlan:
    """Decides what `fix` changes, from the graph alone (no Keras).

    A stack layer (`LSTMStack([64, 32])`) is read as the layers it stands
    for (`graph.stack_expansion`): when its top layer must return its
    sequence, the plan names the stack layer's node (its `return_sequences`
    is the top layer's; the layers below always return theirs).

    Args:
        graph: a model's graph (from `graph_from_model` or
            `graphs_from_config`).

    Returns:
        A `FixPlan`, whose ids are those of `graph`'s nodes.

    Example:

    >>> from stacked_keras.graph import LayerNode, ModelGraph
    >>> graph = ModelGraph.chain([LayerNode("a", "LSTM"), LayerNode("b", "LSTM")])
    >>> sorted(plan_fix(graph).return_sequences)
    [0]
    """
    expanded, origin = stack_expansion(graph)
    plan = _plan_expanded(expanded)
    plan.return_sequences = {origin[i] for i in plan.return_sequences}
    plan.remove = {origin[i] for i in plan.remove}
    return plan


def _plan_expanded(graph: ModelGraph) -> FixPlan:
    """`plan_fix` on a graph whose stack layers are expanded (ids of that graph)."""
    plan = FixPlan()
    view = GraphView(graph)
    feeds: dict[int, list[int]] = {}
    for below in graph.recurrent_nodes():
        if below.return_sequences is not False:
            continue  # already a sequence, or not known: nothing to decide
        ends, crossed = _reached(view, below)
        above: list[int] = []
        removals: list[int] = []
        problems: list[str] = []
        depth = below.time_distributed_depth
        for end in ends:
            if end.is_recurrent and end.time_distributed_depth == depth:
                above.append(end.id)
            elif end.is_recurrent:
                # Another time axis: a hierarchical model's upper layer reads
                # this vector per outer timestep (depth - 1), so it must stay.
                problems.append(
                    f"it also feeds {end.name}, which reads its last state once per outer timestep"
                )
            elif end.cls in _REMOVABLE:
                after, after_crossed = _reached(view, end, reshaped=True)
                if not after or not all(node.is_recurrent and node.time_distributed_depth == depth
                                        for node in after):
                    problems.append(f"it also feeds {end.name} ({end.cls})")
                    continue
                above.extend(node.id for node in after)
                if not _one_step(end):
                    problems.append(
                        f"{end.name} reshapes it into several timesteps, not one"
                    )
                elif graph.is_output(end) or _rank_keeping_dead_end(graph, after_crossed):
                    problems.append(f"{end.name}'s output also leaves the model")
                elif sum(1 for e in graph.incoming(end) if e.role == "input") != 1:
                    problems.append(f"{end.name} reads more than one input")
                else:
                    removals.append(end.id)
            else:
                problems.append(f"it also feeds {end.name} ({end.cls})")
        if not above:
            continue
        dead_end = _rank_keeping_dead_end(graph, crossed)
        if graph.is_output(below):
            problems.append("it is also an output of the model")
        elif dead_end is not None:
            problems.append(f"it also reaches {dead_end.name}, an output of the model")
        shared = [n.name for n in graph.nodes if n.name == below.name and n.id != below.id
                  and (n.part is None or below.part is None or n.part.node != below.part.node)]
        if shared:
            problems.append("the layer is called more than once")
        if problems:
            plan.ambiguous.append(
                f"left {below.display_name} unchanged: its last state feeds "
                f"{', '.join(graph.node(i).display_name for i in above)}, but {'; '.join(problems)}. "
                f"Decide which consumer needs the sequence and set return_sequences by hand."
            )
            continue
        feeds[below.id] = list(dict.fromkeys(above))
        plan.remove.update(removals)

    # Walk each chain from its bottom layer up to its top, and let the one
    # rule decide every layer of it; the top keeps its own setting.
    fed = {top for targets in feeds.values() for top in targets}
    for bottom in (node_id for node_id in feeds if node_id not in fed):
        stack: list[list[int]] = [[bottom]]
        while stack:
            chain = stack.pop()
            targets = [t for t in feeds.get(chain[-1], []) if t not in chain]
            if targets:
                stack.extend(chain + [t] for t in targets)
                continue
            top = graph.node(chain[-1])
            keeps = top.return_sequences
            decided = return_sequences_for(chain, sequence_output=keeps is True)
            for node_id, wanted in zip(chain[:-1], decided[:-1]):
                if wanted:
                    plan.return_sequences.add(node_id)
    return plan


# -- editing the config -------------------------------------------------------


def _set_return_sequences(entry: dict[str, Any]) -> None:
    """Sets `return_sequences=True` on a serialized layer (through wrappers)."""
    target = entry
    while target.get("class_name") in WRAPPERS and isinstance(target.get("config", {}).get("layer"), Mapping):
        backward = target["config"].get("backward_layer")
        if isinstance(backward, Mapping):
            backward["config"]["return_sequences"] = True
        target = target["config"]["layer"]
    target["config"]["return_sequences"] = True


def _containers(config: Any) -> Any:
    """Every model config (a dict with a `layers` list) inside `config`."""
    stack = [config]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if isinstance(item.get("layers"), list):
                yield item
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _keras_tensors(value: Any) -> Any:
    """Every serialized `__keras_tensor__` dict inside a call's arguments."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, Mapping):
            if item.get("class_name") == "__keras_tensor__":
                yield item
            else:
                stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


def _replace_reference(value: Any, name: str, replacement: list[Any]) -> Any:
    """`output_layers` with every `[name, node, tensor]` reference to `name` replaced."""
    if isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[0], str):
        return list(replacement) if value[0] == name else value
    if isinstance(value, Mapping):
        return {key: _replace_reference(item, name, replacement) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_replace_reference(item, name, replacement) for item in value)
    return value


def _remove_layer(config: dict[str, Any], entry: dict[str, Any]) -> None:
    """Removes a one-input layer from a model config, wiring its input to its readers."""
    for container in _containers(config):
        layers = container["layers"]
        position = next((i for i, item in enumerate(layers) if item is entry), None)
        if position is None:
            continue
        del layers[position]
        if "input_layers" not in container:
            return  # Sequential: the next layer reads what the removed one read
        name = entry.get("name") or entry["config"]["name"]
        (source,) = list(_keras_tensors(entry["inbound_nodes"][0]["args"]))
        for reader in layers:
            for node in reader.get("inbound_nodes", []):
                for tensor in _keras_tensors(node):
                    if tensor["config"]["keras_history"][0] == name:
                        tensor["config"] = copy.deepcopy(source["config"])
        # The removed layer may be the (nested) model's output.
        source_name, source_node, source_tensor = source["config"]["keras_history"]
        source_entry = next((item for item in layers if (item.get("name") or item["config"].get("name")) == source_name), {})
        if "input_layers" in (source_entry.get("config") or {}):
            source_node += 1  # output_layers count a nested functional model's calls from 1
        container["output_layers"] = _replace_reference(
            container["output_layers"], name, [source_name, source_node, source_tensor]
        )
        return
    raise ValueError(f"layer {entry.get('name')!r} is not in the model config")


# -- rebuilding ---------------------------------------------------------------


def _all_layers(model: Any, prefix: str = "") -> dict[str, Any]:
    """Every layer of a model by its path (`"inner/lstm"` inside nested models)."""
    import keras

    found: dict[str, Any] = {}
    layers = getattr(model, "_layers", None) or model.layers
    for layer in layers:
        path = prefix + layer.name
        if isinstance(layer, keras.Model):
            found.update(_all_layers(layer, path + "/"))
        else:
            found[path] = layer
    return found


def _custom_objects(model: Any) -> dict[str, Any]:
    """The model's own layer classes by registered and class name, for from_config."""
    import keras

    objects: dict[str, Any] = {}
    stack = list(_all_layers(model).values())
    while stack:
        layer = stack.pop()
        cls = type(layer)
        if not cls.__module__.startswith("keras"):
            objects[cls.__name__] = cls
            objects[keras.saving.get_registered_name(cls)] = cls
        for attribute in ("layer", "forward_layer", "backward_layer", "cell"):
            inner = getattr(layer, attribute, None)
            if inner is not None and hasattr(inner, "get_config"):
                stack.append(inner)
        for inner in getattr(getattr(layer, "cell", None), "cells", None) or []:
            stack.append(inner)
    return objects


def _copy_weights(original: Any, copy_: Any) -> list[str]:
    """Copies weights layer by layer where shapes match; returns the layers skipped."""
    import keras

    skipped = []
    new_layers = _all_layers(copy_)
    for path, old in _all_layers(original).items():
        new = new_layers.get(path)
        if new is None or not old.weights:
            continue
        if not new.built:
            try:
                new.build_from_config(old.get_build_config())
            except Exception:  # noqa: BLE001 - a custom layer may not rebuild this way
                skipped.append(path)
                continue
        # Neither get_weights() (on JAX) nor converting the variable itself (on
        # TensorFlow) avoids numpy 2's warning about an __array__ without a
        # copy argument; a copy is an ordinary tensor on both (on torch,
        # Keras's own conversion warns whatever it is given).
        values = [keras.ops.convert_to_numpy(keras.ops.copy(weight)) for weight in old.weights]
        if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in old.weights]:
            continue  # created but never initialized (a build that failed inside fit)
        if [tuple(v.shape) for v in values] != [tuple(w.shape) for w in new.weights]:
            skipped.append(path)
            continue
        new.set_weights(values)
    return skipped


def fix(model: Any) -> Any:
    """Returns a corrected copy of a model whose stacked recurrent layers are broken.

    Every recurrent layer whose output feeds another recurrent layer (directly
    or through rank-keeping layers such as Dropout or Dense) gets
    `return_sequences=True`, as `stacked_keras.return_sequences_for` decides
    along each chain; the top layer of each chain keeps its own setting. A
    `Reshape` or `expand_dims` that fabricates a one-step time axis from a
    recurrent layer's last state for the layer above is removed, and the
    layer below returns its sequence instead. The copy is rebuilt from the
    edited `get_config()`, gets the original's weights wherever the shapes
    match, and is compiled like the original. The original is not modified.

    Layers whose fix is ambiguous are left unchanged, with an
    `AmbiguousFixWarning`; weights that cannot be copied give a
    `UserWarning` naming the layers.

    Args:
        model: a `Sequential` or functional `keras.Model`, built or not.

    Returns:
        A new `keras.Model` of the same class (a plain copy when nothing
        needed fixing).

    Raises:
        TypeError: if `model` is not a `keras.Model`.
        ValueError: if `model` is a subclassed model, which has no config to
            rebuild from (fix its source with `stacked-keras lint --fix`).

    Example:

    ```python
    broken = keras.Sequential([
        keras.layers.LSTM(32),  # returns one vector...
        keras.layers.LSTM(16),  # ...but this layer needs a sequence
        keras.layers.Dense(1),
    ])
    fixed = stacked_keras.fix(broken)
    print([layer.return_sequences for layer in fixed.layers[:2]])  # [True, False]
    ```
    """
    import keras

    from stacked_keras.keras_private import Functional, SafeModeScope

    from stacked_keras.lint.findings import UnreadableInput
    from stacked_keras.lint.from_config import graph_and_layer_configs
    from stacked_keras.lint.from_model import check_model

    check_model(model)
    if isinstance(model, keras.Sequential):
        class_name = "Sequential"
    elif isinstance(model, Functional):
        class_name = "Functional"
    else:
        raise ValueError(
            f"fix() rebuilds a model from its config, but {model.name!r} is a subclassed model "
            f"({type(model).__name__}) whose layers are wired in call(): fix its source with "
            "`stacked-keras lint --fix`"
        )
    config = copy.deepcopy(model.get_config())
    try:
        graph, entries = graph_and_layer_configs({"class_name": class_name, "config": config})
    except UnreadableInput as error:
        raise ValueError(f"fix() cannot read the config of model {model.name!r}: {error.message}") from None
    plan = plan_fix(graph)
    for message in plan.ambiguous:
        warnings.warn(f"fix(): {message}", AmbiguousFixWarning, stacklevel=2)
    for node_id in plan.return_sequences:
        _set_return_sequences(entries[node_id])
    for node_id in plan.remove:
        _remove_layer(config, entries[node_id])

    # The model's own code already runs in this process: rebuilding its
    # Lambda layers from their config is no new trust.
    try:
        with SafeModeScope(False):
            fixed = type(model).from_config(config, custom_objects=_custom_objects(model))
    except Exception as error:  # noqa: BLE001 - Keras raises many kinds here
        raise ValueError(
            f"fix() could not rebuild model {model.name!r} from its edited config: {error}"
        ) from error
    skipped = _copy_weights(model, fixed)
    if skipped:
        warnings.warn(
            f"fix(): weights not copied for {', '.join(skipped)} (their shapes changed); "
            "those layers start from fresh weights",
            UserWarning,
            stacklevel=2,
        )
    if getattr(model, "compiled", False):
        try:
            with warnings.catch_warnings():
                # Keras on JAX builds the optimizer through np.array(variable),
                # which numpy 2 warns about; nothing a caller can act on.
                warnings.filterwarnings("ignore", "__array__ implementation", DeprecationWarning)
                fixed.compile_from_config(model.get_compile_config())
        except Exception as error:  # noqa: BLE001 - a custom loss may not deserialize
            warnings.warn(
                f"fix(): the copy could not be compiled like the original ({error}); call compile() on it",
                UserWarning,
                stacklevel=2,
            )
    return fixed


"""Live `keras.Model` objects -> the linter's graph, without calling them.

The front-end for models in memory: `stacked_keras.lint(model)`, the
`LintCallback` and `fix(model)` all start here. It walks what Keras already
recorded, never running a forward pass:

- a `Sequential` model through its layers (its `InputLayer` too, once the
  model knows its input shape), so an unbuilt model works: a broken stack
  such as `Sequential([LSTM(8), LSTM(8)])` cannot even be built, and this is
  where it can still be linted;
- a functional model through its operations and the `Node` of each call
  (`keras/src/ops/node.py`): each call becomes one graph node and each
  `KerasTensor` argument one edge, an `initial_state=` argument an edge with
  role `"initial_state"`;
- nested models (a `Sequential` inside a functional model, a model inside a
  `Sequential`) flattened into the outer graph, their layers named
  `"inner/lstm"`, exactly as the saved-file front-end names them, so a model
  and its `.keras` file give the same graph;
- stacked-keras's stack layers (`LSTMStack`, `GRUStack`) as one node of
  their class, holding `units` and `return_sequences` (the rules read it as
  its layers: `graph.expand_stack_layers`);
- wrappers through `Bidirectional.forward_layer` and `TimeDistributed.layer`,
  and `RNN(cell)` through `RNN.cell`.

Config values come from each layer's `get_config()` (its attributes when
`get_config()` fails, as it may for a custom layer). A subclassed model
(neither `Sequential` nor functional) records no graph of its calls: its
layers become nodes without edges, and the graph's `opaque` says why (rule
SK006 reports it), since rules that follow the data find nothing to follow;
lint its source file to check the wiring.

Keras is imported inside the functions, only when a live model is given.
"""

from __future__ import annotations

from typing import Any

from stacked_keras.graph import OWN_LAYERS, RECURRENT_LAYERS, WRAPPERS, LayerNode, ModelGraph, canonical_class
from stacked_keras.keras_catalogue import STACK_LAYERS, stack_class
from stacked_keras.lint.keras_names import custom_class_name, loss_name, op_name

__all__ = ["graph_from_model", "check_model"]

# Settings read from a layer's attributes when its get_config() fails.
_ATTRIBUTE_KEYS = (
    "units",
    "filters",
    "kernel_size",
    "return_sequences",
    "return_state",
    "go_backwards",
    "stateful",
    "unroll",
    "activation",
    "recurrent_activation",
    "use_bias",
    "dropout",
    "recurrent_dropout",
    "reset_after",
    "use_cudnn",
    "rate",
    "target_shape",
    "n",
    "merge_mode",
    "axis",
)

_REGULARIZER_KEYS = ("kernel_regularizer", "recurrent_regularizer", "bias_regularizer", "activity_regularizer")


def _attribute_config(layer: Any) -> dict[str, Any]:
    """The settings a rule reads, from attributes (when get_config() fails)."""
    config: dict[str, Any] = {"name": getattr(layer, "name", None)}
    holders = [layer]
    cell = getattr(layer, "cell", None)
    if cell is not None:
        holders.append(cell)  # LSTM keeps units and activations on its cell
    for key in _ATTRIBUTE_KEYS + _REGULARIZER_KEYS:
        for holder in holders:
            if hasattr(holder, key):
                try:
                    value = getattr(holder, key)
                except Exception:  # noqa: BLE001 - a property of a user layer may raise
                    continue
                if callable(value) and not isinstance(value, type):
                    value = getattr(value, "__name__", None) if key.endswith("activation") else value
                config[key] = value
                break
    return config


def _layer_config(layer: Any) -> dict[str, Any]:
    try:
        config = layer.get_config()
    except Exception:  # noqa: BLE001 - custom layers without a working get_config
        return _attribute_config(layer)
    if not isinstance(config, dict):
        return _attribute_config(layer)
    return {key: value for key, value in config.items() if key not in ("layer", "cell")}


class _ModelWalker:
    """Builds one `ModelGraph` from one live model (nested models flattened)."""

    def __init__(self) -> None:
        import keras

        from stacked_keras.keras_private import Functional, make_node_key

        self.InputLayer = keras.layers.InputLayer
        self.Layer = keras.layers.Layer
        self.Functional = Functional
        self.Model = keras.Model
        self.Sequential = keras.Sequential
        self.make_node_key = make_node_key
        self.graph = ModelGraph(origin="model")
        self.edge_keys: set[tuple[int, int, str, int]] = set()

    # -- nodes ------------------------------------------------------------
    def node(self, layer: Any, prefix: str) -> LayerNode:
        class_name = type(layer).__name__
        config = _layer_config(layer)
        kind = "layer"
        wrapped = None
        if isinstance(layer, self.InputLayer):
            kind, cls = "input", "InputLayer"
            shape = getattr(layer, "batch_shape", None)
            if shape is not None:
                config["shape"] = tuple(shape[1:])
        elif not isinstance(layer, self.Layer):
            kind, cls = "op", op_name(class_name)
        else:
            from keras.saving import get_registered_name

            registered = get_registered_name(type(layer))
            cls = canonical_class(class_name)
            if cls in STACK_LAYERS and stack_class(class_name, registered, type(layer).__module__) is None:
                cls = custom_class_name(class_name, registered, type(layer).__module__)
            elif registered in OWN_LAYERS or cls in RECURRENT_LAYERS or cls in WRAPPERS:
                # stacked-keras's own layers count as the Keras layer they
                # compute like; a user class that merely shares a Keras name
                # is not that layer.
                cls = custom_class_name(class_name, registered, type(layer).__module__)
            inner = None
            if cls == "Bidirectional":
                inner = getattr(layer, "forward_layer", None)
            elif cls in WRAPPERS:
                inner = getattr(layer, "layer", None)
            elif cls == "RNN":
                inner = getattr(layer, "cell", None)
            if inner is not None:
                wrapped = self.node(inner, prefix)
        name = getattr(layer, "name", None) or op_name(class_name)
        return LayerNode(name=prefix + name, cls=cls, config=config, wrapped=wrapped, kind=kind)

    def add(self, layer: Any, prefix: str) -> LayerNode:
        return self.graph.add(self.node(layer, prefix))

    def connect(self, src: int | None, dst: int, role: str, index: int) -> None:
        if src is None or (src, dst, role, index) in self.edge_keys:
            return
        self.edge_keys.add((src, dst, role, index))
        self.graph.connect(src, dst, role, index)

    # -- models -----------------------------------------------------------
    def model(self, model: Any, sources: list[int | None] | None, prefix: str) -> list[int | None]:
        if isinstance(model, self.Sequential):
            return self.sequential(model, sources, prefix)
        if isinstance(model, self.Functional):
            return self.functional(model, sources, prefix)
        return self.subclassed(model, sources, prefix)

    def sequential(self, model: Any, sources: list[int | None] | None, prefix: str) -> list[int | None]:
        previous = sources[0] if sources else None
        for position, layer in enumerate(model._layers):
            if isinstance(layer, self.InputLayer) and position == 0:
                if sources is None:
                    node = self.add(layer, prefix)
                    self.graph.inputs.append(node.id)
                    previous = node.id
                continue
            if isinstance(layer, self.Model):
                outputs = self.model(layer, [previous], f"{prefix}{layer.name}/")
                # A model that gives no output node (a subclassed one) cuts
                # the chain: the next layer's input is not known, and bridging
                # over the block would invent a connection.
                previous = outputs[0] if outputs else None
                continue
            node = self.add(layer, prefix)
            self.connect(previous, node.id, "input", 0)
            previous = node.id
        return [previous]

    def subclassed(self, model: Any, sources: list[int | None] | None, prefix: str) -> list[int | None]:
        """Layers of a subclassed model, without edges: its wiring lives in `call`.

        Marks the graph `opaque` when the hidden wiring matters: the model
        has two or more layers to connect, or it sits inside another model
        (the data flowing through it is lost).
        """
        if self.graph.opaque is None and (len(model.layers) >= 2 or sources is not None):
            self.graph.opaque = (
                f"{model.name!r} is a subclassed keras.Model ({type(model).__name__}) whose layers "
                "are wired in call(), which the linter does not run"
            )
        for layer in model.layers:
            if isinstance(layer, self.Model):
                self.model(layer, None if sources is None else [None], f"{prefix}{layer.name}/")
            else:
                self.add(layer, prefix)
        return []

    def functional(self, model: Any, sources: list[int | None] | None, prefix: str) -> list[int | None]:
        own_nodes = model._nodes
        produced: dict[tuple[int, int], list[int | None]] = {}
        slots = {id(tensor._keras_history.operation): slot for slot, tensor in enumerate(model.inputs)}
        pending: list[tuple[Any, int, Any]] = []
        for operation in model.operations:
            if isinstance(operation, self.InputLayer):
                if sources is None:
                    node = self.add(operation, prefix)
                    self.graph.inputs.append(node.id)
                    produced[(id(operation), 0)] = [node.id]
                else:
                    slot = slots.get(id(operation))
                    source = sources[slot] if slot is not None and slot < len(sources) else None
                    produced[(id(operation), 0)] = [source]
                continue
            for index, call in enumerate(operation._inbound_nodes):
                if self.make_node_key(operation, index) in own_nodes:
                    pending.append((operation, index, call))

        def source_of(tensor: Any) -> tuple[bool, int | None]:
            history = tensor._keras_history
            outputs = produced.get((id(history.operation), history.node_index))
            if outputs is None:
                return False, None
            if len(outputs) == 1:
                return True, outputs[0]
            return True, outputs[history.tensor_index] if history.tensor_index < len(outputs) else None

        while pending:
            remaining = []
            for operation, index, call in pending:
                inputs = self.call_inputs(operation, call)
                resolved = []
                for tensor, role in inputs:
                    ok, source = source_of(tensor)
                    if not ok:
                        break
                    resolved.append((source, role))
                else:
                    if isinstance(operation, self.Model):
                        feeding = [source for source, role in resolved if role == "input"]
                        outputs = self.model(operation, feeding, f"{prefix}{operation.name}/")
                        produced[(id(operation), index)] = outputs
                        continue
                    node = self.add(operation, prefix)
                    counters: dict[str, int] = {}
                    for source, role in resolved:
                        position = counters.get(role, 0)
                        counters[role] = position + 1
                        self.connect(source, node.id, role, position)
                    produced[(id(operation), index)] = [node.id]
                    continue
                remaining.append((operation, index, call))
            if len(remaining) == len(pending):
                names = sorted({operation.name for operation, _, _ in remaining})
                raise ValueError(
                    f"the calls of {', '.join(names)} in model {model.name!r} read tensors "
                    "that no call of the model produces"
                )
            pending = remaining

        outputs = []
        for tensor in model.outputs:
            ok, source = source_of(tensor)
            outputs.append(source if ok else None)
        return outputs

    def call_inputs(self, operation: Any, call: Any) -> list[tuple[Any, str]]:
        """The KerasTensors a call read, each with its edge role."""
        import keras

        def tensors(value: Any) -> list[Any]:
            return [item for item in keras.tree.flatten(value) if isinstance(item, keras.KerasTensor)]

        recurrent = isinstance(operation, self.Layer) and (
            canonical_class(type(operation).__name__) in RECURRENT_LAYERS
            or type(operation).__name__ == "Bidirectional"
            or _is_recurrent_class(type(operation))
        )
        found: list[tuple[Any, str]] = []
        for position, argument in enumerate(call.arguments.args):
            role = "initial_state" if (recurrent and position > 0) else "input"
            found.extend((tensor, role) for tensor in tensors(argument))
        for key, argument in call.arguments.kwargs.items():
            role = key if key in ("initial_state", "mask") else "input"
            found.extend((tensor, role) for tensor in tensors(argument))
        return found


def _is_recurrent_class(cls: type) -> bool:
    import keras

    return issubclass(cls, keras.layers.RNN)


def check_model(model: Any) -> None:
    """Raises a TypeError naming what was given unless `model` is a `keras.Model`."""
    import keras

    if not isinstance(model, keras.Model):
        raise TypeError(
            "model must be a keras.Model (Sequential, functional or subclassed), "
            f"got {type(model).__module__}.{type(model).__qualname__}"
        )


def graph_from_model(model: Any) -> ModelGraph:
    """Turns a live Keras model into the linter's graph, without calling it.

    Works on `Sequential`, functional and nested models, built or not (an
    unbuilt `Sequential` is read layer by layer), with `Bidirectional`,
    `TimeDistributed` and `RNN(cell)` kept as the node's `wrapped` layer. The
    graph is the one `read_saved_file` gives for the same model saved as
    `.keras` or `.h5`: same node names (`"inner/lstm"` for nested models),
    classes, settings and edges.

    Args:
        model: a `keras.Model`. A subclassed model gives its layers as nodes
            without edges (its wiring lives in Python code: lint its source).

    Returns:
        A `ModelGraph` with `origin="model"`, `name=model.name`, and `loss`
        from `compile()` when the model is compiled; `opaque` holds the
        reason when a subclassed model (with two or more layers, or nested in
        another model) hides the wiring.

    Raises:
        TypeError: if `model` is not a `keras.Model`.

    Example:

    ```python
    model = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])
    graph = graph_from_model(model)
    [node.return_sequences for node in graph]  # [False, False]
    ```
    """
    check_model(model)
    walker = _ModelWalker()
    graph = walker.graph
    graph.name = model.name
    outputs = walker.model(model, None, "")
    graph.outputs = [node for node in outputs if node is not None]
    graph.loss = loss_name(getattr(model, "loss", None))
    return graph

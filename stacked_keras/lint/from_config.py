"""Saved Keras models, read as data: `.keras` archives, legacy `.h5`, config JSON.

The linter's front-end for files written by `model.save(...)`,
`model.to_json()` and `model.get_config()`. It turns each model config into
the shared `ModelGraph` without deserializing anything: the archive is opened
with `zipfile` and only `config.json` is read (never extracted), an HDF5 file
is opened with `h5py` and only its `model_config` attribute is read, and the
JSON is walked as plain dicts and lists. `Lambda` layers, custom layers and
custom objects stay strings in a dict: none of their code is imported,
unmarshalled or run, so files from strangers are safe to lint. Neither
TensorFlow nor Keras is imported.

Both serialization formats are understood:

- Keras 3 (`.keras`, `to_json()`, `get_config()`, and the `.h5` files Keras 3
  writes): layers carry `module` and `registered_name`, and functional
  `inbound_nodes` are `{"args": [...], "kwargs": {...}}` with
  `__keras_tensor__` references holding a `keras_history`.
- Keras 2 / tf.keras (old `.h5` files): layers are `{"class_name", "config"}`
  and `inbound_nodes` are lists of `[layer_name, node_index, tensor_index,
  kwargs]` references (`TFOpLambda` ops use a single reference per node).

A model nested in another (a `Sequential` called inside a functional model)
is flattened into the outer graph: its layers become nodes named
`"inner/lstm"`, its input layers disappear and the outer layers feeding it are
wired to the inner layers that read those inputs. Each call of a layer is one
node (a layer shared by two calls gives two nodes with the same name).

Size limits (module constants, so tests and careful callers can lower them):
`MAX_CONFIG_BYTES` bounds `config.json`, the `model_config` attribute and
`.json` files; `MAX_ARCHIVE_BYTES` and `MAX_ARCHIVE_MEMBERS` bound what a zip
declares; `MAX_NESTING` bounds how deep models may be nested in models.
"""

# Size: over 600 lines until issue 9 splits the Keras 3 and Keras 2 config forms.

from __future__ import annotations

import json
import os
import re
import zipfile
import zlib
from collections.abc import Iterator, Mapping
from typing import Any

from stacked_keras.graph import (
    OWN_LAYERS,
    RECURRENT_LAYERS,
    UNKNOWN,
    WRAPPERS,
    LayerNode,
    Location,
    ModelGraph,
    canonical_class,
)
from stacked_keras.keras_catalogue import (
    KERAS_TENSOR_MARKER as _KERAS_TENSOR,
    MODEL_CLASSES as _MODEL_CLASSES,
    OP_CLASS_NAMES as _OP_NAMES,
    SHAPE_OPS as _SHAPE_OPS,
    TF_OP_LAYERS as _TF_OP_LAYERS,
)
from stacked_keras.lint.findings import UnreadableInput

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_NESTING",
    "SAVED_FILE_SUFFIXES",
    "graphs_from_config",
    "graphs_from_json",
    "graph_and_layer_configs",
    "read_saved_file",
    "loss_name",
    "op_name",
    "custom_class_name",
]

# The largest model config read, in bytes (config.json, model_config, .json).
MAX_CONFIG_BYTES = 64 * 2**20
# The largest uncompressed total a `.keras` archive may declare, in bytes.
MAX_ARCHIVE_BYTES = 16 * 2**30
# The most members a `.keras` archive may hold.
MAX_ARCHIVE_MEMBERS = 10_000
# How deep models may be nested inside models.
MAX_NESTING = 32

SAVED_FILE_SUFFIXES = (".keras", ".h5", ".hdf5", ".json")

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

# A live `get_config()` holds tuples where JSON holds lists.
_SEQUENCE = (list, tuple)

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


# -- small readers shared with from_model -------------------------------------


def op_name(class_name: str) -> str:
    """The function name of a Keras 3 op class: `"ExpandDims"` -> `"expand_dims"`.

    Args:
        class_name: the op's class name, as in a config or `type(op).__name__`.

    Returns:
        The snake_case name the graph uses for `kind="op"` nodes.

    Example:

    >>> op_name("ExpandDims")
    'expand_dims'
    """
    if class_name in _OP_NAMES:
        return _OP_NAMES[class_name]
    return _CAMEL_BOUNDARY.sub("_", class_name).lower()


def custom_class_name(class_name: str, registered_name: Any, module: Any) -> str:
    """The graph class of a layer, telling a user class from the Keras one it shadows.

    A user's own `LSTM` class is not Keras's LSTM: it keeps its registered
    name (`"my_lab>LSTM"`) or its module (`"my_lab.layers>LSTM"`), so no rule
    mistakes it for a recurrent layer. Keras's own classes keep their name,
    and stacked-keras's own layers take the name of the Keras layer they
    compute like (`graph.OWN_LAYERS`).

    Args:
        class_name: the class name (`"LSTM"`).
        registered_name: the name Keras registered it under, if any.
        module: the module that defines the class, if known.

    Returns:
        `class_name` for a Keras class, a `"package>Name"` string otherwise.

    Example:

    >>> custom_class_name("LSTM", "my_lab>LSTM", "my_lab.layers")
    'my_lab>LSTM'
    """
    if registered_name in OWN_LAYERS:  # stacked-keras's layers compute like Keras's
        return OWN_LAYERS[registered_name]
    if isinstance(registered_name, str) and ">" in registered_name:
        return registered_name
    if isinstance(module, str) and module and not module.startswith(("keras", "tf_keras", "tensorflow")):
        return f"{module}>{class_name}"
    return class_name


def loss_name(loss: Any) -> Any:
    """The name of a loss as given to `compile`, serialized or live.

    Understands a string (`"mse"`), a serialized loss object
    (`{"class_name": "MeanSquaredError", "config": {"name": ...}}`), a
    serialized function (`{"class_name": "function", "config": "mse"}`), a
    live `keras.losses.Loss` (its `name`) or function (its `__name__`), and a
    list or dict of losses that all have the same name.

    Args:
        loss: the loss, in any of the forms above, or None.

    Returns:
        The name as a string, None when no loss was given, or `UNKNOWN` when
        the loss cannot be named (a lambda, or different losses per output).

    Example:

    >>> loss_name({"class_name": "function", "config": "mse"})
    'mse'
    """
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Mapping):
        if "class_name" in loss:
            class_name = loss.get("class_name")
            config = loss.get("config")
            if class_name == "function":
                if isinstance(config, str):
                    return config
                registered = loss.get("registered_name")
                return registered if isinstance(registered, str) else UNKNOWN
            if class_name == "__lambda__" or not isinstance(class_name, str):
                return UNKNOWN
            if isinstance(config, Mapping) and isinstance(config.get("name"), str):
                return config["name"]
            return op_name(class_name)
        return _single_loss(loss.values())
    if isinstance(loss, (list, tuple)):
        return _single_loss(loss)
    name = getattr(loss, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(loss, "__name__", None)
    if isinstance(name, str) and name != "<lambda>":
        return name
    return UNKNOWN


def _single_loss(losses: Any) -> Any:
    names = {loss_name(item) for item in losses}
    names.discard(None)
    if len(names) == 1:
        (name,) = names
        return name
    return None if not names else UNKNOWN


# -- the walk over a config ---------------------------------------------------


def _malformed(message: str) -> UnreadableInput:
    return UnreadableInput("SK004", f"not a readable Keras model config: {message}")


def _is_model_entry(entry: Mapping[str, Any]) -> bool:
    """Whether a serialized layer is a whole (nested) model."""
    config = entry.get("config")
    if isinstance(config, _SEQUENCE):
        # Keras 1 / early Keras 2: a Sequential's config is its layer list.
        return entry.get("class_name") == "Sequential"
    return isinstance(config, Mapping) and isinstance(config.get("layers"), _SEQUENCE)


def _is_functional_config(config: Any) -> bool:
    return isinstance(config, Mapping) and ("input_layers" in config or "output_layers" in config)


def _is_reference(value: Any) -> bool:
    """A Keras 2 tensor reference: `[layer_name, node_index, tensor_index(, kwargs)]`."""
    return (
        isinstance(value, _SEQUENCE)
        and len(value) in (3, 4)
        and isinstance(value[0], str)
        and isinstance(value[1], int)
        and isinstance(value[2], int)
        and not isinstance(value[1], bool)
        and (len(value) == 3 or isinstance(value[3], Mapping))
    )


def _history(tensor: Mapping[str, Any]) -> tuple[str, int, int]:
    config = tensor.get("config")
    history = config.get("keras_history") if isinstance(config, Mapping) else None
    if not (
        isinstance(history, _SEQUENCE)
        and len(history) == 3
        and isinstance(history[0], str)
        and isinstance(history[1], int)
        and isinstance(history[2], int)
    ):
        raise _malformed(f"a serialized tensor has no valid keras_history: {_short(tensor)}")
    return history[0], history[1], history[2]


def _keras3_tensors(value: Any, depth: int = 0) -> Iterator[tuple[str, int, int]]:
    """The `keras_history` of every serialized tensor in a Keras 3 argument."""
    if depth > 64:
        raise _malformed("call arguments are nested too deeply")
    if isinstance(value, Mapping):
        if value.get("class_name") == _KERAS_TENSOR:
            yield _history(value)
            return
        for item in value.values():
            yield from _keras3_tensors(item, depth + 1)
    elif isinstance(value, _SEQUENCE):
        for item in value:
            yield from _keras3_tensors(item, depth + 1)


def _keras2_references(value: Any, depth: int = 0) -> Iterator[tuple[str, int, int]]:
    """Every `[name, node, tensor]` reference inside a Keras 2 call's kwargs."""
    if depth > 64:
        raise _malformed("call arguments are nested too deeply")
    if _is_reference(value):
        yield value[0], value[1], value[2]
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _keras2_references(item, depth + 1)
    elif isinstance(value, _SEQUENCE):
        for item in value:
            yield from _keras2_references(item, depth + 1)


def _legacy_references(value: Any, depth: int = 0) -> Iterator[Any]:
    """Every `[name, node, tensor(, kwargs)]` reference in a Keras 2 call, in order."""
    if depth > 64:
        raise _malformed("call arguments are nested too deeply")
    if _is_reference(value):
        yield value
    elif isinstance(value, _SEQUENCE):
        for item in value:
            yield from _legacy_references(item, depth + 1)


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Call:
    """One call of one layer in a functional config, before it becomes a node.

    `inputs` lists `(layer_name, node_index, tensor_index, role, legacy)`:
    `legacy` marks Keras 2 references, whose node indices count a nested
    functional model's built-in node.
    """

    __slots__ = ("layer", "inputs", "index")

    def __init__(self, layer: Mapping[str, Any], index: int) -> None:
        self.layer = layer
        self.index = index
        self.inputs: list[tuple[str, int, int, str, bool]] = []


class _ConfigReader:
    """Builds one `ModelGraph` from one model config (nested models flattened)."""

    def __init__(self, path: str | None) -> None:
        self.location = Location(path=path) if path is not None else None
        self.graph = ModelGraph(path=path, origin="config", location=self.location)
        # node id -> the layer dict it was read from (for the model fixer).
        self.layer_configs: dict[int, dict[str, Any]] = {}
        self.edge_keys: set[tuple[int, int, str, int]] = set()

    # -- nodes ------------------------------------------------------------
    def layer_node(self, entry: Any, prefix: str, where: str) -> LayerNode:
        """A node (with its wrapped layer or cell) for one serialized layer."""
        if not isinstance(entry, Mapping):
            raise _malformed(f"{where} is not a dict but {type(entry).__name__}: {_short(entry)}")
        class_name = entry.get("class_name")
        if not isinstance(class_name, str) or not class_name:
            raise _malformed(f"{where} has no 'class_name' string (got {_short(class_name)})")
        config = entry.get("config", {})
        if config is None:
            config = {}
        if not isinstance(config, Mapping):
            raise _malformed(
                f"the 'config' of {where} ({class_name}) is not a dict but {type(config).__name__}"
            )
        name = config.get("name", entry.get("name"))
        if not isinstance(name, str) or not name:
            name = op_name(canonical_class(class_name))
        module = entry.get("module")
        kind = "layer"
        if class_name in _TF_OP_LAYERS:
            kind = "op"
            function = config.get("function")
            cls = function.rsplit(".", 1)[-1] if isinstance(function, str) and function else "tf_op"
        elif _is_keras_op(class_name, module, config):
            kind = "op"
            cls = op_name(class_name)
        else:
            # A registered user class is "package>Name": its `registered_name`
            # in Keras 3, its `class_name` in the legacy format.
            registered = entry.get("registered_name")
            if ">" in class_name:
                registered, class_name = class_name, class_name.rsplit(">", 1)[1]
            cls = canonical_class(class_name)
            if cls in RECURRENT_LAYERS or cls in WRAPPERS or cls in _MODEL_CLASSES:
                # A user class that merely shares a Keras name: unknown semantics.
                cls = custom_class_name(class_name, registered, module)
        node_config = {k: v for k, v in config.items() if k not in ("layer", "cell")}
        if cls == "InputLayer":
            kind = "input"
            shape = config.get("batch_shape", config.get("batch_input_shape"))
            if isinstance(shape, Mapping):  # tf.keras TensorShape serialization
                shape = shape.get("items")
            if isinstance(shape, _SEQUENCE) and shape:
                node_config["shape"] = tuple(shape[1:])
            elif isinstance(config.get("shape"), _SEQUENCE):
                node_config["shape"] = tuple(config["shape"])
        wrapped = None
        if cls in WRAPPERS and "layer" in config:
            wrapped = self.layer_node(config["layer"], prefix, f"the layer wrapped by {name!r}")
        elif cls == "RNN" and "cell" in config:
            cell = config["cell"]
            if isinstance(cell, _SEQUENCE):  # Keras 2: RNN([cell, cell]) stacks the cells
                cell = {"class_name": "StackedRNNCells", "config": {"cells": cell}}
            wrapped = self.layer_node(cell, prefix, f"the cell of {name!r}")
        return LayerNode(
            name=prefix + name,
            cls=cls,
            config=node_config,
            wrapped=wrapped,
            location=self.location,
            kind=kind,
        )

    def add(self, entry: Mapping[str, Any], prefix: str, where: str) -> LayerNode:
        node = self.graph.add(self.layer_node(entry, prefix, where))
        self.layer_configs[node.id] = entry  # type: ignore[assignment]
        return node

    def connect(self, src: int | None, dst: int, role: str, index: int) -> None:
        if src is None or (src, dst, role, index) in self.edge_keys:
            return
        self.edge_keys.add((src, dst, role, index))
        self.graph.connect(src, dst, role, index)

    # -- models -----------------------------------------------------------
    def model(self, entry: Mapping[str, Any], sources: list[int | None] | None, prefix: str, depth: int) -> list[int | None]:
        """Adds a model's layers; returns the node id of each of its outputs.

        `sources` is None for the top-level model (its input layers become
        input nodes) and, for a nested model, the outer nodes feeding it.
        """
        if depth > MAX_NESTING:
            raise _malformed(f"models are nested more than {MAX_NESTING} deep")
        config = entry.get("config")
        if isinstance(config, _SEQUENCE):
            return self.sequential({"layers": config}, sources, prefix, depth)
        if not isinstance(config, Mapping):
            raise _malformed(f"the model's 'config' is not a dict but {type(config).__name__}")
        if _is_functional_config(config):
            return self.functional(config, sources, prefix, depth)
        if "layers" not in config:
            raise _malformed(
                f"the {entry.get('class_name', 'model')} config has no key 'layers' "
                f"(keys: {', '.join(sorted(map(str, config))) or 'none'})"
            )
        return self.sequential(config, sources, prefix, depth)

    def nested(self, entry: Mapping[str, Any], sources: list[int | None], prefix: str, depth: int) -> list[int | None]:
        config = entry.get("config")
        name = config.get("name") if isinstance(config, Mapping) else None
        if not isinstance(name, str) or not name:
            name = entry.get("name") if isinstance(entry.get("name"), str) else "model"
        return self.model(entry, sources, f"{prefix}{name}/", depth + 1)

    def sequential(self, config: Mapping[str, Any], sources: list[int | None] | None, prefix: str, depth: int) -> list[int | None]:
        layers = config.get("layers")
        if not isinstance(layers, _SEQUENCE):
            raise _malformed(f"'layers' of a Sequential config is not a list but {type(layers).__name__}")
        previous: int | None = sources[0] if sources else None
        for position, entry in enumerate(layers):
            where = f"layer {position} of {_scope(prefix)}"
            if not isinstance(entry, Mapping):
                raise _malformed(f"{where} is not a dict but {type(entry).__name__}: {_short(entry)}")
            if _is_model_entry(entry):
                outputs = self.nested(entry, [previous], prefix, depth)
                previous = outputs[0] if outputs else previous
                continue
            if entry.get("class_name") in ("InputLayer", "Input") and position == 0:
                if sources is None:
                    node = self.add(entry, prefix, where)
                    self.graph.inputs.append(node.id)
                    previous = node.id
                continue  # a nested model's input is the outer layer feeding it
            node = self.add(entry, prefix, where)
            if previous is not None:
                self.connect(previous, node.id, "input", 0)
            previous = node.id
        return [previous]

    def functional(self, config: Mapping[str, Any], sources: list[int | None] | None, prefix: str, depth: int) -> list[int | None]:
        layers = config.get("layers")
        if not isinstance(layers, _SEQUENCE):
            raise _malformed(f"'layers' of a functional config is not a list but {type(layers).__name__}")
        scope = _scope(prefix)
        by_name: dict[str, Mapping[str, Any]] = {}
        for position, entry in enumerate(layers):
            if not isinstance(entry, Mapping):
                raise _malformed(f"layer {position} of {scope} is not a dict but {type(entry).__name__}: {_short(entry)}")
            name = entry.get("name")
            if not isinstance(name, str):
                inner = entry.get("config")
                name = inner.get("name") if isinstance(inner, Mapping) else None
            if not isinstance(name, str) or not name:
                raise _malformed(f"layer {position} of {scope} has no 'name'")
            if name in by_name:
                raise _malformed(f"two layers of {scope} are named {name!r}")
            by_name[name] = entry

        input_names = [ref[0] for ref in self.references(config.get("input_layers"), "input_layers", scope)]
        # What each layer call produced: (layer, call index) -> node ids per output tensor.
        produced: dict[tuple[str, int], list[int | None]] = {}
        pending: list[_Call] = []
        calls_of: dict[str, int] = {}
        for name, entry in by_name.items():
            is_input = entry.get("class_name") in ("InputLayer", "Input")
            if is_input:
                if sources is None:
                    node = self.add(entry, prefix, f"input layer {name!r} of {scope}")
                    self.graph.inputs.append(node.id)
                    produced[(name, 0)] = [node.id]
                elif name in input_names:
                    slot = input_names.index(name)
                    produced[(name, 0)] = [sources[slot] if slot < len(sources) else None]
                else:
                    produced[(name, 0)] = [None]
                calls_of[name] = 1
                continue
            calls = self.calls(entry, name, scope)
            calls_of[name] = len(calls)
            pending.extend(calls)

        for call in pending:
            for ref_name, _, _, _, _ in call.inputs:
                if ref_name not in by_name:
                    raise _malformed(
                        f"layer {_layer_name(call.layer)!r} of {scope} reads from {ref_name!r}, "
                        "which is not a layer of that model"
                    )

        def resolve(ref_name: str, node_index: int, tensor_index: int, one_based: bool) -> tuple[bool, int | None]:
            """The node holding output `tensor_index` of call `node_index` of a layer.

            Returns `(False, None)` while that call has not been read yet.
            Keras numbers the calls of a nested model from 1 in Keras 2
            references and in `output_layers` (its call 0 is the model's own
            graph), from 0 elsewhere; both numberings are tried.
            """
            count = calls_of[ref_name]
            if count == 0:
                raise _malformed(f"a layer of {scope} reads from {ref_name!r}, which is never called")
            nested_model = _is_model_entry(by_name[ref_name])
            candidates = [node_index]
            if nested_model:
                candidates = [node_index - 1, node_index] if one_based else [node_index, node_index - 1]
            index = next((i for i in candidates if 0 <= i < count), None)
            if index is None:
                raise _malformed(
                    f"a layer of {scope} reads call {node_index} of {ref_name!r}, "
                    f"which is called {count} time(s)"
                )
            outputs = produced.get((ref_name, index))
            if outputs is None:
                return False, None
            if len(outputs) == 1 and not nested_model:
                return True, outputs[0]
            if 0 <= tensor_index < len(outputs):
                return True, outputs[tensor_index]
            raise _malformed(
                f"a layer of {scope} reads output {tensor_index} of {ref_name!r}, which has {len(outputs)} output(s)"
            )

        while pending:
            progressed = False
            remaining: list[_Call] = []
            for call in pending:
                resolved = []
                ready = True
                for ref_name, node_index, tensor_index, role, legacy in call.inputs:
                    ok, source = resolve(ref_name, node_index, tensor_index, legacy)
                    if not ok:
                        ready = False
                        break
                    resolved.append((source, role))
                if not ready:
                    remaining.append(call)
                    continue
                progressed = True
                name = _layer_name(call.layer)
                if _is_model_entry(call.layer):
                    inputs = [source for source, role in resolved if role == "input"]
                    produced[(name, call.index)] = self.nested(call.layer, inputs, prefix, depth)
                    continue
                node = self.add(call.layer, prefix, f"layer {name!r} of {scope}")
                counters: dict[str, int] = {}
                for source, role in resolved:
                    index = counters.get(role, 0)
                    counters[role] = index + 1
                    self.connect(source, node.id, role, index)
                produced[(name, call.index)] = [node.id]
            if not progressed:
                names = sorted({_layer_name(call.layer) for call in remaining})
                raise _malformed(
                    f"the layers {', '.join(map(repr, names))} of {scope} cannot be ordered: "
                    "their inputs form a cycle or read calls that never happen"
                )
            pending = remaining

        outputs = []
        for ref_name, node_index, tensor_index in self.references(config.get("output_layers"), "output_layers", scope):
            if ref_name not in by_name:
                raise _malformed(f"'output_layers' of {scope} names {ref_name!r}, which is not a layer of that model")
            ok, source = resolve(ref_name, node_index, tensor_index, _is_functional_config(by_name[ref_name].get("config")))
            if not ok:
                raise _malformed(f"'output_layers' of {scope} names a call of {ref_name!r} that never happens")
            outputs.append(source)
        return outputs

    def references(self, value: Any, key: str, scope: str) -> list[tuple[str, int, int]]:
        """`input_layers` / `output_layers`: one reference, a list or a dict of them."""
        if value is None:
            raise _malformed(f"the functional config of {scope} has no key {key!r}")
        found: list[tuple[str, int, int]] = []
        stack = [value]
        while stack:
            item = stack.pop(0)
            if _is_reference(item):
                found.append((item[0], item[1], item[2]))
            elif isinstance(item, _SEQUENCE):
                stack[0:0] = list(item)
            elif isinstance(item, Mapping):
                stack[0:0] = list(item.values())
            else:
                raise _malformed(f"{key!r} of {scope} holds {_short(item)}, not a [layer, node, tensor] reference")
        return found

    def calls(self, entry: Mapping[str, Any], name: str, scope: str) -> list[_Call]:
        """The calls of one layer, from its `inbound_nodes`."""
        inbound = entry.get("inbound_nodes", [])
        if inbound is None:
            inbound = []
        if not isinstance(inbound, _SEQUENCE):
            raise _malformed(f"'inbound_nodes' of layer {name!r} in {scope} is not a list")
        recurrent = canonical_class(str(entry.get("class_name"))) in RECURRENT_LAYERS | {"Bidirectional"}
        calls = []
        for index, node_data in enumerate(inbound):
            call = _Call(entry, index)
            if isinstance(node_data, Mapping):
                args = node_data.get("args", [])
                kwargs = node_data.get("kwargs", {})
                if not isinstance(args, _SEQUENCE) or not isinstance(kwargs, Mapping):
                    raise _malformed(f"call {index} of layer {name!r} in {scope} has malformed 'args' or 'kwargs'")
                for position, arg in enumerate(args):
                    role = "initial_state" if (recurrent and position > 0) else "input"
                    for ref in _keras3_tensors(arg):
                        call.inputs.append((*ref, role, False))
                for key, value in kwargs.items():
                    role = _kwarg_role(key)
                    for ref in _keras3_tensors(value):
                        call.inputs.append((*ref, role, False))
            elif isinstance(node_data, _SEQUENCE):
                # The first argument's tensors, in their nesting (a TFOpLambda
                # keeps it: `tf.concat([a, b], 1)`); constants are skipped.
                for position, ref in enumerate(_legacy_references(node_data)):
                    role = "initial_state" if (recurrent and position > 0) else "input"
                    call.inputs.append((ref[0], ref[1], ref[2], role, True))
                    if len(ref) == 4:
                        for key, value in ref[3].items():
                            for inner in _keras2_references(value):
                                call.inputs.append((*inner, _kwarg_role(key), True))
            else:
                raise _malformed(f"call {index} of layer {name!r} in {scope} is {_short(node_data)}, not a dict or list")
            calls.append(call)
        return calls


def _is_keras_op(class_name: str, module: Any, config: Mapping[str, Any]) -> bool:
    """Whether an entry of a functional config is a Keras 3 op, not a layer."""
    if isinstance(module, str):
        return module.startswith(("keras.src.ops", "keras.ops"))
    if class_name not in _SHAPE_OPS or "trainable" in config:
        return False
    return class_name != "Reshape" or "newshape" in config


def _scope(prefix: str) -> str:
    """How messages name the model being read: the top one, or a nested one."""
    return f"the nested model {prefix.rstrip('/')!r}" if prefix else "the model"


def _kwarg_role(key: Any) -> str:
    if key in ("initial_state", "mask"):
        return str(key)
    return "input"


def _layer_name(entry: Mapping[str, Any]) -> str:
    name = entry.get("name")
    if isinstance(name, str):
        return name
    config = entry.get("config")
    return config.get("name") if isinstance(config, Mapping) else "?"


# -- the public readers -------------------------------------------------------


def _is_user_model(entry: Mapping[str, Any], saved_model: bool) -> bool:
    """Whether a top-level entry without layers is a subclassed model, not a single layer.

    A subclassed `keras.Model` serializes as its own class with its own
    config (no `layers`). It is told from a lone Keras layer by what only a
    model carries: a `compile_config` / `training_config`, a class from
    outside Keras (the Keras 3 `module` or a `package>Name` registered
    name), or being the top of a file only `model.save()` writes.
    """
    registered = entry.get("registered_name")
    custom_name = isinstance(registered, str) and ">" in registered
    module = entry.get("module")
    keras_module = isinstance(module, str) and module.split(".")[0] in ("keras", "tf_keras", "tensorflow")
    if keras_module and not custom_name:
        return False  # one of Keras's own layers
    if saved_model or custom_name or "compile_config" in entry or "training_config" in entry:
        return True
    return "module" in entry  # the Keras 3 form names the class's module: not Keras


def _model_entries(config: Any, saved_model: bool = False) -> list[tuple[dict[str, Any], Any]]:
    """Splits what the caller gave into `(model entry, loss)` pairs.

    `saved_model` says the config is the top of a `.keras` or `.h5` file,
    which only holds models.
    """
    if isinstance(config, _SEQUENCE):
        if config and all(isinstance(item, Mapping) and _looks_like_model(item) for item in config):
            return [pair for item in config for pair in _model_entries(item)]
        if all(isinstance(item, Mapping) and "class_name" in item for item in config):
            # Keras 1 / early Keras 2: a Sequential config is the layer list itself.
            return [({"class_name": "Sequential", "config": {"layers": config}}, None)]
        raise _malformed(
            "a list that is neither a list of model configs nor a Sequential's list of layers"
        )
    if not isinstance(config, Mapping):
        raise _malformed(f"expected a dict or a list, got {type(config).__name__}")
    compile_config = config.get("compile_config") or config.get("training_config")
    loss = loss_name(compile_config.get("loss")) if isinstance(compile_config, Mapping) else None
    if "class_name" in config and "config" in config:
        if not _is_model_entry(config) and config["class_name"] not in _MODEL_CLASSES \
                and not _is_user_model(config, saved_model):
            raise _malformed(
                f"{config.get('class_name')!r} is a single layer, not a model "
                "(expected a Sequential or functional model config with 'layers')"
            )
        return [(dict(config), loss)]
    if "layers" in config:
        class_name = "Functional" if _is_functional_config(config) else "Sequential"
        return [({"class_name": class_name, "config": config}, loss)]
    keys = ", ".join(sorted(map(str, config))) or "none"
    raise _malformed(
        "expected model.to_json() ('class_name' and 'config') or model.get_config() "
        f"('layers'), but the dict has the keys: {keys}"
    )


def _looks_like_model(item: Mapping[str, Any]) -> bool:
    if "class_name" in item and "config" in item:
        return _is_model_entry(item)
    return isinstance(item.get("layers"), _SEQUENCE)


def _graph(entry: dict[str, Any], loss: Any, path: str | None) -> tuple[ModelGraph, dict[int, dict[str, Any]]]:
    reader = _ConfigReader(path)
    config = entry.get("config")
    name = config.get("name") if isinstance(config, Mapping) else None
    class_name = entry.get("class_name")
    reader.graph.name = name if isinstance(name, str) and name else "model"
    reader.graph.loss = loss
    if isinstance(class_name, str) and class_name not in _MODEL_CLASSES and not _is_model_entry(entry):
        # A subclassed model (`_model_entries` let only those through): its
        # config names the class, not the layers or how `call()` wires them.
        shown = class_name.rsplit(">", 1)[-1]
        if not (isinstance(name, str) and name):
            reader.graph.name = shown
        reader.graph.opaque = (
            f"{shown} is a model class of its own (not Sequential or functional): its config "
            "holds no layers, and its layers are wired in call(), which the linter does not run"
        )
        return reader.graph, reader.layer_configs
    try:
        outputs = reader.model(entry, None, "", 0)
    except RecursionError:
        raise _malformed("the config is nested too deeply to read") from None
    reader.graph.outputs = [node for node in outputs if node is not None]
    return reader.graph, reader.layer_configs


def graphs_from_config(config: dict | list, path: str | None = None) -> list[ModelGraph]:
    """Turns a serialized Keras model into the linter's graph, without Keras.

    Reads the config as plain data: nothing is deserialized, imported or run.
    Nested models are flattened into one graph (their layers named
    `"outer_layer/inner_layer"`), each call of a layer becomes a node, and
    wrappers and `RNN` cells are kept as the node's `wrapped` layer.

    Args:
        config: one of
            - `model.get_config()` of a `Sequential` or functional model;
            - the full serialized form `{"class_name": ..., "config": {...}}`
              (what `model.to_json()`, a `.keras` archive's `config.json` and
              an `.h5` file's `model_config` hold), in the Keras 3 or the
              Keras 2 / tf.keras format; its `compile_config` (or
              `training_config`) gives the graph's loss;
            - a list of such model configs, or a Keras 1 Sequential config
              (a bare list of layers).
        path: the file the config came from, recorded on the graph and as
            each node's `Location`. Defaults to None (no file).

    Returns:
        One `ModelGraph` per model, with `origin="config"`. A subclassed
        model's config (its own class, no `layers`: told from a single layer
        by its `compile_config`, or a class from outside Keras) gives a graph
        without nodes whose `opaque` says why (rule SK006).

    Raises:
        UnreadableInput: with code SK004 when the config is not a Keras model
            config (a missing `layers` key, a layer that is not a dict, an
            input read from an unknown layer, a cycle...), naming the problem.

    Example:

    >>> graph, = graphs_from_config({"class_name": "Sequential", "config": {
    ...     "name": "tiny", "layers": [
    ...         {"class_name": "LSTM", "config": {"name": "lstm", "units": 8}},
    ...         {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}})
    >>> [(node.name, node.cls) for node in graph]
    [('lstm', 'LSTM'), ('dense', 'Dense')]
    """
    return _graphs(config, path, saved_model=False)


def _graphs(config: Any, path: str | None, *, saved_model: bool) -> list[ModelGraph]:
    return [_graph(entry, loss, path)[0] for entry, loss in _model_entries(config, saved_model)]


def graphs_from_json(text: str, path: str | None = None) -> list[ModelGraph]:
    """Turns a model's config JSON text (`model.to_json()`) into graphs, without Keras.

    Args:
        text: the JSON text of a model config, in any form
            `graphs_from_config` reads (a JSON string holding that text, as
            `json.dump(model.to_json(), f)` writes it, is unwrapped).
        path: the file the text came from, if any. Defaults to None.

    Returns:
        One `ModelGraph` per model, as `graphs_from_config` returns them.

    Raises:
        TypeError: if `text` is not a string.
        UnreadableInput: SK004 when the text is not valid JSON (with the line
            and column) or not a model config.

    Example:

    >>> graph, = graphs_from_json('{"class_name": "Sequential", "config": {"name": "m", '
    ...                           '"layers": [{"class_name": "LSTM", "config": {"units": 8}}]}}')
    >>> graph.name, [node.cls for node in graph]
    ('m', ['LSTM'])
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the JSON text of a model config (a str), got {type(text).__name__}")
    what = "the file" if path is not None else "the config JSON string"
    if len(text) > MAX_CONFIG_BYTES:
        raise UnreadableInput(
            "SK004", f"{what} holds {len(text)} characters, over the limit of {MAX_CONFIG_BYTES} for a model config"
        )
    return graphs_from_config(_parse_json_text(text.lstrip("\ufeff"), what), path)


def graph_and_layer_configs(config: dict) -> tuple[ModelGraph, dict[int, dict[str, Any]]]:
    """The graph of one model config, and the layer dict each node came from.

    The model fixer edits a copy of `model.get_config()` in place through
    these dicts (setting `return_sequences`, removing a layer), so they are
    the very dicts inside `config`, not copies.

    Args:
        config: `model.get_config()` or the full serialized form of one model.

    Returns:
        `(graph, layer_configs)` where `layer_configs[node.id]` is the entry
        of `config` (a `{"class_name", "config", ...}` dict) for that node.

    Raises:
        UnreadableInput: SK004, as `graphs_from_config`, also when `config`
            holds more than one model.
    """
    entries = _model_entries(config)
    if len(entries) != 1:
        raise _malformed(f"expected one model config, got {len(entries)}")
    entry, loss = entries[0]
    return _graph(entry, loss, None)


# -- files --------------------------------------------------------------------


def _parse_json(data: bytes, path: str, what: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableInput(
            "SK001", f"{what} is not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from None
    return _parse_json_text(text, what)


def _parse_json_text(text: str, what: str) -> Any:
    try:
        value = json.loads(text)
        if isinstance(value, str):  # json.dump(model.to_json(), f) wraps the JSON in a string
            value = json.loads(value)
    except json.JSONDecodeError as error:
        raise UnreadableInput(
            "SK004",
            f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
            line=error.lineno,
            column=error.colno,
        ) from None
    except RecursionError:
        raise UnreadableInput("SK004", f"{what} is nested too deeply to read") from None
    return value


def _read_keras_archive(path: str) -> tuple[Any, str]:
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
            raise UnreadableInput(
                "SK005",
                f"not a readable .keras archive (a zip file): {error}. The file is truncated or "
                "corrupt; save the model again with model.save('model.keras')",
            ) from None
        with archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise UnreadableInput(
                    "SK005",
                    f"the archive holds {len(members)} members, over the limit of {MAX_ARCHIVE_MEMBERS}: "
                    "refused without reading it",
                )
            declared = sum(member.file_size for member in members)
            if declared > MAX_ARCHIVE_BYTES:
                raise UnreadableInput(
                    "SK005",
                    f"the archive declares {declared} uncompressed bytes, over the limit of "
                    f"{MAX_ARCHIVE_BYTES}: refused without reading it (a zip bomb?)",
                )
            config_member = next((m for m in members if m.filename == "config.json"), None)
            if config_member is None:
                raise UnreadableInput(
                    "SK005",
                    "the archive holds no config.json, so it is not a model saved by model.save(); "
                    "lint the .keras file written by model.save() or the Python source of the model",
                )
            if config_member.file_size > MAX_CONFIG_BYTES:
                raise UnreadableInput(
                    "SK005",
                    f"config.json declares {config_member.file_size} bytes, over the limit of "
                    f"{MAX_CONFIG_BYTES}: refused without reading it",
                )
            try:
                with archive.open(config_member) as member:
                    data = member.read(MAX_CONFIG_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError, ValueError) as error:
                raise UnreadableInput(
                    "SK005",
                    f"config.json cannot be read from the archive: {error}. The file is truncated or corrupt",
                ) from None
            if len(data) > MAX_CONFIG_BYTES:
                raise UnreadableInput(
                    "SK005", f"config.json holds more than {MAX_CONFIG_BYTES} bytes: refused"
                )
    return _parse_json(data, path, "config.json in the archive"), "keras"


def _read_hdf5(path: str) -> tuple[Any, Any]:
    try:
        import h5py  # h5py imports NumPy only; never TensorFlow or Keras
    except ModuleNotFoundError:
        raise UnreadableInput(
            "SK001", "reading an .h5 model file needs h5py, which is not installed: pip install h5py"
        ) from None

    try:
        handle = h5py.File(path, "r")
    except (OSError, ValueError) as error:
        raise UnreadableInput(
            "SK005",
            f"not a readable HDF5 file ({error}). The file is truncated, corrupt or not HDF5",
        ) from None
    with handle:
        try:
            attributes = handle.attrs
            if "model_config" not in attributes:
                raise UnreadableInput(
                    "SK005",
                    "the HDF5 file holds no model_config: it holds only weights (written by "
                    "save_weights()). Lint the file written by model.save(), or the Python source "
                    "that builds the model",
                )
            raw = _bounded_attribute(attributes, "model_config")
            training = _bounded_attribute(attributes, "training_config") if "training_config" in attributes else None
        except UnreadableInput:
            raise
        except (OSError, KeyError, TypeError, ValueError, RuntimeError) as error:
            raise UnreadableInput(
                "SK005", f"the HDF5 file's model_config cannot be read: {error}"
            ) from None
    config = _parse_json(raw, path, "the model_config attribute")
    training_config = None
    if training is not None:
        try:
            training_config = _parse_json(training, path, "the training_config attribute")
        except UnreadableInput:
            training_config = None  # the model is still lintable without its loss
    return config, training_config


def _bounded_attribute(attributes: Any, name: str) -> bytes:
    """An HDF5 attribute's bytes, refusing it before reading when it is too big."""
    try:
        size = attributes.get_id(name).get_storage_size()
    except (AttributeError, KeyError, OSError, RuntimeError):
        size = 0
    if size > MAX_CONFIG_BYTES:
        raise UnreadableInput(
            "SK005", f"the {name} attribute holds {size} bytes, over the limit of {MAX_CONFIG_BYTES}: refused"
        )
    # A variable-length string's storage size is that of a pointer, so the
    # text is measured again once read (it cannot outgrow the file itself).
    value = attributes[name]
    if not isinstance(value, (bytes, str)) and hasattr(value, "item"):
        value = value.item()  # a NumPy scalar or 0-d array of text
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise UnreadableInput("SK005", f"the {name} attribute is not text but {type(value).__name__}")
    if len(value) > MAX_CONFIG_BYTES:
        raise UnreadableInput(
            "SK005", f"the {name} attribute holds {len(value)} bytes, over the limit of {MAX_CONFIG_BYTES}: refused"
        )
    return value


def _sniff(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except IsADirectoryError:
        raise UnreadableInput("SK001", "is a directory, not a saved model file") from None
    except OSError as error:
        raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None


def read_saved_file(path: str | os.PathLike) -> list[ModelGraph]:
    """Reads a saved Keras model file into graphs, without Keras or TensorFlow.

    Understands `.keras` archives (only `config.json` is read, through
    `zipfile`, with size limits checked from the zip directory before reading
    and a bounded read after), legacy `.h5`/`.hdf5` files (the root's
    `model_config` attribute, through `h5py`; the loss from
    `training_config`) and `.json` files holding `model.to_json()` or
    `model.get_config()`. The file kind comes from its first bytes when they
    say zip or HDF5, else from its suffix. Nothing in the file is executed:
    `Lambda` layers and custom objects are read as data.

    Args:
        path: the file, as the user gave it (recorded on the graphs and
            their nodes' `Location`, without a line number).

    Returns:
        One `ModelGraph` per model in the file (one for `.keras` and `.h5`).

    Raises:
        UnreadableInput: SK001 when the file cannot be opened, is not UTF-8
            JSON text, or has a suffix that is not a saved model; SK004 when
            the JSON is broken or not a model config; SK005 when an archive
            or HDF5 file is truncated, corrupt, over a size limit, or holds
            no model config (a weights-only file).

    Example:

    >>> graphs = read_saved_file("model.keras")  # doctest: +SKIP
    >>> [node.cls for node in graphs[0]]  # doctest: +SKIP
    ['InputLayer', 'LSTM', 'LSTM', 'Dense']
    """
    path_text = os.fspath(path)
    suffix = os.path.splitext(path_text)[1].lower()
    head = _sniff(path_text)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC) or (suffix == ".keras" and not head.startswith(_HDF5_MAGIC)):
        config, _ = _read_keras_archive(path_text)
        return _graphs(config, path_text, saved_model=True)
    if head.startswith(_HDF5_MAGIC) or suffix in (".h5", ".hdf5"):
        config, training_config = _read_hdf5(path_text)
        if isinstance(config, Mapping) and isinstance(training_config, Mapping) and "training_config" not in config and "compile_config" not in config:
            config = dict(config, training_config=training_config)
        return _graphs(config, path_text, saved_model=True)
    if suffix == ".json":
        try:
            size = os.path.getsize(path_text)
        except OSError as error:
            raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None
        if size > MAX_CONFIG_BYTES:
            raise UnreadableInput(
                "SK004", f"the JSON file holds {size} bytes, over the limit of {MAX_CONFIG_BYTES} for a model config"
            )
        try:
            with open(path_text, "rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as error:
            raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None
        return graphs_from_config(_parse_json(data, path_text, "the file"), path_text)
    raise UnreadableInput(
        "SK001",
        f"{suffix or 'a file without a suffix'} is not a saved model kind "
        f"(expected one of {', '.join(SAVED_FILE_SUFFIXES)})",
    )

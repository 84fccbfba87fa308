"""The walk over a model config: Sequential, functional and nested models into a ModelGraph.

Turns one serialized model (plain dicts and lists, in the Keras 3 or the
Keras 2 form; `config_forms` reads the two forms of the wiring) into the
shared `ModelGraph`. A model nested in another is flattened into the outer
graph: its layers become nodes named `"inner/lstm"`, its input layers
disappear and the outer layers feeding it are wired to the inner layers that
read those inputs. Each call of a layer is one node. Nothing is
deserialized: `Lambda` and custom layers stay strings in a dict.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stacked_keras.graph import (
    RECURRENT_LAYERS,
    WRAPPERS,
    LayerNode,
    Location,
    ModelGraph,
    canonical_class,
)
from stacked_keras.keras_catalogue import (
    MODEL_CLASSES as _MODEL_CLASSES,
    SHAPE_OPS as _SHAPE_OPS,
    STACK_LAYERS,
    TF_OP_LAYERS as _TF_OP_LAYERS,
    stack_class,
)
from stacked_keras.lint.config_forms import _SEQUENCE, Call, _malformed, _short, layer_calls, references
from stacked_keras.lint.keras_names import custom_class_name, loss_name, op_name

__all__ = ["MAX_NESTING", "graph_of_entry", "model_entries"]

# How deep models may be nested inside models (lower it here to be stricter).
MAX_NESTING = 32


def _is_model_entry(entry: Mapping[str, Any]) -> bool:
    """Whether a serialized layer is a whole (nested) model."""
    config = entry.get("config")
    if isinstance(config, _SEQUENCE):
        # Keras 1 / early Keras 2: a Sequential's config is its layer list.
        return entry.get("class_name") == "Sequential"
    return isinstance(config, Mapping) and isinstance(config.get("layers"), _SEQUENCE)


def _is_functional_config(config: Any) -> bool:
    return isinstance(config, Mapping) and ("input_layers" in config or "output_layers" in config)


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
            if cls in STACK_LAYERS and stack_class(class_name, registered, module) is None:
                cls = custom_class_name(class_name, registered, module)  # another package's class
            elif cls in RECURRENT_LAYERS or cls in WRAPPERS or cls in _MODEL_CLASSES:
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

        input_names = [ref[0] for ref in references(config.get("input_layers"), "input_layers", scope)]
        # What each layer call produced: (layer, call index) -> node ids per output tensor.
        produced: dict[tuple[str, int], list[int | None]] = {}
        pending: list[Call] = []
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
            calls = layer_calls(entry, name, scope)
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
            remaining: list[Call] = []
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
        for ref_name, node_index, tensor_index in references(config.get("output_layers"), "output_layers", scope):
            if ref_name not in by_name:
                raise _malformed(f"'output_layers' of {scope} names {ref_name!r}, which is not a layer of that model")
            ok, source = resolve(ref_name, node_index, tensor_index, _is_functional_config(by_name[ref_name].get("config")))
            if not ok:
                raise _malformed(f"'output_layers' of {scope} names a call of {ref_name!r} that never happens")
            outputs.append(source)
        return outputs


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


def _layer_name(entry: Mapping[str, Any]) -> str:
    name = entry.get("name")
    if isinstance(name, str):
        return name
    config = entry.get("config")
    return config.get("name") if isinstance(config, Mapping) else "?"


# -- model entries -------------------------------------------------------------


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


def model_entries(config: Any, saved_model: bool = False) -> list[tuple[dict[str, Any], Any]]:
    """Splits what the caller gave into `(model entry, loss)` pairs.

    `saved_model` says the config is the top of a `.keras` or `.h5` file,
    which only holds models.
    """
    if isinstance(config, _SEQUENCE):
        if config and all(isinstance(item, Mapping) and _looks_like_model(item) for item in config):
            return [pair for item in config for pair in model_entries(item)]
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


def graph_of_entry(entry: dict[str, Any], loss: Any, path: str | None) -> tuple[ModelGraph, dict[int, dict[str, Any]]]:
    reader = _ConfigReader(path)
    config = entry.get("config")
    name = config.get("name") if isinstance(config, Mapping) else None
    class_name = entry.get("class_name")
    reader.graph.name = name if isinstance(name, str) and name else "model"
    reader.graph.loss = loss
    if isinstance(class_name, str) and class_name not in _MODEL_CLASSES and not _is_model_entry(entry):
        # A subclassed model (`model_entries` lets only those through): its
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

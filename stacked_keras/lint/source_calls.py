"""Evaluated Keras calls, turned into the source front-end's dag of layers and its model records.

`KerasCallsMixin` is part of `SourceFrontEnd` (see `source_graph.py`): it
builds layers (`LSTM(32)`: a `LayerValue` holding the layer's `LayerNode`,
its arguments read as Keras reads them, positional ones included, from
`stacked_keras.keras_catalogue`), applies layers and models to tensors
(`DagNode`s in `self.dag`), and records the models: `Sequential([...])` and
its `.add`/`.pop`, `Model(inputs, outputs)`, a subclassed model's `call`,
and `compile(loss=...)`.
"""

from __future__ import annotations

import ast
from typing import Any

from stacked_keras.graph import UNKNOWN, LayerNode
from stacked_keras.keras_catalogue import (
    BOOLEAN_KEYS as _BOOLEAN_KEYS,
    CALL_ARGUMENTS as _POSITIONAL,
    KERAS_DEFAULTS,
    KERAS_LAYER_NAMES as _KERAS_LAYER_NAMES,
    RECURRENT_LAYERS,
    STACK_LAYERS,
)
from stacked_keras.lint.pyeval import (
    MISSING,
    CallArgs,
    ClassValue,
    FunctionValue,
    MethodRef,
    ModuleRef,
    ObjectValue,
    UnknownLengthList,
)
from stacked_keras.lint.pyeval.values import PLAIN_SCALARS, dotted_name, known_sequence
from stacked_keras.lint.source_partial import PARTIAL, PartialLayer
from stacked_keras.lint.source_arrays import ArrayValue, array_call, array_method, fit_targets
from stacked_keras.lint.source_values import (
    ACTIVATION,
    INPUT,
    LAYER,
    MERGE,
    MODEL,
    OBJECT,
    OP,
    SEQUENTIAL,
    KerasObject,
    LayerChoice,
    LayerValue,
    ModelRecord,
    TensorValue,
    keras_kind,
    loss_name,
)

__all__ = ["KerasCallsMixin"]


class KerasCallsMixin:
    """Layers, `Sequential`, functional and subclassed models, from evaluated calls."""

    # -- the Hooks.call and Hooks.unknown_call hooks ---------------------------------------------
    def call(self, callee: Any, arguments: CallArgs, node: ast.Call) -> Any:
        """A layer or model, or a model's method, called."""
        if isinstance(callee, MethodRef):
            if isinstance(callee.receiver, ArrayValue):
                return array_method(callee, arguments)
            return self._call_model_method(callee, arguments, node)
        if isinstance(callee, (LayerValue, LayerChoice, ModelRecord, ObjectValue)):
            return self._apply(callee, arguments, node)
        if isinstance(callee, PartialLayer):
            return self._call_partial(callee, arguments, node)
        return self.unknown_call(dotted_name(node.func) or "call", arguments, node)

    def unknown_call(self, name: str, arguments: CallArgs, node: ast.Call | None, config: dict[str, Any] | None = None,
                     ) -> Any:
        """A call the evaluator cannot follow: an op node when tensors go in, else UNKNOWN."""
        inputs = self._tensor_inputs(arguments.args) + self._tensor_inputs(list(arguments.kwargs.values()))
        if not inputs or node is None:
            return UNKNOWN
        short = name.rsplit(".", 1)[-1]
        template = LayerNode(name="", cls=short, config=config or {}, location=self.location(node), kind="op")
        return TensorValue((self._new_node(template, self._edges(inputs, "input")),))

    def _tensor_inputs(self, value: Any, depth: int = 0) -> list[tuple[int, ...]]:
        """The producers of every tensor in a value, one tuple per tensor."""
        if isinstance(value, TensorValue):
            return [value.producers]
        if depth < 3 and isinstance(value, (list, tuple)):
            found = []
            for item in value:
                found.extend(self._tensor_inputs(item, depth + 1))
            return found
        if depth < 3 and isinstance(value, dict):
            return self._tensor_inputs(list(value.values()), depth + 1)
        return []

    @staticmethod
    def _edges(inputs: list[tuple[int, ...]], role: str) -> list[tuple[int, str, int]]:
        edges = []
        for index, producers in enumerate(inputs):
            for producer in producers:
                edges.append((producer, role, index))
        return edges

    # -- Keras names called (the Hooks.call_module hook) --------------------------------------------
    def call_module(self, ref: ModuleRef, arguments: CallArgs, node: ast.Call) -> Any:
        """A Keras name called: a layer built, a model started, an op applied; other names as unknown calls."""
        found = keras_kind(ref.path)
        if found is None:
            if ref.path == PARTIAL:
                return self._make_partial(arguments, node)
            array = array_call(ref.path, arguments)  # NumPy arrays, `to_categorical`, `train_test_split`
            if array is not None and array is not UNKNOWN:
                return array
            return self.unknown_call(ref.path, arguments, node)
        kind, name = found
        if kind == LAYER:
            return self._build_layer(name, arguments, node)
        if kind == SEQUENTIAL:
            return self._build_sequential(arguments, node)
        if kind == MODEL:
            return self._build_functional(arguments, node)
        if kind == INPUT:
            template = self._build_layer("InputLayer", arguments, node).template
            return TensorValue((self._new_node(template, []),))
        if kind == MERGE:
            layer = self._build_layer(name, CallArgs(), node)
            applied = CallArgs()
            applied.args = arguments.args[:1]
            for key, value in arguments.kwargs.items():
                if key == "inputs":
                    applied.args = [value]
                else:
                    layer.template.config[key] = self._config_value(key, value)
            return self._apply(layer, applied, node)
        if kind == OBJECT:
            config = {k: self._config_value(k, v) for k, v in arguments.kwargs.items()}
            return KerasObject(ref.path.split(".")[1], name, config)
        if kind in (OP, ACTIVATION):
            config: dict[str, Any] = {}
            if name == "expand_dims" and len(arguments.args) > 1:
                config["axis"] = self._config_value("axis", arguments.args[1])
            elif name == "reshape" and len(arguments.args) > 1:
                config["shape"] = self._config_value("shape", arguments.args[1])
            for key, value in arguments.kwargs.items():
                if not isinstance(value, TensorValue):
                    config[key] = self._config_value(key, value)
            return self.unknown_call(name, arguments, node, config)
        return UNKNOWN

    def _config_value(self, key: str, value: Any, depth: int = 0) -> Any:
        """A value as it goes into `LayerNode.config`: literals, or UNKNOWN."""
        if value is UNKNOWN:
            return UNKNOWN
        if key in _BOOLEAN_KEYS and isinstance(value, PLAIN_SCALARS):
            return bool(value)
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, UnknownLengthList) or depth > 4:
            return UNKNOWN
        if isinstance(value, (list, tuple)):
            items = [self._config_value(key, item, depth + 1) for item in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {k: self._config_value(k, v, depth + 1) for k, v in value.items() if isinstance(k, str)}
        if isinstance(value, ModuleRef):
            found = keras_kind(value.path)
            if found is not None and found[0] in (ACTIVATION, OBJECT, OP):
                return found[1]
            return UNKNOWN
        if isinstance(value, KerasObject):
            return {"class_name": value.class_name, "config": dict(value.config)}
        return UNKNOWN

    def _template_of(self, value: Any, node: ast.AST) -> LayerNode | None:
        if isinstance(value, LayerValue):
            return value.template
        if isinstance(value, ObjectValue):
            return self._object_template(value, node)
        if isinstance(value, (list, tuple)) and value and not isinstance(value, UnknownLengthList):
            cells = [self._template_of(item, node) for item in value]
            if all(cell is not None for cell in cells):
                return LayerNode(name="", cls="StackedRNNCells",
                                 config={"cells": [cell.cls for cell in cells]},
                                 location=self.location(node))
        return None

    def _object_template(self, obj: ObjectValue, node: ast.AST) -> LayerNode:
        """The node of a layer whose class the user wrote: opaque, named after the class.

        A user class that shares a Keras layer's name (`class LSTM: ...`) is
        spelled `"Custom>LSTM"`, so that no rule mistakes it for the Keras layer.
        """
        if obj.template is None:
            cls = obj.cls.name
            if cls in _KERAS_LAYER_NAMES:
                cls = f"Custom>{cls}"
            obj.template = LayerNode(name="", cls=cls, config={}, location=self.location(node))
        return obj.template

    def _build_layer(self, cls: str, arguments: CallArgs, node: ast.Call) -> LayerValue:
        names = _POSITIONAL.get(cls, ())
        config: dict[str, Any] = {}
        state: dict[str, Any] = {"wrapped": None, "name": ""}
        source = "default"

        def put(key: str, value: Any) -> None:
            if key in ("layer", "cell"):
                state["wrapped"] = self._template_of(value, node)
            elif key == "name":
                state["name"] = value if isinstance(value, str) else ""
            elif key not in ("backward_layer", "weights", "cells"):
                config[key] = self._config_value(key, value)
            elif key == "cells":
                config[key] = [t.cls if t is not None else UNKNOWN
                               for t in (self._template_of(v, node) for v in (known_sequence(value) or []))]

        for index, value in enumerate(arguments.args[:len(names)]):
            put(names[index], value)
            if names[index] == "return_sequences":
                source = "positional"
        if arguments.star_unknown:
            for key in names[len(arguments.args):]:
                if key not in arguments.kwargs:
                    config[key] = UNKNOWN
            if "return_sequences" in names[len(arguments.args):]:
                source = "double_star"
        for key, value in arguments.kwargs.items():
            put(key, value)
        if "return_sequences" in arguments.keyword_nodes:
            source = "keyword"
        elif "return_sequences" in arguments.double_star_keys:
            source = "double_star"
        if arguments.kw_unknown:
            for key in KERAS_DEFAULTS.get(cls, {"return_sequences": False} if cls in STACK_LAYERS else {}):
                config.setdefault(key, UNKNOWN)
            if "return_sequences" not in arguments.keyword_nodes:
                source = "double_star"
        template = LayerNode(
            name=state["name"], cls=cls, config=config, wrapped=state["wrapped"], location=self.location(node),
            kind="input" if cls == "InputLayer" else "layer",
        )
        if cls in RECURRENT_LAYERS or cls in STACK_LAYERS:  # a stack's flag is its top layer's
            self._record_layer_call(template, node, source)
        return LayerValue(template, self.evaluator.frame.id)

    # -- models --------------------------------------------------------------------------------------
    def _build_sequential(self, arguments: CallArgs, node: ast.Call) -> ModelRecord:
        record = self._new_record(SEQUENTIAL, node)
        name = arguments.kwargs.get("name", arguments.args[2] if len(arguments.args) > 2 else None)
        record.keras_name = name if isinstance(name, str) else None
        layers = arguments.args[0] if arguments.args else arguments.kwargs.get("layers")
        if layers is None:
            return record
        items = list(layers) if isinstance(layers, (list, tuple)) else None
        if items is None:
            self._sequential_add(record, UNKNOWN, node)
        else:
            for item in items:
                self._sequential_add(record, item, node)
        return record

    def _sequential_add(self, record: ModelRecord, value: Any, node: ast.AST) -> None:
        if isinstance(value, TensorValue):
            for producer in value.producers:
                if producer not in record.members:
                    record.members.append(producer)
            record.frontier = value.producers
            return
        if isinstance(value, LayerValue):
            record.frontier = (self._add_member(record, value.template),)
        elif isinstance(value, ObjectValue):
            record.frontier = (self._add_member(record, self._object_template(value, node)),)
        elif isinstance(value, LayerChoice):
            frontier = []
            base = record.frontier
            for option in value.options:
                record.frontier = base
                self._sequential_add(record, option, node)
                frontier.extend(record.frontier)
            record.frontier = tuple(frontier)
        elif isinstance(value, ModelRecord):
            new_ids, outputs = self._replicate(value, [record.frontier] if record.frontier else [])
            record.members.extend(new_ids)
            record.frontier = outputs
        else:
            name = dotted_name(node.args[0]) if isinstance(node, ast.Call) and node.args else ""
            cls = name.rsplit(".", 1)[-1] or "unknown"
            if cls in _KERAS_LAYER_NAMES:  # `from mylib import LSTM`: not Keras's, whatever its name
                cls = f"Custom>{cls}"
            template = LayerNode(name="", cls=cls, config={}, location=self.location(node))
            record.frontier = (self._add_member(record, template),)

    def _add_member(self, record: ModelRecord, template: LayerNode) -> int:
        node_id = self._new_node(template, [(p, "input", 0) for p in record.frontier])
        record.members.append(node_id)
        return node_id

    def _build_functional(self, arguments: CallArgs, node: ast.Call) -> Any:
        inputs = arguments.args[0] if arguments.args else arguments.kwargs.get("inputs", MISSING)
        outputs = arguments.args[1] if len(arguments.args) > 1 else arguments.kwargs.get("outputs", MISSING)
        if outputs is MISSING:
            return UNKNOWN
        output_ids = [p for producers in self._tensor_inputs(outputs) for p in producers]
        if not output_ids:
            return UNKNOWN
        input_ids = [p for producers in self._tensor_inputs(inputs) for p in producers]
        record = self._new_record(MODEL, node)
        name = arguments.kwargs.get("name")
        record.keras_name = name if isinstance(name, str) else None
        record.inputs = input_ids
        record.outputs = output_ids
        record.members = sorted(self._closure(output_ids, set(input_ids)))
        return record

    def _closure(self, outputs: list[int], stop: set[int]) -> set[int]:
        """The dag nodes the outputs depend on, back to (and including) `stop`."""
        seen: set[int] = set()
        pending = list(outputs)
        while pending:
            node_id = pending.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            if node_id in stop:
                continue
            pending.extend(src for src, _, _ in self.dag[node_id].inputs)
        return seen

    def _replicate(self, record: ModelRecord, given: list[tuple[int, ...]]) -> tuple[list[int], tuple[int, ...]]:
        """Applies a whole model to tensors: copies its nodes, wired to `given`."""
        record.nested = True
        if record.kind == SEQUENTIAL:
            inputs = [m for m in record.members[:1] if self.dag[m].template.kind == "input"]
            outputs = list(record.frontier)
        else:
            inputs = list(record.inputs)
            outputs = list(record.outputs)
        everything: tuple[int, ...] = tuple(p for producers in given for p in producers)
        mapping: dict[int, tuple[int, ...]] = {}
        if len(given) == len(inputs):
            for input_id, producers in zip(inputs, given):
                mapping[input_id] = producers
        else:
            for input_id in inputs:
                mapping[input_id] = everything
        member_set = set(record.members)
        new_ids = []
        for member in sorted(member_set):
            if member in mapping:
                continue
            original = self.dag[member]
            if original.template.kind == "input":
                mapping[member] = everything
                continue
            edges = []
            for src, role, index in original.inputs:
                for producer in (mapping.get(src, ()) if src in member_set else (src,)):
                    edges.append((producer, role, index))
            if not original.inputs:
                edges = [(p, "input", 0) for p in everything]
            new_id = self._new_node(original.template, edges)
            mapping[member] = (new_id,)
            new_ids.append(new_id)
        result: list[int] = []
        for output in outputs:
            for producer in mapping.get(output, ()):
                if producer not in result:
                    result.append(producer)
        return new_ids, tuple(result)

    def _apply(self, layer: Any, arguments: CallArgs, node: ast.Call) -> Any:
        """Calls a layer or a model on tensors: `LSTM(8)(x, initial_state=[h, c])`."""
        inputs = arguments.args[0] if arguments.args else arguments.kwargs.get("inputs", UNKNOWN)
        given = self._tensor_inputs(inputs)
        if isinstance(layer, ModelRecord):
            if not given:
                return UNKNOWN
            _, outputs = self._replicate(layer, given)
            return TensorValue(outputs, multi=len(layer.outputs) > 1)
        if isinstance(layer, LayerChoice):
            produced: list[int] = []
            multi = False
            for option in layer.options:
                result = self._apply(option, arguments, node)
                if isinstance(result, TensorValue):
                    produced.extend(result.producers)
                    multi = multi or result.multi
            return TensorValue(tuple(produced), multi)
        template = self._object_template(layer, node) if isinstance(layer, ObjectValue) else layer.template
        edges = self._edges(given, "input")
        state = arguments.kwargs.get("initial_state")
        if state is not None:
            edges.extend(self._edges(self._tensor_inputs(state), "initial_state"))
        node_id = self._new_node(template, edges)
        core = template
        while core.wrapped is not None and core.cls in ("Bidirectional", "TimeDistributed"):
            core = core.wrapped
        returns_state = core.config.get("return_state", False)
        return TensorValue((node_id,), multi=returns_state is UNKNOWN or returns_state is True)

    def _call_model_method(self, method: MethodRef, arguments: CallArgs, node: ast.Call) -> Any:
        """`model.add(...)`, `model.pop()`, `model.compile(loss=...)`; other methods of a model are ops."""
        receiver, name = method.receiver, method.name
        if not (isinstance(receiver, ModelRecord) or (isinstance(receiver, ObjectValue) and receiver.record)):
            return UNKNOWN
        record = receiver if isinstance(receiver, ModelRecord) else receiver.record
        args = arguments.args
        if name == "add" and record.kind == SEQUENTIAL:
            value = args[0] if args else arguments.kwargs.get("layer", UNKNOWN)
            self._sequential_add(record, value, node)
            return None
        if name == "pop" and record.kind == SEQUENTIAL and record.members and not self.evaluator.uncertain:
            last = record.members.pop()
            record.frontier = tuple(src for src, _, _ in self.dag[last].inputs)
            return UNKNOWN
        if name == "compile":
            loss = arguments.kwargs.get("loss", args[1] if len(args) > 1 else None)
            record.loss = loss_name(loss) if not self.evaluator.uncertain or record.loss is None else UNKNOWN
            return None
        if name == "fit":
            self.fit_targets.setdefault(record, []).extend(
                (shape, self.location(node)) for shape in fit_targets(arguments))
        return self.unknown_call(name, arguments, node)

    # -- subclassed models ---------------------------------------------------------------------------
    def first_instance(self, cls: ClassValue, obj: ObjectValue) -> None:
        """A `keras.Model` or `keras.layers.Layer` subclass: its `call` is analysed once."""
        call = cls.lookup("call")
        if isinstance(call, FunctionValue):
            self._analyse_call(cls, obj, call)

    def _analyse_call(self, cls: ClassValue, obj: ObjectValue, call: FunctionValue) -> None:
        """Runs a subclassed model's `call` on a symbolic input and records its graph.

        The input parameter is a tensor with no producer (the model's implicit
        input); the other parameters (`training`, `mask`, ...) are UNKNOWN.
        """
        spec = call.node.args
        params = [a.arg for a in spec.posonlyargs] + [a.arg for a in spec.args]
        arguments = CallArgs()
        if len(params) > 1:
            arguments.args = [TensorValue(())] + [UNKNOWN] * (len(params) - 2)
        for param in spec.kwonlyargs:
            arguments.kwargs[param.arg] = UNKNOWN
        first_node = len(self.dag)
        result = self.evaluator.call_function(call, arguments, None, receiver=obj)
        record = self._new_record("subclass", cls.node)
        record.name = cls.name
        if self.assumed:  # `class Net(Model)` with `Model` never imported
            self._mark_assumed(record, [base.id for base in cls.node.bases
                                        if isinstance(base, ast.Name) and base.id in self.assumed])
        outputs = [p for producers in self._tensor_inputs(result) for p in producers]
        created = list(range(first_node, len(self.dag)))
        if outputs:
            record.outputs = outputs
            record.members = sorted(self._closure(outputs, set()) & set(created)) or created
        else:
            record.members = created
            consumed = {src for node_id in created for src, _, _ in self.dag[node_id].inputs}
            record.outputs = [node_id for node_id in created if node_id not in consumed]
        obj.record = record

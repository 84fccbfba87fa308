"""The two serialized forms of a functional model's wiring: Keras 3 and Keras 2.

A functional config lists, for each layer, the calls that made its outputs
(`inbound_nodes`), and the model's `input_layers` / `output_layers`:

- Keras 3 (`.keras`, `to_json()`, `get_config()`, the `.h5` files Keras 3
  writes): each call is `{"args": [...], "kwargs": {...}}`, whose tensors are
  `{"class_name": "__keras_tensor__", "config": {"keras_history": [layer,
  node, tensor]}}`.
- Keras 2 / tf.keras (old `.h5` files): each call is a list of `[layer_name,
  node_index, tensor_index, kwargs]` references (`TFOpLambda` ops keep their
  first argument's nesting); a nested functional model's call numbers count
  its own graph as call 0.

`layer_calls` reads either form into `Call`s for the walk in `config_walk`;
`references` reads `input_layers` / `output_layers`. Plain data, no Keras.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from stacked_keras.graph import RECURRENT_LAYERS, canonical_class
from stacked_keras.keras_catalogue import KERAS_TENSOR_MARKER as _KERAS_TENSOR
from stacked_keras.lint.findings import UnreadableInput

__all__ = ["Call", "layer_calls", "references"]

# A live `get_config()` holds tuples where JSON holds lists.
_SEQUENCE = (list, tuple)


def _malformed(message: str) -> UnreadableInput:
    return UnreadableInput("SK004", f"not a readable Keras model config: {message}")


def _short(value: Any, limit: int = 80) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Call:
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


def _kwarg_role(key: Any) -> str:
    if key in ("initial_state", "mask"):
        return str(key)
    return "input"


def references(value: Any, key: str, scope: str) -> list[tuple[str, int, int]]:
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


def layer_calls(entry: Mapping[str, Any], name: str, scope: str) -> list[Call]:
    """The calls of one layer, from its `inbound_nodes`, in either form."""
    inbound = entry.get("inbound_nodes", [])
    if inbound is None:
        inbound = []
    if not isinstance(inbound, _SEQUENCE):
        raise _malformed(f"'inbound_nodes' of layer {name!r} in {scope} is not a list")
    recurrent = canonical_class(str(entry.get("class_name"))) in RECURRENT_LAYERS | {"Bidirectional"}
    calls = []
    for index, node_data in enumerate(inbound):
        call = Call(entry, index)
        if isinstance(node_data, Mapping):
            _read_keras3_call(call, node_data, recurrent, f"call {index} of layer {name!r} in {scope}")
        elif isinstance(node_data, _SEQUENCE):
            _read_keras2_call(call, node_data, recurrent)
        else:
            raise _malformed(f"call {index} of layer {name!r} in {scope} is {_short(node_data)}, not a dict or list")
        calls.append(call)
    return calls


# -- Keras 3 -------------------------------------------------------------------


def _read_keras3_call(call: Call, node_data: Mapping[str, Any], recurrent: bool, where: str) -> None:
    """Adds the tensors of one `{"args", "kwargs"}` call to `call.inputs`."""
    args = node_data.get("args", [])
    kwargs = node_data.get("kwargs", {})
    if not isinstance(args, _SEQUENCE) or not isinstance(kwargs, Mapping):
        raise _malformed(f"{where} has malformed 'args' or 'kwargs'")
    for position, arg in enumerate(args):
        role = "initial_state" if (recurrent and position > 0) else "input"
        for ref in _keras3_tensors(arg):
            call.inputs.append((*ref, role, False))
    for key, value in kwargs.items():
        role = _kwarg_role(key)
        for ref in _keras3_tensors(value):
            call.inputs.append((*ref, role, False))


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


# -- Keras 2 / tf.keras ----------------------------------------------------------


def _read_keras2_call(call: Call, node_data: Any, recurrent: bool) -> None:
    """Adds the references of one `[[name, node, tensor, kwargs], ...]` call to `call.inputs`."""
    # The first argument's tensors, in their nesting (a TFOpLambda keeps it:
    # `tf.concat([a, b], 1)`); constants are skipped.
    for position, ref in enumerate(_legacy_references(node_data)):
        role = "initial_state" if (recurrent and position > 0) else "input"
        call.inputs.append((ref[0], ref[1], ref[2], role, True))
        if len(ref) == 4:
            for key, value in ref[3].items():
                for inner in _keras2_references(value):
                    call.inputs.append((*inner, _kwarg_role(key), True))


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

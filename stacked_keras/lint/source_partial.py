"""`functools.partial` of a Keras name: `RNN = partial(keras.layers.LSTM, 64, return_sequences=True)`.

Hands-On Machine Learning and many notebooks define their layers this way
(`DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3)`). The
partial is a `PartialLayer` value; calling it (`RNN()`,
`RNN(return_sequences=False)`) builds the Keras layer with the merged
arguments, as Python does: the partial's positional arguments first, then the
call's; the call's keywords override the partial's. The layer is located at
the call (`RNN(...)`), the line a user changes.

What `lint --fix` edits (`LayerCall.return_sequences_from`): a
`return_sequences` keyword written at the call is replaced there; one the
call leaves to the partial (or to the Keras default) is added to the call,
where it overrides the partial (`"partial"` when the partial sets it). A
value the partial gives positionally cannot be overridden by a keyword: the
fixer says so and leaves it.

`PartialsMixin` is part of `SourceFrontEnd` (see `source_graph.py`).
"""

from __future__ import annotations

import ast
import dataclasses
from typing import Any

from stacked_keras.lint.pyeval import CallArgs, External, ModuleRef
from stacked_keras.lint.source_values import LayerValue, keras_kind

__all__ = ["PartialLayer", "PartialsMixin", "PARTIAL"]

# The canonical path of `functools.partial` (also `from functools import partial`, `import functools as ft`).
PARTIAL = "functools.partial"


class PartialLayer(External):
    """`functools.partial(keras_name, *args, **kwargs)`: the Keras name and the arguments fixed.

    `node` is the `partial(...)` call, for the fixer's messages.
    """

    __slots__ = ("ref", "arguments", "node")

    def __init__(self, ref: ModuleRef, arguments: CallArgs, node: ast.Call) -> None:
        self.ref = ref
        self.arguments = arguments
        self.node = node


def _merged(first: CallArgs, then: CallArgs, keyword_nodes: dict[str, ast.keyword]) -> CallArgs:
    """The arguments of `partial(f, *first)(*then)`: positional ones joined, later keywords winning."""
    merged = CallArgs()
    # After a `*args` of unknown length in the partial, where the call's positional arguments land is unknown.
    merged.args = list(first.args) if first.star_unknown else list(first.args) + list(then.args)
    merged.kwargs = {**first.kwargs, **then.kwargs}
    merged.star_unknown = first.star_unknown or then.star_unknown
    merged.kw_unknown = first.kw_unknown or then.kw_unknown
    merged.keyword_nodes = keyword_nodes
    merged.double_star_keys = (first.double_star_keys - set(then.kwargs)) | then.double_star_keys
    return merged


class PartialsMixin:
    """Builds `PartialLayer`s from `functools.partial(...)` and Keras layers from their calls."""

    def _make_partial(self, arguments: CallArgs, node: ast.Call) -> Any:
        """`functools.partial(target, ...)`: a `PartialLayer` when the target is a Keras name (or one)."""
        if not arguments.args:  # the callable is positional-only (or hidden in an unknown *args)
            return self.unknown_call(PARTIAL, arguments, node)
        target = arguments.args[0]
        rest = CallArgs()
        rest.args = list(arguments.args[1:])
        rest.kwargs = dict(arguments.kwargs)
        rest.star_unknown = arguments.star_unknown
        rest.kw_unknown = arguments.kw_unknown
        rest.double_star_keys = set(arguments.double_star_keys)
        if isinstance(target, PartialLayer):  # partial(partial(LSTM, 64), return_sequences=True)
            return PartialLayer(target.ref, _merged(target.arguments, rest, {}), node)
        if isinstance(target, ModuleRef) and keras_kind(target.path) is not None:
            return PartialLayer(target, rest, node)
        return self.unknown_call(PARTIAL, arguments, node)

    def _call_partial(self, partial: PartialLayer, arguments: CallArgs, node: ast.Call) -> Any:
        """`RNN(...)` where `RNN` is a partial: the Keras name called with the merged arguments."""
        fixed = partial.arguments
        result = self.call_module(partial.ref, _merged(fixed, arguments, dict(arguments.keyword_nodes)), node)
        if isinstance(result, LayerValue) and "return_sequences" not in arguments.kwargs:
            location = result.template.location
            key = (location.cell, location.line, location.column)
            layer_call = self.layer_calls.get(key)
            if layer_call is not None and layer_call.call is node:
                source, reason = layer_call.return_sequences_from, None
                if source == "positional" and fixed.args:
                    cell, line = self.cell_position(partial.node.lineno)
                    where = f"line {line}" + (f" of cell {cell}" if cell is not None else "")
                    source = "partial"
                    reason = (f"return_sequences is given positionally to the functools.partial at {where}, "
                              "so a keyword cannot override it; change that partial by hand")
                elif source == "default" and "return_sequences" in fixed.kwargs:
                    source = "partial"
                if source != layer_call.return_sequences_from:
                    self.layer_calls[key] = dataclasses.replace(
                        layer_call, return_sequences_from=source, reason=reason)
        return result

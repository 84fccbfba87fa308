"""Where a recurrent layer's `return_sequences` was written: what `lint --fix` edits.

Usually the layer's constructor call (`LSTM(8, return_sequences=True)`).
When the value came through the parameters of a user function (`def
block(x, seq): return LSTM(8, return_sequences=seq)(x)`), it is the call of
that function that gave the argument (`block(inp, False)`, followed through
helpers that pass the parameter on), or the parameter's default in the
signature when the function is analysed on its own. A layer returned by a
helper that takes parameters (`def block(units): return LSTM(units)`) is
located at the helper's call site, which the fixer does not edit.

`OriginsMixin` is part of `SourceFrontEnd` (see `source_graph.py`); it reads
the Python evaluator's frames (`stacked_keras.lint.pyeval.Frame`), which
remember how each call of a user function was made.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Any

from stacked_keras.graph import LayerNode, Location
from stacked_keras.keras_catalogue import POSITIONAL_ARGUMENTS as _POSITIONAL, RECURRENT_LAYERS, STACK_LAYERS
from stacked_keras.lint.fix_loops import EnclosingLoop, enclosing_loop
from stacked_keras.lint.pyeval import MAX_CALL_DEPTH, Frame, FunctionValue, Scope
from stacked_keras.lint.source_values import LayerValue

__all__ = ["LayerCall", "OriginsMixin"]


@dataclass(frozen=True)
class _Origin:
    """Where a layer's `return_sequences` value was written, when it came through parameters.

    `kind` is `"call_argument"` (the argument given, or not given, for
    `parameter` at the call `call` of `function`) or `"parameter_default"`
    (the default `argument` of `parameter` in the signature of a function
    analysed on its own). `argument` is None when the call leaves the
    parameter to its default; `reason` then says why the fixer cannot add it
    (None when it can).
    """

    kind: str
    location: Location
    parameter: str
    function: str
    call: ast.Call | None
    argument: ast.expr | None
    reason: str | None = None


@dataclass(frozen=True)
class LayerCall:
    """The place that sets a recurrent layer's `return_sequences`, as the fixer needs it.

    Usually the layer's constructor call. When the value came through the
    parameters of a user function (`def block(x, seq): LSTM(8,
    return_sequences=seq)(x)`), it is the call of that function that gave the
    argument (`block(inp, False)`), or the parameter's default when the
    function is analysed on its own.

    Args:
        call: the `ast.Call` node (positions in UTF-8 bytes, as `ast` gives):
            the layer's constructor, or the user function's call.
        cls: the canonical Keras class (`"LSTM"`).
        return_sequences_from: where `return_sequences` comes from:
            `"keyword"`, `"positional"` (`RNN(cell, False)`), `"double_star"`
            (a `**config` dict, or unknown `**kwargs`), `"default"` (not
            given: the Keras default), `"call_argument"` (the argument given
            for `parameter` at `call`, or `argument` None when the call
            leaves it to its default), `"parameter_default"` (the default
            `argument` of `parameter` in the signature), `"helper"` (a
            layer returned by `function`, which has no parameter for it) or
            `"partial"` (a `functools.partial` sets it: the fixer adds the
            keyword at `call`, unless `reason` says why it cannot).
        cell: the notebook cell (counting every cell, 1-based), or None.
        argument: for `"call_argument"` and `"parameter_default"`, the
            expression to replace, or None when there is none.
        parameter: the user function's parameter that carries the value.
        function: the user function's name.
        reason: why the fixer cannot set the value here, or None.
        loops: the evaluator's loops running when the layer was built
            (`stacked_keras.lint.pyeval.Loop`, innermost last); `loop` is
            the one whose body holds `call`.
    """

    call: ast.Call
    cls: str
    return_sequences_from: str
    cell: int | None = None
    argument: ast.expr | None = None
    parameter: str | None = None
    function: str | None = None
    reason: str | None = None
    loops: tuple = ()

    @property
    def loop(self) -> EnclosingLoop | None:
        """The innermost loop whose body holds `call` (the layer is built in it), or None.

        Found when the fixer asks, not while the front-end runs (`lint/fix_loops.py`).
        """
        return enclosing_loop(self.loops, self.call) if self.loops else None


class OriginsMixin:
    """Records a `LayerCall` per recurrent layer, at the place its `return_sequences` was written."""

    layer_calls: dict[tuple[int | None, int, int], LayerCall]

    def _record_layer_call(self, template: LayerNode, node: ast.Call, source: str) -> None:
        """Records the recurrent layer `template` built by `node`, and follows its value to its origin."""
        location = template.location
        cls = template.cls
        loops = tuple(self.evaluator.loops)
        self.layer_calls[(location.cell, location.line, location.column)] = LayerCall(
            node, cls, source, location.cell, loops=loops)
        expression = self._return_sequences_expression(node, source)
        origin = self._parameter_origin(expression.id) if isinstance(expression, ast.Name) else None
        if origin is not None:
            where = origin.location
            template.location = where
            self._traced.add(id(template))
            call = origin.call if origin.call is not None else node
            self.layer_calls[(where.cell, where.line, where.column)] = LayerCall(
                call, cls, origin.kind, where.cell,
                argument=origin.argument, parameter=origin.parameter, function=origin.function,
                reason=origin.reason, loops=loops)

    @staticmethod
    def _return_sequences_expression(node: ast.Call, source: str) -> ast.expr | None:
        """The expression written for `return_sequences` in a layer call, when there is one."""
        if source == "keyword":
            for keyword in node.keywords:
                if keyword.arg == "return_sequences":
                    return keyword.value
            return None
        if source == "positional":
            index = _POSITIONAL["RNN"].index("return_sequences")  # 1, as for LSTMStack/GRUStack
            arguments = node.args[:index + 1]
            if len(arguments) > index and not any(isinstance(a, ast.Starred) for a in arguments):
                return arguments[index]
        return None

    @staticmethod
    def _parameter_frame(name: str, scope: Scope | None, frame: Frame | None) -> Frame | None:
        """The running function whose parameter `name` is, as seen from `scope`, still bound as called."""
        while scope is not None and name not in scope.vars:
            scope = scope.parent
        if scope is None:
            return None
        while frame is not None and frame.scope is not scope:
            frame = frame.parent
        if frame is None or frame.definition is None or name not in frame.params:
            return None
        if scope.vars[name] is not frame.params[name]:
            return None  # rebound in the body: the value no longer comes from the call
        spec = frame.definition.args
        positional = [a.arg for a in spec.posonlyargs + spec.args]
        if frame.has_receiver and positional and positional[0] == name:
            return None
        if name not in positional and name not in {a.arg for a in spec.kwonlyargs}:
            return None  # *args or **kwargs: no one argument to change
        return frame

    def _parameter_origin(self, name: str) -> _Origin | None:
        """Where the value of `name`, a parameter of a running user function, was written.

        Follows the value from parameter to argument up the calls that passed
        it along (`def stage(x, seq): return block(x, seq=seq)`), and stops at
        the first call whose argument is not a parameter of its caller: that
        call is the line to change. For a function analysed on its own, the
        parameter's default in the signature is. None when `name` is not a
        parameter, or when its value was rebound in the body.
        """
        evaluator = self.evaluator
        frame = self._parameter_frame(name, evaluator.scope, evaluator.frame)
        if frame is None:
            return None
        origin = None
        for _ in range(MAX_CALL_DEPTH + 1):
            function = frame.function or "<lambda>"
            if frame.call_node is None:
                if not frame.standalone:
                    return origin
                default = self._default_expression(frame.definition.args, name)
                if default is None:
                    return origin
                return _Origin("parameter_default", self.location(default), name, function, None, default)
            argument, reason = self._argument_expression(frame, name)
            origin = _Origin("call_argument", self.location(frame.call_node), name, function, frame.call_node,
                             argument, reason)
            if not isinstance(argument, ast.Name):
                return origin
            outer = self._parameter_frame(argument.id, frame.caller_scope, frame.parent)
            if outer is None:
                return origin
            frame, name = outer, argument.id
        return origin

    @staticmethod
    def _default_expression(spec: ast.arguments, name: str) -> ast.expr | None:
        positional = spec.posonlyargs + spec.args
        for param, default in zip(positional[len(positional) - len(spec.defaults):], spec.defaults):
            if param.arg == name:
                return default
        for param, default in zip(spec.kwonlyargs, spec.kw_defaults):
            if param.arg == name:
                return default
        return None

    @staticmethod
    def _argument_expression(frame: Frame, name: str) -> tuple[ast.expr | None, str | None]:
        """The argument a call gives for parameter `name`, or why it gives none that can be added.

        Returns `(expression, None)` when the call writes the argument, or
        `(None, reason)` when the parameter is left to its default, `reason`
        being None when `name=...` can be added to the call unambiguously.
        """
        call = frame.call_node
        spec = frame.definition.args
        function = frame.function or "<lambda>"
        for keyword in call.keywords:
            if keyword.arg == name:
                return keyword.value, None
        positional = [a.arg for a in spec.posonlyargs + spec.args]
        if frame.has_receiver:
            positional = positional[1:]
        starred = next((a for a in call.args if isinstance(a, ast.Starred)), None)
        if name in positional:
            index = positional.index(name)
            if starred is None and index < len(call.args):
                return call.args[index], None
            if starred is not None:
                return None, f"the call passes *{ast.unparse(starred.value)}, which may hold {name}"
            if name in {a.arg for a in spec.posonlyargs}:
                return None, f"{name} is a positional-only parameter of {function}() left to its default"
        double_star = next((k for k in call.keywords if k.arg is None), None)
        if double_star is not None:
            return None, f"the call passes **{ast.unparse(double_star.value)}, which may hold {name}"
        return None, None

    # -- the Hooks.returned hook ---------------------------------------------------------------
    def returned(self, function: FunctionValue, frame: Frame, result: Any, node: ast.Call | None) -> Any:
        """A helper that takes parameters and returns a layer it built: the layer moves to the call site."""
        if node is not None and frame.has_params and isinstance(result, LayerValue) and result.frame == frame.id:
            self._relocate(result.template, self.location(node), node, function.name)
            result.frame = self.evaluator.frame.id
        return result

    def _relocate(self, template: LayerNode, location: Location, call: ast.Call, function: str) -> None:
        """Moves a helper-built layer to the helper's call site (the line to change).

        A layer whose `return_sequences` was traced to where it was written
        (`_parameter_origin`) keeps that location. A recurrent layer moved
        here gets a `"helper"` `LayerCall` at the call site, so that the fixer
        can say why it does not edit that call.
        """
        while template is not None:
            if id(template) in self._traced:
                return
            template.location = location
            if template.cls in RECURRENT_LAYERS or template.cls in STACK_LAYERS:
                key = (location.cell, location.line, location.column)
                if key not in self.layer_calls:
                    self.layer_calls[key] = LayerCall(call, template.cls, "helper", location.cell, function=function,
                                                      loops=tuple(self.evaluator.loops))
            template = template.wrapped


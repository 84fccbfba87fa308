"""Calls in the Python evaluator: the program's functions and classes, builtins, methods of lists, dicts, strings.

A call of a function written in the program is inlined: its body runs in a
new scope with the arguments bound (up to `MAX_CALL_DEPTH` calls deep, and
never recursively). Calls the evaluator does not run itself go to the hooks
(`Hooks.call`, `Hooks.unknown_call`). The methods here are mixed into
`Evaluator`.
"""

from __future__ import annotations

import ast
from typing import Any

from stacked_keras.lint.pyeval.frames import Break, Continue, Return, Scope, Stop
from stacked_keras.lint.pyeval.values import (
    HUGE_NUMBER,
    MAX_CALL_DEPTH,
    MAX_LITERAL,
    MISSING,
    PLAIN,
    UNKNOWN,
    BoundMethod,
    Builtin,
    CallArgs,
    ClassValue,
    External,
    FunctionValue,
    MethodRef,
    ModuleRef,
    ObjectValue,
    UnknownLengthList,
    bounded,
    dotted_name,
    is_literal_default,
    is_plain,
    known_sequence,
)

__all__ = ["CallsMixin", "BUILTINS"]

_BUILTIN_NAMES = frozenset({
    "range", "len", "enumerate", "zip", "list", "tuple", "dict", "reversed", "sorted", "min", "max",
    "sum", "abs", "round", "int", "float", "str", "bool", "print", "isinstance", "super", "any", "all",
})
# The builtins the evaluator knows, by name.
BUILTINS = {name: Builtin(name) for name in _BUILTIN_NAMES}
_PURE_BUILTINS = {
    "sorted": sorted, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "int": int, "float": float, "str": str, "bool": bool, "any": any, "all": all,
}
_STR_METHODS = frozenset({
    "format", "join", "upper", "lower", "strip", "lstrip", "rstrip", "replace",
    "startswith", "endswith", "split", "title", "capitalize",
})


class CallsMixin:
    """Evaluates calls."""

    def _eval_args(self, node: ast.Call) -> CallArgs:
        result = CallArgs()
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                value = self._eval(argument.value)
                items = known_sequence(value) if not isinstance(value, (str, dict)) else None
                if items is None:
                    result.star_unknown = True
                elif not result.star_unknown:
                    result.args.extend(items)
            else:
                value = self._eval(argument)
                if not result.star_unknown:
                    result.args.append(value)
        for keyword in node.keywords:
            value = self._eval(keyword.value)
            if keyword.arg is None:
                if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                    result.kwargs.update(value)
                    result.double_star_keys.update(value)
                else:
                    result.kw_unknown = True
            else:
                result.kwargs[keyword.arg] = value
                result.keyword_nodes[keyword.arg] = keyword
                result.double_star_keys.discard(keyword.arg)
        return result

    def _eval_call(self, node: ast.Call) -> Any:
        self.step()
        function = self._eval(node.func)
        arguments = self._eval_args(node)
        if isinstance(function, ModuleRef):
            return self.hooks.call_module(function, arguments, node)
        if isinstance(function, Builtin):
            return self._call_builtin(function.name, arguments)
        if isinstance(function, FunctionValue):
            return self.call_function(function, arguments, node)
        if isinstance(function, BoundMethod):
            return self.call_function(function.function, arguments, node, receiver=function.receiver)
        if isinstance(function, ClassValue):
            return self.instantiate(function, arguments, node)
        if isinstance(function, MethodRef):
            return self._call_method(function, arguments, node)
        if isinstance(function, ObjectValue):
            if function.cls.kind != PLAIN:
                return self.hooks.call(function, arguments, node)
            call = function.cls.lookup("__call__")
            if isinstance(call, FunctionValue):
                return self.call_function(call, arguments, node, receiver=function)
            return self.hooks.unknown_call(function.cls.name, arguments, node)
        if isinstance(function, External):
            return self.hooks.call(function, arguments, node)
        return self.hooks.unknown_call(dotted_name(node.func) or "call", arguments, node)

    # -- the program's functions and classes -----------------------------------------------------
    def call_function(self, function: FunctionValue, arguments: CallArgs, node: ast.Call | None,
                      receiver: Any = None, standalone: bool = False) -> Any:
        """Runs a function of the program with its arguments bound (inlines the call); returns its value.

        `standalone=True` analyses a function that the program never calls:
        its parameters are bound as a call with no arguments would bind them
        (see `_bind_parameters`). A call nested deeper than `MAX_CALL_DEPTH`,
        or recursive, is not run: it goes to `Hooks.unknown_call`.
        """
        function.called = True
        if len(self.active) >= MAX_CALL_DEPTH or any(function is f for f in self.active):
            return self.hooks.unknown_call(function.name, arguments, node) if node is not None else UNKNOWN
        definition = function.node
        scope = Scope(function.scope)
        params = self._bind_parameters(function, arguments, receiver, standalone)
        scope.vars.update(params)
        spec = definition.args
        parameters = len(spec.posonlyargs) + len(spec.args) + len(spec.kwonlyargs) - (1 if receiver is not None else 0)
        frame = self._new_frame(function.name, parameters > 0)
        frame.definition = definition
        frame.call_node = node
        frame.parent = self.frame
        frame.caller_scope = self.scope
        frame.scope = scope
        frame.params = params
        frame.has_receiver = receiver is not None
        frame.standalone = standalone
        saved = (self.scope, self.frame, self.uncertain, self._varying, self._loop_exits)
        self.scope, self.frame, self._varying, self._loop_exits = scope, frame, [], []
        self.active.append(function)
        falls_through = False
        try:
            if isinstance(definition, ast.Lambda):
                frame.returns.append(self._eval(definition.body))
            else:
                self._exec_block(definition.body)
                falls_through = True
        except Return:
            pass
        except (Stop, Break, Continue):
            pass
        finally:
            self.active.pop()
            self.scope, self.frame, self.uncertain, self._varying, self._loop_exits = saved
        returns = frame.returns + ([None] if falls_through else [])
        if not returns:
            return UNKNOWN
        result = self.join_values(returns)
        if result is MISSING:
            return UNKNOWN
        return self.hooks.returned(function, frame, result, node)

    def _bind_parameters(self, function: FunctionValue, arguments: CallArgs, receiver: Any,
                         standalone: bool) -> dict[str, Any]:
        """The values of a function's parameters for one call.

        For a function analysed on its own (`standalone`), a parameter with a
        literal default (a number, string, bool, None, a tuple/list/dict of
        those, or a module name) is bound to that default, which is what the
        function does when called with no arguments; every other parameter,
        `*args` and `**kwargs` are UNKNOWN.
        """
        spec = function.node.args
        positional = [a.arg for a in spec.posonlyargs] + [a.arg for a in spec.args]
        bound: dict[str, Any] = {}
        args = list(arguments.args)
        if receiver is not None and positional:
            bound[positional[0]] = receiver
            positional = positional[1:]
        defaults = dict(zip(positional[len(positional) - len(function.defaults):], function.defaults)) \
            if function.defaults else {}
        if standalone:
            for name in positional:
                default = defaults.get(name, MISSING)
                bound[name] = default if is_literal_default(default) else UNKNOWN
            for param, default in zip(spec.kwonlyargs, function.kw_defaults):
                bound[param.arg] = default if is_literal_default(default) else UNKNOWN
            if spec.vararg:
                bound[spec.vararg.arg] = UNKNOWN
            if spec.kwarg:
                bound[spec.kwarg.arg] = UNKNOWN
            return bound
        for name, value in zip(positional, args):
            bound[name] = value
        if spec.vararg:
            bound[spec.vararg.arg] = UNKNOWN if arguments.star_unknown else tuple(args[len(positional):])
        extra: dict[str, Any] = {}
        names = set(positional) | {a.arg for a in spec.kwonlyargs}
        for key, value in arguments.kwargs.items():
            if key in names:
                bound[key] = value
            else:
                extra[key] = value
        for name in positional:
            if name not in bound:
                if arguments.star_unknown or arguments.kw_unknown:
                    bound[name] = UNKNOWN
                else:
                    bound[name] = defaults.get(name, UNKNOWN)
        for param, default in zip(spec.kwonlyargs, function.kw_defaults):
            if param.arg not in bound:
                bound[param.arg] = UNKNOWN if (arguments.kw_unknown or default is MISSING) else default
        if spec.kwarg:
            bound[spec.kwarg.arg] = UNKNOWN if arguments.kw_unknown else extra
        return bound

    def instantiate(self, cls: ClassValue, arguments: CallArgs, node: ast.Call | None,
                    standalone: bool = False) -> ObjectValue:
        """Makes an instance of a class of the program: runs `__init__`, fills a dataclass's fields.

        The first instance of a class whose kind is not `PLAIN` goes to
        `Hooks.first_instance`.
        """
        obj = ObjectValue(cls)
        self.objects.append(obj)
        init = cls.lookup("__init__")
        if isinstance(init, FunctionValue):
            self.call_function(init, arguments, node, receiver=obj, standalone=standalone)
        elif cls.decorated and cls.fields:
            for name, value in zip(cls.fields, arguments.args):
                obj.attrs[name] = value
            for name in cls.fields:
                if name in arguments.kwargs:
                    obj.attrs[name] = arguments.kwargs[name]
        if cls.kind != PLAIN and not cls.analysed:
            cls.analysed = True
            self.hooks.first_instance(cls, obj)
        return obj

    # -- methods of lists, dicts and strings ------------------------------------------------------
    def _call_method(self, method: MethodRef, arguments: CallArgs, node: ast.Call) -> Any:
        receiver = method.receiver
        if isinstance(receiver, list):
            return self._list_method(receiver, method.name, arguments)
        if isinstance(receiver, dict):
            return self._dict_method(receiver, method.name, arguments)
        if isinstance(receiver, str):
            return self._str_method(receiver, method.name, arguments)
        return self.hooks.call(method, arguments, node)

    def _list_method(self, receiver: list, name: str, arguments: CallArgs) -> Any:
        args = arguments.args
        if name == "append" and len(args) == 1:
            if len(receiver) < MAX_LITERAL:
                receiver.append(args[0])
            return None
        if name == "extend" and len(args) == 1:
            items = known_sequence(args[0])
            if items is not None and len(receiver) + len(items) <= MAX_LITERAL:
                receiver.extend(items)
            return None
        if name == "insert" and len(args) == 2 and isinstance(args[0], int):
            if len(receiver) < MAX_LITERAL:
                receiver.insert(args[0], args[1])
            return None
        if name == "copy":
            return type(receiver)(receiver)
        if name == "pop" and receiver and not self.uncertain:
            index = args[0] if args else -1
            if isinstance(index, int) and -len(receiver) <= index < len(receiver):
                return receiver.pop(index)
        return UNKNOWN

    def _dict_method(self, receiver: dict, name: str, arguments: CallArgs) -> Any:
        args = arguments.args
        if name == "update":
            if args and isinstance(args[0], dict):
                receiver.update({k: (UNKNOWN if self.uncertain else v) for k, v in args[0].items()})
            receiver.update({k: (UNKNOWN if self.uncertain else v) for k, v in arguments.kwargs.items()})
            return None
        if name == "copy":
            return dict(receiver)
        if name in ("get", "pop", "setdefault") and args and is_plain(args[0]) \
                and not isinstance(args[0], (list, dict)):
            default = args[1] if len(args) > 1 else None
            if name == "get":
                return receiver.get(args[0], default)
            if self.uncertain:
                return UNKNOWN
            if name == "pop":
                return receiver.pop(args[0], default)
            return receiver.setdefault(args[0], default)
        if name == "keys":
            return list(receiver)
        if name == "values":
            return list(receiver.values())
        if name == "items":
            return list(receiver.items())
        return UNKNOWN

    def _str_method(self, receiver: str, name: str, arguments: CallArgs) -> Any:
        if name not in _STR_METHODS or arguments.star_unknown or arguments.kw_unknown:
            return UNKNOWN
        if not all(is_plain(a) for a in arguments.args) or not all(is_plain(v) for v in arguments.kwargs.values()):
            return UNKNOWN
        if name == "format" and HUGE_NUMBER.search(receiver):
            return UNKNOWN  # a field width that would build a huge string
        if name == "join" and arguments.args and isinstance(arguments.args[0], (list, tuple)):
            pieces = arguments.args[0]
            if sum(len(p) if isinstance(p, str) else MAX_LITERAL for p in pieces) + len(receiver) * len(pieces) \
                    > MAX_LITERAL:
                return UNKNOWN
        if name == "replace" and len(arguments.args) >= 2 and isinstance(arguments.args[1], str) \
                and len(receiver) * max(1, len(arguments.args[1])) > MAX_LITERAL:
            return UNKNOWN
        try:
            return bounded(getattr(receiver, name)(*arguments.args, **arguments.kwargs))
        except Exception:  # noqa: BLE001 - a bad format string in the linted code
            return UNKNOWN

    # -- builtins ------------------------------------------------------------------------------------
    def _call_builtin(self, name: str, arguments: CallArgs) -> Any:
        args = arguments.args
        if arguments.star_unknown or arguments.kw_unknown:
            return UNKNOWN
        if name == "print":
            return None
        if name == "range":
            if args and all(isinstance(a, int) and not isinstance(a, bool) for a in args) and len(args) <= 3:
                try:
                    return range(*args)
                except ValueError:
                    return UNKNOWN
            return UNKNOWN
        if name == "len":
            if len(args) != 1:
                return UNKNOWN
            if isinstance(args[0], str):
                return len(args[0])
            items = known_sequence(args[0])
            return len(items) if items is not None else UNKNOWN
        if name == "enumerate":
            items = known_sequence(args[0]) if args else None
            start = args[1] if len(args) > 1 else arguments.kwargs.get("start", 0)
            if items is None or not isinstance(start, int):
                return UNKNOWN
            return [(start + i, item) for i, item in enumerate(items)]
        if name == "zip":
            sequences = [known_sequence(a) for a in args]
            if any(s is None for s in sequences):
                return UNKNOWN
            return [tuple(group) for group in zip(*sequences)]
        if name in ("list", "tuple"):
            if not args:
                return [] if name == "list" else ()
            items = known_sequence(args[0])
            if items is None:
                return UnknownLengthList(args[0]) if isinstance(args[0], UnknownLengthList) else UNKNOWN
            return items if name == "list" else tuple(items)
        if name == "reversed":
            items = known_sequence(args[0]) if args else None
            return list(reversed(items)) if items is not None else UNKNOWN
        if name == "dict":
            result: dict[Any, Any] = {}
            if args:
                pairs = known_sequence(args[0]) if not isinstance(args[0], (dict, str)) else None
                if isinstance(args[0], dict):
                    result.update(args[0])
                elif pairs is not None and all(isinstance(p, tuple) and len(p) == 2 and is_plain(p[0])
                                               and not isinstance(p[0], (list, dict)) for p in pairs):
                    result.update(pairs)
                else:
                    return UNKNOWN
            result.update(arguments.kwargs)
            return result
        if name in _PURE_BUILTINS:
            if all(is_plain(a) for a in args) and all(is_plain(v) for v in arguments.kwargs.values()):
                if name in ("sum", "sorted", "min", "max") and args and isinstance(args[0], (list, tuple, range)) \
                        and len(args[0]) > MAX_LITERAL:
                    return UNKNOWN
                try:
                    return bounded(_PURE_BUILTINS[name](*args, **arguments.kwargs))
                except Exception:  # noqa: BLE001 - the linted code's own error
                    return UNKNOWN
            return UNKNOWN
        return UNKNOWN

"""Expressions of the Python evaluator: names, attributes, operators, literals, comprehensions.

Calls are in `calls.py`. The methods here are mixed into `Evaluator` and
dispatched by expression type from `Evaluator._EXPRESSIONS`; an expression
type not listed there evaluates to `UNKNOWN`.
"""

from __future__ import annotations

import ast
import operator as _operator
from typing import Any

from stacked_keras.lint.pyeval.frames import Scope
from stacked_keras.lint.pyeval.values import (
    HUGE_NUMBER,
    MAX_LITERAL,
    MAX_UNROLL,
    MISSING,
    UNKNOWN,
    BoundMethod,
    ClassValue,
    External,
    FunctionValue,
    MethodRef,
    ModuleRef,
    ObjectValue,
    UnknownLengthList,
    bounded,
    is_plain,
    known_sequence,
    truth,
)

__all__ = ["ExpressionsMixin"]

_OPERATORS = {
    ast.Add: _operator.add, ast.Sub: _operator.sub, ast.Mult: _operator.mul,
    ast.Div: _operator.truediv, ast.FloorDiv: _operator.floordiv, ast.Mod: _operator.mod,
    ast.Pow: _operator.pow, ast.LShift: _operator.lshift, ast.RShift: _operator.rshift,
    ast.BitOr: _operator.or_, ast.BitXor: _operator.xor, ast.BitAnd: _operator.and_,
}
_COMPARISONS = {
    ast.Eq: _operator.eq, ast.NotEq: _operator.ne, ast.Lt: _operator.lt, ast.LtE: _operator.le,
    ast.Gt: _operator.gt, ast.GtE: _operator.ge,
    ast.In: lambda a, b: _operator.contains(b, a), ast.NotIn: lambda a, b: not _operator.contains(b, a),
}


class ExpressionsMixin:
    """Evaluates the expressions that are not calls."""

    def _eval(self, node: ast.AST) -> Any:
        handler = self._EXPRESSIONS.get(type(node))
        if handler is None:
            return UNKNOWN
        return handler(self, node)

    def _eval_constant(self, node: ast.Constant) -> Any:
        return node.value

    def _lookup(self, name: str) -> Any:
        scope: Scope | None = self.scope
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        builtin = self._BUILTINS.get(name)
        if builtin is not None:
            return builtin
        return self.hooks.name_missing(name)

    def _eval_name(self, node: ast.Name) -> Any:
        return self._lookup(node.id)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        owner = self._eval(node.value)
        name = node.attr
        if isinstance(owner, ModuleRef):
            return ModuleRef(self.resolve_module(f"{owner.path}.{name}"))
        if isinstance(owner, ObjectValue):
            if name in owner.attrs:
                return owner.attrs[name]
            found = owner.cls.lookup(name)
            if isinstance(found, FunctionValue):
                return BoundMethod(found, owner)
            if found is not MISSING:
                return found
            if owner.record is not None:
                return MethodRef(owner, name)
            return UNKNOWN
        if isinstance(owner, ClassValue):
            found = owner.lookup(name)
            return UNKNOWN if found is MISSING else found
        if isinstance(owner, External):
            return self.hooks.attribute(owner, name, node)
        if isinstance(owner, (list, dict, str)):
            return MethodRef(owner, name)
        return UNKNOWN

    # -- operators -------------------------------------------------------------------------
    def _eval_binop(self, node: ast.BinOp) -> Any:
        # `a + b + c + ...` nests to the left: walk the chain without recursing on it.
        chain = [node]
        while isinstance(chain[-1].left, ast.BinOp):
            chain.append(chain[-1].left)
        value = self._eval(chain[-1].left)
        for link in reversed(chain):
            value = self._binop(link.op, value, self._eval(link.right), link)
        return value

    def _binop(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        if isinstance(left, External) or isinstance(right, External):
            return self.hooks.binary(op, left, right, node)
        if isinstance(op, ast.Add) and ((isinstance(left, list) and isinstance(right, list))
                                        or (type(left) is tuple and type(right) is tuple)):
            if len(left) + len(right) > MAX_LITERAL:
                return UNKNOWN
            combined = type(left)(list(left) + list(right)) if isinstance(left, tuple) else list(left) + list(right)
            if isinstance(left, UnknownLengthList) or isinstance(right, UnknownLengthList):
                return UnknownLengthList(combined)
            return combined
        if isinstance(op, ast.Mult) and isinstance(left, (list, tuple)) and isinstance(right, int) \
                and not isinstance(left, UnknownLengthList):
            if right < 0 or len(left) * right > MAX_LITERAL:
                return UNKNOWN
            return left * right
        if not (is_plain(left) and is_plain(right)):
            return UNKNOWN
        if isinstance(op, ast.Pow) and (not isinstance(right, (int, float)) or abs(right) > 64
                                        or (isinstance(left, (int, float)) and abs(left) > 1 << 32)):
            return UNKNOWN
        if isinstance(op, (ast.LShift, ast.RShift)) and (not isinstance(right, int) or right > 64):
            return UNKNOWN
        if isinstance(op, ast.Mult) and (isinstance(left, (str, bytes, list, tuple))
                                         or isinstance(right, (str, bytes, list, tuple))):
            sizes = [len(v) if isinstance(v, (str, bytes, list, tuple)) else v for v in (left, right)]
            if not all(isinstance(s, int) for s in sizes) or abs(sizes[0] * sizes[1]) > MAX_LITERAL:
                return UNKNOWN
        if isinstance(op, ast.Mod) and isinstance(left, str) and HUGE_NUMBER.search(left):
            return UNKNOWN
        operation = _OPERATORS.get(type(op))
        if operation is None:
            return UNKNOWN
        try:
            return bounded(operation(left, right))
        except Exception:  # noqa: BLE001 - ZeroDivisionError, TypeError... in the linted code
            return UNKNOWN

    def _eval_unaryop(self, node: ast.UnaryOp) -> Any:
        value = self._eval(node.operand)
        if isinstance(node.op, ast.Not):
            known = truth(value)
            return UNKNOWN if known is None else not known
        if isinstance(value, External):
            return self.hooks.unary(node.op, value, node)
        if not isinstance(value, (int, float, complex)):
            return UNKNOWN
        try:
            if isinstance(node.op, ast.USub):
                return -value
            if isinstance(node.op, ast.UAdd):
                return +value
            return ~value
        except Exception:  # noqa: BLE001 - `~1.5` in the linted code
            return UNKNOWN

    def _eval_boolop(self, node: ast.BoolOp) -> Any:
        is_and = isinstance(node.op, ast.And)
        value: Any = None
        for operand in node.values:
            value = self._eval(operand)
            known = truth(value)
            if known is None:
                for rest in node.values[node.values.index(operand) + 1:]:
                    self.uncertain += 1
                    try:
                        self._eval(rest)
                    finally:
                        self.uncertain -= 1
                return UNKNOWN
            if known is not is_and:
                return value
        return value

    def _eval_compare(self, node: ast.Compare) -> Any:
        left = self._eval(node.left)
        result: Any = True
        for op, comparator in zip(node.ops, node.comparators):
            right = self._eval(comparator)
            outcome = self._compare(op, left, right)
            if outcome is UNKNOWN:
                result = UNKNOWN
            elif outcome is False:
                return False
            left = right
        return result

    @staticmethod
    def _compare(op: ast.cmpop, left: Any, right: Any) -> Any:
        if isinstance(op, (ast.Is, ast.IsNot)):
            if left is UNKNOWN or right is UNKNOWN:
                return UNKNOWN
            if left is None or right is None or isinstance(left, bool) or isinstance(right, bool):
                same = left is right
                return same if isinstance(op, ast.Is) else not same
            return UNKNOWN
        if not (is_plain(left) and is_plain(right)):
            return UNKNOWN
        operation = _COMPARISONS.get(type(op))
        try:
            return bool(operation(left, right))
        except Exception:  # noqa: BLE001
            return UNKNOWN

    def _eval_ifexp(self, node: ast.IfExp) -> Any:
        known = truth(self._eval(node.test))
        if known is True:
            return self._eval(node.body)
        if known is False:
            return self._eval(node.orelse)
        self.uncertain += 1
        try:
            values = [self._eval(node.body), self._eval(node.orelse)]
        finally:
            self.uncertain -= 1
        joined = self.join_values(values)
        return UNKNOWN if joined is MISSING else joined

    # -- literals and subscripts -------------------------------------------------------------
    def _eval_items(self, elements: list[ast.expr]) -> list[Any] | UnknownLengthList:
        items: list[Any] = []
        unknown_length = False
        for element in elements:
            if isinstance(element, ast.Starred):
                value = self._eval(element.value)
                sequence = known_sequence(value) if not isinstance(value, str) else list(value)
                if sequence is None:
                    unknown_length = True
                    if isinstance(value, UnknownLengthList):
                        items.extend(value)
                else:
                    items.extend(sequence)
            else:
                items.append(self._eval(element))
        return UnknownLengthList(items) if unknown_length else items

    def _eval_tuple(self, node: ast.Tuple) -> Any:
        items = self._eval_items(node.elts)
        return items if isinstance(items, UnknownLengthList) else tuple(items)

    def _eval_list(self, node: ast.List) -> Any:
        return self._eval_items(node.elts)

    def _eval_dict(self, node: ast.Dict) -> Any:
        result: dict[Any, Any] = {}
        for key, value in zip(node.keys, node.values):
            if key is None:
                merged = self._eval(value)
                if isinstance(merged, dict):
                    result.update(merged)
                else:
                    return UNKNOWN
                continue
            key_value = self._eval(key)
            item = self._eval(value)
            if is_plain(key_value) and not isinstance(key_value, (list, dict)):
                result[key_value] = item
        return result

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        index = self._eval(node.slice) if not isinstance(node.slice, ast.Slice) else self._eval_slice(node.slice)
        if isinstance(container, External):
            return self.hooks.subscript(container, index, node)
        if isinstance(container, UnknownLengthList):
            return UNKNOWN
        if isinstance(container, (list, tuple, str, range)) and isinstance(index, (int, slice)) \
                and not isinstance(index, bool):
            try:
                return container[index]
            except (IndexError, ValueError, TypeError):
                return UNKNOWN
        if isinstance(container, dict) and is_plain(index) and not isinstance(index, (list, dict)):
            return container.get(index, UNKNOWN)
        return UNKNOWN

    def _eval_slice(self, node: ast.Slice) -> Any:
        parts = [self._eval(part) if part is not None else None for part in (node.lower, node.upper, node.step)]
        if all(part is None or (isinstance(part, int) and not isinstance(part, bool)) for part in parts):
            return slice(*parts)
        return UNKNOWN

    # -- comprehensions ------------------------------------------------------------------------
    def _eval_comprehension(self, node: Any) -> Any:
        results: list[Any] = []
        state = {"unknown": False}
        outer = self.scope
        self.scope = Scope(outer)
        try:
            self._comprehend(node.generators, 0, lambda: results.append(self._eval(node.elt)), state)
        finally:
            self.scope = outer
        if state["unknown"]:
            return UnknownLengthList(results)
        return results

    def _eval_dict_comprehension(self, node: ast.DictComp) -> Any:
        results: dict[Any, Any] = {}
        state = {"unknown": False}
        outer = self.scope
        self.scope = Scope(outer)

        def add() -> None:
            key = self._eval(node.key)
            value = self._eval(node.value)
            if is_plain(key) and not isinstance(key, (list, dict)):
                results[key] = value
            else:
                state["unknown"] = True

        try:
            self._comprehend(node.generators, 0, add, state)
        finally:
            self.scope = outer
        return UNKNOWN if state["unknown"] else results

    def _comprehend(self, generators: list[ast.comprehension], index: int, emit: Any, state: dict[str, bool]) -> None:
        if index == len(generators):
            emit()
            return
        generator = generators[index]
        iterable = self._eval(generator.iter)
        items = known_sequence(iterable) if not isinstance(iterable, str) else None
        if items is None or len(items) > MAX_UNROLL:
            # Unknown length: at least two items, like a loop of unknown length.
            state["unknown"] = True
            representatives = list(iterable) if isinstance(iterable, UnknownLengthList) and iterable else [UNKNOWN]
            if len(representatives) < 2:
                representatives = representatives * 2
            self.uncertain += 1
            try:
                for item in representatives:
                    self._assign(generator.target, item)
                    for condition in generator.ifs:
                        self._eval(condition)
                    self._comprehend(generators, index + 1, emit, state)
            finally:
                self.uncertain -= 1
            return
        for item in items:
            self.step()
            self._assign(generator.target, item)
            keep: bool | None = True
            for condition in generator.ifs:
                known = truth(self._eval(condition))
                if known is False:
                    keep = False
                    break
                if known is None:
                    keep = None
            if keep is False:
                continue
            if keep is None:
                state["unknown"] = True
            self._comprehend(generators, index + 1, emit, state)

    # -- the rest ------------------------------------------------------------------------------
    def _eval_joined_str(self, node: ast.JoinedStr) -> Any:
        parts = []
        for value in node.values:
            if isinstance(value, ast.Constant):
                parts.append(str(value.value))
                continue
            if not isinstance(value, ast.FormattedValue):
                return UNKNOWN
            inner = self._eval(value.value)
            if not isinstance(inner, (str, int, float, bool, type(None))):
                return UNKNOWN
            spec = self._eval_joined_str(value.format_spec) if value.format_spec is not None else ""
            if spec is UNKNOWN or HUGE_NUMBER.search(spec):
                return UNKNOWN
            try:
                converted = {115: str, 114: repr, 97: ascii}.get(value.conversion, lambda v: v)(inner)
                parts.append(format(converted, spec))
            except Exception:  # noqa: BLE001
                return UNKNOWN
        return bounded("".join(parts))

    def _eval_lambda(self, node: ast.Lambda) -> Any:
        defaults = [self._eval(d) for d in node.args.defaults]
        kw_defaults = [self._eval(d) if d is not None else MISSING for d in node.args.kw_defaults]
        scope = self.scope
        while scope.is_class and scope.parent is not None:
            scope = scope.parent
        return FunctionValue(node, scope, defaults, kw_defaults)

    def _eval_named_expr(self, node: ast.NamedExpr) -> Any:
        value = self._eval(node.value)
        self._assign(node.target, value)
        return value

    def _eval_starred(self, node: ast.Starred) -> Any:
        return self._eval(node.value)

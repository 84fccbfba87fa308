"""Statements of the Python evaluator: assignments, definitions, imports, `with`, `try`...

Branches and loops are in `control.py`. The methods here are mixed into
`Evaluator` and dispatched by statement type from `Evaluator._STATEMENTS`.
"""

from __future__ import annotations

import ast
from typing import Any

from stacked_keras.lint.pyeval.frames import BudgetExceeded, Break, Continue, Return, Scope, Stop
from stacked_keras.lint.pyeval.values import (
    MISSING,
    UNKNOWN,
    ClassValue,
    External,
    FunctionValue,
    ModuleRef,
    ObjectValue,
    is_plain,
    known_sequence,
)

__all__ = ["StatementsMixin"]


class StatementsMixin:
    """Runs the statements that are neither branches nor loops."""

    _current_class: ClassValue | None = None

    def _exec_block(self, statements: list[ast.stmt]) -> None:
        handlers = self._STATEMENTS
        for statement in statements:
            self.steps += 1
            if self.steps > self.step_limit:
                raise BudgetExceeded()
            handler = handlers.get(type(statement))
            if handler is not None:
                handler(self, statement)

    def _exec_expr(self, node: ast.Expr) -> None:
        self._eval(node.value)

    def _exec_assign(self, node: ast.Assign) -> None:
        value = self._eval(node.value)
        for target in node.targets:
            self._assign(target, value)

    def _exec_ann_assign(self, node: ast.AnnAssign) -> None:
        if self.scope.is_class and isinstance(node.target, ast.Name) and self._current_class is not None:
            self._current_class.fields.append(node.target.id)
        if node.value is not None:
            self._assign(node.target, self._eval(node.value))

    def _exec_aug_assign(self, node: ast.AugAssign) -> None:
        current = self._eval(node.target) if not isinstance(node.target, ast.Name) else self._lookup(node.target.id)
        value = self._binop(node.op, current, self._eval(node.value), node)
        self._assign(node.target, value)

    def _assign(self, target: ast.AST, value: Any) -> None:
        if isinstance(target, ast.Name):
            self._bind(target.id, value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            self._assign_unpacked(target.elts, value)
        elif isinstance(target, ast.Attribute):
            owner = self._eval(target.value)
            if isinstance(owner, ObjectValue):
                if isinstance(value, External):
                    self.hooks.bound(target.attr, value)
                owner.attrs[target.attr] = value
        elif isinstance(target, ast.Subscript):
            container = self._eval(target.value)
            key = self._eval(target.slice)
            if self.uncertain:
                value = UNKNOWN
            if isinstance(container, dict) and is_plain(key) and not isinstance(key, (list, dict)):
                container[key] = value
            elif isinstance(container, list) and isinstance(key, int) and -len(container) <= key < len(container):
                container[key] = value
        elif isinstance(target, ast.Starred):
            self._assign(target.value, UNKNOWN)

    def _assign_unpacked(self, targets: list[ast.expr], value: Any) -> None:
        items = known_sequence(value) if not isinstance(value, str) else None
        starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        if isinstance(value, External):
            unpacked = self.hooks.unpack(value, len(targets))
            if unpacked is not None:
                for target, item in zip(targets, unpacked):
                    self._assign(target.value if isinstance(target, ast.Starred) else target, item)
                return
        if items is not None and not starred and len(items) == len(targets):
            for target, item in zip(targets, items):
                self._assign(target, item)
            return
        if items is not None and len(starred) == 1 and len(items) >= len(targets) - 1:
            star = starred[0]
            after = len(targets) - star - 1
            for target, item in zip(targets[:star], items[:star]):
                self._assign(target, item)
            self._assign(targets[star].value, items[star:len(items) - after])
            for target, item in zip(targets[star + 1:], items[len(items) - after:]):
                self._assign(target, item)
            return
        for target in targets:
            self._assign(target.value if isinstance(target, ast.Starred) else target, UNKNOWN)

    def _bind(self, name: str, value: Any) -> None:
        if isinstance(value, External):
            self.hooks.bound(name, value)
        self.scope.vars[name] = value

    def _exec_function_def(self, node: ast.FunctionDef) -> None:
        defaults = [self._eval(d) for d in node.args.defaults]
        kw_defaults = [self._eval(d) if d is not None else MISSING for d in node.args.kw_defaults]
        scope = self.scope
        owner = self._current_class if scope.is_class else None
        while scope.is_class and scope.parent is not None:
            scope = scope.parent
        function = FunctionValue(node, scope, defaults, kw_defaults, owner)
        if self.scope is self.module_scope or owner is not None:
            self.functions.append(function)
        self.scope.vars[node.name] = function

    def _exec_class_def(self, node: ast.ClassDef) -> None:
        bases = [self._eval(base) for base in node.bases]
        cls = ClassValue(node, bases, self.hooks.class_kind(bases))
        outer_scope, outer_class = self.scope, self._current_class
        self.scope = Scope(outer_scope, is_class=True)
        self._current_class = cls
        try:
            self._exec_block(node.body)
        except (Return, Break, Continue, Stop):
            pass
        finally:
            cls.namespace = self.scope.vars
            self.scope, self._current_class = outer_scope, outer_class
        if self.scope is self.module_scope:
            self.classes.append(cls)
        self.scope.vars[node.name] = cls

    def _exec_return(self, node: ast.Return) -> None:
        value = self._eval(node.value) if node.value is not None else None
        self.frame.returns.append(value)
        raise Return()

    def _exec_import(self, node: ast.Import) -> None:
        resolve = self.resolve_module
        for alias in node.names:
            if alias.asname:
                self.scope.vars[alias.asname] = ModuleRef(resolve(alias.name))
            else:
                head = alias.name.split(".", 1)[0]
                self.scope.vars[head] = ModuleRef(resolve(head))

    def _exec_import_from(self, node: ast.ImportFrom) -> None:
        resolve = self.resolve_module
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.star_imports.append(resolve(module))
                continue
            self.scope.vars[alias.asname or alias.name] = ModuleRef(resolve(f"{module}.{alias.name}"))

    def _exec_with(self, node: ast.With) -> None:
        for item in node.items:
            self._eval(item.context_expr)
            if item.optional_vars is not None:
                self._assign(item.optional_vars, UNKNOWN)
        self._exec_block(node.body)

    def _exec_try(self, node: ast.Try) -> None:
        """The `try` body is taken as the path that runs; handlers only lend their imports.

        `try: import simplejson as json` / `except ImportError: import json`
        binds `json` once, from the body; a name only a handler imports is
        bound from the handler.
        """
        try:
            try:
                self._exec_block(node.body)
                self._exec_block(node.orelse)
            except Stop:
                pass
            for handler in node.handlers:
                for statement in handler.body:
                    if isinstance(statement, (ast.Import, ast.ImportFrom)):
                        saved = dict(self.scope.vars)
                        self._STATEMENTS[type(statement)](self, statement)
                        for name, value in saved.items():
                            self.scope.vars[name] = value
        finally:
            self._exec_block(node.finalbody)

    def _exec_match(self, node: Any) -> None:
        self._eval(node.subject)
        self._fork([case.body for case in node.cases] + [[]])

    def _exec_break(self, node: ast.Break) -> None:
        raise Break()

    def _exec_continue(self, node: ast.Continue) -> None:
        raise Continue()

    def _exec_raise(self, node: ast.Raise) -> None:
        raise Stop()

    def _exec_delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.scope.vars.pop(target.id, None)

"""`Evaluator`: runs a Python program's statements over abstract values, in one pass.

Nothing is imported from the program and nothing of it is executed. The
evaluator knows Python (values, scopes, functions, classes, branches, loops,
comprehensions, f-strings, a few builtins and the methods of lists, dicts
and strings) and no library: whatever comes from an import goes to the
`Hooks` (see `hooks.py`). A value that cannot be known statically is
`UNKNOWN`.

Budgets keep the evaluation of any file short: at most `MAX_STEPS`
statements and calls for the program's own statements, `MAX_UNIT_STEPS` for
each function or class analysed on its own, calls inlined `MAX_CALL_DEPTH`
deep, loops unrolled up to `MAX_UNROLL` iterations (longer ones run as loops
of unknown length), strings and sequences up to `MAX_LITERAL` items.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import Any

from stacked_keras.lint.pyeval.calls import BUILTINS, CallsMixin
from stacked_keras.lint.pyeval.control import ControlMixin
from stacked_keras.lint.pyeval.expressions import ExpressionsMixin
from stacked_keras.lint.pyeval.frames import (
    BudgetExceeded,
    Break,
    Continue,
    Frame,
    Loop,
    LoopExits,
    Return,
    Scope,
    Stop,
)
from stacked_keras.lint.pyeval.hooks import Hooks
from stacked_keras.lint.pyeval.statements import StatementsMixin
from stacked_keras.lint.pyeval.values import (
    MAX_STEPS,
    MAX_UNIT_STEPS,
    PLAIN,
    CallArgs,
    ClassValue,
    FunctionValue,
    ObjectValue,
    bound_names,
)

__all__ = ["Evaluator"]


class Evaluator(StatementsMixin, ControlMixin, ExpressionsMixin, CallsMixin):
    """Runs a program's statements abstractly, calling out to `hooks` for what is not plain Python.

    Args:
        hooks: the `Hooks` to call out to; plain `Hooks()` when None. The
            evaluator sets `hooks.evaluator` to itself.

    Attributes a hook may read: `scope` (the current `Scope`), `frame` (the
    current `Frame`), `uncertain` (how many undecidable branches or loops of
    unknown length are running: a value stored then may not be the only
    one), `iteration_branches` (how many of those branches test a variable
    of an enclosing loop of unknown length), `star_imports` (the modules
    `from m import *` named, as `Hooks.resolve_module` returned them),
    `loops` (the `Loop`s whose bodies are running, innermost last: their
    variable and, when known, their trip count); and `binds(name)` says
    whether the program binds a name anywhere.

    Example:

    >>> import ast
    >>> evaluator = Evaluator()
    >>> evaluator.run([ast.parse("def f(n=3):\\n    return [i * i for i in range(n)]\\nsquares = f()")])
    True
    >>> evaluator.module_scope.vars["squares"]
    [0, 1, 4]
    """

    _STATEMENTS: dict[type, Callable[..., None]]
    _EXPRESSIONS: dict[type, Callable[..., Any]]
    _BUILTINS = BUILTINS

    def __init__(self, hooks: Hooks | None = None) -> None:
        self.hooks = hooks if hooks is not None else Hooks()
        self.hooks.evaluator = self
        self.resolve_module = self.hooks.resolve_module  # on the hot path: looked up once
        self.objects: list[ObjectValue] = []
        self.functions: list[FunctionValue] = []
        self.classes: list[ClassValue] = []
        self.star_imports: list[str] = []
        self.uncertain = 0
        self.iteration_branches = 0
        self.steps = 0
        self.step_limit = MAX_STEPS
        self.active: list[FunctionValue] = []
        self._frame_ids = 0
        self._loop_names: dict[int, set[str]] = {}
        # Names each enclosing loop of unknown length changes, innermost last
        # (reset inside a function call), and the exits of the loops running.
        self._varying: list[set[str]] = []
        self._loop_exits: list[LoopExits] = []
        self.loops: list[Loop] = []
        self._modules: list[ast.Module] = []
        self._bound_names: frozenset[str] | None = None
        self.module_scope = Scope()
        self.module_scope.vars["__name__"] = "__main__"
        self.scope = self.module_scope
        self.frame = self._new_frame(None, False)

    def run(self, modules: list[ast.Module]) -> bool:
        """Runs the modules' statements in order, then analyses what the program never called.

        Functions that the program never calls are analysed on their own
        (literal defaults bound, other parameters `UNKNOWN`), latest
        definition first (so a caller defined after its helpers inlines
        them), each within its own step budget; a method is analysed so only
        when its class is `PLAIN` (with `__init__` run first on a new
        instance). Then each class of another kind never instantiated is
        instantiated with no arguments.

        Args:
            modules: parsed modules (one per notebook cell, or a single one).

        Returns:
            True, or False when the program's own statements are too many to
            evaluate (more than `MAX_STEPS` statements and calls, loops
            unrolled): nothing more is analysed then.
        """
        self.step_limit = MAX_STEPS
        self._modules.extend(modules)
        self._bound_names = None
        try:
            for module in modules:
                try:
                    self._exec_block(module.body)
                except (Stop, Return, Break, Continue):
                    pass
        except BudgetExceeded:
            return False
        self._analyse_uncalled()
        return True

    def binds(self, name: str) -> bool:
        """Whether the program binds `name` anywhere (any scope, before or after this point).

        For a `Hooks.name_missing` that reads a name nothing binds as a
        library's (star imports aside: see `star_imports`). Computed once per
        program, on the first question.
        """
        if self._bound_names is None:
            self._bound_names = bound_names(self._modules)
        return name in self._bound_names

    def step(self) -> None:
        """Counts one statement or call against the budget; raises `BudgetExceeded` past it."""
        self.steps += 1
        if self.steps > self.step_limit:
            raise BudgetExceeded()

    def _new_frame(self, function: str | None, has_params: bool) -> Frame:
        self._frame_ids += 1
        return Frame(self._frame_ids, function, has_params)

    def _analyse_uncalled(self) -> None:
        for function in reversed(self.functions):
            if function.called:
                continue
            if function.owner is not None:
                owner = function.owner
                if owner.kind == PLAIN:
                    self._analyse_unit(lambda f=function, o=owner: self._analyse_method(f, o))
            else:
                self._analyse_unit(lambda f=function: self.call_function(f, CallArgs(), None, standalone=True))
        for cls in reversed(self.classes):
            if not cls.analysed and cls.kind != PLAIN:
                self._analyse_unit(lambda c=cls: self.instantiate(c, CallArgs(), None, standalone=True))

    def _analyse_unit(self, analyse: Callable[[], Any]) -> None:
        """Analyses one function or class on its own, within its own step budget.

        The instances it makes are forgotten afterwards (and the hooks told,
        `Hooks.unit_finished`); a unit over budget is abandoned.
        """
        objects = len(self.objects)
        mark = self.hooks.unit_started()
        abandoned = False
        self.step_limit = self.steps + MAX_UNIT_STEPS
        try:
            analyse()
        except BudgetExceeded:
            abandoned = True
        finally:
            del self.objects[objects:]
            self.hooks.unit_finished(mark, abandoned)

    def _analyse_method(self, function: FunctionValue, owner: ClassValue) -> None:
        receiver = ObjectValue(owner)
        self.objects.append(receiver)
        init = owner.lookup("__init__")
        if isinstance(init, FunctionValue) and init is not function:
            self.call_function(init, CallArgs(), None, receiver=receiver, standalone=True)
        self.call_function(function, CallArgs(), None, receiver=receiver, standalone=True)


# Statement and expression handlers, by node type (unbound: called with the evaluator).
Evaluator._STATEMENTS = {
    ast.Expr: Evaluator._exec_expr,
    ast.Assign: Evaluator._exec_assign,
    ast.AnnAssign: Evaluator._exec_ann_assign,
    ast.AugAssign: Evaluator._exec_aug_assign,
    ast.If: Evaluator._exec_if,
    ast.For: Evaluator._exec_for,
    ast.AsyncFor: Evaluator._exec_for,
    ast.While: Evaluator._exec_while,
    ast.FunctionDef: Evaluator._exec_function_def,
    ast.AsyncFunctionDef: Evaluator._exec_function_def,
    ast.ClassDef: Evaluator._exec_class_def,
    ast.Return: Evaluator._exec_return,
    ast.Import: Evaluator._exec_import,
    ast.ImportFrom: Evaluator._exec_import_from,
    ast.With: Evaluator._exec_with,
    ast.AsyncWith: Evaluator._exec_with,
    ast.Try: Evaluator._exec_try,
    ast.Break: Evaluator._exec_break,
    ast.Continue: Evaluator._exec_continue,
    ast.Raise: Evaluator._exec_raise,
    ast.Delete: Evaluator._exec_delete,
}
if hasattr(ast, "TryStar"):
    Evaluator._STATEMENTS[ast.TryStar] = Evaluator._exec_try
if hasattr(ast, "Match"):
    Evaluator._STATEMENTS[ast.Match] = Evaluator._exec_match
Evaluator._EXPRESSIONS = {
    ast.Constant: Evaluator._eval_constant,
    ast.Name: Evaluator._eval_name,
    ast.Attribute: Evaluator._eval_attribute,
    ast.Call: Evaluator._eval_call,
    ast.BinOp: Evaluator._eval_binop,
    ast.UnaryOp: Evaluator._eval_unaryop,
    ast.BoolOp: Evaluator._eval_boolop,
    ast.Compare: Evaluator._eval_compare,
    ast.IfExp: Evaluator._eval_ifexp,
    ast.Tuple: Evaluator._eval_tuple,
    ast.List: Evaluator._eval_list,
    ast.Set: Evaluator._eval_list,
    ast.Dict: Evaluator._eval_dict,
    ast.Subscript: Evaluator._eval_subscript,
    ast.Slice: Evaluator._eval_slice,  # inside a tuple index (`y[:, i - 60:i]`)
    ast.ListComp: Evaluator._eval_comprehension,
    ast.SetComp: Evaluator._eval_comprehension,
    ast.GeneratorExp: Evaluator._eval_comprehension,
    ast.DictComp: Evaluator._eval_dict_comprehension,
    ast.JoinedStr: Evaluator._eval_joined_str,
    ast.Lambda: Evaluator._eval_lambda,
    ast.NamedExpr: Evaluator._eval_named_expr,
    ast.Starred: Evaluator._eval_starred,
}

"""Scopes, call frames and the control-flow signals of the Python evaluator.

A `Scope` maps names to values (a module, a function call, a class body, a
comprehension); a `Frame` is one call of a function of the program. The
exceptions carry `return`, `break`, `continue` and `raise` out of the
statements that run them, and `BudgetExceeded` ends an evaluation that ran
past its step budget.
"""

from __future__ import annotations

import ast
from typing import Any

__all__ = ["Scope", "Frame", "Loop", "Return", "Break", "Continue", "Stop", "BudgetExceeded", "LoopExits"]


class Scope:
    """The names bound in one scope; `parent` is the enclosing one (None for the module)."""

    __slots__ = ("vars", "parent", "is_class")

    def __init__(self, parent: "Scope | None" = None, is_class: bool = False) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.is_class = is_class


class Frame:
    """One call of a function of the program being run.

    Besides the returned values (`returns`), a frame remembers how it was
    called, so that a value that comes from a parameter can be traced back to
    the argument that gave it: the function's `definition`, the `call_node`
    (None for a function analysed on its own), the `parent` frame and the
    `caller_scope` the arguments were evaluated in, the values first bound to
    the parameters (`params`), whether the function has parameters a caller
    gives (`has_params`), whether the first positional parameter was bound to
    a receiver (`self`, `has_receiver`), and whether the parameters were
    bound to their defaults because the function was analysed on its own
    (`standalone`).
    """

    __slots__ = ("id", "function", "returns", "has_params", "definition", "call_node",
                 "parent", "caller_scope", "scope", "params", "has_receiver", "standalone")

    def __init__(self, frame_id: int, function: str | None, has_params: bool) -> None:
        self.id = frame_id
        self.function = function
        self.returns: list[Any] = []
        self.has_params = has_params
        self.definition: Any = None
        self.call_node: ast.Call | None = None
        self.parent: "Frame | None" = None
        self.caller_scope: Scope | None = None
        self.scope: Scope | None = None
        self.params: dict[str, Any] = {}
        self.has_receiver = False
        self.standalone = False


class Loop:
    """A `for` or `while` loop whose body is running (`Evaluator.loops`, innermost last).

    `target` is the loop variable's target (None for `while`), `trip_count`
    the number of iterations when known (the loop is unrolled), else None.
    The loop's `else:` block runs after it has left the stack.
    """

    __slots__ = ("node", "target", "trip_count")

    def __init__(self, node: ast.AST, target: ast.AST | None, trip_count: int | None) -> None:
        self.node = node
        self.target = target
        self.trip_count = trip_count


class Return(Exception):
    """A `return`: the value is in the frame's `returns`."""


class Break(Exception):
    """A `break`. `recorded`: raised by a fork once every branch ended, their states kept in `LoopExits`."""

    recorded = False


class Continue(Exception):
    """A `continue`; `recorded` as for `Break`."""

    recorded = False


class Stop(Exception):
    """A `raise` statement: the code after it does not run."""


class BudgetExceeded(Exception):
    """More statements and calls than the step budget allows."""


class LoopExits:
    """The states in which branches of one loop iteration left it early.

    `breaks` are states leaving the loop, `continues` states going on to the
    next iteration; `dependent_break` says a `break` was taken in a branch
    that tests the loop's variables (`if i == n - 1: ... break`).
    """

    __slots__ = ("breaks", "continues", "dependent_break")

    def __init__(self) -> None:
        self.breaks: list[Any] = []
        self.continues: list[Any] = []
        self.dependent_break = False

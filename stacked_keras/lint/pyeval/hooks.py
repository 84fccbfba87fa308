"""The hooks through which the Python evaluator calls out.

The evaluator (`Evaluator`) runs a program's statements over abstract values
and knows nothing of any library the program uses. Everything it cannot work
out from Python alone goes to one `Hooks` object: the modules a name is
imported from, calls of names from those modules, the values the hooks
create (subclasses of `External`) being called, read, operated on, unpacked
or joined, and the state the hooks keep beside the evaluator's (which must be
saved, restored and joined as branches and loop runs are).

`Hooks` itself is the plain-Python behaviour: every call it is asked about
gives `UNKNOWN`. A front-end subclasses it (see
`stacked_keras.lint.source_graph.SourceFrontEnd`). The evaluator sets
`hooks.evaluator` to itself, so that a hook can read its state (`scope`,
`frame`, `uncertain`, `iteration_branches`, `star_imports`, `loops`,
`binds(name)`) and call back into it (`call_function`, `join_values`). The
two then point at each other: hooks that outlive the run should let go
(`evaluator.hooks = None`), so that no reference cycle keeps what they built
alive until the garbage collector runs.

Hooks are called where the program meets more than plain Python (an
imported name, a value the hooks own, a call the evaluator cannot follow),
at branches and loops (to keep the hooks' state in step), and when a
function of the program returns; never per statement or per plain value,
so that they cost nothing on the paths that do not need them.
"""

from __future__ import annotations

import ast
from typing import Any

from stacked_keras.lint.pyeval.frames import Frame
from stacked_keras.lint.pyeval.values import PLAIN, UNKNOWN, CallArgs, ClassValue, FunctionValue, ModuleRef, ObjectValue

__all__ = ["Hooks"]


class Hooks:
    """What the evaluator asks about values it does not model; plain Python by default.

    Example:

    >>> import ast
    >>> from stacked_keras.lint.pyeval import Evaluator, Hooks
    >>> class Calls(Hooks):
    ...     def __init__(self):
    ...         self.seen = []
    ...     def unknown_call(self, name, arguments, node):
    ...         self.seen.append((name, arguments.args))
    ...         return super().unknown_call(name, arguments, node)
    >>> hooks = Calls()
    >>> Evaluator(hooks).run([ast.parse("n = 2\\nfor i in range(n):\\n    log(i * 10)")])
    True
    >>> hooks.seen
    [('log', [0]), ('log', [10])]
    """

    evaluator: Any = None

    # -- names ---------------------------------------------------------------------------
    def resolve_module(self, path: str) -> str:
        """The path to keep for an imported module or a name in one (one spelling for the aliases of one module, say)."""
        return path

    def name_missing(self, name: str) -> Any:
        """The value of a name bound nowhere in scope and not a known builtin (star imports...)."""
        return UNKNOWN

    def bound(self, name: str, value: Any) -> None:
        """An `External` value was bound to a name or to an instance attribute `name`."""

    # -- classes -------------------------------------------------------------------------
    def class_kind(self, bases: list[Any]) -> str:
        """The `ClassValue.kind` of a class with these evaluated bases; `PLAIN` for a plain class.

        A class of another kind is analysed through its first instance (see
        `first_instance`), and, when the program never instantiates it, by
        instantiating it with no arguments; its methods are not analysed on
        their own.
        """
        return PLAIN

    def first_instance(self, cls: ClassValue, obj: ObjectValue) -> None:
        """The first instance of a class whose kind is not `PLAIN`, after its `__init__` ran."""

    # -- calls ---------------------------------------------------------------------------
    def call_module(self, ref: ModuleRef, arguments: CallArgs, node: ast.Call) -> Any:
        """A name reached through the program's imports, called (`np.zeros((2, 3))`).

        `arguments` are evaluated; `node` is the call. By default a call the
        evaluator cannot follow (`unknown_call`, named by the module path).
        """
        return self.unknown_call(ref.path, arguments, node)

    def call(self, callee: Any, arguments: CallArgs, node: ast.Call) -> Any:
        """A call of a value the evaluator does not run itself.

        `callee` is an `External`, an `ObjectValue` whose class is not
        `PLAIN`, or a `MethodRef` on one of those (or on an instance with a
        `record`). `arguments` are evaluated; `node` is the call.
        """
        return UNKNOWN

    def unknown_call(self, name: str, arguments: CallArgs, node: ast.Call | None) -> Any:
        """A call the evaluator cannot follow: an unknown function, recursion, calls nested too deep.

        `name` is the callee as written (`np.zeros`, or `"call"`), or the
        program's function or class; `node` is None for a function analysed
        on its own.
        """
        return UNKNOWN

    def returned(self, function: FunctionValue, frame: Frame, result: Any, node: ast.Call | None) -> Any:
        """A call of the program's `function` returned `result` (the join of its returns); the value to use."""
        return result

    # -- values the hooks own ------------------------------------------------------------
    def attribute(self, owner: Any, name: str, node: ast.Attribute) -> Any:
        """`owner.name` for an `External` owner."""
        return UNKNOWN

    def binary(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        """`left op right` (`+=` too) where either side is an `External`."""
        return UNKNOWN

    def unary(self, op: ast.unaryop, operand: Any, node: ast.UnaryOp) -> Any:
        """`-operand`, `+operand` or `~operand` for an `External` operand (`not` uses `External.truth`)."""
        return UNKNOWN

    def subscript(self, container: Any, index: Any, node: ast.Subscript) -> Any:
        """`container[index]` for an `External` container (`index` may be a `slice`)."""
        return UNKNOWN

    def unpack(self, value: Any, count: int) -> list[Any] | None:
        """The values `a, b, *c = value` assigns to its `count` targets, or None: each is UNKNOWN."""
        return None

    def join(self, values: list[Any]) -> Any:
        """One value for several that differ (branches, loop runs); they are not all plain and equal."""
        return UNKNOWN

    # -- state beside the evaluator's --------------------------------------------------------
    def mark(self) -> Any:
        """Marks the hooks' state before branches or loop runs start (what `save` then covers)."""
        return None

    def save(self, mark: Any) -> Any:
        """A copy of the state since `mark` that branches and loop runs change."""
        return None

    def restore(self, saved: Any) -> None:
        """Puts back a state `save` returned (before the next branch runs)."""

    def join_saved(self, states: list[Any]) -> None:
        """Makes the current state the join of several saved ones (after branches, loop exits)."""

    # -- loops and units -------------------------------------------------------------------
    def loop_started(self, node: ast.AST, target: ast.AST | None, trip_count: int | None) -> Any:
        """A `for`/`while` loop starts: `target` the loop variable (None for `while`).

        `trip_count` is its number of iterations when known (the loop is then
        unrolled), else None: the body then runs as two iterations or more
        (see `Evaluator`). Returns a token given back to `loop_run` and
        `loop_finished`.
        """
        return None

    def loop_run(self, loop: Any, index: int, names: set[str]) -> None:
        """Run `index` of a loop of unknown length starts; `names` are those its body assigns."""

    def loop_finished(self, loop: Any, names: set[str]) -> None:
        """A loop of unknown length ended; its exits are joined in the current state."""

    def unit_started(self) -> Any:
        """A function or class is about to be analysed on its own; returns a mark for `unit_finished`."""
        return None

    def unit_finished(self, mark: Any, abandoned: bool) -> None:
        """That analysis ended; `abandoned` when it ran past its step budget."""

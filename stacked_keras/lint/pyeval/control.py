"""Branches and loops of the Python evaluator, and the joins of their states.

- A condition that cannot be decided (`if flag:` with `flag` unknown) runs
  every branch from the same state and joins the states they end in: a name
  bound to the same value in every branch keeps it, values that differ are
  joined by `Hooks.join` (plain values that differ become `UNKNOWN`), and a
  `break` or `continue` in such a branch takes its state to the loop's exit
  or next iteration.
- A `for` loop over known items (at most `MAX_UNROLL`) is unrolled.
- A loop whose trip count is unknown (`for i in range(n)` with `n` unknown,
  a `while` loop) runs its body twice or more, with the loop variable
  `UNKNOWN` and the plain values the body assigns forgotten, so that what
  one iteration makes feeds the next; the code after the loop reads the
  join of the states after each run. A branch that tests a name the loop
  changes is an "iteration branch" (`iteration_branches` counts those
  running), and a `break` taken in one is the way the loop ends.

The state a branch or loop run changes is the current scope's names, the
attributes of the instances made so far, and what the hooks keep (see
`Hooks.save`).
"""

from __future__ import annotations

import ast
from typing import Any

from stacked_keras.lint.pyeval.frames import Break, Continue, Loop, LoopExits, Return, Stop
from stacked_keras.lint.pyeval.values import (
    MAX_UNROLL,
    MISSING,
    UNKNOWN,
    UnknownLengthList,
    assigned_names,
    is_plain,
    known_sequence,
    same_value,
    truth,
)

__all__ = ["ControlMixin"]

# A state: the scope's names, the hooks' saved state, the attributes of the instances known.
State = tuple[dict[str, Any], Any, list[dict[str, Any]]]


class ControlMixin:
    """`if`, `match`, `for`, `while`, and the joins of the states they end in."""

    def _exec_if(self, node: ast.If) -> None:
        known = truth(self._eval(node.test))
        if known is True:
            self._exec_block(node.body)
        elif known is False:
            self._exec_block(node.orelse)
        elif self._varying and self._tests_loop_variable(node.test):
            self.iteration_branches += 1
            try:
                self._fork([node.body, node.orelse])
            finally:
                self.iteration_branches -= 1
        else:
            self._fork([node.body, node.orelse])

    def _tests_loop_variable(self, test: ast.expr) -> bool:
        """Whether a condition reads a name that an enclosing loop of unknown length changes.

        Such a branch may go one way in the last iteration and the other way
        before it (`if i < n - 1: ... else: ...`).
        """
        varying = set().union(*self._varying)
        return any(isinstance(node, ast.Name) and node.id in varying for node in ast.walk(test))

    def _fork(self, branches: list[list[ast.stmt]]) -> None:
        """Runs branches that cannot be told apart, then joins their states."""
        hooks = self.hooks
        scope = self.scope
        base_vars = scope.vars
        mark = hooks.mark()
        base_saved = hooks.save(mark)
        base_attrs = [dict(obj.attrs) for obj in self.objects]
        known_objects = len(self.objects)
        outcomes: list[State] = []
        ended: list[type] = []
        self.uncertain += 1
        try:
            for branch in branches:
                scope.vars = dict(base_vars)
                hooks.restore(base_saved)
                for obj, attrs in zip(self.objects, base_attrs):
                    obj.attrs = dict(attrs)
                try:
                    self._exec_block(branch)
                except (Return, Break, Continue, Stop) as stop:
                    ended.append(type(stop))
                    if self._loop_exits and isinstance(stop, (Break, Continue)) and not stop.recorded:
                        state = (scope.vars, hooks.save(mark), [obj.attrs for obj in self.objects[:known_objects]])
                        exits = self._loop_exits[-1]
                        if isinstance(stop, Break):
                            exits.breaks.append(state)
                            exits.dependent_break = exits.dependent_break or self.iteration_branches > 0
                        else:
                            exits.continues.append(state)
                    continue
                outcomes.append((scope.vars, hooks.save(mark), [obj.attrs for obj in self.objects[:known_objects]]))
        finally:
            self.uncertain -= 1
        if not outcomes:
            scope.vars = base_vars
            hooks.restore(base_saved)
            for obj, attrs in zip(self.objects, base_attrs):
                obj.attrs = attrs
            for kind in (Return, Stop, Break, Continue):
                if kind in ended:
                    stop = kind()
                    if kind in (Break, Continue) and self._loop_exits:
                        stop.recorded = True  # each branch's state is in the loop's exits
                    raise stop
            return
        self._join_states(outcomes, known_objects, mark)

    def _join_mappings(self, mappings: list[dict[str, Any]]) -> dict[str, Any]:
        if len(mappings) == 1:
            return mappings[0]
        keys: dict[str, None] = {}
        for mapping in mappings:
            keys.update(dict.fromkeys(mapping))
        joined = {}
        for key in keys:
            value = self.join_values([mapping.get(key, MISSING) for mapping in mappings])
            if value is not MISSING:
                joined[key] = value
        return joined

    def join_values(self, values: list[Any]) -> Any:
        """One value for the values a name has in several states; `MISSING` when bound in none.

        Values known to be the same give that value; others are joined by
        `Hooks.join`.
        """
        present = [v for v in values if v is not MISSING]
        if not present:
            return MISSING
        first = present[0]
        if all(same_value(first, v) for v in present[1:]):
            return first
        return self.hooks.join(present)

    def _state(self, known_objects: int, mark: Any) -> State:
        """A copy of what branches and loop runs change: names, the hooks' state, instance attributes."""
        return (
            dict(self.scope.vars),
            self.hooks.save(mark),
            [dict(obj.attrs) for obj in self.objects[:known_objects]],
        )

    def _join_states(self, outcomes: list[State], known_objects: int, mark: Any) -> None:
        """Makes the current state the join of several (branches, or loop runs)."""
        self.scope.vars = self._join_mappings([vars_ for vars_, _, _ in outcomes])
        self.hooks.join_saved([saved for _, saved, _ in outcomes])
        for index, obj in enumerate(self.objects[:known_objects]):
            obj.attrs = self._join_mappings([attrs[index] for _, _, attrs in outcomes])

    def _forget_literals(self, names: set[str]) -> None:
        variables = self.scope.vars
        for name in names:
            if name in variables and is_plain(variables[name]):
                variables[name] = UNKNOWN

    # -- loops ---------------------------------------------------------------------------
    def _exec_for(self, node: ast.For) -> None:
        iterable = self._eval(node.iter)
        items = known_sequence(iterable)
        if items is not None and len(items) <= MAX_UNROLL and not isinstance(iterable, str):
            self._known_loop(node, items)
            return
        representatives = list(iterable) if isinstance(iterable, UnknownLengthList) and iterable else [UNKNOWN]
        self._unknown_loop(node, node.target, representatives)

    def _exec_while(self, node: ast.While) -> None:
        if truth(self._eval(node.test)) is False:
            self._exec_block(node.orelse)
            return
        self._unknown_loop(node, None, [UNKNOWN])

    def _run_iteration(self, body: list[ast.stmt], exits: LoopExits) -> str:
        """Runs a loop body once: `"end"`, `"continue"`, `"break"`, or `"recorded"` (every path left early).

        `break`/`continue` in undecidable branches leave their states in `exits`.
        """
        self._loop_exits.append(exits)
        try:
            self._exec_block(body)
            return "end"
        except Continue as stop:
            return "recorded" if stop.recorded else "continue"
        except Break as stop:
            return "recorded" if stop.recorded else "break"
        finally:
            self._loop_exits.pop()

    def _known_loop(self, node: ast.For, items: list[Any]) -> None:
        """Unrolls a loop over known items; a `break` in an undecidable branch joins the state after the loop."""
        self.hooks.loop_started(node, node.target, len(items))
        known_objects, mark = len(self.objects), self.hooks.mark()
        breaks: list[Any] = []
        left = False
        outcome = "end"
        self.loops.append(Loop(node, node.target, len(items)))
        try:
            for item in items:
                self.step()
                self._assign(node.target, item)
                exits = LoopExits()
                outcome = self._run_iteration(node.body, exits)
                if exits.breaks or exits.continues:
                    breaks.extend(exits.breaks)
                    going_on = list(exits.continues)
                    if outcome in ("end", "continue"):
                        going_on.append(self._state(known_objects, mark))
                    if going_on:
                        self._join_states(going_on, known_objects, mark)
                    else:
                        left = True
                if outcome == "break" or (outcome == "recorded" and not exits.continues):
                    left = True
                if left:
                    break
        finally:
            self.loops.pop()
        if breaks:
            current = [] if outcome == "recorded" and left else [self._state(known_objects, mark)]
            self._join_states(current + breaks, known_objects, mark)
        if not left:
            self._exec_block(node.orelse)

    def _unknown_loop(self, node: ast.AST, target: ast.AST | None, representatives: list[Any]) -> None:
        """Runs a loop body whose trip count is unknown, as two iterations or more.

        The body runs once per representative item, and at least twice (the
        same item again), so that what one iteration makes feeds the next.
        What follows the loop reads the state after any of these runs (the
        loop may stop after each), or, when a branch that tests the loop's
        variables leaves it with `break`, the states of those `break`s. The
        hooks see each run start (`Hooks.loop_run`) and the loop end
        (`Hooks.loop_finished`).
        """
        names = self._loop_names.get(id(node))
        if names is None:
            names = assigned_names(node.body)
            if target is not None:
                names |= assigned_names([target])
            self._loop_names[id(node)] = names
        self._forget_literals(names)
        runs = representatives if len(representatives) >= 2 else representatives * 2
        hooks = self.hooks
        loop = hooks.loop_started(node, target, None)
        known_objects, mark = len(self.objects), hooks.mark()
        ends: list[Any] = []
        breaks: list[Any] = []
        dependent_break = False
        self.uncertain += 1
        self._varying.append(names)
        self.loops.append(Loop(node, target, None))
        try:
            for index, item in enumerate(runs):
                if index:
                    self._forget_literals(names)
                hooks.loop_run(loop, index, names)
                if target is not None:
                    self._assign(target, item)
                exits = LoopExits()
                outcome = self._run_iteration(node.body, exits)
                breaks.extend(exits.breaks)
                dependent_break = dependent_break or exits.dependent_break
                if outcome == "break":
                    breaks.append(self._state(known_objects, mark))
                going_on = list(exits.continues)
                if outcome in ("end", "continue"):
                    going_on.append(self._state(known_objects, mark))
                if not going_on:
                    break  # every path left the loop: no further run
                if len(going_on) > 1:
                    self._join_states(going_on, known_objects, mark)
                    going_on = [self._state(known_objects, mark)]
                ends.append(going_on[0])
        finally:
            self.loops.pop()
            self._varying.pop()
            self.uncertain -= 1
        # A loop that a branch testing its variables leaves with `break` leaves that way;
        # otherwise it may stop after any run, or at any `break`.
        exit_states = breaks if dependent_break and breaks else ends + breaks
        if exit_states:
            self._join_states(exit_states, known_objects, mark)
        hooks.loop_finished(loop, names)
        self._forget_literals(names)
        if target is not None:
            self._assign(target, UNKNOWN)
        self._exec_block(node.orelse)

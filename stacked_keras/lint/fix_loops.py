"""How `lint --fix` sets `return_sequences` on a recurrent layer built in a loop.

A loop that stacks recurrent layers (`for i in range(depth):
model.add(LSTM(32))`) makes several layers from one call. When nothing
recurrent follows the loop, every layer but the last must return sequences
and the last must keep returning its last state, so `return_sequences=True`
would break the top of the stack. The fix is a condition on the loop's index,
written with the loop's own variable and bound as the user wrote them:

- `for i in range(depth)` / `range(1, n)` / `range(len(units))`:
  `return_sequences=i < depth - 1` (`range(3)` gives `i < 2`);
- `for i, u in enumerate(units)`: `return_sequences=i < len(units) - 1`;
- `for u in units` (no index): the loop becomes `for i, u in
  enumerate(units):` and the layer gets `return_sequences=i < len(units) - 1`
  (`i` or, when the file already uses it, another free name);
- `for u, seq in zip(units, flags)` with `return_sequences=seq`: the entries
  of the user's list of flags are set (`[True, True, False]`).

When no such form can be written (a `while` loop, a loop over a generator or
an iterable without a length, a `range` with a step, a layer made by a helper
that takes no argument for it), `LoopPlan.reason` says why and
`LoopPlan.pattern` gives the form to write by hand.

The source front-end keeps, per layer call, the evaluator's running loops
(`stacked_keras.lint.pyeval.Loop`); `enclosing_loop` picks the one whose body
holds the call when the fixer asks (`LayerCall.loop`). Like the rest of the
static linter, this module imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from stacked_keras.graph import LayerNode, ModelGraph, expand_stack_layers
from stacked_keras.lint.semantics import GraphView, last_state_destinations

__all__ = ["EnclosingLoop", "LoopPlan", "enclosing_loop", "plan_loop_fix", "needs_condition", "feeds_recurrent",
           "as_planned", "GENERIC_PATTERN"]

# The pattern printed when the loop's own variable and bound cannot be used.
GENERIC_PATTERN = "for i in range(n): ... return_sequences=i < n - 1"

# An edit in program coordinates: (line, byte column, end line, end byte column, new text).
Edit = tuple[int, int, int, int, str]

# Iterables whose `len()` is the loop's trip count (besides names, attributes and subscripts).
_SIZED_CALLS = frozenset({"list", "tuple", "sorted", "dict", "set"})
_SIZED_METHODS = frozenset({"items", "keys", "values"})
# Operators that bind at least as tightly as `-`: `bound - 1` needs no parentheses.
_TIGHT_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)
_INDEX_NAMES = ("i", "layer_index", "layer_number")


@dataclass(frozen=True)
class EnclosingLoop:
    """The innermost loop whose body holds a layer call (as `LayerCall.loop` records it).

    Args:
        node: the `ast.For` or `ast.While` node.
        trip_count: the number of iterations when the evaluator knew it
            (the loop was unrolled), else None.
    """

    node: ast.For | ast.While
    trip_count: int | None


@dataclass
class LoopPlan:
    """What the fixer does for a layer built in a loop.

    Args:
        value: the expression to give `return_sequences` (`"i < depth - 1"`),
            or None when the layer's own argument stays as it is (the flags
            form) or no fix can be made.
        edits: other edits the form needs (the loop header, the flags list).
        reason: why no fix can be made, or None.
        pattern: the form to write by hand (always set).
    """

    value: str | None = None
    edits: list[Edit] = field(default_factory=list)
    reason: str | None = None
    pattern: str = GENERIC_PATTERN


def _contains(outer: ast.AST, inner: ast.AST) -> bool:
    """Whether `inner` is in the body of loop `outer` (the same tree, not only the same lines)."""
    start = (outer.body[0].lineno, outer.body[0].col_offset)
    end = (outer.body[-1].end_lineno, outer.body[-1].end_col_offset)
    if not start <= (inner.lineno, inner.col_offset) or not (inner.end_lineno, inner.end_col_offset) <= end:
        return False
    return any(node is inner for statement in outer.body for node in ast.walk(statement))


def enclosing_loop(loops: Iterable[object], call: ast.AST) -> EnclosingLoop | None:
    """The innermost running loop whose body holds `call` in the source.

    Args:
        loops: the evaluator's running loops, innermost last (objects with
            `node` and `trip_count`).
        call: the layer's constructor call, or the user function's call that
            gives its `return_sequences`.

    Returns:
        The `EnclosingLoop`, or None when no running loop holds the call in
        its body (it may still run inside one, through a function call).
    """
    for loop in reversed(list(loops)):
        node = loop.node
        if isinstance(node, (ast.For, ast.AsyncFor, ast.While)) and _contains(node, call):
            return EnclosingLoop(node, loop.trip_count)
    return None


def _needs_parentheses(expression: ast.expr) -> bool:
    if isinstance(expression, (ast.Name, ast.Attribute, ast.Call, ast.Subscript, ast.Constant)):
        return False
    if isinstance(expression, ast.BinOp) and isinstance(expression.op, _TIGHT_OPERATORS):
        return False
    return not (isinstance(expression, ast.UnaryOp) and isinstance(expression.op, ast.USub))


def _minus_one(text: str, expression: ast.expr) -> str:
    """`<expression> - 1` as source, folding integer literals (`3` gives `2`)."""
    if isinstance(expression, ast.Constant) and type(expression.value) is int:
        return str(expression.value - 1)
    return f"({text}) - 1" if _needs_parentheses(expression) else f"{text} - 1"


def _names_in(trees: Iterable[ast.AST]) -> set[str]:
    used = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.Name):
                used.add(node.id)
            elif isinstance(node, ast.arg):
                used.add(node.arg)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                used.add(node.name)
    return used


def _call_name(expression: ast.expr) -> str | None:
    if isinstance(expression, ast.Call) and isinstance(expression.func, ast.Name):
        return expression.func.id
    return None


def _plain_arguments(call: ast.Call) -> bool:
    return not call.keywords and not any(isinstance(a, ast.Starred) for a in call.args)


def _generators(trees: Iterable[ast.AST]) -> tuple[set[str], dict[str, list[ast.expr]]]:
    """The user's generator functions, and what each name is assigned, in `trees`."""
    generator_functions, assigned = set(), {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                    isinstance(inner, (ast.Yield, ast.YieldFrom)) for inner in ast.walk(node)):
                generator_functions.add(node.name)
            elif isinstance(node, ast.Assign):
                for target in node.targets:
                    if isinstance(target, ast.Name):
                        assigned.setdefault(target.id, []).append(node.value)
    return generator_functions, assigned


def _unsized_reason(iterable: ast.expr, text: str, trees: list[ast.AST]) -> str | None:
    """Why `len(iterable)` would not give the trip count, or None when it does."""
    generator_functions, assigned = _generators(trees)

    def lazy(expression: ast.expr) -> bool:
        if isinstance(expression, ast.GeneratorExp):
            return True
        name = _call_name(expression)
        return name is not None and (name in generator_functions or name in {"iter", "map", "filter", "reversed"})

    if lazy(iterable):
        return f"the loop runs over {text}, a generator or iterator whose length is not known before it runs"
    if isinstance(iterable, ast.Name):
        if any(lazy(value) for value in assigned.get(iterable.id, [])):
            return f"the loop runs over {text}, which holds a generator or iterator whose length is not known"
        return None
    if isinstance(iterable, (ast.Attribute, ast.Subscript, ast.List, ast.Tuple)):
        return None
    name = _call_name(iterable)
    if name in _SIZED_CALLS:
        return None
    if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Attribute) \
            and iterable.func.attr in _SIZED_METHODS and not iterable.args:
        return None
    return f"the loop runs over {text}, whose length cannot be written before the loop"


def _flag_list(expression: ast.expr, trees: list[ast.AST]) -> ast.List | ast.Tuple | None:
    """The list or tuple literal of flags that `expression` is, or names (assigned once)."""
    if isinstance(expression, ast.Name):
        values = _generators(trees)[1].get(expression.id, [])
        if len(values) != 1:
            return None
        expression = values[0]
    if isinstance(expression, (ast.List, ast.Tuple)) and expression.elts and all(
            isinstance(e, ast.Constant) and isinstance(e.value, bool) for e in expression.elts):
        return expression
    return None


def plan_loop_fix(loop: EnclosingLoop, argument: ast.expr | None, segment: Callable[[ast.AST], str],
                  trees: list[ast.AST], same_part: Callable[[ast.AST], bool]) -> LoopPlan:
    """How to make every layer of a loop but the last return sequences.

    Args:
        loop: the loop whose body builds the layer.
        argument: the expression written for `return_sequences` (or for the
            helper parameter that carries it), or None when none is written.
        segment: gives the source text of a node, as written.
        trees: the parsed program (to find free names, the user's generators
            and the list of flags).
        same_part: whether a node lies in the part (file or notebook cell)
            that is edited.

    Returns:
        A `LoopPlan`: the value and edits, or the reason and the pattern.

    Example:

    >>> import ast
    >>> source = "for u in units:\\n    model.add(LSTM(u))\\n"
    >>> tree = ast.parse(source)
    >>> plan = plan_loop_fix(EnclosingLoop(tree.body[0], None), None, lambda node: ast.get_source_segment(source, node),
    ...                      [tree], lambda node: True)
    >>> plan.value, [edit[-1] for edit in plan.edits]
    ('i < len(units) - 1', ['i, u', 'enumerate(units)'])
    """
    node = loop.node
    if isinstance(node, ast.While):
        return LoopPlan(reason="the layer is built in a while loop, whose number of iterations is not written "
                               "in the loop")
    target, iterable = node.target, node.iter
    text = segment(iterable)
    kind = _call_name(iterable)
    if kind == "range" and isinstance(iterable, ast.Call) and _plain_arguments(iterable) and \
            1 <= len(iterable.args) <= 3:
        if len(iterable.args) == 3 and not (isinstance(iterable.args[2], ast.Constant) and iterable.args[2].value == 1):
            return LoopPlan(reason=f"the loop runs over {text}, a range with a step; the last layer is the one "
                                   "whose index plus the step reaches the end")
        bound = iterable.args[-1]
        if isinstance(target, ast.Name):
            index, edits = target.id, []
            if index == "_" and not any(isinstance(n, ast.Name) and n.id == "_" and isinstance(n.ctx, ast.Load)
                                        for n in ast.walk(node)):
                index = _free_name(trees)
                edits = [_span(target, index)]
            condition = f"{index} < {_minus_one(segment(bound), bound)}"
            return LoopPlan(condition, edits, pattern=f"return_sequences={condition}")
        return LoopPlan(reason=f"the loop over {text} assigns {segment(target)}, not one index name")
    if kind == "enumerate" and isinstance(iterable, ast.Call) and 1 <= len(iterable.args) + len(iterable.keywords) \
            <= 2 and iterable.args and not any(isinstance(a, ast.Starred) for a in iterable.args):
        starts = iterable.args[1:] + [k.value for k in iterable.keywords if k.arg == "start"]
        if len(starts) != len(iterable.args[1:]) + len(iterable.keywords) or not all(
                isinstance(e, ast.Constant) and type(e.value) is int for e in starts):
            return LoopPlan(reason=f"the loop runs over {text}, which does not count from a known start")
        start = starts[0].value if starts else 0
        items = iterable.args[0]
        reason = _unsized_reason(items, segment(items), trees)
        if reason is not None:
            return LoopPlan(reason=reason)
        if not (isinstance(target, ast.Tuple) and len(target.elts) == 2 and isinstance(target.elts[0], ast.Name)):
            return LoopPlan(reason=f"the loop over {text} assigns {segment(target)}, not an index and an item")
        offset = start - 1
        bound = f"len({segment(items)})" + (f" + {offset}" if offset > 0 else f" - {-offset}" if offset else "")
        condition = f"{target.elts[0].id} < {bound}"
        return LoopPlan(condition, pattern=f"return_sequences={condition}")
    if kind == "zip" and isinstance(iterable, ast.Call) and _plain_arguments(iterable) and iterable.args:
        plan = _zip_flags(iterable, target, argument, segment, trees, same_part)
        if plan is not None:
            return plan
        sized = iterable.args[0]
    else:
        sized = iterable
    reason = _unsized_reason(sized, segment(sized), trees)
    if reason is not None:
        return LoopPlan(reason=reason)
    index = _free_name(trees)
    target_text = segment(target)
    if isinstance(target, ast.Tuple) and not target_text.startswith("("):
        target_text = f"({target_text})"
    literal = isinstance(sized, (ast.List, ast.Tuple)) and not any(isinstance(e, ast.Starred) for e in sized.elts)
    condition = f"{index} < {len(sized.elts) - 1}" if literal else f"{index} < len({segment(sized)}) - 1"
    edits = [_span(target, f"{index}, {target_text}"), _span(iterable, f"enumerate({text})")]
    return LoopPlan(condition, edits,
                    pattern=f"for {index}, {target_text} in enumerate({text}): ... return_sequences={condition}")


def _zip_flags(iterable: ast.Call, target: ast.expr, argument: ast.expr | None, segment: Callable[[ast.AST], str],
               trees: list[ast.AST], same_part: Callable[[ast.AST], bool]) -> LoopPlan | None:
    """The flags form of `for u, seq in zip(units, flags): LSTM(u, return_sequences=seq)`, or None."""
    if not (isinstance(argument, ast.Name) and isinstance(target, ast.Tuple)
            and len(target.elts) == len(iterable.args)):
        return None
    position = next((k for k, e in enumerate(target.elts) if isinstance(e, ast.Name) and e.id == argument.id), None)
    if position is None:
        return None
    flags_expression = iterable.args[position]
    flags = _flag_list(flags_expression, trees)
    name = segment(flags_expression)
    if flags is None or not same_part(flags):
        return LoopPlan(reason=f"return_sequences comes from {name}, the loop's list of flags, which is not a "
                               "list of True/False written once in the same file or cell",
                        pattern=f"{name} = [True, True, ..., False] (True for every layer but the last)")
    count = len(flags.elts)
    edits = []
    for k, element in enumerate(flags.elts):
        value = k < count - 1
        if element.value is not value:
            edits.append(_span(element, str(value)))
    new = "[" + ", ".join(str(k < count - 1) for k in range(count)) + "]"
    return LoopPlan(None, edits, pattern=f"{name} = {new}")


def _span(node: ast.AST, text: str) -> Edit:
    return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, text)


def _free_name(trees: list[ast.AST]) -> str:
    used = _names_in(trees)
    for name in _INDEX_NAMES:
        if name not in used:
            return name
    number = 2
    while f"layer_index{number}" in used:
        number += 1
    return f"layer_index{number}"


def feeds_recurrent(graph: ModelGraph, node: LayerNode) -> bool:
    """Whether the node's last state reaches a recurrent layer, as the rules see it (SK101)."""
    return any(reshape is None for _, reshape in last_state_destinations(GraphView(graph), node.id))


def needs_condition(built: list[tuple[ModelGraph, LayerNode]]) -> bool | None:
    """Whether the layers one loop call builds need the index condition.

    Args:
        built: `(graph, node)` for each layer built at the call, in the
            order the loop built them.

    Returns:
        False when every layer feeds a recurrent layer (`True` fixes them
        all: something recurrent follows the loop), True when, in each
        model, every layer but the last does, None otherwise (the loop's
        layers must differ in another way than "all but the last").
    """
    by_graph: dict[int, list[bool]] = {}
    for graph, node in built:
        by_graph.setdefault(id(graph), []).append(feeds_recurrent(graph, node))
    if all(all(feeds) for feeds in by_graph.values()):
        return False
    if all(len(feeds) > 1 and all(feeds[:-1]) and not feeds[-1] for feeds in by_graph.values()):
        return True
    return None


def as_planned(value: object, graph: ModelGraph, node: LayerNode) -> bool:
    """After a loop fix: a layer returns sequences exactly when it feeds a recurrent layer (or is unknown)."""
    if value is True or value is False:
        return value is feeds_recurrent(graph, node)
    return True


def built_layers(graphs: list[ModelGraph]) -> Iterator[tuple[ModelGraph, LayerNode]]:
    """`(graph, node)` for each layer of the models, as the rules see them.

    A stack layer (`LSTMStack([64, 32])`) is read as its layers
    (`graph.expand_stack_layers`), and only its top layer is given: the one
    whose `return_sequences` is the call's (the lower ones always return
    their sequences), so a fix of the call is a fix of that layer.
    """
    for graph in graphs:
        expanded = expand_stack_layers(graph)
        for node in expanded.nodes:
            if node.part is None or node.part.is_top:
                yield expanded, node


def built_at(key: tuple[int | None, int, int], graphs: list[ModelGraph]) -> list[tuple[ModelGraph, LayerNode]]:
    """`(graph, node)` for each layer whose core was built at a call (`(cell, line, column)`), in build order."""
    found = []
    for graph, node in built_layers(graphs):
        location = node.core.location
        if location is not None and (location.cell, location.line, location.column) == key:
            found.append((graph, node))
    return found


def loop_plan(loop: EnclosingLoop | None, key: tuple[int | None, int, int], argument: ast.expr | None,
              graphs: list[ModelGraph], context: Callable[[], tuple]) -> LoopPlan | None:
    """The `LoopPlan` for the layers built at `key`, or None when they all simply return sequences.

    Args:
        loop: the loop holding the layer call (None: not in a loop).
        key: `(cell, line, column)` of the call.
        argument: the expression written for `return_sequences`, or None.
        graphs: the models analysed.
        context: gives `(trees, segment, part_of)`: the parsed program, the
            text of a node, and the part (cell, or None) a node lies in.
    """
    built = built_at(key, graphs) if loop is not None else []
    if not built or not needs_condition(built):
        return None
    counts = [sum(1 for graph, _ in built if graph is model) for model in {id(g): g for g, _ in built}.values()]
    if loop.trip_count is not None and any(count != loop.trip_count for count in counts):
        return LoopPlan(reason=f"the loop at line {loop.node.lineno} runs more than once for one model (inside "
                               "another loop or a function called again), so its index does not count every layer",
                        pattern="one index over all the layers: return_sequences=k < total - 1")
    trees, segment, part_of = context()
    return plan_loop_fix(loop, argument, segment, trees, lambda node: part_of(node) == key[0])

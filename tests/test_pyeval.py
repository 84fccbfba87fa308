"""The Python evaluator (`stacked_keras.lint.pyeval`) on plain Python programs, with no Keras.

A recording `Hooks` subclass logs what the evaluator calls out for: calls of
names it cannot follow, loops, units analysed on their own. The last tests
pin the seam: the evaluator's modules never name Keras, nor import anything
that does.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import stacked_keras.lint.pyeval as pyeval
from stacked_keras.lint.pyeval import (
    MISSING,
    UNKNOWN,
    CallArgs,
    Evaluator,
    External,
    Hooks,
    ModuleRef,
    UnknownLengthList,
)


class Recorder(Hooks):
    """Records the calls out of the evaluator; a call of `token()` makes a `Token`."""

    def __init__(self):
        self.calls: list[tuple[str, list]] = []
        self.loops: list[tuple[str, object]] = []
        self.missing: list[str] = []
        self.units: list[bool] = []
        self.binary_ops: list[tuple[str, object, object]] = []

    def unknown_call(self, name, arguments, node):
        self.calls.append((name, list(arguments.args)))
        if name == "token":
            return Token(len(self.calls))
        return UNKNOWN

    def name_missing(self, name):
        self.missing.append(name)
        return UNKNOWN

    def binary(self, op, left, right, node):
        self.binary_ops.append((type(op).__name__, left, right))
        return Token(-1)

    def join(self, values):
        if all(isinstance(v, Token) for v in values):
            return Token(tuple(v.id for v in values))
        return UNKNOWN

    def loop_started(self, node, target, trip_count):
        self.loops.append(("started", trip_count))
        return len(self.loops)

    def loop_run(self, loop, index, names):
        self.loops.append(("run", index))

    def loop_finished(self, loop, names):
        self.loops.append(("finished", sorted(names)))

    def unit_finished(self, mark, abandoned):
        self.units.append(abandoned)


class Token(External):
    """A value the hooks own."""

    __slots__ = ("id",)

    def __init__(self, id):
        self.id = id


def evaluate(source: str) -> tuple[dict, Recorder, Evaluator]:
    hooks = Recorder()
    evaluator = Evaluator(hooks)
    assert evaluator.run([ast.parse(source)]) is True
    return evaluator.module_scope.vars, hooks, evaluator


def calls_named(hooks: Recorder, name: str) -> list[list]:
    return [args for called, args in hooks.calls if called == name]


def test_arithmetic_constants_and_strings_are_computed():
    names, _, _ = evaluate(
        "x = 2 + 3 * 4\n"
        "y = (x - 4) // 3 % 4 ** 2\n"
        "s = 'ab' * 2 + 'c'\n"
        "t = (1, 2) + (3,)\n"
        "f = f'{x:03d}-{s!r}'\n"
        "big = 10 ** 1000\n"
        "neg = -x\n"
        "ok = 1 < x <= 14 and not False\n"
        "bad = 1 / 0\n"
    )
    assert names["x"] == 14 and names["y"] == 3 and names["s"] == "ababc" and names["t"] == (1, 2, 3)
    assert names["f"] == "014-'ababc'" and names["neg"] == -14 and names["ok"] is True
    assert names["big"] is UNKNOWN  # too large to be worth building
    assert names["bad"] is UNKNOWN  # the program's own ZeroDivisionError


def test_scopes_and_closures_resolve_names_outward():
    names, hooks, _ = evaluate(
        "base = 10\n"
        "def outer(k):\n"
        "    n = k + 1\n"
        "    def inner(m):\n"
        "        return n + m + base\n"
        "    return inner(100)\n"
        "r = outer(1)\n"
        "u = undefined_name + 1\n"
    )
    assert names["r"] == 112
    assert "n" not in names and "k" not in names  # locals stay in the function's scope
    assert names["u"] is UNKNOWN and hooks.missing == ["undefined_name"]


def test_functions_bind_defaults_star_args_and_keyword_arguments():
    names, _, _ = evaluate(
        "def f(a, b=2, *rest, c=3, **kw):\n"
        "    return (a, b, rest, c, kw)\n"
        "all_given = f(1, 5, 6, 7, c=4, d=8)\n"
        "defaults = f(1)\n"
        "from_dict = f(**{'a': 9, 'c': 0})\n"
        "from_list = f(*[1, 2, 3])\n"
        "square = (lambda v, p=2: v ** p)(3)\n"
    )
    assert names["all_given"] == (1, 5, (6, 7), 4, {"d": 8})
    assert names["defaults"] == (1, 2, (), 3, {})
    assert names["from_dict"] == (9, 2, (), 0, {})
    assert names["from_list"] == (1, 2, (3,), 3, {})
    assert names["square"] == 9


def test_classes_methods_and_instances_keep_their_attributes():
    names, _, _ = evaluate(
        "class Counter:\n"
        "    step = 1\n"
        "    def __init__(self, start):\n"
        "        self.n = start\n"
        "    def bump(self, by=None):\n"
        "        self.n = self.n + (self.step if by is None else by)\n"
        "        return self.n\n"
        "class Twice(Counter):\n"
        "    step = 2\n"
        "c = Counter(3)\n"
        "c.bump()\n"
        "v = c.bump(10)\n"
        "w = Twice(0).bump()\n"
        "n = c.n\n"
    )
    assert names["v"] == 14 and names["n"] == 14 and names["w"] == 2


def test_an_undecidable_if_runs_both_branches_and_joins_them():
    names, hooks, _ = evaluate(
        "flag = unknown_flag()\n"
        "if flag:\n"
        "    same, differs = 1, 'a'\n"
        "    left()\n"
        "    t = token()\n"
        "else:\n"
        "    same, differs = 1, 'b'\n"
        "    right()\n"
        "    t = token()\n"
        "    only_else = 5\n"
        "known = 'yes' if 2 > 1 else 'no'\n"
    )
    assert calls_named(hooks, "left") == [[]] and calls_named(hooks, "right") == [[]]
    assert names["same"] == 1  # the same in both branches: kept
    assert names["differs"] is UNKNOWN  # different plain values: UNKNOWN
    assert names["only_else"] == 5  # bound in one branch only: that value
    assert isinstance(names["t"], Token) and names["t"].id == (3, 5)  # the hooks joined their values (3rd and 5th calls)
    assert names["known"] == "yes"


def test_a_known_range_is_unrolled():
    names, hooks, _ = evaluate(
        "total = 0\n"
        "for i in range(4):\n"
        "    total += i\n"
        "    log(i)\n"
        "else:\n"
        "    finished = True\n"
    )
    assert names["total"] == 6 and names["i"] == 3 and names["finished"] is True
    assert calls_named(hooks, "log") == [[0], [1], [2], [3]]
    assert hooks.loops == [("started", 4)]


def test_a_loop_of_unknown_length_runs_twice_and_forgets_what_it_changes():
    names, hooks, evaluator = evaluate(
        "count = 0\n"
        "kept = 'outside'\n"
        "for item in data():\n"
        "    seen(item)\n"
        "    count = count + 1\n"
    )
    assert calls_named(hooks, "seen") == [[UNKNOWN], [UNKNOWN]]
    assert names["count"] is UNKNOWN and names["item"] is UNKNOWN and names["kept"] == "outside"
    assert hooks.loops == [("started", None), ("run", 0), ("run", 1), ("finished", ["count", "item"])]
    assert evaluator.uncertain == 0


def test_a_comprehension_over_unknown_items_gives_a_list_of_unknown_length():
    names, _, _ = evaluate(
        "squares = [i * i for i in range(5) if i != 2]\n"
        "table = {k: k + 1 for k in (1, 2)}\n"
        "pairs = list(zip([1, 2], 'ab'))\n"
        "unknown = [x for x in data()]\n"
        "starred = [0, *data()]\n"
    )
    assert names["squares"] == [0, 1, 9, 16]
    assert names["table"] == {1: 2, 2: 3}
    assert names["pairs"] == [(1, "a"), (2, "b")]
    assert isinstance(names["unknown"], UnknownLengthList)
    assert isinstance(names["starred"], UnknownLengthList)


def test_while_loops_run_twice_unless_their_condition_is_false():
    names, hooks, _ = evaluate(
        "while keep_going():\n"
        "    tick()\n"
        "while False:\n"
        "    never()\n"
        "else:\n"
        "    after = 1\n"
    )
    assert calls_named(hooks, "tick") == [[], []]
    assert calls_named(hooks, "never") == []
    assert names["after"] == 1


def test_break_and_continue_end_and_skip_iterations():
    names, _, _ = evaluate(
        "out = []\n"
        "for i in range(10):\n"
        "    if i == 3:\n"
        "        break\n"
        "    out.append(i)\n"
        "else:\n"
        "    not_reached = True\n"
        "evens = []\n"
        "for i in range(5):\n"
        "    if i % 2:\n"
        "        continue\n"
        "    evens.append(i)\n"
    )
    assert names["out"] == [0, 1, 2] and "not_reached" not in names
    assert names["evens"] == [0, 2, 4]


def test_a_break_in_an_undecidable_branch_joins_the_state_after_the_loop():
    names, _, _ = evaluate(
        "state = 'start'\n"
        "for i in range(3):\n"
        "    if unknown():\n"
        "        state = 'broke'\n"
        "        break\n"
        "    state = 'ran'\n"
    )
    assert names["state"] is UNKNOWN  # 'broke' or 'ran': not known


def test_try_runs_its_body_and_finally_and_lends_imports_from_handlers():
    names, _, _ = evaluate(
        "try:\n"
        "    import simplejson as json\n"
        "    x = 1\n"
        "    raise ValueError()\n"
        "    y = 2\n"
        "except ImportError:\n"
        "    import json\n"
        "    import csv\n"
        "    z = 3\n"
        "finally:\n"
        "    w = 4\n"
    )
    assert names["x"] == 1 and names["w"] == 4
    assert "y" not in names and "z" not in names  # after the raise; in a handler
    assert names["json"].path == "simplejson"  # the body's import wins
    assert names["csv"].path == "csv"  # a name only a handler imports


def test_match_runs_every_case_as_branches():
    names, hooks, _ = evaluate(
        "match command():\n"
        "    case 'a':\n"
        "        picked = 1\n"
        "        first()\n"
        "    case _:\n"
        "        picked = 2\n"
        "        second()\n"
    )
    assert calls_named(hooks, "first") == [[]] and calls_named(hooks, "second") == [[]]
    assert names["picked"] is UNKNOWN


def test_values_the_hooks_own_go_back_to_the_hooks():
    names, hooks, _ = evaluate(
        "a = token()\n"
        "b = a + 1\n"
        "c = 2 * a\n"
        "d = a.anything\n"
        "e = a[0]\n"
        "if a:\n"
        "    truthy = True\n"
    )
    assert [(op, type(left).__name__, type(right).__name__) for op, left, right in hooks.binary_ops] == [
        ("Add", "Token", "int"), ("Mult", "int", "Token")]
    assert isinstance(names["b"], Token) and isinstance(names["c"], Token)
    assert names["d"] is UNKNOWN and names["e"] is UNKNOWN  # the plain Hooks answers
    assert names["truthy"] is True  # External.truth is True by default


def test_imports_become_module_references_through_the_resolver():
    class Resolver(Hooks):
        def resolve_module(self, path):
            return path.replace("np.", "numpy.") if path.startswith("np.") else path

    evaluator = Evaluator(Resolver())
    evaluator.run([ast.parse("import os.path\nimport numpy as np\nfrom np import zeros\nsep = os.path.sep\n")])
    names = evaluator.module_scope.vars
    assert isinstance(names["os"], ModuleRef) and names["os"].path == "os"
    assert names["np"].path == "numpy" and names["zeros"].path == "numpy.zeros"
    assert names["sep"].path == "os.path.sep"


def test_functions_never_called_are_analysed_on_their_own_with_literal_defaults():
    _, hooks, _ = evaluate(
        "def build(depth=3, width=unknown()):\n"
        "    for i in range(depth):\n"
        "        layer(i, width)\n"
        "class Plain:\n"
        "    def __init__(self):\n"
        "        self.k = 7\n"
        "    def method(self):\n"
        "        used(self.k)\n"
    )
    assert calls_named(hooks, "layer") == [[0, UNKNOWN], [1, UNKNOWN], [2, UNKNOWN]]
    assert calls_named(hooks, "used") == [[7]]  # __init__ ran first on a new instance
    assert hooks.units == [False, False]  # method (which runs __init__), then build


def test_recursion_and_deep_calls_are_not_followed():
    _, hooks, _ = evaluate(
        "def fact(n):\n"
        "    return n * fact(n - 1) if n else 1\n"
        "r = fact(3)\n"
    )
    assert [name for name, _ in hooks.calls] == ["fact"]  # the recursive call goes to the hooks


def test_a_program_over_its_step_budget_ends_cleanly():
    hooks = Recorder()
    evaluator = Evaluator(hooks)
    program = "for i in range(200):\n    for j in range(200):\n        for k in range(200):\n            x = 1\n"
    assert evaluator.run([ast.parse(program)]) is False
    assert evaluator.steps == pyeval.MAX_STEPS + 1
    assert hooks.units == []  # nothing more is analysed


def test_a_function_over_its_unit_budget_is_abandoned_and_the_next_one_still_runs():
    _, hooks, _ = evaluate(
        "def heavy():\n"
        "    for i in range(200):\n"
        "        for j in range(200):\n"
        "            x = 1\n"
        "def light():\n"
        "    ran()\n"
    )
    assert hooks.units == [False, True]  # light (latest first), then heavy abandoned
    assert calls_named(hooks, "ran") == [[]]


def test_the_evaluator_knows_a_few_builtins_and_methods():
    names, _, _ = evaluate(
        "items = [3, 1, 2]\n"
        "items.append(4)\n"
        "config = {'a': 1}\n"
        "config.update(b=2)\n"
        "n = len(items)\n"
        "ordered = sorted(items)\n"
        "pairs = list(enumerate('xy', start=1))\n"
        "label = '-'.join(['a', 'b']).upper()\n"
        "got = config.get('b')\n"
        "missing = config.get('z', 0)\n"
    )
    assert names["items"] == [3, 1, 2, 4] and names["n"] == 4 and names["ordered"] == [1, 2, 3, 4]
    assert names["pairs"] == [(1, "x"), (2, "y")] and names["label"] == "A-B"
    assert names["got"] == 2 and names["missing"] == 0


def test_join_values_keeps_equal_values_and_asks_the_hooks_otherwise():
    evaluator = Evaluator(Recorder())
    assert evaluator.join_values([MISSING, MISSING]) is MISSING
    assert evaluator.join_values([1, MISSING, 1]) == 1
    assert evaluator.join_values([1, 2]) is UNKNOWN
    assert evaluator.join_values([Token(1), Token(2)]).id == (1, 2)
    assert isinstance(CallArgs().kwargs, dict)


def test_a_hook_sees_the_loops_around_a_call_with_their_variable_and_trip_count():
    class Loops(Recorder):
        def unknown_call(self, name, arguments, node):
            if name == "make":
                self.seen = [(loop.trip_count, loop.target and ast.unparse(loop.target))
                             for loop in self.evaluator.loops]
            return super().unknown_call(name, arguments, node)

    hooks = Loops()
    Evaluator(hooks).run([ast.parse(
        "depth = 3\n"
        "while more():\n"
        "    for i, units in enumerate([8, 4, 2][:depth]):\n"
        "        make(units, flag=i < depth - 1)\n"
        "    else:\n"
        "        after_for()\n"
    )])
    assert hooks.seen == [(None, None), (3, "(i, units)")]
    assert calls_named(hooks, "make") == [[8], [4], [2]] * 2  # the while loop ran twice
    assert hooks.loops[:2] == [("started", None), ("run", 0)] and ("started", 3) in hooks.loops


def test_binds_says_whether_the_program_binds_a_name_anywhere():
    evaluator = Evaluator()
    evaluator.run([ast.parse(
        "import os.path\n"
        "from m import a as b\n"
        "from n import *\n"
        "def f(param, *rest, kw=1, **extra):\n"
        "    global later\n"
        "    later = [w := 2]\n"
        "class K: pass\n"
        "for x, (y, z) in []: pass\n"
        "with open('f') as handle: pass\n"
        "try: pass\n"
        "except Exception as err: pass\n"
        "match v:\n"
        "    case [first, *others]: pass\n"
        "    case {'k': 1, **remainder}: pass\n"
        "print(never_bound)\n"
    ), ast.parse("cell_two = LSTM\n")])
    for name in ("os", "b", "f", "param", "rest", "kw", "extra", "later", "w", "K", "x", "y", "z", "handle",
                 "err", "first", "others", "remainder", "cell_two"):
        assert evaluator.binds(name), name
    for name in ("never_bound", "LSTM", "a", "m", "n", "print", "v", "path"):
        assert not evaluator.binds(name), name


# -- the seam: no Keras in the evaluator -------------------------------------------------------

_PYEVAL_DIR = Path(pyeval.__file__).parent
_PYEVAL_FILES = sorted(_PYEVAL_DIR.glob("*.py"))


def test_the_evaluator_modules_never_name_keras():
    # The package is called stacked_keras; any other mention of Keras is a leak of Keras knowledge.
    assert len(_PYEVAL_FILES) >= 8
    for path in _PYEVAL_FILES:
        text = path.read_text(encoding="utf-8").replace("stacked_keras", "")
        assert "keras" not in text.lower(), f"{path.name} names Keras"


def test_the_evaluator_modules_import_nothing_that_knows_keras():
    standard = set(sys.stdlib_module_names) | {"__future__"}
    for path in _PYEVAL_FILES:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                allowed = (module.split(".")[0] in standard or module.startswith("stacked_keras.lint.pyeval")
                           or module == "stacked_keras.unknown")
                assert allowed, f"{path.name} imports {module}"


@pytest.mark.parametrize("module", ["evaluator", "hooks"])
def test_docstring_examples_run(module):
    import doctest
    import importlib

    failures, attempted = doctest.testmod(importlib.import_module(f"stacked_keras.lint.pyeval.{module}"))
    assert attempted >= 2 and failures == 0

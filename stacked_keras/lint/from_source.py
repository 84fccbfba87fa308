"""Static front-end: Python source files and notebooks to model graphs.

`graphs_from_python` reads a module through the `ast` module and returns one
`ModelGraph` per Keras model it builds; `graphs_from_notebook` does the same
for the code cells of a Jupyter notebook, run as one program. Nothing is
imported from the linted code and nothing is executed: TensorFlow and Keras
are never imported, so linting a stranger's file is safe and fast.

How it works: the module's statements are run by a small abstract
interpreter, in one pass, over a value domain that knows literals, the
modules a name was imported from, Keras layers (not yet applied), symbolic
tensors (the node that produced them), `Sequential` models being built, and
the user's own functions and classes. A value the interpreter cannot know
statically is `UNKNOWN`, and a layer setting that is `UNKNOWN` never leads
to a reported error.

What is recognised:

- `keras.Sequential([...])`, `Sequential()` followed by `.add(...)`, the
  functional API (`x = LSTM(..)(x)` chains closed by `keras.Model(inputs,
  outputs)`), subclassed `keras.Model`/`keras.layers.Layer` classes (layers
  assigned to `self` in `__init__`, wired in `call`), and models built inside
  functions (called with literal arguments, or analysed on their own).
- A function or class the program never calls is analysed on its own, the
  way a call with no arguments runs it: a parameter with a literal default
  (a number, string, bool, None, a tuple/list/dict of those, or a Keras name
  such as `layers.LSTM`) is bound to it, every other parameter, `*args` and
  `**kwargs` are `UNKNOWN`. So `def build(n_layers=3, units=64): ...` is
  read as `build()`.
- Every import spelling that reaches Keras: `keras`, `tensorflow.keras`,
  `tf.keras`, `tf_keras`, `keras.src...`, `from keras.layers import LSTM`,
  `from keras import layers as L`, `from keras.layers import *`. A name that
  does not come from Keras (a user class called `LSTM`, `torch.nn.LSTM`) is
  never taken for a Keras layer.
- Arguments as literals, names bound to literals, `**config` dicts (literal
  item assignment included), conditional expressions, f-strings, arithmetic,
  comparisons; `for` loops over `range(n)` or literal lists (unrolled up to
  256 iterations), list comprehensions, `enumerate`/`zip`; small helper
  functions returning a layer (inlined with their call's arguments).
- A condition that cannot be decided (`if use_gru: ... else: ...`) runs
  both branches and joins them as parallel paths of the graph; a name bound
  to different literals in the branches becomes `UNKNOWN`. A `break` or
  `continue` in such a branch takes its state to the loop's exit or next
  iteration.
- A loop whose trip count is unknown (`for i in range(n)` with `n` unknown,
  a `while` loop, a comprehension over an unknown list) runs its body twice,
  with the loop variable `UNKNOWN`, so that what one iteration builds feeds
  the next (a layer repeated by the loop feeds itself: `LSTM -> LSTM`); the
  code after the loop reads the state after either run. A branch that tests
  the loop's variables (`if i < n - 1: ... else: ...`) cannot be told apart
  per iteration: when its alternatives disagree on `return_sequences`, the
  paths returning a sequence are taken as the iterations followed by
  another and those returning a vector as the last one (the only ones that
  leave the loop), and a `break` in such a branch is taken as the way the
  loop ends. A model built by each run of such a loop, the same each time,
  is one graph.

Locations: every `LayerNode.location` is the layer's constructor call
(`LSTM(` ...): 1-based line and column, counted in characters (not UTF-8
bytes), with `end_line`/`end_column` just after the closing parenthesis.
The exception is the line to change living elsewhere:

- a recurrent layer whose `return_sequences` is a parameter of the user
  function (or class) that builds it (`def block(x, seq): return
  LSTM(8, return_sequences=seq)(x)`) is located at the call that gives the
  argument (`block(inp, False)`; followed through helpers that pass the
  parameter on), or at the parameter's default in the signature when the
  function is analysed on its own;
- a layer returned by a helper function that takes parameters
  (`def block(units): return LSTM(units)`) is located at the helper's call
  site.

In notebooks, `cell` is the cell's position in the notebook counting every
cell (markdown and raw cells too), 1-based, as a user counts them in
Jupyter, and `line` counts from the top of that cell. A notebook cell that
does not parse can be left out (see `graphs_from_notebook`'s `problems`),
the way Jupyter still runs the other cells.

Deliberately not followed (the value becomes `UNKNOWN`, or the model is not
found, rather than guessed):

- code in other files (`from my_models import block`), `exec`/`eval`,
  `getattr(layers, "LSTM")`, `layers.deserialize(...)`, `load_model(...)`;
- `except` handlers (only their imports are read: the `try` body is taken as
  the path that runs);
- lists and dicts mutated inside an undecidable branch (an item assigned
  there becomes `UNKNOWN`; an `append` is kept);
- the body of a `Lambda` layer, and layers created in a custom layer's
  `build()`;
- calls nested deeper than `MAX_CALL_DEPTH`, and recursion;
- a layer applied twice is two nodes (one per call), located at the same
  constructor call.
"""

# Size: over 600 lines until issue 9 moves the interpreter into lint/pyeval/ and the Keras hooks into lint/source_graph.py.

from __future__ import annotations

import ast
import bisect
import functools
import operator as _operator
import os
import re
from dataclasses import dataclass
from typing import Any

from stacked_keras.graph import (
    UNKNOWN,
    LayerNode,
    Location,
    ModelGraph,
    canonical_class,
)
from stacked_keras.keras_catalogue import (
    BOOLEAN_KEYS as _BOOLEAN_KEYS,
    KERAS_DEFAULTS,
    KERAS_LAYER_NAMES as _KERAS_LAYER_NAMES,
    KERAS_MODULE_ALIASES as _KERAS_ALIASES,
    MERGE_FUNCTIONS as _MERGE_FUNCTIONS,
    POSITIONAL_ARGUMENTS as _POSITIONAL,
    RANK_KEEPING,
    RECURRENT_LAYERS,
    WRAPPERS,
)
from stacked_keras.lint.files import decode_source_bytes, read_regular_file
from stacked_keras.lint.findings import UnreadableInput
from stacked_keras.lint.notebooks import (
    PYTHON_CELL_MAGICS,
    NotebookProgram,
    cell_python,
    notebook_program,
    parse_cell,
)
from stacked_keras.lint.parsing import parse_python as _parse, split_lines as _split_lines

__all__ = [
    "graphs_from_python",
    "graphs_from_notebook",
    "read_source_file",
    "analyse_python",
    "analyse_notebook",
    "notebook_program",
    "cell_python",
    "parse_cell",
    "decode_source_bytes",
    "read_regular_file",
    "SourceFrontEnd",
    "LayerCall",
    "NotebookProgram",
    "PYTHON_CELL_MAGICS",
]

# A loop with more iterations than this is analysed as a loop of unknown length.
MAX_UNROLL = 256
# Function calls are inlined up to this depth; deeper calls give UNKNOWN.
MAX_CALL_DEPTH = 6
# Statements and calls analysed for the module's own statements before the
# front-end gives up on the file, and for each function or class analysed on
# its own before that one analysis is abandoned.
MAX_STEPS = 100_000
MAX_UNIT_STEPS = 20_000
# Longest string or sequence the evaluator builds.
MAX_LITERAL = 10_000

# Operator names for ops written with Python operators on tensors.
_BINARY_OP_NAMES = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide",
    ast.FloorDiv: "floor_divide", ast.Mod: "mod", ast.Pow: "power", ast.MatMult: "matmul",
}
# A number of five digits or more in a format string: a width that could build a huge string.
_HUGE_NUMBER = re.compile(r"\d{5,}")
_SNAKE_FIRST = re.compile(r"(.)([A-Z][a-z]+)")
_SNAKE_SECOND = re.compile(r"([a-z])([A-Z])")


@functools.lru_cache(maxsize=4096)
def _snake_case(name: str) -> str:
    """`"SimpleRNN"` -> `"simple_rnn"`, the way Keras names layers."""
    name = re.sub(r"\W+", "", name)
    return _SNAKE_SECOND.sub(r"\1_\2", _SNAKE_FIRST.sub(r"\1_\2", name)).lower()


@functools.lru_cache(maxsize=16384)
def _canonical_path(path: str) -> str:
    """`"tensorflow.keras.layers.LSTM"` -> `"keras.layers.LSTM"`."""
    for alias in _KERAS_ALIASES:
        if path == alias or path.startswith(alias + "."):
            return "keras" + path[len(alias):]
    for prefix in ("tensorflow.compat.v1.", "tensorflow.compat.v2."):
        if path.startswith(prefix):
            return "tensorflow." + path[len(prefix):]
    return path


# Kinds of Keras objects a module path can name.
_SEQUENTIAL = "sequential"
_MODEL = "model"
_INPUT = "input"
_LAYER = "layer"
_LAYER_BASE = "layer_base"
_MERGE = "merge"
_OP = "op"
_ACTIVATION = "activation"
_OBJECT = "object"
_OBJECT_MODULES = frozenset({
    "regularizers", "initializers", "constraints", "losses", "metrics", "optimizers", "callbacks",
})


@functools.lru_cache(maxsize=16384)
def _keras_kind(path: str) -> tuple[str, str] | None:
    """What a canonical module path names: `("layer", "LSTM")`, `("op", "reshape")`..."""
    parts = path.split(".")
    last = parts[-1]
    head = parts[0]
    if head == "tensorflow":
        if len(parts) >= 3 and parts[1] in ("nn", "math") and last.islower():
            return _ACTIVATION if parts[1] == "nn" else _OP, last
        if last[:1].islower():
            return _OP, last
        return None
    if head != "keras" or len(parts) < 2:
        return None
    sub = parts[1]
    if len(parts) == 2:
        if last == "Sequential":
            return _SEQUENTIAL, last
        if last == "Model":
            return _MODEL, last
        if last == "Input":
            return _INPUT, last
        if last == "Layer":
            return _LAYER_BASE, last
        if last == "InputLayer":
            return _LAYER, last
        return None
    if sub == "layers":
        if last == "Input":
            return _INPUT, last
        if last == "Layer":
            return _LAYER_BASE, last
        if last in _MERGE_FUNCTIONS and len(parts) == 3:
            return _MERGE, _MERGE_FUNCTIONS[last]
        if last[:1].isupper():
            return _LAYER, canonical_class(last)
        return None
    if sub in ("models", "engine"):
        if last == "Sequential":
            return _SEQUENTIAL, last
        if last in ("Model", "Functional"):
            return _MODEL, last
        if last == "Layer":
            return _LAYER_BASE, last
        if last == "Input":
            return _INPUT, last
        return None
    if sub in ("ops", "backend"):
        return (_OP, last) if last[:1].islower() else None
    if sub == "activations":
        return _ACTIVATION, last
    if sub in _OBJECT_MODULES:
        return _OBJECT, last
    return None


# -- the value domain ---------------------------------------------------------

class _Missing:
    """A name not bound in one branch of an `if`."""


_MISSING = _Missing()


class _ModuleRef:
    """A module, or a name inside one, reached through the module's imports."""

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = _canonical_path(path)


class _Builtin:
    """A Python builtin the evaluator knows (`range`, `len`, ...)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class _KerasObject:
    """A regularizer, initializer or loss built by a call (`keras.regularizers.l2(1e-4)`)."""

    __slots__ = ("module", "class_name", "config")

    def __init__(self, module: str, class_name: str, config: dict[str, Any]) -> None:
        self.module = module
        self.class_name = class_name
        self.config = config


class _LayerValue:
    """A layer object, built but not yet applied: `LSTM(32)`."""

    __slots__ = ("template", "frame")

    def __init__(self, template: LayerNode, frame: int) -> None:
        self.template = template
        self.frame = frame


class _LayerChoice:
    """One layer out of several, when a branch could not be decided."""

    __slots__ = ("options",)

    def __init__(self, options: list[Any]) -> None:
        self.options = options


class _TensorValue:
    """A symbolic tensor: the output of the dag nodes in `producers`.

    Several producers mean "one of these" (branches joined). `multi` marks the
    list a layer with `return_state=True` returns: its items are outputs of
    the same node.
    """

    __slots__ = ("producers", "multi")

    def __init__(self, producers: tuple[int, ...], multi: bool = False) -> None:
        self.producers = producers
        self.multi = multi


class _UnknownLengthList(list):
    """A list whose length is not known: each item is one that may occur."""


class _ModelRecord:
    """A model being built: a `Sequential`, a functional `Model`, a subclass."""

    __slots__ = (
        "kind", "members", "frontier", "inputs", "outputs", "name", "keras_name",
        "function_name", "location", "loss", "nested",
    )

    def __init__(self, kind: str, location: Location | None, function_name: str | None) -> None:
        self.kind = kind
        self.members: list[int] = []
        self.frontier: tuple[int, ...] = ()
        self.inputs: list[int] = []
        self.outputs: list[int] = []
        self.name: str | None = None
        self.keras_name: str | None = None
        self.function_name = function_name
        self.location = location
        self.loss: Any = None
        self.nested = False


class _FunctionValue:
    """A function or lambda written in the linted module."""

    __slots__ = ("node", "scope", "defaults", "kw_defaults", "name", "called", "owner")

    def __init__(self, node: Any, scope: "_Scope", defaults: list[Any], kw_defaults: list[Any], owner: Any = None) -> None:
        self.node = node
        self.scope = scope
        self.defaults = defaults
        self.kw_defaults = kw_defaults
        self.name = getattr(node, "name", "<lambda>")
        self.called = False
        self.owner = owner


class _BoundMethod:
    __slots__ = ("function", "receiver")

    def __init__(self, function: _FunctionValue, receiver: Any) -> None:
        self.function = function
        self.receiver = receiver


class _ClassValue:
    """A class written in the linted module; `kind` is "model", "layer" or "other"."""

    __slots__ = ("node", "name", "bases", "namespace", "kind", "analysed", "fields", "decorated")

    def __init__(self, node: ast.ClassDef, bases: list[Any], kind: str) -> None:
        self.node = node
        self.name = node.name
        self.bases = bases
        self.namespace: dict[str, Any] = {}
        self.kind = kind
        self.analysed = False
        self.fields: list[str] = []
        self.decorated = bool(node.decorator_list)

    def lookup(self, name: str, depth: int = 0) -> Any:
        if name in self.namespace:
            return self.namespace[name]
        if depth < 16:
            for base in self.bases:
                if isinstance(base, _ClassValue):
                    found = base.lookup(name, depth + 1)
                    if found is not _MISSING:
                        return found
        return _MISSING


class _ObjectValue:
    """An instance of a class written in the linted module (`self` included)."""

    __slots__ = ("cls", "attrs", "record", "template")

    def __init__(self, cls: _ClassValue) -> None:
        self.cls = cls
        self.attrs: dict[str, Any] = {}
        self.record: _ModelRecord | None = None
        self.template: LayerNode | None = None


class _MethodRef:
    """A method of a value the evaluator models (`model.add`, `cfg.update`)."""

    __slots__ = ("receiver", "name")

    def __init__(self, receiver: Any, name: str) -> None:
        self.receiver = receiver
        self.name = name


class _Scope:
    __slots__ = ("vars", "parent", "is_class")

    def __init__(self, parent: "_Scope | None" = None, is_class: bool = False) -> None:
        self.vars: dict[str, Any] = {}
        self.parent = parent
        self.is_class = is_class


class _Frame:
    """One call of a user function being run.

    Besides the returned values, a frame remembers how it was called, so that
    a layer setting that comes from a parameter can be traced back to the
    argument that gave it (see `SourceFrontEnd._parameter_origin`): the
    function's `definition`, the `call_node` (None for a function analysed on
    its own), the `parent` frame and the `caller_scope` the arguments were
    evaluated in, the values first bound to the parameters (`params`), whether
    the first positional parameter was bound to a receiver (`self`), and
    whether the parameters were bound to their defaults because the function
    was analysed on its own (`standalone`).
    """

    __slots__ = ("id", "function", "returns", "call_location", "has_params", "definition", "call_node",
                 "parent", "caller_scope", "scope", "params", "has_receiver", "standalone")

    def __init__(self, frame_id: int, function: str | None, call_location: Location | None, has_params: bool) -> None:
        self.id = frame_id
        self.function = function
        self.returns: list[Any] = []
        self.call_location = call_location
        self.has_params = has_params
        self.definition: Any = None
        self.call_node: ast.Call | None = None
        self.parent: "_Frame | None" = None
        self.caller_scope: "_Scope | None" = None
        self.scope: "_Scope | None" = None
        self.params: dict[str, Any] = {}
        self.has_receiver = False
        self.standalone = False


class _DagNode:
    """A layer applied to tensors; `branch` marks one made under an iteration-dependent branch of a loop."""

    __slots__ = ("template", "inputs", "branch")

    def __init__(self, template: LayerNode, inputs: list[tuple[int, str, int]], branch: bool = False) -> None:
        self.template = template
        self.inputs = inputs
        self.branch = branch


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


class _CallArgs:
    __slots__ = ("args", "kwargs", "star_unknown", "kw_unknown", "keyword_nodes", "double_star_keys")

    def __init__(self) -> None:
        self.args: list[Any] = []
        self.kwargs: dict[str, Any] = {}
        self.star_unknown = False
        self.kw_unknown = False
        self.keyword_nodes: dict[str, ast.keyword] = {}
        self.double_star_keys: set[str] = set()


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
            `argument` of `parameter` in the signature) or `"helper"` (a
            layer returned by `function`, which has no parameter for it).
        cell: the notebook cell (counting every cell, 1-based), or None.
        argument: for `"call_argument"` and `"parameter_default"`, the
            expression to replace, or None when there is none.
        parameter: the user function's parameter that carries the value.
        function: the user function's name.
        reason: why the fixer cannot set the value here, or None.
    """

    call: ast.Call
    cls: str
    return_sequences_from: str
    cell: int | None = None
    argument: ast.expr | None = None
    parameter: str | None = None
    function: str | None = None
    reason: str | None = None


# -- control flow of the abstract interpreter -----------------------------------

class _Return(Exception):
    pass


class _Break(Exception):
    """A `break`. `recorded`: raised by `_fork` once every branch ended, their states kept in `_LoopExits`."""

    recorded = False


class _Continue(Exception):
    """A `continue`; `recorded` as for `_Break`."""

    recorded = False


class _LoopExits:
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


class _Stop(Exception):
    """A `raise` statement: the code after it does not run."""


class _BudgetExceeded(Exception):
    pass


_PLAIN_SCALARS = (bool, int, float, str, type(None), complex, bytes)


def _is_plain(value: Any, depth: int = 0) -> bool:
    """Whether a value is a Python literal with no unknown part."""
    if isinstance(value, _PLAIN_SCALARS) or type(value) is range:
        return True
    if depth > 8 or isinstance(value, _UnknownLengthList):
        return False
    if isinstance(value, (list, tuple)):
        return all(_is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(_is_plain(k, depth + 1) and _is_plain(v, depth + 1) for k, v in value.items())
    return False


def _bounded(value: Any) -> Any:
    """The value, or UNKNOWN when it is too large to be worth building."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1 << 64:
        return UNKNOWN
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_LITERAL:
        return UNKNOWN
    return value


def _truth(value: Any) -> bool | None:
    """True, False, or None when the truth value is not known statically."""
    if value is UNKNOWN or isinstance(value, (_TensorValue, _UnknownLengthList, _Missing)):
        return None
    if isinstance(value, _PLAIN_SCALARS) or isinstance(value, (list, tuple, dict, range)):
        try:
            return bool(value)
        except Exception:  # noqa: BLE001 - a container holding UNKNOWN
            return None
    return True


def _is_literal_default(value: Any) -> bool:
    """Whether a parameter's default is bound when its function is analysed on its own."""
    return value is not _MISSING and (_is_plain(value) or isinstance(value, _ModuleRef))


def _same_value(a: Any, b: Any) -> bool:
    if a is b:
        return True
    if isinstance(a, _ModuleRef) and isinstance(b, _ModuleRef):
        return a.path == b.path
    if _is_plain(a) and _is_plain(b) and type(a) is type(b):
        try:
            return bool(a == b)
        except Exception:  # noqa: BLE001
            return False
    return False


def _known_sequence(value: Any) -> list[Any] | None:
    """The items of a list/tuple/range/dict/str of known length, else None."""
    if isinstance(value, _UnknownLengthList):
        return None
    if isinstance(value, (list, tuple)):
        return list(value) if len(value) <= MAX_LITERAL else None
    if type(value) is range:
        return list(value) if len(value) <= MAX_LITERAL else None
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, str) and len(value) <= MAX_LITERAL:
        return list(value)
    return None


def _dotted_name(node: ast.AST) -> str:
    """`keras.layers.LSTM` for an attribute chain, the last name otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return _dotted_name(node.func)
    return ""


def _assigned_names(nodes: list[ast.AST]) -> set[str]:
    names = set()
    for statement in nodes:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def _loss_name(value: Any) -> Any:
    """What `compile(loss=...)` was given, as a string when it is known."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _ModuleRef):
        return value.path.rsplit(".", 1)[-1]
    if isinstance(value, _KerasObject):
        return _snake_case(value.class_name)
    return UNKNOWN


def _copy_template(template: LayerNode) -> LayerNode:
    wrapped = _copy_template(template.wrapped) if template.wrapped is not None else None
    if wrapped is not None and not wrapped.name:
        wrapped.name = _snake_case(wrapped.cls)
    return LayerNode(
        name=template.name, cls=template.cls, config=dict(template.config), wrapped=wrapped,
        location=template.location, kind=template.kind,
    )


# -- the front-end ----------------------------------------------------------------

class SourceFrontEnd:
    """Runs a module's statements abstractly and collects the Keras models it builds.

    One instance reads one program (a `.py` module, or the code cells of one
    notebook). `run` returns the graphs; `layer_calls` then maps each
    recurrent layer constructor call to the `LayerCall` the fixer edits.

    Args:
        lines: the program's lines, used to turn the `ast` module's UTF-8 byte
            columns into character columns.
        path: the file as the user gave it, copied into every `Location`.
        origin: `"source"` or `"notebook"`, copied into `ModelGraph.origin`.
        cell_starts: for notebooks, `(first_line, cell_number)` per cell in
            the joined program, sorted by line; None for `.py` files.

    Example:

    >>> front_end = SourceFrontEnd(["import keras", "m = keras.Sequential([keras.layers.LSTM(4)])"])
    >>> graphs = front_end.run([ast.parse("import keras\\nm = keras.Sequential([keras.layers.LSTM(4)])")])
    >>> graphs[0].nodes[0].cls
    'LSTM'
    """

    def __init__(self, lines: list[str], path: str | None = None, origin: str = "source",
                 cell_starts: list[tuple[int, int]] | None = None) -> None:
        self.lines = lines
        self._ascii = all(map(str.isascii, lines))
        self.path = path
        self.origin = origin
        self.cell_starts = cell_starts
        self._cell_lines = [start for start, _ in cell_starts] if cell_starts else None
        self.layer_calls: dict[tuple[int | None, int, int], LayerCall] = {}
        self.dag: list[_DagNode] = []
        self.records: list[_ModelRecord] = []
        self.sequentials: list[_ModelRecord] = []
        self.objects: list[_ObjectValue] = []
        self.functions: list[_FunctionValue] = []
        self.classes: list[_ClassValue] = []
        self.star_imports: list[str] = []
        self.uncertain = 0
        self.steps = 0
        self.step_limit = MAX_STEPS
        self.active: list[_FunctionValue] = []
        self._frame_ids = 0
        self._loop_names: dict[int, set[str]] = {}
        # Names each enclosing loop of unknown length changes, innermost last
        # (reset inside a function call); how many undecidable branches that
        # test one of them are being run; templates located by
        # `_parameter_origin` (ids).
        self._varying: list[set[str]] = []
        self._loop_exits: list[_LoopExits] = []
        self._iteration_branches = 0
        self._traced: set[int] = set()
        self.module_scope = _Scope()
        self.module_scope.vars["__name__"] = "__main__"
        self.scope = self.module_scope
        self.frame = self._new_frame(None, None, False)

    # -- entry point ---------------------------------------------------------------
    def run(self, modules: list[ast.Module]) -> list[ModelGraph]:
        """Runs the modules' statements in order and returns the models built.

        Functions that the program never calls are then analysed on their
        own (literal defaults bound, other parameters `UNKNOWN`), latest
        definition first (so a caller defined after its helpers inlines
        them), and then the model classes never instantiated, so that a model
        built inside `def build_model(): ...` or a `keras.Model` subclass is
        found too.

        Args:
            modules: parsed modules (one per notebook cell, or a single one).

        Returns:
            One `ModelGraph` per model, in the order they were written; an
            empty list when the program's own statements are too many to
            analyse (more than `MAX_STEPS` statements and calls, loops
            unrolled).
        """
        self.step_limit = MAX_STEPS
        try:
            for module in modules:
                try:
                    self._exec_block(module.body)
                except (_Stop, _Return, _Break, _Continue):
                    pass
        except _BudgetExceeded:
            return []
        self._analyse_uncalled()
        return self._emit()

    def _analyse_uncalled(self) -> None:
        for function in reversed(self.functions):
            if function.called:
                continue
            if function.owner is not None:
                owner = function.owner
                if owner.kind == "other":
                    self._analyse_unit(lambda f=function, o=owner: self._analyse_method(f, o))
            else:
                self._analyse_unit(lambda f=function: self._call_function(f, _CallArgs(), None, standalone=True))
        for cls in reversed(self.classes):
            if not cls.analysed and cls.kind in ("model", "layer"):
                self._analyse_unit(lambda c=cls: self._instantiate(c, _CallArgs(), None, standalone=True))

    def _analyse_unit(self, analyse: Any) -> None:
        """Analyses one function or class on its own, within its own step budget.

        What the unit creates besides models (objects, `Sequential` frontiers
        to join at branches) is forgotten afterwards; a unit over budget is
        abandoned, with the models it had started.
        """
        objects, sequentials, records = len(self.objects), len(self.sequentials), len(self.records)
        self.step_limit = self.steps + MAX_UNIT_STEPS
        try:
            analyse()
        except _BudgetExceeded:
            del self.records[records:]
        finally:
            del self.objects[objects:]
            del self.sequentials[sequentials:]

    def _analyse_method(self, function: _FunctionValue, owner: _ClassValue) -> None:
        receiver = _ObjectValue(owner)
        self.objects.append(receiver)
        init = owner.lookup("__init__")
        if isinstance(init, _FunctionValue) and init is not function:
            self._call_function(init, _CallArgs(), None, receiver=receiver, standalone=True)
        self._call_function(function, _CallArgs(), None, receiver=receiver, standalone=True)

    # -- positions -------------------------------------------------------------------
    def _char_column(self, line: int, byte_column: int) -> int:
        if not self._ascii and 0 < line <= len(self.lines):
            text = self.lines[line - 1]
            if not text.isascii():
                return len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))
        return byte_column

    def cell_position(self, line: int) -> tuple[int | None, int]:
        """`(cell, line in cell)` for a line of the joined program; `(None, line)` for `.py`."""
        if self._cell_lines is None:
            return None, line
        index = bisect.bisect_right(self._cell_lines, line) - 1
        if index < 0:
            return None, line
        start, cell = self.cell_starts[index]
        return cell, line - start + 1

    def location(self, node: ast.AST) -> Location:
        """The `Location` of an `ast` node: 1-based character columns, cell-relative lines."""
        line = node.lineno
        column = self._char_column(line, node.col_offset) + 1
        end_line = getattr(node, "end_lineno", None) or line
        end_column = self._char_column(end_line, getattr(node, "end_col_offset", None) or 0) + 1
        cell, line = self.cell_position(line)
        _, end_line = self.cell_position(end_line)
        return Location(self.path, line, column, cell, end_line, end_column)

    # -- bookkeeping -----------------------------------------------------------------
    def _new_frame(self, function: str | None, call_location: Location | None, has_params: bool) -> _Frame:
        self._frame_ids += 1
        return _Frame(self._frame_ids, function, call_location, has_params)

    def _step(self) -> None:
        self.steps += 1
        if self.steps > self.step_limit:
            raise _BudgetExceeded()

    def _new_node(self, template: LayerNode, inputs: list[tuple[int, str, int]]) -> int:
        self.dag.append(_DagNode(template, inputs, self._iteration_branches > 0))
        return len(self.dag) - 1

    def _new_record(self, kind: str, node: ast.AST | None) -> _ModelRecord:
        record = _ModelRecord(kind, self.location(node) if node is not None else None, self.frame.function)
        self.records.append(record)
        if kind == _SEQUENTIAL:
            self.sequentials.append(record)
        return record

    # -- statements --------------------------------------------------------------------
    def _exec_block(self, statements: list[ast.stmt]) -> None:
        handlers = self._STATEMENTS
        for statement in statements:
            self.steps += 1
            if self.steps > self.step_limit:
                raise _BudgetExceeded()
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
            if isinstance(owner, _ObjectValue):
                if isinstance(value, _ModelRecord) and value.name is None:
                    value.name = target.attr
                owner.attrs[target.attr] = value
        elif isinstance(target, ast.Subscript):
            container = self._eval(target.value)
            key = self._eval(target.slice)
            if self.uncertain:
                value = UNKNOWN
            if isinstance(container, dict) and _is_plain(key) and not isinstance(key, (list, dict)):
                container[key] = value
            elif isinstance(container, list) and isinstance(key, int) and -len(container) <= key < len(container):
                container[key] = value
        elif isinstance(target, ast.Starred):
            self._assign(target.value, UNKNOWN)

    def _assign_unpacked(self, targets: list[ast.expr], value: Any) -> None:
        items = _known_sequence(value) if not isinstance(value, str) else None
        starred = [i for i, t in enumerate(targets) if isinstance(t, ast.Starred)]
        if isinstance(value, _TensorValue):
            for target in targets:
                self._assign(target.value if isinstance(target, ast.Starred) else target, value)
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
        if isinstance(value, _ModelRecord) and value.name is None:
            value.name = name
        self.scope.vars[name] = value

    def _exec_if(self, node: ast.If) -> None:
        known = _truth(self._eval(node.test))
        if known is True:
            self._exec_block(node.body)
        elif known is False:
            self._exec_block(node.orelse)
        elif self._varying and self._tests_loop_variable(node.test):
            self._iteration_branches += 1
            try:
                self._fork([node.body, node.orelse])
            finally:
                self._iteration_branches -= 1
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
        scope = self.scope
        base_vars = scope.vars
        base_frontiers = [record.frontier for record in self.sequentials]
        base_attrs = [dict(obj.attrs) for obj in self.objects]
        known_objects = len(self.objects)
        known_sequentials = len(self.sequentials)
        outcomes: list[tuple[dict[str, Any], list[tuple[int, ...]], list[dict[str, Any]]]] = []
        ended: list[type] = []
        self.uncertain += 1
        try:
            for branch in branches:
                scope.vars = dict(base_vars)
                for record, frontier in zip(self.sequentials, base_frontiers):
                    record.frontier = frontier
                for obj, attrs in zip(self.objects, base_attrs):
                    obj.attrs = dict(attrs)
                try:
                    self._exec_block(branch)
                except (_Return, _Break, _Continue, _Stop) as stop:
                    ended.append(type(stop))
                    if self._loop_exits and isinstance(stop, (_Break, _Continue)) and not stop.recorded:
                        state = (scope.vars, [record.frontier for record in self.sequentials[:known_sequentials]],
                                 [obj.attrs for obj in self.objects[:known_objects]])
                        exits = self._loop_exits[-1]
                        if isinstance(stop, _Break):
                            exits.breaks.append(state)
                            exits.dependent_break = exits.dependent_break or self._iteration_branches > 0
                        else:
                            exits.continues.append(state)
                    continue
                outcomes.append((
                    scope.vars,
                    [record.frontier for record in self.sequentials[:known_sequentials]],
                    [obj.attrs for obj in self.objects[:known_objects]],
                ))
        finally:
            self.uncertain -= 1
        if not outcomes:
            scope.vars = base_vars
            for record, frontier in zip(self.sequentials, base_frontiers):
                record.frontier = frontier
            for obj, attrs in zip(self.objects, base_attrs):
                obj.attrs = attrs
            for kind in (_Return, _Stop, _Break, _Continue):
                if kind in ended:
                    stop = kind()
                    if kind in (_Break, _Continue) and self._loop_exits:
                        stop.recorded = True  # each branch's state is in the loop's exits
                    raise stop
            return
        self._join_states(outcomes, known_objects, known_sequentials)

    def _join_mappings(self, mappings: list[dict[str, Any]]) -> dict[str, Any]:
        if len(mappings) == 1:
            return mappings[0]
        keys: dict[str, None] = {}
        for mapping in mappings:
            keys.update(dict.fromkeys(mapping))
        joined = {}
        for key in keys:
            value = self._join_values([mapping.get(key, _MISSING) for mapping in mappings])
            if value is not _MISSING:
                joined[key] = value
        return joined

    def _join_values(self, values: list[Any]) -> Any:
        present = [v for v in values if v is not _MISSING]
        if not present:
            return _MISSING
        first = present[0]
        if all(_same_value(first, v) for v in present[1:]):
            return first
        if all(isinstance(v, _TensorValue) for v in present):
            producers: list[int] = []
            for v in present:
                producers.extend(p for p in v.producers if p not in producers)
            return _TensorValue(tuple(producers), any(v.multi for v in present))
        if all(self._is_layer_like(v) for v in present):
            options: list[Any] = []
            for v in present:
                for option in (v.options if isinstance(v, _LayerChoice) else [v]):
                    if not any(option is seen for seen in options):
                        options.append(option)
            return _LayerChoice(options)
        return UNKNOWN

    @staticmethod
    def _is_layer_like(value: Any) -> bool:
        return isinstance(value, (_LayerValue, _LayerChoice)) or (
            isinstance(value, _ObjectValue) and value.cls.kind in ("model", "layer"))

    def _exec_for(self, node: ast.For) -> None:
        iterable = self._eval(node.iter)
        items = _known_sequence(iterable)
        if items is not None and len(items) <= MAX_UNROLL and not isinstance(iterable, str):
            self._known_loop(node, items)
            return
        representatives = list(iterable) if isinstance(iterable, _UnknownLengthList) and iterable else [UNKNOWN]
        self._unknown_loop(node, node.target, representatives)

    def _run_iteration(self, body: list[ast.stmt], exits: _LoopExits) -> str:
        """Runs a loop body once: `"end"`, `"continue"`, `"break"`, or `"recorded"` (every path left early).

        `break`/`continue` in undecidable branches leave their states in `exits`.
        """
        self._loop_exits.append(exits)
        try:
            self._exec_block(body)
            return "end"
        except _Continue as stop:
            return "recorded" if stop.recorded else "continue"
        except _Break as stop:
            return "recorded" if stop.recorded else "break"
        finally:
            self._loop_exits.pop()

    def _known_loop(self, node: ast.For, items: list[Any]) -> None:
        """Unrolls a loop over known items; a `break` in an undecidable branch joins the state after the loop."""
        known_objects, known_sequentials = len(self.objects), len(self.sequentials)
        breaks: list[Any] = []
        left = False
        outcome = "end"
        for item in items:
            self._step()
            self._assign(node.target, item)
            exits = _LoopExits()
            outcome = self._run_iteration(node.body, exits)
            if exits.breaks or exits.continues:
                breaks.extend(exits.breaks)
                going_on = list(exits.continues)
                if outcome in ("end", "continue"):
                    going_on.append(self._state(known_objects, known_sequentials))
                if going_on:
                    self._join_states(going_on, known_objects, known_sequentials)
                else:
                    left = True
            if outcome == "break" or (outcome == "recorded" and not exits.continues):
                left = True
            if left:
                break
        if breaks:
            current = [] if outcome == "recorded" and left else [self._state(known_objects, known_sequentials)]
            self._join_states(current + breaks, known_objects, known_sequentials)
        if not left:
            self._exec_block(node.orelse)

    def _unknown_loop(self, node: ast.AST, target: ast.AST | None, representatives: list[Any]) -> None:
        """Runs a loop body whose trip count is unknown, as two iterations or more.

        The body runs once per representative item, and at least twice (the
        same item again), so that what one iteration builds feeds the next:
        a recurrent layer that returns one vector, repeated by the loop, is
        seen feeding itself. What follows the loop reads the state after any
        of these runs (the loop may stop after each).

        A branch that tests the loop's variables (`if i < n - 1:` ... `else:`)
        cannot be told apart per iteration. When its alternatives disagree on
        `return_sequences`, the ones returning a sequence are taken as the
        iterations followed by another, and the ones returning a vector as the
        last: only the former feed the next run and only the latter leave the
        loop (see `_keep_alternatives`).
        """
        names = self._loop_names.get(id(node))
        if names is None:
            names = _assigned_names(node.body)
            if target is not None:
                names |= _assigned_names([target])
            self._loop_names[id(node)] = names
        self._forget_literals(names)
        runs = representatives if len(representatives) >= 2 else representatives * 2
        first_node = len(self.dag)
        known_objects, known_sequentials = len(self.objects), len(self.sequentials)
        ends: list[Any] = []
        breaks: list[Any] = []
        dependent_break = False
        last_run = first_node
        self.uncertain += 1
        self._varying.append(names)
        try:
            for index, item in enumerate(runs):
                if index:
                    self._forget_literals(names)
                    self._keep_alternatives(first_node, names, continuing=True)
                last_run = len(self.dag)
                if target is not None:
                    self._assign(target, item)
                exits = _LoopExits()
                outcome = self._run_iteration(node.body, exits)
                breaks.extend(exits.breaks)
                dependent_break = dependent_break or exits.dependent_break
                if outcome == "break":
                    breaks.append(self._state(known_objects, known_sequentials))
                going_on = list(exits.continues)
                if outcome in ("end", "continue"):
                    going_on.append(self._state(known_objects, known_sequentials))
                if not going_on:
                    break  # every path left the loop: no further run
                if len(going_on) > 1:
                    self._join_states(going_on, known_objects, known_sequentials)
                    going_on = [self._state(known_objects, known_sequentials)]
                ends.append(going_on[0])
        finally:
            self._varying.pop()
            self.uncertain -= 1
        # A loop that a branch testing its variables leaves with `break` leaves that way;
        # otherwise it may stop after any run, or at any `break`.
        exit_states = breaks if dependent_break and breaks else ends + breaks
        if exit_states:
            self._join_states(exit_states, known_objects, known_sequentials)
        self._keep_alternatives(first_node, names, continuing=False, last_run=last_run)
        self._forget_literals(names)
        if target is not None:
            self._assign(target, UNKNOWN)
        self._exec_block(node.orelse)

    def _state(self, known_objects: int, known_sequentials: int) -> tuple[dict[str, Any], list[tuple[int, ...]],
                                                                          list[dict[str, Any]]]:
        """A copy of what branches and loop runs change: names, `Sequential` frontiers, object attributes."""
        return (
            dict(self.scope.vars),
            [record.frontier for record in self.sequentials[:known_sequentials]],
            [dict(obj.attrs) for obj in self.objects[:known_objects]],
        )

    def _join_states(self, outcomes: list[tuple[dict[str, Any], list[tuple[int, ...]], list[dict[str, Any]]]],
                     known_objects: int, known_sequentials: int) -> None:
        """Makes the current state the join of several (branches, or loop runs)."""
        self.scope.vars = self._join_mappings([vars_ for vars_, _, _ in outcomes])
        for index, record in enumerate(self.sequentials[:known_sequentials]):
            joined: list[int] = []
            for _, frontiers, _ in outcomes:
                for producer in frontiers[index]:
                    if producer not in joined:
                        joined.append(producer)
            record.frontier = tuple(joined)
        for index, obj in enumerate(self.objects[:known_objects]):
            obj.attrs = self._join_mappings([attrs[index] for _, _, attrs in outcomes])

    def _keep_alternatives(self, first_node: int, names: set[str], continuing: bool,
                           last_run: int | None = None) -> None:
        """Keeps, of the parallel paths an iteration-dependent branch made, those that go on.

        `continuing=True` (before the next run of a loop) keeps the paths whose
        recurrent layer returns a sequence; `continuing=False` (leaving the
        loop) keeps those whose recurrent layer returns a vector. Applies to
        the `Sequential` frontiers and to the tensors bound to the names the
        loop changes; only when both kinds are present. Leaving the loop, a
        `Sequential` also drops the layers of the last run's paths that would
        only have fed a further run (`last_run`: the first dag node of that run).
        """
        for record in self.sequentials:
            record.frontier = self._alternatives(record.frontier, first_node, continuing)
            if last_run is not None:
                self._drop_unfinished(record, last_run)
        variables = self.scope.vars
        for name in names:
            value = variables.get(name)
            if isinstance(value, _TensorValue) and len(value.producers) > 1:
                kept = self._alternatives(value.producers, first_node, continuing)
                if kept != value.producers:
                    variables[name] = _TensorValue(kept, value.multi)

    def _drop_unfinished(self, record: _ModelRecord, last_run: int) -> None:
        """Removes from a `Sequential` the layers of a loop's last run that lead nowhere.

        They are the paths of an iteration that a further one would have
        followed (dropped from the loop's exit by `_keep_alternatives` or by
        an iteration-dependent `break`): no later layer reads them.
        """
        if not record.members or record.members[-1] < last_run:
            return
        frontier = set(record.frontier)
        while True:
            read = {src for member in record.members for src, _, _ in self.dag[member].inputs}
            unfinished = {m for m in record.members if m >= last_run and m not in frontier and m not in read}
            if not unfinished:
                return
            record.members = [m for m in record.members if m not in unfinished]

    def _alternatives(self, producers: tuple[int, ...], first_node: int, continuing: bool) -> tuple[int, ...]:
        if len(producers) < 2:
            return producers
        kinds = [self._branch_returns_sequences(p, first_node) for p in producers]
        if True not in kinds or False not in kinds:
            return producers
        return tuple(p for p, kind in zip(producers, kinds) if kind is None or kind is continuing)

    def _branch_returns_sequences(self, producer: int, first_node: int) -> bool | None:
        """True/False: `return_sequences` of the recurrent layer an iteration-dependent branch ends with.

        Follows rank-keeping layers (Dropout, normalization...) back to it;
        None for anything else.
        """
        for _ in range(16):
            if producer < first_node:
                return None
            dag_node = self.dag[producer]
            if not dag_node.branch:
                return None
            template = dag_node.template
            core = template
            while core.cls in WRAPPERS and core.wrapped is not None:
                core = core.wrapped
            if core.cls in RECURRENT_LAYERS:
                value = core.config.get("return_sequences", False)
                return value if isinstance(value, bool) else None
            if template.cls not in RANK_KEEPING or len(dag_node.inputs) != 1:
                return None
            producer = dag_node.inputs[0][0]
        return None

    def _forget_literals(self, names: set[str]) -> None:
        variables = self.scope.vars
        for name in names:
            if name in variables and _is_plain(variables[name]):
                variables[name] = UNKNOWN

    def _exec_while(self, node: ast.While) -> None:
        if _truth(self._eval(node.test)) is False:
            self._exec_block(node.orelse)
            return
        self._unknown_loop(node, None, [UNKNOWN])

    def _exec_function_def(self, node: ast.FunctionDef) -> None:
        defaults = [self._eval(d) for d in node.args.defaults]
        kw_defaults = [self._eval(d) if d is not None else _MISSING for d in node.args.kw_defaults]
        scope = self.scope
        owner = self._current_class if scope.is_class else None
        while scope.is_class and scope.parent is not None:
            scope = scope.parent
        function = _FunctionValue(node, scope, defaults, kw_defaults, owner)
        if self.scope is self.module_scope or owner is not None:
            self.functions.append(function)
        self.scope.vars[node.name] = function

    _current_class: _ClassValue | None = None

    def _exec_class_def(self, node: ast.ClassDef) -> None:
        bases = [self._eval(base) for base in node.bases]
        kind = "other"
        for base in bases:
            if isinstance(base, _ModuleRef):
                found = _keras_kind(base.path)
                if found is not None and found[0] in (_MODEL, _SEQUENTIAL):
                    kind = "model"
                elif found is not None and found[0] in (_LAYER_BASE, _LAYER) and kind == "other":
                    kind = "layer"
            elif isinstance(base, _ClassValue) and base.kind != "other":
                kind = base.kind if kind == "other" else kind
        cls = _ClassValue(node, bases, kind)
        outer_scope, outer_class = self.scope, self._current_class
        self.scope = _Scope(outer_scope, is_class=True)
        self._current_class = cls
        try:
            self._exec_block(node.body)
        except (_Return, _Break, _Continue, _Stop):
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
        raise _Return()

    def _exec_import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.scope.vars[alias.asname] = _ModuleRef(alias.name)
            else:
                head = alias.name.split(".", 1)[0]
                self.scope.vars[head] = _ModuleRef(head)

    def _exec_import_from(self, node: ast.ImportFrom) -> None:
        module = "." * node.level + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                self.star_imports.append(_canonical_path(module))
                continue
            self.scope.vars[alias.asname or alias.name] = _ModuleRef(f"{module}.{alias.name}")

    def _exec_with(self, node: ast.With) -> None:
        for item in node.items:
            self._eval(item.context_expr)
            if item.optional_vars is not None:
                self._assign(item.optional_vars, UNKNOWN)
        self._exec_block(node.body)

    def _exec_try(self, node: ast.Try) -> None:
        """The `try` body is taken as the path that runs; handlers only lend their imports.

        `try: from tensorflow import keras` / `except ImportError: import keras`
        binds `keras` once, from the body; a name only a handler imports is
        bound from the handler.
        """
        try:
            try:
                self._exec_block(node.body)
                self._exec_block(node.orelse)
            except _Stop:
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
        raise _Break()

    def _exec_continue(self, node: ast.Continue) -> None:
        raise _Continue()

    def _exec_raise(self, node: ast.Raise) -> None:
        raise _Stop()

    def _exec_delete(self, node: ast.Delete) -> None:
        for target in node.targets:
            if isinstance(target, ast.Name):
                self.scope.vars.pop(target.id, None)

    # -- expressions -----------------------------------------------------------------
    def _eval(self, node: ast.AST) -> Any:
        handler = self._EXPRESSIONS.get(type(node))
        if handler is None:
            return UNKNOWN
        return handler(self, node)

    def _eval_constant(self, node: ast.Constant) -> Any:
        return node.value

    def _lookup(self, name: str) -> Any:
        scope: _Scope | None = self.scope
        while scope is not None:
            if name in scope.vars:
                return scope.vars[name]
            scope = scope.parent
        if name in _BUILTIN_NAMES:
            return _BUILTINS[name]
        for module in self.star_imports:
            if _keras_kind(f"{module}.{name}") is not None:
                return _ModuleRef(f"{module}.{name}")
        return UNKNOWN

    def _eval_name(self, node: ast.Name) -> Any:
        return self._lookup(node.id)

    def _eval_attribute(self, node: ast.Attribute) -> Any:
        owner = self._eval(node.value)
        name = node.attr
        if isinstance(owner, _ModuleRef):
            return _ModuleRef(f"{owner.path}.{name}")
        if isinstance(owner, _ObjectValue):
            if name in owner.attrs:
                return owner.attrs[name]
            found = owner.cls.lookup(name)
            if isinstance(found, _FunctionValue):
                return _BoundMethod(found, owner)
            if found is not _MISSING:
                return found
            if owner.record is not None:
                return _MethodRef(owner, name)
            return UNKNOWN
        if isinstance(owner, _ClassValue):
            found = owner.lookup(name)
            return UNKNOWN if found is _MISSING else found
        if isinstance(owner, _ModelRecord):
            if name in ("output", "outputs"):
                return _TensorValue(tuple(owner.frontier if owner.kind == _SEQUENTIAL else owner.outputs))
            if name in ("input", "inputs"):
                inputs = owner.inputs if owner.kind != _SEQUENTIAL else [
                    m for m in owner.members[:1] if self.dag[m].template.kind == "input"]
                return _TensorValue(tuple(inputs))
            return _MethodRef(owner, name)
        if isinstance(owner, (list, dict, str)):
            return _MethodRef(owner, name)
        if isinstance(owner, _LayerValue):
            if name in owner.template.config:
                return owner.template.config[name]
            return UNKNOWN
        return UNKNOWN

    def _eval_args(self, node: ast.Call) -> _CallArgs:
        result = _CallArgs()
        for argument in node.args:
            if isinstance(argument, ast.Starred):
                value = self._eval(argument.value)
                items = _known_sequence(value) if not isinstance(value, (str, dict)) else None
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
        self._step()
        function = self._eval(node.func)
        arguments = self._eval_args(node)
        if isinstance(function, _ModuleRef):
            return self._call_module_ref(function, arguments, node)
        if isinstance(function, _Builtin):
            return self._call_builtin(function.name, arguments)
        if isinstance(function, _FunctionValue):
            return self._call_function(function, arguments, node)
        if isinstance(function, _BoundMethod):
            return self._call_function(function.function, arguments, node, receiver=function.receiver)
        if isinstance(function, _ClassValue):
            return self._instantiate(function, arguments, node)
        if isinstance(function, _MethodRef):
            return self._call_method(function, arguments, node)
        if isinstance(function, (_LayerValue, _LayerChoice, _ModelRecord, _ObjectValue)):
            return self._apply(function, arguments, node)
        return self._opaque_call(_dotted_name(node.func) or "call", arguments, node)

    def _opaque_call(self, name: str, arguments: _CallArgs, node: ast.Call, config: dict[str, Any] | None = None) -> Any:
        """A call the evaluator cannot follow: an op node when tensors go in, else UNKNOWN."""
        inputs = self._tensor_inputs(arguments.args) + self._tensor_inputs(list(arguments.kwargs.values()))
        if not inputs:
            return UNKNOWN
        short = name.rsplit(".", 1)[-1]
        template = LayerNode(name="", cls=short, config=config or {}, location=self.location(node), kind="op")
        return _TensorValue((self._new_node(template, self._edges(inputs, "input")),))

    def _tensor_inputs(self, value: Any, depth: int = 0) -> list[tuple[int, ...]]:
        """The producers of every tensor in a value, one tuple per tensor."""
        if isinstance(value, _TensorValue):
            return [value.producers]
        if depth < 3 and isinstance(value, (list, tuple)):
            found = []
            for item in value:
                found.extend(self._tensor_inputs(item, depth + 1))
            return found
        if depth < 3 and isinstance(value, dict):
            return self._tensor_inputs(list(value.values()), depth + 1)
        return []

    @staticmethod
    def _edges(inputs: list[tuple[int, ...]], role: str) -> list[tuple[int, str, int]]:
        edges = []
        for index, producers in enumerate(inputs):
            for producer in producers:
                edges.append((producer, role, index))
        return edges

    # -- Keras calls -------------------------------------------------------------------
    def _call_module_ref(self, ref: _ModuleRef, arguments: _CallArgs, node: ast.Call) -> Any:
        found = _keras_kind(ref.path)
        if found is None:
            return self._opaque_call(ref.path, arguments, node)
        kind, name = found
        if kind == _LAYER:
            return self._build_layer(name, arguments, node)
        if kind == _SEQUENTIAL:
            return self._build_sequential(arguments, node)
        if kind == _MODEL:
            return self._build_functional(arguments, node)
        if kind == _INPUT:
            template = self._build_layer("InputLayer", arguments, node).template
            return _TensorValue((self._new_node(template, []),))
        if kind == _MERGE:
            layer = self._build_layer(name, _CallArgs(), node)
            applied = _CallArgs()
            applied.args = arguments.args[:1]
            for key, value in arguments.kwargs.items():
                if key == "inputs":
                    applied.args = [value]
                else:
                    layer.template.config[key] = self._config_value(key, value)
            return self._apply(layer, applied, node)
        if kind == _OBJECT:
            config = {k: self._config_value(k, v) for k, v in arguments.kwargs.items()}
            return _KerasObject(ref.path.split(".")[1], name, config)
        if kind in (_OP, _ACTIVATION):
            config: dict[str, Any] = {}
            if name == "expand_dims" and len(arguments.args) > 1:
                config["axis"] = self._config_value("axis", arguments.args[1])
            elif name == "reshape" and len(arguments.args) > 1:
                config["shape"] = self._config_value("shape", arguments.args[1])
            for key, value in arguments.kwargs.items():
                if not isinstance(value, _TensorValue):
                    config[key] = self._config_value(key, value)
            return self._opaque_call(name, arguments, node, config)
        return UNKNOWN

    def _config_value(self, key: str, value: Any, depth: int = 0) -> Any:
        """A value as it goes into `LayerNode.config`: literals, or UNKNOWN."""
        if value is UNKNOWN:
            return UNKNOWN
        if key in _BOOLEAN_KEYS and isinstance(value, _PLAIN_SCALARS):
            return bool(value)
        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, _UnknownLengthList) or depth > 4:
            return UNKNOWN
        if isinstance(value, (list, tuple)):
            items = [self._config_value(key, item, depth + 1) for item in value]
            return tuple(items) if isinstance(value, tuple) else items
        if isinstance(value, dict):
            return {k: self._config_value(k, v, depth + 1) for k, v in value.items() if isinstance(k, str)}
        if isinstance(value, _ModuleRef):
            found = _keras_kind(value.path)
            if found is not None and found[0] in (_ACTIVATION, _OBJECT, _OP):
                return found[1]
            return UNKNOWN
        if isinstance(value, _KerasObject):
            return {"class_name": value.class_name, "config": dict(value.config)}
        return UNKNOWN

    def _template_of(self, value: Any, node: ast.AST) -> LayerNode | None:
        if isinstance(value, _LayerValue):
            return value.template
        if isinstance(value, _ObjectValue):
            return self._object_template(value, node)
        if isinstance(value, (list, tuple)) and value and not isinstance(value, _UnknownLengthList):
            cells = [self._template_of(item, node) for item in value]
            if all(cell is not None for cell in cells):
                return LayerNode(name="", cls="StackedRNNCells",
                                 config={"cells": [cell.cls for cell in cells]},
                                 location=self.location(node))
        return None

    def _object_template(self, obj: _ObjectValue, node: ast.AST) -> LayerNode:
        """The node of a layer whose class the user wrote: opaque, named after the class.

        A user class that shares a Keras layer's name (`class LSTM: ...`) is
        spelled `"Custom>LSTM"`, so that no rule mistakes it for the Keras layer.
        """
        if obj.template is None:
            cls = obj.cls.name
            if cls in _KERAS_LAYER_NAMES:
                cls = f"Custom>{cls}"
            obj.template = LayerNode(name="", cls=cls, config={}, location=self.location(node))
        return obj.template

    def _build_layer(self, cls: str, arguments: _CallArgs, node: ast.Call) -> _LayerValue:
        names = _POSITIONAL.get(cls, ())
        config: dict[str, Any] = {}
        state: dict[str, Any] = {"wrapped": None, "name": ""}
        source = "default"

        def put(key: str, value: Any) -> None:
            if key in ("layer", "cell"):
                state["wrapped"] = self._template_of(value, node)
            elif key == "name":
                state["name"] = value if isinstance(value, str) else ""
            elif key not in ("backward_layer", "weights", "cells"):
                config[key] = self._config_value(key, value)
            elif key == "cells":
                config[key] = [t.cls if t is not None else UNKNOWN
                               for t in (self._template_of(v, node) for v in (_known_sequence(value) or []))]

        for index, value in enumerate(arguments.args[:len(names)]):
            put(names[index], value)
            if names[index] == "return_sequences":
                source = "positional"
        if arguments.star_unknown:
            for key in names[len(arguments.args):]:
                if key not in arguments.kwargs:
                    config[key] = UNKNOWN
            if "return_sequences" in names[len(arguments.args):]:
                source = "double_star"
        for key, value in arguments.kwargs.items():
            put(key, value)
        if "return_sequences" in arguments.keyword_nodes:
            source = "keyword"
        elif "return_sequences" in arguments.double_star_keys:
            source = "double_star"
        if arguments.kw_unknown:
            for key in KERAS_DEFAULTS.get(cls, {}):
                config.setdefault(key, UNKNOWN)
            if "return_sequences" not in arguments.keyword_nodes:
                source = "double_star"
        location = self.location(node)
        template = LayerNode(
            name=state["name"], cls=cls, config=config, wrapped=state["wrapped"], location=location,
            kind="input" if cls == "InputLayer" else "layer",
        )
        if cls in RECURRENT_LAYERS:
            self.layer_calls[(location.cell, location.line, location.column)] = LayerCall(
                node, cls, source, location.cell)
            expression = self._return_sequences_expression(node, source)
            origin = self._parameter_origin(expression.id) if isinstance(expression, ast.Name) else None
            if origin is not None:
                where = origin.location
                template.location = where
                self._traced.add(id(template))
                self.layer_calls[(where.cell, where.line, where.column)] = LayerCall(
                    origin.call if origin.call is not None else node, cls, origin.kind, where.cell,
                    argument=origin.argument, parameter=origin.parameter, function=origin.function,
                    reason=origin.reason)
        return _LayerValue(template, self.frame.id)

    @staticmethod
    def _return_sequences_expression(node: ast.Call, source: str) -> ast.expr | None:
        """The expression written for `return_sequences` in a layer call, when there is one."""
        if source == "keyword":
            for keyword in node.keywords:
                if keyword.arg == "return_sequences":
                    return keyword.value
            return None
        if source == "positional":
            index = _POSITIONAL["RNN"].index("return_sequences")
            arguments = node.args[:index + 1]
            if len(arguments) > index and not any(isinstance(a, ast.Starred) for a in arguments):
                return arguments[index]
        return None

    def _parameter_frame(self, name: str, scope: _Scope | None, frame: _Frame | None) -> _Frame | None:
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
        frame = self._parameter_frame(name, self.scope, self.frame)
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
    def _argument_expression(frame: _Frame, name: str) -> tuple[ast.expr | None, str | None]:
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

    def _build_sequential(self, arguments: _CallArgs, node: ast.Call) -> _ModelRecord:
        record = self._new_record(_SEQUENTIAL, node)
        name = arguments.kwargs.get("name", arguments.args[2] if len(arguments.args) > 2 else None)
        record.keras_name = name if isinstance(name, str) else None
        layers = arguments.args[0] if arguments.args else arguments.kwargs.get("layers")
        if layers is None:
            return record
        items = list(layers) if isinstance(layers, (list, tuple)) else None
        if items is None:
            self._sequential_add(record, UNKNOWN, node)
        else:
            for item in items:
                self._sequential_add(record, item, node)
        return record

    def _sequential_add(self, record: _ModelRecord, value: Any, node: ast.AST) -> None:
        if isinstance(value, _TensorValue):
            for producer in value.producers:
                if producer not in record.members:
                    record.members.append(producer)
            record.frontier = value.producers
            return
        if isinstance(value, _LayerValue):
            record.frontier = (self._add_member(record, value.template),)
        elif isinstance(value, _ObjectValue):
            record.frontier = (self._add_member(record, self._object_template(value, node)),)
        elif isinstance(value, _LayerChoice):
            frontier = []
            base = record.frontier
            for option in value.options:
                record.frontier = base
                self._sequential_add(record, option, node)
                frontier.extend(record.frontier)
            record.frontier = tuple(frontier)
        elif isinstance(value, _ModelRecord):
            new_ids, outputs = self._replicate(value, [record.frontier] if record.frontier else [])
            record.members.extend(new_ids)
            record.frontier = outputs
        else:
            name = _dotted_name(node.args[0]) if isinstance(node, ast.Call) and node.args else ""
            template = LayerNode(name="", cls=name.rsplit(".", 1)[-1] or "unknown", config={},
                                 location=self.location(node))
            record.frontier = (self._add_member(record, template),)

    def _add_member(self, record: _ModelRecord, template: LayerNode) -> int:
        node_id = self._new_node(template, [(p, "input", 0) for p in record.frontier])
        record.members.append(node_id)
        return node_id

    def _build_functional(self, arguments: _CallArgs, node: ast.Call) -> Any:
        inputs = arguments.args[0] if arguments.args else arguments.kwargs.get("inputs", _MISSING)
        outputs = arguments.args[1] if len(arguments.args) > 1 else arguments.kwargs.get("outputs", _MISSING)
        if outputs is _MISSING:
            return UNKNOWN
        output_ids = [p for producers in self._tensor_inputs(outputs) for p in producers]
        if not output_ids:
            return UNKNOWN
        input_ids = [p for producers in self._tensor_inputs(inputs) for p in producers]
        record = self._new_record(_MODEL, node)
        name = arguments.kwargs.get("name")
        record.keras_name = name if isinstance(name, str) else None
        record.inputs = input_ids
        record.outputs = output_ids
        record.members = sorted(self._closure(output_ids, set(input_ids)))
        return record

    def _closure(self, outputs: list[int], stop: set[int]) -> set[int]:
        """The dag nodes the outputs depend on, back to (and including) `stop`."""
        seen: set[int] = set()
        pending = list(outputs)
        while pending:
            node_id = pending.pop()
            if node_id in seen:
                continue
            seen.add(node_id)
            if node_id in stop:
                continue
            pending.extend(src for src, _, _ in self.dag[node_id].inputs)
        return seen

    def _replicate(self, record: _ModelRecord, given: list[tuple[int, ...]]) -> tuple[list[int], tuple[int, ...]]:
        """Applies a whole model to tensors: copies its nodes, wired to `given`."""
        record.nested = True
        if record.kind == _SEQUENTIAL:
            inputs = [m for m in record.members[:1] if self.dag[m].template.kind == "input"]
            outputs = list(record.frontier)
        else:
            inputs = list(record.inputs)
            outputs = list(record.outputs)
        everything: tuple[int, ...] = tuple(p for producers in given for p in producers)
        mapping: dict[int, tuple[int, ...]] = {}
        if len(given) == len(inputs):
            for input_id, producers in zip(inputs, given):
                mapping[input_id] = producers
        else:
            for input_id in inputs:
                mapping[input_id] = everything
        member_set = set(record.members)
        new_ids = []
        for member in sorted(member_set):
            if member in mapping:
                continue
            original = self.dag[member]
            if original.template.kind == "input":
                mapping[member] = everything
                continue
            edges = []
            for src, role, index in original.inputs:
                for producer in (mapping.get(src, ()) if src in member_set else (src,)):
                    edges.append((producer, role, index))
            if not original.inputs:
                edges = [(p, "input", 0) for p in everything]
            new_id = self._new_node(original.template, edges)
            mapping[member] = (new_id,)
            new_ids.append(new_id)
        result: list[int] = []
        for output in outputs:
            for producer in mapping.get(output, ()):
                if producer not in result:
                    result.append(producer)
        return new_ids, tuple(result)

    def _apply(self, layer: Any, arguments: _CallArgs, node: ast.Call) -> Any:
        """Calls a layer or a model on tensors: `LSTM(8)(x, initial_state=[h, c])`."""
        inputs = arguments.args[0] if arguments.args else arguments.kwargs.get("inputs", UNKNOWN)
        given = self._tensor_inputs(inputs)
        if isinstance(layer, _ModelRecord):
            if not given:
                return UNKNOWN
            _, outputs = self._replicate(layer, given)
            return _TensorValue(outputs, multi=len(layer.outputs) > 1)
        if isinstance(layer, _LayerChoice):
            produced: list[int] = []
            multi = False
            for option in layer.options:
                result = self._apply(option, arguments, node)
                if isinstance(result, _TensorValue):
                    produced.extend(result.producers)
                    multi = multi or result.multi
            return _TensorValue(tuple(produced), multi)
        if isinstance(layer, _ObjectValue):
            if layer.cls.kind == "other":
                call = layer.cls.lookup("__call__")
                if isinstance(call, _FunctionValue):
                    return self._call_function(call, arguments, node, receiver=layer)
                return self._opaque_call(layer.cls.name, arguments, node)
            template = self._object_template(layer, node)
        else:
            template = layer.template
        edges = self._edges(given, "input")
        state = arguments.kwargs.get("initial_state")
        if state is not None:
            edges.extend(self._edges(self._tensor_inputs(state), "initial_state"))
        node_id = self._new_node(template, edges)
        core = template
        while core.wrapped is not None and core.cls in ("Bidirectional", "TimeDistributed"):
            core = core.wrapped
        returns_state = core.config.get("return_state", False)
        return _TensorValue((node_id,), multi=returns_state is UNKNOWN or returns_state is True)

    # -- user functions and classes ---------------------------------------------------
    def _call_function(self, function: _FunctionValue, arguments: _CallArgs, node: ast.Call | None,
                       receiver: Any = None, standalone: bool = False) -> Any:
        """Runs a user function's body with its arguments bound (inlines the call).

        `standalone=True` analyses a function that the program never calls:
        its parameters are bound as a call with no arguments would bind them
        (see `_bind_parameters`).
        """
        function.called = True
        if len(self.active) >= MAX_CALL_DEPTH or any(function is f for f in self.active):
            return self._opaque_call(function.name, arguments, node) if node is not None else UNKNOWN
        definition = function.node
        scope = _Scope(function.scope)
        params = self._bind_parameters(function, arguments, receiver, standalone)
        scope.vars.update(params)
        call_location = self.location(node) if node is not None else None
        spec = definition.args
        parameters = len(spec.posonlyargs) + len(spec.args) + len(spec.kwonlyargs) - (1 if receiver is not None else 0)
        frame = self._new_frame(function.name, call_location, parameters > 0)
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
        except _Return:
            pass
        except (_Stop, _Break, _Continue):
            pass
        finally:
            self.active.pop()
            self.scope, self.frame, self.uncertain, self._varying, self._loop_exits = saved
        returns = frame.returns + ([None] if falls_through else [])
        if not returns:
            return UNKNOWN
        result = self._join_values(returns)
        if result is _MISSING:
            return UNKNOWN
        if call_location is not None and frame.has_params and isinstance(result, _LayerValue) \
                and result.frame == frame.id:
            self._relocate(result.template, call_location, node, function.name)
            result.frame = self.frame.id
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
            if template.cls in RECURRENT_LAYERS:
                key = (location.cell, location.line, location.column)
                if key not in self.layer_calls:
                    self.layer_calls[key] = LayerCall(call, template.cls, "helper", location.cell, function=function)
            template = template.wrapped

    def _bind_parameters(self, function: _FunctionValue, arguments: _CallArgs, receiver: Any,
                         standalone: bool) -> dict[str, Any]:
        """The values of a function's parameters for one call.

        For a function analysed on its own (`standalone`), a parameter with a
        literal default (a number, string, bool, None, a tuple/list/dict of
        those, or a Keras name such as `layers.LSTM`) is bound to that
        default, which is what the function does when called with no
        arguments; every other parameter, `*args` and `**kwargs` are UNKNOWN.
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
                default = defaults.get(name, _MISSING)
                bound[name] = default if _is_literal_default(default) else UNKNOWN
            for param, default in zip(spec.kwonlyargs, function.kw_defaults):
                bound[param.arg] = default if _is_literal_default(default) else UNKNOWN
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
                bound[param.arg] = UNKNOWN if (arguments.kw_unknown or default is _MISSING) else default
        if spec.kwarg:
            bound[spec.kwarg.arg] = UNKNOWN if arguments.kw_unknown else extra
        return bound

    def _instantiate(self, cls: _ClassValue, arguments: _CallArgs, node: ast.Call | None,
                     standalone: bool = False) -> _ObjectValue:
        obj = _ObjectValue(cls)
        self.objects.append(obj)
        init = cls.lookup("__init__")
        if isinstance(init, _FunctionValue):
            self._call_function(init, arguments, node, receiver=obj, standalone=standalone)
        elif cls.decorated and cls.fields:
            for name, value in zip(cls.fields, arguments.args):
                obj.attrs[name] = value
            for name in cls.fields:
                if name in arguments.kwargs:
                    obj.attrs[name] = arguments.kwargs[name]
        if cls.kind in ("model", "layer") and not cls.analysed:
            cls.analysed = True
            call = cls.lookup("call")
            if isinstance(call, _FunctionValue):
                self._analyse_call(cls, obj, call)
        return obj

    def _analyse_call(self, cls: _ClassValue, obj: _ObjectValue, call: _FunctionValue) -> None:
        """Runs a subclassed model's `call` on a symbolic input and records its graph.

        The input parameter is a tensor with no producer (the model's implicit
        input); the other parameters (`training`, `mask`, ...) are UNKNOWN.
        """
        spec = call.node.args
        params = [a.arg for a in spec.posonlyargs] + [a.arg for a in spec.args]
        arguments = _CallArgs()
        if len(params) > 1:
            arguments.args = [_TensorValue(())] + [UNKNOWN] * (len(params) - 2)
        for param in spec.kwonlyargs:
            arguments.kwargs[param.arg] = UNKNOWN
        first_node = len(self.dag)
        result = self._call_function(call, arguments, None, receiver=obj)
        record = self._new_record("subclass", cls.node)
        record.name = cls.name
        outputs = [p for producers in self._tensor_inputs(result) for p in producers]
        created = list(range(first_node, len(self.dag)))
        if outputs:
            record.outputs = outputs
            record.members = sorted(self._closure(outputs, set()) & set(created)) or created
        else:
            record.members = created
            consumed = {src for node_id in created for src, _, _ in self.dag[node_id].inputs}
            record.outputs = [node_id for node_id in created if node_id not in consumed]
        obj.record = record

    def _call_method(self, method: _MethodRef, arguments: _CallArgs, node: ast.Call) -> Any:
        receiver, name = method.receiver, method.name
        args = arguments.args
        if isinstance(receiver, _ModelRecord) or (isinstance(receiver, _ObjectValue) and receiver.record):
            record = receiver if isinstance(receiver, _ModelRecord) else receiver.record
            if name == "add" and record.kind == _SEQUENTIAL:
                value = args[0] if args else arguments.kwargs.get("layer", UNKNOWN)
                self._sequential_add(record, value, node)
                return None
            if name == "pop" and record.kind == _SEQUENTIAL and record.members and not self.uncertain:
                last = record.members.pop()
                record.frontier = tuple(src for src, _, _ in self.dag[last].inputs)
                return UNKNOWN
            if name == "compile":
                loss = arguments.kwargs.get("loss", args[1] if len(args) > 1 else None)
                record.loss = _loss_name(loss) if not self.uncertain or record.loss is None else UNKNOWN
                return None
            return self._opaque_call(name, arguments, node)
        if isinstance(receiver, list):
            return self._list_method(receiver, name, arguments)
        if isinstance(receiver, dict):
            return self._dict_method(receiver, name, arguments)
        if isinstance(receiver, str):
            return self._str_method(receiver, name, arguments)
        return UNKNOWN

    def _list_method(self, receiver: list, name: str, arguments: _CallArgs) -> Any:
        args = arguments.args
        if name == "append" and len(args) == 1:
            if len(receiver) < MAX_LITERAL:
                receiver.append(args[0])
            return None
        if name == "extend" and len(args) == 1:
            items = _known_sequence(args[0])
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

    def _dict_method(self, receiver: dict, name: str, arguments: _CallArgs) -> Any:
        args = arguments.args
        if name == "update":
            if args and isinstance(args[0], dict):
                receiver.update({k: (UNKNOWN if self.uncertain else v) for k, v in args[0].items()})
            receiver.update({k: (UNKNOWN if self.uncertain else v) for k, v in arguments.kwargs.items()})
            return None
        if name == "copy":
            return dict(receiver)
        if name in ("get", "pop", "setdefault") and args and _is_plain(args[0]) \
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

    _STR_METHODS = frozenset({
        "format", "join", "upper", "lower", "strip", "lstrip", "rstrip", "replace",
        "startswith", "endswith", "split", "title", "capitalize",
    })

    def _str_method(self, receiver: str, name: str, arguments: _CallArgs) -> Any:
        if name not in self._STR_METHODS or arguments.star_unknown or arguments.kw_unknown:
            return UNKNOWN
        if not all(_is_plain(a) for a in arguments.args) or not all(_is_plain(v) for v in arguments.kwargs.values()):
            return UNKNOWN
        if name == "format" and _HUGE_NUMBER.search(receiver):
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
            return _bounded(getattr(receiver, name)(*arguments.args, **arguments.kwargs))
        except Exception:  # noqa: BLE001 - a bad format string in the linted code
            return UNKNOWN

    def _call_builtin(self, name: str, arguments: _CallArgs) -> Any:
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
            items = _known_sequence(args[0])
            return len(items) if items is not None else UNKNOWN
        if name == "enumerate":
            items = _known_sequence(args[0]) if args else None
            start = args[1] if len(args) > 1 else arguments.kwargs.get("start", 0)
            if items is None or not isinstance(start, int):
                return UNKNOWN
            return [(start + i, item) for i, item in enumerate(items)]
        if name == "zip":
            sequences = [_known_sequence(a) for a in args]
            if any(s is None for s in sequences):
                return UNKNOWN
            return [tuple(group) for group in zip(*sequences)]
        if name in ("list", "tuple"):
            if not args:
                return [] if name == "list" else ()
            items = _known_sequence(args[0])
            if items is None:
                return _UnknownLengthList(args[0]) if isinstance(args[0], _UnknownLengthList) else UNKNOWN
            return items if name == "list" else tuple(items)
        if name == "reversed":
            items = _known_sequence(args[0]) if args else None
            return list(reversed(items)) if items is not None else UNKNOWN
        if name == "dict":
            result: dict[Any, Any] = {}
            if args:
                pairs = _known_sequence(args[0]) if not isinstance(args[0], (dict, str)) else None
                if isinstance(args[0], dict):
                    result.update(args[0])
                elif pairs is not None and all(isinstance(p, tuple) and len(p) == 2 and _is_plain(p[0])
                                               and not isinstance(p[0], (list, dict)) for p in pairs):
                    result.update(pairs)
                else:
                    return UNKNOWN
            result.update(arguments.kwargs)
            return result
        if name in _PURE_BUILTINS:
            if all(_is_plain(a) for a in args) and all(_is_plain(v) for v in arguments.kwargs.values()):
                if name in ("sum", "sorted", "min", "max") and args and isinstance(args[0], (list, tuple, range)) \
                        and len(args[0]) > MAX_LITERAL:
                    return UNKNOWN
                try:
                    return _bounded(_PURE_BUILTINS[name](*args, **arguments.kwargs))
                except Exception:  # noqa: BLE001 - the linted code's own error
                    return UNKNOWN
            return UNKNOWN
        return UNKNOWN

    # -- operators ---------------------------------------------------------------------
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
        if isinstance(left, _TensorValue) or isinstance(right, _TensorValue):
            inputs = self._tensor_inputs([left, right])
            template = LayerNode(name="", cls=_BINARY_OP_NAMES.get(type(op), "binary_op"), config={},
                                 location=self.location(node), kind="op")
            return _TensorValue((self._new_node(template, self._edges(inputs, "input")),))
        if isinstance(op, ast.Add) and ((isinstance(left, list) and isinstance(right, list))
                                        or (type(left) is tuple and type(right) is tuple)):
            if len(left) + len(right) > MAX_LITERAL:
                return UNKNOWN
            combined = type(left)(list(left) + list(right)) if isinstance(left, tuple) else list(left) + list(right)
            if isinstance(left, _UnknownLengthList) or isinstance(right, _UnknownLengthList):
                return _UnknownLengthList(combined)
            return combined
        if isinstance(op, ast.Mult) and isinstance(left, (list, tuple)) and isinstance(right, int) \
                and not isinstance(left, _UnknownLengthList):
            if right < 0 or len(left) * right > MAX_LITERAL:
                return UNKNOWN
            return left * right
        if not (_is_plain(left) and _is_plain(right)):
            return UNKNOWN
        if isinstance(op, ast.Pow) and (not isinstance(right, (int, float)) or abs(right) > 64
                                        or (isinstance(left, (int, float)) and abs(left) > 1 << 32)):
            return UNKNOWN
        if isinstance(op, (ast.LShift, ast.RShift)) and (not isinstance(right, int) or right > 64):
            return UNKNOWN
        if isinstance(op, ast.Mult) and (isinstance(left, (str, bytes, list, tuple)) or isinstance(right, (str, bytes, list, tuple))):
            sizes = [len(v) if isinstance(v, (str, bytes, list, tuple)) else v for v in (left, right)]
            if not all(isinstance(s, int) for s in sizes) or abs(sizes[0] * sizes[1]) > MAX_LITERAL:
                return UNKNOWN
        if isinstance(op, ast.Mod) and isinstance(left, str) and _HUGE_NUMBER.search(left):
            return UNKNOWN
        operation = _OPERATORS.get(type(op))
        if operation is None:
            return UNKNOWN
        try:
            return _bounded(operation(left, right))
        except Exception:  # noqa: BLE001 - ZeroDivisionError, TypeError... in the linted code
            return UNKNOWN

    def _eval_unaryop(self, node: ast.UnaryOp) -> Any:
        value = self._eval(node.operand)
        if isinstance(node.op, ast.Not):
            known = _truth(value)
            return UNKNOWN if known is None else not known
        if isinstance(value, _TensorValue):
            template = LayerNode(name="", cls="negative", config={}, location=self.location(node), kind="op")
            return _TensorValue((self._new_node(template, self._edges([value.producers], "input")),))
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
            known = _truth(value)
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
        if not (_is_plain(left) and _is_plain(right)):
            return UNKNOWN
        operation = _COMPARISONS.get(type(op))
        try:
            return bool(operation(left, right))
        except Exception:  # noqa: BLE001
            return UNKNOWN

    def _eval_ifexp(self, node: ast.IfExp) -> Any:
        known = _truth(self._eval(node.test))
        if known is True:
            return self._eval(node.body)
        if known is False:
            return self._eval(node.orelse)
        self.uncertain += 1
        try:
            values = [self._eval(node.body), self._eval(node.orelse)]
        finally:
            self.uncertain -= 1
        joined = self._join_values(values)
        return UNKNOWN if joined is _MISSING else joined

    def _eval_items(self, elements: list[ast.expr]) -> list[Any] | _UnknownLengthList:
        items: list[Any] = []
        unknown_length = False
        for element in elements:
            if isinstance(element, ast.Starred):
                value = self._eval(element.value)
                sequence = _known_sequence(value) if not isinstance(value, str) else list(value)
                if sequence is None:
                    unknown_length = True
                    if isinstance(value, _UnknownLengthList):
                        items.extend(value)
                else:
                    items.extend(sequence)
            else:
                items.append(self._eval(element))
        return _UnknownLengthList(items) if unknown_length else items

    def _eval_tuple(self, node: ast.Tuple) -> Any:
        items = self._eval_items(node.elts)
        return items if isinstance(items, _UnknownLengthList) else tuple(items)

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
            if _is_plain(key_value) and not isinstance(key_value, (list, dict)):
                result[key_value] = item
        return result

    def _eval_subscript(self, node: ast.Subscript) -> Any:
        container = self._eval(node.value)
        index = self._eval(node.slice) if not isinstance(node.slice, ast.Slice) else self._eval_slice(node.slice)
        if isinstance(container, _TensorValue):
            if container.multi and isinstance(index, int):
                return _TensorValue(container.producers)
            template = LayerNode(name="", cls="getitem", config={}, location=self.location(node), kind="op")
            return _TensorValue((self._new_node(template, self._edges([container.producers], "input")),))
        if isinstance(container, _UnknownLengthList):
            return UNKNOWN
        if isinstance(container, (list, tuple, str, range)) and isinstance(index, (int, slice)) \
                and not isinstance(index, bool):
            try:
                return container[index]
            except (IndexError, ValueError, TypeError):
                return UNKNOWN
        if isinstance(container, dict) and _is_plain(index) and not isinstance(index, (list, dict)):
            return container.get(index, UNKNOWN)
        return UNKNOWN

    def _eval_slice(self, node: ast.Slice) -> Any:
        parts = [self._eval(part) if part is not None else None for part in (node.lower, node.upper, node.step)]
        if all(part is None or (isinstance(part, int) and not isinstance(part, bool)) for part in parts):
            return slice(*parts)
        return UNKNOWN

    def _eval_comprehension(self, node: Any) -> Any:
        results: list[Any] = []
        state = {"unknown": False}
        outer = self.scope
        self.scope = _Scope(outer)
        try:
            self._comprehend(node.generators, 0, lambda: results.append(self._eval(node.elt)), state)
        finally:
            self.scope = outer
        if state["unknown"]:
            return _UnknownLengthList(results)
        return results

    def _eval_dict_comprehension(self, node: ast.DictComp) -> Any:
        results: dict[Any, Any] = {}
        state = {"unknown": False}
        outer = self.scope
        self.scope = _Scope(outer)

        def add() -> None:
            key = self._eval(node.key)
            value = self._eval(node.value)
            if _is_plain(key) and not isinstance(key, (list, dict)):
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
        items = _known_sequence(iterable) if not isinstance(iterable, str) else None
        if items is None or len(items) > MAX_UNROLL:
            # Unknown length: at least two items, like a loop of unknown length.
            state["unknown"] = True
            representatives = list(iterable) if isinstance(iterable, _UnknownLengthList) and iterable else [UNKNOWN]
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
            self._step()
            self._assign(generator.target, item)
            keep: bool | None = True
            for condition in generator.ifs:
                known = _truth(self._eval(condition))
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
            if spec is UNKNOWN or _HUGE_NUMBER.search(spec):
                return UNKNOWN
            try:
                converted = {115: str, 114: repr, 97: ascii}.get(value.conversion, lambda v: v)(inner)
                parts.append(format(converted, spec))
            except Exception:  # noqa: BLE001
                return UNKNOWN
        return _bounded("".join(parts))

    def _eval_lambda(self, node: ast.Lambda) -> Any:
        defaults = [self._eval(d) for d in node.args.defaults]
        kw_defaults = [self._eval(d) if d is not None else _MISSING for d in node.args.kw_defaults]
        scope = self.scope
        while scope.is_class and scope.parent is not None:
            scope = scope.parent
        return _FunctionValue(node, scope, defaults, kw_defaults)

    def _eval_named_expr(self, node: ast.NamedExpr) -> Any:
        value = self._eval(node.value)
        self._assign(node.target, value)
        return value

    def _eval_starred(self, node: ast.Starred) -> Any:
        return self._eval(node.value)

    # -- graphs ------------------------------------------------------------------------
    def _emit(self) -> list[ModelGraph]:
        """One graph per model built; a model that a loop's runs built twice, the same, is one graph."""
        graphs = []
        located: dict[Location, list[tuple]] = {}
        for record in self.records:
            if record.nested or not record.members:
                continue
            if record.kind == "subclass" and not any(self.dag[m].template.kind == "layer" for m in record.members):
                continue  # a custom layer written with ops only (no Keras layer inside)
            graph = self._graph_of(record)
            if record.location is not None:
                signature = _graph_signature(graph)
                seen = located.setdefault(record.location, [])
                if signature in seen:
                    continue
                seen.append(signature)
            graphs.append(graph)
        return graphs

    def _graph_of(self, record: _ModelRecord) -> ModelGraph:
        default = "sequential" if record.kind == _SEQUENTIAL else "model"
        name = record.name or record.keras_name or record.function_name or default
        graph = ModelGraph(name=name, path=self.path, location=record.location, origin=self.origin,
                           loss=record.loss)
        members = sorted(set(record.members))
        position = {node_id: index for index, node_id in enumerate(members)}
        names: dict[int, str] = {}
        counts: dict[str, int] = {}
        for node_id in members:
            template = self.dag[node_id].template
            node = _copy_template(template)
            if not node.name:
                key = id(template)
                if key not in names:
                    base = template.cls if template.kind == "op" else _snake_case(template.cls.rsplit(">", 1)[-1])
                    count = counts.get(base, 0)
                    counts[base] = count + 1
                    names[key] = base if count == 0 else f"{base}_{count}"
                node.name = names[key]
            graph.add(node)
        seen_edges = set()
        for node_id in members:
            for src, role, index in self.dag[node_id].inputs:
                if src in position and (src, node_id, role, index) not in seen_edges:
                    seen_edges.add((src, node_id, role, index))
                    graph.connect(position[src], position[node_id], role, index)
        if record.kind == _SEQUENTIAL:
            graph.inputs = [0] if graph.nodes and graph.nodes[0].kind == "input" else []
            outputs = record.frontier
        else:
            graph.inputs = [position[i] for i in dict.fromkeys(record.inputs) if i in position]
            outputs = tuple(record.outputs)
        graph.outputs = [position[o] for o in dict.fromkeys(outputs) if o in position]
        return graph


def _graph_signature(graph: ModelGraph) -> tuple:
    """What tells two graphs built by one call apart: names, layers, settings, wiring."""
    return (
        graph.name, graph.loss,
        tuple((n.name, n.cls, n.kind, repr(n.config), n.location, n.wrapped and repr(n.wrapped)) for n in graph.nodes),
        tuple(graph.edges), tuple(graph.inputs), tuple(graph.outputs),
    )


# Statement and expression handlers, by node type (unbound: called with the front-end).
SourceFrontEnd._STATEMENTS = {
    ast.Expr: SourceFrontEnd._exec_expr,
    ast.Assign: SourceFrontEnd._exec_assign,
    ast.AnnAssign: SourceFrontEnd._exec_ann_assign,
    ast.AugAssign: SourceFrontEnd._exec_aug_assign,
    ast.If: SourceFrontEnd._exec_if,
    ast.For: SourceFrontEnd._exec_for,
    ast.AsyncFor: SourceFrontEnd._exec_for,
    ast.While: SourceFrontEnd._exec_while,
    ast.FunctionDef: SourceFrontEnd._exec_function_def,
    ast.AsyncFunctionDef: SourceFrontEnd._exec_function_def,
    ast.ClassDef: SourceFrontEnd._exec_class_def,
    ast.Return: SourceFrontEnd._exec_return,
    ast.Import: SourceFrontEnd._exec_import,
    ast.ImportFrom: SourceFrontEnd._exec_import_from,
    ast.With: SourceFrontEnd._exec_with,
    ast.AsyncWith: SourceFrontEnd._exec_with,
    ast.Try: SourceFrontEnd._exec_try,
    ast.Break: SourceFrontEnd._exec_break,
    ast.Continue: SourceFrontEnd._exec_continue,
    ast.Raise: SourceFrontEnd._exec_raise,
    ast.Delete: SourceFrontEnd._exec_delete,
}
if hasattr(ast, "TryStar"):
    SourceFrontEnd._STATEMENTS[ast.TryStar] = SourceFrontEnd._exec_try
if hasattr(ast, "Match"):
    SourceFrontEnd._STATEMENTS[ast.Match] = SourceFrontEnd._exec_match
SourceFrontEnd._EXPRESSIONS = {
    ast.Constant: SourceFrontEnd._eval_constant,
    ast.Name: SourceFrontEnd._eval_name,
    ast.Attribute: SourceFrontEnd._eval_attribute,
    ast.Call: SourceFrontEnd._eval_call,
    ast.BinOp: SourceFrontEnd._eval_binop,
    ast.UnaryOp: SourceFrontEnd._eval_unaryop,
    ast.BoolOp: SourceFrontEnd._eval_boolop,
    ast.Compare: SourceFrontEnd._eval_compare,
    ast.IfExp: SourceFrontEnd._eval_ifexp,
    ast.Tuple: SourceFrontEnd._eval_tuple,
    ast.List: SourceFrontEnd._eval_list,
    ast.Set: SourceFrontEnd._eval_list,
    ast.Dict: SourceFrontEnd._eval_dict,
    ast.Subscript: SourceFrontEnd._eval_subscript,
    ast.ListComp: SourceFrontEnd._eval_comprehension,
    ast.SetComp: SourceFrontEnd._eval_comprehension,
    ast.GeneratorExp: SourceFrontEnd._eval_comprehension,
    ast.DictComp: SourceFrontEnd._eval_dict_comprehension,
    ast.JoinedStr: SourceFrontEnd._eval_joined_str,
    ast.Lambda: SourceFrontEnd._eval_lambda,
    ast.NamedExpr: SourceFrontEnd._eval_named_expr,
    ast.Starred: SourceFrontEnd._eval_starred,
}

_BUILTIN_NAMES = frozenset({
    "range", "len", "enumerate", "zip", "list", "tuple", "dict", "reversed", "sorted", "min", "max",
    "sum", "abs", "round", "int", "float", "str", "bool", "print", "isinstance", "super", "any", "all",
})
_BUILTINS = {name: _Builtin(name) for name in _BUILTIN_NAMES}
_PURE_BUILTINS = {
    "sorted": sorted, "min": min, "max": max, "sum": sum, "abs": abs, "round": round,
    "int": int, "float": float, "str": str, "bool": bool, "any": any, "all": all,
}

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


# -- public API -----------------------------------------------------------------------

def _run(front_end: SourceFrontEnd, modules: list[ast.Module], where: str) -> list[ModelGraph]:
    try:
        return front_end.run(modules)
    except RecursionError:
        raise UnreadableInput(
            "SK002", f"{where}: expressions are nested too deeply to analyse; simplify them so the file can be linted",
        ) from None


def analyse_python(text: str, path: str | None = None) -> tuple[SourceFrontEnd, list[ModelGraph]]:
    """Runs the front-end on Python source; returns it (for `layer_calls`) and the graphs.

    Args:
        text: the module's source.
        path: the file as the user gave it, or None.

    Returns:
        `(front_end, graphs)`.

    Raises:
        UnreadableInput: SK002 when the source does not parse.
    """
    where = path or "<source>"
    if text.startswith("\ufeff"):
        text = text[1:]
    module = _parse(text, where)
    front_end = SourceFrontEnd(_split_lines(text), path, "source")
    return front_end, _run(front_end, [module], where)


def graphs_from_python(text: str, path: str | None = None) -> list[ModelGraph]:
    """Finds the Keras models a Python module builds, without running it.

    Reads the module with `ast` and follows its statements abstractly (see
    the module docstring for the idioms understood). TensorFlow and Keras are
    not imported.

    Args:
        text: the module's source code.
        path: the file as the user gave it; copied into each graph and
            location. Defaults to None.

    Returns:
        One `ModelGraph` (origin `"source"`) per model: each `Sequential`
        (one graph however many `.add` calls build it), each functional
        `keras.Model(inputs, outputs)`, each subclassed model (named after its
        class). A model nested into another appears only inside it.

    Raises:
        UnreadableInput: SK002 when the source does not parse, with the line
            and column of the syntax error.

    Example:

    >>> source = '''
    ... import keras
    ... model = keras.Sequential([
    ...     keras.layers.LSTM(32),
    ...     keras.layers.LSTM(16),
    ... ])
    ... '''
    >>> [graph] = graphs_from_python(source)
    >>> [(node.cls, node.return_sequences) for node in graph.nodes]
    [('LSTM', False), ('LSTM', False)]
    """
    return analyse_python(text, path)[1]


def analyse_notebook(text: str, path: str | None = None, *, problems: list[UnreadableInput] | None = None,
                     ) -> tuple[SourceFrontEnd, list[ModelGraph], NotebookProgram]:
    """Runs the front-end on a notebook; returns it, the graphs and the program.

    `problems` is passed to `notebook_program`.
    """
    program = notebook_program(text, path, problems=problems)
    front_end = SourceFrontEnd(program.lines, path, "notebook", program.cell_starts)
    return front_end, _run(front_end, program.modules, path or "<notebook>"), program


def graphs_from_notebook(text: str, path: str | None = None, *,
                         problems: list[UnreadableInput] | None = None) -> list[ModelGraph]:
    """Finds the Keras models a Jupyter notebook builds, without running it.

    The code cells are read in order as one program, the way a kernel runs
    them top to bottom: a model built across cells (imports in the first,
    layers added in later ones) is one graph. IPython line magics, `!shell`
    lines and `?` help lines are skipped; a cell starting with a cell magic is
    skipped, unless the magic runs the cell as Python (`%%time`, `%%timeit`,
    `%%capture`, `%%prun`, `%%debug`). Notebooks whose kernel language is not
    Python give no graphs. nbformat 4 and 3 layouts are read.

    Args:
        text: the notebook file's JSON text.
        path: the file as the user gave it. Defaults to None.
        problems: what to do with a code cell that does not parse. None (the
            default) raises SK002 for the first one. A list collects an SK002
            `UnreadableInput` (with `cell`, `line` and `column`) for each, and
            the other cells are analysed as one program without them, the
            way Jupyter still runs them.

    Returns:
        One `ModelGraph` (origin `"notebook"`) per model. Every `Location`
        carries `cell`, the cell's position in the notebook counting every
        cell (code, markdown and raw), 1-based, and `line`, counted from the
        top of that cell.

    Raises:
        UnreadableInput: SK003 when the text is not a notebook (bad JSON, no
            `cells` list, a cell that is not an object); SK002, naming the
            cell and the line inside it, when a code cell does not parse and
            `problems` is None.

    Example:

    >>> import json
    >>> notebook = {"cells": [
    ...     {"cell_type": "markdown", "source": "# A model"},
    ...     {"cell_type": "code", "source": ["import keras\\n", "%matplotlib inline\\n"]},
    ...     {"cell_type": "code", "source": "m = keras.Sequential([keras.layers.GRU(4)])"},
    ... ]}
    >>> [graph] = graphs_from_notebook(json.dumps(notebook))
    >>> graph.nodes[0].location.cell, graph.nodes[0].location.line
    (3, 1)
    >>> notebook["cells"].insert(1, {"cell_type": "code", "source": "def broken(:"})
    >>> problems = []
    >>> [graph] = graphs_from_notebook(json.dumps(notebook), "nb.ipynb", problems=problems)
    >>> [(problem.code, problem.cell, problem.line) for problem in problems]
    [('SK002', 2, 1)]
    """
    return analyse_notebook(text, path, problems=problems)[1]


def read_source_file(path: str | os.PathLike, *,
                     problems: list[UnreadableInput] | None = None) -> list[ModelGraph]:
    """Reads a `.py` or `.ipynb` file and returns the Keras models it builds.

    Only regular files are read (a named pipe, a device or a directory
    called `model.py` is refused, never opened for a blocking read).

    Args:
        path: the file; it is reported back as given.
        problems: for notebooks, a list that collects an SK002
            `UnreadableInput` per code cell that does not parse, the other
            cells being linted (see `graphs_from_notebook`); None raises on
            the first. A `.py` file is one program: one that does not parse
            always raises SK002.

    Returns:
        The graphs of `graphs_from_python` or `graphs_from_notebook`.

    Raises:
        UnreadableInput: SK001 when the file cannot be read, is not a regular
            file, is not UTF-8, or is neither `.py` nor `.ipynb`; SK002 and
            SK003 as the functions above.

    Example:

    >>> read_source_file("model.py")  # doctest: +SKIP
    [ModelGraph(name='model', ...)]
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".py", ".pyw", ".ipynb"):
        raise UnreadableInput(
            "SK001", f"{name} is not Python source or a notebook; accepted: .py, .ipynb")
    data = read_regular_file(name)
    text = decode_source_bytes(data, name)[0]
    if suffix == ".ipynb":
        return graphs_from_notebook(text, name, problems=problems)
    return graphs_from_python(text, name)

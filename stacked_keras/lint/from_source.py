"""Static front-end: Python source files and notebooks to model graphs.

`graphs_from_python` reads a module through the `ast` module and returns one
`ModelGraph` per Keras model it builds; `graphs_from_notebook` does the same
for the code cells of a Jupyter notebook, run as one program. Nothing is
imported from the linted code and nothing is executed: TensorFlow and Keras
are never imported, so linting a stranger's file is safe and fast.

How it works: the module's statements are run in one pass by a Python
evaluator that knows no Keras (`stacked_keras.lint.pyeval`: literals,
scopes, the user's own functions and classes, branches, loops, the modules a
name was imported from). Its hooks, `SourceFrontEnd`
(`stacked_keras.lint.source_graph`), read the calls of Keras names: layers
(not yet applied), symbolic tensors (the node that produced them), models
being built. A value that cannot be known statically is `UNKNOWN`, and a
layer setting that is `UNKNOWN` never leads to a reported error. This module
is the entry points: reading files and notebooks, and running the two.

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
  does not come from Keras (a user class called `LSTM`, `torch.nn.LSTM`,
  `from mylib import LSTM`) is never taken for a Keras layer.
- Snippets without imports: a public Keras name that the program binds
  nowhere (in no scope or cell), when no star import from a module other than
  Keras could bring it in, is read as Keras's (`source_assumed.py`); the
  findings on a model built with it say so (`ModelGraph.assumed`).
- `functools.partial` of a Keras name (`RNN = partial(layers.LSTM, 64)`):
  calling it builds the layer with the merged arguments, the call's keywords
  overriding the partial's (`source_partial.py`).
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

from __future__ import annotations

import ast
import os

from stacked_keras.graph import ModelGraph
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
from stacked_keras.lint.source_graph import LayerCall, SourceFrontEnd

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

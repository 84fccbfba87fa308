"""Property-based tests: every lint front-end meets random and hostile input without crashing.

The contract (`stacked_keras.lint.findings.UnreadableInput`): a front-end
either returns model graphs, or raises `UnreadableInput` with an SK0xx code
and a message saying what is wrong. Any other exception is a crash. On top of
that, `lint()` never raises on a file: every unreadable file ends as one
SK0xx finding naming the file, and a front-end crash would show up as an
SK001 finding "this is a bug in stacked-keras", which these tests refuse.

Inputs: Python source made of Keras-like calls (imports, layers with random
arguments, Sequential, functional chains, loops, branches, helpers, classes)
and of garbage; notebooks, valid and random and truncated; model configs
with wrong types, missing keys, cycles and dangling references in functional
graphs, absurd nesting; random bytes and random zip and HDF5 files named
`.keras`, `.h5` and `.json`.

Budget: 50 examples per property in the normal suite, derandomized so runs
reproduce. Set `STACKED_KERAS_FUZZ_EXAMPLES=N` for a longer, randomized run:

    STACKED_KERAS_FUZZ_EXAMPLES=2000 python -m pytest -q tests/test_fuzz_frontends.py \
        --hypothesis-show-statistics
"""

from __future__ import annotations

import io
import json
import os
import string
import zipfile

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

import stacked_keras
from stacked_keras.graph import ModelGraph
from stacked_keras.lint import from_config
from stacked_keras.lint.findings import SEVERITIES, UnreadableInput
from stacked_keras.lint.from_config import graphs_from_config, read_saved_file
from stacked_keras.lint.from_source import graphs_from_notebook, graphs_from_python, read_source_file
from stacked_keras.lint.rules import check


def _examples_from_environment() -> int:
    raw = os.environ.get("STACKED_KERAS_FUZZ_EXAMPLES")
    if raw is None:
        return 50
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(
            f"STACKED_KERAS_FUZZ_EXAMPLES must be a positive integer (examples per property), got {raw!r}"
        )
    return value


EXAMPLES = _examples_from_environment()
LONG_RUN = "STACKED_KERAS_FUZZ_EXAMPLES" in os.environ

fuzz = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=not LONG_RUN,
    suppress_health_check=list(HealthCheck),
)

INPUT_CODES = ("SK001", "SK002", "SK003", "SK004", "SK005")
CRASH_MARK = "this is a bug in stacked-keras"


# -- the contract ---------------------------------------------------------------------


def _check_graph(graph: ModelGraph, *, source_lines: int | None = None) -> None:
    """A graph any rule can read: consistent ids and edges, rules that run."""
    assert isinstance(graph, ModelGraph)
    for index, node in enumerate(graph.nodes):
        assert node.id == index
        assert isinstance(node.name, str) and isinstance(node.cls, str)
        if source_lines is not None and node.location is not None and node.location.line is not None:
            assert 1 <= node.location.line <= source_lines, (node, source_lines)
    for edge in graph.edges:
        assert 0 <= edge.src < len(graph.nodes) and 0 <= edge.dst < len(graph.nodes)
    for node_id in (*graph.inputs, *graph.outputs):
        assert 0 <= node_id < len(graph.nodes)
    for finding in check(graph):
        assert finding.severity in SEVERITIES
        assert finding.message


def _graphs_or_refusal(read, *args, codes=INPUT_CODES, source_lines=None):
    """Runs a front-end: graphs (checked), or an UnreadableInput with one of `codes`."""
    try:
        graphs = read(*args)
    except UnreadableInput as error:
        assert error.code in codes, (error.code, error.message)
        assert isinstance(error.message, str) and error.message.strip()
        return error
    assert isinstance(graphs, list)
    for graph in graphs:
        _check_graph(graph, source_lines=source_lines)
    return graphs


def _lint_file(directory, name, data: bytes):
    """Lints one file through the public API: a report, never an exception."""
    path = directory / name
    path.write_bytes(data)
    report = stacked_keras.lint(str(path))
    for finding in report.findings:
        assert CRASH_MARK not in finding.message, finding.message
        assert finding.path == str(path)
        if finding.code.startswith("SK0"):
            assert finding.code in INPUT_CODES and finding.message.strip()
    return report


# -- Keras-like Python source ---------------------------------------------------------

NAMES = ("x", "h", "y", "inputs", "outputs", "model", "m", "layer", "units", "seq", "cfg", "layers_list")
# Most layers are spelled the usual ways, so that most programs build models.
LAYER_PREFIXES = ("keras.layers.",) * 4 + ("layers.",) * 4 + ("L.", "tf.keras.layers.", "", "nn.", "kl.")
RECURRENT_CLASSES = ("LSTM", "GRU", "SimpleRNN")
LAYER_CLASSES = (
    "LSTM", "GRU", "SimpleRNN", "RNN", "LSTMCell", "GRUCell", "Bidirectional", "TimeDistributed",
    "Dense", "Dropout", "Reshape", "RepeatVector", "Flatten", "Embedding", "Input", "Lambda",
    "Conv1D", "Masking", "GlobalAveragePooling1D", "ConvLSTM1D", "Concatenate", "Add",
    "LayerNormalization", "Attention", "StackedRNNCells", "MyLayer",
)
KEYWORDS = (
    "units", "return_sequences", "return_state", "activation", "dropout", "recurrent_dropout",
    "target_shape", "name", "input_shape", "shape", "go_backwards", "stateful", "unroll",
    "use_cudnn", "rate", "layer", "merge_mode", "cell", "input_dim", "output_dim", "mask_zero",
    "n", "initial_state", "backward_layer", "dtype",
)
EXTRA_IMPORTS = (
    "import tensorflow as tf",
    "from tensorflow import keras",
    "from tensorflow.keras.layers import LSTM, GRU, Dense",
    "from keras.layers import *",
    "from keras import layers as L",
    "from tensorflow.keras import layers",
    "import tensorflow.keras.layers as kl",
    "import torch.nn as nn",
    "from my_models import block",
    "from keras import ops",
    "import tf_keras as keras",
    "from keras.src.layers import LSTM",
    "layers = None",
)

names = st.sampled_from(NAMES)
prefixes = st.sampled_from(LAYER_PREFIXES)
scalars = st.one_of(
    st.integers(-3, 300).map(str),
    st.sampled_from(["10**30", "-1", "0", "2**64", "1e308", "float('nan')", "3.5", "-0.0"]),
    st.sampled_from(["True", "False", "None", "...", "'tanh'", "'relu'", "''", "'last'", "b'x'", "1j"]),
    st.text(string.ascii_letters + " _-", max_size=8).map(repr),
)
# What a setting usually holds, or now and then anything at all.
plausible = st.one_of(st.integers(1, 64).map(str), st.sampled_from(["True", "False"]), names, scalars)


def _f_string(expression: str) -> str:
    """An f-string around an expression, quoted so that it parses on Python 3.10+."""
    if "\\" in expression:
        return f"str({expression})"
    if '"' not in expression:
        return f'f"{{ {expression} }}"'
    if "'" not in expression:
        return f"f'{{ {expression} }}'"
    return f"str({expression})"


def _expressions(depth: int) -> st.SearchStrategy[str]:
    if depth <= 0:
        return st.one_of(scalars, names)
    inner = _expressions(depth - 1)
    return st.one_of(
        scalars,
        names,
        _layer_constructors(depth - 1),
        st.lists(inner, max_size=4).map(lambda items: "[" + ", ".join(items) + "]"),
        st.lists(inner, max_size=3).map(lambda items: "(" + "".join(i + ", " for i in items) + ")"),
        st.tuples(inner, st.sampled_from(["+", "*", "-", "//", "%", "**", "and", "or", "==", "<"]), inner)
        .map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(inner, inner, inner).map(lambda t: f"({t[0]} if {t[1]} else {t[2]})"),
        st.tuples(names, inner).map(lambda t: f"{t[0]}[{t[1]}]"),
        st.tuples(names, st.sampled_from(["shape", "output", "layers", "units", "get_config()"]))
        .map(lambda t: f"{t[0]}.{t[1]}"),
        inner.map(lambda e: f"unknown_function({e})"),
        inner.map(lambda e: f"(lambda t: {e})"),
        st.tuples(st.sampled_from(KEYWORDS), inner).map(lambda t: "{" + repr(t[0]) + ": " + t[1] + "}"),
        st.tuples(inner, names).map(lambda t: f"[{t[0]} for {t[1]} in range(3)]"),
        inner.map(_f_string),
        st.tuples(names, inner).map(lambda t: f"{t[0]}({t[1]})"),
    )


def _arguments(depth: int) -> st.SearchStrategy[str]:
    value = st.one_of(plausible, _expressions(depth))
    positional = st.lists(value, max_size=3)
    keyword = st.lists(st.tuples(st.sampled_from(KEYWORDS), value), max_size=4, unique_by=lambda kv: kv[0])
    starred = st.sampled_from(["", "", "", "*args", "**cfg", "**{'units': 4}", "*[8]"])
    return st.tuples(positional, keyword, starred).map(
        lambda t: ", ".join([*t[0], *(f"{k}={v}" for k, v in t[1]), *([t[2]] if t[2] else [])])
    )


def _recurrent_constructors(depth: int) -> st.SearchStrategy[str]:
    """LSTM/GRU/SimpleRNN with units, often return_sequences, sometimes more settings."""
    extra = st.lists(st.tuples(st.sampled_from(KEYWORDS), st.one_of(plausible, _expressions(depth))),
                     max_size=2, unique_by=lambda kv: kv[0])
    return st.tuples(prefixes, st.sampled_from(RECURRENT_CLASSES), plausible,
                     st.one_of(st.just(""), plausible.map(lambda v: f", return_sequences={v}")), extra).map(
        lambda t: f"{t[0]}{t[1]}({t[2]}{t[3]}"
        + "".join(f", {k}={v}" for k, v in t[4] if k != "return_sequences") + ")"
    )


def _layer_constructors(depth: int) -> st.SearchStrategy[str]:
    recurrent = _recurrent_constructors(max(depth - 1, 0))
    return st.one_of(
        recurrent,
        recurrent,
        st.tuples(prefixes, recurrent).map(lambda t: f"{t[0]}Bidirectional({t[1]})"),
        st.tuples(prefixes, st.sampled_from(["LSTMCell", "GRUCell", "SimpleRNNCell"]), plausible,
                  st.sampled_from(["", ", return_sequences=True", ", return_sequences=False"]))
        .map(lambda t: f"{t[0]}RNN({t[0]}{t[1]}({t[2]}){t[3]})"),
        st.tuples(prefixes, plausible).map(lambda t: f"{t[0]}Dense({t[1]})"),
        st.tuples(prefixes, st.sampled_from(LAYER_CLASSES), _arguments(depth)).map(
            lambda t: f"{t[0]}{t[1]}({t[2]})"),
    )


layer_constructor = _layer_constructors(2)
expression = _expressions(2)
MODEL_CONSTRUCTORS = ("keras.Sequential", "keras.models.Sequential", "Sequential", "tf.keras.Sequential",
                      "keras.Model", "tf.keras.Model", "Model", "keras.models.Model")


# Functions applied between layers: time axes fabricated, cut or kept.
BETWEEN_LAYERS = ("tf.expand_dims(x, 1)", "ops.reshape(x, (-1, 4, 2))", "x[:, -1]", "x + x")


@st.composite
def functional_chains(draw):
    """`x = keras.Input(..)`, layers applied one after the other, `keras.Model(inputs, x)`."""
    lines = [f"inputs = keras.Input(shape={draw(st.sampled_from(['(None, 3)', '(10, 4)', '(None,)', 'shape']))})",
             "x = inputs"]
    for _ in range(draw(st.integers(1, 5))):
        layer = draw(layer_constructor)
        if draw(st.integers(0, 5)) == 0:
            lines.append(f"x = {draw(st.sampled_from(BETWEEN_LAYERS))}")
        lines.append(f"x = {layer}(x)")
    lines.append(f"{draw(names)} = {draw(st.sampled_from(MODEL_CONSTRUCTORS))}(inputs, x)")
    return lines


def _simple_statements() -> st.SearchStrategy[list[str]]:
    one = st.one_of(
        st.tuples(names, expression).map(lambda t: f"{t[0]} = {t[1]}"),
        st.tuples(names, layer_constructor, names).map(lambda t: f"{t[0]} = {t[1]}({t[2]})"),
        st.tuples(names, st.sampled_from(MODEL_CONSTRUCTORS), st.lists(layer_constructor, max_size=5))
        .map(lambda t: f"{t[0]} = {t[1]}([{', '.join(t[2])}])"),
        st.tuples(names, st.sampled_from(MODEL_CONSTRUCTORS), st.lists(layer_constructor, min_size=2, max_size=5))
        .map(lambda t: f"{t[0]} = {t[1]}([{', '.join(t[2])}])"),
        st.tuples(names, st.sampled_from(MODEL_CONSTRUCTORS), names, names)
        .map(lambda t: f"{t[0]} = {t[1]}({t[2]}, {t[3]})"),
        st.tuples(names, st.sampled_from(MODEL_CONSTRUCTORS), _arguments(1))
        .map(lambda t: f"{t[0]} = {t[1]}({t[2]})"),
        st.tuples(names, layer_constructor).map(lambda t: f"{t[0]}.add({t[1]})"),
        st.tuples(names, expression).map(lambda t: f"{t[0]}.add({t[1]})"),
        st.tuples(names, _arguments(1)).map(lambda t: f"{t[0]} = keras.Input({t[1]})"),
        st.tuples(names, names, expression)
        .map(lambda t: f"{t[0]} = tf.expand_dims({t[1]}, {t[2]})"),
        st.tuples(names, names, expression).map(lambda t: f"{t[0]} = ops.reshape({t[1]}, {t[2]})"),
        st.tuples(names, _arguments(1)).map(lambda t: f"{t[0]}.compile({t[1]})"),
        st.tuples(names, names).map(lambda t: f"{t[0]}, {t[1]} = {t[1]}, {t[0]}"),
        st.tuples(names, expression).map(lambda t: f"{t[0]}[0] = {t[1]}"),
        st.tuples(names, expression).map(lambda t: f"{t[0]} += {t[1]}"),
        names.map(lambda n: f"del {n}"),
        names.map(lambda n: f"{n}.summary()"),
        st.sampled_from(["pass", "import keras", "from keras import layers", "x = y = z = 1",
                         "exec('import os')", "eval('1')", "globals()['x'] = 2",
                         "getattr(layers, 'LSTM')(4)", "keras.layers.deserialize(cfg)"]),
    )
    return st.one_of(one.map(lambda line: [line]), functional_chains())


def _indent(lines: list[str]) -> list[str]:
    return ["    " + line for line in lines]


def _statements(depth: int) -> st.SearchStrategy[list[str]]:
    simple = _simple_statements()
    if depth <= 0:
        return simple
    body = st.lists(_statements(depth - 1), min_size=1, max_size=3).map(lambda blocks: sum(blocks, []))
    return st.one_of(
        simple,
        simple,
        simple,
        st.tuples(names, st.one_of(st.integers(0, 400).map(str), names), body).map(
            lambda t: [f"for {t[0]} in range({t[1]}):", *_indent(t[2])]),
        st.tuples(names, expression, body).map(lambda t: [f"for {t[0]} in {t[1]}:", *_indent(t[2])]),
        st.tuples(expression, body, body).map(lambda t: [f"if {t[0]}:", *_indent(t[1]), "else:", *_indent(t[2])]),
        st.tuples(expression, body).map(lambda t: [f"while {t[0]}:", *_indent(t[1]), "    break"]),
        st.tuples(body, body).map(lambda t: ["try:", *_indent(t[0]), "except Exception:", *_indent(t[1])]),
        body.map(lambda b: ["with tf.device('/cpu:0'):", *_indent(b)]),
        st.tuples(names, body, expression, names, _arguments(1)).map(
            lambda t: [f"def {t[0]}_fn(units=4, seq=True, *args, **cfg):", *_indent(t[1]),
                       f"    return {t[2]}", f"{t[3]} = {t[0]}_fn({t[4]})"]),
        st.tuples(names, layer_constructor, layer_constructor).map(
            lambda t: [f"class {t[0].title()}Model(keras.Model):",
                       "    def __init__(self, units=4):",
                       "        super().__init__()",
                       f"        self.first = {t[1]}",
                       f"        self.second = {t[2]}",
                       "    def call(self, inputs):",
                       "        return self.second(self.first(inputs))",
                       f"{t[0]} = {t[0].title()}Model()"]),
        st.just(["def recurse(n):", "    return recurse(n + 1)", "model = recurse(0)"]),
        st.just(["def block(units, seq):", "    return layers.LSTM(units, return_sequences=seq)",
                 "model = keras.Sequential([block(8, False), block(4, False)])"]),
    )


keras_like_programs = st.tuples(
    st.lists(st.sampled_from(EXTRA_IMPORTS), max_size=2),
    st.lists(_statements(2), min_size=1, max_size=6),
).map(lambda t: "\n".join(["import keras", "from keras import layers", *t[0], *sum(t[1], [])]) + "\n")

VALID_PROGRAM = (
    "import keras\n"
    "from keras import layers\n"
    "inputs = keras.Input((None, 3))\n"
    "x = layers.LSTM(8)(inputs)\n"
    "x = layers.LSTM(4, return_sequences=True)(x)\n"
    "model = keras.Model(inputs, layers.Dense(1)(x))\n"
    "seq = keras.Sequential([layers.GRU(4), layers.Bidirectional(layers.LSTM(2)), layers.Dense(1)])\n"
)


@st.composite
def mutated_programs(draw, base=VALID_PROGRAM):
    """A valid program with random characters deleted, inserted or replaced, or cut short."""
    text = draw(st.one_of(st.just(base), keras_like_programs))
    for _ in range(draw(st.integers(1, 6))):
        position = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["delete", "insert", "replace", "truncate"]))
        piece = draw(st.text(alphabet=string.printable + "\u00e9\u2028\x00\ufeff", min_size=1, max_size=4))
        if action == "delete":
            text = text[:position] + text[position + len(piece):]
        elif action == "insert":
            text = text[:position] + piece + text[position:]
        elif action == "replace":
            text = text[:position] + piece + text[position + len(piece):]
        else:
            text = text[:position]
    return text


@fuzz
@given(keras_like_programs)
@example("import keras\nmodel = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])\n")
@example("from keras import layers\nfor i in range(10**6):\n    x = layers.LSTM(4)(x)\n")
@example("import keras\nx = keras.layers.LSTM(units=10**30, return_sequences=float('nan'))\n")
def test_keras_like_source_gives_graphs_or_a_syntax_finding(source):
    result = _graphs_or_refusal(graphs_from_python, source, "fuzz.py", codes=("SK002",),
                                source_lines=source.count("\n") + 1)
    assert not isinstance(result, UnreadableInput) or result.line is None or result.line >= 1


@fuzz
@given(st.one_of(mutated_programs(), st.text(max_size=400)))
@example("def f(:\n")
@example("\x00")
@example("x = (" * 300 + ")" * 300)
@example("\ufeffimport keras\n")
@example("if True:\n\tpass\n        pass\n")
def test_garbage_source_gives_graphs_or_a_syntax_finding(source):
    _graphs_or_refusal(graphs_from_python, source, "garbage.py", codes=("SK002",))


@fuzz
@given(st.binary(max_size=300))
@example(b"\xff\xfe\x00\x00")
@example(b"# -*- coding: latin-1 -*-\nx = '\xe9'\n")
@example(b"# -*- coding: no-such-codec -*-\nx = 1\n")
@example(b"\xef\xbb\xbf# coding: latin-1\n")
def test_random_bytes_named_py_are_read_or_refused(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("py") / "random.py"
    path.write_bytes(data)
    _graphs_or_refusal(read_source_file, str(path), codes=("SK001", "SK002"))


# -- notebooks ---------------------------------------------------------------------------

cell_sources = st.one_of(keras_like_programs, mutated_programs(), st.sampled_from([
    "%matplotlib inline\nimport keras", "!pip install keras", "%%bash\necho hi", "%%time\nimport keras",
    "keras.layers.LSTM?", "files = !ls", "%%capture\nx = 1\n%%capture", "",
]))
json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=10))
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(st.lists(children, max_size=4),
                               st.dictionaries(st.text(max_size=8), children, max_size=4)),
    max_leaves=20,
)


@st.composite
def notebooks(draw):
    """Notebook documents, mostly well formed, with random cells and random defects."""
    cells = []
    for _ in range(draw(st.integers(0, 5))):
        source = draw(cell_sources)
        if draw(st.booleans()):
            source = source.splitlines(keepends=True)  # the list form Jupyter writes
        cell = {"cell_type": draw(st.sampled_from(["code", "code", "markdown", "raw", "unknown"])),
                "source": source, "metadata": {}}
        if draw(st.integers(0, 9)) == 0:
            cell = draw(st.one_of(json_values, st.just({"cell_type": "code"}),
                                  st.just({"cell_type": "code", "source": ["a", 1]})))
        cells.append(cell)
    language = draw(st.sampled_from([None, "python", "R", 3, "ipython"]))
    metadata = {} if language is None else {"kernelspec": {"language": language}}
    document = {"cells": cells, "metadata": metadata, "nbformat": 4, "nbformat_minor": 5}
    shape = draw(st.sampled_from(["v4", "v4", "v3", "no-cells", "cells-not-list", "not-object"]))
    if shape == "v3":
        document = {"worksheets": [{"cells": [
            dict(c, input=c.get("source")) if isinstance(c, dict) else c for c in cells]}], "nbformat": 3}
    elif shape == "no-cells":
        document.pop("cells")
    elif shape == "cells-not-list":
        document["cells"] = draw(json_scalars)
    elif shape == "not-object":
        document = cells
    return json.dumps(document)


@fuzz
@given(notebooks())
def test_random_notebooks_give_graphs_or_a_notebook_finding(text):
    _graphs_or_refusal(graphs_from_notebook, text, "fuzz.ipynb", codes=("SK002", "SK003"))


@fuzz
@given(notebooks(), st.data())
def test_truncated_notebooks_give_graphs_or_a_notebook_finding(text, data):
    cut = data.draw(st.integers(0, len(text)))
    _graphs_or_refusal(graphs_from_notebook, text[:cut], "cut.ipynb", codes=("SK002", "SK003"))


# -- model configs -----------------------------------------------------------------------

CONFIG_CLASSES = ("LSTM", "GRU", "SimpleRNN", "Dense", "Bidirectional", "TimeDistributed", "RNN", "Reshape",
                  "InputLayer", "Sequential", "Functional", "Model", "Lambda", "TFOpLambda", "ExpandDims",
                  "LSTMCell", "Dropout", "RepeatVector", "Custom>Thing", "")
config_values = st.one_of(json_scalars, json_values)
layer_settings = st.dictionaries(
    st.sampled_from(KEYWORDS + ("trainable", "batch_input_shape", "batch_shape", "config", "layers")),
    config_values, max_size=5,
)


@st.composite
def layer_entries(draw, names_pool):
    entry = {"class_name": draw(st.sampled_from(CONFIG_CLASSES)),
             "config": dict(draw(layer_settings), name=draw(st.sampled_from(names_pool)))}
    if draw(st.booleans()):
        entry["module"] = draw(st.sampled_from(["keras.layers", "keras.src.ops.numpy", "evil_module", None]))
    if draw(st.booleans()):
        entry["registered_name"] = draw(st.sampled_from([None, "Custom>Thing", "LSTM", 7]))
    if entry["class_name"] in ("Bidirectional", "TimeDistributed", "RNN") and draw(st.booleans()):
        entry["config"]["layer"] = {"class_name": draw(st.sampled_from(CONFIG_CLASSES)),
                                    "config": draw(layer_settings)}
    return entry


@st.composite
def functional_configs(draw):
    """Functional configs whose wiring is random: cycles, dangling names, bad indices, both formats."""
    size = draw(st.integers(1, 6))
    pool = [f"layer_{i}" for i in range(size)] + ["ghost"]
    layers = [draw(layer_entries(pool[:size])) for _ in range(size)]
    keras3 = draw(st.booleans())
    for entry in layers:
        calls = []
        for _ in range(draw(st.integers(0, 2))):
            sources = draw(st.lists(st.tuples(st.sampled_from(pool), st.integers(-1, 2), st.integers(-1, 1)),
                                    max_size=3))
            if keras3:
                calls.append({"args": [{"class_name": "__keras_tensor__",
                                        "config": {"shape": [None, None, 3], "dtype": "float32",
                                                   "keras_history": list(s)}} for s in sources],
                              "kwargs": draw(st.one_of(st.just({}), st.dictionaries(st.text(max_size=5),
                                                                                     json_values, max_size=2)))})
            else:
                calls.append([[name, node, tensor, {}] for name, node, tensor in sources])
        entry["inbound_nodes"] = draw(st.one_of(st.just(calls), json_values)) if draw(
            st.integers(0, 5)) == 0 else calls
        entry["name"] = entry["config"]["name"]
    ends = st.lists(st.tuples(st.sampled_from(pool), st.integers(-1, 1), st.integers(-1, 1)).map(list),
                    max_size=2)
    config = {"name": "fuzzed", "layers": layers, "input_layers": draw(ends), "output_layers": draw(ends)}
    return {"class_name": draw(st.sampled_from(["Functional", "Model", "Sequential"])), "config": config,
            **({"module": "keras", "registered_name": None} if keras3 else {})}


@st.composite
def sequential_configs(draw):
    layers = draw(st.lists(layer_entries([f"s{i}" for i in range(5)]), max_size=6))
    if draw(st.booleans()):
        layers = {"class_name": "Sequential", "config": {"name": "seq", "layers": layers}}
        return layers
    return {"name": "seq", "layers": layers}


@st.composite
def deeply_nested_configs(draw):
    """A model nested in itself up to far beyond any sane depth."""
    depth = draw(st.integers(1, from_config.MAX_NESTING + 40))
    config = {"class_name": "LSTM", "config": {"name": "core", "units": 2}}
    for level in range(depth):
        config = {"class_name": "Sequential", "config": {"name": f"level{level}", "layers": [config]}}
    return config


@st.composite
def broken_configs(draw):
    """A structured config with one part dropped or replaced by a random value."""
    config = draw(st.one_of(functional_configs(), sequential_configs()))
    body = config.get("config", config)
    if isinstance(body, dict) and body:
        key = draw(st.sampled_from(sorted(body)))
        if draw(st.booleans()):
            del body[key]
        else:
            body[key] = draw(config_values)
    return config


all_configs = st.one_of(functional_configs(), sequential_configs(), broken_configs(), deeply_nested_configs(),
                        json_values, st.lists(sequential_configs(), max_size=3))


@fuzz
@given(all_configs)
@example({"class_name": "Functional", "config": {"name": "loop", "layers": [
    {"class_name": "LSTM", "name": "a", "config": {"name": "a"}, "inbound_nodes": [[["b", 0, 0, {}]]]},
    {"class_name": "LSTM", "name": "b", "config": {"name": "b"}, "inbound_nodes": [[["a", 0, 0, {}]]]}],
    "input_layers": [["a", 0, 0]], "output_layers": [["b", 0, 0]]}})
@example({"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM", "config": None}]}})
@example({"class_name": "Sequential", "config": {"layers": [{"class_name": "LSTM",
                                                              "config": {"return_sequences": "yes", "units": -1}}]}})
def test_random_configs_give_graphs_or_a_config_finding(config):
    _graphs_or_refusal(graphs_from_config, config, "fuzz.json", codes=("SK004",))


@fuzz
@given(st.one_of(functional_configs(), sequential_configs(), broken_configs(), deeply_nested_configs(),
                 st.dictionaries(st.text(max_size=8), json_values, max_size=4)))
def test_lint_never_raises_on_a_config_dict(config):
    assume(isinstance(config, dict))
    report = stacked_keras.lint(config)
    for finding in report.findings:
        assert CRASH_MARK not in finding.message
        assert finding.severity in SEVERITIES


# -- saved files: random bytes, zips and HDF5 named .keras / .h5 / .json -------------------


@st.composite
def zip_archives(draw):
    """Zip files holding a config.json (random JSON, random bytes, or a real config) and other members."""
    buffer = io.BytesIO()
    members = {}
    choice = draw(st.sampled_from(["json", "bytes", "config", "none"]))
    if choice == "json":
        members["config.json"] = json.dumps(draw(json_values)).encode()
    elif choice == "bytes":
        members["config.json"] = draw(st.binary(max_size=200))
    elif choice == "config":
        members["config.json"] = json.dumps(draw(st.one_of(functional_configs(), sequential_configs()))).encode()
    for name in draw(st.lists(st.sampled_from(["metadata.json", "model.weights.h5", "../escape.txt",
                                               "/abs/path.txt", "assets/a", "config.json/inner"]), max_size=3)):
        members[name] = draw(st.binary(max_size=50))
    method = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", compression=method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = buffer.getvalue()
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(0, len(data)))]  # truncated
    if draw(st.integers(0, 3)) == 0 and data:
        position = draw(st.integers(0, len(data) - 1))
        data = data[:position] + bytes([draw(st.integers(0, 255))]) + data[position + 1:]  # one byte flipped
    return data


@st.composite
def hdf5_files(draw):
    import h5py

    buffer = io.BytesIO()
    with h5py.File(buffer, "w") as handle:
        attribute = draw(st.sampled_from(["model_config", "model_config", "training_config", "other"]))
        value = draw(st.one_of(st.binary(max_size=100), json_values.map(json.dumps),
                               st.one_of(functional_configs(), sequential_configs()).map(json.dumps),
                               st.integers(), st.lists(st.integers(), max_size=3)))
        try:
            handle.attrs[attribute] = value
        except (TypeError, ValueError):
            handle.attrs[attribute] = "not storable"
        if draw(st.booleans()):
            handle.attrs["training_config"] = draw(json_values.map(json.dumps))
    data = buffer.getvalue()
    if draw(st.integers(0, 3)) == 0:
        data = data[: draw(st.integers(0, len(data)))]
    return data


saved_bytes = st.one_of(st.binary(max_size=400), zip_archives(), hdf5_files(),
                        json_values.map(lambda v: json.dumps(v).encode()),
                        all_configs.map(lambda v: json.dumps(v).encode()))


@fuzz
@given(saved_bytes, st.sampled_from([".keras", ".h5", ".hdf5", ".json"]))
@example(b"PK\x05\x06" + b"\x00" * 18, ".keras")
@example(b"\x89HDF\r\n\x1a\n", ".h5")
@example(b"", ".json")
@example(b'"{\\"class_name\\": 1}"', ".json")
def test_random_saved_files_are_read_or_refused(tmp_path_factory, data, suffix):
    path = tmp_path_factory.mktemp("saved") / f"random{suffix}"
    path.write_bytes(data)
    _graphs_or_refusal(read_saved_file, str(path), codes=("SK001", "SK004", "SK005"))


# -- the public entry point on files of every kind ---------------------------------------------


@fuzz
@given(st.one_of(
    st.tuples(st.just(".py"), st.one_of(keras_like_programs, mutated_programs()).map(str.encode)),
    st.tuples(st.just(".py"), st.binary(max_size=200)),
    st.tuples(st.just(".ipynb"), notebooks().map(str.encode)),
    st.tuples(st.just(".ipynb"), st.binary(max_size=200)),
    st.tuples(st.sampled_from([".keras", ".h5", ".json"]), saved_bytes),
))
def test_lint_turns_every_unreadable_file_into_one_finding_naming_it(tmp_path_factory, kind_and_data):
    suffix, data = kind_and_data
    directory = tmp_path_factory.mktemp("lint")
    report = _lint_file(directory, f"input{suffix}", data)
    input_findings = [f for f in report.findings if f.code.startswith("SK0")]
    # One file: it was read (a notebook may still report one SK002 per bad
    # cell, an opaque model one SK006), or it ends as exactly one SK0xx finding.
    if report.inputs_read == 0:
        assert len(input_findings) == 1
    else:
        assert report.inputs_read == 1
        assert all(f.code in ("SK002", "SK006") for f in input_findings)
    # Exit status 2 says "no readable input"; otherwise the findings decide.
    assert report.exit_code() == 2 if report.inputs_read == 0 else report.exit_code() in (0, 1)


def test_fuzz_budget_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv("STACKED_KERAS_FUZZ_EXAMPLES", "0")
    with pytest.raises(ValueError, match=r"STACKED_KERAS_FUZZ_EXAMPLES must be a positive integer .*got '0'"):
        _examples_from_environment()
    monkeypatch.setenv("STACKED_KERAS_FUZZ_EXAMPLES", "many")
    with pytest.raises(ValueError, match=r"got 'many'"):
        _examples_from_environment()
    monkeypatch.setenv("STACKED_KERAS_FUZZ_EXAMPLES", "7")
    assert _examples_from_environment() == 7
    monkeypatch.delenv("STACKED_KERAS_FUZZ_EXAMPLES")
    assert _examples_from_environment() == 50

"""`lint --fix` on recurrent stacks built in loops (issue 12, item 5).

A loop that stacks recurrent layers needs every layer but the last to return
sequences; the fixer writes that with the loop's own index and bound
(`return_sequences=i < depth - 1`), or says why it cannot and prints the form
to write. Loops that are already right are left alone.
"""

from __future__ import annotations

import ast
import json
import textwrap

import pytest

from stacked_keras.lint.fix_source import rewrite_notebook, rewrite_python_source
from stacked_keras.lint.from_source import graphs_from_notebook, graphs_from_python
from stacked_keras.lint.rules import check

_HEAD = "import keras\nmodel = keras.Sequential([keras.Input((6, 3))])\n"
_TAIL = "model.add(keras.layers.Dense(1))\n"


def _findings(source: str) -> list:
    return [f for graph in graphs_from_python(source, path="model.py") for f in check(graph)]


def _problems(source: str) -> list:
    """The errors and warnings the linter reports (info findings such as SK203 aside)."""
    return [f for f in _findings(source) if f.severity in ("error", "warning")]


def _fix(source: str):
    return rewrite_python_source(source, _findings(source))


# name -> (loop as written, loop once fixed)
FIXED = {
    "range_of_a_name": (
        "depth = 3\nfor i in range(depth):\n    model.add(keras.layers.LSTM(8))\n",
        "depth = 3\nfor i in range(depth):\n    model.add(keras.layers.LSTM(8, return_sequences=i < depth - 1))\n",
    ),
    "range_of_a_literal_with_false_written": (
        "for i in range(3):\n    model.add(keras.layers.LSTM(8, return_sequences=False))  # stack\n",
        "for i in range(3):\n    model.add(keras.layers.LSTM(8, return_sequences=i < 2))  # stack\n",
    ),
    "range_with_a_start": (
        "n = 4\nfor i in range(1, n):\n    model.add(keras.layers.GRU(8))\n",
        "n = 4\nfor i in range(1, n):\n    model.add(keras.layers.GRU(8, return_sequences=i < n - 1))\n",
    ),
    "range_of_len": (
        "units = [16, 8]\nfor k in range(len(units)):\n    model.add(keras.layers.LSTM(units[k]))\n",
        "units = [16, 8]\nfor k in range(len(units)):\n"
        "    model.add(keras.layers.LSTM(units[k], return_sequences=k < len(units) - 1))\n",
    ),
    "underscore_gets_an_index": (
        "for _ in range(3):\n    model.add(keras.layers.LSTM(8))\n",
        "for i in range(3):\n    model.add(keras.layers.LSTM(8, return_sequences=i < 2))\n",
    ),
    "enumerate": (
        "units = [16, 8]\nfor i, u in enumerate(units):\n    model.add(keras.layers.LSTM(u, dropout=0.1))\n",
        "units = [16, 8]\nfor i, u in enumerate(units):\n"
        "    model.add(keras.layers.LSTM(u, dropout=0.1, return_sequences=i < len(units) - 1))\n",
    ),
    "enumerate_from_one": (
        "units = [16, 8]\nfor n, u in enumerate(units, 1):\n    model.add(keras.layers.LSTM(u))\n",
        "units = [16, 8]\nfor n, u in enumerate(units, 1):\n"
        "    model.add(keras.layers.LSTM(u, return_sequences=n < len(units)))\n",
    ),
    "enumerate_from_start_two": (
        "units = [16, 8]\nfor n, u in enumerate(units, start=2):\n    model.add(keras.layers.LSTM(u))\n",
        "units = [16, 8]\nfor n, u in enumerate(units, start=2):\n"
        "    model.add(keras.layers.LSTM(u, return_sequences=n < len(units) + 1))\n",
    ),
    "no_index_gets_enumerate": (
        "units = [16, 8, 4]\nfor u in units:\n    model.add(keras.layers.LSTM(u))\n",
        "units = [16, 8, 4]\nfor i, u in enumerate(units):\n"
        "    model.add(keras.layers.LSTM(u, return_sequences=i < len(units) - 1))\n",
    ),
    "no_index_and_i_taken": (
        "i = 0\nunits = [16, 8]\nfor u in units:\n    model.add(keras.layers.LSTM(u))\n",
        "i = 0\nunits = [16, 8]\nfor layer_index, u in enumerate(units):\n"
        "    model.add(keras.layers.LSTM(u, return_sequences=layer_index < len(units) - 1))\n",
    ),
    "zip_without_flags": (
        "units = [16, 8]\nrates = [0.1, 0.2]\nfor u, r in zip(units, rates):\n"
        "    model.add(keras.layers.LSTM(u, dropout=r))\n",
        "units = [16, 8]\nrates = [0.1, 0.2]\nfor i, (u, r) in enumerate(zip(units, rates)):\n"
        "    model.add(keras.layers.LSTM(u, dropout=r, return_sequences=i < len(units) - 1))\n",
    ),
    "zip_with_the_users_flags": (
        "units = [16, 8, 4]\nflags = [False, False, False]\nfor u, seq in zip(units, flags):\n"
        "    model.add(keras.layers.LSTM(u, return_sequences=seq))\n",
        "units = [16, 8, 4]\nflags = [True, True, False]\nfor u, seq in zip(units, flags):\n"
        "    model.add(keras.layers.LSTM(u, return_sequences=seq))\n",
    ),
    "bidirectional_in_the_loop": (
        "for i in range(2):\n    model.add(keras.layers.Bidirectional(keras.layers.LSTM(8)))\n",
        "for i in range(2):\n"
        "    model.add(keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=i < 1)))\n",
    ),
    "one_per_line_arguments": (
        "for i in range(2):\n    model.add(keras.layers.LSTM(\n        8,\n        dropout=0.1,\n    ))\n",
        "for i in range(2):\n    model.add(keras.layers.LSTM(\n        8,\n        dropout=0.1,\n"
        "        return_sequences=i < 1,\n    ))\n",
    ),
    "helper_with_a_parameter_called_in_the_loop": (
        "def block(units, seq=False):\n    return keras.layers.LSTM(units, return_sequences=seq)\n"
        "for i in range(3):\n    model.add(block(8))\n",
        "def block(units, seq=False):\n    return keras.layers.LSTM(units, return_sequences=seq)\n"
        "for i in range(3):\n    model.add(block(8, seq=i < 2))\n",
    ),
    "recurrent_layer_after_the_loop": (
        "for i in range(2):\n    model.add(keras.layers.LSTM(8))\nmodel.add(keras.layers.LSTM(4))\n",
        "for i in range(2):\n    model.add(keras.layers.LSTM(8, return_sequences=True))\n"
        "model.add(keras.layers.LSTM(4))\n",
    ),
}


@pytest.mark.parametrize("name", sorted(FIXED))
def test_loop_is_fixed_with_the_loops_own_index(name):
    loop, expected = FIXED[name]
    source = _HEAD + loop + _TAIL
    assert [f.code for f in _problems(source)].count("SK101") >= 1
    rewrite = _fix(source)
    assert rewrite.skipped == []
    assert rewrite.text == _HEAD + expected + _TAIL
    ast.parse(rewrite.text)
    assert _problems(rewrite.text) == []


def test_loop_in_a_function_of_unknown_depth():
    source = textwrap.dedent("""\
        import keras

        def build(depth, units=32):
            model = keras.Sequential([keras.Input((20, 4))])
            for i in range(depth):
                model.add(keras.layers.LSTM(units))
            model.add(keras.layers.Dense(1))
            return model
    """)
    rewrite = _fix(source)
    assert rewrite.text == source.replace("LSTM(units)", "LSTM(units, return_sequences=i < depth - 1)")
    assert rewrite.skipped == [] and _problems(rewrite.text) == []


def test_functional_loop():
    source = textwrap.dedent("""\
        import keras
        inputs = keras.Input((6, 3))
        x = inputs
        for i in range(3):
            x = keras.layers.GRU(8)(x)
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """)
    rewrite = _fix(source)
    assert rewrite.text == source.replace("GRU(8)", "GRU(8, return_sequences=i < 2)")
    assert _problems(rewrite.text) == []


# Loops that are already right (and tutorial-style stacks): no warning, nothing to change.
RIGHT = {
    "index_condition": "depth = 3\nfor i in range(depth):\n"
                       "    model.add(keras.layers.LSTM(8, return_sequences=i < depth - 1))\n" + _TAIL,
    "not_equal_condition": "depth = 3\nfor i in range(depth):\n"
                           "    model.add(keras.layers.LSTM(8, return_sequences=(i != depth - 1)))\n" + _TAIL,
    "true_then_a_final_lstm": "for units in [32, 32]:\n"
                              "    model.add(keras.layers.LSTM(units, return_sequences=True))\n"
                              "model.add(keras.layers.LSTM(16))\n" + _TAIL,
    "enumerate_condition": "sizes = (64, 32, 16)\nfor n, size in enumerate(sizes):\n"
                           "    model.add(keras.layers.GRU(size, return_sequences=n + 1 < len(sizes)))\n" + _TAIL,
    "hands_on_ml_style_gru": "for _ in range(2):\n"
                                    "    model.add(keras.layers.GRU(20, return_sequences=True))\n"
                                    "model.add(keras.layers.GRU(20))\n" + _TAIL,
    "branch_on_the_last_iteration": "depth = 3\nfor i in range(depth):\n    if i < depth - 1:\n"
                                    "        model.add(keras.layers.LSTM(8, return_sequences=True))\n"
                                    "    else:\n        model.add(keras.layers.LSTM(8))\n" + _TAIL,
}


@pytest.mark.parametrize("name", sorted(RIGHT))
def test_loops_that_are_right_do_not_warn_and_are_not_touched(name):
    source = _HEAD + RIGHT[name]
    findings = _findings(source)
    assert [f for f in findings if f.severity in ("error", "warning")] == []
    rewrite = rewrite_python_source(source, findings)
    assert rewrite.text == source and rewrite.applied == []


def test_function_of_unknown_depth_that_is_right_does_not_warn():
    source = textwrap.dedent("""\
        import keras

        def build(depth):
            model = keras.Sequential([keras.Input((20, 4))])
            for i in range(depth):
                model.add(keras.layers.LSTM(32, return_sequences=i < depth - 1))
            model.add(keras.layers.Dense(1))
            return model
    """)
    assert _problems(source) == []


# name -> (loop, words of the reason, the pattern printed)
CANNOT = {
    "while_loop": ("k = 0\nwhile k < 3:\n    model.add(keras.layers.LSTM(8))\n    k += 1\n",
                   "while loop", "return_sequences=i < n - 1"),
    "generator_function": ("def sizes():\n    yield 16\n    yield 8\nfor u in sizes():\n"
                           "    model.add(keras.layers.LSTM(u))\n",
                           "sizes(), a generator", "return_sequences=i < n - 1"),
    "generator_expression": ("for u in (s * 2 for s in [8, 4]):\n    model.add(keras.layers.LSTM(u))\n",
                             "a generator", "return_sequences=i < n - 1"),
    "reversed": ("for u in reversed([8, 16]):\n    model.add(keras.layers.LSTM(u))\n",
                 "reversed([8, 16]), a generator or iterator", "return_sequences=i < n - 1"),
    "range_with_a_step": ("for i in range(0, 6, 2):\n    model.add(keras.layers.LSTM(8))\n",
                          "a range with a step", "return_sequences=i < n - 1"),
    "helper_without_a_parameter": ("def block(units):\n    return keras.layers.LSTM(units)\n"
                                   "for i in range(3):\n    model.add(block(8))\n",
                                   "built by block(), which takes no argument", "return_sequences=i < 2"),
    "flags_passed_in": ("def add_stack(model, units, flags):\n    for u, seq in zip(units, flags):\n"
                        "        model.add(keras.layers.LSTM(u, return_sequences=seq))\n"
                        "add_stack(model, [8, 4], [False, False])\n",
                        "flags, the loop's list of flags", "flags = [True, True, ..., False]"),
    "nested_loops": ("for b in range(2):\n    for i in range(2):\n        model.add(keras.layers.LSTM(8))\n",
                     "runs more than once for one model", "return_sequences=k < total - 1"),
}


@pytest.mark.parametrize("name", sorted(CANNOT))
def test_loop_that_cannot_be_fixed_says_why_and_the_pattern(name):
    loop, why, pattern = CANNOT[name]
    source = _HEAD + loop + _TAIL
    rewrite = _fix(source)
    assert rewrite.text == source and rewrite.applied == []
    assert rewrite.skipped
    for _, reason in rewrite.skipped:
        assert why in reason and pattern in reason


def test_sk101_fix_sentence_for_a_loop_suggests_the_index_condition():
    (finding,) = [f for f in _findings(_HEAD + FIXED["range_of_a_name"][0] + _TAIL) if f.code == "SK101"][:1]
    assert "return_sequences=i < n - 1" in finding.fix
    assert "Set return_sequences=True" not in finding.fix
    # When something recurrent follows the loop, True on every loop layer is the fix.
    after = [f for f in _findings(_HEAD + FIXED["recurrent_layer_after_the_loop"][0] + _TAIL) if f.code == "SK101"]
    assert after and all(f.fix.startswith("Set return_sequences=True") for f in after)


def test_cli_says_why_a_loop_is_not_fixed(tmp_path, capsys):
    from stacked_keras.cli import main

    path = tmp_path / "model.py"
    source = _HEAD + CANNOT["while_loop"][0] + _TAIL
    path.write_text(source)
    main(["lint", "--fix", str(path)])
    out = capsys.readouterr().out
    assert "Fixed 0 SK101 findings in 0 files." in out
    assert f"{path}:5:15: not fixed: the layer is built in a while loop" in out
    assert "write for i in range(n): ... return_sequences=i < n - 1" in out
    assert path.read_text() == source


def test_cli_fixes_a_loop_in_place(tmp_path, capsys):
    from stacked_keras.cli import main

    path = tmp_path / "model.py"
    loop, expected = FIXED["no_index_gets_enumerate"]
    path.write_text(_HEAD + loop + _TAIL)
    assert main(["lint", "--fix", "--select", "SK1", str(path)]) == 0
    assert "Fixed 1 SK101 finding in 1 file." in capsys.readouterr().out
    assert path.read_text() == _HEAD + expected + _TAIL


def _notebook(cells: list[str]) -> str:
    return json.dumps({
        "cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Deep LSTM\n"]}] + [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": cell.splitlines(keepends=True)} for cell in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 4}, indent=1, sort_keys=True) + "\n"


def _fix_notebook(cells: list[str]):
    """Lints and fixes a notebook of a markdown cell and `cells`; returns the rewrite and the last cell's source."""
    text = _notebook(cells)
    findings = [f for g in graphs_from_notebook(text, path="nb.ipynb") for f in check(g)]
    rewrite = rewrite_notebook(text, findings)
    return rewrite, "".join(json.loads(rewrite.text)["cells"][-1]["source"])


def test_loop_in_a_notebook_cell_is_fixed_in_place_and_the_notebook_stays_valid():
    import nbformat

    cells = ["import keras\ndepth = 3\n",
             "model = keras.Sequential([keras.Input((6, 3))])\nfor i in range(depth):\n"
             "    model.add(keras.layers.LSTM(8))\nmodel.add(keras.layers.Dense(1))\n"]
    rewrite, fixed_cell = _fix_notebook(cells)
    assert rewrite.skipped == []
    nbformat.validate(nbformat.reads(rewrite.text, as_version=4))
    assert fixed_cell == cells[1].replace("LSTM(8)", "LSTM(8, return_sequences=i < depth - 1)")
    assert rewrite.text == _notebook([cells[0], fixed_cell])  # nothing else in the file changed
    after = [f for g in graphs_from_notebook(rewrite.text, path="nb.ipynb") for f in check(g)]
    assert [f for f in after if f.severity in ("error", "warning")] == []


def test_loop_without_index_in_a_notebook_cell_gets_enumerate():
    cells = ["import keras\nunits = [16, 8]\n",
             "model = keras.Sequential([keras.Input((6, 3))])\nfor u in units:\n"
             "    model.add(keras.layers.GRU(u))\nmodel.add(keras.layers.Dense(1))\n"]
    _, fixed_cell = _fix_notebook(cells)
    assert fixed_cell == cells[1].replace("for u in units:", "for i, u in enumerate(units):").replace(
        "GRU(u)", "GRU(u, return_sequences=i < len(units) - 1)")


# -- in Keras: the fixed source builds, and agrees with fix(model) on the live model ----------------

@pytest.mark.parametrize("name", ["range_of_a_name", "no_index_gets_enumerate", "zip_with_the_users_flags",
                                  "recurrent_layer_after_the_loop"])
def test_fixed_loop_builds_in_keras_and_agrees_with_fix_model(name):
    import keras

    import stacked_keras

    loop, _ = FIXED[name]
    fixed = _fix(_HEAD + loop + _TAIL).text
    namespace: dict = {}
    exec(compile(fixed, "model.py", "exec"), namespace)  # noqa: S102 - our own table
    built = namespace["model"]
    assert keras.ops.shape(built(keras.ops.zeros((2, 6, 3)))) == (2, 1)
    from_source = [layer.return_sequences for layer in built.layers if hasattr(layer, "return_sequences")]
    assert from_source[-1] is False and all(from_source[:-1])
    assert [f for f in stacked_keras.lint(built).findings if f.severity in ("error", "warning")] == []

    # The same loop, unfixed, as a live model Keras has not built yet (it would refuse to).
    namespace = {}
    exec(compile((_HEAD + loop + _TAIL).replace("[keras.Input((6, 3))]", "[]"), "m.py", "exec"), namespace)
    live = stacked_keras.fix(namespace["model"])
    assert [layer.return_sequences for layer in live.layers if hasattr(layer, "return_sequences")] == from_source
    live.build((None, 6, 3))
    assert keras.ops.shape(live(keras.ops.zeros((2, 6, 3)))) == (2, 1)


def test_cli_fixes_a_loop_in_a_notebook_in_place(tmp_path, capsys):
    import nbformat

    from stacked_keras.cli import main

    cells = ["import keras\n", "model = keras.Sequential([keras.Input((6, 3))])\nfor _ in range(2):\n"
                               "    model.add(keras.layers.LSTM(8))\nmodel.add(keras.layers.Dense(1))\n"]
    path = tmp_path / "train.ipynb"
    path.write_text(_notebook(cells))
    assert main(["lint", "--fix", "--select", "SK1", str(path)]) == 0
    assert "Fixed 1 SK101 finding in 1 file." in capsys.readouterr().out
    fixed = cells[1].replace("for _ in", "for i in").replace("LSTM(8)", "LSTM(8, return_sequences=i < 1)")
    assert path.read_text() == _notebook([cells[0], fixed])
    nbformat.validate(nbformat.read(str(path), as_version=4))

"""Every bad argument gets one clear message: the argument, the value received, what is accepted.

`tests/test_builders.py` covers the builders' main refusals (units, cell,
per-layer list lengths, rates, heads, input shapes, cell_kwargs); this module
covers the rest of the builders' arguments, and every argument of the
`stacked-keras` command line (`build`, `demo`, `lint`, `rule`, the verb
itself), run in process through `stacked_keras.cli.main`. A command-line
error is one `stacked-keras...: error: ...` line on standard error, exit
status 2, never a traceback.
"""

from __future__ import annotations

import pytest

from stacked_keras.builders import deep_gru, deep_lstm, deep_rnn, normalize_stack_arguments
from stacked_keras.cli import main

_NUMERIC = {"input_shape": (None, 3)}


@pytest.mark.parametrize(
    "cell, units, kwargs, message",
    [
        ("lstm", True, _NUMERIC,
         r"units must be a positive integer \(one layer\) or a list of positive integers .*got True"),
        ("lstm", [True, 4], _NUMERIC, r"units\[0\] must be a positive integer, got True"),
        ("lstm", None, _NUMERIC, r"units must be a positive integer .*got None"),
        (None, [4], _NUMERIC, r"cell must be one of 'simple_rnn', 'lstm', 'gru' or a list of them .*got None"),
        ("lstm", [4], {"input_shape": "6x3"}, r"input_shape must be \(timesteps, features\).*got '6x3'"),
        ("lstm", [4], {"input_shape": (6.0, 3)},
         r"input_shape\[0\] \(timesteps\) must be a positive integer, got 6.0"),
        ("lstm", [4], {"vocab_size": 10.5}, r"vocab_size must be an integer >= 2 .*got 10.5"),
        ("lstm", [4], {"vocab_size": 10, "embedding_dim": 0},
         r"embedding_dim must be a positive integer, got 0"),
        ("lstm", [4], {"vocab_size": 10, "mask_zero": "yes"}, r"mask_zero must be True or False, got 'yes'"),
        ("lstm", [4, 4], {**_NUMERIC, "bidirectional": [True, 1]},
         r"bidirectional\[1\] must be True or False, got 1"),
        ("lstm", [4, 4], {**_NUMERIC, "layer_norm": "between"}, r"layer_norm must be True or False, got 'between'"),
        ("lstm", [4, 4], {**_NUMERIC, "layer_norm": [True, None]},
         r"layer_norm\[1\] must be True or False, got None"),
        ("lstm", [4, 4], {**_NUMERIC, "residual": 1}, r"residual must be True or False, got 1"),
        ("lstm", [4], {**_NUMERIC, "compile": "no"}, r"compile must be True or False, got 'no'"),
        ("lstm", [4, 4], {**_NUMERIC, "recurrent_dropout": [0.1, "0.2"]},
         r"recurrent_dropout\[1\] must be a number in \[0, 1\).*got '0.2'"),
        ("lstm", [4], {**_NUMERIC, "dropout": float("nan")}, r"dropout must be a number in \[0, 1\).*got nan"),
        ("lstm", [4, 4], {**_NUMERIC, "cell_kwargs": [{}, "relu"]}, r"cell_kwargs\[1\] must be a dict"),
        ("gru", [4], {**_NUMERIC, "cell_kwargs": {"unit_forget_bias": True}},
         r"cell_kwargs has 'unit_forget_bias', which a GRU layer \(gru\) does not accept; accepted keys:"),
        ("lstm", [4], {**_NUMERIC, "head": "Binary"},
         r"head must be None or one of 'regression', 'binary', 'multiclass', 'tagger', got 'Binary'"),
        ("lstm", [4], {**_NUMERIC, "head": "regression", "num_classes": 2.5},
         r"num_classes must be a positive integer, got 2.5"),
        ("lstm", [4], {**_NUMERIC, "output": None, "head": "tagger", "num_classes": True},
         r"head='tagger' needs num_classes, an integer >= 2 .*got True"),
        ("lstm", [4], {**_NUMERIC, "name": 7}, r"name must be a non-empty string or None, got 7"),
    ],
)
def test_builder_argument_errors_name_the_argument_value_and_accepted_values(cell, units, kwargs, message):
    with pytest.raises(ValueError, match=message):
        normalize_stack_arguments(cell, units, **kwargs)
    with pytest.raises(ValueError, match=message):
        deep_rnn(cell, units, **kwargs)


@pytest.mark.parametrize("builder", [deep_lstm, deep_gru])
def test_misspelt_builder_argument_lists_the_accepted_arguments(builder):
    with pytest.raises((TypeError, ValueError), match=r"return_sequence.*return_sequences|accepted.*input_shape"):
        builder([4, 4], input_shape=(None, 3), return_sequence=True)


# -- the command line -----------------------------------------------------------------------

_BUILD = ["build", "lstm", "--units", "4", "--input-shape", "6", "3"]


def _error_line(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines() if "error:" in line]
    assert len(lines) == 1, err
    return lines[0]


@pytest.mark.parametrize(
    "argv, expected",
    [
        (["build", "transformer", "--units", "4", "--input-shape", "6", "3"],
         ["argument cell", "'transformer'", "'lstm', 'gru', 'simple_rnn'"]),
        (["build", "lstm", "--input-shape", "6", "3"], ["--units", "required"]),
        (["build", "lstm", "--units", "four", "--input-shape", "6", "3"], ["--units", "invalid int value: 'four'"]),
        (["build", "lstm", "--units", "-4", "--input-shape", "6", "3"],
         ["--units[0] must be a positive integer, got -4"]),
        (["build", "lstm", "--units", "4", "--input-shape", "6"],
         ["--input-shape must be (timesteps, features)", "got (6,)"]),
        (["build", "lstm", "--units", "4", "--input-shape", "6", "3", "7"],
         ["--input-shape must be (timesteps, features)", "got (6, 3, 7)"]),
        (["build", "lstm", "--units", "4", "--input-shape", "0", "3"],
         ["--input-shape[0] (timesteps) must be a positive integer, got 0"]),
        (["build", "lstm", "--units", "4", "--input-shape", "none", "none"],
         ["--input-shape[1] (features) must be a positive integer, got None"]),
        (["build", "lstm", "--units", "4", "--vocab-size", "lots"], ["--vocab-size", "invalid int value: 'lots'"]),
        (["build", "lstm", "--units", "4", "--vocab-size", "1"], ["--vocab-size must be an integer >= 2", "got 1"]),
        (["build", "lstm", "--units", "4", "--vocab-size", "10", "--input-shape", "5", "3"],
         ["with --vocab-size", "--input-shape must be (timesteps,) or None", "got (5, 3)"]),
        ([*_BUILD, "--dropout", "half"], ["--dropout", "invalid float value: 'half'"]),
        ([*_BUILD, "--dropout", "1.5"], ["--dropout must be a number in [0, 1)", "got 1.5"]),
        ([*_BUILD, "--head", "softmax"],
         ["argument --head", "'softmax'", "'regression', 'binary', 'multiclass', 'tagger'"]),
        ([*_BUILD, "--head", "multiclass"], ["--head='multiclass' needs --num-classes, an integer >= 2", "got None"]),
        ([*_BUILD, "--head", "multiclass", "--num-classes", "1"], ["needs --num-classes, an integer >= 2", "got 1"]),
        ([*_BUILD, "--head", "regression", "--num-classes", "0"], ["--num-classes must be a positive integer, got 0"]),
        ([*_BUILD, "--num-classes", "3"], ["--num-classes applies only with a --head", "got --num-classes=3"]),
        ([*_BUILD, "--output", "all"], ["argument --output", "'all'", "'last', 'sequence'"]),
        ([*_BUILD, "--head", "tagger", "--num-classes", "3", "--output", "last"],
         ["--head='tagger'", "needs --output='sequence'", "got --output='last'"]),
        (["demo", "--epochs", "-1"], ["epochs must be a positive integer, got -1"]),
        (["demo", "--epochs", "many"], ["--epochs", "invalid int value: 'many'"]),
        (["demo", "--seed", "abc"], ["--seed", "invalid int value: 'abc'"]),
        (["lint", "--fail-on", "fatal"], ["argument --fail-on", "'fatal'", "'error', 'warning', 'info'"]),
        (["lint", "--format", "xml"], ["argument --format", "'xml'", "'text', 'json', 'sarif'"]),
        (["lint", "--select", "XX9"], ["--select got 'XX9'", "known codes: SK001"]),
        (["lint", "--ignore", "12"], ["--ignore got '12'", "known codes: SK001"]),
        (["rule", "SK999"], ["rule got 'SK999'", "known codes: SK001"]),
        (["frobnicate"], ["argument COMMAND", "'frobnicate'", "'demo', 'build', 'lint', 'rule', 'rules'"]),
    ],
)
def test_command_line_errors_name_the_argument_value_and_accepted_values(capsys, argv, expected):
    line = _error_line(capsys, argv)
    assert line.startswith("stacked-keras")
    for piece in expected:
        assert piece in line, line


def test_export_to_an_existing_directory_names_the_flag(capsys, tmp_path):
    (tmp_path / "taken").mkdir()
    line = _error_line(capsys, [*_BUILD, "--export", str(tmp_path / "taken")])
    assert line == f"stacked-keras: error: --export {str(tmp_path / 'taken')!r} already exists; " \
                   "pass --overwrite to replace it"
    line = _error_line(capsys, ["demo", "--export-dir", str(tmp_path / "taken")])
    assert "--export-dir" in line and "pass --overwrite" in line


def test_export_with_a_missing_parent_directory_names_the_path(capsys, tmp_path):
    target = tmp_path / "missing" / "model"
    line = _error_line(capsys, [*_BUILD, "--export", str(target)])
    assert str(target) in line and "does not exist; create it first" in line


def test_report_to_an_unwritable_file_names_the_flag(capsys, tmp_path):
    source = tmp_path / "model.py"
    source.write_text("import keras\n")
    target = tmp_path / "missing" / "report.txt"
    line = _error_line(capsys, ["lint", "--output", str(target), str(source)])
    assert f"--output cannot write {target}" in line


@pytest.mark.parametrize("value", ["", ",", " , "])
def test_empty_select_is_refused_rather_than_checking_nothing(capsys, tmp_path, value):
    source = tmp_path / "broken.py"
    source.write_text("import keras\nfrom keras import layers\n"
                      "model = keras.Sequential([layers.LSTM(8), layers.LSTM(4)])\n")
    line = _error_line(capsys, ["lint", "--select", value, str(source)])
    assert "--select" in line and "known codes: SK001" in line


def test_negative_demo_seed_names_the_argument_and_the_value(capsys):
    line = _error_line(capsys, ["demo", "--seed", "-5"])
    assert "seed" in line and "got -5" in line


def test_export_to_an_existing_file_names_the_flag(capsys, tmp_path):
    taken = tmp_path / "model.txt"
    taken.write_text("not a directory")
    line = _error_line(capsys, [*_BUILD, "--export", str(taken)])
    assert f"--export {str(taken)!r}" in line and "existing file" in line

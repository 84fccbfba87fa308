"""Snippets without imports: a public Keras name the program never binds is read as Keras's, and the finding says so."""

from __future__ import annotations

import json
import textwrap

import pytest

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.fix_source import rewrite_python_source
from stacked_keras.lint.from_source import graphs_from_notebook, graphs_from_python
from stacked_keras.lint.rules import check

SO_SNIPPET = """
model = Sequential()
model.add(LSTM(100, input_shape=(t, f)))
model.add(LSTM(100))
model.add(Dense(1))
model.compile(loss="mse", optimizer="adam")
"""


def findings(source: str) -> list[Finding]:
    return [f for graph in graphs_from_python(textwrap.dedent(source)) for f in check(graph)]


def codes(source: str) -> list[str]:
    return [f.code for f in findings(source)]


def notebook(*cells: str) -> str:
    return json.dumps({"cells": [{"cell_type": "code", "source": textwrap.dedent(cell)} for cell in cells],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5})


def test_stack_overflow_snippet_without_imports_is_sk101_with_the_assumption():
    [finding] = findings(SO_SNIPPET)
    assert (finding.code, finding.line, finding.layer) == ("SK101", 3, "lstm")
    assert finding.message.endswith(
        "Assuming `Sequential` is keras.Sequential, `LSTM` is keras.layers.LSTM and `Dense` is "
        "keras.layers.Dense: the file does not import them.")


def test_correct_snippet_without_imports_gives_nothing():
    assert findings("""
        model = Sequential()
        model.add(Embedding(10000, 64))
        model.add(LSTM(64, return_sequences=True))
        model.add(Dropout(0.2))
        model.add(LSTM(32))
        model.add(Dense(1, activation="sigmoid"))
    """) == []


def test_a_user_class_named_lstm_keeps_todays_behaviour():
    assert findings("""
        class LSTM:
            def __init__(self, units, input_shape=None):
                self.units = units

        model = Sequential()
        model.add(LSTM(100, input_shape=(t, f)))
        model.add(LSTM(100))
    """) == []


@pytest.mark.parametrize("binding", [
    "from mylib import *",
    "from .models import *",
    "from mylib import LSTM",
    "from torch.nn import LSTM",
    "LSTM = make_layer",
    "def LSTM(units, **kwargs):\n    return None",
])
def test_a_name_bound_or_star_imported_from_elsewhere_is_not_assumed(binding):
    # The binding may even come after the use: the name is bound somewhere in the file.
    assert findings(SO_SNIPPET + binding + "\n") == []
    assert findings(binding + "\n" + SO_SNIPPET) == []


def test_a_layer_imported_from_the_users_module_is_not_keras_in_a_keras_model():
    # Before: the unknown `mylib.LSTM(100)` was named "LSTM" and read as Keras's LSTM (SK101).
    assert findings("from keras.models import Sequential\nfrom mylib import LSTM\n" + SO_SNIPPET) == []
    assert findings("import keras, mylib\nm = keras.Sequential([mylib.GRU(8), mylib.GRU(4)])") == []


def test_star_import_from_keras_works_as_today_without_a_note():
    [finding] = findings("from keras.layers import *\nfrom keras.models import Sequential\n" + SO_SNIPPET)
    assert finding.code == "SK101" and "Assuming" not in finding.message


def test_a_star_import_from_another_keras_module_leaves_the_layers_assumed():
    [finding] = findings("from keras.models import *\n" + SO_SNIPPET)
    assert finding.message.endswith(
        "Assuming `LSTM` is keras.layers.LSTM and `Dense` is keras.layers.Dense: the file does not import them.")


def test_partial_imports_assume_only_the_missing_name():
    [finding] = findings("from keras.models import Sequential\nfrom keras.layers import Dense\n" + SO_SNIPPET)
    assert finding.message.endswith("Assuming `LSTM` is keras.layers.LSTM: the file does not import it.")


def test_fully_imported_file_message_is_unchanged():
    imported = findings("from keras.models import Sequential\nfrom keras.layers import LSTM, Dense\n" + SO_SNIPPET)
    assumed = findings(SO_SNIPPET)
    assert assumed[0].message.startswith(imported[0].message + " Assuming ")
    assert imported[0].message.endswith("is broken.")


def test_functional_snippet_and_bidirectional_without_imports():
    [finding] = findings("""
        inputs = Input(shape=(30, 4))
        x = Bidirectional(LSTM(32))(inputs)
        x = LSTM(16)(x)
        outputs = Dense(1)(x)
        model = Model(inputs, outputs)
    """)
    assert finding.code == "SK101" and finding.line == 3
    assert "`Bidirectional` is keras.layers.Bidirectional" in finding.message
    assert "`Model` is keras.Model" in finding.message


def test_module_names_without_imports():
    [finding] = findings("""
        model = tf.keras.Sequential([
            tf.keras.layers.GRU(32, input_shape=(None, 8)),
            tf.keras.layers.GRU(32),
            layers.Dense(1),
        ])
    """)
    assert finding.code == "SK101"
    assert finding.message.endswith(
        "Assuming `tf` is the tensorflow module and `layers` is the keras.layers module: the file does not import "
        "them.")


def test_only_the_names_a_model_was_built_with_are_named():
    found = findings("""
        import keras
        good = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])
        other = Sequential([GRU(8), GRU(4)])
    """)
    by_model = {f.model: f.message for f in found}
    assert "Assuming" not in by_model["good"]
    assert by_model["other"].endswith(
        "Assuming `Sequential` is keras.Sequential and `GRU` is keras.layers.GRU: the file does not import them.")


def test_names_used_in_other_ways_are_harmless():
    assert findings("""
        print(LSTM)
        kinds = [Dense, Dropout]
        if isinstance(layer, LSTM):
            pass
    """) == []
    assert graphs_from_python("model = MyLSTM(8)\nother = NotKeras()") == []


def test_notebook_names_from_run_magic_are_assumed():
    text = notebook("%run helpers.py\n", SO_SNIPPET)
    [graph] = graphs_from_notebook(text, "nb.ipynb")
    [finding] = check(graph)
    assert (finding.code, finding.cell, finding.line) == ("SK101", 2, 3)
    assert finding.message.endswith("the notebook does not import them.")


def test_notebook_name_bound_in_any_cell_counts_as_bound():
    text = notebook(SO_SNIPPET, "from mylib import LSTM\n")
    assert [f for graph in graphs_from_notebook(text) for f in check(graph)] == []
    text = notebook("from mylib import *\n", SO_SNIPPET)
    assert graphs_from_notebook(text) == []


def test_fix_rewrites_a_snippet_without_imports():
    rewrite = rewrite_python_source(SO_SNIPPET, findings(SO_SNIPPET))
    assert len(rewrite.applied) == 1 and rewrite.skipped == []
    assert rewrite.text == SO_SNIPPET.replace("input_shape=(t, f))", "input_shape=(t, f), return_sequences=True)")
    assert findings(rewrite.text) == []


@pytest.mark.parametrize("snippet", [
    # Keras examples, bidirectional LSTM text classification, pasted without its imports.
    """
    inputs = keras.Input(shape=(None,), dtype="int32")
    x = layers.Embedding(max_features, 128)(inputs)
    x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
    x = layers.Bidirectional(layers.LSTM(64))(x)
    outputs = layers.Dense(1, activation="sigmoid")(x)
    model = keras.Model(inputs, outputs)
    model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
    """,
    # Deep Learning with Python, ch. 10: stacked GRUs with recurrent dropout.
    """
    inputs = keras.Input(shape=(sequence_length, raw_data.shape[-1]))
    x = layers.GRU(32, recurrent_dropout=0.5, return_sequences=True)(inputs)
    x = layers.GRU(32, recurrent_dropout=0.5)(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(1)(x)
    model = keras.Model(inputs, outputs)
    """,
    # TensorFlow time-series tutorial: an LSTM predicting at every step, and a single-shot one.
    """
    lstm_model = tf.keras.models.Sequential([
        tf.keras.layers.LSTM(32, return_sequences=True),
        tf.keras.layers.Dense(units=1)
    ])
    multi_lstm_model = tf.keras.Sequential([
        tf.keras.layers.LSTM(32, return_sequences=False),
        tf.keras.layers.Dense(OUT_STEPS*num_features, kernel_initializer=tf.initializers.zeros()),
        tf.keras.layers.Reshape([OUT_STEPS, num_features])
    ])
    """,
    # Hands-On ML ch. 15: a sequence-to-sequence LSTM with TimeDistributed.
    """
    model = Sequential([
        LSTM(20, return_sequences=True, input_shape=[None, 1]),
        LSTM(20, return_sequences=True),
        TimeDistributed(Dense(10))
    ])
    """,
])
def test_tutorial_code_pasted_without_imports_does_not_warn(snippet):
    assert [(f.code, f.severity) for f in findings(snippet) if f.severity != "info"] == []


def test_the_front_end_is_freed_without_the_garbage_collector_when_names_are_assumed():
    import gc
    import weakref

    from stacked_keras.lint.from_source import analyse_python

    gc.disable()
    try:
        front_end, graphs = analyse_python(SO_SNIPPET)
        assert graphs[0].assumed
        alive = weakref.ref(front_end)
        del front_end, graphs
        assert alive() is None
    finally:
        gc.enable()


def test_a_model_subclass_of_an_unimported_model_says_so():
    [finding] = findings("""
        class Net(Model):
            def __init__(self):
                super().__init__()
                self.first = LSTM(8)
                self.second = LSTM(4)

            def call(self, x):
                return self.second(self.first(x))
    """)
    assert finding.code == "SK101"
    assert finding.message.endswith(
        "Assuming `Model` is keras.Model and `LSTM` is keras.layers.LSTM: the file does not import them.")

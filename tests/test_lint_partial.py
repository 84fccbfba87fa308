"""`functools.partial` of a Keras layer: the layers it builds lint (and `lint --fix`) as the Keras layer."""

from __future__ import annotations

import textwrap

import pytest

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.fix_source import rewrite_python_source
from stacked_keras.lint.from_source import graphs_from_python
from stacked_keras.lint.rules import check

BROKEN = """
from functools import partial
import keras

RNN = partial(keras.layers.LSTM, 64)
model = keras.Sequential([
    keras.Input(shape=(20, 3)),
    RNN(),
    RNN(),
    keras.layers.Dense(1),
])
"""


def source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def findings(text: str) -> list[Finding]:
    return [f for graph in graphs_from_python(source(text)) for f in check(graph)]


def layers(text: str) -> list[tuple[str, dict]]:
    [graph] = graphs_from_python(source(text))
    return [(node.cls, node.config) for node in graph.nodes]


def test_partial_of_a_recurrent_layer_is_that_layer():
    assert layers(BROKEN) == [
        ("InputLayer", {"shape": (20, 3)}), ("LSTM", {"units": 64}), ("LSTM", {"units": 64}), ("Dense", {"units": 1}),
    ]


def test_broken_stack_built_with_a_partial_is_sk101_at_the_partials_call():
    [finding] = findings(BROKEN)
    assert (finding.code, finding.line, finding.column, finding.layer) == ("SK101", 7, 5, "lstm")


@pytest.mark.parametrize("spelling", [
    "from functools import partial\nRNN = partial(keras.layers.GRU, 32, return_sequences=True)",
    "import functools\nRNN = functools.partial(keras.layers.GRU, 32, return_sequences=True)",
    "import functools as ft\nRNN = ft.partial(keras.layers.GRU, units=32, return_sequences=True)",
    "from functools import partial as p\nRNN = p(p(keras.layers.GRU, 32), return_sequences=True)",
])
def test_partial_with_return_sequences_and_the_last_overriding_it_is_clean(spelling):
    text = f"""
import keras
{spelling}
model = keras.Sequential([
    keras.Input(shape=(20, 3)),
    RNN(),
    RNN(dropout=0.2),
    RNN(return_sequences=False),
    keras.layers.Dense(1),
])
"""
    assert [(f.code, f.severity) for f in findings(text) if f.severity != "info"] == []
    assert [config.get("return_sequences") for cls, config in layers(text) if cls == "GRU"] == [True, True, False]


def test_call_site_keywords_override_the_partials():
    assert layers("""
        import functools, keras
        RNN = functools.partial(keras.layers.LSTM, units=64, dropout=0.1, return_sequences=True)
        m = keras.Sequential([RNN(units=16, return_sequences=False, name="top")])
    """) == [("LSTM", {"units": 16, "dropout": 0.1, "return_sequences": False})]


def test_functional_stack_built_with_a_partial():
    [finding] = findings("""
        from functools import partial
        from keras import layers, Model, Input
        Recurrent = partial(layers.GRU, 32)
        inputs = Input(shape=(10, 4))
        x = Recurrent()(inputs)
        x = Recurrent()(x)
        model = Model(inputs, layers.Dense(1)(x))
    """)
    assert (finding.code, finding.line) == ("SK101", 5)


def test_hands_on_ml_dense_and_conv_partials_give_no_false_alarm():
    # Hands-On ML ch. 11 and 14 style: partials of Dense and Conv2D layers.
    text = """
        from functools import partial
        import tensorflow as tf
        from tensorflow import keras

        RegularizedDense = partial(keras.layers.Dense, activation="elu", kernel_initializer="he_normal",
                                   kernel_regularizer=keras.regularizers.l2(0.01))
        mlp = keras.models.Sequential([
            keras.layers.Flatten(input_shape=[28, 28]),
            RegularizedDense(300),
            RegularizedDense(100),
            RegularizedDense(10, activation="softmax", kernel_initializer="glorot_uniform"),
        ])

        DefaultConv2D = partial(keras.layers.Conv2D, kernel_size=3, activation="relu", padding="SAME")
        cnn = keras.models.Sequential([
            DefaultConv2D(filters=64, kernel_size=7, input_shape=[28, 28, 1]),
            keras.layers.MaxPooling2D(pool_size=2),
            DefaultConv2D(filters=128),
            DefaultConv2D(filters=128),
            keras.layers.MaxPooling2D(pool_size=2),
            keras.layers.Flatten(),
            keras.layers.Dense(units=64, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(units=10, activation="softmax"),
        ])
    """
    graphs = graphs_from_python(source(text))
    assert [[node.cls for node in graph.nodes] for graph in graphs] == [
        ["Flatten", "Dense", "Dense", "Dense"],
        ["Conv2D", "MaxPooling2D", "Conv2D", "Conv2D", "MaxPooling2D", "Flatten", "Dense", "Dropout", "Dense"],
    ]
    assert graphs[0].nodes[3].config["activation"] == "softmax"
    assert [f for graph in graphs for f in check(graph)] == []


def test_partial_of_something_else_stays_unknown():
    assert graphs_from_python(source("""
        from functools import partial
        import keras
        def block(units, seq):
            return None
        make = partial(block, 8)
        other = partial(print, "x")
        model = keras.Sequential([make(True), other()])
    """))[0].nodes[0].cls == "unknown"


def test_partial_of_an_unimported_keras_name_carries_the_assumption():
    [finding] = findings("""
        from functools import partial
        RNN = partial(LSTM, 64)
        model = Sequential([RNN(input_shape=(5, 2)), RNN()])
    """)
    assert finding.code == "SK101"
    assert finding.message.endswith(
        "Assuming `LSTM` is keras.layers.LSTM and `Sequential` is keras.Sequential: the file does not import them.")


# -- lint --fix ----------------------------------------------------------------------------

def fixed(text: str) -> tuple[str, list, list]:
    text = source(text)
    found = findings(text)
    rewrite = rewrite_python_source(text, found)
    return rewrite.text, rewrite.applied, rewrite.skipped


def test_fix_adds_return_sequences_at_the_partials_call():
    text, applied, skipped = fixed(BROKEN)
    assert len(applied) == 1 and skipped == []
    assert text == source(BROKEN).replace("    RNN(),\n    RNN(),", "    RNN(return_sequences=True),\n    RNN(),")
    assert findings(text) == []


def test_fix_overrides_a_partial_that_sets_return_sequences_false():
    text, applied, skipped = fixed("""
        import functools, keras
        RNN = functools.partial(keras.layers.LSTM, 32, return_sequences=False)
        model = keras.Sequential([keras.Input((9, 2)), RNN(), RNN(), keras.layers.Dense(1)])
    """)
    assert len(applied) == 1 and skipped == []
    assert "RNN(return_sequences=True), RNN()" in text
    assert "partial(keras.layers.LSTM, 32, return_sequences=False)" in text


def test_fix_replaces_a_call_site_keyword():
    text, applied, _ = fixed("""
        import functools, keras
        RNN = functools.partial(keras.layers.LSTM, 32, return_sequences=True)
        model = keras.Sequential([keras.Input((9, 2)), RNN(return_sequences=False), RNN(), RNN(return_sequences=False)])
    """)
    assert len(applied) == 1
    assert "RNN(return_sequences=True), RNN(), RNN(return_sequences=False)" in text


def test_fix_leaves_a_value_the_partial_gives_positionally_and_says_why():
    original = source("""
        import functools, keras
        RNN = functools.partial(keras.layers.RNN, keras.layers.LSTMCell(8), False)
        model = keras.Sequential([keras.Input((9, 2)), RNN(), RNN()])
    """)
    text, applied, [(finding, reason)] = fixed(original)
    assert applied == [] and text == original
    assert finding.code == "SK101"
    assert reason == ("the layer at line 3, column 48 is built by a functools.partial: return_sequences is given "
                      "positionally to the functools.partial at line 2, so a keyword cannot override it; change "
                      "that partial by hand")


def test_fix_leaves_a_value_from_the_partials_config_dict():
    original = source("""
        import functools, keras
        config = {"units": 16, "return_sequences": False}
        RNN = functools.partial(keras.layers.GRU, **config)
        model = keras.Sequential([keras.Input((9, 2)), RNN(), RNN()])
    """)
    text, applied, [(finding, reason)] = fixed(original)
    assert applied == [] and text == original
    assert reason == "return_sequences of the layer at line 4, column 48 comes from a **config dict; set it there"


def test_partial_across_notebook_cells():
    import json

    from stacked_keras.lint.from_source import graphs_from_notebook

    cells = ["from functools import partial\nimport keras\n",
             "RNN = partial(keras.layers.LSTM, 8)\n",
             "model = keras.Sequential([keras.Input((5, 2)), RNN(), RNN()])\n"]
    text = json.dumps({"cells": [{"cell_type": "code", "source": c} for c in cells], "metadata": {}, "nbformat": 4})
    [finding] = [f for graph in graphs_from_notebook(text) for f in check(graph)]
    assert (finding.code, finding.cell, finding.line, finding.column) == ("SK101", 3, 1, 48)

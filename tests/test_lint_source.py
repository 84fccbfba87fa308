"""The static front-end: Python source and notebooks to model graphs, nothing executed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from stacked_keras.graph import RANK_KEEPING, UNKNOWN, ModelGraph
from stacked_keras.lint.findings import UnreadableInput
from stacked_keras.lint.from_source import graphs_from_notebook, graphs_from_python, read_source_file

DATA = Path(__file__).parent / "data" / "source"


# -- helpers ------------------------------------------------------------------------

def graphs(source: str) -> list[ModelGraph]:
    return graphs_from_python(textwrap.dedent(source), "model.py")


def only_graph(source: str) -> ModelGraph:
    found = graphs(source)
    assert len(found) == 1, [g.name for g in found]
    return found[0]


def broken_connections(graph: ModelGraph) -> list[tuple[str, str]]:
    """(below, above) for each recurrent layer with return_sequences False feeding a recurrent layer.

    The data may pass through rank-keeping layers (Dropout, Dense, ...) on the way.
    """
    broken = []
    for node in graph.recurrent_nodes():
        if node.return_sequences is not False:
            continue
        pending, seen = [node], {node.id}
        while pending:
            for successor in graph.successors(pending.pop()):
                if successor.id in seen:
                    continue
                seen.add(successor.id)
                if successor.is_recurrent:
                    broken.append((node.name, successor.name))
                elif successor.cls in RANK_KEEPING:
                    pending.append(successor)
    return broken


def layer_classes(graph: ModelGraph) -> list[str]:
    return [node.cls for node in graph.nodes]


def chain_edges(graph: ModelGraph) -> list[tuple[int, int]]:
    return [(e.src, e.dst) for e in graph.edges if e.role == "input"]


# -- Sequential ------------------------------------------------------------------------

def test_sequential_list_without_return_sequences_is_broken():
    graph = only_graph("""
        import keras
        model = keras.Sequential([
            keras.layers.LSTM(32, input_shape=(10, 8)),
            keras.layers.LSTM(16),
            keras.layers.Dense(1),
        ])
    """)
    assert graph.name == "model"
    assert graph.origin == "source"
    assert layer_classes(graph) == ["LSTM", "LSTM", "Dense"]
    assert chain_edges(graph) == [(0, 1), (1, 2)]
    assert graph.outputs == [2]
    assert graph.nodes[0].config == {"units": 32, "input_shape": (10, 8)}
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_sequential_list_with_return_sequences_is_connected():
    graph = only_graph("""
        import keras
        model = keras.Sequential([
            keras.layers.LSTM(32, return_sequences=True),
            keras.layers.LSTM(16),
            keras.layers.Dense(1),
        ])
    """)
    assert graph.nodes[0].config["return_sequences"] is True
    assert broken_connections(graph) == []


def test_sequential_add_calls_build_one_graph():
    broken = only_graph("""
        from keras.models import Sequential
        from keras.layers import LSTM, Dense, Dropout
        model = Sequential()
        model.add(LSTM(50, input_shape=(10, 8)))
        model.add(Dropout(0.2))
        model.add(LSTM(50))
        model.add(Dense(1))
    """)
    assert layer_classes(broken) == ["LSTM", "Dropout", "LSTM", "Dense"]
    assert broken.nodes[1].config == {"rate": 0.2}
    assert broken_connections(broken) == [("lstm", "lstm_1")]
    fixed = only_graph("""
        from keras.models import Sequential
        from keras.layers import LSTM, Dense, Dropout
        model = Sequential()
        model.add(LSTM(50, return_sequences=True, input_shape=(10, 8)))
        model.add(Dropout(0.2))
        model.add(LSTM(50))
        model.add(Dense(1))
    """)
    assert broken_connections(fixed) == []


def test_sequential_with_input_starts_with_an_input_node():
    graph = only_graph("""
        import keras
        model = keras.Sequential([keras.Input(shape=(10, 8)), keras.layers.GRU(4)])
    """)
    assert graph.nodes[0].kind == "input"
    assert graph.nodes[0].cls == "InputLayer"
    assert graph.nodes[0].config == {"shape": (10, 8)}
    assert graph.inputs == [0]
    assert chain_edges(graph) == [(0, 1)]


def test_nested_sequential_is_flattened_into_its_parent():
    found = graphs("""
        import keras
        encoder = keras.Sequential([keras.layers.LSTM(8)])
        model = keras.Sequential([encoder, keras.layers.LSTM(4)])
    """)
    assert [g.name for g in found] == ["model"]
    assert layer_classes(found[0]) == ["LSTM", "LSTM"]
    assert broken_connections(found[0]) == [("lstm", "lstm_1")]


# -- import spellings -----------------------------------------------------------------------

@pytest.mark.parametrize("imports, lstm", [
    ("import keras", "keras.layers.LSTM"),
    ("import tensorflow as tf", "tf.keras.layers.LSTM"),
    ("from tensorflow import keras", "keras.layers.LSTM"),
    ("import tensorflow.keras as tfk", "tfk.layers.LSTM"),
    ("import tf_keras", "tf_keras.layers.LSTM"),
    ("from keras.layers import LSTM", "LSTM"),
    ("from tensorflow.keras.layers import LSTM, Dense", "LSTM"),
    ("from keras import layers as L", "L.LSTM"),
    ("from keras.layers import LSTM as Recurrent", "Recurrent"),
    ("from keras.src.layers.rnn.lstm import LSTM", "LSTM"),
    ("from keras.layers import *", "LSTM"),
    ("from tensorflow.compat.v1.keras.layers import CuDNNLSTM as LSTM", "LSTM"),
])
def test_every_import_spelling_reaches_keras(imports, lstm):
    source = f"""
{imports}
from keras.models import Sequential
model = Sequential([{lstm}(8), {lstm}(4)])
"""
    graph = only_graph(source)
    assert [n.is_recurrent for n in graph.nodes] == [True, True]
    assert len(broken_connections(graph)) == 1


@pytest.mark.parametrize("model_spelling", [
    "keras.Sequential", "keras.models.Sequential", "tf.keras.Sequential", "tf.keras.models.Sequential",
])
def test_sequential_spellings(model_spelling):
    graph = only_graph(f"""
        import keras
        import tensorflow as tf
        m = {model_spelling}([keras.layers.GRU(3)])
    """)
    assert layer_classes(graph) == ["GRU"]


def test_a_user_class_named_lstm_is_not_keras():
    found = graphs("""
        import keras
        class LSTM:
            def __init__(self, units, return_sequences=False):
                self.units = units
        model = keras.Sequential([LSTM(8), LSTM(4)])
    """)
    assert [n.is_recurrent for n in found[0].nodes] == [False, False]
    assert broken_connections(found[0]) == []


def test_torch_modules_are_not_keras():
    assert graphs("""
        import torch.nn as nn
        from torch.nn import LSTM
        model = nn.Sequential(nn.LSTM(8, 16), LSTM(16, 4))
    """) == []


def test_unimported_names_are_read_as_keras_and_say_so():
    # Issue 12: a public Keras name the file never binds is read as Keras's (tests/test_lint_unimported.py).
    [graph] = graphs("model = Sequential([LSTM(8), LSTM(4)])")
    assert broken_connections(graph) == [("lstm", "lstm_1")]
    assert graph.assumed == (("Sequential", "keras.Sequential"), ("LSTM", "keras.layers.LSTM"))


def test_names_bound_outside_keras_are_not_keras():
    assert graphs("from mylib import *\nmodel = Sequential([LSTM(8), LSTM(4)])") == []


# -- functional API -------------------------------------------------------------------------

def test_functional_chain_follows_variable_assignments():
    graph = only_graph("""
        import keras
        from keras import layers
        inputs = keras.Input(shape=(20, 3))
        x = layers.LSTM(32)(inputs)
        x = layers.Dropout(0.1)(x)
        x = layers.LSTM(16)(x)
        outputs = layers.Dense(1)(x)
        model = keras.Model(inputs=inputs, outputs=outputs, name="forecaster")
    """)
    assert graph.name == "model"
    assert layer_classes(graph) == ["InputLayer", "LSTM", "Dropout", "LSTM", "Dense"]
    assert graph.inputs == [0]
    assert graph.outputs == [4]
    assert chain_edges(graph) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_functional_chain_with_return_sequences_is_connected():
    graph = only_graph("""
        import keras
        inputs = keras.Input((20, 3))
        x = keras.layers.LSTM(32, return_sequences=True)(inputs)
        outputs = keras.layers.LSTM(16)(x)
        model = keras.Model(inputs, outputs)
    """)
    assert graph.nodes[0].config == {"shape": (20, 3)}
    assert broken_connections(graph) == []


def test_return_state_unpacking_and_initial_state_edges():
    [model, encoder_model] = read_source_file(DATA / "seq2seq.py")
    assert model.name == "model"
    assert model.loss == "categorical_crossentropy"
    encoder = next(n for n in model.nodes if n.cls == "LSTM" and n.config.get("return_state") is True
                   and "return_sequences" not in n.config)
    decoder = next(n for n in model.nodes if n.config.get("return_sequences") is True)
    roles = {(e.src, e.dst, e.role) for e in model.edges}
    assert (encoder.id, decoder.id, "initial_state") in roles
    assert (encoder.id, decoder.id, "input") not in roles
    assert [p.cls for p in model.predecessors(decoder)] == ["InputLayer"]
    assert broken_connections(model) == []
    assert len(model.inputs) == 2
    assert encoder_model.name == "encoder_model"
    assert layer_classes(encoder_model) == ["InputLayer", "LSTM"]
    assert encoder_model.outputs == [1]


def test_state_fed_as_input_is_a_broken_connection():
    graph = only_graph("""
        import keras
        inputs = keras.Input((5, 2))
        out, h, c = keras.layers.LSTM(8, return_state=True)(inputs)
        y = keras.layers.LSTM(4)(keras.layers.RepeatVector(5)(h))
        z = keras.layers.LSTM(4)(h)
        model = keras.Model(inputs, [y, z])
    """)
    assert layer_classes(graph) == ["InputLayer", "LSTM", "RepeatVector", "LSTM", "LSTM"]
    assert [p.cls for p in graph.predecessors(graph.nodes[3])] == ["RepeatVector"]
    assert [p.cls for p in graph.predecessors(graph.nodes[4])] == ["LSTM"]
    assert broken_connections(graph) == [("lstm", "lstm_2")]


def test_merge_layers_and_functional_merge_functions():
    graph = only_graph("""
        import keras
        from keras import layers
        a = keras.Input((5, 2))
        b = keras.Input((5, 2))
        x = layers.concatenate([layers.LSTM(4, return_sequences=True)(a), layers.GRU(4, return_sequences=True)(b)])
        y = layers.Add()([x, x])
        model = keras.Model([a, b], layers.LSTM(2)(y))
    """)
    concat = next(n for n in graph.nodes if n.cls == "Concatenate")
    assert [e.index for e in graph.incoming(concat)] == [0, 1]
    assert [p.cls for p in graph.predecessors(concat)] == ["LSTM", "GRU"]
    assert broken_connections(graph) == []


def test_ops_between_layers_are_op_nodes():
    graph = only_graph("""
        import keras
        import tensorflow as tf
        inputs = keras.Input((10, 3))
        x = keras.layers.LSTM(8)(inputs)
        x = tf.expand_dims(x, 1)
        x = keras.ops.reshape(x, (-1, 1, 8))
        x = keras.layers.LSTM(4)(x)
        model = keras.Model(inputs, x)
    """)
    assert layer_classes(graph) == ["InputLayer", "LSTM", "expand_dims", "reshape", "LSTM"]
    assert [n.kind for n in graph.nodes][2:4] == ["op", "op"]
    assert graph.nodes[2].config == {"axis": 1}
    assert graph.nodes[3].config == {"shape": (-1, 1, 8)}
    assert chain_edges(graph) == [(0, 1), (1, 2), (2, 3), (3, 4)]
    assert broken_connections(graph) == []


def test_tensor_slicing_is_an_op_node():
    graph = only_graph("""
        import keras
        inputs = keras.Input((10, 3))
        x = keras.layers.LSTM(8, return_sequences=True)(inputs)
        last = x[:, -1, :]
        model = keras.Model(inputs, keras.layers.Dense(1)(last))
    """)
    assert layer_classes(graph) == ["InputLayer", "LSTM", "getitem", "Dense"]


# -- wrappers and cells -----------------------------------------------------------------------

def test_bidirectional_wraps_the_recurrent_layer():
    source = """
        import keras
        from keras import layers
        model = keras.Sequential([
            layers.Bidirectional(layers.LSTM(16), merge_mode="sum"),
            layers.LSTM(8),
        ])
    """
    graph = only_graph(source)
    wrapper = graph.nodes[0]
    assert wrapper.cls == "Bidirectional"
    assert wrapper.config == {"merge_mode": "sum"}
    assert wrapper.wrapped.cls == "LSTM"
    assert wrapper.core is wrapper.wrapped
    assert wrapper.location.line == 5 and wrapper.location.column == 5
    assert wrapper.wrapped.location.line == 5 and wrapper.wrapped.location.column == 26
    assert broken_connections(graph) == [("bidirectional", "lstm")]
    fixed = only_graph(source.replace("layers.LSTM(16)", "layers.LSTM(16, return_sequences=True)"))
    assert broken_connections(fixed) == []


def test_rnn_over_cells():
    graph = only_graph("""
        from keras import layers
        import keras
        model = keras.Sequential([
            layers.RNN(layers.LSTMCell(8)),
            layers.RNN([layers.GRUCell(4), layers.GRUCell(4)], True),
            layers.RNN(layers.SimpleRNNCell(2)),
        ])
    """)
    first, second, third = graph.nodes
    assert first.cls == "RNN" and first.wrapped.cls == "LSTMCell"
    assert first.wrapped.config == {"units": 8}
    assert first.cell_type == "LSTM"
    assert second.wrapped.cls == "StackedRNNCells"
    assert second.config == {"return_sequences": True}
    assert third.cell_type == "SimpleRNN"
    assert broken_connections(graph) == [("rnn", "rnn_1")]


def test_conv_lstm_layers_are_recurrent():
    source = """
        import keras
        model = keras.Sequential([
            keras.layers.ConvLSTM2D(8, (3, 3), padding="same"),
            keras.layers.ConvLSTM2D(4, (3, 3)),
        ])
    """
    graph = only_graph(source)
    assert graph.nodes[0].config == {"filters": 8, "kernel_size": (3, 3), "padding": "same"}
    assert broken_connections(graph) == [("conv_lstm2d", "conv_lstm2d_1")]
    fixed = only_graph(source.replace('padding="same"', 'padding="same", return_sequences=True'))
    assert broken_connections(fixed) == []


def test_time_distributed_head():
    graph = only_graph("""
        import keras
        model = keras.Sequential([
            keras.layers.GRU(8, return_sequences=True),
            keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax")),
        ])
    """)
    head = graph.nodes[1]
    assert head.cls == "TimeDistributed"
    assert head.wrapped.cls == "Dense"
    assert head.wrapped.config == {"units": 3, "activation": "softmax"}


# -- argument values ------------------------------------------------------------------------------

def test_names_bound_to_literals_are_followed():
    graph = only_graph("""
        import keras
        UNITS = 16
        SEQ = False
        model = keras.Sequential([keras.layers.LSTM(UNITS * 2, return_sequences=SEQ), keras.layers.LSTM(UNITS)])
    """)
    assert graph.nodes[0].config == {"units": 32, "return_sequences": False}
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_return_sequences_literal_is_stored_as_a_bool():
    graph = only_graph("""
        import keras
        model = keras.Sequential([keras.layers.LSTM(4, return_sequences=1), keras.layers.LSTM(2)])
    """)
    assert graph.nodes[0].config["return_sequences"] is True


def test_double_star_config_dicts_are_merged():
    source = """
        import keras
        config = dict(units=16, dropout=0.1)
        config["return_sequences"] = {value}
        base = {{"activation": "tanh"}}
        model = keras.Sequential([keras.layers.LSTM(**config, **base), keras.layers.LSTM(8)])
    """
    broken = only_graph(source.format(value="False"))
    assert broken.nodes[0].config == {"units": 16, "dropout": 0.1, "return_sequences": False, "activation": "tanh"}
    assert broken_connections(broken) == [("lstm", "lstm_1")]
    assert broken_connections(only_graph(source.format(value="True"))) == []


def test_unknown_double_star_makes_recurrent_settings_unknown():
    graph = only_graph("""
        import keras
        def build(**kwargs):
            return keras.Sequential([keras.layers.LSTM(8, **kwargs), keras.layers.LSTM(4)])
    """)
    assert graph.nodes[0].config["return_sequences"] is UNKNOWN
    assert graph.nodes[0].config["units"] == 8
    assert broken_connections(graph) == []


def test_conditional_expressions():
    known = only_graph("""
        import keras
        deep = True
        model = keras.Sequential([
            keras.layers.LSTM(8, return_sequences=True if deep else False),
            keras.layers.LSTM(4),
        ])
    """)
    assert broken_connections(known) == []
    unknown = only_graph("""
        import os
        import keras
        deep = os.environ.get("DEEP") == "1"
        model = keras.Sequential([
            keras.layers.LSTM(8, return_sequences=True if deep else False),
            keras.layers.LSTM(4),
        ])
    """)
    assert unknown.nodes[0].config["return_sequences"] is UNKNOWN
    assert broken_connections(unknown) == []


def test_name_rebound_in_branches_is_unknown():
    graph = only_graph("""
        import sys
        import keras
        if len(sys.argv) > 1:
            rs = True
        else:
            rs = False
        model = keras.Sequential([keras.layers.GRU(8, return_sequences=rs), keras.layers.GRU(4)])
    """)
    assert graph.nodes[0].config["return_sequences"] is UNKNOWN
    assert broken_connections(graph) == []


def test_undecidable_branches_become_parallel_paths():
    source = """
        import sys
        import keras
        model = keras.Sequential()
        model.add(keras.layers.LSTM(16, return_sequences=True))
        if "--bidirectional" in sys.argv:
            model.add(keras.layers.Bidirectional(keras.layers.LSTM(8{option})))
        else:
            model.add(keras.layers.LSTM(8{option}))
        model.add(keras.layers.Dense(1))
    """
    graph = only_graph(source.format(option=""))
    assert layer_classes(graph) == ["LSTM", "Bidirectional", "LSTM", "Dense"]
    assert sorted(chain_edges(graph)) == [(0, 1), (0, 2), (1, 3), (2, 3)]
    assert graph.outputs == [3]
    assert broken_connections(graph) == []
    with_lstm_after = only_graph(source.format(option="").replace(
        "model.add(keras.layers.Dense(1))", "model.add(keras.layers.LSTM(2))"))
    assert sorted(broken_connections(with_lstm_after)) == [("bidirectional", "lstm_2"), ("lstm_1", "lstm_2")]


def test_branch_on_a_known_value_takes_one_path():
    graph = only_graph("""
        import keras
        BIDIRECTIONAL = False
        model = keras.Sequential()
        if BIDIRECTIONAL:
            model.add(keras.layers.Bidirectional(keras.layers.LSTM(8)))
        else:
            model.add(keras.layers.LSTM(8, return_sequences=True))
        model.add(keras.layers.LSTM(4))
    """)
    assert layer_classes(graph) == ["LSTM", "LSTM"]
    assert broken_connections(graph) == []


# -- loops, comprehensions, helpers ------------------------------------------------------------------

@pytest.mark.parametrize("condition", [
    "i < n - 1", "(i != n - 1)", "True if i < n-1 else False", "not i == n - 1", "i + 1 < n",
])
def test_range_loop_with_return_sequences_expression(condition):
    graph = only_graph(f"""
        import keras
        n = 3
        model = keras.Sequential()
        for i in range(n):
            model.add(keras.layers.LSTM(8, return_sequences={condition}))
        model.add(keras.layers.Dense(1))
    """)
    assert [node.return_sequences for node in graph.recurrent_nodes()] == [True, True, False]
    assert broken_connections(graph) == []


def test_range_loop_that_forgets_return_sequences_is_broken():
    graph = only_graph("""
        import keras
        model = keras.Sequential()
        for units in [64, 32, 16]:
            model.add(keras.layers.LSTM(units))
        model.add(keras.layers.Dense(1))
    """)
    assert [n.config["units"] for n in graph.recurrent_nodes()] == [64, 32, 16]
    assert broken_connections(graph) == [("lstm", "lstm_1"), ("lstm_1", "lstm_2")]


def test_enumerate_loop_in_functional_code():
    source = """
        import keras
        sizes = [32, 16, 8]
        inputs = keras.Input((10, 4))
        x = inputs
        for i, size in enumerate(sizes):
            x = keras.layers.GRU(size, return_sequences={condition}, name=f"gru_{{i}}")(x)
        model = keras.Model(inputs, x)
    """
    graph = only_graph(source.format(condition="i < len(sizes) - 1"))
    assert [n.name for n in graph.recurrent_nodes()] == ["gru_0", "gru_1", "gru_2"]
    assert broken_connections(graph) == []
    broken = only_graph(source.format(condition="i == 0"))
    assert broken_connections(broken) == [("gru_1", "gru_2")]


def test_list_comprehension_builds_the_sequential_list():
    source = """
        import keras
        depth = 3
        model = keras.Sequential(
            [keras.layers.LSTM(8, return_sequences={condition}) for i in range(depth)]
            + [keras.layers.Dense(1)]
        )
    """
    graph = only_graph(source.format(condition="i < depth - 1"))
    assert layer_classes(graph) == ["LSTM", "LSTM", "LSTM", "Dense"]
    assert broken_connections(graph) == []
    assert len(broken_connections(only_graph(source.format(condition="False")))) == 2


def test_helper_function_returning_a_layer_is_inlined_at_its_call_site():
    source = """
        import keras
        def block(units, seq=False):
            return keras.layers.LSTM(units, return_sequences=seq)
        model = keras.Sequential([
            block(32, {first}),
            block(16),
        ])
    """
    broken = only_graph(source.format(first="False"))
    assert [n.config for n in broken.nodes] == [
        {"units": 32, "return_sequences": False}, {"units": 16, "return_sequences": False}]
    assert (broken.nodes[0].location.line, broken.nodes[0].location.column) == (6, 5)
    assert (broken.nodes[1].location.line, broken.nodes[1].location.column) == (7, 5)
    assert broken_connections(broken) == [("lstm", "lstm_1")]
    assert broken_connections(only_graph(source.format(first="seq=True"))) == []


def test_model_built_in_a_function_called_with_literals():
    graph = only_graph("""
        import keras
        def build(depth, units):
            model = keras.Sequential()
            for i in range(depth):
                model.add(keras.layers.GRU(units, return_sequences=i < depth - 1))
            model.compile(loss="mse")
            return model
        model = build(4, units=8)
    """)
    assert [n.return_sequences for n in graph.recurrent_nodes()] == [True, True, True, False]
    assert [n.config["units"] for n in graph.recurrent_nodes()] == [8, 8, 8, 8]
    assert graph.loss == "mse"


def test_loop_of_unknown_length_is_not_guessed():
    graph = only_graph("""
        import keras
        def build(depth):
            model = keras.Sequential()
            for i in range(depth):
                model.add(keras.layers.LSTM(8, return_sequences=i < depth - 1))
            model.add(keras.layers.LSTM(4))
            return model
    """)
    assert graph.nodes[0].config["return_sequences"] is UNKNOWN
    assert broken_connections(graph) == []


# -- subclassed models -------------------------------------------------------------------------------

def test_subclassed_model_layers_in_init_wired_in_call():
    source = """
        import keras
        class Forecaster(keras.Model):
            def __init__(self):
                super().__init__()
                self.lstm1 = keras.layers.LSTM(32{option})
                self.drop = keras.layers.Dropout(0.2)
                self.lstm2 = keras.layers.LSTM(16)
                self.head = keras.layers.Dense(1)
            def call(self, inputs, training=False):
                x = self.lstm1(inputs)
                x = self.drop(x, training=training)
                x = self.lstm2(x)
                return self.head(x)
    """
    broken = only_graph(source.format(option=""))
    assert broken.name == "Forecaster"
    assert layer_classes(broken) == ["LSTM", "Dropout", "LSTM", "Dense"]
    assert chain_edges(broken) == [(0, 1), (1, 2), (2, 3)]
    assert broken.inputs == [] and broken.outputs == [3]
    assert broken_connections(broken) == [("lstm", "lstm_1")]
    assert broken_connections(only_graph(source.format(option=", return_sequences=True"))) == []


def test_subclassed_model_with_layer_list_instantiated_with_literals():
    [graph] = read_source_file(DATA / "subclassed.py")
    assert graph.name == "DeepGRU"
    assert graph.loss == "mse"
    assert layer_classes(graph) == ["GRU", "GRU", "GRU", "Dense"]
    assert [n.config["units"] for n in graph.recurrent_nodes()] == [8, 8, 8]
    assert [n.return_sequences for n in graph.recurrent_nodes()] == [True, True, False]
    assert broken_connections(graph) == []


def test_subclassed_model_with_unknown_depth_is_not_guessed():
    graph = only_graph("""
        import keras
        class Deep(keras.Model):
            def __init__(self, depth):
                super().__init__()
                self.rnns = [keras.layers.LSTM(8, return_sequences=i < depth - 1) for i in range(depth)]
            def call(self, x):
                for rnn in self.rnns:
                    x = rnn(x)
                return x
    """)
    assert broken_connections(graph) == []
    assert graph.nodes[0].config["return_sequences"] is UNKNOWN


def test_subclassed_model_with_sequential_attribute():
    graph = only_graph("""
        import keras
        class Wrapper(keras.Model):
            def __init__(self):
                super().__init__()
                self.body = keras.Sequential([keras.layers.GRU(8), keras.layers.GRU(4)])
            def call(self, x):
                return self.body(x)
    """)
    assert graph.name == "Wrapper"
    assert broken_connections(graph) == [("gru", "gru_1")]


# -- locations ----------------------------------------------------------------------------------------

def test_locations_point_at_the_constructor_call():
    graph = only_graph("""
        import keras
        model = keras.Sequential([
            keras.layers.LSTM(32,
                              dropout=0.1),
        ])
    """)
    location = graph.nodes[0].location
    assert (location.path, location.line, location.column) == ("model.py", 4, 5)
    assert (location.end_line, location.end_column) == (5, len("                      dropout=0.1)") + 1)
    assert location.cell is None
    assert graph.location.line == 3


def test_columns_count_characters_not_utf8_bytes():
    source = 'import keras\nnom = "réseau"; m = keras.Sequential([keras.layers.LSTM(4), keras.layers.LSTM(2)])\n'
    [graph] = graphs_from_python(source)
    line = source.splitlines()[1]
    assert graph.nodes[0].location.column == line.index("keras.layers.LSTM(4)") + 1
    assert graph.nodes[1].location.column == line.index("keras.layers.LSTM(2)") + 1
    assert graph.nodes[1].location.end_column == line.index("keras.layers.LSTM(2)") + len("keras.layers.LSTM(2)") + 1


def test_crlf_source_has_the_same_lines():
    source = "import keras\r\n\r\nm = keras.Sequential([keras.layers.GRU(2)])\r\n"
    [graph] = graphs_from_python(source)
    assert graph.nodes[0].location.line == 3


# -- unreadable source --------------------------------------------------------------------------------

def test_syntax_error_raises_sk002_with_line_and_column():
    with pytest.raises(UnreadableInput) as raised:
        graphs_from_python("import keras\nmodel = keras.Sequential([\n    keras.layers.LSTM(4)\n", "bad.py")
    assert raised.value.code == "SK002"
    assert raised.value.line == 2
    assert raised.value.column == 26
    assert "bad.py" in raised.value.message and "never closed" in raised.value.message


def test_null_bytes_raise_sk002():
    with pytest.raises(UnreadableInput) as raised:
        graphs_from_python("x = 1\0\n")
    assert raised.value.code == "SK002"


def test_odd_but_valid_python_never_crashes():
    source = """
        import keras
        x = [1] * 10**9
        y = 2 ** 10 ** 10
        z = "a" * 10**12
        w = [keras.layers.LSTM(4)] * 3
        def f(n):
            return f(n - 1)
        f(3)
        while True:
            break
        for i in range(10**9):
            pass
        model = keras.Sequential(w + [keras.layers.Dense(1)])
        match x:
            case [1, *rest]:
                pass
        async def g():
            async with keras.Model() as m:
                await m
        del model
    """
    found = graphs(source)
    assert layer_classes(found[0]) == ["LSTM", "LSTM", "LSTM", "Dense"]


def test_real_world_keras_sources_are_read_without_errors():
    """The front-end runs over Keras's own source files without raising."""
    import importlib.util

    spec = importlib.util.find_spec("keras")
    root = Path(spec.submodule_search_locations[0]) / "src" / "layers" / "rnn"
    files = sorted(root.glob("*.py"))
    assert len(files) > 5
    for path in files:
        try:
            read_source_file(path)
        except UnreadableInput as error:  # only ever an SK0xx verdict, never a crash
            assert error.code.startswith("SK0")


# -- notebooks ----------------------------------------------------------------------------------------

def notebook(*cells: tuple[str, str | list[str]], **metadata) -> str:
    return json.dumps({
        "cells": [{"cell_type": kind, "metadata": {}, "source": source,
                   **({"outputs": [], "execution_count": None} if kind == "code" else {})}
                  for kind, source in cells],
        "metadata": metadata, "nbformat": 4, "nbformat_minor": 5,
    })


def test_notebook_cells_run_as_one_program():
    [graph] = read_source_file(DATA / "stacked.ipynb")
    assert graph.origin == "notebook"
    assert graph.name == "model"
    assert graph.path == str(DATA / "stacked.ipynb")
    assert layer_classes(graph) == ["InputLayer", "LSTM", "LSTM", "Dense"]
    first, second = graph.recurrent_nodes()
    assert (first.location.cell, first.location.line, first.location.column) == (4, 4, 11)
    assert (second.location.cell, second.location.line, second.location.column) == (6, 1, 11)
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_notebook_magics_shell_and_help_lines_are_skipped():
    text = notebook(
        ("code", "%load_ext autoreload\n!ls -la\nfiles = !ls\nimport keras\nkeras.layers.LSTM?\n?keras.Sequential"),
        ("code", "if True:\n    %time m = 1\nmodel = keras.Sequential([keras.layers.GRU(3)])"),
    )
    [graph] = graphs_from_notebook(text, "nb.ipynb")
    assert graph.nodes[0].location.cell == 2
    assert graph.nodes[0].location.line == 3


def test_notebook_cell_magics_other_than_python_skip_the_cell():
    text = notebook(
        ("code", "import keras"),
        ("code", "%%writefile other.py\nimport keras\nm = keras.Sequential([keras.layers.LSTM(1)])"),
        ("code", "%%timeit\nmodel = keras.Sequential([keras.layers.LSTM(2)])"),
    )
    [graph] = graphs_from_notebook(text)
    assert graph.nodes[0].config == {"units": 2}
    assert (graph.nodes[0].location.cell, graph.nodes[0].location.line) == (3, 2)


def test_notebook_cells_are_counted_among_all_cells():
    text = notebook(
        ("markdown", "# Title"),
        ("raw", "raw text"),
        ("code", ["import keras\n", "model = keras.Sequential([keras.layers.SimpleRNN(2)])"]),
    )
    [graph] = graphs_from_notebook(text)
    assert graph.nodes[0].location.cell == 3


def test_notebook_with_another_kernel_language_has_no_models():
    text = notebook(("code", "library(keras)"), kernelspec={"language": "R", "name": "ir"})
    assert graphs_from_notebook(text) == []


def test_notebook_code_cell_syntax_error_is_sk002_naming_the_cell():
    text = notebook(("markdown", "intro"), ("code", "import keras"), ("code", "x = (\n"))
    with pytest.raises(UnreadableInput) as raised:
        graphs_from_notebook(text, "nb.ipynb")
    assert raised.value.code == "SK002"
    assert raised.value.cell == 3
    assert raised.value.line == 1
    assert "cell 3" in raised.value.message


@pytest.mark.parametrize("text, expected", [
    ("{not json", "invalid JSON"),
    ("[1, 2]", "not an object"),
    ('{"metadata": {}}', "no `cells`"),
    ('{"cells": {}}', "not a list"),
    ('{"cells": [1]}', "cell 1 is not an object"),
    ('{"cells": [{"cell_type": "code", "source": 3}]}', "not text"),
])
def test_malformed_notebooks_raise_sk003(text, expected):
    with pytest.raises(UnreadableInput) as raised:
        graphs_from_notebook(text, "bad.ipynb")
    assert raised.value.code == "SK003"
    assert expected in raised.value.message


def test_nbformat3_worksheets_are_read():
    text = json.dumps({"worksheets": [{"cells": [
        {"cell_type": "code", "input": ["import keras\n", "m = keras.Sequential([keras.layers.LSTM(2)])"]}]}],
        "metadata": {}, "nbformat": 3})
    [graph] = graphs_from_notebook(text)
    assert layer_classes(graph) == ["LSTM"]


# -- files ---------------------------------------------------------------------------------------------

def test_read_source_file_reads_a_tutorial_script():
    path = DATA / "tutorial_broken.py"
    [graph] = read_source_file(path)
    assert graph.path == str(path)
    assert graph.loss == "mean_squared_error"
    assert broken_connections(graph) == [("lstm", "lstm_1")]
    assert graph.nodes[0].location.line == 12


def test_read_source_file_rejects_what_it_cannot_read(tmp_path):
    latin = tmp_path / "latin.py"
    latin.write_bytes(b"# caf\xe9\nimport keras\n")
    with pytest.raises(UnreadableInput) as raised:
        read_source_file(latin)
    assert raised.value.code == "SK001" and "UTF-8" in raised.value.message
    with pytest.raises(UnreadableInput) as raised:
        read_source_file(tmp_path / "missing.py")
    assert raised.value.code == "SK001"
    with pytest.raises(UnreadableInput) as raised:
        read_source_file(tmp_path / "model.txt")
    assert raised.value.code == "SK001" and ".py, .ipynb" in raised.value.message


def test_read_source_file_honours_bom_and_coding_cookie(tmp_path):
    bom = tmp_path / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbfimport keras\nm = keras.Sequential([keras.layers.LSTM(2)])\n")
    assert read_source_file(bom)[0].nodes[0].location.line == 2
    cookie = tmp_path / "cookie.py"
    cookie.write_bytes("# -*- coding: latin-1 -*-\n# café\nimport keras\nm = keras.Sequential([keras.layers.LSTM(2)])\n"
                       .encode("latin-1"))
    assert read_source_file(cookie)[0].nodes[0].location.line == 4


def test_static_linting_imports_neither_tensorflow_nor_keras():
    script = textwrap.dedent(f"""
        import sys
        from stacked_keras.lint.from_source import read_source_file
        from stacked_keras.lint.fix_source import fix_python_source
        for name in ("tutorial_broken.py", "seq2seq.py", "subclassed.py", "stacked.ipynb"):
            assert read_source_file({str(DATA)!r} + "/" + name)
        fix_python_source(open({str(DATA / 'tutorial_broken.py')!r}).read(), [])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
        print(loaded)
    """)
    environment = dict(os.environ, PYTHONPATH=str(Path(__file__).parent.parent))
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environment,
                            timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_scripts_with_main_guard_and_strategy_scope():
    graph = only_graph("""
        import tensorflow as tf

        def build_model(units):
            model = tf.keras.Sequential()
            model.add(tf.keras.layers.LSTM(units, input_shape=(10, 3)))
            model.add(tf.keras.layers.LSTM(units // 2))
            return model

        def main():
            strategy = tf.distribute.MirroredStrategy()
            with strategy.scope():
                model = build_model(64)
                model.compile(optimizer="adam", loss=tf.keras.losses.MeanSquaredError())
            model.fit(x=None, epochs=1)

        if __name__ == "__main__":
            main()
    """)
    assert [n.config["units"] for n in graph.recurrent_nodes()] == [64, 32]
    assert graph.loss == "mean_squared_error"
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_config_values_keep_keras_objects_and_activations():
    graph = only_graph("""
        import keras
        import tensorflow as tf
        model = keras.Sequential([
            keras.layers.LSTM(8, activation=tf.nn.relu, kernel_regularizer=keras.regularizers.l2(1e-4),
                              recurrent_dropout=0.2, dropout=get_rate()),
        ])
    """)
    assert graph.nodes[0].config == {
        "units": 8, "activation": "relu", "kernel_regularizer": {"class_name": "l2", "config": {}},
        "recurrent_dropout": 0.2, "dropout": UNKNOWN,
    }


def test_a_runaway_function_does_not_hide_the_other_models():
    found = graphs("""
        import keras
        def spin():
            for a in range(250):
                for b in range(250):
                    total = a * b
            return keras.Sequential([keras.layers.GRU(1)])
        def build():
            return keras.Sequential([keras.layers.LSTM(4), keras.layers.LSTM(2)])
    """)
    assert [g.name for g in found] == ["build"]


# -- functions analysed on their own: literal defaults, loops of unknown length ------------------

def test_uncalled_function_is_analysed_with_its_literal_defaults():
    graph = only_graph("""
        import keras
        from keras import layers
        def build_broken(n_layers=3, units=64):
            model = keras.Sequential(); model.add(keras.Input((None, 8)))
            for i in range(n_layers):
                model.add(layers.LSTM(units))
            model.add(layers.Dense(1)); return model
    """)
    assert layer_classes(graph) == ["InputLayer", "LSTM", "LSTM", "LSTM", "Dense"]
    assert [n.config["units"] for n in graph.recurrent_nodes()] == [64, 64, 64]
    assert broken_connections(graph) == [("lstm", "lstm_1"), ("lstm_1", "lstm_2")]


def test_uncalled_function_comprehension_over_a_default_tuple_is_unrolled():
    graph = only_graph("""
        from keras import Sequential, Input, layers
        def f(sizes=(64, 32, 16)):
            return Sequential([Input((None, 8))] + [layers.GRU(u) for u in sizes] + [layers.Dense(1)])
    """)
    assert [n.config["units"] for n in graph.recurrent_nodes()] == [64, 32, 16]
    assert broken_connections(graph) == [("gru", "gru_1"), ("gru_1", "gru_2")]


def test_parameter_without_default_is_unknown_and_a_literal_default_is_used():
    graph = only_graph("""
        import keras
        def build_model(flag, units=32, *, seq=None, **options):
            model = keras.Sequential()
            model.add(keras.layers.LSTM(units, return_sequences=flag))
            model.add(keras.layers.LSTM(units, dropout=seq, **options))
            return model
    """)
    assert graph.nodes[0].config == {"units": 32, "return_sequences": UNKNOWN}
    assert graph.nodes[1].config["dropout"] is None
    assert graph.nodes[1].config["return_sequences"] is UNKNOWN  # **options stays unknown
    assert broken_connections(graph) == []


def test_loop_of_unknown_length_feeds_its_layer_into_itself():
    graph = only_graph("""
        import keras
        from keras import layers
        def build(n, units):
            model = keras.Sequential(); model.add(keras.Input((None, 8)))
            for i in range(n):
                model.add(layers.LSTM(units))
            model.add(layers.Dense(1)); return model
    """)
    first, second = graph.recurrent_nodes()
    assert first.location == second.location  # one call, two iterations
    assert broken_connections(graph) == [("lstm", "lstm_1")]
    assert [p.cls for p in graph.predecessors(graph.nodes[-1])] == ["LSTM", "LSTM"]  # after one or two


def test_functional_loop_of_unknown_length_feeds_its_layer_into_itself():
    graph = only_graph("""
        import keras
        def build(depth):
            inputs = keras.Input((None, 8))
            x = inputs
            for _ in range(depth):
                x = keras.layers.GRU(16)(x)
            return keras.Model(inputs, keras.layers.Dense(1)(x))
    """)
    assert broken_connections(graph) == [("gru", "gru_1")]


def test_comprehension_of_unknown_length_feeds_its_layer_into_itself():
    graph = only_graph("""
        from keras import Sequential, layers
        def f(sizes):
            return Sequential([layers.GRU(u) for u in sizes] + [layers.Dense(1)])
    """)
    assert broken_connections(graph) == [("gru", "gru_1")]


def test_loop_of_unknown_length_with_return_sequences_expression_stays_unknown():
    graph = only_graph("""
        import keras
        def build(n):
            model = keras.Sequential()
            for i in range(n):
                model.add(keras.layers.LSTM(8, return_sequences=i < n - 1))
            model.add(keras.layers.Dense(1))
            return model
    """)
    assert layer_classes(graph) == ["LSTM", "LSTM", "Dense"]
    assert chain_edges(graph) == [(0, 1), (0, 2), (1, 2)]
    assert all(n.return_sequences is UNKNOWN for n in graph.recurrent_nodes())
    assert broken_connections(graph) == []


LAST_LAYER_BRANCH = """
    import keras
    from keras import layers
    def build(n, units):
        model = keras.Sequential(); model.add(keras.Input((None, 8)))
        for i in range(n):
            if {condition}:
                model.add(layers.LSTM(units, return_sequences=True))
            else:
                model.add(layers.LSTM(units))
        model.add(layers.Dense(1)); return model
"""


@pytest.mark.parametrize("condition", ["i < n - 1", "i != n - 1", "not i == n - 1"])
def test_loop_of_unknown_length_with_a_last_layer_branch_is_clean(condition):
    from stacked_keras.lint.rules import check

    graph = only_graph(LAST_LAYER_BRANCH.format(condition=condition))
    assert broken_connections(graph) == []
    head = graph.nodes[-1]
    assert head.cls == "Dense"
    assert {p.return_sequences for p in graph.predecessors(head)} == {False}
    # each layer that returns sequences feeds the next iteration
    for node in graph.recurrent_nodes():
        if node.return_sequences is True:
            assert {s.cls for s in graph.successors(node)} == {"LSTM"}
    assert [f.code for f in check(graph) if f.code.startswith("SK1")] == []


def test_loop_invariant_branch_in_a_loop_of_unknown_length_is_still_checked():
    graph = only_graph("""
        import keras
        def build(n, use_gru):
            model = keras.Sequential()
            for i in range(n):
                if use_gru:
                    model.add(keras.layers.GRU(8))
                else:
                    model.add(keras.layers.LSTM(8))
            return model
    """)
    assert len(broken_connections(graph)) == 4  # each of the two feeds each of the two


def test_loop_of_unknown_length_left_by_a_break_on_its_last_iteration_is_clean():
    from stacked_keras.lint.rules import check

    graph = only_graph("""
        import keras
        def build(n):
            model = keras.Sequential()
            for i in range(n):
                if i == n - 1:
                    model.add(keras.layers.LSTM(8))
                    break
                model.add(keras.layers.LSTM(8, return_sequences=True))
            model.add(keras.layers.Dense(1))
            return model
    """)
    assert broken_connections(graph) == []
    assert {p.return_sequences for p in graph.predecessors(graph.nodes[-1])} == {False}
    assert all(graph.successors(node) for node in graph.nodes[:-1])  # nothing leads nowhere
    assert [f.code for f in check(graph) if f.code.startswith("SK1")] == []


def test_break_in_an_undecidable_branch_of_a_known_loop_joins_the_state_after_it():
    graph = only_graph("""
        import keras
        def build(small):
            model = keras.Sequential()
            for units in [64, 32, 16]:
                model.add(keras.layers.LSTM(units, return_sequences=True))
                if units == small:
                    model.add(keras.layers.LSTM(units))
                    break
            model.add(keras.layers.Dense(1))
            return model
    """)
    head = graph.nodes[-1]
    assert sorted((p.config["units"], p.return_sequences) for p in graph.predecessors(head)) == [
        (16, False), (16, True), (32, False), (64, False)]


def test_model_built_in_each_run_of_a_loop_of_unknown_length_is_one_graph():
    found = graphs("""
        import keras
        def train_all(configs):
            for cfg in configs:
                m = keras.Sequential([keras.layers.LSTM(cfg), keras.layers.LSTM(2)])
                m.compile(loss="mse")
    """)
    assert [g.name for g in found] == ["m"]
    assert broken_connections(found[0]) == [("lstm", "lstm_1")]


# -- helpers: the line to change is the call site ---------------------------------------------------

def test_functional_helper_parameter_locates_the_layer_at_the_call_site():
    graph = only_graph("""
        import keras
        from keras import layers
        def block(x, units, seq):
            x = layers.LSTM(units, return_sequences=seq)(x)
            return layers.Dropout(0.1)(x)
        inp = keras.Input((None, 8))
        h = block(inp, 64, False)
        h = block(h, 32, False)
        out = layers.Dense(1)(h)
        model = keras.Model(inp, out)
    """)
    first, second = graph.recurrent_nodes()
    assert (first.location.line, first.location.column) == (8, 5)
    assert (second.location.line, second.location.column) == (9, 5)
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_layer_whose_return_sequences_is_set_inside_the_helper_stays_in_the_helper():
    graph = only_graph("""
        import keras
        def block(x, units):
            return keras.layers.LSTM(units, return_sequences=False)(x)
        inp = keras.Input((None, 8))
        model = keras.Model(inp, block(block(inp, 8), 4))
    """)
    assert {(n.location.line, n.location.column) for n in graph.recurrent_nodes()} == {(4, 12)}


def test_nested_helpers_locate_the_layer_at_the_outermost_call_giving_the_value():
    graph = only_graph("""
        import keras
        def block(x, seq=False):
            return keras.layers.GRU(8, return_sequences=seq)(x)
        def stage(x, seq):
            return block(x, seq=seq)
        inp = keras.Input((None, 8))
        x = stage(inp, False)
        x = stage(x, False)
        model = keras.Model(inp, x)
    """)
    assert [(n.location.line, n.location.column) for n in graph.recurrent_nodes()] == [(8, 5), (9, 5)]


def test_uncalled_function_default_locates_the_layer_at_the_default():
    graph = only_graph("""
        import keras
        def build(units=8, first_seq=False):
            return keras.Sequential([keras.layers.LSTM(units, return_sequences=first_seq),
                                     keras.layers.LSTM(units)])
    """)
    first = graph.nodes[0]
    assert (first.location.line, first.location.column) == (3, 30)
    assert broken_connections(graph) == [("lstm", "lstm_1")]


def test_class_parameter_locates_the_layer_at_the_instantiation():
    graph = only_graph("""
        import keras
        class Stack(keras.Model):
            def __init__(self, seq):
                super().__init__()
                self.a = keras.layers.GRU(8, return_sequences=seq)
                self.b = keras.layers.GRU(4)
            def call(self, x):
                return self.b(self.a(x))
        model = Stack(False)
    """)
    assert (graph.nodes[0].location.line, graph.nodes[0].location.column) == (10, 9)
    assert broken_connections(graph) == [("gru", "gru_1")]


def test_notebook_helper_in_another_cell_is_located_at_the_call_cell():
    text = notebook(
        ("code", "import keras\ndef block(x, seq):\n    return keras.layers.LSTM(4, return_sequences=seq)(x)"),
        ("code", "inp = keras.Input((None, 2))\nmodel = keras.Model(inp, block(block(inp, False), False))"),
    )
    [graph] = graphs_from_notebook(text)
    locations = {(n.location.cell, n.location.line, n.location.column) for n in graph.recurrent_nodes()}
    assert locations == {(2, 2, 26), (2, 2, 32)}


# -- notebooks with a bad cell ---------------------------------------------------------------------

def test_notebook_cell_that_does_not_parse_is_skipped_when_problems_are_collected():
    text = notebook(
        ("code", "import keras"),
        ("markdown", "# Model"),
        ("code", "def broken(:\n    pass"),
        ("code", "model = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])"),
    )
    problems = []
    [graph] = graphs_from_notebook(text, "nb.ipynb", problems=problems)
    assert broken_connections(graph) == [("lstm", "lstm_1")]
    assert graph.nodes[0].location.cell == 4
    [problem] = problems
    assert isinstance(problem, UnreadableInput)
    assert (problem.code, problem.cell, problem.line, problem.column) == ("SK002", 3, 1, 12)
    assert "nb.ipynb, cell 3, line 1" in problem.message
    with pytest.raises(UnreadableInput) as raised:  # without a list: the first bad cell stops it
        graphs_from_notebook(text, "nb.ipynb")
    assert raised.value.cell == 3


def test_read_source_file_collects_bad_notebook_cells(tmp_path):
    path = tmp_path / "nb.ipynb"
    path.write_text(notebook(
        ("code", "import keras\nx = (\n"),
        ("code", "import keras\nm = keras.Sequential([keras.layers.GRU(2), keras.layers.GRU(1)])"),
        ("code", "y = " + "-" * 100_000 + "1"),
    ))
    problems = []
    [graph] = read_source_file(path, problems=problems)
    assert broken_connections(graph) == [("gru", "gru_1")]
    assert [(p.code, p.cell) for p in problems] == [("SK002", 1), ("SK002", 3)]
    python = tmp_path / "bad.py"
    python.write_text("x = (\n")
    with pytest.raises(UnreadableInput) as raised:  # a .py file is one program: it cannot be linted
        read_source_file(python, problems=[])
    assert raised.value.code == "SK002"


# -- smaller ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("expression", [
    "-" * 100_000 + "1",
    "not " * 100_000 + "1",
    "+".join(["1"] * 100_000),
], ids=["unary-minus", "not", "plus-chain"])
def test_deeply_nested_expression_says_the_nesting_is_too_deep(expression):
    source = "import keras\nx = " + expression + "\n"
    with pytest.raises(UnreadableInput) as raised:
        graphs_from_python(source, "deep.py")
    assert raised.value.code == "SK002"
    assert "nested too deeply for Python's parser" in raised.value.message
    assert "()" not in raised.value.message
    with pytest.raises(UnreadableInput) as raised:
        graphs_from_notebook(notebook(("code", source)), "deep.ipynb")
    assert raised.value.code == "SK002" and raised.value.cell == 1
    assert "deep.ipynb, cell 1: the expressions are nested too deeply for Python's parser" in raised.value.message


def test_time_magic_keeps_its_statement_anywhere():
    text = notebook(
        ("code", "import keras\n%time top = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])"),
        ("code", "for _ in [1]:\n    %timeit  inner = keras.Sequential([keras.layers.GRU(2),\n"
                 "                                     keras.layers.GRU(1)])\n    %matplotlib inline\n"),
    )
    top, inner = graphs_from_notebook(text)
    assert (top.name, inner.name) == ("top", "inner")
    columns = len("%time top = keras.Sequential([") + 1  # the columns of the cell as written
    assert (top.nodes[0].location.cell, top.nodes[0].location.line, top.nodes[0].location.column) == (1, 2, columns)
    assert (inner.nodes[1].location.line, inner.nodes[1].location.column) == (3, 38)
    assert broken_connections(top) == [("lstm", "lstm_1")]
    assert broken_connections(inner) == [("gru", "gru_1")]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    import threading

    pipe = tmp_path / "model.py"
    os.mkfifo(pipe)
    outcome = []

    def read():
        try:
            outcome.append(read_source_file(pipe))
        except UnreadableInput as error:
            outcome.append(error)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # blocked in open(): give it a writer so the thread ends
        with open(pipe, "w"):
            pass
        reader.join(timeout=10)
        pytest.fail("read_source_file blocked on a named pipe")
    [error] = outcome
    assert isinstance(error, UnreadableInput) and error.code == "SK001"
    assert f"{pipe} is not a regular file" in error.message


def test_docstring_examples_run():
    import doctest

    import stacked_keras.lint.from_source as module

    failures, attempted = doctest.testmod(module, verbose=False)
    assert attempted >= 10 and failures == 0


def test_source_graph_docstring_examples_run():
    import doctest

    import stacked_keras.lint.source_graph as module

    failures, attempted = doctest.testmod(module, verbose=False)
    assert attempted >= 3 and failures == 0


# -- issue 9: one notebook reader, one file reader ---------------------------------------------

def test_noqa_in_an_nbformat3_notebook_suppresses_the_finding(tmp_path):
    # The front-end reads nbformat 3 worksheets; `# noqa` used to look for
    # nbformat 4 `cells` only, so the finding stayed.
    import stacked_keras

    cells = [
        {"cell_type": "markdown", "source": ["A note."]},
        {"cell_type": "code", "input": [
            "import keras\n",
            "m = keras.Sequential([keras.Input((5, 2)), keras.layers.LSTM(4),  # noqa: SK101\n",
            "                      keras.layers.LSTM(2)])\n",
        ]},
    ]
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps({"worksheets": [{"cells": cells}], "metadata": {}, "nbformat": 3}))
    assert [f.code for f in stacked_keras.lint(str(path)).findings] == []
    path.write_text(path.read_text().replace("  # noqa: SK101", ""))
    [finding] = stacked_keras.lint(str(path)).findings
    assert (finding.code, finding.cell, finding.line) == ("SK101", 2, 2)


def test_a_cell_that_starts_indented_is_read_as_ipython_runs_it():
    # IPython strips the common leading indent; this used to be SK002.
    source = [
        "    import keras\n",
        "    m = keras.Sequential([keras.Input((5, 2)),\n",
        "                          keras.layers.LSTM(4), keras.layers.LSTM(2)])\n",
    ]
    [graph] = graphs_from_notebook(notebook(("code", source)), problems=[])
    lstm = [node for node in graph if node.cls == "LSTM"][0]
    assert (lstm.location.cell, lstm.location.line, lstm.location.column) == (1, 3, 27)


def test_an_indented_cell_that_does_not_parse_is_still_sk002():
    problems = []
    graphs_from_notebook(notebook(("code", ["    x = (\n"])), problems=problems)
    assert [problem.code for problem in problems] == ["SK002"]


def test_the_front_end_is_freed_without_the_garbage_collector():
    # The evaluator and its hooks (the front-end) point at each other while a program runs; if
    # that cycle outlived the run, every file's dag would wait for the cyclic garbage collector,
    # which made linting measurably slower.
    import gc
    import weakref

    from stacked_keras.lint.from_source import analyse_python

    gc.disable()
    try:
        front_end, graphs = analyse_python("import keras\nm = keras.Sequential([keras.layers.LSTM(4)])\n")
        assert len(graphs) == 1
        alive = weakref.ref(front_end)
        del front_end
        assert alive() is None
    finally:
        gc.enable()

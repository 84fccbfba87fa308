"""Tests for stacked_keras.builders: deep_rnn and its conveniences, StackSpec, warnings."""

import doctest
import inspect
import json
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest

import keras

from stacked_keras import builders
from stacked_keras.builders import (
    CELL_KWARGS,
    StackSpec,
    StackWarning,
    build_stack,
    deep_gru,
    deep_lstm,
    deep_rnn,
    deep_simple_rnn,
    normalize_stack_arguments,
)


def _names(model):
    return [layer.name for layer in model.layers]


def _recurrent(model, name):
    """The recurrent layer called `name`, looking inside a Bidirectional wrapper."""
    layer = model.get_layer(name)
    return layer.forward_layer if isinstance(layer, keras.layers.Bidirectional) else layer


def _no_stack_warning(build):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = build()
    assert [w for w in caught if issubclass(w.category, StackWarning)] == []
    return model


# --- the seed's example and the return_sequences rule ------------------------------


def test_seed_example_three_then_two_units():
    # The seed: 3-dimensional input, a 3-unit layer under a 2-unit layer.
    with pytest.warns(StackWarning, match="SimpleRNN"):
        model = deep_simple_rnn([3, 2], input_shape=(None, 3))
    assert _names(model) == ["simple_rnn_1", "simple_rnn_2"]
    first, second = model.layers
    # U^1 is 3x3 (input -> layer 1), U^2 is 3x2 (layer 1 -> layer 2); W^L is units x units.
    assert first.cell.kernel.shape == (3, 3)
    assert first.cell.recurrent_kernel.shape == (3, 3)
    assert second.cell.kernel.shape == (3, 2)
    assert second.cell.recurrent_kernel.shape == (2, 2)
    out = model(np.random.rand(4, 5, 3).astype("float32"))
    assert tuple(out.shape) == (4, 2)


def test_intermediate_layers_return_sequences():
    model = deep_lstm([4, 4, 2], input_shape=(6, 3))
    assert [layer.return_sequences for layer in model.layers] == [True, True, False]
    assert tuple(model(np.zeros((2, 6, 3), "float32")).shape) == (2, 2)


def test_sequence_output_makes_every_layer_return_sequences():
    model = deep_gru([4, 3], input_shape=(6, 3), output="sequence")
    assert [layer.return_sequences for layer in model.layers] == [True, True]
    assert tuple(model(np.zeros((2, 6, 3), "float32")).shape) == (2, 6, 3)


def test_spec_return_sequences_come_from_the_stack_rule():
    from stacked_keras.stack import return_sequences_for

    for depth in (1, 2, 4):
        for output in ("last", "sequence"):
            spec = normalize_stack_arguments(
                "lstm", [2] * depth, input_shape=(None, 1), output=output
            )
            assert spec.return_sequences == return_sequences_for(
                depth, sequence_output=output == "sequence"
            )


def test_single_int_units_is_one_layer():
    model = deep_lstm(5, input_shape=(None, 2))
    assert _names(model) == ["lstm_1"]
    assert model.layers[0].return_sequences is False
    assert model.output_shape == (None, 5)


# --- names, mixed stacks, Sequential vs functional ----------------------------------


def test_layers_are_named_by_depth_in_mixed_stacks():
    model = deep_rnn(["lstm", "gru", "simple_rnn"], [4, 4, 2], input_shape=(None, 3))
    assert _names(model) == ["lstm_1", "gru_2", "simple_rnn_3"]
    assert [type(layer).__name__ for layer in model.layers] == ["LSTM", "GRU", "SimpleRNN"]
    assert model.name == "deep_mixed"
    assert model.inputs[0].name == "sequence"


def test_model_name_defaults_to_the_cell_and_can_be_set():
    assert deep_gru([2, 2], input_shape=(None, 1)).name == "deep_gru"
    assert deep_rnn(["lstm", "LSTM"], [2, 2], input_shape=(None, 1)).name == "deep_lstm"
    assert deep_lstm([2], input_shape=(None, 1), name="encoder").name == "encoder"


def test_without_residual_the_model_is_sequential():
    model = deep_lstm([4, 4], input_shape=(None, 4), layer_norm=True, bidirectional=True)
    assert isinstance(model, keras.Sequential)


def test_residual_makes_a_functional_model():
    model = deep_lstm([4, 4], input_shape=(None, 4), residual=True, output="sequence")
    assert not isinstance(model, keras.Sequential)
    assert isinstance(model, keras.Model)


def test_conveniences_refuse_a_cell_argument():
    with pytest.raises(TypeError, match="deep_rnn"):
        deep_lstm([2], input_shape=(None, 1), cell="gru")


# --- bidirectional -------------------------------------------------------------------


def test_bidirectional_per_layer_with_concat_doubles_the_width():
    model = deep_lstm([4, 3], input_shape=(None, 2), bidirectional=[True, False])
    assert _names(model) == ["bi_lstm_1", "lstm_2"]
    wrapper = model.get_layer("bi_lstm_1")
    assert isinstance(wrapper, keras.layers.Bidirectional)
    assert wrapper.merge_mode == "concat"
    assert wrapper.forward_layer.name == "forward_lstm_1"
    assert wrapper.backward_layer.name == "backward_lstm_1"
    assert wrapper.return_sequences is True
    assert wrapper.output.shape[-1] == 8
    # lstm_2 reads the 8-wide concatenation: its kernel is 8 x 4*3.
    assert model.get_layer("lstm_2").cell.kernel.shape == (8, 12)
    assert tuple(model(np.zeros((2, 5, 2), "float32")).shape) == (2, 3)


def test_bidirectional_merge_mode_sum_keeps_the_width():
    model = deep_gru([4, 4], input_shape=(None, 2), bidirectional=True, merge_mode="sum")
    assert _names(model) == ["bi_gru_1", "bi_gru_2"]
    assert all(layer.merge_mode == "sum" for layer in model.layers)
    assert [layer.return_sequences for layer in model.layers] == [True, False]
    assert tuple(model(np.zeros((2, 5, 2), "float32")).shape) == (2, 4)


# --- embedding and masking -----------------------------------------------------------


def test_embedding_front_with_mask_zero():
    model = deep_lstm([4, 2], vocab_size=12)
    assert _names(model) == ["embedding", "lstm_1", "lstm_2"]
    assert model.inputs[0].name == "tokens"
    assert "int" in model.inputs[0].dtype
    embedding = model.get_layer("embedding")
    assert embedding.mask_zero is True
    assert embedding.input_dim == 12
    assert embedding.output_dim == 4  # defaults to the first layer's units


def test_padding_is_masked_through_the_stack():
    model = deep_gru([4, 3], vocab_size=9, embedding_dim=5, input_shape=(None,))
    assert model.get_layer("embedding").output_dim == 5
    short = np.array([[3, 1, 4]], "int32")
    padded = np.array([[3, 1, 4, 0, 0]], "int32")
    np.testing.assert_allclose(
        np.asarray(model(short)), np.asarray(model(padded)), rtol=1e-5, atol=1e-6
    )


def test_mask_zero_false_reads_padding_as_a_token():
    model = deep_gru([4, 3], vocab_size=9, mask_zero=False, input_shape=(5,))
    assert model.get_layer("embedding").mask_zero is False
    assert model.input_shape == (None, 5)
    short = np.array([[3, 1, 4]], "int32")
    padded = np.array([[3, 1, 4, 0, 0]], "int32")
    assert not np.allclose(np.asarray(model(short)), np.asarray(model(padded)))


# --- residual connections ------------------------------------------------------------


def _add_inputs(model, name):
    node = model.get_layer(name)._inbound_nodes[0]
    return [t._keras_history.operation.name for t in node.input_tensors]


def test_residual_adds_input_and_output_where_widths_match():
    # widths: input 4 -> lstm_1 4 -> lstm_2 4 -> lstm_3 2 ; lstm_3 is the top (last state).
    model = deep_lstm([4, 4, 2], input_shape=(None, 4), residual=True)
    assert _names(model) == [
        "sequence", "lstm_1", "residual_1", "lstm_2", "residual_2", "lstm_3",
    ]
    assert _add_inputs(model, "residual_1") == ["sequence", "lstm_1"]
    assert _add_inputs(model, "residual_2") == ["residual_1", "lstm_2"]
    assert tuple(model(np.zeros((2, 5, 4), "float32")).shape) == (2, 2)


def test_residual_counts_the_bidirectional_concat_width():
    # input 8; bi_lstm_1 4+4=8 (residual); bi_lstm_2 8 but top with output="last" (none).
    model = deep_lstm([4, 4], input_shape=(None, 8), bidirectional=True, residual=True)
    assert [n for n in _names(model) if n.startswith("residual")] == ["residual_1"]
    assert _add_inputs(model, "residual_1") == ["sequence", "bi_lstm_1"]
    # With a sequence output the top layer has a residual connection too.
    spec = normalize_stack_arguments(
        "lstm", [4, 4], input_shape=(None, 8), bidirectional=True, residual=True,
        output="sequence",
    )
    assert spec.residual_layers == (True, True)


def test_residual_adds_the_values():
    model = deep_lstm([3], input_shape=(None, 3), residual=True, output="sequence")
    x = np.random.rand(2, 4, 3).astype("float32")
    lstm_only = keras.Sequential([keras.Input((None, 3)), model.get_layer("lstm_1")])
    np.testing.assert_allclose(
        np.asarray(model(x)), x + np.asarray(lstm_only(x)), rtol=1e-5, atol=1e-6
    )


def test_residual_with_no_equal_widths_is_an_error():
    with pytest.raises(ValueError, match=r"residual=True.*same width.*lstm_1 3->4"):
        deep_lstm([4, 2], input_shape=(None, 3), residual=True)


# --- layer normalization -------------------------------------------------------------


def test_layer_norm_true_goes_between_layers():
    model = deep_lstm([4, 4, 2], input_shape=(None, 3), layer_norm=True)
    assert _names(model) == ["lstm_1", "layer_norm_1", "lstm_2", "layer_norm_2", "lstm_3"]
    assert isinstance(model.get_layer("layer_norm_1"), keras.layers.LayerNormalization)


def test_layer_norm_per_layer_list_places_exactly_those():
    model = deep_gru([4, 4, 2], input_shape=(None, 3), layer_norm=[False, True, True])
    assert _names(model) == ["gru_1", "gru_2", "layer_norm_2", "gru_3", "layer_norm_3"]


def test_layer_norm_follows_the_residual_add():
    model = deep_lstm([4, 4], input_shape=(None, 4), residual=True, layer_norm=True)
    assert _names(model)[:4] == ["sequence", "lstm_1", "residual_1", "layer_norm_1"]
    node = model.get_layer("layer_norm_1")._inbound_nodes[0]
    assert node.input_tensors[0]._keras_history.operation.name == "residual_1"


# --- dropout and cell_kwargs ---------------------------------------------------------


def test_dropout_is_the_recurrent_layers_own_argument_per_layer():
    with pytest.warns(StackWarning, match="recurrent_dropout"):
        model = deep_lstm(
            [4, 4], input_shape=(None, 2), dropout=[0.1, 0.3], recurrent_dropout=0.2
        )
    assert [layer.dropout for layer in model.layers] == [0.1, 0.3]
    assert [layer.recurrent_dropout for layer in model.layers] == [0.2, 0.2]
    # No separate Dropout layers.
    assert _names(model) == ["lstm_1", "lstm_2"]


def test_cell_kwargs_reach_every_layer_or_each_layer():
    model = deep_lstm(
        [3, 3], input_shape=(None, 2),
        cell_kwargs={"kernel_regularizer": "l2", "unit_forget_bias": False},
    )
    for layer in model.layers:
        assert layer.cell.unit_forget_bias is False
        assert layer.cell.kernel_regularizer is not None
    mixed = deep_rnn(
        ["gru", "lstm"], [3, 3], input_shape=(None, 2),
        cell_kwargs=[{"seed": 7}, {"recurrent_initializer": "zeros"}],
    )
    np.testing.assert_array_equal(
        np.asarray(mixed.get_layer("lstm_2").cell.recurrent_kernel), 0.0
    )


def test_cell_kwargs_keys_are_real_keras_arguments():
    for cell, cls in (("simple_rnn", keras.layers.SimpleRNN), ("lstm", keras.layers.LSTM),
                      ("gru", keras.layers.GRU)):
        parameters = set(inspect.signature(cls.__init__).parameters)
        assert CELL_KWARGS[cell] <= parameters, CELL_KWARGS[cell] - parameters


# --- heads and compilation -----------------------------------------------------------


@pytest.mark.parametrize(
    "head, num_classes, activation, loss, shape",
    [
        ("regression", None, "linear", "mse", (3, 1)),
        ("regression", 2, "linear", "mse", (3, 2)),
        ("binary", None, "sigmoid", "binary_crossentropy", (3, 1)),
        ("multiclass", 4, "softmax", "sparse_categorical_crossentropy", (3, 4)),
    ],
)
def test_per_sample_heads(head, num_classes, activation, loss, shape):
    model = deep_lstm([4, 3], input_shape=(5, 2), head=head, num_classes=num_classes)
    assert _names(model) == ["lstm_1", "lstm_2", "head"]
    dense = model.get_layer("head")
    assert isinstance(dense, keras.layers.Dense)
    assert dense.activation.__name__ == activation
    assert model.loss == loss
    assert model.optimizer.__class__.__name__ == "Adam"
    assert tuple(model(np.random.rand(3, 5, 2).astype("float32")).shape) == shape


def test_tagger_head_is_applied_per_timestep():
    model = deep_lstm([4, 4], vocab_size=10, head="tagger", num_classes=3)
    assert [layer.return_sequences for layer in model.layers[1:3]] == [True, True]
    head = model.get_layer("head")
    assert isinstance(head, keras.layers.TimeDistributed)
    assert head.layer.activation.__name__ == "softmax"
    assert model.loss == "sparse_categorical_crossentropy"
    probabilities = np.asarray(model(np.array([[1, 2, 3, 4, 0, 0]], "int32")))
    assert probabilities.shape == (1, 6, 3)
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)


def test_regression_on_a_sequence_output_is_time_distributed():
    model = deep_gru([4, 4], input_shape=(None, 2), output="sequence", head="regression")
    assert isinstance(model.get_layer("head"), keras.layers.TimeDistributed)
    assert tuple(model(np.zeros((2, 7, 2), "float32")).shape) == (2, 7, 1)


def test_no_compile_without_head_or_when_asked():
    assert deep_lstm([2], input_shape=(None, 1)).compiled is False
    assert deep_lstm([2], input_shape=(None, 1), head="binary", compile=False).compiled is False
    assert deep_lstm([2], input_shape=(None, 1), head="binary").compiled is True


def test_builder_models_survive_a_config_round_trip():
    functional = deep_lstm([4, 4], input_shape=(None, 4), residual=True, layer_norm=True,
                           head="binary")
    clone = keras.Model.from_config(functional.get_config())
    assert _names(clone) == _names(functional)
    assert clone.count_params() == functional.count_params()
    sequential = deep_gru([4, 4], vocab_size=10, bidirectional=[True, False], head="tagger",
                          num_classes=3)
    clone = keras.Sequential.from_config(sequential.get_config())
    assert _names(clone) == _names(sequential)
    assert clone.get_layer("embedding").mask_zero is True
    assert [layer.return_sequences for layer in clone.layers[1:3]] == [True, True]


# --- bad arguments -------------------------------------------------------------------

_GOOD = {"input_shape": (None, 3)}


@pytest.mark.parametrize(
    "cell, units, kwargs, message",
    [
        ("lstm", [], _GOOD, r"units must list at least one unit count.*got \[\]"),
        ("lstm", [4, 0], _GOOD, r"units\[1\] must be a positive integer, got 0"),
        ("lstm", [4, 2.5], _GOOD, r"units\[1\] must be a positive integer, got 2.5"),
        ("lstm", "4", _GOOD, r"units must be a positive integer .*or a list"),
        ("transformer", [4], _GOOD,
         r"cell must be one of 'simple_rnn', 'lstm', 'gru'.*got 'transformer'"),
        (["lstm", "rnn"], [4, 2], _GOOD,
         r"cell\[1\] must be one of 'simple_rnn', 'lstm', 'gru', got 'rnn'"),
        (["lstm"], [4, 2], _GOOD, r"cell has 1 entries but the stack has 2 layer"),
        ("lstm", [4, 2], {**_GOOD, "bidirectional": [True]},
         r"bidirectional has 1 entries but the stack has 2 layer.*list of exactly 2"),
        ("lstm", [4, 2], {**_GOOD, "dropout": [0.1, 0.1, 0.1]},
         r"dropout has 3 entries but the stack has 2"),
        ("lstm", [4, 2], {**_GOOD, "recurrent_dropout": [0.1]},
         r"recurrent_dropout has 1 entries"),
        ("lstm", [4, 2], {**_GOOD, "layer_norm": [True]}, r"layer_norm has 1 entries"),
        ("lstm", [4, 2], {**_GOOD, "cell_kwargs": [{}]}, r"cell_kwargs has 1 entries"),
        ("lstm", [4], {**_GOOD, "dropout": 1.0},
         r"dropout must be a number in \[0, 1\).*got 1.0"),
        ("lstm", [4], {**_GOOD, "dropout": -0.1}, r"dropout must be a number in \[0, 1\)"),
        ("lstm", [4, 4], {**_GOOD, "dropout": [0.1, 2]},
         r"dropout\[1\] must be a number in \[0, 1\).*got 2"),
        ("lstm", [4], {**_GOOD, "recurrent_dropout": 1},
         r"recurrent_dropout must be a number in \[0, 1\)"),
        ("lstm", [4], {**_GOOD, "head": "tagger", "num_classes": 3, "output": "last"},
         r"head='tagger'.*needs output='sequence'.*got output='last'"),
        ("lstm", [4], {}, r"input_shape.*vocab_size"),
        ("lstm", [4], {"input_shape": (None,)}, r"input_shape must be \(timesteps, features\)"),
        ("lstm", [4], {"input_shape": (None, 0)},
         r"input_shape\[1\] \(features\) must be a positive integer, got 0"),
        ("lstm", [4], {"vocab_size": 10, "input_shape": (5, 3)},
         r"input_shape must be \(timesteps,\) or None"),
        ("lstm", [4], {"vocab_size": 1}, r"vocab_size must be an integer >= 2.*got 1"),
        ("lstm", [4], {**_GOOD, "embedding_dim": 8}, r"embedding_dim applies only to token"),
        ("lstm", [4], {**_GOOD, "merge_mode": None},
         r"merge_mode must be one of 'concat', 'sum', 'mul', 'ave', got None"),
        ("lstm", [4], {**_GOOD, "merge_mode": "max"}, r"merge_mode must be one of"),
        ("lstm", [4], {**_GOOD, "bidirectional": "yes"},
         r"bidirectional must be True or False, got 'yes'"),
        ("lstm", [4], {**_GOOD, "output": "all"},
         r"output must be 'last' or 'sequence', got 'all'"),
        ("lstm", [4], {**_GOOD, "head": "softmax"},
         r"head must be None or one of 'regression', 'binary', 'multiclass', 'tagger'"),
        ("lstm", [4], {**_GOOD, "head": "multiclass"},
         r"head='multiclass' needs num_classes, an integer >= 2.*got None"),
        ("lstm", [4], {**_GOOD, "head": "tagger", "num_classes": 1},
         r"head='tagger' needs num_classes, an integer >= 2.*got 1"),
        ("lstm", [4], {**_GOOD, "head": "binary", "num_classes": 2},
         r"head='binary'.*num_classes must be None or 1.*got 2"),
        ("lstm", [4], {**_GOOD, "num_classes": 3}, r"num_classes applies only with a head"),
        ("lstm", [4], {**_GOOD, "cell_kwargs": {"activaton": "relu"}},
         r"cell_kwargs has 'activaton'.*accepted keys: activation,"),
        ("lstm", [4], {**_GOOD, "cell_kwargs": {"reset_after": False}},
         r"cell_kwargs has 'reset_after', which a LSTM layer"),
        ("lstm", [4], {**_GOOD, "cell_kwargs": {"return_sequences": False}},
         r"cell_kwargs must not set 'return_sequences'.*output='sequence'"),
        ("lstm", [4], {**_GOOD, "cell_kwargs": {"dropout": 0.2}},
         r"cell_kwargs must not set 'dropout': set it with the dropout argument"),
        ("lstm", [4], {**_GOOD, "cell_kwargs": "relu"}, r"cell_kwargs must be a dict"),
        ("lstm", [4], {**_GOOD, "name": ""}, r"name must be a non-empty string"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(cell, units, kwargs, message):
    with pytest.raises(ValueError, match=message):
        deep_rnn(cell, units, **kwargs)
    # The shared validation path says the same.
    with pytest.raises(ValueError, match=message):
        normalize_stack_arguments(cell, units, **kwargs)


def test_bad_arguments_fail_before_keras_is_imported():
    # Validation is pure: a bad call never imports Keras, let alone makes a layer.
    script = textwrap.dedent(
        """
        import sys
        from stacked_keras.builders import deep_rnn
        try:
            deep_rnn("lstm", [4, 4, 0], input_shape=(None, 3))
        except ValueError as error:
            print(error)
        print(sorted(m for m in ("keras", "tensorflow") if m in sys.modules))
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["units[2] must be a positive integer, got 0", "[]"]


# --- warnings ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cell, cell_kwargs, reason",
    [
        ("lstm", {"activation": "relu"}, "activation='relu'"),
        ("gru", {"recurrent_activation": "hard_sigmoid"}, "recurrent_activation='hard_sigmoid'"),
        ("lstm", {"unroll": True}, "unroll=True"),
        ("gru", {"use_bias": False}, "use_bias=False"),
        ("gru", {"reset_after": False}, "reset_after=False"),
    ],
)
def test_cudnn_blocking_settings_warn_naming_layers_and_reasons(cell, cell_kwargs, reason):
    with pytest.warns(StackWarning, match="cuDNN") as record:
        deep_rnn(cell, [3, 3], input_shape=(4, 2), cell_kwargs=cell_kwargs)
    stack_warnings = [w for w in record if issubclass(w.category, StackWarning)]
    assert len(stack_warnings) == 1  # once per builder call, listing every layer
    message = str(stack_warnings[0].message)
    assert f"{cell}_1: {reason}" in message and f"{cell}_2: {reason}" in message


def test_recurrent_dropout_warns_only_for_the_layers_that_have_it():
    with pytest.warns(StackWarning) as record:
        deep_rnn(["gru", "lstm"], [3, 3], input_shape=(None, 2), recurrent_dropout=[0.0, 0.25])
    message = str(record[0].message)
    assert "lstm_2: recurrent_dropout=0.25" in message
    assert "gru_1" not in message
    assert record[0].filename == __file__  # points at the caller's line


def test_stacked_simple_rnn_warns_about_vanishing_gradients():
    with pytest.warns(StackWarning, match=r"vanishing.*use LSTM or GRU"):
        deep_rnn(["simple_rnn", "lstm", "simple_rnn"], [3, 3, 3], input_shape=(None, 2))


def test_default_stacks_do_not_warn():
    _no_stack_warning(lambda: deep_lstm([4, 4, 4], input_shape=(None, 2), dropout=0.2))
    _no_stack_warning(lambda: deep_gru([4, 4], vocab_size=10, bidirectional=True))
    _no_stack_warning(lambda: deep_simple_rnn(4, input_shape=(None, 2)))


# --- StackSpec: the shared validation path ------------------------------------------


def test_stack_spec_is_frozen_and_normalized_per_layer():
    spec = normalize_stack_arguments(
        "GRU", [8, 8, 4], input_shape=[None, 8], dropout=0.1, bidirectional=[True, False, False]
    )
    assert isinstance(spec, StackSpec)
    assert spec.cells == ("gru", "gru", "gru")
    assert spec.dropout == (0.1, 0.1, 0.1)
    assert spec.widths == (16, 8, 4)
    assert spec.layer_names == ("gru_1", "gru_2", "gru_3")
    with pytest.raises(AttributeError):
        spec.units = (1,)


def test_stack_spec_arguments_round_trip_through_json():
    spec = normalize_stack_arguments(
        ["lstm", "gru"], [4, 4], vocab_size=30, input_shape=(12,), bidirectional=[True, False],
        merge_mode="ave", dropout=[0.0, 0.2], layer_norm=[True, True], residual=True,
        head="tagger", num_classes=5,
    )
    arguments = json.loads(json.dumps(spec.as_arguments()))
    assert normalize_stack_arguments(**arguments) == spec
    assert arguments["output"] == "sequence"
    assert arguments["embedding_dim"] == 4
    model = build_stack(normalize_stack_arguments(**arguments))
    # merge_mode="ave" keeps bi_lstm_1 at the embedding's width 4: both layers are residual.
    assert _names(model) == [
        "tokens", "embedding", "bi_lstm_1", "residual_1", "layer_norm_1", "gru_2",
        "residual_2", "layer_norm_2", "head",
    ]


def test_default_arguments_compact_to_single_values():
    arguments = normalize_stack_arguments("lstm", [3, 2], input_shape=(None, 3)).as_arguments()
    assert arguments["cell"] == "lstm"
    assert arguments["dropout"] == 0.0
    assert arguments["layer_norm"] is False
    assert arguments["cell_kwargs"] is None
    assert arguments["input_shape"] == [None, 3]
    assert normalize_stack_arguments(**{**arguments, "layer_norm": True}).layer_norm == (
        True, False,
    )


def test_docstring_examples_run():
    # Examples in the module's docstrings are the README's promises: run them.
    failures, attempted = doctest.testmod(builders, verbose=False)
    assert attempted >= 8
    assert failures == 0


def test_readme_build_example():
    from stacked_keras import deep_lstm

    model = deep_lstm([32, 16], input_shape=(None, 4), dropout=0.1, head="binary")
    print([(layer.name, layer.return_sequences) for layer in model.layers[:2]])
    # [('lstm_1', True), ('lstm_2', False)]
    assert [(layer.name, layer.return_sequences) for layer in model.layers[:2]] == [
        ("lstm_1", True), ("lstm_2", False),
    ]
    assert model.output_shape == (None, 1)
    assert model.loss == "binary_crossentropy"


# --- training ------------------------------------------------------------------------


def test_two_layer_lstm_learns_a_toy_task():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(256, 8, 2)).astype("float32")
    y = x[:, :, 0].mean(axis=1, keepdims=True)  # the running mean of feature 0: needs memory
    model = deep_lstm([8, 8], input_shape=(8, 2), head="regression")
    before = model.evaluate(x, y, verbose=0)[0]
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0)
    after = model.evaluate(x, y, verbose=0)[0]
    assert np.isfinite(history.history["loss"]).all()
    assert history.history["loss"][-1] < history.history["loss"][0]
    assert after < 0.5 * before


# --- the argument list is written once ----------------------------------------------


def test_deep_rnn_signature_is_the_one_normalize_stack_arguments_declares():
    from stacked_keras.stack_arguments import STACK_ARGUMENT_NAMES

    assert inspect.signature(deep_rnn).parameters == inspect.signature(
        normalize_stack_arguments
    ).parameters
    assert tuple(inspect.signature(deep_rnn).parameters) == STACK_ARGUMENT_NAMES


def test_one_cell_builders_show_every_argument_but_cell():
    expected = [name for name in inspect.signature(deep_rnn).parameters if name != "cell"]
    for builder in (deep_lstm, deep_gru, deep_simple_rnn):
        parameters = inspect.signature(builder).parameters
        assert list(parameters) == expected
        assert parameters["dropout"].default == 0.0
        assert parameters["input_shape"].kind is inspect.Parameter.KEYWORD_ONLY


def test_as_arguments_and_zoo_spec_keys_are_the_signature():
    from stacked_keras.zoo.specs import BUILDER_ARGUMENTS

    names = tuple(inspect.signature(deep_rnn).parameters)
    spec = normalize_stack_arguments("lstm", [3, 2], input_shape=(None, 3))
    assert tuple(spec.as_arguments()) == names
    assert BUILDER_ARGUMENTS["deep_rnn"] == names


def test_spec_and_argument_modules_have_running_examples():
    from stacked_keras import stack_arguments

    failures, attempted = doctest.testmod(stack_arguments, verbose=False)
    assert attempted >= 2
    assert failures == 0


def test_spec_and_validation_modules_import_no_keras():
    script = (
        "import sys\n"
        "import stacked_keras.stack_spec, stacked_keras.stack_arguments\n"
        "print(sorted(m for m in ('keras', 'tensorflow') if m in sys.modules))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines() == ["[]"]


def _documented_arguments(function):
    """The argument names of a Keras-style docstring's Args section, in order."""
    import re

    doc = inspect.getdoc(function)
    section = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0]
    return [match.group(1) for match in re.finditer(r"^    (\w+): ", section, re.MULTILINE)]


def _argument_rows(function):
    """(name, default, description) of each documented argument, description on one line."""
    import re

    doc = inspect.getdoc(function)
    section = doc.split("Args:\n", 1)[1].split("\n\n", 1)[0]
    parameters = inspect.signature(function).parameters
    rows = []
    for match in re.finditer(r"^    (\w+): (.*?)(?=^    \w+: |\Z)", section, re.MULTILINE | re.DOTALL):
        name, text = match.group(1), " ".join(match.group(2).split())
        default = parameters[name].default
        shown = "required" if default is inspect.Parameter.empty else f"`{default!r}`"
        rows.append(f"| `{name}` | {shown} | {text} |")
    return rows


def test_docstrings_document_exactly_the_signature():
    names = list(inspect.signature(deep_rnn).parameters)
    assert _documented_arguments(deep_rnn) == names
    assert _documented_arguments(normalize_stack_arguments) == names


def test_docs_argument_table_matches_deep_rnn():
    from pathlib import Path

    table = ["| Argument | Default | Meaning |", "| --- | --- | --- |", *_argument_rows(deep_rnn)]
    docs = Path(__file__).resolve().parents[1] / "docs" / "builders.md"
    text = docs.read_text(encoding="utf-8")
    start = text.index("| Argument |")
    written = text[start:].split("\n\n", 1)[0].strip().splitlines()
    assert written == table, "docs/builders.md is stale; its table should read:\n" + "\n".join(table)

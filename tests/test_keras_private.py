"""The Keras internals stacked-keras reads (stacked_keras/keras_private.py) are where it looks.

These fail on the first Keras release that moves or changes one of them,
naming it, rather than letting a builder or the linter break somewhere
deeper.
"""

from __future__ import annotations

import importlib

import keras
import numpy as np
import pytest

from stacked_keras import keras_private


@pytest.mark.parametrize("name", sorted(keras_private.PRIVATE_NAMES))
def test_every_private_name_is_where_keras_private_reads_it(name):
    module = importlib.import_module(keras_private.PRIVATE_NAMES[name])
    assert getattr(module, name) is getattr(keras_private, name)


def test_a_moved_name_is_an_import_error_naming_it(monkeypatch):
    monkeypatch.setitem(keras_private.PRIVATE_NAMES, "Gone", "keras.src.models.functional")
    with pytest.raises(ImportError, match=r"has no keras\.src\.models\.functional\.Gone.*keras_private\.py"):
        keras_private._internal("Gone")


def _functional() -> keras.Model:
    tokens = keras.Input((None,), dtype="int32")
    mask = keras.ops.not_equal(tokens, 0)
    hidden = keras.layers.Embedding(10, 4)(tokens)
    output = keras.layers.LSTM(3)(hidden, mask=mask)
    return keras.Model(tokens, output)


def test_functional_is_the_class_of_functional_models_only():
    assert isinstance(_functional(), keras_private.Functional)
    assert not isinstance(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]), keras_private.Functional)


def test_make_node_key_files_a_layers_nodes_as_functional_models_do():
    model = _functional()
    lstm = model.get_layer(index=-1)
    assert keras_private.make_node_key(lstm, 0) in model._nodes


def test_safe_mode_scope_switches_safe_mode_for_its_block_only():
    from keras.src.saving import serialization_lib

    with keras_private.SafeModeScope(False):
        assert serialization_lib.in_safe_mode() is False
    assert serialization_lib.in_safe_mode() in (None, True)


def test_rnn_runs_a_step_over_time_major_inputs():
    # (time, batch, features); TensorFlow's loop needs input_length when time-major.
    inputs = keras.ops.ones((4, 2, 3))

    def step(x, states):
        total = states[0] + x
        return total, [total]

    last, outputs, states = keras_private.rnn(
        step, inputs, [keras.ops.zeros((2, 3))], time_major=True, input_length=4
    )
    np.testing.assert_allclose(keras.ops.convert_to_numpy(last), np.full((2, 3), 4.0))
    assert tuple(outputs.shape) == (4, 2, 3)


def test_cudnn_ok_accepts_the_default_lstm_settings_where_a_gpu_is_visible():
    import tensorflow as tf

    cell = keras.layers.LSTMCell(2)
    gpu = bool(tf.config.list_logical_devices("GPU"))
    assert bool(keras_private.cudnn_ok(cell.activation, cell.recurrent_activation, False, True)) is gpu
    assert not keras_private.cudnn_ok(keras.activations.relu, cell.recurrent_activation, False, True)


class _Double(keras.layers.Layer):
    def call(self, inputs):
        return inputs * 2


def test_call_argument_flags_follow_the_layers_call_signature():
    assert keras_private.call_has_training_arg(keras.layers.Dropout(0.5))
    assert not keras_private.call_has_training_arg(_Double())
    assert keras_private.call_has_mask_arg(keras.layers.LSTM(1))
    assert not keras_private.call_has_mask_arg(_Double())


def test_is_ops_operation_tells_ops_from_layers():
    operations = _functional().operations
    found = {type(operation).__name__: keras_private.is_ops_operation(operation) for operation in operations}
    assert found["NotEqual"] is True
    assert found["LSTM"] is False and found["Embedding"] is False

"""`LSTMStack`/`GRUStack` compute the stack of standard Keras layers they stand for.

Pins: outputs and gradients (inputs and every weight) equal to the standard
layers' to 1e-5, for both cells, depths 1-4, unit counts that differ per
layer, sequences shorter than the stack is deep, both `return_sequences`, in
eager and graph mode; config round trips; the errors for bad arguments and
masks; the builders' `fused` option (same predictions as the unfused model
from the same weights, same training, determinism under
`keras.utils.set_random_seed`, the progress bar and callbacks).
"""

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from stacked_keras import GRUStack, LSTMStack, deep_gru, deep_lstm, deep_rnn  # noqa: E402

STANDARD = {LSTMStack: keras.layers.LSTM, GRUStack: keras.layers.GRU}


def _pair(stack_class, units, return_sequences, features=3):
    """A model of one stack layer and the standard stack, with the same weights."""
    stack = stack_class(units, return_sequences=return_sequences, bias_initializer="random_normal")
    fused = keras.Sequential([keras.Input((None, features)), stack])
    layers = [STANDARD[stack_class](u, return_sequences=stack.layer_return_sequences(i)) for i, u in enumerate(units)]
    standard = keras.Sequential([keras.Input((None, features)), *layers])
    standard.set_weights(stack.get_weights())
    return fused, standard


def _output_and_gradients(model, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = model(x)
        loss = tf.reduce_sum(y * tf.sin(3.0 * y + 1.0))
    return [y, *tape.gradient(loss, [x, *model.trainable_variables])]


@pytest.mark.parametrize("stack_class", [LSTMStack, GRUStack])
@pytest.mark.parametrize(
    ("units", "timesteps"), [([4], 5), ([4, 6], 7), ([4, 6, 5], 7), ([3, 3, 3, 3], 2), ([5, 4, 3], 1)]
)
@pytest.mark.parametrize("return_sequences", [False, True])
def test_outputs_and_gradients_equal_the_standard_stack(stack_class, units, timesteps, return_sequences):
    fused, standard = _pair(stack_class, units, return_sequences)
    x = tf.constant(np.random.default_rng(1).standard_normal((5, timesteps, 3)).astype("float32"))
    for got, want in zip(_output_and_gradients(fused, x), _output_and_gradients(standard, x)):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


@pytest.mark.parametrize("stack_class", [LSTMStack, GRUStack])
def test_graph_mode_with_a_variable_length_equals_the_standard_stack(stack_class):
    fused, standard = _pair(stack_class, [6, 5, 4], return_sequences=True)
    run_fused = tf.function(lambda x: _output_and_gradients(fused, x), reduce_retracing=True)
    run_standard = tf.function(lambda x: _output_and_gradients(standard, x), reduce_retracing=True)
    rng = np.random.default_rng(2)
    for timesteps in (9, 4):  # one trace for both lengths
        x = tf.constant(rng.standard_normal((3, timesteps, 3)).astype("float32"))
        for got, want in zip(run_fused(x), run_standard(x)):
            np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-5)


def test_layer_weights_have_the_keras_cells_shapes_and_forget_bias():
    lstm = LSTMStack([4, 2])
    lstm.build((None, None, 3))
    kernel, recurrent, bias = lstm.layer_weights(1)
    assert (tuple(kernel.shape), tuple(recurrent.shape), tuple(bias.shape)) == ((4, 8), (2, 8), (8,))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(bias), [0, 0, 1, 1, 0, 0, 0, 0])
    gru = GRUStack([4, 2])
    gru.build((None, None, 3))
    assert [tuple(w.shape) for w in gru.layer_weights(0)] == [(3, 12), (4, 12), (2, 12)]
    assert [w.name for w in gru.weights][:3] == ["kernel_0", "recurrent_kernel_0", "bias_0"]


@pytest.mark.parametrize("stack_class", [LSTMStack, GRUStack])
def test_config_round_trip_rebuilds_the_same_layer(stack_class):
    layer = stack_class([5, 3], return_sequences=True, name="grid", kernel_initializer="he_normal")
    config = layer.get_config()
    assert config["units"] == [5, 3] and config["return_sequences"] is True
    clone = stack_class.from_config(config)
    assert clone.get_config() == config
    assert keras.saving.get_registered_name(stack_class) == f"stacked_keras>{stack_class.__name__}"


@pytest.mark.parametrize(
    ("units", "error", "words"),
    [
        (128, TypeError, "list of positive ints"),
        ("128", TypeError, "list of positive ints"),
        ([], ValueError, "non-empty list"),
        ([64, 0], ValueError, "non-empty list of positive ints"),
        ([64, True], ValueError, "positive ints"),
    ],
)
def test_bad_units_name_the_problem_and_the_form(units, error, words):
    with pytest.raises(error, match=words):
        LSTMStack(units)


def test_a_mask_is_refused_with_the_way_out_not_dropped():
    # Keras drops a mask silently (with a warning) at a layer without mask
    # support; the stack takes it, to refuse it when the model runs.
    model = keras.Sequential(
        [keras.Input((None,), dtype="int32"), keras.layers.Embedding(10, 4, mask_zero=True), LSTMStack([4, 4])]
    )
    with pytest.raises(ValueError, match="received a mask.*standard LSTM layers"):
        model(np.array([[1, 2, 0]]))


def test_layer_weights_before_build_says_to_call_it_first():
    with pytest.raises(ValueError, match="not built yet"):
        GRUStack([3]).layer_weights(0)


def test_unknown_feature_count_is_refused():
    with pytest.raises(ValueError, match="features"):
        LSTMStack([3]).build((None, None, None))


# -- the builders' option ------------------------------------------------------


@pytest.mark.parametrize("builder", [deep_lstm, deep_gru])
@pytest.mark.parametrize("output", ["last", "sequence"])
def test_fused_builder_predicts_what_the_unfused_one_does_from_the_same_weights(builder, output):
    plain = builder([6, 5, 4], input_shape=(None, 3), head="regression", output=output)
    fused = builder([6, 5, 4], input_shape=(None, 3), head="regression", output=output, fused=True)
    cell = "lstm" if builder is deep_lstm else "gru"
    assert [layer.name for layer in fused.layers] == [f"{cell}_stack", "head"]
    fused.set_weights(plain.get_weights())
    x = np.random.default_rng(3).standard_normal((4, 8, 3)).astype("float32")
    np.testing.assert_allclose(fused.predict(x, verbose=0), plain.predict(x, verbose=0), atol=1e-5)


def test_fused_true_names_what_prevents_it_and_auto_falls_back():
    with pytest.raises(ValueError, match="bidirectional, dropout.*fused='auto'"):
        deep_lstm([4, 4], input_shape=(None, 3), bidirectional=True, dropout=0.1, fused=True)
    with pytest.raises(ValueError, match="all LSTM or all GRU"):
        deep_rnn(["lstm", "gru"], [4, 4], input_shape=(None, 3), fused=True)
    with pytest.raises(ValueError, match="mask_zero"):
        deep_gru([4, 4], vocab_size=20, fused=True)
    with pytest.raises(ValueError, match="fused must be True, False or 'auto'"):
        deep_gru([4, 4], input_shape=(None, 3), fused="yes")
    assert [layer.name for layer in deep_gru([4, 4], input_shape=(None, 3), layer_norm=True, fused="auto").layers] == [
        "gru_1", "layer_norm_1", "gru_2"
    ]
    tokens = deep_gru([4, 4], vocab_size=20, mask_zero=False, head="binary", fused="auto")
    assert [layer.name for layer in tokens.layers] == ["embedding", "gru_stack", "head"]


def _train(fused, seed=0):
    keras.utils.set_random_seed(seed)
    model = deep_lstm([6, 4], input_shape=(7, 3), head="regression", fused=fused)
    rng = np.random.default_rng(0)
    x = rng.standard_normal((96, 7, 3)).astype("float32")
    y = x[:, -2:].mean(axis=(1, 2))[:, None]
    x_val = rng.standard_normal((32, 7, 3)).astype("float32")
    y_val = x_val[:, -2:].mean(axis=(1, 2))[:, None]
    history = model.fit(x, y, batch_size=16, epochs=3, validation_data=(x_val, y_val), verbose=0)
    return model, history.history


def test_fused_training_is_deterministic_under_set_random_seed_and_learns():
    first, history = _train(fused=True)
    second, _ = _train(fused=True)
    for a, b in zip(first.get_weights(), second.get_weights()):
        np.testing.assert_array_equal(a, b)
    assert history["val_loss"][-1] < history["val_loss"][0]


def test_fused_training_learns_what_the_unfused_model_learns():
    # Same seed: the same initial weights (same shapes, same creation order)
    # and the same shuffles, so the same steps up to float32 rounding.
    fused, fused_history = _train(fused=True)
    plain, plain_history = _train(fused=False)
    for a, b in zip(fused.get_weights(), plain.get_weights()):
        np.testing.assert_allclose(a, b, atol=1e-4)
    np.testing.assert_allclose(fused_history["loss"], plain_history["loss"], rtol=1e-4)


def test_fused_fit_keeps_the_progress_bar_and_per_batch_callbacks(capsys):
    model = deep_gru([4, 4], input_shape=(5, 2), head="regression", fused=True)
    seen = []
    callback = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    x = np.zeros((40, 5, 2), "float32")
    model.fit(x, np.zeros((40, 1), "float32"), batch_size=8, epochs=1, verbose=1, callbacks=[callback])
    assert seen == [0, 1, 2, 3, 4]
    assert "5/5" in capsys.readouterr().out

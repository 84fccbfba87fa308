"""FusedLSTM and FusedGRU compute what keras.layers.LSTM and GRU compute, and save, load and export alike."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from stacked_keras.layers import FUSED_LAYERS, FusedGRU, FusedLSTM, fused_counterpart

FEATURES = 3
UNITS = 4
ATOL = 1e-5

PAIRS = [
    pytest.param(FusedLSTM, keras.layers.LSTM, {}, id="lstm"),
    pytest.param(FusedGRU, keras.layers.GRU, {}, id="gru"),
    pytest.param(FusedGRU, keras.layers.GRU, {"reset_after": False}, id="gru-reset-before"),
]


def _sequences(batch=4, timesteps=6, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, FEATURES)).astype("float32")


def _twins(fused_class, standard_class, weight_seed=1, **kwargs):
    """A fused layer and its standard parent with the same (non-trivial) weights, built."""
    fused = fused_class(UNITS, **kwargs)
    standard = standard_class(UNITS, **kwargs)
    fused.build((None, None, FEATURES))
    standard.build((None, None, FEATURES))
    rng = np.random.default_rng(weight_seed)
    weights = [rng.normal(scale=0.5, size=w.shape).astype("float32") for w in standard.get_weights()]
    fused.set_weights(weights)
    standard.set_weights(weights)
    return fused, standard


def _assert_close(actual, expected, atol=ATOL):
    for a, e in zip(keras.tree.flatten(actual), keras.tree.flatten(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), atol=atol, rtol=0)


def _gradients(layer, x, training=False):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        output = keras.tree.flatten(layer(x, training=training))[0]
        loss = tf.reduce_sum(tf.sin(output))  # weights every output differently
    return tape.gradient(loss, [x, *layer.trainable_variables])


# -- the same function --------------------------------------------------------


@pytest.mark.parametrize("fused_class, standard_class, extra", PAIRS)
@pytest.mark.parametrize(
    "options",
    [{}, {"return_sequences": True}, {"go_backwards": True, "return_sequences": True}, {"return_state": True}],
    ids=["last", "sequences", "backwards", "state"],
)
def test_fused_layer_gives_the_outputs_of_the_standard_layer(fused_class, standard_class, extra, options):
    fused, standard = _twins(fused_class, standard_class, **extra, **options)
    x = _sequences()
    _assert_close(fused(x), standard(x))


@pytest.mark.parametrize("fused_class, standard_class, extra", PAIRS)
def test_fused_layer_gives_the_gradients_of_the_standard_layer(fused_class, standard_class, extra):
    fused, standard = _twins(fused_class, standard_class, return_sequences=True, **extra)
    x = _sequences()
    for got, want in zip(_gradients(fused, x), _gradients(standard, x), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("fused_class, standard_class, extra", PAIRS)
def test_fused_layer_serves_any_length_with_a_known_batch_size(fused_class, standard_class, extra):
    # A static batch with an unknown time length: the loop must still run every timestep.
    fused, standard = _twins(fused_class, standard_class, return_sequences=True, **extra)
    x = _sequences(batch=4, timesteps=9)
    traced = tf.function(lambda t: fused(t), input_signature=[tf.TensorSpec([4, None, FEATURES])])
    _assert_close(traced(x), standard(x))


def test_fused_layer_honours_masks_like_the_standard_layer():
    x = _sequences(batch=3, timesteps=7)
    x[0, 4:] = 0.0  # padded after 4 steps
    x[1, 5:] = 0.0  # padded after 5 steps
    for fused_class, standard_class in [(FusedLSTM, keras.layers.LSTM), (FusedGRU, keras.layers.GRU)]:
        fused, standard = _twins(fused_class, standard_class, return_sequences=True)
        masking = keras.layers.Masking(0.0)
        mask = masking.compute_mask(x)
        _assert_close(fused(x, mask=mask), standard(x, mask=mask))
        # The padded steps repeat the last real output, as Keras does.
        out = np.asarray(fused(x, mask=mask))
        np.testing.assert_allclose(out[0, 4:], np.repeat(out[0, 3:4], 3, axis=0), atol=1e-6)


@pytest.mark.parametrize("fused_class, standard_class, extra", PAIRS)
def test_fused_layer_draws_the_same_input_dropout_as_the_standard_layer(fused_class, standard_class, extra):
    fused, standard = _twins(fused_class, standard_class, dropout=0.5, seed=7, return_sequences=True, **extra)
    x = _sequences()
    dropped = fused(x, training=True)
    _assert_close(dropped, standard(x, training=True))
    assert not np.allclose(np.asarray(dropped), np.asarray(fused(x, training=False)), atol=1e-3)
    _assert_close(fused(x, training=False), standard(x, training=False))


def test_recurrent_dropout_while_training_runs_the_parent_loop_and_matches_it():
    fused, standard = _twins(FusedLSTM, keras.layers.LSTM, recurrent_dropout=0.5, seed=3)
    x = _sequences()
    _assert_close(fused(x, training=True), standard(x, training=True))
    _assert_close(fused(x, training=False), standard(x, training=False))


def test_stateful_fused_layer_carries_its_state_like_the_standard_layer():
    batch = 2
    fused, standard = (
        cls(UNITS, stateful=True) for cls in (FusedLSTM, keras.layers.LSTM)
    )
    for layer in (fused, standard):
        layer.build((batch, None, FEATURES))
    standard.set_weights(fused.get_weights())
    for seed in (0, 1):  # the second call starts from the first call's final state
        x = _sequences(batch=batch, seed=seed)
        _assert_close(fused(x), standard(x))


def test_bidirectional_wrapper_keeps_the_fused_class_in_both_directions():
    x = _sequences()
    fused = keras.layers.Bidirectional(FusedGRU(UNITS, return_sequences=True))
    standard = keras.layers.Bidirectional(keras.layers.GRU(UNITS, return_sequences=True))
    fused(x)
    standard(x)
    standard.set_weights(fused.get_weights())
    assert type(fused.forward_layer) is FusedGRU and type(fused.backward_layer) is FusedGRU
    assert fused.backward_layer.go_backwards
    _assert_close(fused(x), standard(x))


def test_use_cudnn_true_without_a_gpu_fails_as_the_standard_layer_does():
    x = _sequences()
    for fused_class, standard_class in [(FusedLSTM, keras.layers.LSTM), (FusedGRU, keras.layers.GRU)]:
        for cls in (fused_class, standard_class):
            with pytest.raises(ValueError, match="use_cudnn=True was specified, but cuDNN is not supported"):
                cls(UNITS, use_cudnn=True)(x)


def test_config_is_the_standard_layers_config():
    for fused_class, standard_class in [(FusedLSTM, keras.layers.LSTM), (FusedGRU, keras.layers.GRU)]:
        fused = fused_class(UNITS, dropout=0.1, name="same")
        standard = standard_class(UNITS, dropout=0.1, name="same")
        assert fused.get_config() == standard.get_config()
        assert type(fused_class.from_config(fused.get_config())) is fused_class


def test_fused_counterpart_maps_only_lstm_and_gru():
    assert fused_counterpart(keras.layers.LSTM) is FusedLSTM
    assert fused_counterpart(keras.layers.GRU) is FusedGRU
    assert fused_counterpart(keras.layers.SimpleRNN) is keras.layers.SimpleRNN
    assert FUSED_LAYERS == {"LSTM": FusedLSTM, "GRU": FusedGRU}


# -- a fused stack: training, saving, loading, exporting -----------------------


def _stack(lstm, gru):
    return keras.Sequential(
        [
            keras.Input((None, FEATURES), name="sequence"),
            lstm(UNITS, return_sequences=True, name="lstm_1"),
            keras.layers.Bidirectional(gru(UNITS, return_sequences=True, name="gru_2"), name="bi_gru_2"),
            lstm(UNITS, name="lstm_3"),
            keras.layers.Dense(1, name="head"),
        ],
        name="stack",
    )


@pytest.fixture(scope="module")
def trained_pair():
    """A fused stack and the standard stack with its weights, both trained the same 2 epochs."""
    keras.utils.set_random_seed(0)
    fused = _stack(FusedLSTM, FusedGRU)
    standard = _stack(keras.layers.LSTM, keras.layers.GRU)
    standard.set_weights(fused.get_weights())
    x = _sequences(batch=32, timesteps=5, seed=2)
    y = x[:, :, :1].mean(axis=1)
    for model in (fused, standard):
        model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
        model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)
    return fused, standard


def test_fused_stack_trains_to_the_weights_of_the_standard_stack(trained_pair):
    fused, standard = trained_pair
    for got, want in zip(fused.get_weights(), standard.get_weights(), strict=True):
        np.testing.assert_allclose(got, want, atol=1e-4)
    x = _sequences(batch=5, timesteps=8, seed=4)
    _assert_close(fused.predict(x, verbose=0), standard.predict(x, verbose=0), atol=1e-4)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_fused_stack_saves_and_loads_as_fused_layers(trained_pair, tmp_path, suffix):
    fused, _ = trained_pair
    path = tmp_path / f"stack{suffix}"
    fused.save(path)
    loaded = keras.saving.load_model(path, compile=False)  # .h5 cannot reload the "mse" loss string
    classes = [type(layer).__name__ for layer in loaded.layers]
    assert classes == ["FusedLSTM", "Bidirectional", "FusedLSTM", "Dense"]
    assert type(loaded.get_layer("bi_gru_2").forward_layer) is FusedGRU
    x = _sequences(batch=3, timesteps=11, seed=5)
    _assert_close(loaded(x), fused(x))


def test_fused_layers_are_registered_under_the_package_name(trained_pair):
    fused, _ = trained_pair
    config = json.loads(fused.to_json())
    entries = {entry["config"]["name"]: entry for entry in config["config"]["layers"]}
    assert entries["lstm_1"]["registered_name"] == "stacked_keras>FusedLSTM"
    assert entries["bi_gru_2"]["config"]["layer"]["registered_name"] == "stacked_keras>FusedGRU"
    assert keras.saving.get_registered_object("stacked_keras>FusedLSTM") is FusedLSTM


def test_fused_stack_exports_a_savedmodel_that_matches_it(trained_pair, tmp_path):
    from stacked_keras.export import export_saved_model

    fused, standard = trained_pair
    result = export_saved_model(fused, tmp_path / "fused")
    assert result.max_abs_diff <= 1e-5
    serving = tf.saved_model.load(str(result.path)).signatures["serving_default"]
    x = _sequences(batch=6, timesteps=13, seed=6)
    served = next(iter(serving(sequence=tf.constant(x)).values()))
    _assert_close(served, standard(x))


def test_docstring_examples_run():
    import doctest

    from stacked_keras import layers as layers_module

    failures, attempted = doctest.testmod(layers_module, verbose=False)
    assert attempted > 0 and failures == 0

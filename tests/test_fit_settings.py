"""The builders compile for fast `fit` (several batches per call) without changing training.

`build_stack` compiles with `steps_per_execution=STEPS_PER_EXECUTION`. These
tests pin what that must keep: the same weights as one batch per call, the
same run twice under `keras.utils.set_random_seed`, the progress bar,
callbacks (per-batch hooks once per call), `LintCallback`, and `evaluate` /
`predict` on a partial last batch. Inside a distribution strategy's scope the
builders compile with one batch per call (Keras's multi-step function fails
under MirroredStrategy); MirroredStrategy training with these
settings is compared with single-device training in
`tests/run_mirrored_training.py` (tests/test_distributed.py).
"""

import contextlib
import io

import keras
import numpy as np
import pytest

from stacked_keras import LintCallback, deep_gru, deep_lstm
from stacked_keras.builders import STEPS_PER_EXECUTION
from stacked_keras.lint.callback import LintError

# 100 samples in batches of 8: 13 batches, the last one partial, fewer than one call's worth.
SAMPLES, BATCH = 100, 8


def _data(seed=0, samples=SAMPLES):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(samples, 6, 3)).astype("float32")
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    return x, y


def _trained(model, x, y, epochs=2, seed=1, **fit_args):
    keras.utils.set_random_seed(seed)  # the same shuffling order for every model
    history = model.fit(x, y, batch_size=BATCH, epochs=epochs, verbose=0, **fit_args)
    return history.history["loss"], model.get_weights()


def test_builders_compile_with_several_steps_per_execution():
    model = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    assert STEPS_PER_EXECUTION > 1
    assert model.steps_per_execution == STEPS_PER_EXECUTION


def test_uncompiled_and_headless_models_keep_keras_defaults():
    assert not deep_lstm([4, 4], input_shape=(6, 3)).compiled
    model = deep_lstm([4, 4], input_shape=(6, 3), head="regression", compile=False)
    model.compile(optimizer="adam", loss="mse")
    assert model.steps_per_execution == 1


@pytest.mark.parametrize("builder", [deep_lstm, deep_gru])
def test_several_steps_per_call_learn_the_weights_of_one_step_per_call(builder):
    x, y = _data()
    keras.utils.set_random_seed(0)
    fast = builder([5, 4], input_shape=(6, 3), head="regression")
    one_step = builder([5, 4], input_shape=(6, 3), head="regression", compile=False)
    one_step.set_weights(fast.get_weights())
    one_step.compile(optimizer=keras.optimizers.Adam(), loss="mse", metrics=["mae"], steps_per_execution=1)

    fast_loss, fast_weights = _trained(fast, x, y)  # shuffled, as fit does by default
    one_loss, one_weights = _trained(one_step, x, y)

    np.testing.assert_allclose(fast_loss, one_loss, rtol=1e-5)
    for a, b in zip(fast_weights, one_weights):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_training_is_deterministic_under_set_random_seed():
    x, y = _data()
    runs = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        model = deep_lstm([5, 4], input_shape=(6, 3), head="regression", dropout=0.1)
        runs.append(_trained(model, x, y, seed=3))
    (loss_a, weights_a), (loss_b, weights_b) = runs
    assert loss_a == loss_b
    for a, b in zip(weights_a, weights_b):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_shows_every_epoch_with_its_final_count_and_loss():
    x, y = _data()
    model = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        model.fit(x, y, batch_size=BATCH, epochs=2, verbose=1)
    text = output.getvalue()
    assert "Epoch 1/2" in text and "Epoch 2/2" in text
    assert text.count("13/13") == 2  # the finished bar of each epoch counts the real batches
    assert "loss:" in text and "mae:" in text


def test_callbacks_see_each_epoch_and_the_batch_ends_once_per_call():
    x, y = _data(samples=8 * 40)  # 40 batches: two calls of 32, then one of 8

    class Recorder(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.batch_ends, self.epoch_logs = [], []

        def on_train_batch_end(self, batch, logs=None):
            self.batch_ends.append(batch)
            assert set(logs) == {"loss", "mae"}

        def on_epoch_end(self, epoch, logs=None):
            self.epoch_logs.append(logs)

    recorder = Recorder()
    model = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    model.fit(x, y, batch_size=BATCH, epochs=2, verbose=0, callbacks=[recorder])
    assert recorder.batch_ends == [STEPS_PER_EXECUTION - 1, 2 * STEPS_PER_EXECUTION - 1] * 2
    assert len(recorder.epoch_logs) == 2
    assert all(np.isfinite(logs["loss"]) for logs in recorder.epoch_logs)


def test_early_stopping_and_history_work_per_epoch():
    x, y = _data()
    model = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    stop = keras.callbacks.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)
    history = model.fit(x, y, batch_size=BATCH, epochs=5, verbose=0, callbacks=[stop])
    assert len(history.history["loss"]) == 2  # no epoch improves by 1e9: stops after the second


def test_lint_callback_stops_a_broken_stack_before_the_first_batch():
    x, y = _data()
    # A sequence output read by a plain Dense, trained on one target per sample: SK102.
    stack = deep_lstm([4, 4], input_shape=(6, 3), output="sequence")
    model = keras.Sequential([stack, keras.layers.Dense(1)])
    model.compile(optimizer="adam", loss="mse", steps_per_execution=STEPS_PER_EXECUTION)
    before = [w.copy() for w in model.get_weights()]
    with pytest.raises(LintError) as caught:
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0,
                  callbacks=[LintCallback(target=y, fail_on="warning", verbose=False)])
    assert "SK102" in {finding.code for finding in caught.value.findings}
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)
    clean = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    callback = LintCallback(target=y, fail_on="warning", verbose=False)
    history = clean.fit(x, y, batch_size=BATCH, epochs=1, verbose=0, callbacks=[callback])
    assert callback.findings == [] and len(history.history["loss"]) == 1


def test_evaluate_and_predict_cover_every_sample_of_a_partial_last_call():
    x, y = _data()
    model = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    predictions = model.predict(x, batch_size=BATCH, verbose=0)
    assert predictions.shape == (SAMPLES, 1)
    loss, _ = model.evaluate(x, y, batch_size=BATCH, verbose=0)
    np.testing.assert_allclose(loss, np.mean((predictions - y) ** 2), rtol=1e-5)


def test_inside_a_distribution_strategy_scope_the_builder_compiles_one_step_per_call():
    import tensorflow as tf

    with tf.distribute.OneDeviceStrategy("/cpu:0").scope():
        model = deep_lstm([4, 4], input_shape=(6, 3), head="regression")
    assert model.steps_per_execution == 1
    x, y = _data()
    loss, _ = _trained(model, x, y, epochs=1)
    assert np.isfinite(loss).all()

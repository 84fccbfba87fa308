"""`training_data`: the arrays as a tf.data pipeline `fit` takes unchanged, learning what `fit(x, y)` learns.

Pins: every sample once per epoch with the last batch partial; a new order
each epoch, the stored order with `shuffle=False`; a known number of batches
(the progress bar shows it); no autotuning (the source of the end-of-epoch
wait the module describes); the same weights as `fit(x, y)` when neither
shuffles; the same training twice under `keras.utils.set_random_seed`;
multi-input dicts and sample weights; clear errors for bad arguments.
"""

from __future__ import annotations

import contextlib
import io

import keras
import numpy as np
import pytest
import tensorflow as tf

from stacked_keras import deep_lstm, training_data

# fit warns that its default shuffle=True is ignored for any tf.data input; this pipeline shuffles itself.
pytestmark = pytest.mark.filterwarnings("ignore:`shuffle=True` was passed:UserWarning")


def _arrays(samples: int = 10, timesteps: int = 4, features: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((samples, timesteps, features)).astype("float32")
    y = rng.standard_normal((samples, 1)).astype("float32")
    return x, y


def _epoch_rows(dataset: tf.data.Dataset) -> list[list[int]]:
    """The sample numbers (x[:, 0, 0] stores them) of each batch of one pass."""
    return [batch_x[:, 0, 0].numpy().astype(int).tolist() for batch_x, _ in dataset]


def _numbered(samples: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.zeros((samples, 2, 1), "float32")
    x[:, 0, 0] = np.arange(samples)
    return x, np.arange(samples, dtype="float32")[:, None]


def test_each_epoch_has_every_sample_once_in_a_new_order_with_a_partial_last_batch():
    x, y = _numbered(10)
    dataset = training_data(x, y, batch_size=4, seed=1)
    first, second = _epoch_rows(dataset), _epoch_rows(dataset)
    assert [len(b) for b in first] == [4, 4, 2]
    assert sorted(sum(first, [])) == list(range(10)) == sorted(sum(second, []))
    assert sum(first, []) != sum(second, [])
    for batch_x, batch_y in dataset.take(1):  # targets travel with their samples
        np.testing.assert_array_equal(batch_x[:, 0, 0].numpy(), batch_y[:, 0].numpy())


def test_shuffle_false_keeps_the_order_and_the_batch_count_is_known():
    x, y = _numbered(10)
    dataset = training_data(x, y, batch_size=4, shuffle=False)
    assert _epoch_rows(dataset) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert int(dataset.cardinality()) == 3


def test_the_pipeline_does_not_autotune():
    x, y = _arrays()
    assert training_data(x, y).options().autotune.enabled is False


def test_fit_on_it_learns_what_fit_on_the_arrays_learns_when_neither_shuffles():
    x, y = _arrays(12)
    models = []
    for _ in range(2):
        keras.utils.set_random_seed(3)
        models.append(deep_lstm([5, 4], input_shape=(None, 3), head="regression", fused=True))
    models[0].fit(x, y, batch_size=5, epochs=2, shuffle=False, verbose=0)
    models[1].fit(training_data(x, y, batch_size=5, shuffle=False), epochs=2, verbose=0)
    for a, b in zip(models[0].get_weights(), models[1].get_weights()):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)


def test_training_on_it_is_the_same_twice_under_set_random_seed():
    x, y = _arrays(12)
    weights = []
    for _ in range(2):
        keras.utils.set_random_seed(7)
        model = deep_lstm([5, 4], input_shape=(None, 3), head="regression")
        model.fit(training_data(x, y, batch_size=4), epochs=2, verbose=0)
        weights.append(model.get_weights())
    for a, b in zip(*weights):
        np.testing.assert_array_equal(a, b)


def test_progress_bar_and_batch_callbacks_see_every_batch():
    x, y = _arrays(10)
    model = deep_lstm([4], input_shape=(None, 3), head="regression", fused=True)
    seen: list[int] = []
    callback = keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: seen.append(batch))
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        history = model.fit(training_data(x, y, batch_size=4), epochs=1, verbose=1, callbacks=[callback])
    assert seen == [0, 1, 2]
    assert "3/3" in out.getvalue()
    assert np.isfinite(history.history["loss"][0])


def test_multi_input_dicts_and_sample_weights():
    x, y = _numbered(6)
    weights = np.linspace(0.5, 1.0, 6).astype("float32")
    dataset = training_data({"a": x, "b": x * 2}, y, batch_size=4, shuffle=False, sample_weight=weights)
    (inputs, targets, sample_weight), _ = list(dataset)
    np.testing.assert_array_equal(inputs["b"].numpy(), x[:4] * 2)
    np.testing.assert_array_equal(sample_weight.numpy(), weights[:4])
    np.testing.assert_array_equal(targets.numpy(), y[:4])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x, y: training_data(x, y[:5]), r"same number of samples.*x has 10, y has 5"),
        (lambda x, y: training_data(x, y, batch_size=0), r"batch_size must be a positive integer, got 0"),
        (lambda x, y: training_data(x, y, batch_size=True), r"batch_size must be a positive integer"),
        (lambda x, y: training_data(x[:0], y[:0]), r"hold no samples"),
        (lambda x, y: training_data(x, None, sample_weight=np.ones(10)), r"sample_weight needs targets"),
    ],
)
def test_bad_arguments_say_what_is_wrong(call, message):
    x, y = _arrays(10)
    with pytest.raises(ValueError, match=message):
        call(x, y)


def test_a_non_numeric_input_or_a_non_boolean_shuffle_is_a_type_error():
    with pytest.raises(TypeError, match=r"x must be a numeric array"):
        training_data(np.array([{"a": 1}, None], dtype=object))
    with pytest.raises(TypeError, match=r"shuffle must be True or False, got 'yes'"):
        training_data(*_arrays(), shuffle="yes")


def test_inputs_alone_stay_inputs_even_as_a_tuple_of_several():
    # With y=None a tuple of two inputs must not be read by fit as (x, y).
    x, _ = _numbered(4)
    (single,) = list(training_data(x, batch_size=4, shuffle=False))
    assert len(single) == 1
    (pair,) = list(training_data((x, x * 2), batch_size=4, shuffle=False))
    assert len(pair) == 1 and len(pair[0]) == 2
    np.testing.assert_array_equal(pair[0][1].numpy(), x * 2)


def test_float64_arrays_arrive_in_kerass_float_type_as_fit_casts_them():
    x, y = _numbered(4)
    batch_x, batch_y = next(iter(training_data(x.astype("float64"), y.astype("float64"), batch_size=4)))
    assert batch_x.dtype == tf.float32 and batch_y.dtype == tf.float32
    tokens = next(iter(training_data(np.arange(8).reshape(4, 2), y, batch_size=4)))[0]
    assert tokens.dtype == tf.int64  # integer token ids keep their type

"""`training_data` (`stacked_keras.training_data`): in-memory arrays as the `tf.data` pipeline `fit` reads fastest here.

`model.fit(x, y, batch_size=B)` with NumPy arrays builds a `tf.data` pipeline
inside Keras (shuffled indices, a parallel gather, `prefetch(AUTOTUNE)`).
Its autotuning thread wakes on a doubling timer (10 ms, 20 ms, ... up to a
minute), and on TensorFlow 2.21 deleting the iterator at the end of an epoch
waits for the thread's next wake-up: an epoch's wall time is rounded up to
about 0.64, 1.3, 2.6, 5.1 or 10.2 s after its start (at most one timer
period later). With the fused stack layers (`deep_rnn(..., fused=True)`) a
3 x 128 LSTM epoch over 2,048 samples of 100 steps, in batches of 64, takes
3.8-4.4 s and is often rounded up to 5.1 s. The same pipeline without
autotuning has no such wait (`benchmarks.rnn` and `benchmarks.fit_profile`
measure both; see the README's Performance section).

`training_data(x, y, batch_size=B)` is that pipeline with autotuning off, a
fixed prefetch of two batches, and the same semantics as `fit(x, y,
batch_size=B)`: every sample once per epoch, in a new order each epoch
(indices are shuffled, not the samples, so nothing is copied), the last
batch partial, floating-point arrays in Keras's float type (`fit` casts
float64 to float32 too). `fit` takes it unchanged, progress bar and
callbacks included (`shuffle=False` only silences Keras's warning that its
own shuffling does not apply to a `tf.data` input):

    model.fit(training_data(x, y, batch_size=64), epochs=10, shuffle=False)

Under `keras.utils.set_random_seed` the order, and so training, is the same
run to run. It is a `tf.data.Dataset`, so it needs TensorFlow; `fit` reads it
on the JAX and PyTorch backends too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["training_data"]

# Batches prepared ahead of the training step: one being read, one ready.
PREFETCHED_BATCHES = 2


def _checked_arrays(name: str, value: Any) -> Any:
    """`value` (an array, or a list/tuple/dict of arrays) as NumPy arrays, or a clear error."""
    if isinstance(value, dict):
        return {key: _checked_arrays(f"{name}[{key!r}]", item) for key, item in value.items()}
    if isinstance(value, (list, tuple)) and value and all(np.ndim(item) > 0 and hasattr(item, "shape") for item in value):
        # Several arrays (NumPy, tensors), one per model input, as `fit` reads a list of arrays.
        return tuple(_checked_arrays(f"{name}[{i}]", item) for i, item in enumerate(value))
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as error:
        raise TypeError(f"training_data: {name} must be an array (or a list/dict of arrays); {error}") from None
    if array.dtype == object or array.ndim == 0:
        raise TypeError(
            f"training_data: {name} must be a numeric array with a batch axis first, got "
            f"{type(value).__name__} of dtype {array.dtype} and shape {array.shape}"
        )
    if array.dtype.kind == "f":
        import keras

        array = array.astype(keras.backend.floatx(), copy=False)  # as fit casts float64 arrays
    return array


def _lengths(name: str, value: Any) -> list[tuple[str, int]]:
    if isinstance(value, dict):
        return [pair for key, item in value.items() for pair in _lengths(f"{name}[{key!r}]", item)]
    if isinstance(value, tuple):
        return [pair for i, item in enumerate(value) for pair in _lengths(f"{name}[{i}]", item)]
    return [(name, len(value))]


def training_data(
    x: Any,
    y: Any = None,
    *,
    batch_size: int = 32,
    shuffle: bool = True,
    sample_weight: Any = None,
    seed: int | None = None,
) -> Any:
    """In-memory training arrays as a `tf.data.Dataset` that `model.fit` takes unchanged.

    Args:
        x: the inputs: an array with samples first, or a list/tuple/dict of
            such arrays for a model with several inputs.
        y: the targets, in the same forms; `None` for a model trained
            without targets.
        batch_size: samples per batch, as `fit`'s `batch_size`. The last
            batch holds the rest. Defaults to 32, as in `fit`.
        shuffle: a new sample order every epoch (the indices are shuffled,
            the arrays are not copied), as `fit`'s default `shuffle=True`;
            `False` keeps the order. Defaults to `True`.
        sample_weight: per-sample weights, an array of one value per sample,
            or `None`. Defaults to `None`.
        seed: the shuffle's seed; `None` takes it from TensorFlow's global
            seed, which `keras.utils.set_random_seed` sets. Defaults to `None`.

    Returns:
        A `tf.data.Dataset` of `(x, y)` or `(x, y, sample_weight)` batches,
        with a known number of batches (the progress bar shows it), ready
        for `model.fit(dataset, epochs=...)` (give `fit` no `batch_size`).

    Raises:
        TypeError: when an argument is not an array (or of the wrong kind).
        ValueError: when `batch_size` is not a positive integer, the arrays
            are empty, or their sample counts differ, naming each count.
        MissingDependencyError: when TensorFlow is not installed.
    """
    from stacked_keras.dependencies import import_tensorflow

    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"training_data: batch_size must be a positive integer, got {batch_size!r}")
    if not isinstance(shuffle, bool):
        raise TypeError(f"training_data: shuffle must be True or False, got {shuffle!r}")
    parts = {"x": _checked_arrays("x", x)}
    if y is not None:
        parts["y"] = _checked_arrays("y", y)
    if sample_weight is not None:
        if y is None:
            raise ValueError("training_data: sample_weight needs targets y (fit weighs the loss against y)")
        parts["sample_weight"] = _checked_arrays("sample_weight", sample_weight)
    lengths = [pair for name, value in parts.items() for pair in _lengths(name, value)]
    counts = {count for _, count in lengths}
    if len(counts) > 1:
        listed = ", ".join(f"{name} has {count}" for name, count in lengths)
        raise ValueError(f"training_data: every array needs the same number of samples (first axis); {listed}")
    (samples,) = counts
    if samples == 0:
        raise ValueError("training_data: the arrays hold no samples")

    tf = import_tensorflow("training_data")
    # Always a tuple: `fit` reads a 1-tuple as inputs alone, while a bare tuple
    # of several inputs would be read as (x, y).
    data = tuple(parts.values())
    indices = tf.data.Dataset.range(samples)
    if shuffle:
        indices = indices.shuffle(samples, seed=seed, reshuffle_each_iteration=True)
    indices = indices.batch(int(batch_size))
    # The arrays enter the pipeline once, as one element repeated beside the
    # index batches, rather than as constants captured by the map function.
    tensors = tf.nest.map_structure(tf.convert_to_tensor, data)
    pairs = tf.data.Dataset.zip((indices, tf.data.Dataset.from_tensors(tensors).repeat()))
    batches = pairs.map(lambda index, arrays: tf.nest.map_structure(lambda a: tf.gather(a, index), arrays))
    options = tf.data.Options()
    options.autotune.enabled = False
    options.experimental_optimization.apply_default_optimizations = False
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return batches.prefetch(PREFETCHED_BATCHES).with_options(options)

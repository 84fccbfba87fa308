"""Fast inference for recurrent stacks: a compiled serving function and `fast_predict`.

Three things make `model.predict` slow for a recurrent stack on a CPU, and
this module removes each of them:

- **Fixed per-call and per-batch costs.** `predict` builds a `tf.data`
  pipeline over the NumPy input, runs callbacks and bookkeeping, and its
  traced step is specialised to the first batch's shape. `serving_function`
  traces `model(inputs, training=False)` once with a fixed input signature
  whose batch and time dimensions are `None`, so any batch size and any
  sequence length reuse one graph, and `fast_predict` calls it batch by
  batch.
- **One core for a chain of small products.** A recurrent layer is a chain
  of timesteps, each a small `(batch, units) x (units, gates * units)`
  product that TensorFlow does not spread over several cores. Every sample
  of a batch is computed independently, so the serving function splits each
  batch into `batch_shards` parts and runs them as independent chains, which
  TensorFlow executes concurrently, one per core.
- **Per-op dispatch inside the time loop.** With `jit_compile=True` each
  shard is compiled by XLA, which fuses the gate arithmetic and runs the
  loop without the executor's per-op cost. XLA compiles once per distinct
  input shape (a second or so each), so it pays when shapes repeat: in
  `fast_predict`, which keeps its batches one size, or a server fed fixed
  shapes.

Results equal `model(x, training=False)` to float32 rounding, provided every
sample is computed independently of the other samples of its batch, as in
every Keras layer at inference. Measurements: the "Performance" section of
the README, `python -m benchmarks.rnn`.

`inference_callable` is the same computation as a plain Python callable,
for `keras.export.ExportArchive.add_endpoint` and other tracers: it is what a
SavedModel signature should serve. Needs the TensorFlow backend.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from stacked_keras.dependencies import import_tensorflow
from stacked_keras.onnx_serving import onnx_session

__all__ = [
    "default_batch_shards",
    "fast_predict",
    "inference_callable",
    "onnx_session",
    "serving_function",
    "serving_input_signature",
]

# The most shards "auto" picks: past that, parts get too small to keep a core busy.
MAX_AUTO_SHARDS = 4

# model -> {(batch_shards, jit_compile): traced function}; entries go with the model.
_FUNCTIONS: "weakref.WeakKeyDictionary[Any, dict[tuple[int, bool], Any]]" = weakref.WeakKeyDictionary()


def _tensorflow() -> Any:
    # Imported on first use: `import stacked_keras.serving` (and the ONNX
    # session it re-exports) works without TensorFlow.
    return import_tensorflow("The serving functions (stacked_keras.serving)")


def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "serving functions need the TensorFlow backend (KERAS_BACKEND="
            f"tensorflow), got backend {keras.backend.backend()!r}"
        )


def default_batch_shards() -> int:
    """How many concurrent parts `batch_shards="auto"` splits a batch into.

    One per CPU core TensorFlow may use concurrently (its inter-op thread
    count, or `os.cpu_count()` when left to TensorFlow), at most
    `MAX_AUTO_SHARDS`; 1 when a GPU is visible, where one large batch is
    faster than several small ones.

    Returns:
        A positive int.

    Example:

    >>> default_batch_shards() >= 1
    True
    """
    tf = _tensorflow()
    if tf.config.list_logical_devices("GPU"):
        return 1
    cores = tf.config.threading.get_inter_op_parallelism_threads() or os.cpu_count() or 1
    return max(1, min(cores, MAX_AUTO_SHARDS))


def _resolve_shards(batch_shards: Any) -> int:
    if batch_shards == "auto":
        return default_batch_shards()
    if isinstance(batch_shards, bool) or not isinstance(batch_shards, int) or batch_shards < 1:
        raise ValueError(f"batch_shards must be a positive integer or 'auto', got {batch_shards!r}")
    return batch_shards


def _check_jit_compile(jit_compile: Any) -> bool:
    if not isinstance(jit_compile, bool):
        raise TypeError(f"jit_compile must be True or False, got {jit_compile!r}")
    return jit_compile


def inference_callable(
    model: Any, *, batch_shards: int | str = "auto", jit_compile: bool = False
) -> Callable[[Any], Any]:
    """The model's inference pass, sharded over the batch, as a callable to trace.

    `f(inputs)` computes `model(inputs, training=False)`. With
    `batch_shards=n > 1` it splits the batch (axis 0 of every input) into `n`
    contiguous parts whose sizes differ by at most one sample, runs the model
    on each part, and concatenates the outputs in order; the parts do not
    depend on each other, so a traced graph runs them concurrently. With
    `jit_compile=True` each part runs in an XLA-compiled `tf.function`.

    Meant to be traced: wrap it in `tf.function` with an input signature (as
    `serving_function` does) or hand it to
    `keras.export.ExportArchive.add_endpoint` to serve it from a SavedModel.

    Args:
        model: a Keras model on the TensorFlow backend.
        batch_shards: the number of parts, a positive int, or `"auto"`
            (`default_batch_shards()`: one per CPU core, at most 4; 1 on a
            GPU). Defaults to `"auto"`.
        jit_compile: whether each part is compiled with XLA. Defaults to
            `False`.

    Returns:
        A callable taking the model's inputs (tensors) and returning its
        outputs.

    Raises:
        TypeError: if `model` is not a `keras.Model` or `jit_compile` is not
            a bool.
        ValueError: if `batch_shards` is not a positive int or `"auto"`.
        RuntimeError: if the Keras backend is not TensorFlow.

    Example:

    >>> import numpy as np
    >>> import tensorflow as tf
    >>> model = keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(2)])
    >>> infer = tf.function(inference_callable(model, batch_shards=2))
    >>> x = np.random.rand(5, 4, 3).astype("float32")
    >>> bool(np.allclose(infer(x), model(x), atol=1e-6))
    True
    """
    _check_model(model)
    shards = _resolve_shards(batch_shards)
    _check_jit_compile(jit_compile)
    tf = _tensorflow()

    def forward(inputs: Any) -> Any:
        return model(inputs, training=False)

    part = tf.function(forward, jit_compile=True, autograph=False) if jit_compile else forward
    if shards == 1:
        return part

    def sharded(inputs: Any) -> Any:
        flat = [tf.convert_to_tensor(item) for item in keras.tree.flatten(inputs)]
        batch = tf.shape(flat[0])[0]
        # Sizes ceil((batch - i) / shards): differ by at most 1, sum to batch.
        sizes = tf.stack([(batch + shards - 1 - i) // shards for i in range(shards)])
        pieces = [tf.split(item, sizes, axis=0, num=shards) for item in flat]
        outputs = [
            part(keras.tree.pack_sequence_as(inputs, [piece[i] for piece in pieces]))
            for i in range(shards)
        ]
        return keras.tree.map_structure(lambda *parts: tf.concat(parts, axis=0), *outputs)

    return sharded


def serving_function(
    model: Any,
    *,
    input_signature: Any = None,
    batch_shards: int | str = "auto",
    jit_compile: bool = False,
) -> Any:
    """Traces a model's inference pass once, for any batch size and length.

    Returns `tf.function(inference_callable(model, ...))` with a fixed input
    signature: by default the one `stacked_keras.export` gives the SavedModel
    (`serving_input_signature`: batch and time dimensions `None`, feature
    sizes from the model). A batch of another size or length reuses the
    traced graph instead of tracing again, and the function reads the
    model's variables live, so it follows later training. Each batch is
    split into `batch_shards` parts computed concurrently (see
    `inference_callable`).

    The same model and settings give the same function object (kept while
    the model lives), so repeated calls trace once.

    Args:
        model: a built Keras model with known inputs (Sequential or
            functional), on the TensorFlow backend.
        input_signature: the `tf.TensorSpec` (or list or dict of them, in the
            model's input structure) the function accepts. Defaults to
            `None`: `serving_input_signature(model)`.
        batch_shards: parts per batch, a positive int or `"auto"` (one per CPU
            core, at most 4; 1 on a GPU). Defaults to `"auto"`.
        jit_compile: whether each part is compiled with XLA, once per
            distinct input shape. Defaults to `False`.

    Returns:
        A `tf.function` taking the model's inputs and returning its outputs
        as tensors.

    Raises:
        TypeError: if `model` is not a `keras.Model` or `jit_compile` is not
            a bool.
        ValueError: if `batch_shards` is not a positive int or `"auto"`, or
            the model has no known inputs.
        RuntimeError: if the Keras backend is not TensorFlow.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((None, 3), name="sequence"),
    ...                           keras.layers.LSTM(4), keras.layers.Dense(1)])
    >>> serve = serving_function(model)
    >>> serve(np.zeros((2, 5, 3), "float32")).shape
    TensorShape([2, 1])
    >>> serve(np.zeros((7, 40, 3), "float32")).shape  # same graph
    TensorShape([7, 1])
    """
    _check_model(model)
    shards = _resolve_shards(batch_shards)
    _check_jit_compile(jit_compile)
    cached = input_signature is None
    key = (shards, jit_compile)
    if cached:
        functions = _FUNCTIONS.setdefault(model, {})
        if key in functions:
            return functions[key]
        input_signature = serving_input_signature(model)
    function = _tensorflow().function(
        inference_callable(model, batch_shards=shards, jit_compile=jit_compile),
        input_signature=[input_signature],
        autograph=False,
    )
    if cached:
        functions[key] = function
    return function


def _is_time_axis(rank: int, dtype: Any) -> bool:
    # (batch, time, features...) for float sequences, (batch, time) for token ids.
    return rank >= 3 or (rank == 2 and dtype.is_integer)


def serving_input_signature(model: keras.Model) -> Any:
    """The `tf.TensorSpec` inputs of a model's serving signature.

    One spec per model input, named after the input and in the model's own
    input structure (a single spec, a list, or a dict). The batch dimension
    is always `None`; so is the time dimension (axis 1) of sequence inputs:
    float inputs of rank 3 or more `(batch, time, features)` and integer
    token inputs of rank 2 `(batch, time)`. Other dimensions keep the
    model's sizes.

    Args:
        model: a built Keras model with known inputs (a Sequential or
            functional model, such as every model the builders make).

    Returns:
        A `tf.TensorSpec`, or a list or dict of them.

    Raises:
        ValueError: if the model has no known inputs, or an input has an
            unknown feature dimension.

    Example:

    >>> model = keras.Sequential([keras.Input((20, 4), name="sequence"),
    ...                           keras.layers.LSTM(2)])
    >>> serving_input_signature(model)
    TensorSpec(shape=(None, None, 4), dtype=tf.float32, name='sequence')
    """
    if not isinstance(model, keras.Model):
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}")
    try:
        if isinstance(model, keras.Sequential):
            (structure,) = model.inputs
        else:
            structure = model.input  # a functional model's own input structure
    except (AttributeError, ValueError):
        raise ValueError(
            f"model {model.name!r} has no known inputs; build it from keras.Input "
            "(or call model.build(input_shape)) before exporting it"
        ) from None

    tf = _tensorflow()

    def spec_for(tensor: Any) -> tf.TensorSpec:
        dtype = tf.as_dtype(keras.backend.standardize_dtype(tensor.dtype))
        shape = list(tensor.shape)
        dynamic_axes = 2 if _is_time_axis(len(shape), dtype) else 1
        if any(dim is None for dim in shape[dynamic_axes:]):
            raise ValueError(
                f"model input {tensor.name!r} has shape {tuple(tensor.shape)}: its "
                "feature dimensions must be known to export it; give the Input a "
                "full shape, e.g. keras.Input((None, 8))"
            )
        shape[:dynamic_axes] = [None] * dynamic_axes
        return tf.TensorSpec(shape, dtype, name=tensor.name)

    return keras.tree.map_structure(spec_for, structure)


def _batch_count(arrays: list[np.ndarray]) -> int:
    sizes = {int(array.shape[0]) for array in arrays}
    if len(sizes) != 1:
        raise ValueError(
            f"x must hold the same number of samples in every input, got sizes {sorted(sizes)}"
        )
    return sizes.pop()


def fast_predict(
    model: Any,
    x: Any,
    *,
    batch_size: int | None = 32,
    batch_shards: int | str = "auto",
    jit_compile: bool = False,
) -> Any:
    """Predicts like `model.predict`, batch by batch through `serving_function`.

    Slices `x` into batches, calls the model's traced inference function on
    each and concatenates the outputs into NumPy arrays: the numbers of
    `model.predict(x, batch_size=batch_size)` (to float32 rounding), without
    its data pipeline, callbacks and per-call set-up, with each batch split
    into `batch_shards` concurrent parts, and without tracing again for a new
    batch size or sequence length. With `jit_compile=True` the last, smaller
    batch is padded to `batch_size` with copies of its first sample (dropped
    again from the outputs), so that XLA compiles one batch shape only: the
    fastest setting when `x` is large.

    Args:
        model: a built Keras model with known inputs, on the TensorFlow
            backend.
        x: the inputs, as `model.predict` takes them: a NumPy array (or
            anything `np.asarray` reads), or a list or dict of them for a
            model with several inputs, all with the same number of samples.
        batch_size: samples per call, a positive int, or `None` for the whole
            of `x` in one call. Defaults to 32, as `model.predict`.
        batch_shards: parts each batch is split into, a positive int or
            `"auto"` (one per CPU core, at most 4; 1 on a GPU). Defaults to
            `"auto"`.
        jit_compile: whether the parts are compiled with XLA (see
            `serving_function`). Defaults to `False`.

    Returns:
        The model's outputs for every sample of `x`, as NumPy arrays in the
        model's output structure.

    Raises:
        TypeError: if `model` is not a `keras.Model` or `jit_compile` is not
            a bool.
        ValueError: if `batch_size` is not a positive int or `None`, if
            `batch_shards` is not a positive int or `"auto"`, if `x` is
            empty, or its inputs disagree on the number of samples.
        RuntimeError: if the Keras backend is not TensorFlow.

    Example:

    >>> import numpy as np
    >>> model = keras.Sequential([keras.Input((None, 3), name="sequence"),
    ...                           keras.layers.LSTM(4), keras.layers.Dense(1)])
    >>> x = np.random.rand(10, 6, 3).astype("float32")
    >>> fast_predict(model, x, batch_size=4).shape
    (10, 1)
    """
    _check_model(model)
    if batch_size is not None and (
        isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer or None, got {batch_size!r}")
    function = serving_function(model, batch_shards=batch_shards, jit_compile=jit_compile)
    structure = function.input_signature[0]
    specs = keras.tree.flatten(structure)
    items = keras.tree.flatten(x)
    if len(items) != len(specs):
        raise ValueError(
            f"x must hold {len(specs)} input(s) for model {model.name!r}, got {len(items)}"
        )
    arrays = [np.asarray(item, dtype=spec.dtype.as_numpy_dtype) for item, spec in zip(items, specs)]
    count = _batch_count(arrays)
    if count == 0:
        raise ValueError("x must hold at least one sample, got 0")
    size = count if batch_size is None else min(batch_size, count)
    pieces: list[list[np.ndarray]] = []
    outputs: Any = None
    for start in range(0, count, size):
        chunk = [array[start : start + size] for array in arrays]
        rows = chunk[0].shape[0]
        if rows < size and jit_compile:
            chunk = [
                np.concatenate([part, np.repeat(part[:1], size - rows, axis=0)]) for part in chunk
            ]
        outputs = function(keras.tree.pack_sequence_as(structure, chunk))
        pieces.append([np.asarray(out)[:rows] for out in keras.tree.flatten(outputs)])
    joined = [np.concatenate(parts) for parts in zip(*pieces)]
    return keras.tree.pack_sequence_as(outputs, joined)

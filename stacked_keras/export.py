"""SavedModel export of a Keras model, written atomically and checked by reloading it.

`export_saved_model` writes a TensorFlow SavedModel whose `serving_default`
signature accepts any batch size and any number of timesteps, so a model that
was trained on 20-step sequences serves 7-step or 300-step ones. It follows
three rules:

- **Atomic.** The SavedModel is written into a temporary directory beside the
  target (`.NAME.tmp-XXXX`) and renamed into place only once it is complete
  and verified, so an interrupted or failed export never leaves a half-written
  model, and never replaces an existing one unless `overwrite=True`
  (`stacked_keras.atomic_files.write_directory_atomically`, shared with the
  ONNX export).
- **Portable.** Recurrent layers are traced with their generic kernels, never
  cuDNN's fused ones: an export made on a GPU machine then serves on a
  CPU-only one (Keras issue 18504: a graph holding `CudnnRNN*` ops fails with
  "No OpKernel was registered to support Op 'CudnnRNNV3'" on CPU). The graph
  is searched for `Cudnn*` ops and refused if any is found.
- **Verified.** The written directory is reloaded with `tf.saved_model.load`
  and `serving_default` is called on random batches whose size and length the
  model has never seen; its outputs must match the live model's.

The SavedModel is standalone: serving it needs TensorFlow only, neither
Keras nor this package.

A model holding an `LSTMStack`/`GRUStack` (`deep_rnn(..., fused=True)`) is
saved forward-only: the stack's hand-written backward pass
(`tf.custom_gradient`) cannot be traced into a SavedModel (saving fails
with "captures tensor ... while ... which is unsupported", and so does
Keras's own `model.export`), so it is written with
`tf.saved_model.SaveOptions(experimental_custom_gradients=False)`. Serving
is unaffected; asking the reloaded graph for gradients is not supported.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import os
import pathlib
import re
import time
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from stacked_keras.atomic_files import check_export_flags, check_target_directory, write_directory_atomically
from stacked_keras.dependencies import import_tensorflow
from stacked_keras.export_errors import ExportVerificationError
from stacked_keras.serving import inference_callable, serving_input_signature

tf = import_tensorflow("SavedModel export (stacked_keras.export_saved_model)")

__all__ = [
    "ExportResult",
    "ExportVerificationError",
    "check_target_directory",
    "is_saved_model",
    "cudnn_op_types",
    "export_saved_model",
    "generic_rnn_kernels",
    "holds_stack_layers",
    "serving_input_signature",
    "write_directory_atomically",
]

SERVING_SIGNATURE = "serving_default"

# The random batches `export_saved_model` checks the reloaded model on:
# (batch size, timesteps). Sizes no model is built for, and two different
# lengths, so a graph that froze the batch or time dimension fails.
VERIFICATION_BATCHES = ((3, 7), (2, 11))


@dataclasses.dataclass(frozen=True)
class ExportResult:
    """What `export_saved_model` wrote and how well the reload matched.

    Args:
        path: the SavedModel directory (absolute).
        input_signature: the `serving_default` inputs, as the structure of
            `tf.TensorSpec` the model takes (one spec for a one-input model,
            a list or dict of specs for several); batch and time are `None`.
        max_abs_diff: the largest absolute difference between the reloaded
            SavedModel's outputs and the live model's on the verification
            batches; `None` when `verify=False`.
        seconds: wall time of the whole export, verification included.
    """

    path: pathlib.Path
    input_signature: Any
    max_abs_diff: float | None
    seconds: float

    def __str__(self) -> str:
        inputs = ", ".join(
            f"{spec.name} {spec.dtype.name}{_shape_text(spec.shape)}"
            for spec in keras.tree.flatten(self.input_signature)
        )
        check = (
            "not verified"
            if self.max_abs_diff is None
            else f"reloaded, max |difference| {self.max_abs_diff:.2e}"
        )
        return (
            f"SavedModel written to {self.path}\n"
            f"  {SERVING_SIGNATURE}({inputs})\n"
            f"  {check}; {self.seconds:.1f} s"
        )


def _shape_text(shape: tf.TensorShape) -> str:
    dims = ["None" if dim is None else str(dim) for dim in shape.as_list()]
    return "[" + ", ".join(dims) + "]"


def is_saved_model(directory: pathlib.Path) -> bool:
    """Whether `directory` holds a TensorFlow SavedModel (`saved_model.pb`)."""
    return (directory / "saved_model.pb").is_file()


def _recurrent_layers_with_cudnn_switch(model: keras.Layer) -> list[keras.Layer]:
    # `_flatten_layers` walks every sublayer: inside nested models,
    # Bidirectional (forward_layer, backward_layer), TimeDistributed, RNN.
    return [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))
        and hasattr(layer, "use_cudnn")
    ]


def holds_stack_layers(model: keras.Layer) -> bool:
    """Whether a model holds an `LSTMStack` or `GRUStack`, nested models included."""
    from stacked_keras.grid_layers import STACK_LAYERS

    return any(
        isinstance(layer, tuple(STACK_LAYERS.values()))
        for layer in model._flatten_layers(include_self=True, recursive=True)
    )


@contextlib.contextmanager
def generic_rnn_kernels(model: keras.Layer) -> Iterator[list[keras.Layer]]:
    """Makes every LSTM and GRU layer of a model use its generic kernel for a while.

    On the TensorFlow backend an LSTM or GRU layer with `use_cudnn="auto"`
    calls cuDNN's fused kernel whenever a GPU is visible, and a graph traced
    then holds `CudnnRNNV3` ops that have no CPU kernel. Inside this context
    every LSTM and GRU layer of `model` (nested models, `Bidirectional` and
    other wrappers included) has `use_cudnn=False`, so tracing records the
    generic loop, which runs on any device and computes the same function.
    The previous settings are restored on exit, even after an exception.

    Args:
        model: a Keras layer or model.

    Yields:
        The LSTM and GRU layers that were switched.

    Example:

    >>> model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(2)])
    >>> with generic_rnn_kernels(model) as switched:
    ...     [layer.use_cudnn for layer in switched]
    [False]
    >>> model.layers[0].use_cudnn
    'auto'
    """
    layers = _recurrent_layers_with_cudnn_switch(model)
    previous = [layer.use_cudnn for layer in layers]
    try:
        for layer in layers:
            layer.use_cudnn = False
        yield layers
    finally:
        for layer, setting in zip(layers, previous):
            layer.use_cudnn = setting


def cudnn_op_types(function: Any) -> list[str]:
    """Lists the cuDNN-only op types in a traced TensorFlow function.

    Walks the function's graph and every function in its library (the bodies
    of while loops, nested calls), collecting op types that start with
    `Cudnn` (`CudnnRNN`, `CudnnRNNV3`, ...). Such ops have GPU kernels only.

    Args:
        function: a concrete function (`tf.function(...).get_concrete_function()`
            or a signature of a reloaded SavedModel), or anything with a
            `.graph` holding a `tf.Graph`.

    Returns:
        The sorted distinct op types found; empty when the graph is portable.

    Example:

    >>> fn = tf.function(lambda x: x * 2).get_concrete_function(tf.TensorSpec([2]))
    >>> cudnn_op_types(fn)
    []
    """
    graph_def = function.graph.as_graph_def()
    op_types = {node.op for node in graph_def.node}
    for library_function in graph_def.library.function:
        op_types.update(node.op for node in library_function.node_def)
    return sorted(op for op in op_types if op.startswith("Cudnn"))


def _require_no_cudnn_ops(function: Any, where: str) -> None:
    found = cudnn_op_types(function)
    if found:
        raise ExportVerificationError(
            f"the {where} holds cuDNN-only ops {found}, which fail to serve on "
            "a machine without a GPU (Keras issue 18504); recurrent layers must "
            "be traced with use_cudnn=False"
        )


def export_saved_model(
    model: keras.Model,
    path: str | os.PathLike,
    *,
    overwrite: bool = False,
    verify: bool = True,
    atol: float = 1e-5,
    batch_shards: int | str = 1,
    jit_compile: bool = False,
) -> ExportResult:
    """Exports a Keras model as a TensorFlow SavedModel that serves anywhere.

    The SavedModel holds the model's inference forward pass
    (`model(inputs, training=False)`) under the `serving_default` signature
    (also callable as `.serve`), with a dynamic batch and time dimension (see
    `serving_input_signature`). Recurrent layers are traced with their
    generic kernels, so the export runs on CPU even when made on a GPU.
    A model holding an `LSTMStack`/`GRUStack` (`deep_rnn(..., fused=True)`)
    is saved forward-only (`SaveOptions(experimental_custom_gradients=False)`:
    the stack's `tf.custom_gradient` backward cannot be saved, which is also
    why Keras's own `model.export` fails on it); serving is the same.

    It is written into a temporary directory beside `path`, verified there,
    and renamed into place (see `write_directory_atomically`): a failed or
    interrupted export leaves `path` as it was and no temporary directory.

    Verification reloads the directory with `tf.saved_model.load`, refuses a
    graph holding `Cudnn*` ops, and calls `serving_default` on random batches
    of 3 sequences of 7 timesteps and 2 of 11 (token ids drawn below the
    smallest `Embedding` vocabulary, with trailing padding zeros), comparing
    the outputs with `model(x, training=False)`.

    Args:
        model: a built Keras model with known inputs (Sequential or
            functional). Needs the TensorFlow backend.
        path: the directory to write. Its parent must exist.
        overwrite: whether to replace an existing directory at `path`.
            Defaults to `False`.
        verify: whether to reload and compare before renaming into place.
            Defaults to `True`. The `Cudnn*` op check on the traced graph is
            always made.
        atol: the largest absolute difference accepted between the reloaded
            model's outputs and the live model's. Defaults to `1e-5`.
        batch_shards: split each served batch into this many parts that run
            concurrently (an int, or `"auto"`: one per CPU core, at most 4);
            see `stacked_keras.serving.inference_callable`. Defaults to 1
            (the plain forward pass).
        jit_compile: whether each part is compiled with XLA when served
            (once per new input shape). Defaults to `False`. On a 2-core CPU,
            `batch_shards="auto", jit_compile=True` serves a 3 x 128 LSTM
            stack about 1.7x faster than the default (README, Performance).

    Returns:
        An `ExportResult`: the path, the input signature, the largest
        difference found on reload, and the seconds taken.

    Raises:
        ValueError: if `atol` is not a non-negative number, or the model has
            no known inputs.
        TypeError: if `model` is not a `keras.Model` or `path` is not a path.
        RuntimeError: if the Keras backend is not TensorFlow.
        FileNotFoundError: if the parent directory of `path` does not exist.
        FileExistsError: if `path` exists and `overwrite` is `False`.
        NotADirectoryError: if `path` is an existing file.
        ExportVerificationError: if the reloaded model's outputs differ by
            more than `atol`, or the graph holds cuDNN-only ops. `path` is
            then left untouched.

    Example:

    >>> import tempfile, pathlib
    >>> model = keras.Sequential([keras.Input((None, 4), name="sequence"),
    ...                           keras.layers.LSTM(8, return_sequences=True),
    ...                           keras.layers.LSTM(4), keras.layers.Dense(1)])
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> result = export_saved_model(model, target)
    >>> result.max_abs_diff < 1e-5
    True
    >>> served = tf.saved_model.load(str(target)).signatures["serving_default"]
    >>> served(sequence=tf.zeros((5, 30, 4)))["output_0"].shape
    TensorShape([5, 1])
    """
    start = time.perf_counter()
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "export_saved_model needs the TensorFlow backend, got Keras backend "
            f"{keras.backend.backend()!r}: set KERAS_BACKEND=tensorflow before Keras is "
            "imported, or export to ONNX with stacked_keras.export_onnx"
        )
    check_export_flags(overwrite, verify, atol)
    input_signature = serving_input_signature(model)
    # Check the target before any tracing, so a refused path fails fast.
    check_target_directory(path, overwrite=overwrite, replace_only=is_saved_model)

    max_abs_diff: list[float] = []

    def write(directory: pathlib.Path) -> None:
        _write_saved_model(
            model, input_signature, directory, batch_shards=batch_shards, jit_compile=jit_compile
        )
        if verify:
            max_abs_diff.append(
                _verify_saved_model(model, input_signature, directory, atol)
            )

    target = write_directory_atomically(
        path, write, overwrite=overwrite, replace_only=is_saved_model
    )
    return ExportResult(
        path=target,
        input_signature=input_signature,
        max_abs_diff=max_abs_diff[0] if verify else None,
        seconds=time.perf_counter() - start,
    )


def _write_saved_model(
    model: keras.Model,
    input_signature: Any,
    directory: pathlib.Path,
    *,
    batch_shards: int | str = 1,
    jit_compile: bool = False,
) -> None:

    archive = keras.export.ExportArchive()
    # The stacks' tf.custom_gradient backward cannot be saved: forward-only then.
    options = tf.saved_model.SaveOptions(experimental_custom_gradients=not holds_stack_layers(model))
    with generic_rnn_kernels(model):
        archive.track(model)
        serve = archive.add_endpoint(
            name="serve",
            fn=inference_callable(model, batch_shards=batch_shards, jit_compile=jit_compile),
            input_signature=[input_signature],
        )
        try:
            traced = serve.get_concrete_function()
        except Exception as error:
            raise ValueError(
                f"model {model.name!r} cannot be traced with a dynamic batch and "
                f"time dimension {input_signature}: {error}"
            ) from error
        _require_no_cudnn_ops(traced, "traced serving function")
        # `write_out` aliases the first endpoint as `serving_default`.
        with _without_tensorflow_info():
            archive.write_out(str(directory), options=options, verbose=False)


@contextlib.contextmanager
def _without_tensorflow_info() -> Iterator[None]:
    """Holds TensorFlow's logger at WARNING while the SavedModel is written.

    `tf.saved_model.save` logs "Assets written to: DIR/assets" at INFO, and
    DIR is the temporary directory that is renamed away a moment later; the
    result object names the final path instead.
    """
    logger = logging.getLogger("tensorflow")
    previous = logger.level
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _smallest_vocabulary(model: keras.Model) -> int:
    sizes = [
        layer.input_dim
        for layer in model._flatten_layers(include_self=False, recursive=True)
        if isinstance(layer, keras.layers.Embedding)
    ]
    return min(sizes) if sizes else 2


def _random_inputs(
    input_signature: Any,
    batch: int,
    timesteps: int,
    vocabulary: int,
    rng: np.random.Generator,
) -> Any:
    def draw(spec: tf.TensorSpec) -> np.ndarray:
        shape = [batch] + [
            timesteps if dim is None else dim for dim in spec.shape.as_list()[1:]
        ]
        if spec.dtype.is_integer:
            tokens = rng.integers(1, max(vocabulary, 2), size=shape)
            if len(shape) == 2 and timesteps > 2:
                # Padding: the last row ends in zeros (masked by mask_zero).
                tokens[-1, timesteps // 2 :] = 0
            return tokens.astype(spec.dtype.as_numpy_dtype)
        if spec.dtype.is_bool:
            return rng.integers(0, 2, size=shape).astype(bool)
        return rng.standard_normal(shape).astype(spec.dtype.as_numpy_dtype)

    return keras.tree.map_structure(draw, input_signature)


def _signature_outputs_in_model_order(
    served: dict[str, tf.Tensor], expected: Any
) -> list[np.ndarray]:
    if isinstance(expected, dict):
        # keras.tree.flatten orders dict outputs by sorted key.
        return [np.asarray(served[key]) for key in sorted(expected)]

    def position(key: str) -> int:
        _, _, index = key.rpartition("_")
        return int(index) if index.isdigit() else 0

    return [np.asarray(served[key]) for key in sorted(served, key=position)]


def _first_line(error: BaseException) -> str:
    """The gist of an error: its first meaningful line, without colour codes."""
    for line in str(error).splitlines():
        line = _ANSI_ESCAPE.sub("", line).strip()
        if line and not line.startswith("Exception encountered when calling"):
            return line
    return type(error).__name__


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class _ForwardOnlyNotice(logging.Filter):
    """Drops the reload's warning about unsaved custom gradients: the export chose that."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "unsaved custom gradients" not in record.getMessage()


def _verify_saved_model(
    model: keras.Model, input_signature: Any, directory: pathlib.Path, atol: float
) -> float:
    notice = _ForwardOnlyNotice()
    logging.getLogger("absl").addFilter(notice)
    try:
        loaded = tf.saved_model.load(str(directory))
    finally:
        logging.getLogger("absl").removeFilter(notice)
    serving = loaded.signatures[SERVING_SIGNATURE]
    _require_no_cudnn_ops(serving, f"reloaded {SERVING_SIGNATURE} signature")
    specs = keras.tree.flatten(input_signature)
    accepted = sorted(serving.structured_input_signature[1])
    if sorted(spec.name for spec in specs) != accepted:
        raise ExportVerificationError(
            f"the reloaded {SERVING_SIGNATURE} signature takes inputs {accepted}, "
            f"expected {sorted(spec.name for spec in specs)}"
        )
    vocabulary = _smallest_vocabulary(model)
    rng = np.random.default_rng(0)
    largest = 0.0
    for batch, timesteps in VERIFICATION_BATCHES:
        inputs = _random_inputs(input_signature, batch, timesteps, vocabulary, rng)
        try:
            with generic_rnn_kernels(model):
                expected = model(inputs, training=False)
            served = serving(
                **{
                    spec.name: tf.constant(value)
                    for spec, value in zip(specs, keras.tree.flatten(inputs))
                }
            )
        except (ValueError, TypeError, tf.errors.OpError) as error:
            raise ExportVerificationError(
                f"model {model.name!r} does not run on a batch of {batch} x "
                f"{timesteps} timesteps ({_first_line(error)}); the SavedModel's "
                "batch and time dimensions are dynamic, so a model that needs a "
                "fixed number of timesteps (a Flatten or Reshape after a "
                "sequence) cannot be exported this way"
            ) from error
        wanted = [keras.ops.convert_to_numpy(x) for x in keras.tree.flatten(expected)]
        got = _signature_outputs_in_model_order(served, expected)
        for index, (want, have) in enumerate(zip(wanted, got)):
            if want.shape != have.shape:
                raise ExportVerificationError(
                    f"reloaded SavedModel output {index} has shape {have.shape} on "
                    f"a batch of {batch} x {timesteps} timesteps, the model gives "
                    f"{want.shape}"
                )
            difference = float(np.max(np.abs(want.astype(np.float64) - have), initial=0.0))
            if not difference <= atol:  # also catches NaN
                raise ExportVerificationError(
                    f"reloaded SavedModel differs from the model by {difference:.3g} "
                    f"(atol={atol:g}) on output {index} for a batch of {batch} x "
                    f"{timesteps} timesteps; the target was left untouched"
                )
            largest = max(largest, difference)
    return largest

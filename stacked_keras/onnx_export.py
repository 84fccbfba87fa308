"""ONNX export of a recurrent stack, written from its weights with native RNN ops.

`export_onnx` writes an `.onnx` file in which every recurrent layer is one
native ONNX `LSTM`, `GRU` or `RNN` node, instead of converting a traced
TensorFlow graph (Keras's own `model.export(format="onnx")` goes through
tf2onnx, which cannot convert `CudnnRNNV3`: keras-team/keras issue 21799).
An `LSTMStack`/`GRUStack` becomes L chained nodes, one per layer it holds.
The graph is built with `onnx.helper` from `layer.get_weights()` alone, so
the export works on every Keras backend.

It follows the contract of `stacked_keras.export.export_saved_model`:

- **Atomic.** The file is written beside the target (`.NAME.tmp-XXXX`),
  verified there, and only then moved into place; an existing file is
  replaced only with `overwrite=True` (`stacked_keras.atomic_files`, shared
  with the SavedModel export).
- **Verified.** onnxruntime runs the file on random batches of two sizes and
  two lengths (token inputs right-padded with zeros) and its outputs must
  match `model(x, training=False)` within `atol`, or
  `ExportVerificationError` is raised and nothing is written.
- **Refuses what it cannot express** (attention, Lambda, custom layers,
  stateful layers, `return_state`, unsupported activations), naming the
  layer, its class and what to do instead, before anything is written.

Masking: `Embedding(mask_zero=True)` becomes ONNX `sequence_lens`, counted
inside the graph as the number of non-zero tokens of each row. That is
exact for right padding (the real tokens first, zeros after them), which is
what the verification checks; with left padding the outputs differ from
Keras, and no export can tell the two apart from the model alone.

onnx and onnxruntime are imported lazily (extra `stacked-keras[onnx]`).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import time
from typing import Any

import numpy as np

from stacked_keras.atomic_files import check_export_flags, check_target_file, write_file_atomically
from stacked_keras.onnx_graph import OnnxGraphWriter, UnsupportedLayerError

__all__ = [
    "OnnxExportResult",
    "UnsupportedLayerError",
    "check_target_file",
    "export_onnx",
    "require_onnx",
]

DEFAULT_OPSET = 17
# (batch, timesteps) of the verification batches: sizes no model is built for.
VERIFICATION_BATCHES = ((3, 7), (2, 11))


def require_onnx() -> tuple[Any, Any]:
    """Imports onnx and onnxruntime, or says which extra installs them.

    Returns:
        The `(onnx, onnxruntime)` modules.

    Raises:
        ImportError: naming `pip install "stacked-keras[onnx]"`.
    """
    try:
        import onnx
        import onnxruntime
    except ImportError as error:
        raise ImportError(
            f"ONNX export needs onnx and onnxruntime ({error}); install them with "
            'pip install "stacked-keras[onnx]"'
        ) from error
    return onnx, onnxruntime


@dataclasses.dataclass(frozen=True)
class OnnxExportResult:
    """What `export_onnx` wrote and how well onnxruntime matched Keras.

    Args:
        path: the `.onnx` file (absolute).
        inputs: `(name, dtype, shape)` of each graph input; `None` marks the
            dynamic batch and time dimensions.
        outputs: the names of the graph outputs, in the model's order.
        opset: the ONNX opset the file declares.
        max_abs_diff: the largest absolute difference between onnxruntime's
            outputs and the model's on the verification batches; `None` when
            `verify=False`.
        seconds: wall time of the whole export, verification included.
    """

    path: pathlib.Path
    inputs: tuple[tuple[str, str, tuple[Any, ...]], ...]
    outputs: tuple[str, ...]
    opset: int
    max_abs_diff: float | None
    seconds: float

    def __str__(self) -> str:
        inputs = ", ".join(f"{name} {dtype}{list(shape)}" for name, dtype, shape in self.inputs)
        check = (
            "not verified"
            if self.max_abs_diff is None
            else f"onnxruntime max |difference| {self.max_abs_diff:.2e}"
        )
        return (
            f"ONNX (opset {self.opset}) written to {self.path}\n"
            f"  inputs: {inputs}\n  {check}; {self.seconds:.1f} s"
        )


def _check_arguments(opset: Any, overwrite: Any, verify: Any, atol: Any) -> int:
    check_export_flags(overwrite, verify, atol)
    if opset is None:
        return DEFAULT_OPSET
    if isinstance(opset, bool) or not isinstance(opset, int) or not 17 <= opset <= 21:
        raise ValueError(
            f"opset must be an int from 17 to 21 (LayerNormalization needs 17), got {opset!r}"
        )
    return opset


def export_onnx(
    model: Any,
    path: str | os.PathLike,
    *,
    opset: int | None = None,
    overwrite: bool = False,
    verify: bool = True,
    atol: float = 1e-5,
) -> OnnxExportResult:
    """Exports a recurrent Keras model as an ONNX file with native LSTM/GRU/RNN nodes.

    Each recurrent layer becomes one ONNX recurrent node (gate order
    reordered to ONNX's, `go_backwards` as `direction="reverse"`,
    `Bidirectional` as `direction="bidirectional"` followed by its merge
    mode); an `LSTMStack`/`GRUStack` (`deep_rnn(..., fused=True)`) becomes
    its L layers as chained nodes named `{stack}/layer_{i}` (a masked input
    into one is refused, as Keras refuses it); `Embedding` becomes `Gather`, `mask_zero` becomes
    `sequence_lens` counted in the graph (exact for right padding); `Dense`,
    `TimeDistributed(Dense)`, `Activation`, `LayerNormalization`, `Add` and
    the dropout and noise layers (identities at inference) follow. Batch and
    time are dynamic.

    Args:
        model: a built Keras model (Sequential or functional) on any backend.
        path: the `.onnx` file to write. Its parent directory must exist.
        opset: the ONNX opset, 17 to 21. Defaults to `None` (17).
        overwrite: whether to replace an existing file. Defaults to `False`.
        verify: whether to run the file in onnxruntime and compare it with
            the model before moving it into place. Defaults to `True`.
        atol: the largest absolute difference accepted. Defaults to `1e-5`.

    Returns:
        An `OnnxExportResult`: path, inputs, outputs, opset, largest
        difference and seconds.

    Raises:
        ImportError: if onnx or onnxruntime is missing (names the extra).
        TypeError: if `model` is not a `keras.Model` or `path` is no path.
        ValueError: for a bad `opset`, `atol`, `overwrite` or `verify`.
        UnsupportedLayerError: (a `ValueError`) for a layer ONNX cannot
            express here; it names the layer, its class and what to do.
        FileNotFoundError, FileExistsError, IsADirectoryError: for an
            unusable `path`.
        ExportVerificationError: if onnxruntime's outputs differ from the
            model's by more than `atol`; nothing is written then.

    Example:

    >>> import keras, pathlib, tempfile
    >>> model = keras.Sequential([keras.Input((None, 4)),
    ...                           keras.layers.LSTM(8, return_sequences=True),
    ...                           keras.layers.LSTM(4), keras.layers.Dense(1)])
    >>> target = pathlib.Path(tempfile.mkdtemp()) / "model.onnx"
    >>> export_onnx(model, target).max_abs_diff < 1e-5
    True
    """
    start = time.perf_counter()
    import keras

    if not isinstance(model, keras.Model):
        hint = (
            "; export its encoder alone with export_onnx(model.encoder_model, path) (the "
            "attention decoder has no ONNX form here)"
            if isinstance(getattr(type(model), "encoder_model", None), property)
            else ""
        )
        raise TypeError(f"model must be a keras.Model, got {type(model).__name__}{hint}")
    opset = _check_arguments(opset, overwrite, verify, atol)
    onnx, _ = require_onnx()
    target = check_target_file(path, overwrite)
    graph = OnnxGraphWriter(model, opset).build()  # refusals happen here, before any file
    proto = graph.model_proto
    onnx.checker.check_model(proto)
    differences: list[float] = []

    def write(staging: pathlib.Path) -> None:
        staging.write_bytes(proto.SerializeToString())
        if verify:
            differences.append(verify_onnx_file(model, graph, staging, atol))

    write_file_atomically(target, write, overwrite=overwrite)
    return OnnxExportResult(
        path=target,
        inputs=tuple(graph.input_descriptions),
        outputs=tuple(graph.output_names),
        opset=opset,
        max_abs_diff=differences[0] if verify else None,
        seconds=time.perf_counter() - start,
    )


def _random_inputs(graph: Any, batch: int, timesteps: int, rng: np.random.Generator) -> list[np.ndarray]:
    arrays = []
    for name, dtype, shape in graph.input_descriptions:
        concrete = [batch] + [timesteps if dim is None else dim for dim in shape[1:]]
        if np.issubdtype(np.dtype(dtype), np.integer):
            tokens = rng.integers(1, max(graph.smallest_vocabulary, 2), size=concrete)
            if tokens.ndim == 2 and timesteps > 2:
                tokens[-1, timesteps // 2 :] = 0  # right padding on the last row
            arrays.append(tokens.astype(dtype))
        else:
            arrays.append(rng.standard_normal(concrete).astype(dtype))
    return arrays


def verify_onnx_file(model: Any, graph: Any, file: pathlib.Path, atol: float) -> float:
    """Runs an exported file in onnxruntime and compares it with the Keras model.

    Sequence outputs that carry a padding mask are compared at the real
    (unpadded) timesteps only, where Keras defines them.

    Returns:
        The largest absolute difference found.

    Raises:
        ExportVerificationError: for a difference above `atol`, other
            shapes, or a model that does not run on the batches.
    """
    import keras

    from stacked_keras.export_errors import ExportVerificationError

    _, onnxruntime = require_onnx()
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    session = onnxruntime.InferenceSession(str(file), options, providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)
    largest = 0.0
    for batch, timesteps in VERIFICATION_BATCHES:
        arrays = _random_inputs(graph, batch, timesteps, rng)
        feed = {name: array for (name, _, _), array in zip(graph.input_descriptions, arrays)}
        try:
            expected = model(arrays[0] if len(arrays) == 1 else arrays, training=False)
        except Exception as error:
            raise ExportVerificationError(
                f"model {model.name!r} does not run on a batch of {batch} x {timesteps} "
                f"timesteps ({str(error).splitlines()[0] if str(error) else type(error).__name__}); "
                "the ONNX graph has dynamic batch and time, so a model that needs a fixed "
                "number of timesteps cannot be exported this way"
            ) from error
        wanted = [np.asarray(keras.ops.convert_to_numpy(x), np.float64) for x in keras.tree.flatten(expected)]
        got = session.run(graph.output_names, feed)
        lengths = None
        if graph.token_input_masked and arrays[0].ndim == 2:
            lengths = np.count_nonzero(arrays[0], axis=1)
        for index, (want, have) in enumerate(zip(wanted, got)):
            if want.shape != have.shape:
                raise ExportVerificationError(
                    f"onnxruntime output {index} has shape {have.shape} on a batch of "
                    f"{batch} x {timesteps} timesteps, the model gives {want.shape}"
                )
            delta = np.abs(want - have)
            if lengths is not None and graph.output_masked[index] and delta.ndim >= 3:
                valid = np.arange(delta.shape[1])[None, :] < lengths[:, None]
                delta = delta[valid]
            difference = float(np.max(delta, initial=0.0))
            if not difference <= atol:  # also catches NaN
                raise ExportVerificationError(
                    f"onnxruntime differs from the model by {difference:.3g} (atol={atol:g}) "
                    f"on output {index} for a batch of {batch} x {timesteps} timesteps; "
                    "nothing was written"
                )
            largest = max(largest, difference)
    return largest

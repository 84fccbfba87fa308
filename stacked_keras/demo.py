"""The main job in one call: build, describe, train, export and reload a deep LSTM.

`run_demo` needs no input. It generates sequences, builds a two-layer LSTM
with `stacked_keras.builders.deep_lstm`, prints its stack with
`stacked_keras.describe.describe`, trains it for a few epochs with Keras's
progress bar, exports a SavedModel with `stacked_keras.export.export_saved_model`,
reloads it with TensorFlow alone and prints how far the reloaded outputs are
from the live model's. `stacked-keras demo` runs it.

The task: each sequence has 20 timesteps of 4 features drawn uniformly in
[-1, 1]; the target is `3 * (mean of feature 0 - mean of feature 1)` over the
whole sequence. No single timestep tells the answer: the stack has to carry a
running comparison through time, which a deep LSTM learns in a few epochs
(the mean squared error falls from about 0.3 to about 0.02 in 5 epochs).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = ["DemoResult", "run_demo", "make_sequences"]

TIMESTEPS = 20
FEATURES = 4
TRAIN_SEQUENCES = 512
HELD_OUT_SEQUENCES = 128
UNITS = (32, 16)


@dataclasses.dataclass(frozen=True)
class DemoResult:
    """What `run_demo` did.

    Args:
        model: the trained Keras model.
        loss_before: mean squared error on the held-out sequences before
            training.
        loss_after: the same after training.
        export: the `stacked_keras.export.ExportResult` of the SavedModel.
        max_abs_diff: the largest absolute difference between the reloaded
            SavedModel's outputs and the model's, on the held-out sequences
            and on sequences twice as long as the training ones.
        seconds: wall time of the whole demo.
        onnx_export: the `OnnxExportResult` of the ONNX file written beside
            the SavedModel (`NAME.onnx`), or `None` when onnx and
            onnxruntime are not installed.
    """

    model: Any
    loss_before: float
    loss_after: float
    export: Any
    max_abs_diff: float
    seconds: float
    onnx_export: Any = None

    @property
    def export_path(self) -> pathlib.Path:
        """The SavedModel directory."""
        return self.export.path


def make_sequences(
    count: int, timesteps: int = TIMESTEPS, *, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Generates the demo's sequences and their targets.

    Args:
        count: the number of sequences.
        timesteps: the length of each sequence. Defaults to 20.
        seed: the seed of the NumPy generator. Defaults to 0.

    Returns:
        `(x, y)`: `x` of shape `(count, timesteps, 4)` (float32, uniform in
        [-1, 1]) and `y` of shape `(count, 1)`, `3 * (mean of feature 0 -
        mean of feature 1)` over time.

    Example:

    >>> x, y = make_sequences(8)
    >>> x.shape, y.shape
    ((8, 20, 4), (8, 1))
    """
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, size=(count, timesteps, FEATURES)).astype("float32")
    y = 3.0 * (x[:, :, 0].mean(axis=1) - x[:, :, 1].mean(axis=1))
    return x, y[:, None].astype("float32")


def _positive_int(argument: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}")
    return int(value)


def run_demo(
    epochs: int = 5,
    export_dir: str | os.PathLike | None = None,
    seed: int = 0,
    out: Callable[[str], Any] = print,
    *,
    overwrite: bool = False,
    verbose: int | str = 1,
) -> DemoResult:
    """Builds, describes, trains, exports and reloads a deep LSTM on generated sequences.

    The model is `deep_lstm([32, 16], input_shape=(None, 4),
    head="regression")`: two stacked LSTM layers (the lower one returns its
    whole sequence to the upper one) and a linear head, compiled with Adam
    and the mean squared error. It trains on 512 generated sequences and is
    scored on 128 held-out ones (see `make_sequences`). The SavedModel is
    then reloaded with `tf.saved_model.load` and called through its
    `serving_default` signature on the held-out sequences and on sequences
    of 40 timesteps (twice the training length).

    Calls `keras.utils.set_random_seed(seed)`, so runs are reproducible.

    Args:
        epochs: the number of training epochs. Defaults to 5 (a few seconds
            on two CPU cores).
        export_dir: where to write the SavedModel. Defaults to `None`: a
            directory `deep_lstm` inside a fresh temporary directory, whose
            path is printed.
        seed: the seed of the data and of the weights. Defaults to 0.
        out: called with each line of the report. Defaults to `print`.
            Keras's progress bar goes to standard output regardless.
        overwrite: whether to replace an existing `export_dir`. Defaults to
            `False`.
        verbose: Keras's `fit` verbosity: 1 for the progress bar, 2 for one
            line per epoch, 0 for silence. Defaults to 1.

    Returns:
        A `DemoResult` with the model, the losses before and after training,
        the export and the largest difference after reloading.

    Raises:
        ValueError: if `epochs` is not a positive integer, or `seed` is not
            an integer in [0, 2**32).
        FileExistsError: if `export_dir` exists and `overwrite` is `False`.
        FileNotFoundError: if the parent of `export_dir` does not exist.
        RuntimeError: if the Keras backend is not TensorFlow.
        MissingDependencyError: if TensorFlow is not installed.

    Example:

    >>> result = run_demo(epochs=1, out=lambda line: None, verbose=0)
    >>> result.max_abs_diff < 1e-5
    True
    """
    epochs = _positive_int("epochs", epochs)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer between 0 and 2**32 - 1, got {seed!r}")
    start = time.perf_counter()

    from stacked_keras.dependencies import import_keras, import_tensorflow

    keras = import_keras()
    tf = import_tensorflow("stacked-keras demo (it exports a SavedModel)")
    if keras.backend.backend() != "tensorflow":
        raise RuntimeError(
            "stacked-keras demo exports a SavedModel, which needs the TensorFlow backend, got Keras "
            f"backend {keras.backend.backend()!r}: run it with KERAS_BACKEND=tensorflow"
        )

    from stacked_keras.builders import deep_lstm
    from stacked_keras.describe import describe
    from stacked_keras.export import (
        SERVING_SIGNATURE,
        check_target_directory,
        export_saved_model,
        is_saved_model,
    )

    if export_dir is None:
        export_dir = pathlib.Path(tempfile.mkdtemp(prefix="stacked-keras-demo-")) / "deep_lstm"
    else:
        # Refuse an unusable path before spending time on training.
        check_target_directory(export_dir, overwrite=overwrite, replace_only=is_saved_model)
    onnx_path = _onnx_target(pathlib.Path(export_dir), overwrite)

    keras.utils.set_random_seed(seed)
    x_train, y_train = make_sequences(TRAIN_SEQUENCES, seed=seed)
    x_test, y_test = make_sequences(HELD_OUT_SEQUENCES, seed=seed + 1)

    out(
        f"stacked-keras demo: a deep LSTM learns 3 x (mean of feature 0 - mean "
        f"of feature 1) over sequences of {TIMESTEPS} steps x {FEATURES} features "
        f"({TRAIN_SEQUENCES} to train on, {HELD_OUT_SEQUENCES} held out)"
    )
    model = deep_lstm(list(UNITS), input_shape=(None, FEATURES), head="regression")
    out("")
    out(str(describe(model)))
    out("")

    loss_before = float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["loss"])
    out(f"loss before training: {loss_before:.4f} (mean squared error, held-out sequences)")
    model.fit(x_train, y_train, epochs=epochs, batch_size=32, verbose=verbose)
    loss_after = float(model.evaluate(x_test, y_test, verbose=0, return_dict=True)["loss"])
    out(f"loss after {epochs} epoch{'s' if epochs > 1 else ''}: {loss_after:.4f}")
    out("")

    exported = export_saved_model(model, export_dir, overwrite=overwrite)
    out(str(exported))

    served = tf.saved_model.load(str(exported.path)).signatures[SERVING_SIGNATURE]
    input_name = exported.input_signature.name
    x_long, _ = make_sequences(4, timesteps=2 * TIMESTEPS, seed=seed + 2)
    max_abs_diff = 0.0
    for x in (x_test, x_long):
        reloaded = served(**{input_name: tf.constant(x)})["output_0"].numpy()
        live = model.predict(x, verbose=0)
        max_abs_diff = max(max_abs_diff, float(np.max(np.abs(reloaded - live))))
    out(
        f"reloaded with tf.saved_model.load: largest output difference from the "
        f"live model {max_abs_diff:.2e} ({HELD_OUT_SEQUENCES} held-out sequences "
        f"and 4 of {2 * TIMESTEPS} steps)"
    )
    onnx_export = None
    if onnx_path is not None:
        from stacked_keras.onnx_export import export_onnx

        onnx_export = export_onnx(model, onnx_path, overwrite=overwrite)
        out(str(onnx_export))
    seconds = time.perf_counter() - start
    out(f"demo finished in {seconds:.1f} s; SavedModel at {exported.path}")
    return DemoResult(
        model=model,
        loss_before=loss_before,
        loss_after=loss_after,
        export=exported,
        max_abs_diff=max_abs_diff,
        seconds=seconds,
        onnx_export=onnx_export,
    )


def _onnx_target(export_dir: pathlib.Path, overwrite: bool) -> pathlib.Path | None:
    """`NAME.onnx` beside the SavedModel when onnx is installed, checked before training."""
    try:
        from stacked_keras.onnx_export import check_target_file, require_onnx

        require_onnx()
    except ImportError:
        return None
    return check_target_file(export_dir.with_name(export_dir.name + ".onnx"), overwrite)

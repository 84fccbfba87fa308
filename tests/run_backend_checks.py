"""Runs a representative part of the suite on another Keras backend, in one interpreter.

Run by `tests/test_backends.py` (through the background job `backend_checks`
of `tests/background.py`) with `KERAS_BACKEND=jax`: the backend is chosen
when Keras is first imported, so it cannot change inside the pytest process,
which runs on TensorFlow. One interpreter runs every check, so Keras and JAX
load once. Not a test module itself (pytest collects only `test_*.py`).

The checks: the builders (every cell, bidirectional, residual, layer norm,
embedding with a mask, a tagger head on two sequence lengths), agreement with
`reference_forward` to 1e-5, fused `LSTMStack`/`GRUStack` models saved under
TensorFlow (in a subprocess) predicting the same here, every zoo preset built
and called, `describe`, `lint(model)` and `fix(model)` of live models, a short `fit` whose loss goes
down, `LintCallback` stopping a broken model, `plot_stack`, `depth_sweep`,
SavedModel export refusing clearly, and the `keras.distribution.DataParallel`
example of docs/scaling.md on two host devices (when the process has them:
`XLA_FLAGS=--xla_force_host_platform_device_count=2`) giving the loss of one
device.

Writes a JSON report: `{"backend": ..., "checks": {name: {"ok": bool,
"detail": ..., "error": traceback or None}}}`.

Usage: `KERAS_BACKEND=jax python tests/run_backend_checks.py --report PATH
[--only NAME ...]`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
import warnings
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "jax")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("MPLBACKEND", "Agg")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402

import stacked_keras  # noqa: E402
from stacked_keras import zoo  # noqa: E402

TOLERANCE = 1e-5
CHECKS = {}


def check(function):
    CHECKS[function.__name__] = function
    return function


def _sequences(batch=4, timesteps=6, features=3, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, features)).astype("float32")


def _difference(model, x) -> float:
    expected = keras.tree.flatten(model(x, training=False))
    computed = keras.tree.flatten(stacked_keras.reference_forward(model, x))
    assert len(expected) == len(computed)
    return max(
        float(np.max(np.abs(keras.ops.convert_to_numpy(a) - np.asarray(b)))) for a, b in zip(expected, computed)
    )


def _builder_models():
    warnings.simplefilter("ignore", stacked_keras.builders.StackWarning)  # the SimpleRNN stack's advice
    tokens = np.random.default_rng(1).integers(1, 12, size=(4, 7))
    tokens[0, 4:] = 0  # right padding, masked by the Embedding
    return {
        "deep_lstm": (stacked_keras.deep_lstm([5, 4, 3], input_shape=(None, 3)), _sequences()),
        "deep_gru": (stacked_keras.deep_gru([4, 3], input_shape=(None, 3), head="binary"), _sequences()),
        "deep_simple_rnn": (
            stacked_keras.deep_rnn("simple_rnn", [4, 4, 4], input_shape=(None, 3), residual=True, layer_norm=True),
            _sequences(),
        ),
        "bidirectional_mixed": (
            stacked_keras.deep_rnn(["gru", "lstm"], [3, 2], input_shape=(None, 3), bidirectional=[True, False]),
            _sequences(),
        ),
        "tokens_tagger": (
            stacked_keras.deep_lstm(
                [4, 3], vocab_size=12, embedding_dim=3, mask_zero=True, bidirectional=True,
                head="tagger", num_classes=5, output="sequence",
            ),
            tokens,
        ),
    }


@check
def builders():
    shapes = {}
    for name, (model, x) in _builder_models().items():
        recurrent = [layer for layer in model.layers if hasattr(layer, "return_sequences")]
        flags = [layer.return_sequences for layer in recurrent]
        expected = [True] * (len(flags) - 1) + [name == "tokens_tagger"]
        assert flags == expected, (name, flags)
        shapes[name] = list(model.predict(x, verbose=0).shape)
    # A per-timestep head on two sequence lengths (TimeDistributed).
    tagger = _builder_models()["tokens_tagger"][0]
    for length in (5, 9):
        out = tagger.predict(np.ones((2, length), "int32"), verbose=0)
        assert out.shape == (2, length, 5), out.shape
    return shapes


@check
def reference_agreement():
    differences = {name: _difference(model, x) for name, (model, x) in _builder_models().items()}
    worst = max(differences.values())
    assert worst < TOLERANCE, differences
    return differences


@check
def fused_layers():
    """FusedLSTM / FusedGRU (the projected loop on `keras_private.rnn`) compute what LSTM / GRU do."""
    from stacked_keras.layers import FusedGRU, FusedLSTM

    x = _sequences(3, 7, 3, seed=5)
    mask = np.ones((3, 7), bool)
    mask[0, 4:] = False
    differences = {}
    for fused_class, standard_class in ((FusedLSTM, keras.layers.LSTM), (FusedGRU, keras.layers.GRU)):
        standard = standard_class(4, return_sequences=True)
        fused = fused_class(4, return_sequences=True)
        standard.build((None, None, 3))
        fused.build((None, None, 3))
        fused.set_weights(standard.get_weights())
        expected = keras.ops.convert_to_numpy(standard(x, mask=mask))
        computed = keras.ops.convert_to_numpy(fused(x, mask=mask))
        differences[fused_class.__name__] = float(np.max(np.abs(expected - computed)))
    assert max(differences.values()) < TOLERANCE, differences
    return differences


# Run under TensorFlow by `fused_stack_layers`: builds, saves and predicts fused stack models.
_FUSED_UNDER_TENSORFLOW = """
import sys
sys.path.insert(0, sys.argv[2])
import keras, numpy as np, stacked_keras
rng = np.random.default_rng(4)
x = rng.normal(size=(4, 5, 3)).astype("float32")
np.save(sys.argv[1] + "/x.npy", x)
for cell, output, head in (("lstm", None, "regression"), ("gru", "sequence", None)):
    model = stacked_keras.deep_rnn(cell, [8, 6], input_shape=(None, 3), fused=True, output=output,
                                   head=head, compile=False)
    model.set_weights([w + 0.3 * rng.normal(size=w.shape).astype("float32") for w in model.get_weights()])
    model.save(sys.argv[1] + "/" + cell + ".keras")
    np.save(sys.argv[1] + "/" + cell + ".npy", keras.ops.convert_to_numpy(model(x)))
print(keras.backend.backend())
"""


@check
def fused_stack_layers():
    """LSTMStack / GRUStack models built and saved under TensorFlow predict the same here, and as the reference."""
    import importlib.util
    import subprocess

    from stacked_keras import GRUStack, LSTMStack  # registers them for loading

    if importlib.util.find_spec("tensorflow") is None:
        return "skipped: TensorFlow (which builds the models) is not installed"
    root = str(Path(__file__).resolve().parent.parent)
    differences = {}
    with tempfile.TemporaryDirectory() as folder:
        environment = dict(os.environ, KERAS_BACKEND="tensorflow")
        made = subprocess.run([sys.executable, "-c", _FUSED_UNDER_TENSORFLOW, folder, root], env=environment,
                              capture_output=True, text=True, timeout=300)
        assert made.returncode == 0 and made.stdout.split()[-1:] == ["tensorflow"], made.stderr[-3000:]
        x = np.load(Path(folder) / "x.npy")
        for cell, stack_class in (("lstm", LSTMStack), ("gru", GRUStack)):
            model = keras.models.load_model(Path(folder) / f"{cell}.keras", compile=False)
            assert type(model.get_layer(f"{cell}_stack")) is stack_class
            here = keras.ops.convert_to_numpy(model(x, training=False))
            under_tensorflow = np.load(Path(folder) / f"{cell}.npy")
            assert here.shape == under_tensorflow.shape, (here.shape, under_tensorflow.shape)
            differences[cell] = float(np.max(np.abs(here - under_tensorflow)))
            differences[f"{cell}_reference"] = _difference(model, x)
    assert max(differences.values()) < TOLERANCE, differences
    return differences


@check
def zoo_presets():
    built = {}
    for name in zoo.PRESETS:
        model = zoo.build(name, units=[4, 3])
        data = zoo.preset_data(name, n=8)
        (x, _), _ = data
        outputs = keras.tree.flatten(model.predict(x, verbose=0))
        assert all(np.all(np.isfinite(out)) for out in outputs), name
        built[name] = model.count_params()
    return built


@check
def describe():
    model = stacked_keras.deep_lstm([8, 4], input_shape=(None, 3))
    text = str(stacked_keras.describe(model))
    rows = [line.split()[:2] for line in text.splitlines() if line[:1].isdigit()]
    assert rows == [["1", "lstm_1"], ["2", "lstm_2"]], text
    return text.splitlines()[0]


def _broken():
    # A Sequential whose lower LSTM returns one vector cannot be built, so it
    # is built the way a user meets it: layers given, build failing.
    model = keras.Sequential(
        [keras.layers.LSTM(6, name="lower"), keras.layers.LSTM(4, name="upper"), keras.layers.Dense(1)],
        name="broken",
    )
    try:
        model.build((None, 5, 3))
    except ValueError:
        pass
    return model


@check
def lint_and_fix_live_models():
    good = stacked_keras.deep_gru([4, 3], input_shape=(None, 3))
    assert stacked_keras.lint(good).findings == [], stacked_keras.lint(good).findings
    broken = _broken()
    codes = [finding.code for finding in stacked_keras.lint(broken).findings]
    assert codes == ["SK101"], codes
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing ambiguous, every weight copied
        # As in pyproject.toml: Keras's torch tensors' __array__ lacks numpy 2's copy argument.
        warnings.filterwarnings("ignore", "__array__ implementation doesn't accept a copy keyword")
        fixed = stacked_keras.fix(broken)
    assert [layer.return_sequences for layer in fixed.layers[:2]] == [True, False]
    np.testing.assert_array_equal(
        fixed.get_layer("lower").get_weights()[0], broken.get_layer("lower").get_weights()[0]
    )
    assert stacked_keras.lint(fixed).findings == []
    assert fixed.predict(_sequences(), verbose=0).shape == (4, 1)
    return codes


@check
def short_fit():
    keras.utils.set_random_seed(0)
    x = _sequences(64, 8, 3, seed=2)
    y = x.sum(axis=(1, 2), keepdims=False)[:, None] / 10
    model = stacked_keras.deep_lstm([8, 4], input_shape=(None, 3), head="regression")
    history = model.fit(x, y, epochs=4, batch_size=16, verbose=0, shuffle=False)
    loss = history.history["loss"]
    assert all(np.isfinite(loss)) and loss[-1] < loss[0], loss
    return loss


@check
def lint_callback():
    """The callback stops a sequence output meeting a per-sample target, lets the right one train."""
    from stacked_keras.lint import LintCallback, LintError

    def per_step_model():
        model = keras.Sequential(
            [keras.Input((6, 2)), keras.layers.LSTM(4, return_sequences=True, name="lstm"),
             keras.layers.Dense(1, name="head")],
            name="per_step",
        )
        model.compile(optimizer="sgd", loss="mse")
        return model

    x = np.random.default_rng(4).random((8, 6, 2)).astype("float32")
    per_timestep = np.zeros((8, 6, 1), "float32")
    per_step_model().fit(x, per_timestep, epochs=1, verbose=0,
                         callbacks=[LintCallback(target=per_timestep, fail_on="info")])
    model = per_step_model()
    weights = [w.copy() for w in model.get_weights()]
    per_sample = np.zeros((8, 1), "float32")
    try:
        model.fit(x, per_sample, epochs=1, verbose=0,
                  callbacks=[LintCallback(target=per_sample, fail_on="warning", verbose=False)])
    except LintError as error:
        assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # never trained
        return [finding.code for finding in error.findings]
    raise AssertionError("LintCallback let a sequence output train against a per-sample target")


@check
def plot_stack():
    import matplotlib

    matplotlib.use("Agg")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "stack.png"
        stacked_keras.plot_stack(stacked_keras.deep_lstm([4, 3], input_shape=(None, 3)), path=path)
        size = path.stat().st_size
    assert size > 1000, size
    return size


@check
def depth_sweep():
    from stacked_keras.zoo import datasets

    data = datasets.multi_frequency_series(64, timesteps=6)
    result = stacked_keras.depth_sweep(
        "forecaster-deep-gru", data, depths=(1, 2), units=4, epochs=1, progress=False
    )
    depths = [record.depth for record in result.records]
    assert depths == [1, 2], depths
    return depths


@check
def saved_model_export_refuses_clearly():
    try:
        from stacked_keras import export_saved_model
    except ImportError as error:  # TensorFlow not installed: the extra is named
        assert "stacked-keras[tensorflow]" in str(error), error
        return str(error)
    model = stacked_keras.deep_lstm([4], input_shape=(None, 3))
    with tempfile.TemporaryDirectory() as folder:
        try:
            export_saved_model(model, Path(folder) / "model")
        except RuntimeError as error:
            assert "needs the TensorFlow backend" in str(error) and "export_onnx" in str(error), error
            assert not (Path(folder) / "model").exists()
            return str(error)
    raise AssertionError("export_saved_model wrote a SavedModel from another backend")


@check
def onnx_export():
    """export_onnx writes from the weights and verifies against Keras on this backend too."""
    from stacked_keras import export_onnx, onnx_session

    model = stacked_keras.deep_rnn(["gru", "lstm"], [4, 3], input_shape=(None, 3), bidirectional=[True, False])
    x = _sequences(2, 9, 3, seed=6)
    with tempfile.TemporaryDirectory() as folder:
        result = export_onnx(model, Path(folder) / "model.onnx")
        served = onnx_session(result.path, runtime="onnxruntime")(x)
    difference = float(np.max(np.abs(np.asarray(served) - keras.ops.convert_to_numpy(model(x)))))
    assert result.max_abs_diff < TOLERANCE and difference < TOLERANCE, (result.max_abs_diff, difference)
    return difference


def _data_parallel_losses(distribution, x, y, initial):
    keras.distribution.set_distribution(distribution)
    try:
        model = stacked_keras.deep_lstm([8, 4], input_shape=(None, 3), head="regression")
        model.set_weights(initial)
        history = model.fit(x, y, batch_size=16, epochs=3, verbose=0, shuffle=False)
        return history.history["loss"]
    finally:
        keras.distribution.set_distribution(None)


@check
def data_parallel():
    """docs/scaling.md: DataParallel on two host devices trains as one device does."""
    if keras.backend.backend() != "jax":
        return "skipped: keras.distribution is implemented for the JAX backend only"
    import jax

    devices = keras.distribution.list_devices()
    assert len(devices) >= 2, f"two host devices wanted (XLA_FLAGS), got {devices}"
    keras.utils.set_random_seed(0)
    x = _sequences(64, 8, 3, seed=3)
    y = x.mean(axis=(1, 2))[:, None]
    initial = stacked_keras.deep_lstm([8, 4], input_shape=(None, 3), head="regression").get_weights()
    one = _data_parallel_losses(keras.distribution.DataParallel(devices=devices[:1]), x, y, initial)
    two = _data_parallel_losses(keras.distribution.DataParallel(devices=devices[:2]), x, y, initial)
    np.testing.assert_allclose(two, one, rtol=1e-4)
    assert two[-1] < two[0], two
    return {"devices": [str(device) for device in jax.devices()[:2]], "one_device": one, "two_devices": two}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", required=True)
    parser.add_argument("--only", nargs="*", choices=sorted(CHECKS))
    args = parser.parse_args(argv)
    results = {}
    for name, function in CHECKS.items():
        if args.only and name not in args.only:
            continue
        keras.utils.clear_session()
        try:
            results[name] = {"ok": True, "detail": function(), "error": None}
        except Exception:  # noqa: BLE001 - every check reports; the test names the failures
            results[name] = {"ok": False, "detail": None, "error": traceback.format_exc()}
    report = {"backend": keras.backend.backend(), "keras": keras.__version__, "checks": results}
    Path(args.report).write_text(json.dumps(report, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

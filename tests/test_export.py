"""SavedModel export: dynamic batch and time, atomic writes, no cuDNN ops, verified reloads."""

import errno
import importlib
import logging
import os
import pathlib
import shutil
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
import tensorflow as tf

from stacked_keras.builders import deep_lstm
from stacked_keras.export import (
    ExportVerificationError,
    cudnn_op_types,
    export_saved_model,
    generic_rnn_kernels,
    serving_input_signature,
    write_directory_atomically,
)

FEATURES = 3


def _sequences(batch, timesteps, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, FEATURES)).astype("float32")


def _serving(path):
    return tf.saved_model.load(str(path)).signatures["serving_default"]


@pytest.fixture(scope="module")
def trained_stack():
    """A two-layer LSTM regression stack from the builders, trained one epoch."""
    keras.utils.set_random_seed(1)
    model = deep_lstm([8, 4], input_shape=(None, FEATURES), head="regression")
    x = _sequences(64, 10)
    y = x[:, :, 0].mean(axis=1, keepdims=True)
    model.fit(x, y, epochs=1, batch_size=16, verbose=0)
    return model


@pytest.fixture(scope="module")
def exported(trained_stack, tmp_path_factory):
    return export_saved_model(trained_stack, tmp_path_factory.mktemp("export") / "deep_lstm")


class NoisyAtInference(keras.layers.Layer):
    """Adds fresh noise on every call, training or not: two calls never agree."""

    def call(self, x):
        return x + tf.random.normal(tf.shape(x))


class FusedLSTM(keras.layers.Layer):
    """An LSTM written straight against cuDNN's fused op, like TF1's CuDNNLSTM."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units

    def build(self, input_shape):
        size = 4 * self.units * (input_shape[-1] + self.units + 2)
        self.params = self.add_weight(shape=(size,), initializer="zeros")

    def call(self, x):
        batch = tf.shape(x)[0]
        state = tf.zeros((1, batch, self.units))
        outputs, *_ = tf.raw_ops.CudnnRNNV3(
            input=tf.transpose(x, (1, 0, 2)),
            input_h=state,
            input_c=state,
            params=self.params,
            sequence_lengths=tf.fill([batch], tf.shape(x)[1]),
            rnn_mode="lstm",
            is_training=False,
        )
        return outputs[-1]


# --- the round trip ---------------------------------------------------------


def test_export_serves_any_batch_size_and_number_of_timesteps(trained_stack, exported):
    assert exported.input_signature.shape.as_list() == [None, None, FEATURES]
    serving = _serving(exported.path)
    assert serving.structured_input_signature[1]["sequence"].shape.as_list() == [None, None, FEATURES]
    for batch, timesteps in ((1, 4), (6, 25)):
        x = _sequences(batch, timesteps, seed=timesteps)
        served = serving(sequence=tf.constant(x))["output_0"].numpy()
        expected = keras.ops.convert_to_numpy(trained_stack(x, training=False))
        assert served.shape == (batch, 1)
        np.testing.assert_allclose(served, expected, atol=1e-5)


def test_export_result_reports_the_reload_check(exported):
    assert exported.path.is_absolute()
    assert tf.saved_model.contains_saved_model(str(exported.path))
    assert 0.0 <= exported.max_abs_diff <= 1e-5
    assert exported.seconds > 0
    assert "serving_default(sequence float32[None, None, 3])" in str(exported)


def test_export_leaves_no_temporary_directory(exported):
    assert os.listdir(exported.path.parent) == [exported.path.name]


def test_export_logs_no_assets_line_naming_the_temporary_directory(trained_stack, tmp_path):
    # tf.saved_model.save logs "Assets written to: .NAME.tmp-XXXX/assets" at
    # INFO; the directory is renamed away before export_saved_model returns.
    logger = logging.getLogger("tensorflow")
    previous = logger.level
    logger.setLevel(logging.INFO)
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        result = export_saved_model(trained_stack, tmp_path / "quiet")
    finally:
        logger.removeHandler(handler)
        level_after = logger.level
        logger.setLevel(previous)
    assert level_after == logging.INFO  # the caller's level comes back
    assert not [r for r in records if "Assets written" in r.getMessage()]
    assert str(tmp_path / "quiet") in str(result)


def test_exported_graph_holds_no_cudnn_op(exported):
    assert cudnn_op_types(_serving(exported.path)) == []


@pytest.mark.slow
def test_export_runs_in_a_process_that_imports_only_tensorflow(trained_stack, exported, tmp_path):
    x = _sequences(2, 13, seed=5)
    np.save(tmp_path / "inputs.npy", x)
    script = textwrap.dedent(
        """
        import sys
        import numpy as np
        import tensorflow as tf

        saved_model, inputs, outputs = sys.argv[1:4]
        serving = tf.saved_model.load(saved_model).signatures["serving_default"]
        result = serving(sequence=tf.constant(np.load(inputs)))
        np.save(outputs, result["output_0"].numpy())
        ours = [m for m in sys.modules if m == "stacked_keras" or m.startswith("stacked_keras.")]
        assert not ours, f"the serving process imported {ours}"
        """
    )
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    completed = subprocess.run(
        [sys.executable, "-c", script, str(exported.path), "inputs.npy", "outputs.npy"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    served = np.load(tmp_path / "outputs.npy")
    expected = keras.ops.convert_to_numpy(trained_stack(x, training=False))
    np.testing.assert_allclose(served, expected, atol=1e-5)


def test_token_model_export_serves_padded_sequences_of_any_length(tmp_path):
    keras.utils.set_random_seed(2)
    model = deep_lstm([6, 4], vocab_size=20)
    result = export_saved_model(model, tmp_path / "tokens")
    assert result.input_signature.dtype.is_integer
    assert result.input_signature.shape.as_list() == [None, None]
    serving = _serving(result.path)
    tokens = np.array([[5, 3, 9, 0, 0, 0, 0, 0, 0], [1, 2, 3, 4, 5, 6, 7, 8, 9]], dtype="int32")
    served = serving(tokens=tf.constant(tokens))["output_0"].numpy()
    np.testing.assert_allclose(served, keras.ops.convert_to_numpy(model(tokens)), atol=1e-5)
    # The mask from mask_zero survives the export: padding changes nothing.
    unpadded = serving(tokens=tf.constant(tokens[:1, :3]))["output_0"].numpy()
    np.testing.assert_allclose(served[:1], unpadded, atol=1e-5)


def test_multi_input_model_exports_one_spec_per_input(tmp_path):
    sequence = keras.Input((None, FEATURES), name="sequence")
    static = keras.Input((2,), name="static")  # per-sample features: no time axis
    merged = keras.layers.Concatenate()([keras.layers.LSTM(3)(sequence), static])
    model = keras.Model({"sequence": sequence, "static": static}, keras.layers.Dense(2)(merged))
    signature = serving_input_signature(model)
    assert {name: spec.shape.as_list() for name, spec in signature.items()} == {
        "sequence": [None, None, FEATURES],
        "static": [None, 2],
    }
    result = export_saved_model(model, tmp_path / "two_inputs")
    assert result.max_abs_diff <= 1e-5
    served = _serving(result.path)(sequence=tf.zeros((4, 9, FEATURES)), static=tf.ones((4, 2)))
    assert served["output_0"].shape == (4, 2)


# --- no cuDNN op in the graph --------------------------------------------------


def _nested_recurrent_model(use_cudnn="auto"):
    inner = keras.Sequential(
        [
            keras.Input((None, FEATURES)),
            keras.layers.Bidirectional(keras.layers.LSTM(4, return_sequences=True, use_cudnn=use_cudnn)),
        ],
        name="inner",
    )
    x = keras.Input((None, FEATURES), name="sequence")
    return keras.Model(x, keras.layers.GRU(3)(inner(x)))


def test_recurrent_layers_are_traced_without_cudnn_even_when_a_gpu_is_visible(monkeypatch, tmp_path):
    # Keras picks cuDNN when TensorFlow lists a GPU; make it list one.
    tensorflow_rnn = importlib.import_module("keras.src.backend.tensorflow.rnn")
    monkeypatch.setattr(tensorflow_rnn, "_is_gpu_available", lambda: True)
    model = _nested_recurrent_model()
    spec = tf.TensorSpec([None, None, FEATURES], tf.float32)
    plain_trace = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
    assert "CudnnRNNV3" in cudnn_op_types(plain_trace)  # what issue 18504 ships

    result = export_saved_model(model, tmp_path / "portable")

    assert cudnn_op_types(_serving(result.path)) == []
    assert result.max_abs_diff <= 1e-5


def test_generic_rnn_kernels_switch_nested_layers_and_restore_them_after_an_error():
    model = _nested_recurrent_model(use_cudnn=True)
    layers = [
        layer
        for layer in model._flatten_layers()
        if isinstance(layer, (keras.layers.LSTM, keras.layers.GRU))
    ]
    before = sorted((layer.name, layer.use_cudnn) for layer in layers)
    assert len(before) == 3  # forward and backward LSTM inside Bidirectional, the GRU
    with pytest.raises(KeyError):
        with generic_rnn_kernels(model) as switched:
            assert sorted(layer.name for layer in switched) == [name for name, _ in before]
            assert all(layer.use_cudnn is False for layer in layers)
            raise KeyError("interrupted while tracing")
    assert sorted((layer.name, layer.use_cudnn) for layer in layers) == before


def test_graph_with_a_cudnn_op_is_refused_and_nothing_is_written(tmp_path):
    model = keras.Sequential([keras.Input((None, FEATURES), name="sequence"), FusedLSTM(2)])
    with pytest.raises(ExportVerificationError, match="CudnnRNNV3"):
        export_saved_model(model, tmp_path / "fused")
    assert os.listdir(tmp_path) == []


# --- atomic writes, refusals ----------------------------------------------------


def test_failed_verification_leaves_the_previous_export_and_no_temporary_directory(tmp_path):
    target = tmp_path / "model"
    target.mkdir()
    (target / "saved_model.pb").write_bytes(b"the previous export's graph")
    (target / "previous.txt").write_text("the previous export")
    model = keras.Sequential(
        [keras.Input((None, FEATURES), name="sequence"), keras.layers.LSTM(2), NoisyAtInference()]
    )
    with pytest.raises(ExportVerificationError, match=r"differs from the model by .* \(atol=1e-05\)"):
        export_saved_model(model, target, overwrite=True)
    assert sorted(os.listdir(target)) == ["previous.txt", "saved_model.pb"]
    assert (target / "saved_model.pb").read_bytes() == b"the previous export's graph"
    assert (target / "previous.txt").read_text() == "the previous export"
    assert os.listdir(tmp_path) == ["model"]


def test_existing_export_is_refused_without_overwrite(trained_stack, exported):
    with pytest.raises(FileExistsError) as raised:
        export_saved_model(trained_stack, exported.path)
    assert str(exported.path) in str(raised.value)
    assert "overwrite=True" in str(raised.value)


def test_overwrite_replaces_the_previous_export(exported, tmp_path):
    target = tmp_path / "model"
    shutil.copytree(exported.path, target)
    replacement = keras.Sequential(
        [keras.Input((None, FEATURES), name="sequence"), keras.layers.GRU(5)]
    )
    export_saved_model(replacement, target, overwrite=True)
    x = _sequences(2, 6)
    served = _serving(target)(sequence=tf.constant(x))["output_0"].numpy()
    np.testing.assert_allclose(served, keras.ops.convert_to_numpy(replacement(x)), atol=1e-5)
    assert os.listdir(tmp_path) == ["model"]


def test_existing_file_is_refused_even_with_overwrite(trained_stack, tmp_path):
    path = tmp_path / "model"
    path.write_text("not a model")
    with pytest.raises(NotADirectoryError, match="is an existing file"):
        export_saved_model(trained_stack, path, overwrite=True)
    assert path.read_text() == "not a model"


def test_missing_parent_directory_is_refused(trained_stack, tmp_path):
    with pytest.raises(FileNotFoundError, match="parent directory .*missing.* does not exist"):
        export_saved_model(trained_stack, tmp_path / "missing" / "model")


def test_atol_must_be_a_non_negative_number(trained_stack, tmp_path):
    with pytest.raises(ValueError, match=r"atol must be a non-negative number, got -1"):
        export_saved_model(trained_stack, tmp_path / "model", atol=-1)


def test_model_without_known_inputs_is_refused(tmp_path):
    class Subclassed(keras.Model):
        def call(self, x):
            return x

    with pytest.raises(ValueError, match="has no known inputs"):
        export_saved_model(Subclassed(), tmp_path / "model")


def test_model_that_needs_a_fixed_number_of_timesteps_is_refused_with_the_reason(tmp_path):
    model = keras.Sequential(
        [
            keras.Input((5, FEATURES), name="sequence"),
            keras.layers.LSTM(2, return_sequences=True),
            keras.layers.Flatten(),
            keras.layers.Dense(1),
        ]
    )
    refusal = r"does not run on a batch of 3 x 7 timesteps \(.*dense"
    with pytest.raises(ExportVerificationError, match=refusal):
        export_saved_model(model, tmp_path / "flattened")
    assert os.listdir(tmp_path) == []


# --- the atomic directory write on its own ------------------------------------


def _write_hello(directory):
    (directory / "hello.txt").write_text("hello")


def test_atomic_write_renames_the_complete_directory_into_place(tmp_path):
    target = write_directory_atomically(tmp_path / "out", _write_hello)
    assert target == tmp_path / "out"
    assert (target / "hello.txt").read_text() == "hello"
    assert os.listdir(tmp_path) == ["out"]


def test_atomic_write_failure_keeps_the_target_and_removes_the_temporary_directory(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    seen = []

    def write_until_the_disk_is_full(directory):
        seen.append(directory)
        (directory / "part.txt").write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_directory_atomically(tmp_path / "out", write_until_the_disk_is_full, overwrite=True)
    assert seen[0].parent == tmp_path and seen[0].name.startswith(".out.tmp-")
    assert os.listdir(tmp_path) == ["out"]
    assert os.listdir(tmp_path / "out") == ["old.txt"]


def test_atomic_write_interrupted_leaves_nothing_behind(tmp_path):
    def interrupted(directory):
        _write_hello(directory)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_directory_atomically(tmp_path / "out", interrupted)
    assert os.listdir(tmp_path) == []


def test_atomic_overwrite_puts_the_previous_directory_back_when_the_rename_fails(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.txt").write_text("old")
    real_rename = os.rename

    def rename_failing_for_the_new_directory(source, destination):
        if pathlib.Path(source).name.startswith(".out.tmp-"):
            raise OSError(errno.EIO, "Input/output error")
        return real_rename(source, destination)

    monkeypatch.setattr(os, "rename", rename_failing_for_the_new_directory)
    with pytest.raises(OSError, match="Input/output error"):
        write_directory_atomically(tmp_path / "out", _write_hello, overwrite=True)
    assert os.listdir(tmp_path) == ["out"]
    assert (tmp_path / "out" / "old.txt").read_text() == "old"


def test_atomic_write_refuses_an_existing_directory_without_overwrite(tmp_path):
    (tmp_path / "out").mkdir()
    with pytest.raises(FileExistsError, match="pass overwrite=True"):
        write_directory_atomically(tmp_path / "out", _write_hello)
    assert os.listdir(tmp_path / "out") == []



def test_overwrite_never_replaces_a_directory_that_holds_no_export(tmp_path, monkeypatch):
    from stacked_keras import deep_lstm

    work = tmp_path / "src"
    work.mkdir()
    (work / "important.py").write_text("precious = True\n")
    model = deep_lstm([3], input_shape=(None, 3), compile=False)
    with pytest.raises(FileExistsError, match="does not hold a previous export"):
        export_saved_model(model, work, overwrite=True)
    assert (work / "important.py").read_text() == "precious = True\n"
    monkeypatch.chdir(work)
    for here in ("", ".", str(tmp_path)):
        with pytest.raises(ValueError, match="current directory or one of its parents"):
            export_saved_model(model, here, overwrite=True)
    assert sorted(p.name for p in work.iterdir()) == ["important.py"]
    assert [p.name for p in tmp_path.iterdir()] == ["src"]


def test_cli_build_refuses_to_overwrite_a_source_directory(tmp_path, capsys, monkeypatch):
    from stacked_keras.cli import main

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "important.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    code = main(["build", "lstm", "--units", "3", "--input-shape", "none", "3", "--export", "src", "--overwrite"])
    assert code == 2
    assert "does not hold a previous export" in capsys.readouterr().err
    assert (tmp_path / "src" / "important.py").exists()

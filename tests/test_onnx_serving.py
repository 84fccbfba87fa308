"""Serving exported ONNX files with onnxruntime and OpenVINO."""

from __future__ import annotations

import sys

import keras
import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from stacked_keras.onnx_export import export_onnx
from stacked_keras.onnx_serving import onnx_session


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(5, return_sequences=True),
                              keras.layers.GRU(4), keras.layers.Dense(2)])
    path = tmp_path_factory.mktemp("onnx") / "model.onnx"
    export_onnx(model, path)
    return model, path


@pytest.mark.parametrize("runtime", ["onnxruntime", "openvino"])
def test_session_matches_keras_in_fp32(exported, runtime):
    if runtime == "openvino":
        pytest.importorskip("openvino")
    model, path = exported
    session = onnx_session(path, runtime=runtime, threads=1)
    x = np.random.default_rng(1).standard_normal((4, 9, 3)).astype("float32")
    np.testing.assert_allclose(session(x), keras.ops.convert_to_numpy(model(x)), atol=1e-5)


@pytest.mark.parametrize("batch", [4, 5, 1])
def test_openvino_split_across_streams_matches_keras(exported, batch):
    """Batches of two or more are split across two streams (an odd one topped up), one runs whole."""
    pytest.importorskip("openvino")
    model, path = exported
    session = onnx_session(path, runtime="openvino", threads=2)
    x = np.random.default_rng(batch).standard_normal((batch, 7, 3)).astype("float32")
    np.testing.assert_allclose(session(x), keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    (key,) = session._runner._specialised
    assert key[-1] == (1 if batch == 1 else 2)
    assert session(x).shape == (batch, 2)


@pytest.mark.parametrize("batch, split", [(4, True), (5, True), (1, False)])
def test_onnxruntime_splits_the_batch_across_threads_and_matches_keras(exported, batch, split):
    """A batch of at least one sample per thread runs as parts on single-threaded calls."""
    model, path = exported
    session = onnx_session(path, runtime="onnxruntime", threads=2)
    x = np.random.default_rng(batch).standard_normal((batch, 7, 3)).astype("float32")
    np.testing.assert_allclose(session(x), keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    assert (session._runner._pool is not None) is split
    assert (session._runner._whole is not None) is not split


def test_auto_runtime_is_openvino_when_installed_else_onnxruntime(exported, monkeypatch):
    _, path = exported
    x = np.zeros((2, 4, 3), "float32")
    try:
        import openvino  # noqa: F401

        assert onnx_session(path).runtime == "openvino"
    except ImportError:
        pass
    monkeypatch.setitem(sys.modules, "openvino", None)
    session = onnx_session(path)
    assert session.runtime == "onnxruntime" and session(x).shape == (2, 2)
    with pytest.raises(ImportError, match=r"bf16.*stacked-keras\[openvino\]"):
        onnx_session(path, precision="bf16")


def test_openvino_compiles_a_bounded_number_of_shapes_then_runs_dynamic(exported):
    """Past MAX_SPECIALISED distinct shapes, calls still answer right, on the dynamic model."""
    pytest.importorskip("openvino")
    model, path = exported
    session = onnx_session(path, runtime="openvino", threads=1)
    session._runner.MAX_SPECIALISED = 2
    rng = np.random.default_rng(3)
    for steps in (3, 4, 5, 6):
        x = rng.standard_normal((2, steps, 3)).astype("float32")
        np.testing.assert_allclose(session(x), keras.ops.convert_to_numpy(model(x)), atol=1e-5)
    assert len(session._runner._specialised) == 2


def test_bf16_is_opt_in_and_reports_its_deviation_or_is_refused(exported):
    ov = pytest.importorskip("openvino")
    _, path = exported
    x = np.random.default_rng(2).standard_normal((4, 9, 3)).astype("float32")
    if "BF16" not in ov.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        with pytest.raises(RuntimeError, match="needs a CPU with bf16 support"):
            onnx_session(path, precision="bf16")
        return
    session = onnx_session(path, precision="bf16")
    deviation = session.deviation_from_fp32(x)
    assert 0.0 <= deviation < 0.1


def test_bf16_is_refused_on_a_cpu_without_bf16(exported, monkeypatch):
    """This machine has bf16, so a CPU without it is stood in for by its capability list."""
    ov = pytest.importorskip("openvino")
    real = ov.Core.get_property

    def without_bf16(core, device, name, *rest):
        value = real(core, device, name, *rest)
        return [c for c in value if c != "BF16"] if name == "OPTIMIZATION_CAPABILITIES" else value

    monkeypatch.setattr(ov.Core, "get_property", without_bf16)
    with pytest.raises(RuntimeError, match=r"needs a CPU with bf16 support.*use precision='fp32'"):
        onnx_session(exported[1], precision="bf16")
    assert onnx_session(exported[1], runtime="openvino").precision == "fp32"


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"runtime": "tvm"}, "runtime must be one of"),
        ({"precision": "fp16"}, "precision must be one of"),
        ({"runtime": "onnxruntime", "precision": "bf16"}, "served by runtime='openvino' only"),
        ({"threads": 0}, "threads must be a positive integer"),
    ],
)
def test_bad_session_arguments_are_named(exported, kwargs, message):
    with pytest.raises(ValueError, match=message):
        onnx_session(exported[1], **kwargs)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not an ONNX file"):
        onnx_session(tmp_path / "nothing.onnx")


def test_serving_module_reexports_onnx_session():
    from stacked_keras import serving

    assert serving.onnx_session is onnx_session


def test_cli_build_export_onnx_writes_a_verified_file(tmp_path, capsys):
    from stacked_keras.cli import main

    target = tmp_path / "model.onnx"
    code = main(["build", "lstm", "--units", "6", "4", "--input-shape", "none", "3", "--head", "regression",
                 "--export-onnx", str(target)])
    assert code == 0 and target.is_file()
    assert "onnxruntime max |difference|" in capsys.readouterr().out
    code = main(["build", "lstm", "--units", "6", "--input-shape", "none", "3", "--export-onnx", str(target)])
    assert code != 0 and "overwrite" in capsys.readouterr().err


def test_demo_writes_a_verified_onnx_file_beside_the_saved_model(tmp_path):
    from stacked_keras.demo import run_demo

    lines = []
    result = run_demo(epochs=1, export_dir=tmp_path / "deep_lstm", out=lines.append, verbose=0)
    assert result.onnx_export.path == tmp_path / "deep_lstm.onnx"
    assert result.onnx_export.max_abs_diff <= 1e-5
    assert any("ONNX (opset 17) written to" in line for line in lines)

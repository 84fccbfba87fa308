"""ONNX export: round trips through onnxruntime, refusals, atomic writes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import keras
import numpy as np
import pytest

pytest.importorskip("onnxruntime")

from stacked_keras import zoo
from stacked_keras.builders import deep_rnn
from stacked_keras.export_errors import ExportVerificationError
from stacked_keras.onnx_export import export_onnx
from stacked_keras.onnx_graph import UnsupportedLayerError
from stacked_keras.onnx_serving import onnx_session


def _onnx_ops(path):
    import onnx

    return [node.op_type for node in onnx.load(str(path)).graph.node]


def _build(**kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return deep_rnn(compile=False, **kwargs)


BUILDER_OPTIONS = {
    "lstm_regression": dict(cell="lstm", units=[6, 4], input_shape=(None, 3), head="regression"),
    "gru_reset_after_binary": dict(cell="gru", units=[5, 4], input_shape=(None, 3), head="binary"),
    "gru_reset_before": dict(cell="gru", units=[5, 4], input_shape=(None, 3), head="regression",
                             cell_kwargs={"reset_after": False}),
    "simple_rnn_multiclass": dict(cell="simple_rnn", units=[4, 3], input_shape=(None, 3),
                                  head="multiclass", num_classes=3),
    "masked_tokens_lstm": dict(cell="lstm", units=[5, 4], vocab_size=17, embedding_dim=4,
                               head="binary"),
    "masked_tokens_bigru_tagger": dict(cell="gru", units=[4, 4], vocab_size=17, embedding_dim=4,
                                       bidirectional=True, output="sequence", head="multiclass",
                                       num_classes=3),
    "residual_layer_norm": dict(cell="lstm", units=[4, 4, 4], input_shape=(None, 4), residual=True,
                                layer_norm=True, head="regression", dropout=0.1),
    "sequence_output": dict(cell="lstm", units=[4, 3], input_shape=(None, 2), output="sequence"),
}


@pytest.mark.parametrize("name", sorted(BUILDER_OPTIONS))
def test_builder_option_round_trips_through_onnxruntime(tmp_path, name):
    model = _build(**BUILDER_OPTIONS[name])
    result = export_onnx(model, tmp_path / "model.onnx")
    assert result.max_abs_diff <= 1e-5
    assert result.path == tmp_path / "model.onnx" and result.path.is_file()
    ops = _onnx_ops(result.path)
    cell = BUILDER_OPTIONS[name]["cell"]
    native = {"lstm": "LSTM", "gru": "GRU", "simple_rnn": "RNN"}[cell]
    assert ops.count(native) == len(BUILDER_OPTIONS[name]["units"])
    assert "ONNX (opset 17)" in str(result)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave", None])
@pytest.mark.parametrize("return_sequences", [True, False])
def test_bidirectional_merge_modes_round_trip(tmp_path, merge_mode, return_sequences):
    inputs = keras.Input((None, 3))
    merged = keras.layers.Bidirectional(
        keras.layers.LSTM(4, return_sequences=return_sequences), merge_mode=merge_mode
    )(inputs)
    model = keras.Model(inputs, merged if merge_mode is None else [merged])
    result = export_onnx(model, tmp_path / "model.onnx")
    assert result.max_abs_diff <= 1e-5
    assert _onnx_ops(result.path).count("LSTM") == 1
    assert len(result.outputs) == (2 if merge_mode is None else 1)


def test_go_backwards_and_masking_with_right_padding_match_keras(tmp_path):
    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(9, 4, mask_zero=True),
        keras.layers.GRU(5, go_backwards=True, return_sequences=True),
        keras.layers.SimpleRNN(3, activation="relu", go_backwards=True),
    ])
    result = export_onnx(model, tmp_path / "model.onnx")
    assert result.max_abs_diff <= 1e-5
    # Right-padded rows give the same last state as Keras.
    import onnxruntime

    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    tokens = np.array([[3, 4, 5, 0, 0, 0], [1, 2, 3, 4, 5, 6], [7, 0, 0, 0, 0, 0]], np.int32)
    (got,) = session.run(None, {result.inputs[0][0]: tokens})
    np.testing.assert_allclose(got, keras.ops.convert_to_numpy(model(tokens)), atol=1e-5)


def test_recurrent_activations_and_heads_map_to_onnx(tmp_path):
    model = keras.Sequential([
        keras.Input((None, 3)),
        keras.layers.LSTM(4, recurrent_activation="hard_sigmoid", return_sequences=True),
        keras.layers.TimeDistributed(keras.layers.Dense(3, activation="softmax")),
    ])
    assert export_onnx(model, tmp_path / "model.onnx").max_abs_diff <= 1e-5


@pytest.mark.parametrize("reset_after", [True, False])
def test_gru_without_bias_exports_in_both_reset_forms(tmp_path, reset_after):
    # reset_after=True with use_bias=False has no (2, 3 * units) bias to split: zeros of both halves.
    model = keras.Sequential([
        keras.Input((None, 3)),
        keras.layers.GRU(4, use_bias=False, reset_after=reset_after, return_sequences=True),
        keras.layers.GRU(3, reset_after=reset_after, bias_initializer="random_normal"),
    ])
    result = export_onnx(model, tmp_path / "model.onnx")
    assert result.max_abs_diff <= 1e-5
    assert _onnx_ops(result.path).count("GRU") == 2


@pytest.mark.parametrize("preset", ["deep-simple-rnn", "sentiment-deep-lstm", "tagger-bilstm",
                                    "forecaster-deep-gru"])
def test_zoo_presets_export_and_match_keras(tmp_path, preset):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = zoo.build(preset, compile=False)
    assert export_onnx(model, tmp_path / "model.onnx").max_abs_diff <= 1e-5


def test_seq2seq_preset_is_refused_naming_the_attention_layer(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = zoo.build("seq2seq-attention", compile=False)
    model = getattr(model, "model", model)
    with pytest.raises(UnsupportedLayerError, match=r"(?s)Attention.*export the encoder alone.*"
                       r"export_onnx\(stacked_keras\.zoo\.Seq2Seq\.from_model\(model\)\.encoder_model, path\)"):
        export_onnx(model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_seq2seq_encoder_exports_with_its_states_and_matches_keras(tmp_path, cell):
    """The encoder alone: padded source tokens in, top sequence and each layer's final states out."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = zoo.build("seq2seq-attention", compile=False, cell=cell, units=[8, 6])
    seq2seq = zoo.Seq2Seq.from_model(model)
    with pytest.raises(TypeError, match=r"export_onnx\(model\.encoder_model, path\)"):
        export_onnx(seq2seq, tmp_path / "whole.onnx")
    encoder = seq2seq.encoder_model
    result = export_onnx(encoder, tmp_path / "encoder.onnx")
    assert result.max_abs_diff <= 1e-5
    assert len(result.outputs) == len(encoder.outputs) == 1 + seq2seq.spec.depth * seq2seq.spec.states_per_layer
    session = onnx_session(result.path, runtime="onnxruntime")
    tokens = np.array([[5, 3, 9, 2, 0, 0], [4, 4, 1, 7, 8, 6]], "int32")
    served = session(tokens)
    expected = [keras.ops.convert_to_numpy(x) for x in encoder(tokens)]
    np.testing.assert_allclose(served[0][0, :4], expected[0][0, :4], atol=1e-5)  # real tokens only
    np.testing.assert_allclose(served[0][1], expected[0][1], atol=1e-5)
    for have, want in zip(served[1:], expected[1:]):  # last states: at the last real token
        np.testing.assert_allclose(have, want, atol=1e-5)


REFUSED = {
    "lambda": (lambda: keras.Sequential([keras.Input((None, 3)), keras.layers.Lambda(lambda x: x * 2),
                                         keras.layers.LSTM(2)]),
               r"layer 'lambda\w*' \(keras\..*Lambda\) cannot be exported to ONNX.*replace the Lambda"),
    "stateful": (lambda: keras.Sequential([keras.Input((None, 3), batch_size=2),
                                           keras.layers.LSTM(2, stateful=True)]),
                 r"LSTM\) cannot be exported.*stateful.*stateful=False"),
    "activation": (lambda: keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(2, activation="gelu")]),
                   r"activation 'gelu' has no ONNX recurrent form.*use one of"),
    "custom": (lambda: keras.Sequential([keras.Input((None, 3)), _MyLSTM(2)]),
               r"_MyLSTM\) cannot be exported.*custom or subclassed"),
    "masking": (lambda: keras.Sequential([keras.Input((None, 3)), keras.layers.Masking(),
                                          keras.layers.LSTM(2)]),
                r"Masking\) cannot be exported.*mask_zero=True"),
}


class _MyLSTM(keras.layers.LSTM):
    pass


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refusals_name_the_layer_its_class_and_the_fix_and_write_nothing(tmp_path, case):
    build, message = REFUSED[case]
    with pytest.raises(UnsupportedLayerError, match=message):
        export_onnx(build(), tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def small_model():
    return keras.Sequential([keras.Input((None, 3)), keras.layers.GRU(3), keras.layers.Dense(1)])


def test_existing_file_is_never_silently_overwritten(tmp_path, small_model):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="overwrite=True"):
        export_onnx(small_model, target)
    assert target.read_bytes() == b"keep me"
    export_onnx(small_model, target, overwrite=True)
    assert target.read_bytes() != b"keep me"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]


def test_failed_verification_leaves_the_previous_file_and_no_temporary(tmp_path, small_model, monkeypatch):
    target = tmp_path / "model.onnx"
    target.write_bytes(b"previous")
    import stacked_keras.onnx_graph as onnx_graph

    real = onnx_graph.OnnxGraphWriter.dense

    def wrong_dense(self, layer, x):  # a mapping bug: the bias is dropped
        out = self.node("MatMul", [x, self.constant(onnx_graph._array(layer.kernel), "k")], layer.name)
        return out if not layer.use_bias else self.node("Add", [out, self.constant(
            onnx_graph._array(layer.bias) + 1.0, "b")], layer.name)

    monkeypatch.setattr(onnx_graph.OnnxGraphWriter, "dense", wrong_dense)
    with pytest.raises(ExportVerificationError, match=r"differs from the model by .*nothing was written"):
        export_onnx(small_model, target, overwrite=True)
    assert target.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.onnx"]
    monkeypatch.setattr(onnx_graph.OnnxGraphWriter, "dense", real)


def test_ctrl_c_while_writing_leaves_no_file(tmp_path, small_model, monkeypatch):
    import stacked_keras.onnx_export as onnx_export

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(onnx_export, "verify_onnx_file", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_onnx(small_model, tmp_path / "model.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"atol": -1}, ValueError, "atol must be a non-negative number, got -1"),
        ({"opset": 12}, ValueError, "opset must be an int from 17 to 21"),
        ({"overwrite": "yes"}, ValueError, "overwrite must be True or False"),
    ],
)
def test_bad_arguments_are_named(tmp_path, small_model, kwargs, error, message):
    with pytest.raises(error, match=message):
        export_onnx(small_model, tmp_path / "m.onnx", **kwargs)


def test_bad_paths_are_refused_before_any_work(tmp_path, small_model):
    with pytest.raises(FileNotFoundError, match="parent directory"):
        export_onnx(small_model, tmp_path / "missing" / "m.onnx")
    with pytest.raises(IsADirectoryError, match="is an existing directory"):
        export_onnx(small_model, tmp_path)
    with pytest.raises(TypeError, match="path must be a str or os.PathLike"):
        export_onnx(small_model, 3)


def test_missing_onnx_names_the_extra(tmp_path, small_model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(ImportError, match=r"stacked-keras\[onnx\]"):
        export_onnx(small_model, tmp_path / "m.onnx")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_export_from_a_non_tensorflow_model_in_a_subprocess(tmp_path, backend):
    pytest.importorskip(backend)
    script = (
        "import keras, sys\n"
        f"assert keras.backend.backend() == {backend!r}\n"
        "from stacked_keras.builders import deep_lstm\n"
        "m = deep_lstm([4, 3], vocab_size=11, embedding_dim=3, bidirectional=True, head='binary', compile=False)\n"
        "from stacked_keras.onnx_export import export_onnx\n"
        "r = export_onnx(m, sys.argv[1])\n"
        "print('DIFF', r.max_abs_diff)\n"
    )
    env = {**os.environ, "KERAS_BACKEND": backend, "JAX_PLATFORMS": "cpu"}
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path / "m.onnx")], env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    difference = float(done.stdout.split("DIFF")[1])
    assert difference <= 1e-5

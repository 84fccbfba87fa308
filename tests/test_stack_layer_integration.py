"""Models holding an `LSTMStack`/`GRUStack` (`deep_rnn(..., fused=True)`) everywhere a model goes.

Real tiny models (units [8, 6], batch 4, 5 timesteps, 3 features): ONNX
export as L chained native nodes checked in onnxruntime, the SavedModel
export reloaded and served, the NumPy reference, `describe`'s rows, `.keras`
and `.h5` round trips, and the refusals (a masked input in ONNX). Every
comparison is with Keras to 1e-5.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")
tf = pytest.importorskip("tensorflow")

from stacked_keras import GRUStack, LSTMStack, deep_rnn  # noqa: E402

UNITS = [8, 6]
TOLERANCE = 1e-5


def _x(batch=4, timesteps=5, features=3, seed=0):
    return np.random.default_rng(seed).standard_normal((batch, timesteps, features)).astype("float32")


def _fused(cell, return_sequences, units=UNITS, head=None):
    """A fused builder model with biases drawn at random (zeros would hide a bias mix-up)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = deep_rnn(cell, units, input_shape=(None, 3), fused=True, compile=False, head=head,
                         output="sequence" if return_sequences else None)
    rng = np.random.default_rng(7)
    model.set_weights([w + 0.3 * rng.standard_normal(w.shape).astype("float32") for w in model.get_weights()])
    return model


def _predicted(model, x):
    return keras.ops.convert_to_numpy(model(x, training=False))


CASES = [(cell, sequences) for cell in ("lstm", "gru") for sequences in (False, True)]


# -- ONNX ----------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "return_sequences"), CASES)
def test_onnx_export_writes_one_native_node_per_layer_and_matches_keras(tmp_path, cell, return_sequences):
    onnx = pytest.importorskip("onnx")
    onnxruntime = pytest.importorskip("onnxruntime")
    from stacked_keras import export_onnx

    model = _fused(cell, return_sequences, head="regression")
    result = export_onnx(model, tmp_path / "model.onnx")
    assert result.max_abs_diff <= TOLERANCE
    nodes = onnx.load(str(result.path)).graph.node
    recurrent = [(node.op_type, node.name) for node in nodes if node.op_type in ("LSTM", "GRU")]
    stack = f"{cell}_stack"
    assert recurrent == [(cell.upper(), f"{stack}/layer_0"), (cell.upper(), f"{stack}/layer_1")]
    session = onnxruntime.InferenceSession(str(result.path), providers=["CPUExecutionProvider"])
    x = _x()
    (got,) = session.run(None, {result.inputs[0][0]: x})
    want = _predicted(model, x)
    assert got.shape == want.shape == ((4, 5, 1) if return_sequences else (4, 1))
    np.testing.assert_allclose(got, want, atol=TOLERANCE)


def test_onnx_weights_of_a_stack_are_those_of_the_standard_layers():
    pytest.importorskip("onnx")
    from stacked_keras.onnx_graph import onnx_recurrent_weights

    fused = _fused("gru", False, units=[8, 6, 5])
    stack = fused.get_layer("gru_stack")
    standard = keras.Sequential([keras.Input((None, 3))] + [
        keras.layers.GRU(u, return_sequences=stack.layer_return_sequences(i)) for i, u in enumerate(stack.units)
    ])
    standard.set_weights(stack.get_weights())
    parts = onnx_recurrent_weights(stack)
    assert [p.name for p in parts] == ["gru_stack/layer_0", "gru_stack/layer_1", "gru_stack/layer_2"]
    for part, layer in zip(parts, standard.layers):
        (own,) = onnx_recurrent_weights(layer)
        for key in ("W", "R", "B"):
            np.testing.assert_array_equal(getattr(part, key), getattr(own, key))
        assert (part.op, part.units, part.attributes, part.activations) == (
            own.op, own.units, own.attributes, own.activations)


def test_onnx_export_refuses_a_masked_input_and_writes_nothing(tmp_path):
    pytest.importorskip("onnxruntime")
    from stacked_keras import export_onnx
    from stacked_keras.onnx_graph import UnsupportedLayerError

    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(10, 4, mask_zero=True),
        LSTMStack([4, 3], name="lstm_stack"),
    ])
    with pytest.raises(UnsupportedLayerError, match=r"'lstm_stack'.*padding mask.*fused=False"):
        export_onnx(model, tmp_path / "model.onnx")
    assert not list(tmp_path.iterdir())


# -- SavedModel ------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "return_sequences"), [("lstm", False), ("gru", True)])
def test_saved_model_export_reloads_and_serves_what_keras_computes(tmp_path, cell, return_sequences):
    from stacked_keras import export_saved_model

    model = _fused(cell, return_sequences, head="regression")
    result = export_saved_model(model, tmp_path / "model")
    assert result.max_abs_diff <= TOLERANCE
    serving = tf.saved_model.load(str(result.path)).signatures["serving_default"]
    for x in (_x(), _x(2, 9, seed=1)):  # any batch, any length
        (got,) = serving(sequence=tf.constant(x)).values()
        np.testing.assert_allclose(got.numpy(), _predicted(model, x), atol=TOLERANCE)
    assert not [p.name for p in tmp_path.iterdir() if p.name != "model"]  # atomic: no temporary left


def test_saved_model_of_a_stack_is_forward_only_and_a_plain_one_keeps_gradients(monkeypatch, tmp_path):
    from stacked_keras import export as export_module

    chosen = []
    real = tf.saved_model.save

    def spy(obj, path, signatures=None, options=None):
        chosen.append(options.experimental_custom_gradients)
        return real(obj, path, signatures=signatures, options=options)

    monkeypatch.setattr(tf.saved_model, "save", spy)
    export_module.export_saved_model(_fused("lstm", False), tmp_path / "fused", verify=False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = deep_rnn("lstm", UNITS, input_shape=(None, 3), compile=False)
    export_module.export_saved_model(plain, tmp_path / "plain", verify=False)
    assert chosen == [False, True]
    assert export_module.holds_stack_layers(_fused("gru", True)) and not export_module.holds_stack_layers(plain)


# -- the NumPy reference -------------------------------------------------------


@pytest.mark.parametrize("stack_class", [LSTMStack, GRUStack])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_reference_computes_the_stack_from_its_layer_weights(stack_class, return_sequences):
    from stacked_keras import reference

    layer = stack_class([8, 6, 5], return_sequences=return_sequences, bias_initializer="random_normal")
    model = keras.Sequential([keras.Input((None, 3)), layer, keras.layers.Dense(2)])
    x = _x()
    computed = reference.forward(model, x)
    assert computed.shape == ((4, 5, 2) if return_sequences else (4, 2))
    np.testing.assert_allclose(computed, _predicted(model, x), atol=TOLERANCE)
    assert stack_class.__name__ in reference.SUPPORTED_LAYERS


def test_reference_refuses_a_masked_input_to_a_stack():
    from stacked_keras import reference

    model = keras.Sequential([
        keras.Input((None,), dtype="int32"),
        keras.layers.Embedding(10, 4, mask_zero=True),
        GRUStack([4, 3], name="gru_stack"),
    ])
    with pytest.raises(ValueError, match="'gru_stack'.*mask.*fused=False"):
        reference.forward(model, np.array([[1, 2, 0]]))


# -- describe ------------------------------------------------------------------


@pytest.mark.parametrize(("cell", "return_sequences"), CASES)
def test_describe_shows_one_row_per_layer_of_the_stack_like_the_standard_layers(cell, return_sequences):
    from stacked_keras import describe

    fused = _fused(cell, return_sequences, head="regression")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        plain = deep_rnn(cell, UNITS, input_shape=(None, 3), compile=False, head="regression",
                         output="sequence" if return_sequences else None)
    description = describe(fused)
    names = [row["name"] for row in description.rows]
    assert names == [f"{cell}_stack/layer_0", f"{cell}_stack/layer_1"]
    assert [row["return_sequences"] for row in description.rows] == [True, return_sequences]
    assert [row["units"] for row in description.rows] == UNITS
    keys = ("L", "cell", "direction", "units", "gates", "input_dim", "U", "W", "B", "params", "return_sequences")
    assert [{k: r[k] for k in keys} for r in description.rows] == [{k: r[k] for k in keys} for r in describe(plain).rows]
    assert description.recurrent_params == fused.get_layer(f"{cell}_stack").count_params()
    assert f"{cell}_stack/layer_1" in str(description)


# -- .keras and .h5 ----------------------------------------------------------------


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_saved_file_loads_the_same_stack_and_predicts_the_same(tmp_path, cell, suffix):
    model = _fused(cell, cell == "gru", head="regression")
    path = tmp_path / f"model{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # .h5 is Keras's legacy format and says so
        model.save(path)
        loaded = keras.models.load_model(path, compile=False)
    stack = loaded.get_layer(f"{cell}_stack")
    assert type(stack) is (LSTMStack if cell == "lstm" else GRUStack)
    assert stack.get_config() == model.get_layer(f"{cell}_stack").get_config()
    x = _x()
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


def test_only_stacked_kerass_own_stack_classes_count_as_stack_layers():
    # Export, the reference and describe compute an LSTMStack as L LSTM layers; a class
    # that only shares the name (another module, a prefix-alike package, a subclass) is not one.
    from stacked_keras.grid_layers import GRUStack, LSTMStack
    from stacked_keras.keras_catalogue import layer_stack_class

    assert layer_stack_class(LSTMStack) == "LSTMStack" and layer_stack_class(GRUStack) == "GRUStack"
    for module in ("my_lab.layers", "stacked_keras_ext.layers", "__main__"):
        impostor = type("LSTMStack", (keras.layers.Layer,), {"__module__": module})
        assert layer_stack_class(impostor) is None, module
    assert layer_stack_class(type("MyStack", (LSTMStack,), {})) is None

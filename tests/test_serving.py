"""The compiled inference function and fast_predict give the model's own outputs, for any batch and length."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from stacked_keras.builders import deep_gru, deep_lstm
from stacked_keras.serving import (
    MAX_AUTO_SHARDS,
    default_batch_shards,
    fast_predict,
    inference_callable,
    serving_function,
)

FEATURES = 3


def _sequences(batch, timesteps, seed=0):
    return np.random.default_rng(seed).normal(size=(batch, timesteps, FEATURES)).astype("float32")


@pytest.fixture(scope="module")
def stack():
    keras.utils.set_random_seed(0)
    return deep_lstm([4, 3], input_shape=(None, FEATURES), head="regression")


def test_serving_function_gives_the_model_outputs_for_any_batch_and_length(stack):
    serve = serving_function(stack)
    for batch, timesteps in [(2, 5), (7, 13), (1, 1)]:
        x = _sequences(batch, timesteps)
        np.testing.assert_allclose(serve(x).numpy(), stack(x).numpy(), atol=1e-6)
    assert serve.experimental_get_tracing_count() == 1


def test_serving_function_is_traced_once_per_model_and_settings(stack):
    assert serving_function(stack) is serving_function(stack)
    assert serving_function(stack, jit_compile=True) is not serving_function(stack)
    assert serving_function(stack, batch_shards=3) is not serving_function(stack, batch_shards=1)


@pytest.mark.parametrize("shards", [1, 2, 3])
@pytest.mark.parametrize("batch", [1, 2, 7])
def test_batch_shards_give_the_model_outputs_in_order(stack, shards, batch):
    # Shards of unequal size, and empty ones when the batch is smaller than the shard count.
    x = _sequences(batch, 5, seed=batch)
    served = serving_function(stack, batch_shards=shards)(x).numpy()
    np.testing.assert_allclose(served, stack(x).numpy(), atol=1e-6)


def test_auto_shards_are_one_per_core_capped():
    shards = default_batch_shards()
    assert 1 <= shards <= MAX_AUTO_SHARDS
    threads = tf.config.threading.get_inter_op_parallelism_threads()
    assert shards == min(threads or os.cpu_count(), MAX_AUTO_SHARDS)


def test_sharded_parts_run_as_independent_chains_in_one_graph(stack):
    traced = serving_function(stack, batch_shards=2).get_concrete_function()
    graph = traced.graph.as_graph_def()
    loops = [node for fn in graph.library.function for node in fn.node_def if node.op in ("While", "StatelessWhile")]
    loops += [node for node in graph.node if node.op in ("While", "StatelessWhile")]
    assert len(loops) == 2 * 2  # two recurrent layers, once per shard


def test_serving_function_signature_has_dynamic_batch_and_time(stack):
    (spec,) = serving_function(stack).input_signature
    assert spec.shape.as_list() == [None, None, FEATURES]
    assert spec.name == "sequence"


def test_serving_function_reads_the_weights_live():
    model = deep_lstm([3], input_shape=(None, FEATURES), head="regression")
    serve = serving_function(model)
    x = _sequences(2, 4)
    before = serve(x).numpy()
    model.set_weights([w + 0.5 for w in model.get_weights()])
    after = serve(x).numpy()
    assert not np.allclose(before, after)
    np.testing.assert_allclose(after, model(x).numpy(), atol=1e-6)


def test_fast_predict_equals_predict_with_a_last_partial_batch(stack):
    x = _sequences(10, 6, seed=1)
    np.testing.assert_allclose(
        fast_predict(stack, x, batch_size=4), stack.predict(x, batch_size=4, verbose=0), atol=1e-6
    )
    whole = fast_predict(stack, x, batch_size=None)
    assert whole.shape == (10, 1)
    np.testing.assert_allclose(whole, stack.predict(x, verbose=0), atol=1e-6)


def test_fast_predict_compiled_with_xla_equals_predict(stack):
    x = _sequences(5, 6, seed=2)  # batches of 2: the last one is padded to 2
    compiled = fast_predict(stack, x, batch_size=2, batch_shards=2, jit_compile=True)
    np.testing.assert_allclose(compiled, stack.predict(x, batch_size=2, verbose=0), atol=1e-5)
    assert serving_function(stack, batch_shards=2, jit_compile=True).experimental_get_tracing_count() == 1


def test_savedmodel_serves_the_sharded_compiled_function(stack, tmp_path):
    from stacked_keras.export import serving_input_signature

    archive = keras.export.ExportArchive()
    archive.track(stack)
    archive.add_endpoint(
        name="serve",
        fn=inference_callable(stack, batch_shards=2, jit_compile=True),
        input_signature=[serving_input_signature(stack)],
    )
    archive.write_out(str(tmp_path / "fast"), verbose=False)
    signature = tf.saved_model.load(str(tmp_path / "fast")).signatures["serving_default"]
    x = _sequences(5, 9, seed=8)
    (served,) = signature(sequence=tf.constant(x)).values()
    np.testing.assert_allclose(served.numpy(), stack(x).numpy(), atol=1e-5)


def test_fast_predict_reads_token_ids():
    model = deep_gru([4, 2], vocab_size=12, head="binary")
    tokens = np.random.default_rng(3).integers(1, 12, size=(6, 9))
    tokens[0, 5:] = 0  # padding, masked by the embedding
    np.testing.assert_allclose(
        fast_predict(model, tokens, batch_size=4), model.predict(tokens, batch_size=4, verbose=0), atol=1e-6
    )


def test_fast_predict_feeds_every_input_of_a_multi_input_model():
    left = keras.Input((None, FEATURES), name="left")
    right = keras.Input((None, 2), name="right")
    joined = keras.layers.Concatenate()([keras.layers.LSTM(3)(left), keras.layers.GRU(2)(right)])
    model = keras.Model({"left": left, "right": right}, keras.layers.Dense(1)(joined))
    inputs = {"left": _sequences(5, 4), "right": np.ones((5, 7, 2), "float32")}
    np.testing.assert_allclose(
        fast_predict(model, inputs, batch_size=2), model.predict(inputs, batch_size=2, verbose=0), atol=1e-6
    )


def test_fast_predict_refuses_a_bad_batch_size_or_shard_count(stack):
    with pytest.raises(ValueError, match=r"batch_size must be a positive integer or None, got 0"):
        fast_predict(stack, _sequences(2, 3), batch_size=0)
    with pytest.raises(ValueError, match=r"got True"):
        fast_predict(stack, _sequences(2, 3), batch_size=True)
    with pytest.raises(ValueError, match=r"batch_shards must be a positive integer or 'auto', got 0"):
        fast_predict(stack, _sequences(2, 3), batch_shards=0)
    with pytest.raises(ValueError, match=r"batch_shards must be a positive integer or 'auto', got 'all'"):
        serving_function(stack, batch_shards="all")


def test_fast_predict_refuses_empty_and_uneven_inputs():
    left = keras.Input((None, FEATURES), name="left")
    right = keras.Input((None, 2), name="right")
    model = keras.Model([left, right], keras.layers.Concatenate()([keras.layers.LSTM(2)(left), keras.layers.LSTM(2)(right)]))
    with pytest.raises(ValueError, match=r"same number of samples in every input, got sizes \[3, 4\]"):
        fast_predict(model, [_sequences(3, 2), np.zeros((4, 2, 2), "float32")])
    with pytest.raises(ValueError, match="at least one sample, got 0"):
        fast_predict(model, [_sequences(0, 2), np.zeros((0, 2, 2), "float32")])


def test_serving_function_refuses_what_is_not_a_model():
    with pytest.raises(TypeError, match="model must be a keras.Model, got LSTM"):
        serving_function(keras.layers.LSTM(2))
    with pytest.raises(TypeError, match="jit_compile must be True or False, got 'yes'"):
        serving_function(keras.Sequential([keras.Input((None, 1)), keras.layers.LSTM(1)]), jit_compile="yes")


def test_serving_function_takes_an_explicit_signature(stack):
    serve = serving_function(stack, input_signature=tf.TensorSpec([None, 5, FEATURES], name="sequence"))
    x = _sequences(3, 5)
    np.testing.assert_allclose(serve(x).numpy(), stack(x).numpy(), atol=1e-6)
    with pytest.raises((TypeError, ValueError)):
        serve(_sequences(3, 6))  # the signature fixes 5 timesteps


def test_docstring_examples_run():
    import doctest

    from stacked_keras import serving

    failures, attempted = doctest.testmod(serving, verbose=False)
    assert attempted > 0 and failures == 0


# The code of the README's "Performance" section, verbatim.
README_FAST_PREDICT = '''
import numpy as np
from stacked_keras import deep_lstm
from stacked_keras.serving import fast_predict, serving_function

model = deep_lstm([32, 32], input_shape=(None, 8), head="regression")
x = np.random.rand(100, 20, 8).astype("float32")

y = fast_predict(model, x, batch_size=32, jit_compile=True)  # model.predict's numbers
serve = serving_function(model)  # one graph for any batch size and length
print(y.shape, serve(x[:3, :5]).shape)
'''

README_FAST_SAVEDMODEL = '''
from stacked_keras import export_saved_model

# the served batch is split over the cores, each part compiled by XLA
export_saved_model(model, "deep_lstm_fast", batch_shards="auto", jit_compile=True)
'''


def test_readme_performance_examples_run(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {}
    exec(README_FAST_PREDICT, namespace)
    assert capsys.readouterr().out.strip() == "(100, 1) (3, 1)"
    model, x, y = namespace["model"], namespace["x"], namespace["y"]
    np.testing.assert_allclose(y, model.predict(x, batch_size=32, verbose=0), atol=1e-5)
    exec(README_FAST_SAVEDMODEL, namespace)
    signature = tf.saved_model.load("deep_lstm_fast").signatures["serving_default"]
    (served,) = signature(sequence=tf.constant(x[:5])).values()
    np.testing.assert_allclose(served.numpy(), model(x[:5]).numpy(), atol=1e-5)


def test_serving_does_not_import_export():
    """export builds on serving (inference_callable, serving_input_signature), never the reverse."""
    import ast
    import pathlib

    import stacked_keras.serving as serving

    tree = ast.parse(pathlib.Path(serving.__file__).read_text(encoding="utf-8"))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert "stacked_keras.export" not in imported

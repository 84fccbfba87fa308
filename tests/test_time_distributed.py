"""stacked-keras's TimeDistributed: right for any number of timesteps (Keras 3.15 is not)."""

import json

import keras
import numpy as np
import pytest
import tensorflow as tf

from stacked_keras import deep_rnn, lint, reference_forward
from stacked_keras.lint.from_config import graphs_from_config
from stacked_keras.time_distributed import TimeDistributed


@pytest.fixture(scope="module")
def tagger():
    keras.utils.set_random_seed(3)
    return deep_rnn("lstm", [6, 5], vocab_size=20, head="tagger", num_classes=3, compile=False)


def test_builder_tagger_predicts_every_length_it_is_given(tagger):
    # Keras's own TimeDistributed returned (4, 4, 3) from the second length on.
    for steps in (5, 7, 9):
        tokens = np.random.default_rng(steps).integers(1, 20, size=(4, steps))
        assert tagger.predict(tokens, verbose=0).shape == (4, steps, 3)


def test_unknown_time_axis_in_a_traced_function_keeps_the_timesteps(tagger):
    serve = tf.function(tagger, input_signature=[tf.TensorSpec([None, None], tf.int32)])
    tokens = np.random.default_rng(0).integers(1, 20, size=(3, 6)).astype("int32")
    served = serve(tf.constant(tokens))
    assert served.shape == (3, 6, 3)
    np.testing.assert_allclose(served.numpy(), keras.ops.convert_to_numpy(tagger(tokens)), atol=1e-6)


def test_it_saves_loads_and_reads_as_a_plain_time_distributed(tagger, tmp_path):
    path = tmp_path / "tagger.keras"
    tagger.save(path)
    reloaded = keras.models.load_model(path)
    assert isinstance(reloaded.get_layer("head"), TimeDistributed)
    tokens = np.random.default_rng(1).integers(1, 20, size=(2, 8))
    np.testing.assert_allclose(reloaded.predict(tokens, verbose=0), tagger.predict(tokens, verbose=0), atol=1e-6)
    (graph,) = graphs_from_config(json.loads(tagger.to_json()))
    assert [node.cls for node in graph.nodes][-1] == "TimeDistributed"
    assert lint(str(path)).findings == [] and lint(tagger).findings == []


def test_the_reference_computes_it_as_time_distributed(tagger):
    tokens = np.random.default_rng(2).integers(0, 20, size=(3, 7))
    tokens[:, 5:] = 0
    expected = reference_forward(tagger, tokens)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(tagger(tokens)), expected, atol=1e-5)

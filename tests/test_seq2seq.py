"""The stacked encoder-decoder with attention: structure, training, greedy decoding."""

import json
import re

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import stacked_keras  # noqa: E402
from stacked_keras.zoo import build_from_spec, normalize_spec, spec_of  # noqa: E402
from stacked_keras.zoo.datasets import END_ID, PAD_ID, START_ID, number_translation  # noqa: E402
from stacked_keras.zoo.seq2seq import (  # noqa: E402
    Seq2Seq,
    decode,
    normalize_seq2seq_arguments,
    seq2seq,
)

MAX_LEN = 5


@pytest.fixture(scope="module")
def data():
    return number_translation(240, seed=0)


@pytest.fixture(scope="module")
def trained(data):
    """A tiny Luong translator trained a few epochs, and its loss history."""
    keras.utils.set_random_seed(0)
    translator = Seq2Seq(
        "lstm",
        [8, 8],
        source_vocab=len(data.vocabulary),
        target_vocab=len(data.target_vocabulary),
        attention="luong",
    )
    translator.model.compile(
        optimizer=keras.optimizers.Adam(0.01),
        loss="sparse_categorical_crossentropy",
        run_eagerly=True,  # a few steps: cheaper than tracing the training graph
    )
    history = translator.model.fit(
        data.x_train, data.y_train, epochs=2, batch_size=96, verbose=0
    )
    return translator, history.history["loss"]


def test_both_stacks_return_sequences_and_states(trained):
    translator, _ = trained
    model = translator.model
    for role in ("encoder", "decoder"):
        layers = [model.get_layer(f"{role}_lstm_{depth}") for depth in (1, 2)]
        assert [layer.return_sequences for layer in layers] == [True, True]
        assert all(layer.return_state for layer in layers)
    assert type(model.get_layer("attention")).__name__ == "Attention"
    assert model.get_layer("attention").score_mode == "dot"
    assert [i.name for i in model.inputs] == ["source_tokens", "target_tokens"]


def test_decoder_layer_l_starts_from_encoder_layer_l_states(trained):
    from stacked_keras.lint.from_model import graph_from_model

    graph = graph_from_model(trained[0].model)
    nodes = {node.name: node for node in graph.nodes}
    for depth in (1, 2):
        sources = graph.predecessors(nodes[f"decoder_lstm_{depth}"], role="initial_state")
        assert {node.name for node in sources} == {f"encoder_lstm_{depth}"}


def test_teacher_forced_training_lowers_the_loss(trained):
    _, losses = trained
    assert np.isfinite(losses).all()
    assert losses[-1] < losses[0]


def test_training_model_predicts_a_distribution_per_target_step(trained, data):
    source, decoder_inputs = data.x_val
    probabilities = keras.ops.convert_to_numpy(
        trained[0].model([source[:3], decoder_inputs[:3]], training=False)
    )
    assert probabilities.shape == (3, decoder_inputs.shape[1], len(data.target_vocabulary))
    np.testing.assert_allclose(probabilities.sum(axis=-1), 1.0, rtol=1e-5)


def test_decode_returns_valid_token_sequences_of_shape_batch_by_max_len(trained, data):
    source = data.x_val[0][:8]
    tokens = decode(trained[0], source, MAX_LEN)
    assert tokens.shape == (8, MAX_LEN) and tokens.dtype == np.int32
    assert tokens.min() >= 0 and tokens.max() < len(data.target_vocabulary)
    texts = [data.target_vocabulary.decode(row) for row in tokens]
    assert all(re.fullmatch(r"(\d( \d)*)?", text) for text in texts)
    for row in tokens:
        ends = np.flatnonzero(row == END_ID)
        produced = row[: ends[0]] if len(ends) else row
        assert PAD_ID not in produced and START_ID not in produced
        if len(ends):
            assert (row[ends[0] + 1:] == PAD_ID).all()


def test_decode_of_one_sequence_returns_one_row(trained, data):
    tokens, weights = decode(trained[0], data.x_val[0][0], MAX_LEN, return_attention=True)
    assert tokens.shape == (MAX_LEN,)
    assert weights.shape == (MAX_LEN, data.x_val[0].shape[1])


def test_attention_weights_cover_the_real_source_tokens_of_each_produced_step(trained, data):
    source = data.x_val[0][:6]
    tokens, weights = decode(trained[0], source, MAX_LEN, return_attention=True)
    assert weights.shape == (6, MAX_LEN, source.shape[1])
    for row_tokens, row_weights, row_source in zip(tokens, weights, source):
        ends = np.flatnonzero(row_tokens == END_ID)
        steps = ends[0] + 1 if len(ends) else MAX_LEN
        np.testing.assert_allclose(row_weights[:steps].sum(axis=-1), 1.0, rtol=1e-5)
        assert np.allclose(row_weights[:, row_source == PAD_ID], 0.0)  # padding is masked
        assert np.allclose(row_weights[steps:], 0.0)


def test_greedy_decoding_agrees_with_the_teacher_forced_model(trained, data):
    """The step models share the training layers: feeding the decoded tokens back
    through the training model predicts the same tokens."""
    translator, _ = trained
    source = data.x_val[0][:5]
    tokens = decode(translator, source, MAX_LEN)
    decoder_inputs = np.concatenate(
        [np.full((5, 1), START_ID, "int32"), np.where(tokens == END_ID, PAD_ID, tokens)[:, :-1]],
        axis=1,
    )
    probabilities = keras.ops.convert_to_numpy(
        translator.model([source, decoder_inputs], training=False)
    )
    probabilities[..., [PAD_ID, START_ID]] = -1
    for row, row_tokens in enumerate(tokens):
        ends = np.flatnonzero(row_tokens == END_ID)
        steps = ends[0] + 1 if len(ends) else MAX_LEN
        np.testing.assert_array_equal(probabilities[row, :steps].argmax(-1), row_tokens[:steps])


def test_decode_works_on_a_model_reloaded_from_a_keras_file(trained, data, tmp_path):
    translator, _ = trained
    path = tmp_path / "translator.keras"
    translator.model.save(path)
    reloaded = keras.models.load_model(path)
    source = data.x_val[0][:4]
    np.testing.assert_array_equal(decode(reloaded, source, MAX_LEN), decode(translator, source, MAX_LEN))


def test_bahdanau_gru_translator_builds_and_decodes():
    translator = Seq2Seq(
        "gru", [6, 6, 6], source_vocab=20, target_vocab=8, attention="bahdanau", compile=False
    )
    assert type(translator.model.get_layer("attention")).__name__ == "AdditiveAttention"
    assert [translator.model.get_layer(f"decoder_gru_{d}").return_sequences for d in (1, 2, 3)] == [True] * 3
    tokens, weights = translator.decode(np.array([[3, 4, 5, 0]]), 3, return_attention=True)
    assert tokens.shape == (1, 3) and weights.shape == (1, 3, 4)


def test_seq2seq_spec_round_trips_through_json(tmp_path):
    spec = {
        "format": 1,
        "builder": "seq2seq",
        "args": {"cell": "gru", "units": [8, 8], "source_vocab": 31, "target_vocab": 13,
                 "attention": "bahdanau", "dropout": 0.1},
    }
    path = tmp_path / "spec.json"
    path.write_text(json.dumps(spec))
    model = build_from_spec(json.loads(path.read_text()))
    assert spec_of(model) == normalize_spec(spec)
    assert spec_of(model)["args"]["embedding_dim"] == 8
    assert model.get_layer("encoder_gru_2").dropout == pytest.approx(0.1)


def test_seq2seq_model_lints_clean(trained):
    assert stacked_keras.lint(trained[0].model).findings == []


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"attention": "dot"}, r"attention must be one of 'luong', 'bahdanau'.*got 'dot'"),
        ({"cell": "simple_rnn"}, r"cell must be one of 'lstm', 'gru', got 'simple_rnn'"),
        ({"units": [8, 0]}, r"units\[1\] must be a positive integer, got 0"),
        ({"units": []}, r"units must be a positive integer or a non-empty list"),
        ({"target_vocab": 3}, r"target_vocab must be an integer >= 4"),
        ({"dropout": 1.0}, r"dropout must be a number in \[0, 1\), got 1.0"),
    ],
)
def test_bad_arguments_raise_before_any_layer_is_made(kwargs, message):
    arguments = {"source_vocab": 20, "target_vocab": 8, **kwargs}
    with pytest.raises(ValueError, match=message):
        normalize_seq2seq_arguments(**arguments)
    with pytest.raises(ValueError, match=message):
        seq2seq(**arguments)


def test_decode_refuses_bad_requests(trained, data):
    translator, _ = trained
    with pytest.raises(ValueError, match="max_len must be a positive integer, got 0"):
        translator.decode(data.x_val[0][:1], 0)
    with pytest.raises(ValueError, match=r"source_tokens must be ids in \[0, 30\]"):
        translator.decode(np.array([[99, 1]]), 3)
    with pytest.raises(ValueError, match="source_tokens must be integer token ids"):
        translator.decode(np.zeros((1, 2, 3), "int32"), 3)


def test_decode_refuses_a_model_that_is_not_a_seq2seq_model():
    model = keras.Sequential([keras.Input((4, 2)), keras.layers.LSTM(3, name="lstm_1")])
    with pytest.raises(ValueError, match="not a stacked_keras seq2seq model: it has no layer named 'source_embedding'"):
        decode(model, np.array([[1, 2]]), 3)

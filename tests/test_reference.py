"""The NumPy reference agrees with Keras: the stack computes the seed's equation.

Every model here is tiny (a few units, a few timesteps) and is run twice on
the same random batch: by Keras (`model(x, training=False)`) and by
`stacked_keras.reference.forward`, which reads only the weights. The two
must agree to 1e-5 in float32.
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest

import stacked_keras
from stacked_keras import reference
from stacked_keras.reference import forward, gru_step, lstm_step, simple_rnn_step

L = keras.layers
TOLERANCE = 1e-5
BATCH, TIMESTEPS, FEATURES, VOCAB = 4, 6, 3, 12


def max_difference(model, x):
    """The largest |Keras - reference| over all outputs of `model` on `x`."""
    expected = model(x, training=False)
    computed = forward(model, x)
    if isinstance(expected, (list, tuple)):
        assert isinstance(computed, list) and len(computed) == len(expected)
        pairs = zip(expected, computed)
    else:
        assert isinstance(computed, np.ndarray)
        pairs = [(expected, computed)]
    worst = 0.0
    for keras_value, reference_value in pairs:
        keras_value = np.asarray(keras_value)
        assert keras_value.shape == reference_value.shape
        worst = max(worst, float(np.max(np.abs(keras_value - reference_value))))
    return worst


@pytest.fixture(scope="module")
def sequences():
    return np.random.default_rng(7).normal(size=(BATCH, TIMESTEPS, FEATURES)).astype("float32")


@pytest.fixture(scope="module")
def padded_tokens():
    """Token ids with 0 as padding: right-padded, left-padded, holes, all padding."""
    ids = np.random.default_rng(8).integers(1, VOCAB, size=(BATCH + 1, TIMESTEPS + 1))
    ids[0, 4:] = 0  # right padding
    ids[1, :3] = 0  # left padding
    ids[2, 2] = 0  # a hole in the middle
    ids[2, 5:] = 0
    ids[3, :] = 0  # a sequence that is all padding
    return ids


def sequential(*layers, shape=(TIMESTEPS, FEATURES), dtype="float32"):
    return keras.Sequential([keras.Input(shape, dtype=dtype), *layers])


def token_model(*layers):
    """Embedding(mask_zero=True) with weights large enough to matter, then `layers`."""
    embedding = L.Embedding(
        VOCAB, FEATURES, mask_zero=True, embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=3)
    )
    return sequential(embedding, *layers, shape=(TIMESTEPS + 1,), dtype="int32")


# -- the cell equations, one step against Keras's cells ----------------------


def test_simple_rnn_step_is_the_seed_equation_in_column_form():
    rng = np.random.default_rng(0)
    h_prev, x_t = rng.normal(size=(1, 2)), rng.normal(size=(1, 3))
    W, U, b = rng.normal(size=(2, 2)), rng.normal(size=(3, 2)), rng.normal(size=2)
    # The seed's H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L) with column
    # vectors; Keras's matrices are the transposes of the seed's.
    seed_form = np.tanh(W.T @ h_prev[0] + U.T @ x_t[0] + b)
    np.testing.assert_allclose(simple_rnn_step(h_prev, x_t, W, U, b)[0], seed_form, rtol=1e-12)


@pytest.mark.parametrize(
    "cell",
    [
        pytest.param(lambda: L.SimpleRNNCell(2), id="simple_rnn"),
        pytest.param(lambda: L.LSTMCell(2), id="lstm"),
        pytest.param(lambda: L.GRUCell(2, reset_after=True), id="gru_reset_after"),
        pytest.param(lambda: L.GRUCell(2, reset_after=False), id="gru_reset_before"),
    ],
)
def test_step_functions_match_one_keras_cell_step(cell):
    rng = np.random.default_rng(1)
    keras_cell = cell()
    keras_cell.build((None, 3))
    # Random biases, so a wrong bias layout cannot hide behind zeros.
    keras_cell.bias.assign(rng.normal(size=tuple(keras_cell.bias.shape)).astype("float32"))
    x_t = rng.normal(size=(2, 3)).astype("float32")
    states = [rng.normal(size=(2, 2)).astype("float32") for _ in keras.tree.flatten(keras_cell.state_size)]
    keras_output, keras_states = keras_cell(x_t, states)
    U = np.asarray(keras_cell.kernel, dtype=np.float64)
    W = np.asarray(keras_cell.recurrent_kernel, dtype=np.float64)
    b = np.asarray(keras_cell.bias, dtype=np.float64)
    if isinstance(keras_cell, L.LSTMCell):
        h, c = lstm_step(states[0], states[1], x_t, W, U, b)
        np.testing.assert_allclose(c, np.asarray(keras_states[1]), atol=TOLERANCE)
    elif isinstance(keras_cell, L.GRUCell):
        h = gru_step(states[0], x_t, W, U, b, reset_after=keras_cell.reset_after)
    else:
        h = simple_rnn_step(states[0], x_t, W, U, b)
    np.testing.assert_allclose(h, np.asarray(keras_output), atol=TOLERANCE)


# -- whole stacks ------------------------------------------------------------

STACKS = {
    "seed_simple_rnn_3_then_2": lambda: sequential(L.SimpleRNN(3, return_sequences=True), L.SimpleRNN(2)),
    "lstm_stack": lambda: sequential(L.LSTM(4, return_sequences=True), L.LSTM(4, return_sequences=True), L.LSTM(3)),
    "gru_stack_reset_after": lambda: sequential(L.GRU(4, return_sequences=True), L.GRU(3)),
    "gru_stack_reset_before": lambda: sequential(
        L.GRU(4, reset_after=False, return_sequences=True), L.GRU(3, reset_after=False)
    ),
    "mixed_cells_mixed_units": lambda: sequential(
        L.LSTM(5, return_sequences=True),
        L.GRU(3, return_sequences=True),
        L.SimpleRNN(4, return_sequences=True),
        L.LSTM(2),
    ),
    "go_backwards_layers": lambda: sequential(
        L.LSTM(3, go_backwards=True, return_sequences=True), L.GRU(2, go_backwards=True)
    ),
    "top_layer_returns_sequences": lambda: sequential(
        L.GRU(3, return_sequences=True), L.LSTM(2, return_sequences=True)
    ),
    "dense_head": lambda: sequential(L.LSTM(4, return_sequences=True), L.GRU(3), L.Dense(5, activation="softmax")),
    "time_distributed_head": lambda: sequential(
        L.SimpleRNN(3, return_sequences=True), L.TimeDistributed(L.Dense(2, activation="sigmoid"))
    ),
    "layer_norm_and_dropout_between_layers": lambda: sequential(
        L.LSTM(4, return_sequences=True, dropout=0.3, recurrent_dropout=0.2),
        L.LayerNormalization(),
        L.Dropout(0.5),
        L.GRU(2),
    ),
    "rnn_over_cells": lambda: sequential(
        L.RNN(L.LSTMCell(3), return_sequences=True),
        L.RNN([L.GRUCell(3), L.SimpleRNNCell(2)], return_sequences=True),
        L.RNN(L.GRUCell(2, reset_after=False)),
    ),
    "other_activations_no_bias_unrolled": lambda: sequential(
        L.SimpleRNN(3, activation="relu", return_sequences=True, unroll=True),
        L.LSTM(3, recurrent_activation="hard_sigmoid", use_bias=False, return_sequences=True),
        L.GRU(2, activation="softsign", recurrent_activation="hard_sigmoid"),
    ),
}


@pytest.mark.parametrize("stack", list(STACKS))
def test_reference_matches_keras_on_random_inputs(stack, sequences):
    model = STACKS[stack]()
    assert max_difference(model, sequences) <= TOLERANCE


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_bidirectional_stack_matches_keras_for_each_merge_mode(merge_mode, sequences):
    model = sequential(
        L.Bidirectional(L.LSTM(3, return_sequences=True), merge_mode=merge_mode),
        L.Bidirectional(L.GRU(2), merge_mode=merge_mode),
    )
    assert max_difference(model, sequences) <= TOLERANCE


def test_bidirectional_without_merge_returns_both_directions(sequences):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    forward_out, backward_out = L.Bidirectional(L.GRU(2, return_sequences=True), merge_mode=None)(inputs)
    model = keras.Model(inputs, [forward_out, backward_out])
    assert max_difference(model, sequences) <= TOLERANCE
    computed = forward(model, sequences)
    assert [c.shape for c in computed] == [(BATCH, TIMESTEPS, 2)] * 2


def test_functional_residual_stack_with_states_matches_keras(sequences):
    inputs = keras.Input((TIMESTEPS, FEATURES))
    h1 = L.LSTM(FEATURES, return_sequences=True)(inputs)
    h1 = L.LayerNormalization()(L.Add()([inputs, h1]))
    h2 = L.Concatenate()([L.GRU(2, return_sequences=True)(h1), h1])
    top, state_h, state_c = L.LSTM(2, return_state=True)(h2)
    decoded = L.SimpleRNN(2, return_sequences=True)(h2, initial_state=state_h)
    model = keras.Model(inputs, [top, state_c, decoded])
    assert max_difference(model, sequences) <= TOLERANCE


# -- masking -----------------------------------------------------------------

MASKED_STACKS = {
    "plain_layers_return_sequences": lambda: token_model(
        L.LSTM(4, return_sequences=True), L.GRU(3, return_sequences=True)
    ),
    "plain_layers_last_output": lambda: token_model(L.GRU(4, return_sequences=True), L.SimpleRNN(3)),
    "go_backwards": lambda: token_model(
        L.LSTM(3, go_backwards=True, return_sequences=True), L.GRU(2, go_backwards=True)
    ),
    "bidirectional_sequence_then_last": lambda: token_model(
        L.Bidirectional(L.LSTM(3, return_sequences=True)), L.Bidirectional(L.GRU(2), merge_mode="ave")
    ),
    "bidirectional_then_time_distributed_head": lambda: token_model(
        L.Bidirectional(L.GRU(3, reset_after=False, return_sequences=True), merge_mode="sum"),
        L.Dropout(0.2),
        L.TimeDistributed(L.Dense(2)),
    ),
}


@pytest.mark.parametrize("stack", list(MASKED_STACKS))
def test_reference_matches_keras_on_padded_masked_inputs(stack, padded_tokens):
    model = MASKED_STACKS[stack]()
    assert max_difference(model, padded_tokens) <= TOLERANCE


def test_masking_changes_the_output(padded_tokens):
    """The padded agreement is not vacuous: the mask does change the result."""
    masked = token_model(L.LSTM(3, return_sequences=True), L.GRU(2))
    unmasked = sequential(
        L.Embedding(VOCAB, FEATURES, mask_zero=False), L.LSTM(3, return_sequences=True), L.GRU(2),
        shape=(TIMESTEPS + 1,), dtype="int32",
    )
    unmasked.set_weights(masked.get_weights())
    right_padded = padded_tokens[0:1]
    assert np.max(np.abs(forward(masked, right_padded) - forward(unmasked, right_padded))) > 1e-3


def test_masked_steps_repeat_the_last_output_in_a_plain_layer(padded_tokens):
    model = token_model(L.LSTM(3, return_sequences=True))
    output = forward(model, padded_tokens)
    # Sequence 0 is padding from t = 4: the state is carried over and the
    # output repeats H_3. Sequence 1 starts with 3 padding steps: zeros.
    np.testing.assert_array_equal(output[0, 4:], np.repeat(output[0, 3:4], TIMESTEPS + 1 - 4, axis=0))
    np.testing.assert_array_equal(output[1, :3], 0.0)
    assert np.all(output[1, 3] != 0.0)
    np.testing.assert_array_equal(output[3], 0.0)  # all padding


def test_masked_steps_are_zero_in_a_bidirectional_sequence(padded_tokens):
    model = token_model(L.Bidirectional(L.GRU(2, return_sequences=True)))
    output = forward(model, padded_tokens)
    np.testing.assert_array_equal(output[0, 4:], 0.0)
    np.testing.assert_array_equal(output[2, 2], 0.0)
    assert np.all(output[2, [1, 3]] != 0.0)


# -- builder-made models -----------------------------------------------------

BUILT = {
    "seed_3_then_2": dict(cell="simple_rnn", units=[3, 2], input_shape=(None, FEATURES)),
    "mixed_bidirectional": dict(
        cell=["lstm", "gru", "simple_rnn"], units=[4, 3, 2], input_shape=(TIMESTEPS, FEATURES),
        bidirectional=[True, False, True], merge_mode="sum", head="multiclass", num_classes=3,
    ),
    "residual_layer_norm": dict(
        cell="gru", units=[3, 3, 3], input_shape=(None, FEATURES), residual=True, layer_norm=True,
        cell_kwargs={"reset_after": False}, head="regression",
    ),
    "embedding_masked_residual": dict(
        cell="lstm", units=[4, 4], vocab_size=VOCAB, residual=True, layer_norm=True, head="binary",
    ),
    "embedding_masked_bidirectional_tagger": dict(
        cell=["gru", "lstm"], units=[3, 2], vocab_size=VOCAB, input_shape=(TIMESTEPS + 1,),
        bidirectional=True, head="tagger", num_classes=3,
    ),
}


@pytest.mark.parametrize("config", list(BUILT))
def test_reference_matches_builder_models(config, sequences, padded_tokens):
    from stacked_keras.builders import deep_rnn

    arguments = dict(BUILT[config])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the builders' advice (SimpleRNN stacks, cuDNN) is not under test
        model = deep_rnn(arguments.pop("cell"), arguments.pop("units"), compile=False, **arguments)
    x = padded_tokens if "vocab_size" in arguments else sequences
    assert max_difference(model, x) <= TOLERANCE


@pytest.mark.parametrize("cell, attention", [("lstm", "luong"), ("gru", "bahdanau")])
def test_reference_matches_the_zoo_encoder_decoder_with_attention(cell, attention):
    from stacked_keras.zoo.seq2seq import seq2seq

    model = seq2seq(cell, [3, 3], source_vocab=VOCAB, target_vocab=VOCAB, attention=attention, compile=False)
    rng = np.random.default_rng(9)
    source, target = rng.integers(1, VOCAB, size=(3, 6)), rng.integers(1, VOCAB, size=(3, 5))
    source[0, 3:] = 0  # padded source: masked out of the encoder and the attention
    source[2, :] = 0
    target[1, 2:] = 0
    assert max_difference(model, [source, target]) <= TOLERANCE


def test_attention_variants_match_keras():
    rng = np.random.default_rng(10)
    query, value = keras.Input((None, 3)), keras.Input((None, 3))
    causal = L.Attention(use_scale=True)([query, value], use_causal_mask=True)
    concat, scores = L.Attention(score_mode="concat", use_scale=True)(
        [query, value, value], return_attention_scores=True
    )
    additive = L.AdditiveAttention(use_scale=True)([query, value])
    model = keras.Model([query, value], [causal, concat, scores, additive])
    for variable in model.weights:  # move the scales away from their initial ones
        variable.assign(rng.normal(size=tuple(variable.shape)).astype("float32"))
    x = [rng.normal(size=(2, 4, 3)).astype("float32") for _ in range(2)]
    assert max_difference(model, x) <= TOLERANCE


# -- the public name and bad input --------------------------------------------


def test_package_exports_reference_forward():
    assert stacked_keras.reference_forward is forward


def test_unsupported_layer_is_named_with_the_supported_list(sequences):
    model = sequential(L.Conv1D(2, 2), L.LSTM(2))
    with pytest.raises(ValueError, match=r"conv1d.*Conv1D.*supported layers: .*LSTM"):
        forward(model, sequences)


def test_unsupported_activation_is_named(sequences):
    model = sequential(L.SimpleRNN(2, activation=lambda x: x * 2.0))
    with pytest.raises(ValueError, match=r"activation .*supported activations: .*tanh"):
        forward(model, sequences)


def test_input_of_the_wrong_shape_is_refused():
    model = sequential(L.GRU(2))
    with pytest.raises(ValueError, match=r"x must have shape \(None, 6, 3\).*got \(4, 6, 5\)"):
        forward(model, np.zeros((4, 6, 5), "float32"))


def test_unbuilt_model_is_refused():
    with pytest.raises(ValueError, match="not built"):
        forward(keras.Sequential([L.LSTM(2)]), np.zeros((1, 2, 3), "float32"))


def test_non_model_is_refused():
    with pytest.raises(ValueError, match="model must be a keras.Model, got LSTM"):
        forward(L.LSTM(2), np.zeros((1, 2, 3), "float32"))


def test_subclassed_layer_is_not_assumed_to_compute_like_its_parent(sequences):
    class DoubledLSTM(L.LSTM):
        def call(self, *args, **kwargs):
            return 2.0 * super().call(*args, **kwargs)

    with pytest.raises(ValueError, match="DoubledLSTM"):
        forward(sequential(DoubledLSTM(2)), sequences)


def test_supported_layer_list_covers_what_the_builders_make():
    needed = {"InputLayer", "Embedding", "SimpleRNN", "LSTM", "GRU", "RNN", "Bidirectional", "Dropout",
              "LayerNormalization", "Add", "Dense", "TimeDistributed"}
    assert needed <= set(reference.SUPPORTED_LAYERS)


# The README's "The equation, checked" example, verbatim.
README_EXAMPLE = '''
import numpy as np
from stacked_keras import deep_lstm, reference_forward

model = deep_lstm([4, 3], input_shape=(None, 3), head="regression")
x = np.random.default_rng(0).normal(size=(8, 10, 3)).astype("float32")
difference = np.abs(np.asarray(model(x)) - reference_forward(model, x)).max()
print(f"largest difference: {difference:.0e}")  # well under 1e-5
'''


def test_readme_example_agrees_within_tolerance(capsys):
    namespace = {}
    exec(compile(README_EXAMPLE, "README.md", "exec"), namespace)
    assert namespace["difference"] <= TOLERANCE
    assert capsys.readouterr().out.startswith("largest difference: ")

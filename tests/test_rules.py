"""The lint rules: each broken form is found, each correct form is left alone.

Pure Python: every model here is a graph built by hand, the way a front-end
would build it, so no TensorFlow is needed.
"""

import dataclasses
import os
import pathlib
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stacked_keras.graph import UNKNOWN, Edge, LayerNode, Location, ModelGraph
from stacked_keras.lint.findings import SEVERITIES, Finding, UnreadableInput
from stacked_keras.lint.rules import RULES, Rule, check, input_finding, rule_page, rules_table

ALL_CODES = [
    "SK001", "SK002", "SK003", "SK004", "SK005", "SK006",
    "SK101", "SK102", "SK103",
    "SK201", "SK202", "SK203",
]


# -- building graphs by hand -------------------------------------------------


def layer(cls, name=None, line=None, **config):
    location = Location(path="model.py", line=line, column=5) if line else None
    return LayerNode(name or cls.lower(), cls, config, location=location)


def lstm(name="lstm", line=None, **config):
    return layer("LSTM", name, line, **config)


def inputs(shape=(20, 8), name="input_layer"):
    return LayerNode(name, "InputLayer", {"shape": shape}, kind="input")


def sequential(*layers, shape=(20, 8), **graph_options):
    """A Sequential model: an Input, then the layers, one feeding the next."""
    graph_options.setdefault("name", "model")
    graph_options.setdefault("path", "model.py")
    return ModelGraph.chain([inputs(shape), *layers], **graph_options)


def codes(graph, **options):
    return [f.code for f in check(graph, **options)]


def only(graph, code):
    found = [f for f in check(graph) if f.code == code]
    assert len(found) == 1, found
    return found[0]


# -- SK101 broken vertical connection ----------------------------------------


def test_lstm_returning_its_last_state_into_lstm_is_sk101():
    graph = sequential(
        lstm("lstm_1", line=4, units=64),
        lstm("lstm_2", line=5, units=32),
        layer("Dense", units=1),
    )
    finding = only(graph, "SK101")
    assert finding.name == "broken-vertical-connection"
    assert finding.severity == "error"
    assert finding.layer == "lstm_1"
    assert (finding.path, finding.line, finding.column, finding.cell) == ("model.py", 4, 5, None)
    assert finding.model == "model"
    assert finding.message == (
        "lstm_1 returns only its last state (return_sequences=False) but feeds lstm_2, which "
        "needs a sequence: the vertical connection between layer 1 and layer 2 is broken."
    )
    assert finding.fix == "Set return_sequences=True on lstm_1."


def test_intermediate_layers_returning_sequences_give_no_finding():
    graph = sequential(
        lstm("lstm_1", return_sequences=True, dropout=0.2),
        lstm("lstm_2", return_sequences=True),
        lstm("lstm_3"),
        layer("Dense", units=1),
    )
    assert check(graph) == []


def test_every_broken_connection_of_a_deep_stack_is_reported_with_its_depth():
    graph = sequential(
        lstm("lstm_1", line=3, dropout=0.2),
        lstm("lstm_2", line=4),
        lstm("lstm_3", line=5),
        layer("Dense", units=1),
    )
    found = check(graph)
    assert [(f.code, f.layer) for f in found] == [("SK101", "lstm_1"), ("SK101", "lstm_2")]
    assert "between layer 2 and layer 3" in found[1].message


@pytest.mark.parametrize(
    "between",
    [
        [layer("Dropout", rate=0.3)],
        [layer("BatchNormalization")],
        [layer("LayerNormalization")],
        [layer("Dense", units=16, activation="relu")],
        [layer("Activation", activation="tanh")],
        [layer("Dense", units=16), layer("Dropout", rate=0.1), layer("LayerNormalization")],
        [LayerNode("time_distributed", "TimeDistributed", wrapped=layer("Dense", units=4))],
    ],
    ids=["dropout", "batchnorm", "layernorm", "dense", "activation", "several", "td_dense"],
)
def test_last_state_through_rank_keeping_layers_is_sk101(between):
    graph = sequential(lstm("lstm_1", dropout=0.2), *between, lstm("lstm_2"))
    assert codes(graph) == ["SK101"]
    assert "feeds lstm_2" in check(graph)[0].message


def test_repeat_vector_bridge_is_not_sk101():
    graph = sequential(
        lstm("encoder", units=32, dropout=0.2),
        layer("RepeatVector", n=20),
        lstm("decoder", units=32, return_sequences=True),
        LayerNode("time_distributed", "TimeDistributed", wrapped=layer("Dense", units=8)),
    )
    assert check(graph) == []


def encoder_decoder(*, decoder_return_sequences=True, head=None, encoder_feeds_decoder_input=False):
    """The Keras seq2seq example: the encoder's states start the decoder."""
    graph = ModelGraph(name="seq2seq", path="seq2seq.py")
    enc_in = graph.add(inputs((None, 30), "encoder_inputs"))
    encoder = graph.add(lstm("encoder", line=3, units=16, return_state=True, dropout=0.2))
    dec_in = graph.add(inputs((None, 40), "decoder_inputs"))
    decoder = graph.add(lstm("decoder", line=6, units=16, return_sequences=decoder_return_sequences))
    out = graph.add(head or layer("Dense", "decoder_dense", units=40, activation="softmax"))
    graph.connect(enc_in, encoder)
    graph.connect(dec_in, decoder)
    graph.connect(encoder, decoder, role="initial_state", index=1)
    if encoder_feeds_decoder_input:
        graph.connect(encoder, decoder)
    graph.connect(decoder, out)
    graph.inputs = [enc_in.id, dec_in.id]
    graph.outputs = [out.id]
    graph.loss = "categorical_crossentropy"
    return graph


def test_states_passed_as_initial_state_are_not_sk101():
    assert check(encoder_decoder()) == []


def test_return_state_output_feeding_a_recurrent_input_is_sk101():
    finding = only(encoder_decoder(encoder_feeds_decoder_input=True), "SK101")
    assert finding.layer == "encoder"
    assert finding.line == 3


def test_unknown_return_sequences_gives_no_finding():
    graph = sequential(lstm("lstm_1", return_sequences=UNKNOWN, dropout=0.2), lstm("lstm_2"))
    assert check(graph) == []


def test_return_sequences_of_an_odd_type_counts_as_unknown():
    graph = sequential(lstm("lstm_1", return_sequences="yes", dropout=0.2), lstm("lstm_2"))
    assert check(graph) == []


def bidirectional(name, inner, line=None):
    location = Location(path="model.py", line=line, column=5) if line else None
    return LayerNode(name, "Bidirectional", {"merge_mode": "concat"}, wrapped=inner, location=location)


def test_bidirectional_returning_its_last_state_is_sk101_on_the_inner_layer():
    inner = LayerNode("forward_lstm", "LSTM", {"units": 8, "dropout": 0.2},
                      location=Location(path="model.py", line=4, column=19))
    graph = sequential(bidirectional("bidirectional", inner, line=4), lstm("lstm_2", units=8))
    finding = only(graph, "SK101")
    assert finding.layer == "bidirectional"
    assert (finding.line, finding.column) == (4, 19)
    assert "bidirectional (wrapping forward_lstm)" in finding.message
    assert "feeds lstm_2" in finding.message
    assert finding.fix == "Set return_sequences=True on forward_lstm inside bidirectional."


def test_bidirectional_returning_sequences_is_fine():
    inner = lstm("forward_lstm", return_sequences=True, dropout=0.2)
    graph = sequential(bidirectional("bidirectional", inner), lstm("lstm_2"), layer("Dense"))
    assert check(graph) == []


def test_convlstm2d_returning_its_last_frame_into_convlstm2d_is_sk101():
    graph = sequential(
        layer("ConvLSTM2D", "conv_lstm_1", filters=8, kernel_size=3, dropout=0.1),
        layer("ConvLSTM2D", "conv_lstm_2", filters=8, kernel_size=3),
        shape=(10, 16, 16, 1),
    )
    assert only(graph, "SK101").layer == "conv_lstm_1"
    graph.nodes[1].config["return_sequences"] = True
    assert check(graph) == []


def test_rnn_over_an_lstm_cell_returning_its_last_state_is_sk101():
    rnn = LayerNode("rnn", "RNN", {}, wrapped=LayerNode("lstm_cell", "LSTMCell", {"units": 8}))
    graph = sequential(rnn, lstm("lstm_2", dropout=0.1))
    assert "SK101" in codes(graph)
    rnn.config["return_sequences"] = True
    assert "SK101" not in codes(graph)


def merge_graph(merge_cls, *, first_returns_sequences):
    """Two recurrent branches merged, then read by a third recurrent layer."""
    graph = ModelGraph(name="merged")
    x = graph.add(inputs((20, 8)))
    a = graph.add(lstm("lstm_a", return_sequences=first_returns_sequences, dropout=0.2))
    b = graph.add(lstm("lstm_b"))
    merged = graph.add(layer(merge_cls, "merge"))
    top = graph.add(lstm("lstm_top"))
    graph.connect(x, a)
    graph.connect(x, b)
    graph.connect(a, merged, index=0)
    graph.connect(b, merged, index=1)
    graph.connect(merged, top)
    graph.outputs = [top.id]
    return graph


def test_last_state_added_to_a_real_sequence_is_not_sk101():
    # lstm_b's vector is broadcast over lstm_a's sequence: deliberate conditioning.
    assert "SK101" not in codes(merge_graph("Add", first_returns_sequences=True))


def test_two_last_states_concatenated_into_lstm_are_both_sk101():
    found = [f for f in check(merge_graph("Concatenate", first_returns_sequences=False))
             if f.code == "SK101"]
    assert sorted(f.layer for f in found) == ["lstm_a", "lstm_b"]


# -- recurrent layers inside TimeDistributed (hierarchical models) ------------


def time_distributed(inner, name="time_distributed", line=None):
    location = Location(path="model.py", line=line, column=5) if line else None
    return LayerNode(name, "TimeDistributed", {}, wrapped=inner, location=location)


def test_time_distributed_lstm_feeding_an_lstm_is_not_sk101():
    # Sentences of words -> one vector per sentence -> one vector per document.
    graph = sequential(
        time_distributed(lstm("word_lstm", units=4, dropout=0.2)),
        lstm("sentence_lstm", units=2),
        layer("Dense", units=1, activation="sigmoid"),
        shape=(5, 10, 3),
        loss="binary_crossentropy",
    )
    assert check(graph) == []


def test_time_distributed_lstms_stacked_without_sequences_is_sk101_on_the_inner_layer():
    inner = LayerNode("word_lstm", "LSTM", {"units": 4, "dropout": 0.2},
                      location=Location(path="model.py", line=4, column=37))
    graph = sequential(
        time_distributed(inner, line=4),
        time_distributed(lstm("word_lstm_2", units=4), name="time_distributed_1"),
        lstm("sentence_lstm", units=2),
        shape=(5, 10, 3),
    )
    finding = only(graph, "SK101")
    assert (finding.layer, finding.line, finding.column) == ("time_distributed", 4, 37)
    assert "feeds time_distributed_1 (wrapping word_lstm_2)" in finding.message
    assert finding.fix == "Set return_sequences=True on word_lstm inside time_distributed."
    assert [f.code for f in check(graph)] == ["SK101"]


def test_hierarchical_stack_with_inner_sequences_is_clean():
    graph = sequential(
        time_distributed(lstm("word_lstm", units=4, return_sequences=True, dropout=0.2)),
        time_distributed(lstm("word_lstm_2", units=4), name="time_distributed_1"),
        lstm("sentence_lstm", units=2),
        layer("Dense", units=1),
        shape=(5, 10, 3),
    )
    assert check(graph) == []


def test_time_distributed_lstm_read_by_a_dense_head_is_not_sk102():
    # One label per sentence: the outer sequence is the output on purpose.
    graph = sequential(
        time_distributed(lstm("word_lstm", units=4, dropout=0.2)),
        layer("Dense", units=1, activation="sigmoid"),
        shape=(5, 10, 3),
        loss="binary_crossentropy",
    )
    assert check(graph) == []
    graph.target_shape = (1,)
    assert check(graph) == []


def test_a_plain_lstm_vector_into_a_time_distributed_lstm_is_not_sk101():
    # Keras refuses this model for ranks, not for return_sequences: setting
    # return_sequences=True would not repair it, so SK101 gives no such advice.
    graph = sequential(lstm("lstm_1", dropout=0.2), time_distributed(lstm("word_lstm")), shape=(5, 3))
    assert "SK101" not in codes(graph)


def test_hierarchical_levels_count_for_the_stack_hints():
    simple = sequential(
        time_distributed(layer("SimpleRNN", "word_rnn", units=4, dropout=0.2)),
        layer("SimpleRNN", "sentence_rnn", units=2),
        shape=(5, 10, 3),
    )
    assert codes(simple) == ["SK201"]
    deep = sequential(
        time_distributed(lstm("word_lstm", units=4, return_sequences=True)),
        time_distributed(lstm("word_lstm_2", units=4), name="time_distributed_1"),
        lstm("sentence_lstm", units=2),
        shape=(5, 10, 3),
    )
    assert codes(deep) == ["SK203"]
    cudnn = sequential(time_distributed(lstm("word_lstm", units=4, recurrent_dropout=0.2)), shape=(5, 10, 3))
    assert codes(cudnn) == ["SK202"]


# -- SK103 fabricated time axis ----------------------------------------------


def test_reshape_between_recurrent_layers_is_sk103():
    graph = sequential(
        lstm("lstm_1", line=3, units=64, dropout=0.2),
        layer("Reshape", "reshape", target_shape=(64, 1)),
        lstm("lstm_2", line=5, units=32),
        layer("Dense", units=1),
    )
    finding = only(graph, "SK103")
    assert codes(graph) == ["SK103"]  # one problem, one finding: not SK101 too
    assert (finding.name, finding.severity, finding.layer, finding.line) == (
        "fabricated-time-axis", "error", "lstm_1", 3)
    assert "lstm_1" in finding.message and "reshape" in finding.message and "lstm_2" in finding.message
    assert finding.fix == "Set return_sequences=True on lstm_1 and remove reshape."


def test_expand_dims_between_recurrent_layers_is_sk103():
    expand = LayerNode("expand_dims", "expand_dims", {"axis": 1}, kind="op")
    graph = sequential(lstm("lstm_1", dropout=0.2), expand, lstm("lstm_2"))
    assert codes(graph) == ["SK103"]
    assert "remove expand_dims" in check(graph)[0].fix


def test_last_state_through_dense_then_reshape_is_sk103():
    graph = sequential(
        lstm("lstm_1", dropout=0.2),
        layer("Dense", units=64),
        LayerNode("reshape", "reshape", {}, kind="op"),
        lstm("lstm_2"),
    )
    assert codes(graph) == ["SK103"]


def test_reshape_of_the_model_input_into_timesteps_is_not_sk103():
    # MNIST rows: 784 pixels read as 28 timesteps of 28 features.
    graph = sequential(
        layer("Reshape", target_shape=(28, 28)),
        lstm("lstm_1", units=32),
        layer("Dense", units=10, activation="softmax"),
        shape=(784,),
        loss="sparse_categorical_crossentropy",
    )
    assert check(graph) == []


def test_dense_vector_reshaped_into_a_sequence_is_not_reported():
    # A latent code decoded into a sequence: a design choice, not a broken stack.
    graph = sequential(
        layer("Dense", units=64),
        layer("Reshape", target_shape=(8, 8)),
        lstm("lstm_1", units=32),
        layer("Dense", units=1),
        shape=(16,),
    )
    assert check(graph) == []


def test_repeat_vector_after_a_last_state_is_not_sk103():
    graph = sequential(
        lstm("encoder", dropout=0.2),
        layer("RepeatVector", n=20),
        lstm("decoder", return_sequences=True),
        LayerNode("td", "TimeDistributed", wrapped=layer("Dense", units=8)),
    )
    assert check(graph) == []


# -- SK102 sequence into a per-sample head -----------------------------------


def sequence_head(head=None, *, after=(), loss=None, target=None, shape=(20, 8), before=()):
    """An LSTM returning sequences at the top of the stack, read by a head."""
    return sequential(
        *before,
        lstm("lstm_1", line=3, units=16, return_sequences=True, dropout=0.2),
        *after,
        head if head is not None else layer("Dense", "dense", units=1, activation="sigmoid"),
        shape=shape,
        loss=loss,
        target_shape=target,
    )


def test_sequence_into_sigmoid_dense_with_classification_loss_is_sk102_warning():
    finding = only(sequence_head(loss="binary_crossentropy"), "SK102")
    assert (finding.name, finding.severity, finding.layer, finding.line) == (
        "sequence-into-per-sample-head", "warning", "lstm_1", 3)
    assert finding.message.startswith(
        "lstm_1 returns its whole sequence (return_sequences=True) and dense reads it directly"
    )
    assert "return_sequences=False on lstm_1" in finding.fix
    assert "TimeDistributed" in finding.fix


@pytest.mark.parametrize(
    "loss",
    [
        "categorical_crossentropy",
        "sparse_categorical_crossentropy",
        "CategoricalCrossentropy",
        {"module": "keras.losses", "class_name": "SparseCategoricalCrossentropy",
         "config": {"name": "sparse_categorical_crossentropy", "from_logits": False}},
    ],
)
def test_softmax_head_over_several_classes_without_a_target_is_sk102_info(loss):
    # It may be a per-token tagger (one label per timestep), which is right.
    graph = sequence_head(layer("Dense", "dense", units=5, activation="softmax"), loss=loss)
    finding = only(graph, "SK102")
    assert finding.severity == "info"
    assert "per-timestep tagger" in finding.message


def test_sigmoid_activation_layer_after_a_linear_head_counts_as_the_head_activation():
    graph = sequence_head(layer("Dense", "dense", units=1), loss="binary_crossentropy")
    graph.add(layer("Activation", "activation", activation="sigmoid"))
    graph.connect(graph.nodes[-2], graph.nodes[-1])
    graph.outputs = [graph.nodes[-1].id]
    assert only(graph, "SK102").severity == "warning"


def test_one_sigmoid_unit_with_binary_crossentropy_and_no_target_is_sk102_warning():
    # The IMDB mistake: one label per review, but one prediction per word.
    finding = only(sequence_head(loss="binary_crossentropy"), "SK102")
    assert finding.severity == "warning"
    assert finding.message.endswith(
        "but its one sigmoid unit and the binary cross-entropy loss ask for one label per sample: "
        "with a per-sample target, fit stops with a shape error."
    )


def test_per_sample_target_makes_sk102_a_warning():
    graph = sequence_head(layer("Dense", "dense", units=1), loss="mse", target=(1,))
    finding = only(graph, "SK102")
    assert finding.severity == "warning"
    assert "(1,)" in finding.message


# (loss, head units, input timesteps, target per sample) -> severity, or None for no finding.
TARGET_CASES = [
    # sparse categorical: per timestep (T,) or (T, 1); per sample () or (1,)
    ("sparse_categorical_crossentropy", 17, 10, (10,), None),
    ("sparse_categorical_crossentropy", 17, 10, (10, 1), None),
    ("sparse_categorical_crossentropy", 17, None, (10,), None),
    ("sparse_categorical_crossentropy", 17, 10, (), "warning"),
    ("sparse_categorical_crossentropy", 17, 10, (1,), "warning"),
    ("sparse_categorical_crossentropy", 17, 10, (10, 17), "info"),
    ("sparse_categorical_crossentropy", 17, 10, (7,), "info"),
    # categorical: per timestep (T, units); per sample (units,) or ()
    ("categorical_crossentropy", 5, 20, (20, 5), None),
    ("categorical_crossentropy", 5, 20, (5,), "warning"),
    ("categorical_crossentropy", 5, 20, (), "warning"),
    ("categorical_crossentropy", 5, 20, (20,), "info"),
    # binary, one unit: per timestep (T, 1) or (T,); per sample (1,) or ()
    ("binary_crossentropy", 1, 20, (20, 1), None),
    ("binary_crossentropy", 1, 20, (20,), None),
    ("binary_crossentropy", 1, 20, (None, 1), None),
    ("binary_crossentropy", 1, 20, (1,), "warning"),
    ("binary_crossentropy", 1, 20, (), "warning"),
    ("binary_crossentropy", 1, 20, (20, 3), "info"),
    # regression
    ("mse", 3, 20, (20, 3), None),
    ("mse", 3, 20, (3,), "warning"),
    ("mse", 3, 20, (20,), "info"),
    ("mse", 1, 20, (20,), None),
    ("mse", 1, 1, (1,), "info"),  # one timestep: per sample and per timestep look alike
    # loss not known: any kind's reading counts
    (None, 17, 10, (10,), None),
    (None, 17, 10, (1,), "warning"),
]


@pytest.mark.parametrize("loss, units, steps, target, severity", TARGET_CASES)
def test_target_shape_decides_sk102_by_loss_kind(loss, units, steps, target, severity):
    graph = sequence_head(layer("Dense", "dense", units=units, activation="softmax" if units > 1 else None),
                          loss=loss, target=target, shape=(steps, 8))
    found = [f.severity for f in check(graph) if f.code == "SK102"]
    assert found == ([] if severity is None else [severity])


def test_per_token_tagger_with_its_target_is_clean_and_with_one_label_per_sample_is_warning():
    def tagger(target):
        return sequential(
            layer("Embedding", input_dim=5000, output_dim=64, mask_zero=True),
            bidirectional("bidirectional", lstm("forward_lstm", units=64, return_sequences=True, dropout=0.2)),
            layer("Dense", "dense", units=17, activation="softmax"),
            shape=(10,), loss="sparse_categorical_crossentropy", target_shape=target,
        )

    assert [f.severity for f in check(tagger(None))] == ["info"]
    assert check(tagger((10,))) == []
    finding = only(tagger(()), "SK102")
    assert finding.severity == "warning"
    assert "the target has shape () per sample: one value per sample" in finding.message


def test_per_timestep_regression_without_a_target_is_sk102_info():
    # The TensorFlow time-series tutorial: LSTM(return_sequences=True) -> Dense(1), mse.
    for loss in ("mse", "mean_absolute_error", {"class_name": "MeanSquaredError", "config": {}}):
        graph = sequence_head(layer("Dense", "dense", units=1), loss=loss)
        assert only(graph, "SK102").severity == "info"


def test_uncompiled_sigmoid_head_is_sk102_info():
    assert only(sequence_head(loss=None), "SK102").severity == "info"
    assert only(sequence_head(loss=UNKNOWN), "SK102").severity == "info"


def test_several_sigmoid_units_with_binary_crossentropy_is_sk102_info():
    # Multi-label tagging per timestep is a real model.
    graph = sequence_head(layer("Dense", "dense", units=3, activation="sigmoid"), loss="binary_crossentropy")
    assert only(graph, "SK102").severity == "info"


def test_language_model_head_over_the_vocabulary_is_sk102_info():
    graph = sequence_head(
        layer("Dense", "dense", units=5000, activation="softmax"),
        before=[layer("Embedding", input_dim=5000, output_dim=32)],
        loss="sparse_categorical_crossentropy",
        shape=(40,),
    )
    assert only(graph, "SK102").severity == "info"


def test_time_distributed_head_is_not_sk102():
    head = LayerNode("td", "TimeDistributed", wrapped=layer("Dense", units=1, activation="sigmoid"))
    assert check(sequence_head(head, loss="binary_crossentropy")) == []


@pytest.mark.parametrize("collapse", ["Flatten", "GlobalAveragePooling1D", "GlobalMaxPooling1D"])
def test_flatten_or_pooling_before_the_head_is_not_sk102(collapse):
    graph = sequence_head(after=[layer(collapse)], loss="binary_crossentropy")
    assert check(graph) == []


def test_last_recurrent_layer_returning_its_last_state_is_not_sk102():
    graph = sequential(lstm("lstm_1", dropout=0.2), layer("Dense", units=1, activation="sigmoid"),
                       loss="binary_crossentropy")
    assert check(graph) == []


def test_sequence_output_without_a_dense_head_is_not_sk102():
    graph = sequential(lstm("lstm_1", return_sequences=True, dropout=0.2), layer("Dropout", rate=0.1))
    assert check(graph) == []


def test_decoder_given_initial_state_is_not_sk102():
    assert check(encoder_decoder()) == []


def test_layer_stacked_on_a_decoder_is_not_sk102():
    graph = encoder_decoder()
    head = graph.nodes[-1]
    graph.edges = [e for e in graph.edges if e.dst != head.id]
    upper = graph.add(lstm("decoder_2", units=16, return_sequences=True))
    graph.connect(graph.nodes[3], upper)
    graph.connect(upper, head)
    assert check(graph) == []


def test_decoder_after_repeat_vector_with_plain_dense_head_is_not_sk102():
    graph = sequential(
        lstm("encoder", dropout=0.2),
        layer("RepeatVector", n=20),
        lstm("decoder", return_sequences=True),
        layer("Dense", units=8, activation="softmax"),
        loss="categorical_crossentropy",
    )
    assert check(graph) == []


def test_loss_given_per_output_decides_for_that_output():
    graph = ModelGraph(name="two_heads")
    x = graph.add(inputs())
    rnn = graph.add(lstm("lstm_1", return_sequences=True, dropout=0.2))
    tags = graph.add(layer("Dense", "tags", units=4))
    label = graph.add(layer("Dense", "label", units=1, activation="sigmoid"))
    graph.connect(x, rnn)
    graph.connect(rnn, tags)
    graph.connect(rnn, label)
    graph.outputs = [tags.id, label.id]
    graph.loss = {"tags": "mse", "label": "binary_crossentropy"}
    finding = only(graph, "SK102")
    assert finding.severity == "warning"
    assert "label reads it directly" in finding.message
    graph.loss = {"tags": "mse", "label": "mse"}
    assert only(graph, "SK102").severity == "info"


def test_sequence_head_in_a_graph_without_declared_outputs_is_still_found():
    graph = sequence_head(loss="binary_crossentropy")
    graph.outputs = []
    assert only(graph, "SK102").severity == "warning"


# -- SK201 deep SimpleRNN ----------------------------------------------------


def test_two_stacked_simple_rnn_layers_are_sk201():
    graph = sequential(
        layer("SimpleRNN", "simple_rnn", line=3, units=8, return_sequences=True, dropout=0.1),
        layer("Dropout", rate=0.2),
        layer("SimpleRNN", "simple_rnn_1", line=5, units=8),
        layer("Dense", units=1),
    )
    finding = only(graph, "SK201")
    assert (finding.name, finding.severity, finding.layer, finding.line) == (
        "deep-simple-rnn", "warning", "simple_rnn", 3)
    assert "simple_rnn and simple_rnn_1" in finding.message
    assert "LSTM or GRU" in finding.fix


def test_one_simple_rnn_layer_or_one_under_an_lstm_is_not_sk201():
    assert check(sequential(layer("SimpleRNN", units=8), layer("Dense", units=1))) == []
    graph = sequential(layer("SimpleRNN", units=8, return_sequences=True), lstm(), layer("Dense"))
    assert "SK201" not in codes(graph)


def test_bidirectional_simple_rnn_stacked_on_simple_rnn_is_sk201():
    inner = layer("SimpleRNN", "simple_rnn_1", units=8)
    graph = sequential(layer("SimpleRNN", units=8, return_sequences=True),
                       bidirectional("bidirectional", inner))
    assert "SK201" in codes(graph)


def test_parallel_simple_rnn_branches_are_not_stacked():
    graph = ModelGraph(name="branches")
    x = graph.add(inputs())
    a = graph.add(layer("SimpleRNN", "rnn_a", units=8))
    b = graph.add(layer("SimpleRNN", "rnn_b", units=8))
    merged = graph.add(layer("Concatenate"))
    head = graph.add(layer("Dense", units=1))
    for src, dst in ((x, a), (x, b), (a, merged), (b, merged), (merged, head)):
        graph.connect(src, dst)
    graph.outputs = [head.id]
    assert check(graph) == []


# -- SK202 cuDNN ---------------------------------------------------------------


def test_recurrent_dropout_is_sk202_info_with_its_fix():
    graph = sequential(lstm("lstm_1", line=3, recurrent_dropout=0.2), layer("Dense"))
    finding = only(graph, "SK202")
    assert (finding.name, finding.severity, finding.layer, finding.line) == (
        "cudnn-ineligible", "info", "lstm_1", 3)
    assert "recurrent_dropout=0.2 (cuDNN needs 0)" in finding.message
    assert finding.fix.startswith("Set recurrent_dropout=0 (move the dropout to dropout=) on lstm_1")


@pytest.mark.parametrize(
    ("cls", "config", "expected"),
    [
        ("LSTM", {"activation": "relu"}, "activation='relu'"),
        ("LSTM", {"recurrent_activation": "hard_sigmoid"}, "recurrent_activation='hard_sigmoid'"),
        ("LSTM", {"unroll": True}, "unroll=True"),
        ("GRU", {"use_bias": False}, "use_bias=False"),
        ("GRU", {"reset_after": False}, "reset_after=False"),
    ],
)
def test_each_cudnn_blocking_setting_is_sk202(cls, config, expected):
    graph = sequential(layer(cls, "rnn", **config), layer("Dense"))
    assert expected in only(graph, "SK202").message


def test_default_lstm_gru_and_simple_rnn_are_not_sk202():
    graph = sequential(lstm("lstm_1", return_sequences=True, dropout=0.3),
                       layer("GRU", "gru_1", return_sequences=True),
                       layer("SimpleRNN", "rnn", activation="relu"), layer("Dense"))
    assert "SK202" not in codes(graph)


def test_unknown_cudnn_settings_are_not_sk202():
    graph = sequential(lstm("lstm_1", activation=UNKNOWN, recurrent_dropout=UNKNOWN), layer("Dense"))
    assert "SK202" not in codes(graph)


def test_use_cudnn_false_is_a_choice_not_a_finding():
    graph = sequential(lstm("lstm_1", use_cudnn=False, recurrent_dropout=0.2), layer("Dense"))
    assert "SK202" not in codes(graph)


def test_use_cudnn_true_with_a_blocking_setting_is_sk202_warning():
    graph = sequential(lstm("lstm_1", use_cudnn=True, activation="relu"), layer("Dense"))
    finding = only(graph, "SK202")
    assert finding.severity == "warning"
    assert "ValueError" in finding.message


def test_rnn_over_an_lstm_cell_is_sk202_located_at_the_cell():
    cell = LayerNode("lstm_cell", "LSTMCell", {"units": 8},
                     location=Location(path="model.py", line=7, column=20))
    rnn = LayerNode("rnn", "RNN", {}, wrapped=cell, location=Location(path="model.py", line=7, column=5))
    finding = only(sequential(rnn, layer("Dense")), "SK202")
    assert (finding.layer, finding.line, finding.column) == ("rnn", 7, 20)
    assert "RNN(LSTMCell)" in finding.message
    assert "keras.layers.LSTM" in finding.fix


# -- SK203 deep stack without regularization ----------------------------------


def plain_stack(depth, **extra):
    layers = [lstm(f"lstm_{i + 1}", line=3 + i, units=8, return_sequences=i < depth - 1, **extra)
              for i in range(depth)]
    return sequential(*layers, layer("Dense", units=1))


def test_three_stacked_layers_without_regularization_are_sk203_info():
    finding = only(plain_stack(3), "SK203")
    assert (finding.name, finding.severity, finding.layer, finding.line) == (
        "unregularized-deep-stack", "info", "lstm_1", 3)
    assert "lstm_1, lstm_2 and lstm_3 form a stack of 3" in finding.message
    assert "dropout" in finding.fix


def test_two_stacked_layers_are_not_sk203():
    assert check(plain_stack(2)) == []


@pytest.mark.parametrize(
    "extra",
    [{"dropout": 0.2}, {"kernel_regularizer": {"class_name": "L2", "config": {"l2": 0.01}}},
     {"dropout": UNKNOWN}],
    ids=["dropout", "regularizer", "unknown"],
)
def test_dropout_or_regularization_in_the_stack_silences_sk203(extra):
    assert "SK203" not in codes(plain_stack(3, **extra))


def test_a_dropout_layer_anywhere_silences_sk203():
    graph = plain_stack(3)
    dropout = graph.add(layer("Dropout", rate=0.2))
    graph.edges = [e for e in graph.edges if e.dst != graph.outputs[0]]
    graph.connect(graph.nodes[3], dropout)
    graph.connect(dropout, graph.outputs[0])
    assert "SK203" not in codes(graph)


def test_a_dropout_layer_with_rate_zero_does_not_count():
    graph = plain_stack(3)
    zero = graph.add(layer("Dropout", rate=0.0))
    graph.connect(graph.nodes[-2], zero)
    assert "SK203" in codes(graph)


# -- SK006 wiring not visible ------------------------------------------------


def subclassed_graph():
    """What a front-end sees of a subclassed model: layers, no wiring."""
    graph = ModelGraph(name="tagger", origin="model",
                       opaque="'tagger' is a subclassed keras.Model (Tagger): its layers are wired in call()")
    graph.add(lstm("first", units=4))
    graph.add(lstm("second", units=2, recurrent_dropout=0.2))
    return graph


def test_graph_whose_wiring_is_not_visible_is_sk006_info():
    found = check(subclassed_graph())
    assert [(f.code, f.severity) for f in found] == [("SK006", "info"), ("SK202", "info")]
    finding = found[0]
    assert finding.name == "wiring-not-visible"
    assert (finding.model, finding.layer, finding.path, finding.line) == ("tagger", None, None, None)
    assert finding.message == (
        "The linter cannot see how the layers of model tagger are wired: 'tagger' is a subclassed "
        "keras.Model (Tagger): its layers are wired in call(), so the rules that follow the data "
        "between layers (SK101, SK102, SK103, SK201, SK203) checked nothing."
    )
    assert "lint the source file" in finding.fix.lower() and "functional API" in finding.fix


def test_sk006_is_reported_whatever_select_says_unless_ignored():
    assert "SK006" in codes(subclassed_graph(), select=["SK101"])
    assert "SK006" not in codes(subclassed_graph(), ignore=["SK006"])
    assert "SK006" not in codes(subclassed_graph(), select=["SK1"], ignore=["SK0"])


def test_a_graph_with_visible_wiring_is_not_sk006():
    graph = sequential(lstm("lstm_1", units=4))
    assert graph.opaque is None and "SK006" not in codes(graph)
    graph.opaque = ""  # an empty reason is no reason
    assert "SK006" not in codes(graph)


# -- the findings, selected and sorted ---------------------------------------


def test_findings_are_sorted_by_location():
    graph = sequential(
        lstm("lstm_1", line=9, units=8),
        lstm("lstm_2", line=4, units=8, recurrent_dropout=0.1),
        lstm("lstm_3", line=6, units=8),
    )
    found = check(graph)
    assert [(f.line, f.code) for f in found] == [(4, "SK101"), (4, "SK202"), (9, "SK101")]


def test_location_falls_back_from_the_core_to_the_node_to_the_model():
    inner = lstm("lstm_inner", dropout=0.2)
    wrapper = bidirectional("bidirectional", inner, line=12)
    graph = sequential(wrapper, lstm("lstm_2"))
    finding = only(graph, "SK101")
    assert (finding.path, finding.line) == ("model.py", 12)

    inner.location = None
    wrapper.location = None
    graph.location = Location(path="nb.ipynb", line=2, column=1, cell=3)
    finding = only(graph, "SK101")
    assert (finding.path, finding.line, finding.column, finding.cell) == ("nb.ipynb", 2, 1, 3)

    graph.location = None
    finding = only(graph, "SK101")
    assert (finding.path, finding.line, finding.column, finding.cell) == ("model.py", None, None, None)


def test_notebook_cell_is_carried_into_the_finding():
    node = LayerNode("lstm_1", "LSTM", {"dropout": 0.2},
                     location=Location(path="train.ipynb", line=2, column=9, cell=4))
    finding = only(sequential(node, lstm("lstm_2"), path="train.ipynb"), "SK101")
    assert (finding.path, finding.cell, finding.line, finding.column) == ("train.ipynb", 4, 2, 9)


def broken_everything():
    return sequential(
        layer("SimpleRNN", "rnn_1", units=8, recurrent_dropout=0.1),
        layer("SimpleRNN", "rnn_2", units=8),
        lstm("lstm_1", units=8, recurrent_dropout=0.1, return_sequences=True),
        layer("Dense", units=1),
    )


def test_select_and_ignore_by_code_and_prefix():
    graph = broken_everything()
    assert sorted(set(codes(graph))) == ["SK101", "SK102", "SK201", "SK202"]
    assert sorted(set(codes(graph, select=["SK1"]))) == ["SK101", "SK102"]
    assert sorted(set(codes(graph, select="SK101,SK2"))) == ["SK101", "SK201", "SK202"]
    assert sorted(set(codes(graph, ignore=["SK2", "SK102"]))) == ["SK101"]
    assert sorted(set(codes(graph, select=["sk2"], ignore="SK202"))) == ["SK201"]
    assert codes(graph, ignore=[]) == codes(graph)


@pytest.mark.parametrize("select", ["", " ,", []])
def test_select_naming_no_rule_at_all_is_an_error_not_an_empty_report(select):
    with pytest.raises(ValueError, match=r"select names no rule .*or None to run every rule; got "):
        check(broken_everything(), select=select)


def test_the_more_specific_of_select_and_ignore_wins():
    graph = broken_everything()
    assert sorted(set(codes(graph, select=["SK101"], ignore=["SK1"]))) == ["SK101"]
    assert sorted(set(codes(graph, select=["SK1"], ignore=["SK1"]))) == []


def test_select_naming_no_rule_is_a_clear_error():
    with pytest.raises(ValueError, match=r"select has 'SK999', which matches no rule; known codes: SK001"):
        check(ModelGraph(), select=["SK999"])
    with pytest.raises(ValueError, match=r"ignore must hold rule codes or prefixes .* got 101"):
        check(ModelGraph(), ignore=[101])
    with pytest.raises(TypeError, match=r"select must be rule codes or prefixes .* got 5"):
        check(ModelGraph(), select=5)


def test_check_refuses_what_is_not_a_graph():
    with pytest.raises(TypeError, match="graph must be a stacked_keras.graph.ModelGraph, got dict"):
        check({"layers": []})


def test_each_rule_check_gives_what_check_selects_for_it():
    graph = broken_everything()
    for code, rule in RULES.items():
        if rule.check is not None:
            assert rule.check(graph) == check(graph, select=[code])


# -- the catalogue and its pages -----------------------------------------------


def test_catalogue_holds_every_code_with_its_name_and_severity():
    assert list(RULES) == ALL_CODES
    for code, rule in RULES.items():
        assert isinstance(rule, Rule) and rule.code == code
        assert re.fullmatch(r"[a-z]+(-[a-z0-9]+)+", rule.name), rule.name
        assert rule.severity in SEVERITIES
        assert rule.summary and "\n" not in rule.summary
        # SK001-SK005 come from the front-ends; SK006 reads the graph.
        assert (rule.check is None) == (code.startswith("SK0") and code != "SK006")
    assert [c for c, r in RULES.items() if r.fixable] == ["SK101"]
    assert {c: RULES[c].name for c in ("SK101", "SK102", "SK103", "SK201", "SK202", "SK203")} == {
        "SK101": "broken-vertical-connection",
        "SK102": "sequence-into-per-sample-head",
        "SK103": "fabricated-time-axis",
        "SK201": "deep-simple-rnn",
        "SK202": "cudnn-ineligible",
        "SK203": "unregularized-deep-stack",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        RULES["SK101"].severity = "info"


@pytest.mark.parametrize("code", ALL_CODES)
def test_rule_page_has_its_headings_in_order_with_known_problems_for_every_rule(code):
    page = rule_page(code)
    rule = RULES[code]
    assert page.startswith(f"# {rule.name} ({code})\n")
    assert f"Severity: {rule.severity}." in page
    assert ("Fixable: yes" if rule.fixable else "Fixable: no.") in page
    headings = [line for line in page.splitlines() if line.startswith("## ")]
    known = ["## Known problems"] if not code.startswith("SK0") or code == "SK006" else []
    assert headings == ["## What it does", "## Why is this bad?", *known, "## Example", "## Use instead"]
    example = page.split("## Example")[1].split("## Use instead")[0]
    use_instead = page.split("## Use instead")[1]
    assert "```" in example and "```" in use_instead
    if not code.startswith("SK0"):
        assert "```python\nimport keras\n" in example
        assert "```python\nimport keras\n" in use_instead


def test_each_rule_lives_in_one_module_with_its_page_beside_its_check():
    import importlib
    import pkgutil

    import stacked_keras.lint.rules as package

    owners = {}
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"stacked_keras.lint.rules.{info.name}")
        code = getattr(module, "CODE", None)
        if code is None:
            continue
        assert code not in owners, f"{code} is defined by {owners.get(code)} and {info.name}"
        owners[code] = info.name
        assert RULES[code].doc == module.PAGE
        assert RULES[code].check.__name__ == module.check.__name__.lstrip("_")
        # the module is named after the rule, ruff-style
        assert info.name == RULES[code].name.replace("-", "_")
    with_checks = {code for code, rule in RULES.items() if rule.check is not None}
    assert set(owners) == with_checks == {"SK006", "SK101", "SK102", "SK103", "SK201", "SK202", "SK203"}


def test_the_code_table_imports_without_any_check():
    script = (
        "import sys\n"
        "from stacked_keras.lint.rules.codes import CODES\n"
        "assert 'SK101' in CODES\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('stacked_keras.lint.rules.'))\n"
        "print(loaded)\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "['stacked_keras.lint.rules.codes']"


def test_the_rules_package_serves_its_names_lazily_and_refuses_unknown_ones():
    import stacked_keras.lint.rules as package

    assert package.check is check and package.RULES is RULES
    assert {"check", "RULES", "rule_page"} <= set(dir(package))
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        package.nothing  # noqa: B018


def test_rule_page_accepts_any_case_and_the_rule_name():
    assert rule_page("sk101") == rule_page("SK101") == rule_page("broken-vertical-connection")


def test_rule_page_of_an_unknown_code_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown rule 'SK999'; known codes: SK001, SK002.*SK203"):
        rule_page("SK999")


def test_rules_table_has_one_line_per_rule():
    lines = rules_table().splitlines()
    assert len(lines) == len(RULES)
    for line, (code, rule) in zip(lines, RULES.items()):
        assert line.startswith(code)
        assert rule.name in line and rule.severity in line and rule.summary in line
    assert " fix " in lines[ALL_CODES.index("SK101")]


# -- unreadable inputs ---------------------------------------------------------


@pytest.mark.parametrize("code", ALL_CODES[:5])
def test_input_finding_carries_the_front_end_error(code):
    error = UnreadableInput(code, "something is wrong with this file", line=7, column=3, cell=2)
    finding = input_finding(error, pathlib.Path("models") / "bad.ipynb")
    assert isinstance(finding, Finding)
    assert (finding.code, finding.name, finding.severity) == (code, RULES[code].name, "error")
    assert finding.message == "something is wrong with this file"
    assert finding.fix
    assert finding.path == os.path.join("models", "bad.ipynb")
    assert (finding.line, finding.column, finding.cell) == (7, 3, 2)


def test_input_finding_refuses_an_unknown_code():
    with pytest.raises(ValueError, match=r"error.code must be one of SK001, .*SK005, got 'SK101'"):
        input_finding(UnreadableInput("SK101", "not an input problem"), "x.py")
    with pytest.raises(TypeError, match="error must be"):
        input_finding(ValueError("boom"), "x.py")


# -- robustness ------------------------------------------------------------------


def test_cycles_and_dangling_edges_do_not_break_the_rules():
    graph = ModelGraph.chain([lstm("a"), lstm("b"), layer("Dense"), lstm("c")])
    graph.connect(3, 0)  # a cycle a -> b -> dense -> c -> a
    graph.edges.append(Edge(1, 99))  # a dangling edge, past `connect`'s check
    graph.edges.append(Edge(-1, 0))
    graph.outputs = [2, 42]
    found = check(graph)
    assert {f.layer for f in found if f.code == "SK101"} == {"a", "b", "c"}


def test_wrapper_cycles_do_not_hang():
    wrapper = LayerNode("bi", "Bidirectional")
    wrapper.wrapped = wrapper
    graph = ModelGraph.chain([wrapper, lstm("lstm_1")])
    assert check(graph) == []


CLASSES = [
    "LSTM", "GRU", "SimpleRNN", "RNN", "ConvLSTM2D", "Bidirectional", "TimeDistributed",
    "Dense", "Dropout", "Activation", "Add", "Concatenate", "Reshape", "expand_dims",
    "RepeatVector", "Flatten", "GlobalAveragePooling1D", "Embedding", "InputLayer", "LSTMCell",
    "Lambda", "", "MyCustomLayer", "LSTMStack", "GRUStack",
]
ODD_VALUES = st.one_of(
    st.booleans(), st.none(), st.just(UNKNOWN), st.integers(-3, 100), st.floats(allow_nan=True),
    st.text(max_size=6), st.sampled_from(["relu", "tanh", "sigmoid", "softmax", "mse"]),
    st.lists(st.integers(-1, 30) | st.none(), max_size=4).map(tuple),
    st.dictionaries(st.sampled_from(["class_name", "config", "name"]), st.text(max_size=4), max_size=2),
)
CONFIG_KEYS = st.sampled_from([
    "return_sequences", "return_state", "units", "activation", "recurrent_activation",
    "dropout", "recurrent_dropout", "rate", "target_shape", "shape", "batch_shape", "unroll",
    "use_bias", "reset_after", "use_cudnn", "kernel_regularizer", "input_dim", "stddev",
])


@st.composite
def random_graphs(draw):
    count = draw(st.integers(0, 8))
    graph = ModelGraph(
        name=draw(st.sampled_from(["model", "", None])),
        path=draw(st.sampled_from(["m.py", None])),
        loss=draw(ODD_VALUES | st.lists(ODD_VALUES, max_size=2)),
        target_shape=draw(st.none() | ODD_VALUES),
        opaque=draw(st.none() | st.text(max_size=8) | st.integers()),
    )
    for i in range(count):
        config = draw(st.dictionaries(CONFIG_KEYS, ODD_VALUES, max_size=4) | st.sampled_from([None, UNKNOWN]))
        line = draw(st.none() | st.integers(1, 50))
        node = LayerNode(
            name=draw(st.sampled_from([f"layer_{i}", "", None])),
            cls=draw(st.sampled_from(CLASSES)),
            config=config,
            location=Location(path="m.py", line=line) if line else None,
            kind=draw(st.sampled_from(["layer", "op", "input"])),
        )
        graph.add(node)
        if draw(st.booleans()):
            node.wrapped = LayerNode(f"inner_{i}", draw(st.sampled_from(CLASSES)),
                                     draw(st.dictionaries(CONFIG_KEYS, ODD_VALUES, max_size=3)))
        if graph.nodes and draw(st.integers(0, 9)) == 0:
            node.wrapped = draw(st.sampled_from(graph.nodes))  # wrapper cycles, odd sharing
    for _ in range(draw(st.integers(0, 14))):
        graph.edges.append(Edge(
            draw(st.integers(-2, count + 1)),
            draw(st.integers(-2, count + 1)),
            draw(st.sampled_from(["input", "input", "initial_state", "mask"])),
            draw(st.integers(0, 2)),
        ))
    graph.outputs = draw(st.lists(st.integers(-1, count + 1), max_size=3))
    return graph


@settings(max_examples=100, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(random_graphs())
def test_check_never_raises_on_random_graphs(graph):
    found = check(graph)
    assert all(f.code in RULES and f.severity in SEVERITIES for f in found)
    assert all(f.message.endswith(".") and f.fix for f in found)
    assert check(graph) == found  # and is deterministic


def test_importing_the_rules_does_not_import_tensorflow_or_keras():
    code = (
        "import sys, stacked_keras.lint.rules;"
        "bad = [m for m in ('tensorflow', 'keras') if m in sys.modules];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("code", [c for c in ALL_CODES if not c.startswith("SK0")])
def test_rule_page_example_is_found_and_its_use_instead_is_clean(code):
    """The pages tell the truth: read through the static source front-end."""
    from_source = pytest.importorskip("stacked_keras.lint.from_source")
    page = rule_page(code)
    example = re.search(r"## Example\n```python\n(.*?)```", page, re.S).group(1)
    use_instead = re.search(r"## Use instead\n```python\n(.*?)```", page, re.S).group(1)
    found = [f.code for g in from_source.graphs_from_python(example, "example.py") for f in check(g)]
    assert code in found
    clean = [f.code for g in from_source.graphs_from_python(use_instead, "fixed.py") for f in check(g)]
    assert clean == []

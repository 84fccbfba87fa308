"""The shared model graph: node semantics, walking, and the UNKNOWN guard."""

import pytest

from stacked_keras.graph import UNKNOWN, LayerNode, ModelGraph, RANK_KEEPING, canonical_class
from stacked_keras.lint.semantics import output_has_time_axis


def lstm(name, **config):
    return LayerNode(name, "LSTM", config)


def test_missing_config_falls_back_to_the_keras_default():
    assert lstm("lstm_1").return_sequences is False
    assert LayerNode("gru_1", "GRU").get("reset_after") is True
    assert LayerNode("head", "Dense").get("activation") is None


def test_unknown_has_no_truth_value():
    node = lstm("lstm_1", return_sequences=UNKNOWN)
    assert node.return_sequences is UNKNOWN
    with pytest.raises(TypeError, match="is UNKNOWN"):
        bool(node.return_sequences)


def test_bidirectional_reports_its_inner_layer():
    inner = lstm("lstm_1", return_sequences=True, units=8)
    wrapper = LayerNode("bi_lstm_1", "Bidirectional", {"merge_mode": "concat"}, wrapped=inner)
    assert wrapper.is_recurrent
    assert wrapper.core is inner
    assert wrapper.return_sequences is True
    assert wrapper.cell_type == "LSTM"
    assert wrapper.wrappers == ("Bidirectional",)


def test_rnn_over_a_cell_takes_the_cell_type_and_keeps_its_own_flags():
    cell = LayerNode("cell", "GRUCell", {"units": 4})
    rnn = LayerNode("rnn_1", "RNN", {"return_sequences": True}, wrapped=cell)
    assert rnn.cell_type == "GRU"
    assert rnn.return_sequences is True
    assert rnn.cell_config is cell


def test_time_distributed_dense_is_not_recurrent():
    node = LayerNode("td", "TimeDistributed", wrapped=LayerNode("dense", "Dense"))
    assert not node.is_recurrent
    assert node.return_sequences is None


def test_walk_forward_crosses_rank_keeping_layers_and_stops_at_the_next_change():
    graph = ModelGraph.chain(
        [
            LayerNode("x", "InputLayer", kind="input"),
            lstm("lstm_1"),
            LayerNode("dropout", "Dropout"),
            LayerNode("norm", "LayerNormalization"),
            lstm("lstm_2"),
        ]
    )
    reached = list(graph.walk_forward(1, RANK_KEEPING))
    assert [(n.name, [p.name for p in path]) for n, path in reached] == [
        ("lstm_2", ["dropout", "norm"])
    ]
    assert graph.inputs == [0] and graph.outputs == [4]


def test_walk_forward_ignores_initial_state_edges_and_survives_cycles():
    graph = ModelGraph()
    enc = graph.add(lstm("encoder", return_state=True))
    dec = graph.add(lstm("decoder"))
    dense = graph.add(LayerNode("dense", "Dense"))
    graph.connect(enc, dec, role="initial_state")
    graph.connect(dec, dense)
    graph.connect(dense, dec)  # a cycle, as a fuzzed config may hold
    assert [n.name for n, _ in graph.walk_forward(enc, RANK_KEEPING)] == []
    assert [n.name for n, _ in graph.walk_forward(dec, RANK_KEEPING)] == ["decoder"]


def test_predecessors_follow_input_order():
    graph = ModelGraph()
    a = graph.add(LayerNode("a", "Dense"))
    b = graph.add(LayerNode("b", "Dense"))
    cat = graph.add(LayerNode("cat", "Concatenate"))
    graph.connect(b, cat, index=1)
    graph.connect(a, cat, index=0)
    assert [n.name for n in graph.predecessors(cat)] == ["a", "b"]


def test_an_edge_to_a_missing_node_is_refused():
    graph = ModelGraph()
    graph.add(LayerNode("a", "Dense"))
    with pytest.raises(ValueError, match="not in the graph"):
        graph.connect(0, 5)


@pytest.mark.parametrize(
    "written, canonical",
    [("keras.layers.LSTM", "LSTM"), ("GlobalAvgPool1D", "GlobalAveragePooling1D"), ("Input", "InputLayer")],
)
def test_canonical_class_strips_modules_and_aliases(written, canonical):
    assert canonical_class(written) == canonical


def test_recurrent_layer_inside_time_distributed_outputs_a_sequence_over_the_outer_axis():
    inner = lstm("lstm", units=4)  # return_sequences=False: one vector per sentence
    node = LayerNode("time_distributed", "TimeDistributed", wrapped=inner)
    assert node.is_recurrent and node.cell_type == "LSTM"
    assert node.time_distributed_depth == 1
    assert node.return_sequences is False  # the inner layer's own flag, the one a fixer sets
    # what it hands up is the flow model's answer: the sentences stay a sequence
    assert output_has_time_axis(node) is True
    plain = lstm("lstm_1")
    assert plain.time_distributed_depth == 0 and output_has_time_axis(plain) is False
    assert output_has_time_axis(lstm("lstm_2", return_sequences=UNKNOWN)) is UNKNOWN
    assert output_has_time_axis(LayerNode("dense", "Dense")) is None
    assert not hasattr(node, "output_has_time_axis")  # the graph holds data, not flow decisions


def test_graph_wiring_is_visible_unless_a_front_end_says_otherwise():
    assert ModelGraph().opaque is None
    graph = ModelGraph(opaque="its layers are wired in call()")
    assert graph.opaque == "its layers are wired in call()"

"""The live-model front-end: keras.Model -> ModelGraph, and the same graph from saved files.

Each tiny model is built once (module fixture), read live with
`graph_from_model`, and saved as `.keras`, legacy `.h5` and `to_json()`; the
saved forms must give the same graph structure as the live model.
"""

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from stacked_keras.graph import UNKNOWN, LayerNode, ModelGraph  # noqa: E402
from stacked_keras.lint.from_config import graphs_from_config, read_saved_file  # noqa: E402
from stacked_keras.lint.from_model import graph_from_model  # noqa: E402
from stacked_keras.lint.semantics import output_has_time_axis  # noqa: E402

# Config keys compared between live and saved graphs (what the rules read).
COMPARED_KEYS = (
    "units", "filters", "kernel_size", "return_sequences", "return_state", "go_backwards",
    "activation", "recurrent_activation", "dropout", "recurrent_dropout", "rate",
    "merge_mode", "target_shape", "n", "axis", "shape", "use_bias",
)


def _plain(value):
    """JSON-normal form: tuples become lists, so live and saved configs compare."""
    return json.loads(json.dumps(value, default=str))


def node_summary(node: LayerNode | None):
    if node is None:
        return None
    return (
        node.name,
        node.cls,
        node.kind,
        _plain({k: node.config[k] for k in COMPARED_KEYS if k in node.config}),
        node_summary(node.wrapped),
    )


def structure(graph: ModelGraph):
    """What two front-ends must agree on: nodes, configs, wrappers, edges, ends."""
    return {
        "name": graph.name,
        "nodes": [node_summary(node) for node in graph],
        "edges": sorted((e.src, e.dst, e.role, e.index) for e in graph.edges),
        "inputs": list(graph.inputs),
        "outputs": list(graph.outputs),
    }


def chain_edges(count):
    return [(i, i + 1, "input", 0) for i in range(count - 1)]


# -- the tiny models ----------------------------------------------------------


def sequential_stack():
    return keras.Sequential(
        [
            keras.Input((5, 3), name="x"),
            layers.LSTM(4, return_sequences=True, name="lstm_a"),
            layers.Dropout(0.1, name="drop"),
            layers.LSTM(3, name="lstm_b"),
            layers.Dense(1, name="head"),
        ],
        name="seq_stack",
    )


def functional_encoder_decoder():
    source = keras.Input((5, 3), name="source")
    target = keras.Input((4, 2), name="target")
    _, state_h, state_c = layers.LSTM(4, return_state=True, name="encoder")(source)
    decoded = layers.LSTM(4, return_sequences=True, name="decoder")(target, initial_state=[state_h, state_c])
    out = layers.TimeDistributed(layers.Dense(2), name="per_step")(decoded)
    return keras.Model([source, target], out, name="enc_dec")


def nested_models():
    inner = keras.Sequential(
        [layers.LSTM(4, return_sequences=True, name="inner_lstm"), layers.Dropout(0.1, name="inner_drop")],
        name="inner",
    )
    block_in = keras.Input((5, 4), name="block_in")
    block = keras.Model(block_in, layers.GRU(3, name="block_gru")(block_in), name="block")
    x = keras.Input((5, 3), name="x")
    h = inner(x)
    h = block(h)
    return keras.Model(x, layers.Dense(1, name="head")(h), name="nested")


def bidirectional_stack():
    return keras.Sequential(
        [
            keras.Input((5, 3), name="x"),
            layers.Bidirectional(layers.LSTM(4, return_sequences=True, name="lstm"), name="bi_1"),
            layers.Bidirectional(layers.GRU(3, name="gru"), merge_mode="sum", name="bi_2"),
            layers.Dense(1, name="head"),
        ],
        name="bi_stack",
    )


def time_distributed_tagger():
    return keras.Sequential(
        [
            keras.Input((5, 3), name="x"),
            layers.GRU(4, return_sequences=True, name="gru"),
            layers.TimeDistributed(layers.Dense(2, activation="softmax"), name="tags"),
        ],
        name="tagger",
    )


def rnn_cell_stack():
    return keras.Sequential(
        [
            keras.Input((5, 3), name="x"),
            layers.RNN(layers.LSTMCell(4), return_sequences=True, name="rnn_lstm"),
            layers.RNN(layers.GRUCell(3), name="rnn_gru"),
        ],
        name="cells",
    )


def conv_lstm_stack():
    return keras.Sequential(
        [
            keras.Input((4, 6, 2), name="x"),
            layers.ConvLSTM1D(2, 3, return_sequences=True, name="conv_1"),
            layers.ConvLSTM1D(2, 3, name="conv_2"),
            layers.Flatten(name="flat"),
            layers.Dense(1, name="head"),
        ],
        name="conv_stack",
    )


def unbuilt_broken_stack():
    # Cannot be built (the second LSTM would get a vector), so it stays unbuilt.
    return keras.Sequential(
        [layers.LSTM(4, name="lstm_1"), layers.LSTM(3, name="lstm_2"), layers.Dense(1, name="head")],
        name="broken",
    )


def reshape_broken_stack():
    x = keras.Input((5, 3), name="x")
    h = layers.LSTM(4, name="low")(x)
    h = layers.Reshape((1, 4), name="fabricate")(h)
    h = layers.LSTM(3, name="high")(h)
    return keras.Model(x, layers.Dense(1, name="head")(h), name="reshaped")


def hierarchical_documents():
    """Documents of 5 sentences of 10 words: a word LSTM per sentence, then a sentence LSTM."""
    return keras.Sequential(
        [
            keras.Input((5, 10, 3), name="x"),
            layers.TimeDistributed(layers.LSTM(4, name="word_lstm"), name="per_sentence"),
            layers.LSTM(2, name="sentence_lstm"),
            layers.Dense(1, name="head"),
        ],
        name="documents",
    )


MODELS = {
    "sequential": sequential_stack,
    "hierarchical": hierarchical_documents,
    "functional": functional_encoder_decoder,
    "nested": nested_models,
    "bidirectional": bidirectional_stack,
    "time_distributed": time_distributed_tagger,
    "rnn_cell": rnn_cell_stack,
    "conv_lstm": conv_lstm_stack,
    "unbuilt": unbuilt_broken_stack,
    "reshape": reshape_broken_stack,
}


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each model live, plus its graphs read back from .keras, .h5 and to_json()."""
    import warnings

    folder = tmp_path_factory.mktemp("saved_models")
    result = {}
    for key, build in MODELS.items():
        model = build()
        model.compile(loss="mse")
        files = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "saving a model that has not yet been built"
            for suffix in ("keras", "h5"):
                path = folder / f"{key}.{suffix}"
                model.save(path)
                files[suffix] = path
        path = folder / f"{key}.json"
        path.write_text(model.to_json())
        files["json"] = path
        result[key] = (model, files)
    return result


def live_graph(saved, key):
    return graph_from_model(saved[key][0])


# -- the live graphs ----------------------------------------------------------


def test_sequential_graph_follows_layer_order(saved):
    graph = live_graph(saved, "sequential")
    assert [(n.name, n.cls, n.kind) for n in graph] == [
        ("x", "InputLayer", "input"),
        ("lstm_a", "LSTM", "layer"),
        ("drop", "Dropout", "layer"),
        ("lstm_b", "LSTM", "layer"),
        ("head", "Dense", "layer"),
    ]
    assert [n.return_sequences for n in graph] == [None, True, None, False, None]
    assert structure(graph)["edges"] == chain_edges(5)
    assert graph.inputs == [0] and graph.outputs == [4]
    assert graph.nodes[0].config["shape"] == (5, 3)
    assert graph.name == "seq_stack" and graph.origin == "model"
    assert graph.loss == "mse"


def test_functional_initial_state_is_an_initial_state_edge(saved):
    graph = live_graph(saved, "functional")
    names = [n.name for n in graph]
    assert names == ["source", "target", "encoder", "decoder", "per_step"]
    encoder, decoder = graph.nodes[2], graph.nodes[3]
    assert encoder.config["return_state"] is True
    assert [(e.src, e.role, e.index) for e in graph.incoming(decoder)] == [
        (1, "input", 0),
        (2, "initial_state", 0),
        (2, "initial_state", 1),
    ]
    assert graph.predecessors(decoder) == [graph.nodes[1]]  # the states are not the input
    assert graph.inputs == [0, 1] and graph.outputs == [4]


def test_nested_models_are_flattened_with_edges_across_the_boundary(saved):
    graph = live_graph(saved, "nested")
    assert [(n.name, n.cls) for n in graph] == [
        ("x", "InputLayer"),
        ("inner/inner_lstm", "LSTM"),
        ("inner/inner_drop", "Dropout"),
        ("block/block_gru", "GRU"),
        ("head", "Dense"),
    ]
    assert structure(graph)["edges"] == chain_edges(5)
    assert not any(n.cls in ("Sequential", "Functional") for n in graph)
    assert sum(n.kind == "input" for n in graph) == 1  # inner input layers vanish


def test_bidirectional_wraps_its_forward_layer(saved):
    graph = live_graph(saved, "bidirectional")
    first, second = graph.nodes[1], graph.nodes[2]
    assert (first.cls, first.wrapped.cls, first.wrapped.name) == ("Bidirectional", "LSTM", "forward_lstm")
    assert first.wrappers == ("Bidirectional",) and first.is_recurrent
    assert first.return_sequences is True and second.return_sequences is False
    assert second.cell_type == "GRU" and second.config["merge_mode"] == "sum"


def test_time_distributed_wraps_dense_and_is_not_recurrent(saved):
    graph = live_graph(saved, "time_distributed")
    tags = graph.nodes[2]
    assert (tags.cls, tags.wrapped.cls) == ("TimeDistributed", "Dense")
    assert tags.wrapped.config["activation"] == "softmax"
    assert not tags.is_recurrent


def test_rnn_layer_keeps_its_cell(saved):
    graph = live_graph(saved, "rnn_cell")
    lstm, gru = graph.nodes[1], graph.nodes[2]
    assert (lstm.cls, lstm.wrapped.cls, lstm.cell_type) == ("RNN", "LSTMCell", "LSTM")
    assert (gru.wrapped.cls, gru.cell_type) == ("GRUCell", "GRU")
    assert lstm.return_sequences is True and gru.return_sequences is False
    assert lstm.cell_config.config["units"] == 4


def test_conv_lstm_layers_are_recurrent(saved):
    graph = live_graph(saved, "conv_lstm")
    assert [n.cls for n in graph.recurrent_nodes()] == ["ConvLSTM1D", "ConvLSTM1D"]
    assert [n.return_sequences for n in graph.recurrent_nodes()] == [True, False]
    assert graph.nodes[1].config["filters"] == 2


def test_unbuilt_sequential_is_read_layer_by_layer(saved):
    model = saved["unbuilt"][0]
    assert not model.built
    graph = graph_from_model(model)
    assert [(n.name, n.return_sequences) for n in graph] == [("lstm_1", False), ("lstm_2", False), ("head", None)]
    assert graph.inputs == [] and graph.outputs == [2]
    assert structure(graph)["edges"] == chain_edges(3)


def test_reshape_between_recurrent_layers_is_a_node(saved):
    graph = live_graph(saved, "reshape")
    fabricate = graph.nodes[2]
    assert (fabricate.cls, _plain(fabricate.config["target_shape"])) == ("Reshape", [1, 4])
    assert [n.name for n in graph.successors(fabricate)] == ["high"]


def test_keras_op_between_layers_is_an_op_node():
    x = keras.Input((5, 3))
    h = layers.LSTM(4, name="low")(x)
    h = keras.ops.expand_dims(h, 1)
    model = keras.Model(x, layers.LSTM(2, name="high")(h))
    graph = graph_from_model(model)
    op = graph.nodes[2]
    assert (op.kind, op.cls, op.config["axis"]) == ("op", "expand_dims", 1)
    assert [n.name for n in graph.predecessors(op)] == ["low"]
    assert [n.name for n in graph.successors(op)] == ["high"]
    config_graph, = graphs_from_config(json.loads(model.to_json()))
    assert structure(config_graph) == structure(graph)


def test_shared_layer_gives_one_node_per_call():
    x = keras.Input((5, 3), name="x")
    shared = layers.LSTM(4, return_sequences=True, name="shared")
    a = shared(x)
    b = shared(layers.Dense(3, name="proj")(a))
    model = keras.Model(x, b)
    graph = graph_from_model(model)
    assert [n.name for n in graph] == ["x", "shared", "proj", "shared"]
    assert structure(graph)["edges"] == chain_edges(4)
    config_graph, = graphs_from_config(model.get_config())
    assert structure(config_graph) == structure(graph)


def test_uncompiled_model_has_no_loss():
    assert graph_from_model(keras.Sequential([layers.LSTM(2)])).loss is None


class Tagger(keras.Model):
    """A subclassed model: its wiring lives in call(), out of the linter's sight."""

    def __init__(self, name="tagger_cls"):
        super().__init__(name=name)
        self.first = layers.LSTM(4, name="first")  # broken, but only call() shows it
        self.second = layers.LSTM(2, name="second")

    def call(self, x):
        return self.second(self.first(x))


def test_subclassed_model_lists_layers_without_edges_and_says_its_wiring_is_not_visible():
    graph = graph_from_model(Tagger())
    assert [n.name for n in graph] == ["first", "second"]
    assert graph.edges == []
    assert graph.opaque == (
        "'tagger_cls' is a subclassed keras.Model (Tagger) whose layers are wired in call(), "
        "which the linter does not run"
    )


def test_linting_a_subclassed_model_is_sk006_info_not_a_clean_report():
    import stacked_keras

    report = stacked_keras.lint(Tagger())
    assert [(f.code, f.severity, f.model) for f in report.findings] == [("SK006", "info", "tagger_cls")]
    assert report.exit_code() == 0 and report.exit_code("info") == 1


def test_subclassed_model_with_one_layer_has_nothing_to_wire():
    class Single(keras.Model):
        def __init__(self):
            super().__init__(name="single")
            self.only = layers.LSTM(2, name="only")

        def call(self, x):
            return self.only(x)

    assert graph_from_model(Single()).opaque is None


def test_subclassed_model_nested_in_a_sequential_cuts_the_chain_instead_of_bridging_it():
    # lstm_1 feeds the block, not lstm_2: no SK101 may be reported between them.
    model = keras.Sequential(
        [layers.LSTM(4, name="lstm_1"), Tagger(name="block"), layers.LSTM(2, name="lstm_2")],
        name="outer",
    )
    graph = graph_from_model(model)
    assert [n.name for n in graph] == ["lstm_1", "block/first", "block/second", "lstm_2"]
    assert graph.edges == []
    assert graph.opaque.startswith("'block' is a subclassed keras.Model (Tagger)")
    import stacked_keras

    assert [f.code for f in stacked_keras.lint(model).findings] == ["SK006"]


def test_custom_layer_without_get_config_is_read_from_attributes():
    class Stubborn(layers.Layer):
        def __init__(self, units, **kwargs):
            super().__init__(**kwargs)
            self.units = units

        def get_config(self):
            raise NotImplementedError("no config for you")

        def call(self, x):
            return x

    model = keras.Sequential([layers.LSTM(3, return_sequences=True), Stubborn(7, name="stubborn")])
    node = graph_from_model(model).nodes[1]
    assert (node.cls, node.name, node.config["units"]) == ("Stubborn", "stubborn", 7)


def test_non_model_is_a_type_error_naming_what_was_given():
    with pytest.raises(TypeError, match=r"model must be a keras.Model.*LSTM"):
        graph_from_model(layers.LSTM(3))
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        graph_from_model({"layers": []})


def test_live_model_settings_are_all_known():
    for node in graph_from_model(sequential_stack()):
        assert all(value is not UNKNOWN for value in node.config.values())


# -- saved files give the live graph ------------------------------------------


@pytest.mark.parametrize("key", list(MODELS))
@pytest.mark.parametrize("form", ["keras", "h5", "json"])
def test_saved_file_gives_the_live_graph(saved, key, form):
    model, files = saved[key]
    live = graph_from_model(model)
    graphs = read_saved_file(str(files[form]))
    assert len(graphs) == 1
    from_file = graphs[0]
    assert structure(from_file) == structure(live)
    assert [n.return_sequences for n in from_file] == [n.return_sequences for n in live]
    assert from_file.origin == "config" and from_file.path == str(files[form])
    assert all(n.location is not None and n.location.path == str(files[form]) and n.location.line is None
               for n in from_file)
    assert from_file.loss == live.loss == "mse"


def test_get_config_dict_gives_the_live_graph(saved):
    for key in MODELS:
        model = saved[key][0]
        from_config, = graphs_from_config(model.get_config())
        live = graph_from_model(model)
        assert structure(from_config) == structure(live), key
        assert from_config.loss is None  # get_config() holds no compile settings


def test_live_weights_do_not_matter_to_the_graph():
    model = sequential_stack()
    before = structure(graph_from_model(model))
    model.set_weights([np.ones_like(w) for w in model.get_weights()])
    assert structure(graph_from_model(model)) == before


def test_user_class_named_like_a_keras_layer_is_not_that_layer():
    class LSTM(layers.Layer):  # a user's own "LSTM", not Keras's
        def call(self, x):
            return x

    model = keras.Sequential([keras.Input((5, 3)), LSTM(name="mine"), layers.LSTM(2, name="real")])
    graph = graph_from_model(model)
    mine, real = graph.nodes[1], graph.nodes[2]
    assert mine.cls.endswith(">LSTM") and not mine.is_recurrent
    assert real.cls == "LSTM" and real.is_recurrent
    config_graph, = graphs_from_config(json.loads(model.to_json()))
    assert config_graph.nodes[1].cls == mine.cls


# -- recurrent layers inside TimeDistributed ------------------------------------


def test_time_distributed_lstm_is_a_recurrent_node_outputting_a_sequence(saved):
    graph = live_graph(saved, "hierarchical")
    per_sentence = graph.nodes[1]
    assert (per_sentence.cls, per_sentence.wrapped.cls) == ("TimeDistributed", "LSTM")
    assert per_sentence.is_recurrent and per_sentence.time_distributed_depth == 1
    assert per_sentence.return_sequences is False and output_has_time_axis(per_sentence) is True


@pytest.mark.parametrize("form", ["live", "keras", "h5", "json", "get_config"])
def test_hierarchical_model_lints_clean_in_every_form(saved, form):
    import stacked_keras

    model, files = saved["hierarchical"]
    assert model.output_shape == (None, 1)  # Keras builds it: the stack is right
    obj = {"live": model, "get_config": model.get_config()}.get(form) or str(files.get(form))
    report = stacked_keras.lint(obj)
    assert report.findings == [], report


def test_hierarchical_source_lints_clean_and_fix_leaves_it(tmp_path):
    import stacked_keras
    from stacked_keras.lint.cli import run_lint

    source = tmp_path / "documents.py"
    text = (
        "import keras\n"
        "from keras import layers\n"
        "model = keras.Sequential([\n"
        "    keras.Input((5, 10, 3)),\n"
        "    layers.TimeDistributed(layers.LSTM(16)),  # one vector per sentence\n"
        "    layers.LSTM(8),                          # one vector per document\n"
        "    layers.Dense(1),\n"
        "])\n"
    )
    source.write_text(text)
    assert stacked_keras.lint(str(source)).findings == []
    import argparse

    args = argparse.Namespace(paths=[str(source)], select=None, ignore=None, fail_on=None,
                              no_gitignore=False, fix=True, format="json", output=str(tmp_path / "out.json"))
    assert run_lint(args) == 0
    assert source.read_text() == text


# -- the callback -------------------------------------------------------------

from stacked_keras.lint.callback import LintCallback, LintError, target_shape_of  # noqa: E402


def per_step_head_model():
    """A sequence output read by a plain Dense head: one prediction per timestep."""
    model = keras.Sequential(
        [keras.Input((6, 2)), layers.LSTM(4, return_sequences=True, name="lstm"), layers.Dense(1, name="head")],
        name="per_step",
    )
    model.compile(optimizer="sgd", loss="mse")
    return model


def test_callback_stops_training_when_target_is_per_sample():
    model = per_step_head_model()
    weights = [w.copy() for w in model.get_weights()]
    x = np.random.rand(8, 6, 2).astype("float32")
    y = np.random.rand(8, 1).astype("float32")  # one value per sample: the head is wrong
    callback = LintCallback(target=y, fail_on="warning", verbose=False)
    with pytest.raises(LintError) as caught:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[callback])
    assert [f.code for f in caught.value.findings] == ["SK102"]
    assert caught.value.findings[0].severity == "warning"
    assert "SK102" in str(caught.value) and "per_step" in str(caught.value)
    assert all(np.array_equal(a, b) for a, b in zip(weights, model.get_weights()))  # never trained


def test_callback_lets_a_per_timestep_model_train():
    model = per_step_head_model()
    x = np.random.rand(8, 6, 2).astype("float32")
    y = np.random.rand(8, 6, 1).astype("float32")  # one value per timestep: the head is right
    callback = LintCallback(target=y, fail_on="info")
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[callback])
    assert callback.findings == []
    assert len(history.history["loss"]) == 1


def test_callback_without_target_reports_and_goes_on(capsys):
    callback = LintCallback()
    callback.set_model(per_step_head_model())
    callback.on_train_begin()
    assert [(f.code, f.severity) for f in callback.findings] == [("SK102", "info")]
    printed = capsys.readouterr().out
    assert "SK102" in printed and "lstm" in printed


def test_quiet_callback_prints_nothing(capsys):
    callback = LintCallback(verbose=False, fail_on=None)
    callback.set_model(per_step_head_model())
    callback.on_train_begin()
    assert callback.findings and capsys.readouterr().out == ""


def test_callback_catches_a_fabricated_time_axis_that_keras_builds():
    callback = LintCallback(fail_on="warning", verbose=False)
    callback.set_model(reshape_broken_stack())
    with pytest.raises(LintError) as caught:
        callback.on_train_begin()
    assert "SK103" in {f.code for f in caught.value.findings}


def test_callback_target_shape_option_sets_the_graph_target():
    callback = LintCallback(target_shape=(6, 1), fail_on="info", verbose=False)
    callback.set_model(per_step_head_model())
    callback.on_train_begin()
    assert callback.findings == []


@pytest.mark.parametrize("target, shape", [
    (np.zeros((32, 20, 1)), (20, 1)),
    (np.zeros((32,)), ()),
    ([[1.0], [2.0]], (1,)),
    ({"out": np.zeros((4, 3))}, (3,)),
    ([np.zeros((4, 2))], (2,)),
    ([np.zeros((4, 2)), np.zeros((4, 3, 1))], None),
    (None, None),
])
def test_target_shape_of(target, shape):
    assert target_shape_of(target) == shape


def test_target_shape_of_a_dataset_reads_its_element_spec():
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((np.zeros((8, 6, 2)), np.zeros((8, 6, 1)))).batch(4)
    assert target_shape_of(dataset) == (6, 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"fail_on": "fatal"}, "fail_on must be one of 'info', 'warning', 'error' or None, got 'fatal'"),
    ({"target": np.zeros((2, 1)), "target_shape": (1,)}, "either target or target_shape"),
    ({"target_shape": (1.5,)}, r"target_shape must be a tuple of non-negative ints.*got \(1.5,\)"),
    ({"target": np.float32(3.0)}, "target must have a batch axis"),
    ({"select": ""}, "select names no rule"),
    ({"select": ["SK999"]}, "select has 'SK999', which matches no rule"),
    ({"ignore": 5}, "ignore must be rule codes or prefixes"),
])
def test_callback_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LintCallback(**kwargs)


def test_readme_callback_example():
    import stacked_keras
    from stacked_keras.lint.callback import LintError

    model = keras.Sequential([
        keras.Input((20, 3)),
        keras.layers.LSTM(32, return_sequences=True),
        keras.layers.Dense(1),  # reads every timestep: one prediction per step
    ])
    model.compile(optimizer="adam", loss="mse")
    x_train = np.random.rand(64, 20, 3)
    y_train = np.random.rand(64, 1)  # ...but one target value per sample
    callback = stacked_keras.LintCallback(target=y_train, fail_on="warning")
    with pytest.raises(LintError, match="SK102"):
        model.fit(x_train, y_train, epochs=1, callbacks=[callback])


# -- SK102 against real training: a per-token tagger, and what fit does -------------


def tagger_model():
    """The standard per-token tagger: one tag per token, trained on (batch, tokens) labels."""
    model = keras.Sequential(
        [
            keras.Input((10,), name="tokens"),
            layers.Embedding(50, 8, mask_zero=True, name="embed"),
            layers.Bidirectional(layers.LSTM(4, return_sequences=True, name="lstm"), name="bi"),
            layers.Dense(5, activation="softmax", name="tags"),
        ],
        name="tagger",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    return model


def test_per_token_tagger_is_at_most_info_and_trains_under_a_callback_given_its_target():
    import stacked_keras

    model = tagger_model()
    assert [(f.code, f.severity) for f in stacked_keras.lint(model).findings] == [("SK102", "info")]
    x = np.random.randint(1, 50, size=(16, 10))
    y = np.random.randint(0, 5, size=(16, 10))  # one tag per token
    assert stacked_keras.lint(model, target=y).findings == []
    callback = LintCallback(target=y, fail_on="warning", verbose=False)
    history = model.fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[callback])
    assert callback.findings == [] and len(history.history["loss"]) == 1


def test_tagger_given_one_label_per_sample_is_stopped_before_keras_fails():
    model = tagger_model()
    x = np.random.randint(1, 50, size=(16, 10))
    y = np.random.randint(0, 5, size=(16,))  # one label per sentence: not what the model predicts
    with pytest.raises(LintError) as caught:
        model.fit(x, y, epochs=1, verbose=0, callbacks=[LintCallback(target=y, fail_on="warning", verbose=False)])
    assert [(f.code, f.severity) for f in caught.value.findings] == [("SK102", "warning")]
    with pytest.raises(ValueError, match="rank"):  # and without the callback, Keras stops anyway
        model.fit(x, y, epochs=1, verbose=0)


def sequence_into_dense(units, activation, loss):
    model = keras.Sequential([keras.Input((6, 2)), layers.LSTM(3, return_sequences=True), layers.Dense(units, activation=activation)])
    model.compile(optimizer="sgd", loss=loss)
    return model


@pytest.mark.parametrize("units, activation, loss, per_sample_target", [
    (1, "sigmoid", "binary_crossentropy", (16, 1)),
    (4, "softmax", "categorical_crossentropy", (16, 4)),
    (4, "softmax", "sparse_categorical_crossentropy", (16,)),
])
def test_sk102_page_is_right_that_cross_entropy_stops_fit_on_a_per_sample_target(
        units, activation, loss, per_sample_target):
    x = np.random.rand(16, 6, 2).astype("float32")
    y = np.random.randint(0, 2, size=per_sample_target).astype("float32")
    with pytest.raises(ValueError, match="shape|rank"):
        sequence_into_dense(units, activation, loss).fit(x, y, epochs=1, verbose=0)


def test_sk102_page_is_right_that_mse_broadcasts_a_per_sample_target_over_the_timesteps():
    model = sequence_into_dense(1, None, "mse")
    x = np.random.rand(16, 6, 2).astype("float32")
    history = model.fit(x, np.random.rand(16, 1).astype("float32"), epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert model.predict(x, verbose=0).shape == (16, 6, 1)  # one prediction per timestep

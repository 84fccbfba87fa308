"""fix(model): a corrected copy of a live model; the original stays as it was."""

import json
import warnings

import numpy as np
import pytest

from stacked_keras.graph import UNKNOWN, Edge, LayerNode, ModelGraph
from stacked_keras.lint.fix_model import AmbiguousFixWarning, fix, plan_fix

keras = pytest.importorskip("keras")
from keras import layers  # noqa: E402

from stacked_keras.lint.from_model import graph_from_model  # noqa: E402
from stacked_keras.lint.rules import check  # noqa: E402


def return_sequences(model):
    return {layer.name: layer.return_sequences for layer in model.layers if hasattr(layer, "return_sequences")}


def weights_equal(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


def broken_lstm_stack():
    """Three LSTM layers, none returning sequences: Keras cannot build it."""
    model = keras.Sequential(
        [
            layers.LSTM(4, name="lstm_1"),
            layers.Dropout(0.1, name="drop"),
            layers.LSTM(4, name="lstm_2"),
            layers.LSTM(3, name="lstm_3"),
            layers.Dense(1, name="head"),
        ],
        name="broken_stack",
    )
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        model.build((None, 6, 2))  # the bottom layer gets built (and weights) before Keras gives up
    return model


@pytest.fixture(scope="module")
def fixed_stack():
    original = broken_lstm_stack()
    before = json.dumps(original.get_config(), default=str)
    weights_before = [w.copy() for w in original.get_layer("lstm_1").get_weights()]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing ambiguous, every weight copied
        fixed = fix(original)
    return original, fixed, before, weights_before


def test_fixed_stack_intermediate_layers_return_sequences(fixed_stack):
    _, fixed, _, _ = fixed_stack
    assert return_sequences(fixed) == {"lstm_1": True, "lstm_2": True, "lstm_3": False}
    assert [layer.name for layer in fixed.layers] == ["lstm_1", "drop", "lstm_2", "lstm_3", "head"]


def test_fixed_stack_keeps_the_built_weights(fixed_stack):
    original, fixed, _, weights_before = fixed_stack
    assert fixed.get_layer("lstm_1").built
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, fixed.get_layer("lstm_1").get_weights()))
    assert weights_equal(original.get_layer("lstm_1"), fixed.get_layer("lstm_1"))


def test_fixed_stack_trains_a_step(fixed_stack):
    _, fixed, _, _ = fixed_stack
    assert fixed.compiled and fixed.loss == "mse"
    x = np.random.rand(8, 6, 2).astype("float32")
    y = np.random.rand(8, 1).astype("float32")
    history = fixed.fit(x, y, epochs=1, batch_size=8, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert fixed.output_shape == (None, 1)


def test_fixed_stack_lints_clean(fixed_stack):
    _, fixed, _, _ = fixed_stack
    codes = {f.code for f in check(graph_from_model(fixed))}
    assert not codes & {"SK101", "SK103"}


def test_original_is_untouched(fixed_stack):
    original, fixed, before, weights_before = fixed_stack
    assert fixed is not original
    assert json.dumps(original.get_config(), default=str) == before
    assert return_sequences(original) == {"lstm_1": False, "lstm_2": False, "lstm_3": False}
    assert all(np.array_equal(a, b) for a, b in zip(weights_before, original.get_layer("lstm_1").get_weights()))
    assert fixed.get_layer("lstm_1") is not original.get_layer("lstm_1")


def reshape_broken_model():
    """A functional stack whose time axis is fabricated by a Reshape: builds, trains, is broken."""
    x = keras.Input((6, 2), name="x")
    h = layers.LSTM(4, name="low")(x)
    h = layers.Reshape((1, 4), name="fabricate")(h)
    h = layers.LSTM(3, name="high")(h)
    out = layers.Dense(1, name="head")(h)
    model = keras.Model(x, out, name="reshaped")
    model.compile(optimizer="adam", loss="mse")
    return model


def test_functional_reshape_is_removed_and_weights_kept():
    original = reshape_broken_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = fix(original)
    assert [layer.name for layer in fixed.layers] == ["x", "low", "high", "head"]
    assert fixed.get_layer("low").return_sequences is True
    assert fixed.get_layer("high").return_sequences is False
    for name in ("low", "high", "head"):
        assert weights_equal(original.get_layer(name), fixed.get_layer(name)), name
    x = np.random.rand(4, 6, 2).astype("float32")
    assert tuple(fixed(x).shape) == (4, 1)
    assert "fabricate" in [layer.name for layer in original.layers]  # the original keeps its Reshape
    assert original.get_layer("low").return_sequences is False


def test_expand_dims_op_is_removed_too():
    x = keras.Input((6, 2))
    h = layers.LSTM(4, name="low")(x)
    h = keras.ops.expand_dims(h, 1)
    model = keras.Model(x, layers.LSTM(2, name="high")(h))
    fixed = fix(model)
    assert [type(op).__name__ for op in fixed.operations] == ["InputLayer", "LSTM", "LSTM"]
    assert fixed.get_layer("low").return_sequences is True
    assert weights_equal(model.get_layer("high"), fixed.get_layer("high"))


def test_top_of_the_chain_keeps_its_sequence_output():
    model = keras.Sequential(
        [
            layers.Bidirectional(layers.LSTM(4), name="bi"),
            layers.RNN(layers.GRUCell(3), name="cell_rnn"),
            layers.LSTM(3, return_sequences=True, name="top"),
            layers.TimeDistributed(layers.Dense(2), name="tags"),
        ]
    )
    fixed = fix(model)
    bi = fixed.get_layer("bi")
    assert bi.forward_layer.return_sequences and bi.backward_layer.return_sequences
    assert fixed.get_layer("cell_rnn").return_sequences is True
    assert fixed.get_layer("top").return_sequences is True
    fixed.build((None, 5, 2))
    assert fixed.output_shape == (None, 5, 2)


def test_nested_sequential_inside_functional_is_fixed_in_place():
    inner = keras.Sequential([layers.GRU(3, name="inner_gru")], name="inner")
    inner.build((None, 5, 2))
    x = keras.Input((5, 2))
    h = inner(x)
    h = layers.Reshape((1, 3), name="fabricate")(h)
    model = keras.Model(x, layers.GRU(2, name="outer_gru")(h))
    fixed = fix(model)
    assert fixed.get_layer("inner").get_layer("inner_gru").return_sequences is True
    assert "fabricate" not in [layer.name for layer in fixed.layers]
    assert weights_equal(inner.get_layer("inner_gru"), fixed.get_layer("inner").get_layer("inner_gru"))


def test_reshape_at_the_output_of_a_nested_functional_block_is_removed():
    block_in = keras.Input((5, 2))
    block_out = layers.Reshape((1, 4), name="fabricate")(layers.LSTM(4, name="block_lstm")(block_in))
    block = keras.Model(block_in, block_out, name="block")
    x = keras.Input((5, 2))
    model = keras.Model(x, layers.GRU(2, name="top")(block(x)))
    fixed = fix(model)
    inner = fixed.get_layer("block")
    assert [layer.name for layer in inner.layers][1:] == ["block_lstm"]
    assert inner.get_layer("block_lstm").return_sequences is True
    assert weights_equal(model, fixed)


def test_readme_fix_example():
    import stacked_keras

    broken = keras.Sequential([
        keras.layers.LSTM(32),  # returns one vector...
        keras.layers.LSTM(16),  # ...but this layer needs a sequence
        keras.layers.Dense(1),
    ])
    fixed = stacked_keras.fix(broken)
    assert [layer.return_sequences for layer in fixed.layers[:2]] == [True, False]


def test_correct_model_gives_an_equal_copy():
    model = keras.Sequential([keras.Input((5, 2)), layers.LSTM(4, return_sequences=True), layers.LSTM(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = fix(model)
    assert fixed is not model
    assert json.dumps(fixed.get_config(), default=str) == json.dumps(model.get_config(), default=str)
    assert weights_equal(model, fixed)


def test_lambda_layers_survive_the_rebuild():
    model = keras.Sequential(
        [layers.LSTM(4, name="a"), layers.LSTM(2, name="b"), layers.Lambda(lambda t: t * 2.0, name="double")]
    )
    fixed = fix(model)
    assert fixed.get_layer("a").return_sequences is True
    fixed.build((None, 3, 2))
    assert tuple(fixed(np.ones((1, 3, 2), "float32")).shape) == (1, 2)


def test_a_lambda_between_recurrent_layers_is_not_guessed_through():
    model = keras.Sequential(
        [layers.LSTM(4, name="a"), layers.Lambda(lambda t: t * 2.0, name="double"), layers.LSTM(2, name="b")]
    )
    assert fix(model).get_layer("a").return_sequences is False  # what the Lambda does is unknown


def test_last_state_also_feeding_a_head_is_ambiguous_and_left_alone():
    x = keras.Input((5, 2))
    h = layers.LSTM(4, name="shared_state")(x)
    head = layers.Dense(1, name="head")(h)
    stacked = layers.LSTM(2, name="above")(layers.Reshape((1, 4), name="fabricate")(h))
    model = keras.Model(x, [head, stacked])
    with pytest.warns(AmbiguousFixWarning, match="left shared_state unchanged.*reaches head, an output"):
        fixed = fix(model)
    assert fixed.get_layer("shared_state").return_sequences is False
    assert "fabricate" in [layer.name for layer in fixed.layers]


def test_reshape_into_several_timesteps_is_ambiguous():
    x = keras.Input((5, 2))
    h = layers.LSTM(4, name="low")(x)
    h = layers.Reshape((2, 2), name="split")(h)
    model = keras.Model(x, layers.LSTM(2, name="high")(h))
    with pytest.warns(AmbiguousFixWarning, match="several timesteps"):
        fixed = fix(model)
    assert fixed.get_layer("low").return_sequences is False


def test_subclassed_model_is_a_value_error():
    class Stack(keras.Model):
        def __init__(self):
            super().__init__(name="stack_cls")
            self.a = layers.LSTM(3)

        def call(self, x):
            return self.a(x)

    with pytest.raises(ValueError, match="'stack_cls' is a subclassed model.*stacked-keras lint --fix"):
        fix(Stack())


def test_non_model_is_a_type_error():
    with pytest.raises(TypeError, match="model must be a keras.Model"):
        fix(layers.LSTM(2))


# -- plan_fix on hand-built graphs (no Keras needed) ---------------------------


def chain(*classes, **configs):
    nodes = [LayerNode(f"{cls.lower()}_{i}", cls, dict(configs.get(f"n{i}", {}))) for i, cls in enumerate(classes)]
    return ModelGraph.chain(nodes)


def test_plan_marks_every_layer_below_another():
    plan = plan_fix(chain("LSTM", "Dropout", "GRU", "SimpleRNN", "Dense"))
    assert plan.return_sequences == {0, 2} and not plan.remove and not plan.ambiguous


def test_plan_leaves_repeat_vector_bridges_alone():
    assert not plan_fix(chain("LSTM", "RepeatVector", "LSTM"))


def test_plan_ignores_initial_state_edges():
    graph = ModelGraph()
    for node in (LayerNode("enc", "LSTM", {"return_state": True}), LayerNode("dec_in", "InputLayer", kind="input"),
                 LayerNode("dec", "LSTM")):
        graph.add(node)
    graph.connect(1, 2)
    graph.connect(0, 2, role="initial_state")
    assert not plan_fix(graph)


def test_plan_never_guesses_on_unknown_settings():
    assert not plan_fix(chain("LSTM", "LSTM", n0={"return_sequences": UNKNOWN}))


def test_plan_removes_one_step_reshape():
    plan = plan_fix(chain("GRU", "Reshape", "GRU", n1={"target_shape": (1, 8)}))
    assert plan.return_sequences == {0} and plan.remove == {1}


def test_plan_follows_branches_to_every_top():
    graph = chain("LSTM", "LSTM")
    graph.add(LayerNode("other_top", "GRU", {"return_sequences": True}))
    graph.edges.append(Edge(0, 2))
    assert plan_fix(graph).return_sequences == {0}


# -- recurrent layers inside TimeDistributed -----------------------------------


def hierarchical_model():
    """Documents of sentences of words: a word LSTM per sentence, then a sentence LSTM."""
    model = keras.Sequential(
        [
            keras.Input((5, 10, 3)),
            layers.TimeDistributed(layers.LSTM(4, name="word_lstm"), name="per_sentence"),
            layers.LSTM(2, name="sentence_lstm"),
            layers.Dense(1, name="head"),
        ],
        name="documents",
    )
    model.compile(optimizer="adam", loss="mse")
    return model


def test_hierarchical_model_is_left_as_it_is():
    model = hierarchical_model()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = fix(model)  # was: "expected ndim=3, found ndim=4" from the rebuild
    assert fixed.get_layer("per_sentence").layer.return_sequences is False
    assert json.dumps(fixed.get_config(), default=str) == json.dumps(model.get_config(), default=str)
    assert weights_equal(model, fixed)


def broken_word_stack():
    return keras.Sequential(
        [
            layers.TimeDistributed(layers.LSTM(4, name="word_1"), name="td_1"),
            layers.TimeDistributed(layers.LSTM(3, name="word_2"), name="td_2"),
            layers.LSTM(2, name="sentence_lstm"),
            layers.Dense(1, name="head"),
        ]
    )


def test_broken_word_stack_inside_time_distributed_is_fixed_on_the_inner_layer():
    x = np.random.rand(4, 5, 6, 2).astype("float32")
    with pytest.raises(Exception, match="strided_slice|must be fully-defined"):
        broken_word_stack().build((None, 5, 6, 2))  # word_2 gets one vector per sentence
    broken = broken_word_stack()
    assert [(f.code, f.layer) for f in check(graph_from_model(broken)) if f.code.startswith("SK1")] == [
        ("SK101", "td_1")]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fixed = fix(broken)
    assert fixed.get_layer("td_1").layer.return_sequences is True
    assert fixed.get_layer("td_2").layer.return_sequences is False  # it feeds the sentence LSTM
    assert fixed.get_layer("sentence_lstm").return_sequences is False
    assert tuple(fixed(x).shape) == (4, 1)


def test_plan_for_time_distributed_layers_pairs_only_layers_on_one_time_axis():
    def td(name, **config):
        return LayerNode(name, "TimeDistributed", {}, wrapped=LayerNode(f"{name}_lstm", "LSTM", config))

    hierarchy = ModelGraph.chain([td("words"), LayerNode("sentences", "LSTM")])
    assert not plan_fix(hierarchy)
    broken = ModelGraph.chain([td("words_1"), td("words_2"), LayerNode("sentences", "LSTM")])
    assert plan_fix(broken).return_sequences == {0}
    # The word vector of each sentence feeds both the sentence LSTM and another
    # word LSTM: one needs the vector, the other the words.
    both = ModelGraph.chain([td("words_1"), LayerNode("sentences", "LSTM")])
    both.add(td("words_2"))
    both.connect(0, 2)
    plan = plan_fix(both)
    assert not plan and "left words_1 unchanged" in plan.ambiguous[0]
    assert "sentences" in plan.ambiguous[0]


def test_plan_crosses_a_time_distributed_dense_like_the_rules():
    graph = ModelGraph.chain([
        LayerNode("low", "LSTM"),
        LayerNode("proj", "TimeDistributed", {}, wrapped=LayerNode("dense", "Dense", {"units": 4})),
        LayerNode("high", "LSTM"),
    ])
    assert plan_fix(graph).return_sequences == {0}

"""The rules, `fix(model)`'s planner and the source fixer agree on what flows.

One shared table of models, written as source: each goes through the rule
check, `plan_fix` (the model fixer's decision, on the graph) and the source
fixer. Whatever a rule marks fixable both fixers fix, and the fixed source
lints clean and builds in Keras; whatever they leave alone, they say why.
"""

from __future__ import annotations

import textwrap

import pytest

from stacked_keras.lint.fix_model import plan_fix
from stacked_keras.lint.fix_source import rewrite_python_source
from stacked_keras.lint.from_source import graphs_from_python
from stacked_keras.lint.rules import RULES, check
from stacked_keras.lint.semantics import GraphView, last_state_destinations

_HEAD = "import keras\ninputs = keras.Input(shape=(6, 3))\n"

# name -> (source body, codes expected, names the fixers must make return sequences)
MODELS = {
    "plain_stack": (
        """
        x = keras.layers.LSTM(4, name="low")(inputs)
        outputs = keras.layers.LSTM(4, name="top")(x)
        """,
        ["SK101"], {"low"},
    ),
    "through_dropout": (
        """
        x = keras.layers.GRU(4, name="low")(inputs)
        x = keras.layers.Dropout(0.1)(x)
        outputs = keras.layers.GRU(4, name="top")(x)
        """,
        ["SK101"], {"low"},
    ),
    "concatenated_last_states": (
        """
        a = keras.layers.LSTM(4, name="left")(inputs)
        b = keras.layers.LSTM(4, name="right")(inputs)
        x = keras.layers.Concatenate()([a, b])
        outputs = keras.layers.LSTM(4, name="top")(x)
        """,
        ["SK101", "SK101"], {"left", "right"},
    ),
    "vector_added_to_sequence": (
        """
        seq = keras.layers.LSTM(4, return_sequences=True, name="seq")(inputs)
        vec = keras.layers.LSTM(4, name="vec")(inputs)
        x = keras.layers.Add()([seq, vec])
        outputs = keras.layers.LSTM(4, name="top")(x)
        """,
        [], set(),
    ),
    "clean_stack": (
        """
        x = keras.layers.LSTM(4, return_sequences=True, name="low")(inputs)
        outputs = keras.layers.LSTM(4, name="top")(x)
        """,
        [], set(),
    ),
    # Built in loops: one call, several layers (named lstm, lstm_1, ... by the front-end, as Keras does).
    "loop_stack": (
        """
        x = inputs
        for i in range(3):
            x = keras.layers.LSTM(4)(x)
        outputs = keras.layers.Dense(1)(x)
        """,
        ["SK101", "SK101"], {"lstm", "lstm_1"},
    ),
    "loop_over_units_then_a_final_gru": (
        """
        x = inputs
        for units in [8, 4]:
            x = keras.layers.GRU(units)(x)
        outputs = keras.layers.GRU(2, name="top")(x)
        """,
        ["SK101", "SK101"], {"gru", "gru_1"},
    ),
    "loop_already_right": (
        """
        x = inputs
        depth = 3
        for i in range(depth):
            x = keras.layers.LSTM(4, return_sequences=i < depth - 1)(x)
        outputs = keras.layers.Dense(1)(x)
        """,
        [], set(),
    ),
}


def _source(body: str) -> str:
    return _HEAD + textwrap.dedent(body) + "model = keras.Model(inputs, outputs)\n"


def _graph(source: str):
    (graph,) = graphs_from_python(source, path="model.py")
    return graph


def _fixable(findings):
    return [f for f in findings if RULES[f.code].fixable]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_rules_and_both_fixers_agree(name):
    body, codes, to_fix = MODELS[name]
    source = _source(body)
    graph = _graph(source)
    findings = check(graph)
    assert sorted(f.code for f in findings if f.code.startswith("SK1")) == codes

    plan = plan_fix(graph)
    assert {graph.node(i).name for i in plan.return_sequences} == to_fix
    assert plan.ambiguous == []

    rewrite = rewrite_python_source(source, findings)
    assert rewrite.skipped == []
    fixed = rewrite.text
    assert (fixed != source) == bool(_fixable(findings))
    assert [f.code for f in check(_graph(fixed)) if f.code.startswith("SK1")] == []


def test_fixed_concatenate_model_builds_in_keras():
    body, _, _ = MODELS["concatenated_last_states"]
    source = _source(body)
    fixed = rewrite_python_source(source, check(_graph(source))).text
    assert fixed.count("return_sequences=True") == 2
    namespace: dict = {}
    exec(compile(fixed, "model.py", "exec"), namespace)  # noqa: S102 - our own table
    model = namespace["model"]
    assert tuple(model.output.shape) == (None, 4)


@pytest.mark.parametrize("name", ["loop_stack", "loop_over_units_then_a_final_gru"])
def test_fixed_loop_model_builds_in_keras_as_fix_model_plans_it(name):
    source = _source(MODELS[name][0])
    graph = _graph(source)
    fixed = rewrite_python_source(source, check(graph)).text
    namespace: dict = {}
    exec(compile(fixed, "model.py", "exec"), namespace)  # noqa: S102 - our own table
    model = namespace["model"]
    in_keras = [layer.return_sequences for layer in model.layers if hasattr(layer, "return_sequences")]
    planned = plan_fix(graph).return_sequences
    assert in_keras == [node.id in planned for node in graph.nodes if node.is_recurrent]


def test_plan_fix_does_not_walk_through_add_into_a_sequence():
    graph = _graph(_source(MODELS["vector_added_to_sequence"][0]))
    assert check(graph, select=["SK101"]) == []
    assert plan_fix(graph).return_sequences == set()


def test_flow_model_finds_both_concatenated_last_states():
    graph = _graph(_source(MODELS["concatenated_last_states"][0]))
    view = GraphView(graph)
    names = {node.id: node.name for node in graph.nodes}
    for low in ("left", "right"):
        (node_id,) = [i for i, n in names.items() if n == low]
        assert [names[d] for d, reshape in last_state_destinations(view, node_id)] == ["top"]

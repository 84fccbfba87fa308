"""Every front-end reads an `LSTMStack`/`GRUStack` as the stack of LSTM/GRU layers it stands for.

One representation: each front-end keeps the stack as one node of its class
(`units`, `return_sequences`), `graph.expand_stack_layers` turns it into its
layers before the rules run, and messages, fixers and pictures name the part
(`lstm_stack (layer 2 of 2)`).
"""

from __future__ import annotations

import json
import os
import textwrap

import pytest

from stacked_keras.graph import UNKNOWN, Edge, LayerNode, LayerPart, ModelGraph, expand_stack_layers, stack_expansion
from stacked_keras.keras_catalogue import (
    POSITIONAL_ARGUMENTS,
    PUBLIC_NAMES,
    STACK_LAYERS,
    STACK_REGISTERED_NAMES,
    stack_class,
)
from stacked_keras.lint.fix_source import fix_notebook, fix_python_source
from stacked_keras.lint.from_config import graphs_from_config, graphs_from_json
from stacked_keras.lint.from_source import graphs_from_notebook, graphs_from_python
from stacked_keras.lint.rules import check

SK101_STACK_INTO_LSTM = (
    "lstm_stack (layer 2 of 2) returns only its last state (return_sequences=False) but feeds lstm, "
    "which needs a sequence: the vertical connection between layer 2 and layer 3 is broken."
)
SK102_STACK_INTO_DENSE = (
    "lstm_stack (layer 2 of 2) returns its whole sequence (return_sequences=True) and dense reads it "
    "directly, so the model predicts one output per timestep"
)


def source_findings(source: str) -> list:
    return [f for graph in graphs_from_python(textwrap.dedent(source), "model.py") for f in check(graph)]


def layers_of(graph: ModelGraph) -> list[tuple]:
    """(class, units, return_sequences, display name) of each recurrent layer, as the rules see them."""
    return [(n.cls, n.get("units"), n.return_sequences, n.display_name)
            for n in expand_stack_layers(graph).nodes if n.is_recurrent]


TWO_LSTM = [
    ("LSTM", 64, True, "lstm_stack (layer 1 of 2)"),
    ("LSTM", 32, True, "lstm_stack (layer 2 of 2)"),
]


# -- the catalogue and the graph ----------------------------------------------------


def test_catalogue_names_the_stack_layers_and_their_spellings():
    assert STACK_LAYERS == {"LSTMStack": "LSTM", "GRUStack": "GRU"}
    for name in ("LSTMStack", "GRUStack"):
        for spelling in (name, f"stacked_keras.{name}", f"stacked_keras.grid_layers.{name}", f"stacked_keras>{name}"):
            assert STACK_REGISTERED_NAMES[spelling] == name
    assert stack_class("LSTMStack", "stacked_keras>LSTMStack", "stacked_keras.grid_layers") == "LSTMStack"
    assert stack_class("GRUStack") == "GRUStack"
    assert stack_class("LSTMStack", "my_lab>LSTMStack") is None
    assert stack_class("LSTMStack", None, "my_lab.layers") is None
    assert stack_class("LSTM") is None
    # Not Keras names: a snippet's bare `LSTMStack` is not assumed to be anything.
    assert "LSTMStack" not in PUBLIC_NAMES and "LSTMStack" not in POSITIONAL_ARGUMENTS


def test_expansion_replaces_a_stack_node_by_a_chain_of_its_layers():
    graph = ModelGraph.chain([
        LayerNode("input", "InputLayer", {"shape": (5, 3)}, kind="input"),
        LayerNode("lstm_stack", "LSTMStack", {"units": [8, 6, 4], "return_sequences": False, "unit_forget_bias": True}),
        LayerNode("dense", "Dense", {"units": 1}),
    ])
    expanded, origin = stack_expansion(graph)
    assert [(n.id, n.cls, n.config.get("units"), n.return_sequences) for n in expanded.nodes] == [
        (0, "InputLayer", None, None), (1, "LSTM", 8, True), (2, "LSTM", 6, True), (3, "LSTM", 4, False),
        (4, "Dense", 1, None),
    ]
    assert [n.part for n in expanded.nodes[1:4]] == [LayerPart("lstm_stack", i, 3, 1) for i in range(3)]
    assert [n.name for n in expanded.nodes[1:4]] == ["lstm_stack"] * 3
    assert expanded.nodes[3].config["unit_forget_bias"] is True
    assert expanded.edges == [Edge(1, 2), Edge(2, 3), Edge(0, 1), Edge(3, 4)]
    assert (expanded.inputs, expanded.outputs) == ([0], [4])
    assert origin == [0, 1, 1, 1, 2]
    assert [n.id for n in graph.nodes] == [0, 1, 2] and graph.nodes[1].cls == "LSTMStack"  # input unchanged


def test_expansion_keeps_a_graph_without_stacks_and_reads_unknown_units_as_one_layer():
    plain = ModelGraph.chain([LayerNode("lstm", "LSTM", {"units": 4}), LayerNode("dense", "Dense")])
    assert expand_stack_layers(plain) is plain
    unknown = ModelGraph.chain([LayerNode("gru_stack", "GRUStack", {"units": UNKNOWN, "return_sequences": True})])
    (node,) = expand_stack_layers(unknown).nodes
    assert (node.cls, node.get("units"), node.return_sequences, node.display_name) == ("GRU", UNKNOWN, True, "gru_stack")


def test_expansion_survives_malformed_graphs():
    looped = LayerNode("td", "TimeDistributed", {})
    looped.wrapped = looped  # a wrapper cycle
    graph = ModelGraph(nodes=[], edges=[])
    graph.add(looped)
    graph.add(LayerNode("lstm_stack", "LSTMStack", {"units": (None, "x")}))
    graph.add(LayerNode("gru_stack", "GRUStack", None))  # type: ignore[arg-type]
    graph.edges.append(Edge(0, 7))
    graph.outputs = [5, 1]
    expanded, origin = stack_expansion(graph)
    assert [n.cls for n in expanded.nodes] == ["TimeDistributed", "LSTM", "LSTM", "GRUStack"]
    assert origin == [0, 1, 1, 2] and expanded.outputs == [2] and expanded.edges == [Edge(1, 2)]
    check(graph)  # never raises


def test_a_stack_inside_time_distributed_keeps_its_wrapper_per_layer():
    graph = ModelGraph.chain([
        LayerNode("td", "TimeDistributed", {}, LayerNode("lstm_stack", "LSTMStack", {"units": [4, 2]})),
        LayerNode("lstm", "LSTM", {"units": 3}),
    ])
    nodes = expand_stack_layers(graph).nodes
    assert [(n.cls, n.core.cls, n.time_distributed_depth, n.return_sequences) for n in nodes[:2]] == [
        ("TimeDistributed", "LSTM", 1, True), ("TimeDistributed", "LSTM", 1, False)]
    assert check(graph, select="SK101") == []  # a hierarchical model: one vector per outer step is right


# -- the source front-end -------------------------------------------------------------


@pytest.mark.parametrize("imports, call", [
    ("from stacked_keras import LSTMStack", "LSTMStack([64, 32], return_sequences=True)"),
    ("from stacked_keras import LSTMStack", "LSTMStack([64, 32], True)"),
    ("import stacked_keras as sk", "sk.LSTMStack(units=[64, 32], return_sequences=True)"),
    ("import stacked_keras", "stacked_keras.LSTMStack([64, 32], True)"),
    ("from stacked_keras.grid_layers import LSTMStack", "LSTMStack([64, 32], return_sequences=True)"),
    ("import stacked_keras.grid_layers as gl", "gl.LSTMStack([64, 32], True)"),
    ("from stacked_keras import *", "LSTMStack([64, 32], return_sequences=True)"),
])
def test_source_reads_each_spelling_as_the_stack_of_layers(imports, call):
    source = f"""
        import keras
        {imports}
        model = keras.Sequential([keras.Input((10, 3)), {call}, keras.layers.Dense(1)])
    """
    (graph,) = graphs_from_python(textwrap.dedent(source), "model.py")
    assert [(n.name, n.cls, n.config.get("units")) for n in graph.nodes][1] == ("lstm_stack", "LSTMStack", [64, 32])
    assert layers_of(graph) == TWO_LSTM
    (finding,) = check(graph)
    assert finding.code == "SK102" and finding.layer == "lstm_stack"
    assert finding.message.startswith(SK102_STACK_INTO_DENSE)
    assert (finding.line, finding.column) == (4, 49)


def test_source_reads_gru_stack_feeding_lstm_as_a_broken_connection():
    findings = source_findings("""
        from keras import Input, Sequential, layers
        from stacked_keras.grid_layers import GRUStack
        model = Sequential([Input((10, 3)), GRUStack([16, 16, 8]), layers.LSTM(4)])
    """)
    assert [(f.code, f.layer) for f in findings] == [("SK101", "gru_stack"), ("SK203", "gru_stack")]
    assert findings[0].message == (
        "gru_stack (layer 3 of 3) returns only its last state (return_sequences=False) but feeds lstm, "
        "which needs a sequence: the vertical connection between layer 3 and layer 4 is broken."
    )
    assert findings[0].fix == "Set return_sequences=True on gru_stack."
    assert findings[1].message.startswith(
        "gru_stack (its 3 layers) and lstm form a stack of 4 recurrent layers with no dropout")


def test_source_stack_of_unrelated_package_is_not_read_as_a_stack():
    findings = source_findings("""
        import keras
        from my_lab import LSTMStack
        model = keras.Sequential([keras.Input((10, 3)), LSTMStack([64, 32]), keras.layers.LSTM(4)])
    """)
    assert findings == []


def test_source_correct_stack_gives_no_findings():
    assert source_findings("""
        import keras
        from stacked_keras import LSTMStack
        inputs = keras.Input((10, 3))
        x = LSTMStack([64, 32])(inputs)
        model = keras.Model(inputs, keras.layers.Dense(1)(x))
    """) == []


def test_notebook_cell_reads_the_stack():
    notebook = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": "# model"},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [], "source": (
            "import keras\nfrom stacked_keras import LSTMStack\n"
            "model = keras.Sequential([keras.Input((10, 3)), LSTMStack([64, 32], False), keras.layers.LSTM(4)])\n")},
    ]}
    (graph,) = graphs_from_notebook(json.dumps(notebook), "model.ipynb")
    findings = check(graph, select="SK101")
    assert [(f.code, f.cell, f.line, f.message) for f in findings] == [("SK101", 2, 3, SK101_STACK_INTO_LSTM)]
    fixed = json.loads(fix_notebook(json.dumps(notebook), findings))
    assert "LSTMStack([64, 32], True)" in "".join(fixed["cells"][1]["source"])


# -- --fix ------------------------------------------------------------------------------


@pytest.mark.parametrize("written, fixed", [
    ("LSTMStack([64, 32], return_sequences=False)", "LSTMStack([64, 32], return_sequences=True)"),
    ("LSTMStack([64, 32], False)", "LSTMStack([64, 32], True)"),
    ("LSTMStack([64, 32])", "LSTMStack([64, 32], return_sequences=True)"),
    ("LSTMStack(units=[64, 32], name='enc')", "LSTMStack(units=[64, 32], name='enc', return_sequences=True)"),
])
def test_fix_edits_the_stack_calls_return_sequences(written, fixed):
    source = textwrap.dedent(f"""\
        import keras
        from stacked_keras import LSTMStack
        model = keras.Sequential([keras.Input((10, 3)), {written}, keras.layers.LSTM(4)])
    """)
    findings = source_findings(source)
    assert [f.code for f in findings if f.code == "SK101"] == ["SK101"]
    result = fix_python_source(source, findings)
    assert result == source.replace(written, fixed)
    assert [f.code for f in source_findings(result)] == ["SK203"]


@pytest.mark.parametrize("before, after", [
    ("Enc = functools.partial(LSTMStack, [8, 8])\nmodel = keras.Sequential([keras.Input((10, 3)), Enc(), keras.layers.LSTM(8)])\n",
     "Enc(return_sequences=True)"),
    ("def block(seq):\n    return LSTMStack([8, 4], return_sequences=seq)\n"
     "model = keras.Sequential([keras.Input((10, 3)), block(False), keras.layers.LSTM(8)])\n",
     "block(True)"),
])
def test_fix_follows_partials_and_helpers_to_the_stack_call(before, after):
    source = "import functools\nimport keras\nfrom stacked_keras import LSTMStack\n" + before
    findings = source_findings(source)
    assert [f.message.split(" returns")[0] for f in findings if f.code == "SK101"] == ["lstm_stack (layer 2 of 2)"]
    result = fix_python_source(source, findings)
    assert after in result and [f.code for f in source_findings(result)] == ["SK203"]


def test_fix_leaves_a_stack_configured_by_double_star_alone():
    source = ("import keras\nfrom stacked_keras import LSTMStack\ncfg = dict(return_sequences=False)\n"
              "model = keras.Sequential([keras.Input((10, 3)), LSTMStack([8, 4], **cfg), keras.layers.LSTM(8)])\n")
    findings = source_findings(source)
    assert [f.code for f in findings] == ["SK101", "SK203"]
    assert fix_python_source(source, findings) == source


def test_fix_edits_stacks_built_in_a_loop_with_the_index_condition():
    source = textwrap.dedent("""\
        import keras
        from stacked_keras import LSTMStack
        model = keras.Sequential([keras.Input((10, 3))])
        for units in ([8, 8], [4, 4], [2]):
            model.add(LSTMStack(units))
        model.add(keras.layers.Dense(1))
    """)
    findings = source_findings(source)
    assert [(f.code, f.layer) for f in findings if f.code == "SK101"] == [("SK101", "lstm_stack"), ("SK101", "lstm_stack_1")]
    result = fix_python_source(source, findings)
    assert "for i, units in enumerate(([8, 8], [4, 4], [2])):\n    model.add(LSTMStack(units, return_sequences=i < 2))" in result
    assert [f.code for f in source_findings(result)] == ["SK203"]


def test_cli_fix_and_the_static_front_end_import_no_keras(tmp_path):
    """`python -m stacked_keras lint --fix` fixes a stack call; linting it imports neither Keras nor TensorFlow."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    path = tmp_path / "fused.py"
    path.write_text(textwrap.dedent("""\
        import keras
        from stacked_keras import GRUStack
        model = keras.Sequential([keras.Input((10, 3)), GRUStack([16, 8], False), keras.layers.GRU(4)])
    """), encoding="utf-8")
    env = dict(os.environ, PYTHONPATH=str(root), TF_CPP_MIN_LOG_LEVEL="2")
    probe = (
        "import sys\n"
        "from stacked_keras.lint import lint\n"
        f"report = lint({str(path)!r})\n"
        "print(sorted((f.code, f.message.split(' returns')[0]) for f in report.findings))\n"
        "print(sorted({m.partition('.')[0] for m in sys.modules} & {'keras', 'tensorflow', 'jax', 'torch'}))\n"
    )
    before = subprocess.run([sys.executable, "-c", probe], env=env, cwd=tmp_path, capture_output=True, text=True,
                            timeout=300)
    assert before.stdout.splitlines() == [
        "[('SK101', 'gru_stack (layer 2 of 2)'), ('SK203', 'gru_stack (its 2 layers) and gru form a stack of 3 "
        "recurrent layers with no dropout or weight regularization anywhere in the model, so it easily overfits "
        "a small dataset.')]",
        "[]",
    ], before.stderr
    fixed = subprocess.run([sys.executable, "-m", "stacked_keras", "lint", "--fix", "--select", "SK1", str(path)],
                           env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert "GRUStack([16, 8], True)" in path.read_text(encoding="utf-8")


# -- live models ------------------------------------------------------------------------

keras = pytest.importorskip("keras")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from stacked_keras import GRUStack, LSTMStack, deep_rnn  # noqa: E402
from stacked_keras.lint.fix_model import fix, plan_fix  # noqa: E402
from stacked_keras.lint.from_config import read_saved_file  # noqa: E402
from stacked_keras.lint.from_model import graph_from_model  # noqa: E402


@pytest.mark.parametrize("cell, cls", [("lstm", "LSTM"), ("gru", "GRU")])
def test_fused_builder_model_reads_as_its_layers_and_is_clean(cell, cls):
    model = deep_rnn(cell, [16, 8, 4], input_shape=(6, 3), fused=True)
    graph = graph_from_model(model)
    assert [n.cls for n in graph.nodes if n.kind == "layer"][0] == f"{cls}Stack"
    assert layers_of(graph) == [
        (cls, 16, True, f"{cell}_stack (layer 1 of 3)"),
        (cls, 8, True, f"{cell}_stack (layer 2 of 3)"),
        (cls, 4, False, f"{cell}_stack (layer 3 of 3)"),
    ]
    assert [f.code for f in check(graph) if f.severity != "info"] == []
    (info,) = check(graph)
    assert (info.code, info.layer) == ("SK203", f"{cell}_stack")
    assert info.message.startswith(f"{cell}_stack (its 3 layers) form a stack of 3 recurrent layers")


def test_live_sequential_stack_into_dense_is_sk102_naming_the_part():
    model = keras.Sequential([keras.Input((5, 3)), LSTMStack([64, 32], return_sequences=True, name="lstm_stack"),
                              keras.layers.Dense(1, name="dense")])
    graph = graph_from_model(model)
    assert layers_of(graph) == TWO_LSTM
    (finding,) = check(graph)
    assert (finding.code, finding.layer) == ("SK102", "lstm_stack")
    assert finding.message.startswith(SK102_STACK_INTO_DENSE)


def test_live_stack_feeding_lstm_is_sk101_and_fix_rebuilds_the_stack():
    model = keras.Sequential([LSTMStack([64, 32], name="lstm_stack"), keras.layers.LSTM(4, name="lstm")])  # unbuildable
    (finding,) = check(graph_from_model(model), select="SK101")
    assert finding.message == SK101_STACK_INTO_LSTM
    fixed = fix(model)
    assert [(type(layer).__name__, getattr(layer, "return_sequences", None)) for layer in fixed.layers] == [
        ("LSTMStack", True), ("LSTM", False)]
    assert fixed.layers[0].units == [64, 32]
    assert check(graph_from_model(fixed), select="SK1") == []


def test_fix_model_removes_a_fabricated_step_and_keeps_the_stacks_weights():
    import numpy as np

    model = keras.Sequential([
        keras.Input((5, 3)), GRUStack([8, 4], name="enc"), keras.layers.Reshape((1, 4)), keras.layers.LSTM(2)])
    graph = graph_from_model(model)
    (finding,) = check(graph, select="SK103")
    assert finding.layer == "enc" and finding.message.startswith("enc (layer 2 of 2) returns only its last state")
    plan = plan_fix(graph)
    assert plan.return_sequences == {1} and plan.remove == {2}  # ids of the unexpanded graph
    fixed = fix(model)
    assert [type(layer).__name__ for layer in fixed.layers] == ["GRUStack", "LSTM"]
    assert fixed.layers[0].return_sequences is True
    before, after = model.get_layer("enc").get_weights(), fixed.get_layer("enc").get_weights()
    assert len(after) == 6 and all(np.array_equal(a, b) for a, b in zip(before, after))


def test_a_user_class_named_lstm_stack_is_not_read_as_a_stack():
    class LSTMStack(keras.layers.Layer):  # noqa: F811 - shadows stacked-keras's on purpose
        def call(self, x):
            return x

    model = keras.Sequential([keras.Input((5, 3)), LSTMStack(), keras.layers.LSTM(4)])
    graph = graph_from_model(model)
    assert graph.nodes[1].cls != "LSTMStack"
    assert [n.cls for n in expand_stack_layers(graph).nodes if n.is_recurrent] == ["LSTM"]


# -- saved files and configs --------------------------------------------------------------


def test_saved_keras_file_and_json_config_read_the_stack(tmp_path):
    model = keras.Sequential(
        [keras.Input((5, 3)), LSTMStack([64, 32], return_sequences=True, name="lstm_stack"),
         keras.layers.Dense(1, name="dense")], name="fused")
    path = tmp_path / "fused.keras"
    model.save(path)
    (saved,) = read_saved_file(path)
    (from_json,) = graphs_from_json(model.to_json())
    for graph in (saved, from_json):
        assert graph.nodes[1].cls == "LSTMStack"
        assert layers_of(graph) == TWO_LSTM
        (finding,) = check(graph)
        assert (finding.code, finding.layer) == ("SK102", "lstm_stack")
        assert finding.message.startswith(SK102_STACK_INTO_DENSE)


def test_legacy_registered_class_name_and_foreign_registrations():
    def config(class_name, **entry):
        return {"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": class_name, "config": {"name": "lstm_stack", "units": [64, 32]}, **entry},
            {"class_name": "LSTM", "config": {"name": "lstm", "units": 4}},
        ]}}

    for form in (config("stacked_keras>LSTMStack"),
                 config("LSTMStack", registered_name="stacked_keras>LSTMStack", module="stacked_keras.grid_layers"),
                 config("LSTMStack")):
        (graph,) = graphs_from_config(form)
        assert [f.message for f in check(graph, select="SK101")] == [SK101_STACK_INTO_LSTM]
    for foreign in (config("my_lab>LSTMStack"), config("LSTMStack", registered_name="my_lab>LSTMStack"),
                    config("LSTMStack", module="my_lab.layers")):
        (graph,) = graphs_from_config(foreign)
        assert check(graph, select="SK101") == []


# -- the picture ------------------------------------------------------------------------------


def test_plot_draws_a_stack_as_its_rows(tmp_path):
    pytest.importorskip("matplotlib")
    from stacked_keras import plot_stack

    figure = plot_stack(deep_rnn("lstm", [16, 8, 4], input_shape=(6, 3), fused=True), timesteps=4,
                        path=tmp_path / "fused.png")
    labels = [text.get_text() for text in figure.axes[0].texts if "units" in text.get_text()]
    assert labels == [
        "lstm_stack (layer 1 of 3): 16 units\nreturn_sequences=True",
        "lstm_stack (layer 2 of 3): 8 units\nreturn_sequences=True",
        "lstm_stack (layer 3 of 3): 4 units\nreturn_sequences=False",
    ]
    assert (tmp_path / "fused.png").stat().st_size > 0
    model = keras.Sequential([LSTMStack([8, 4], name="lstm_stack"), keras.layers.LSTM(2)], name="broken")
    broken = plot_stack(model, timesteps=3)
    assert broken.axes[0].get_title() == (
        "broken: 3 stacked recurrent layers (broken: SK101 at lstm_stack (layer 2 of 2))")

"""The model zoo: the preset registry, specs and their round trips, lint-clean presets."""

import builtins
import json
import subprocess
import sys
import warnings

import numpy as np
import pytest

keras = pytest.importorskip("keras")

import stacked_keras  # noqa: E402
from stacked_keras import zoo  # noqa: E402
from stacked_keras.builders import StackWarning, deep_rnn  # noqa: E402
from stacked_keras.graph import RECURRENT_LAYERS  # noqa: E402
from stacked_keras.zoo import (  # noqa: E402
    PresetInfo,
    build_from_spec,
    load_spec,
    normalize_spec,
    save_spec,
    spec_of,
)

PRESET_NAMES = [
    "deep-simple-rnn",
    "sentiment-deep-lstm",
    "tagger-bilstm",
    "forecaster-deep-gru",
    "seq2seq-attention",
]

# Small enough to train in a second or two on 2 CPU cores.
TINY = {
    "deep-simple-rnn": {},
    "sentiment-deep-lstm": {"units": [8, 8, 8], "embedding_dim": 8},
    "tagger-bilstm": {"units": [8, 8], "embedding_dim": 8},
    "forecaster-deep-gru": {"units": [8, 8]},
    "seq2seq-attention": {"units": [8, 8], "embedding_dim": 8},
}


def _build_quietly(name, **overrides):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StackWarning)  # the SimpleRNN stack warns
        return zoo.build(name, **overrides)


def _architecture(model):
    """What must match between two builds of one spec: names, classes, shapes, parameters."""
    return [
        (
            layer.name,
            type(layer).__name__,
            keras.tree.map_structure(lambda tensor: tuple(tensor.shape), layer.output),
            layer.count_params(),
        )
        for layer in model.layers
    ]


def _recurrent_layers(model):
    """(name, layer) of every recurrent layer, wrappers unwrapped."""
    found = []
    for layer in model.layers:
        core = getattr(layer, "forward_layer", layer)
        if type(core).__name__ in RECURRENT_LAYERS:
            found.append((layer.name, core))
    return found


# ---------------------------------------------------------------- registry


def test_list_gives_name_task_and_description_of_every_preset():
    presets = zoo.list()
    assert [p.name for p in presets] == PRESET_NAMES
    assert all(isinstance(p, PresetInfo) and p.task and p.description for p in presets)
    table = str(presets)
    assert table.splitlines()[0].split() == ["name", "task", "description"]
    assert all(name in table for name in PRESET_NAMES)
    assert "| `tagger-bilstm` | tagging |" in presets.to_markdown()


def test_zoo_list_is_list_presets_and_the_builtin_list_is_untouched():
    assert zoo.list is zoo.list_presets
    assert "list" in zoo.__all__
    presets = zoo.list()
    assert isinstance(presets, builtins.list) and builtins.list(presets) == presets
    with pytest.raises(AttributeError):
        PresetInfo("a", "b", "c").name = "d"  # frozen


def test_spec_is_a_plain_json_dict_naming_its_preset():
    spec = zoo.spec("sentiment-deep-lstm")
    assert json.loads(json.dumps(spec)) == spec
    assert spec["format"] == 1 and spec["preset"] == "sentiment-deep-lstm"
    assert spec["builder"] == "deep_rnn"
    assert spec["args"]["units"] == [32, 32, 32] and spec["args"]["head"] == "binary"


def test_deep_simple_rnn_preset_is_the_seeds_3_then_2_units_example():
    spec = zoo.spec("deep-simple-rnn")
    assert spec["args"]["cell"] == "simple_rnn"
    assert spec["args"]["units"] == [3, 2] and spec["args"]["input_shape"] == [None, 3]
    with pytest.warns(StackWarning, match="2 SimpleRNN layers are stacked"):
        model = zoo.build("deep-simple-rnn")
    assert [layer.name for layer in model.layers] == ["simple_rnn_1", "simple_rnn_2", "head"]
    assert model.get_layer("simple_rnn_1").output.shape == (None, None, 3)
    assert model.get_layer("simple_rnn_2").output.shape == (None, 2)


@pytest.mark.parametrize("name", PRESET_NAMES[1:])
def test_other_presets_build_without_stack_warnings(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error", StackWarning)
        zoo.build(name, **TINY[name])


def test_overrides_change_the_builder_arguments():
    model = zoo.build("sentiment-deep-lstm", units=[16, 8], vocab_size=500)
    assert [layer.units for _, layer in _recurrent_layers(model)] == [16, 8]
    assert model.get_layer("embedding").input_dim == 500
    forecaster = zoo.build("forecaster-deep-gru", units=[4, 4], num_classes=3)
    assert forecaster.output_shape == (None, 3)


def test_unknown_preset_lists_the_presets():
    with pytest.raises(ValueError, match=r"unknown preset 'tagger-lstm' \(did you mean 'tagger-bilstm'\?\); presets: deep-simple-rnn, sentiment-deep-lstm"):
        zoo.build("tagger-lstm")
    with pytest.raises(ValueError, match="unknown preset 'nope'"):
        zoo.spec("nope")


def test_unknown_override_lists_the_accepted_keys():
    with pytest.raises(ValueError, match=r"has no argument\(s\) \['layers'\]; accepted overrides: cell, units, input_shape"):
        zoo.build("sentiment-deep-lstm", layers=3)
    with pytest.raises(ValueError, match=r"accepted overrides: cell, units, source_vocab, target_vocab"):
        zoo.build("seq2seq-attention", vocab_size=10)


def test_bad_override_value_is_the_builders_error():
    with pytest.raises(ValueError, match=r"units\[1\] must be a positive integer, got 0"):
        zoo.build("tagger-bilstm", units=[8, 0])


# ---------------------------------------------------------------- training


# Short inputs keep the few training steps cheap.
SMALL_DATA = {
    "deep-simple-rnn": {"timesteps": 8},
    "sentiment-deep-lstm": {"max_aspects": 2},
    "tagger-bilstm": {"max_clauses": 1},
    "forecaster-deep-gru": {"timesteps": 8},
    "seq2seq-attention": {},
}


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_trains_on_its_local_data(name):
    keras.utils.set_random_seed(0)
    model = _build_quietly(name, **TINY[name])
    model.run_eagerly = True  # a few steps: cheaper than tracing the training graph
    data = zoo.preset_data(name, n=40, seed=0, **SMALL_DATA[name])
    epochs = 3 if name in ("sentiment-deep-lstm", "forecaster-deep-gru") else 1
    history = model.fit(data.x_train, data.y_train, epochs=epochs, batch_size=32, verbose=0)
    losses = history.history["loss"]
    assert np.isfinite(losses).all()
    if epochs > 1:
        assert losses[-1] < losses[0]
    prediction = model(
        [x[:2] for x in data.x_val] if isinstance(data.x_val, list) else data.x_val[:2],
        training=False,
    )
    assert tuple(prediction.shape)[0] == 2 and tuple(prediction.shape)[-1] == model.output_shape[-1]


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_every_intermediate_recurrent_layer_returns_sequences(name):
    model = _build_quietly(name)
    if name == "seq2seq-attention":
        # attention reads the encoder's whole sequence; the decoder predicts per step
        assert all(layer.return_sequences for _, layer in _recurrent_layers(model))
        return
    flags = [layer.return_sequences for _, layer in _recurrent_layers(model)]
    assert flags[:-1] == [True] * (len(flags) - 1)
    assert flags[-1] == (name == "tagger-bilstm")


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_lints_clean_live_and_saved(name, tmp_path):
    model = _build_quietly(name)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    for linted in (model, str(path)):  # the live model, and the saved file read statically
        codes = [finding.code for finding in stacked_keras.lint(linted).findings]
        # The seed's SimpleRNN example is kept on purpose; the linter's hint is
        # the seed's own advice (use LSTM or GRU), and nothing else is found.
        assert codes == (["SK201"] if name == "deep-simple-rnn" else [])


# -------------------------------------------------------------- spec round trips


@pytest.mark.parametrize("name", PRESET_NAMES)
def test_preset_spec_round_trips_through_a_json_file(name, tmp_path):
    path = tmp_path / f"{name}.json"
    save_spec(zoo.spec(name), path)
    spec = load_spec(path)
    assert spec == zoo.spec(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StackWarning)
        rebuilt = build_from_spec(spec)
    assert spec_of(rebuilt) == normalize_spec(spec)
    original = _build_quietly(name)
    assert _architecture(rebuilt) == _architecture(original)
    assert rebuilt.count_params() == original.count_params()


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
@pytest.mark.parametrize("name", PRESET_NAMES)
def test_spec_of_reads_a_model_reloaded_from_a_keras_file(name, tmp_path):
    model = _build_quietly(name, **TINY[name])
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    assert spec_of(reloaded) == spec_of(model)
    assert spec_of(reloaded)["args"]["name"] == model.name


BUILDER_VARIANTS = {
    "mixed cells, per-layer dropout": dict(
        cell=["gru", "lstm", "simple_rnn"], units=[4, 4, 4], input_shape=[10, 2],
        dropout=[0.1, 0.0, 0.2], head="multiclass", num_classes=3,
    ),
    "residual and layer norm": dict(
        cell="lstm", units=[4, 4, 4], input_shape=[None, 4], residual=True, layer_norm=True,
        output="sequence",
    ),
    "layer norm on chosen layers": dict(
        cell="gru", units=[4, 3], input_shape=[None, 2], layer_norm=[False, True],
    ),
    "bidirectional per layer, sum": dict(
        cell="lstm", units=[4, 4], vocab_size=30, embedding_dim=5, mask_zero=False,
        bidirectional=[True, False], merge_mode="sum", head="binary",
    ),
    "per-timestep regression": dict(
        cell="gru", units=[3, 3], input_shape=[12, 1], output="sequence",
        head="regression", num_classes=2, recurrent_dropout=0.1,
    ),
    "cell kwargs": dict(
        cell="simple_rnn", units=[3], input_shape=[None, 2],
        cell_kwargs={"activation": "relu", "use_bias": False},
    ),
}


@pytest.mark.parametrize("variant", sorted(BUILDER_VARIANTS))
def test_spec_of_recovers_every_builder_option(variant, tmp_path):
    spec = {"format": 1, "builder": "deep_rnn", "args": BUILDER_VARIANTS[variant]}
    path = tmp_path / "spec.json"
    save_spec(spec, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StackWarning)
        model = build_from_spec(load_spec(path))
        recovered = spec_of(model)
        assert recovered == normalize_spec(spec)
        assert _architecture(build_from_spec(recovered)) == _architecture(model)


def test_multiclass_on_a_sequence_is_the_tagger_in_canonical_form():
    spec = {"builder": "deep_rnn", "args": {"cell": "lstm", "units": [4], "vocab_size": 9,
                                            "output": "sequence", "head": "multiclass", "num_classes": 3}}
    assert normalize_spec(spec)["args"]["head"] == "tagger"
    assert spec_of(build_from_spec(spec)) == normalize_spec(spec)


def test_normalize_spec_drops_what_does_not_change_the_architecture():
    spec = zoo.spec("forecaster-deep-gru")
    spec["args"]["compile"] = False
    canonical = normalize_spec(spec)
    assert "preset" not in canonical and "compile" not in canonical["args"]
    assert getattr(build_from_spec(spec), "optimizer", None) is None  # the build honours compile=False
    assert build_from_spec(zoo.spec("forecaster-deep-gru")).optimizer is not None


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"builder": "deep_lstm", "args": {}}, r"spec\['builder'\] must be one of \['deep_rnn', 'seq2seq'\], got 'deep_lstm'"),
        ({"builder": "deep_rnn", "args": {"cell": "lstm", "units": [2], "input_shape": [None, 1]}, "extra": 1},
         r"unknown key\(s\) \['extra'\]; accepted keys: \['format', 'builder', 'args', 'preset'\]"),
        ({"builder": "deep_rnn", "args": {"cell": "lstm", "units": [2], "input_shape": [None, 1], "depth": 2}},
         r"unknown deep_rnn argument\(s\) \['depth'\]; accepted: \['cell', 'units'"),
        ({"builder": "seq2seq", "args": {"source_vocab": 10}}, r"missing the seq2seq argument\(s\) \['target_vocab'\]"),
        ({"format": 2, "builder": "deep_rnn", "args": {}}, r"spec\['format'\] must be 1"),
        ({"builder": "deep_rnn", "args": {"cell": "lstm", "units": [2, -1], "input_shape": [None, 1]}},
         r"units\[1\] must be a positive integer, got -1"),
        ("deep_rnn", r"spec must be a dict"),
    ],
)
def test_bad_specs_raise_value_error_naming_the_problem(spec, message):
    with pytest.raises(ValueError, match=message):
        build_from_spec(spec)


def test_load_spec_names_the_file_of_a_bad_spec(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text("{not json")
    with pytest.raises(ValueError, match="broken.json is not a JSON spec"):
        load_spec(path)
    path.write_text('{"builder": "nope"}')
    with pytest.raises(ValueError, match=r"broken.json: spec\['builder'\] must be one of"):
        load_spec(path)


def test_spec_of_refuses_a_model_the_builders_did_not_make():
    hand_made = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.LSTM(4, name="encoder"), keras.layers.Dense(1, name="out")],
        name="hand_made",
    )
    with pytest.raises(ValueError, match=r"spec_of cannot describe model 'hand_made': layer 'encoder' \(LSTM\) is not one the builders make"):
        spec_of(hand_made)
    dense_head = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.LSTM(4, name="lstm_1"), keras.layers.Dense(1, name="out")]
    )
    with pytest.raises(ValueError, match=r"layer 'out' \(Dense\) is not one the builders make"):
        spec_of(dense_head)


def test_spec_of_refuses_a_broken_vertical_connection_even_with_builder_names():
    broken = keras.Sequential(
        [
            keras.Input((5, 2)),
            keras.layers.LSTM(4, return_sequences=False, name="lstm_1"),
            keras.layers.RepeatVector(5, name="repeat"),
            keras.layers.LSTM(4, name="lstm_2"),
        ]
    )
    with pytest.raises(ValueError, match=r"layer 'repeat' \(RepeatVector\) is not one the builders make"):
        spec_of(broken)
    flags = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.LSTM(4, return_sequences=True, name="lstm_1"),
         keras.layers.LSTM(4, return_sequences=True, name="lstm_2"),
         keras.layers.LSTM(4, return_sequences=False, name="lstm_3")]
    )
    assert spec_of(flags)["args"]["units"] == [4, 4, 4]  # written by hand, but as the builders would
    wrong = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.LSTM(4, return_sequences=False, name="lstm_1"),
         keras.layers.Reshape((4, 1), name="reshape")]
    )
    with pytest.raises(ValueError, match="not one the builders make"):
        spec_of(wrong)


def test_spec_of_refuses_non_models():
    with pytest.raises(ValueError, match="spec_of needs a Keras model, got dict"):
        spec_of({"layers": []})


def test_spec_of_a_builder_model_equals_its_arguments():
    model = deep_rnn("gru", [6, 4], input_shape=(7, 3), head="regression", name="my_gru")
    args = spec_of(model)["args"]
    assert (args["cell"], args["units"], args["input_shape"], args["name"]) == ("gru", [6, 4], [7, 3], "my_gru")


def test_importing_the_zoo_and_reading_specs_does_not_import_keras():
    code = (
        "import sys\n"
        "from stacked_keras import zoo\n"
        "zoo.list(); zoo.spec('seq2seq-attention'); zoo.normalize_spec(zoo.spec('tagger-bilstm'))\n"
        "zoo.datasets.phrase_sentiment(20)\n"
        "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules, sorted(m for m in sys.modules if 'keras' in m)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module_name", ["datasets", "specs", "presets", "seq2seq"])
def test_docstring_examples_run(module_name):
    import doctest
    import importlib

    module = importlib.import_module(f"stacked_keras.zoo.{module_name}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StackWarning)
        failures, attempted = doctest.testmod(module, verbose=False)
    assert attempted > 0 and failures == 0


@pytest.mark.filterwarnings("ignore:Skipping variable loading for optimizer")
def test_readme_model_zoo_examples_run(tmp_path, monkeypatch, capsys):
    """The README's "Model zoo" examples, with smaller sizes."""
    monkeypatch.chdir(tmp_path)
    # -- quick start
    from stacked_keras import zoo

    print(zoo.list())  # name, task, one-line description
    model = zoo.build("sentiment-deep-lstm", units=[4, 4, 4])
    model.run_eagerly = True  # (test only: a few steps)
    (x_train, y_train), (x_val, y_val) = zoo.preset_data("sentiment-deep-lstm", n=40, max_aspects=1)
    model.fit(x_train, y_train, validation_data=(x_val, y_val), epochs=1, verbose=0)
    assert "sentiment-deep-lstm" in capsys.readouterr().out

    # -- specs
    spec = zoo.spec("tagger-bilstm")  # a plain dict
    spec["args"]["units"] = [16, 16]
    with open("tagger.json", "w") as f:
        json.dump(spec, f)
    with open("tagger.json") as f:
        model = zoo.build_from_spec(json.load(f))
    assert zoo.spec_of(model) == zoo.normalize_spec(spec)
    model.save("tagger.keras")
    reloaded = keras.models.load_model("tagger.keras")
    assert zoo.spec_of(reloaded)["args"]["units"] == [16, 16]

"""The saved-file front-end: .keras / .h5 / config JSON -> ModelGraph, read as data.

Keras 3 files are written by Keras in a module fixture; Keras 2 / tf.keras
files are written by hand in their documented format (h5py for the .h5).
Hostile and broken inputs must each give one UnreadableInput with the right
SK0xx code, never a traceback, and nothing in a file is ever executed.
"""

import copy
import importlib.util
import json
import os
import struct
import subprocess
import sys
import textwrap
import warnings
import zipfile

import h5py
import pytest

from stacked_keras.graph import UNKNOWN
from stacked_keras.lint import from_config
from stacked_keras.lint.findings import UnreadableInput
from stacked_keras.lint.from_config import graph_and_layer_configs, graphs_from_config, read_saved_file
from stacked_keras.lint.keras_names import loss_name

# -- Keras 2 / tf.keras configs, as old .h5 files hold them -------------------

KERAS2_FUNCTIONAL = {
    "class_name": "Functional",
    "config": {
        "name": "model",
        "layers": [
            {
                "class_name": "InputLayer",
                "config": {"batch_input_shape": [None, 10, 3], "dtype": "float32", "sparse": False,
                           "ragged": False, "name": "input_1"},
                "name": "input_1",
                "inbound_nodes": [],
            },
            {
                "class_name": "InputLayer",
                "config": {"batch_input_shape": [None, 7, 2], "dtype": "float32", "name": "input_2"},
                "name": "input_2",
                "inbound_nodes": [],
            },
            {
                "class_name": "Sequential",
                "config": {
                    "name": "sequential",
                    "layers": [
                        {"class_name": "InputLayer",
                         "config": {"batch_input_shape": [None, 10, 3], "name": "lstm_input"}},
                        {"class_name": "LSTM",
                         "config": {"name": "lstm", "trainable": True, "return_sequences": True, "units": 8}},
                        {"class_name": "Dropout", "config": {"name": "dropout", "rate": 0.2}},
                    ],
                },
                "name": "sequential",
                "inbound_nodes": [[["input_1", 0, 0, {}]]],
            },
            {
                "class_name": "LSTM",
                "config": {"name": "lstm_1", "return_sequences": False, "return_state": True, "units": 8},
                "name": "lstm_1",
                "inbound_nodes": [[["sequential", 1, 0, {}]]],
            },
            {
                "class_name": "LSTM",
                "config": {"name": "lstm_2", "return_sequences": True, "units": 8},
                "name": "lstm_2",
                "inbound_nodes": [[["input_2", 0, 0, {}], ["lstm_1", 0, 1, {}], ["lstm_1", 0, 2, {}]]],
            },
            {
                "class_name": "TFOpLambda",
                "config": {"name": "tf.expand_dims", "trainable": True, "dtype": "float32",
                           "function": "expand_dims"},
                "name": "tf.expand_dims",
                "inbound_nodes": [["lstm_1", 0, 0, {"axis": 1}]],
            },
            {
                "class_name": "Bidirectional",
                "config": {"name": "bidirectional", "merge_mode": "concat",
                           "layer": {"class_name": "GRU",
                                     "config": {"name": "gru", "units": 4, "return_sequences": False}}},
                "name": "bidirectional",
                "inbound_nodes": [[["lstm_2", 0, 0, {}]]],
            },
            {
                "class_name": "Dense",
                "config": {"name": "dense", "units": 1, "activation": "linear"},
                "name": "dense",
                "inbound_nodes": [[["bidirectional", 0, 0, {}]]],
            },
        ],
        "input_layers": [["input_1", 0, 0], ["input_2", 0, 0]],
        "output_layers": [["dense", 0, 0], ["tf.expand_dims", 0, 0]],
    },
    "keras_version": "2.13.1",
    "backend": "tensorflow",
}

KERAS2_TRAINING_CONFIG = {
    "loss": {"class_name": "MeanSquaredError", "config": {"reduction": "auto", "name": "mean_squared_error"}},
    "metrics": None,
    "optimizer_config": {"class_name": "Adam", "config": {"name": "Adam", "learning_rate": 0.001}},
}


def edges(graph):
    return sorted((e.src, e.dst, e.role, e.index) for e in graph.edges)


def sequential(*layers, name="m"):
    return {"class_name": "Sequential", "config": {"name": name, "layers": list(layers)}}


def layer(cls, name, **config):
    return {"class_name": cls, "config": {"name": name, **config}}


def check_keras2_functional(graph):
    assert [(n.name, n.cls, n.kind) for n in graph] == [
        ("input_1", "InputLayer", "input"),
        ("input_2", "InputLayer", "input"),
        ("sequential/lstm", "LSTM", "layer"),
        ("sequential/dropout", "Dropout", "layer"),
        ("lstm_1", "LSTM", "layer"),
        ("lstm_2", "LSTM", "layer"),
        ("tf.expand_dims", "expand_dims", "op"),
        ("bidirectional", "Bidirectional", "layer"),
        ("dense", "Dense", "layer"),
    ]
    assert edges(graph) == [
        (0, 2, "input", 0),
        (1, 5, "input", 0),
        (2, 3, "input", 0),
        (3, 4, "input", 0),
        (4, 5, "initial_state", 0),
        (4, 5, "initial_state", 1),
        (4, 6, "input", 0),
        (5, 7, "input", 0),
        (7, 8, "input", 0),
    ]
    assert graph.inputs == [0, 1] and graph.outputs == [8, 6]
    assert graph.nodes[0].config["shape"] == (10, 3)
    bidirectional = graph.nodes[7]
    assert (bidirectional.wrapped.cls, bidirectional.return_sequences) == ("GRU", False)


# -- reading configs ----------------------------------------------------------


def test_keras2_functional_config_with_nested_sequential_and_states():
    graph, = graphs_from_config(KERAS2_FUNCTIONAL)
    check_keras2_functional(graph)
    assert graph.name == "model" and graph.origin == "config" and graph.path is None
    assert graph.loss is None


def test_keras2_h5_written_by_tf_keras_is_read_with_its_loss(tmp_path):
    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["keras_version"] = b"2.13.1"
        handle.attrs["backend"] = b"tensorflow"
        handle.attrs["model_config"] = json.dumps(KERAS2_FUNCTIONAL).encode("utf-8")
        handle.attrs["training_config"] = json.dumps(KERAS2_TRAINING_CONFIG).encode("utf-8")
        handle.create_group("model_weights")
    graph, = read_saved_file(str(path))
    check_keras2_functional(graph)
    assert graph.loss == "mean_squared_error"
    assert graph.path == str(path) and graph.nodes[4].location.path == str(path)


def test_keras1_sequential_is_a_bare_list_of_layers():
    graph, = graphs_from_config([
        layer("LSTM", "lstm_1", units=8, batch_input_shape=[None, 10, 3]),
        layer("LSTM", "lstm_2", units=4),
    ])
    assert [(n.name, n.return_sequences) for n in graph] == [("lstm_1", False), ("lstm_2", False)]
    assert edges(graph) == [(0, 1, "input", 0)]


def test_get_config_dicts_without_class_name_are_understood():
    seq, = graphs_from_config({"name": "plain", "layers": [layer("GRU", "g", units=2), layer("Dense", "d")]})
    assert [n.cls for n in seq] == ["GRU", "Dense"] and seq.name == "plain"
    functional = copy.deepcopy(KERAS2_FUNCTIONAL["config"])
    graph, = graphs_from_config(functional)
    check_keras2_functional(graph)


def test_a_list_of_model_configs_gives_one_graph_each():
    graphs = graphs_from_config([sequential(layer("LSTM", "a"), name="one"), KERAS2_FUNCTIONAL])
    assert [g.name for g in graphs] == ["one", "model"]


def test_json_holding_to_json_string_is_unwrapped(tmp_path):
    path = tmp_path / "double.json"
    path.write_text(json.dumps(json.dumps(sequential(layer("LSTM", "a")))))
    graph, = read_saved_file(path)
    assert graph.nodes[0].cls == "LSTM" and graph.path == str(path)


def test_rnn_with_a_list_of_cells_wraps_stacked_cells():
    graph, = graphs_from_config(sequential(
        {"class_name": "RNN", "config": {"name": "rnn", "return_sequences": True,
                                          "cell": [layer("LSTMCell", "c1", units=4), layer("LSTMCell", "c2", units=2)]}},
    ))
    rnn = graph.nodes[0]
    assert (rnn.wrapped.cls, rnn.cell_type, rnn.return_sequences) == ("StackedRNNCells", "RNN", True)


def test_time_distributed_and_rnn_cell_in_keras3_form():
    graph, = graphs_from_config(sequential(
        {"module": "keras.layers", "class_name": "RNN", "registered_name": None,
         "config": {"name": "rnn", "cell": {"module": "keras.layers", "class_name": "GRUCell",
                                             "config": {"name": "gru_cell", "units": 3}, "registered_name": None}}},
        {"class_name": "TimeDistributed", "config": {"name": "td", "layer": layer("Dense", "inner", units=2)}},
    ))
    assert graph.nodes[0].cell_type == "GRU" and graph.nodes[0].cell_config.config["units"] == 3
    assert graph.nodes[1].wrapped.name == "inner" and "layer" not in graph.nodes[1].config


def test_unknown_and_custom_classes_keep_their_names():
    graph, = graphs_from_config(sequential(
        {"module": "my_lab.layers", "class_name": "Attention3000", "registered_name": "my_lab>Attention3000",
         "config": {"name": "att", "heads": 3}},
        {"module": "my_lab.layers", "class_name": "LSTM", "registered_name": "my_lab>LSTM",
         "config": {"name": "fake_lstm", "return_sequences": False}},
    ))
    attention, impostor = graph.nodes
    assert (attention.cls, attention.config["heads"]) == ("Attention3000", 3)
    assert impostor.cls == "my_lab>LSTM" and not impostor.is_recurrent


def test_compile_config_gives_the_loss():
    config = dict(sequential(layer("LSTM", "a")), compile_config={"loss": "binary_crossentropy"})
    assert graphs_from_config(config)[0].loss == "binary_crossentropy"


@pytest.mark.parametrize("loss, name", [
    ("mse", "mse"),
    ({"module": "keras.losses", "class_name": "function", "config": "mean_absolute_error",
      "registered_name": "mean_absolute_error"}, "mean_absolute_error"),
    ({"class_name": "MeanSquaredError", "config": {"name": "mean_squared_error"}}, "mean_squared_error"),
    ({"class_name": "Huber", "config": {}}, "huber"),
    (["mse", "mse"], "mse"),
    ({"out_a": "mse", "out_b": "mae"}, UNKNOWN),
    ({"class_name": "__lambda__", "config": {"code": "..."}}, UNKNOWN),
    (None, None),
])
def test_loss_names(loss, name):
    assert loss_name(loss) is name if name is UNKNOWN or name is None else loss_name(loss) == name


def test_reading_does_not_change_the_config():
    config = copy.deepcopy(KERAS2_FUNCTIONAL)
    graphs_from_config(config)
    assert config == KERAS2_FUNCTIONAL


def test_layer_configs_are_the_dicts_inside_the_config():
    config = copy.deepcopy(KERAS2_FUNCTIONAL)
    graph, entries = graph_and_layer_configs(config)
    lstm = next(n for n in graph if n.name == "sequential/lstm")
    assert entries[lstm.id] is config["config"]["layers"][2]["config"]["layers"][1]


# -- malformed configs: SK004 -------------------------------------------------


def functional(layers, inputs, outputs):
    return {"class_name": "Functional", "config": {"name": "f", "layers": layers,
                                                    "input_layers": inputs, "output_layers": outputs}}


def called(cls, name, *sources):
    return {"class_name": cls, "config": {"name": name}, "name": name,
            "inbound_nodes": [[[source, 0, 0, {}] for source in sources]]}


INPUT = {"class_name": "InputLayer", "config": {"name": "in", "batch_input_shape": [None, 3, 2]},
         "name": "in", "inbound_nodes": []}


@pytest.mark.parametrize("config, message", [
    ({"class_name": "Sequential", "config": {"name": "m"}}, "no key 'layers'"),
    (sequential("not a layer"), "layer 0 of the model is not a dict but str"),
    (sequential({"config": {"name": "x"}}), "has no 'class_name'"),
    (sequential({"class_name": "LSTM", "config": [1, 2]}), "is not a dict but list"),
    (functional([INPUT, called("LSTM", "a", "ghost")], [["in", 0, 0]], [["a", 0, 0]]),
     "reads from 'ghost', which is not a layer"),
    (functional([INPUT, called("LSTM", "a", "b"), called("LSTM", "b", "a")], [["in", 0, 0]], [["b", 0, 0]]),
     "'a', 'b' of the model cannot be ordered: their inputs form a cycle"),
    (functional([INPUT, called("LSTM", "a", "in"), called("Dense", "a", "in")], [["in", 0, 0]], [["a", 0, 0]]),
     "two layers of the model are named 'a'"),
    (functional([INPUT, called("LSTM", "a", "in")], [["in", 0, 0]], [["nowhere", 0, 0]]),
     "'output_layers' of the model names 'nowhere'"),
    ({"class_name": "Functional", "config": {"name": "f", "layers": [INPUT], "output_layers": []}},
     "has no key 'input_layers'"),
    (functional([INPUT, called("LSTM", "a", "in")], [["in", 0, 0]], [["a", 5, 0]]),
     "reads call 5 of 'a', which is called 1 time"),
    ({"foo": 1}, "the dict has the keys: foo"),
    ({"class_name": "LSTM", "config": {"units": 3}}, "'LSTM' is a single layer, not a model"),
    ([1, 2, 3], "neither a list of model configs"),
    ("a string", "expected a dict or a list, got str"),
])
def test_malformed_config_is_sk004_naming_the_problem(config, message):
    with pytest.raises(UnreadableInput) as caught:
        graphs_from_config(config)
    assert caught.value.code == "SK004"
    assert message in caught.value.message


def test_models_nested_too_deep_are_sk004():
    config = sequential(layer("LSTM", "core"))
    for depth in range(from_config.MAX_NESTING + 2):
        config = sequential(config, name=f"level{depth}")
    with pytest.raises(UnreadableInput, match="nested more than") as caught:
        graphs_from_config(config)
    assert caught.value.code == "SK004"


# -- files from Keras 3 -------------------------------------------------------

CUSTOM_MODULE = '''
"""A user module with a side effect on import, holding a registered layer."""
import pathlib

pathlib.Path(__file__).with_name("custom_module_imported.marker").write_text("imported")

import keras


@keras.saving.register_keras_serializable(package="sk_test_pkg")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2
'''

LAMBDA_MARKER = {"path": None}
LAMBDA_CALLS = []


def _record_lambda_call(x):
    """What the Lambda layer runs: leaves a trace in a list and a file."""
    LAMBDA_CALLS.append(1)
    with open(LAMBDA_MARKER["path"], "w") as handle:
        handle.write("the lambda ran")
    return x


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Files Keras writes: a model with a Lambda and a custom layer, a weights-only file."""
    keras = pytest.importorskip("keras")
    folder = tmp_path_factory.mktemp("keras_files")
    module_dir = folder / "user_code"
    module_dir.mkdir()
    (module_dir / "sk_custom_layers.py").write_text(CUSTOM_MODULE)
    spec = importlib.util.spec_from_file_location("sk_custom_layers", module_dir / "sk_custom_layers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    LAMBDA_MARKER["path"] = str(folder / "lambda_ran.marker")

    model = keras.Sequential(
        [
            keras.Input((4, 2), name="x"),
            keras.layers.Lambda(lambda x: _record_lambda_call(x), name="spy"),
            module.Doubler(name="doubler"),
            keras.layers.LSTM(3, return_sequences=True, name="lstm_1"),
            keras.layers.LSTM(2, name="lstm_2"),
        ],
        name="risky",
    )
    model.compile(loss="mae")
    paths = {"keras": folder / "risky.keras", "h5": folder / "risky.h5", "json": folder / "risky.json",
             "weights": folder / "risky.weights.h5"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(paths["keras"])
        model.save(paths["h5"])
        model.save_weights(paths["weights"])
    paths["json"].write_text(model.to_json())
    # Building ran the lambda and importing ran the module: wipe those traces.
    os.remove(LAMBDA_MARKER["path"])
    os.remove(module_dir / "custom_module_imported.marker")
    LAMBDA_CALLS.clear()
    paths["module_dir"] = module_dir
    paths["lambda_marker"] = folder / "lambda_ran.marker"
    paths["import_marker"] = module_dir / "custom_module_imported.marker"
    return paths


def test_keras_archive_really_holds_marshalled_lambda_code(keras_files):
    with zipfile.ZipFile(keras_files["keras"]) as archive:
        config = archive.read("config.json").decode()
    assert '"__lambda__"' in config and '"code"' in config
    assert "sk_test_pkg>Doubler" in config


@pytest.mark.parametrize("form", ["keras", "h5", "json"])
def test_lambda_and_custom_layers_are_read_without_running_anything(keras_files, form):
    graph, = read_saved_file(keras_files[form])
    assert [(n.name, n.cls) for n in graph] == [
        ("x", "InputLayer"), ("spy", "Lambda"), ("doubler", "Doubler"), ("lstm_1", "LSTM"), ("lstm_2", "LSTM"),
    ]
    assert graph.loss == "mae"
    assert LAMBDA_CALLS == []
    assert not keras_files["lambda_marker"].exists()
    assert not keras_files["import_marker"].exists()


def test_static_reading_imports_no_tensorflow_keras_or_user_code(keras_files):
    """In a fresh process where the user module is importable (with a side effect)."""
    script = textwrap.dedent(
        """
        import json, sys
        from stacked_keras.lint.from_config import read_saved_file
        classes = [[n.cls for n in read_saved_file(p)[0]] for p in sys.argv[1:]]
        print(json.dumps({
            "classes": classes,
            "tensorflow": "tensorflow" in sys.modules,
            "keras": any(m == "keras" or m.startswith("keras.") for m in sys.modules),
            "user_module": "sk_custom_layers" in sys.modules,
            "h5py": "h5py" in sys.modules,
        }))
        """
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(keras_files["module_dir"]),
                                                                     os.environ.get("PYTHONPATH")])))
    files = [str(keras_files[form]) for form in ("keras", "h5", "json")]
    done = subprocess.run([sys.executable, "-c", script, *files], capture_output=True, text=True, env=env,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["classes"] == [["InputLayer", "Lambda", "Doubler", "LSTM", "LSTM"]] * 3
    assert result == dict(result, tensorflow=False, keras=False, user_module=False, h5py=True)
    assert not keras_files["lambda_marker"].exists()
    assert not keras_files["import_marker"].exists()


def test_custom_module_missing_at_lint_time_is_fine(keras_files, tmp_path):
    moved = tmp_path / "risky.keras"
    moved.write_bytes(keras_files["keras"].read_bytes())
    with zipfile.ZipFile(moved) as archive:
        config = json.loads(archive.read("config.json"))
    doubler = config["config"]["layers"][2]
    doubler["module"] = "a_module_that_does_not_exist_anywhere"
    graph, = graphs_from_config(config, path=str(moved))
    assert graph.nodes[2].cls == "Doubler"


def test_hdf5_file_named_keras_is_read_as_hdf5(keras_files, tmp_path):
    renamed = tmp_path / "actually_h5.keras"
    renamed.write_bytes(keras_files["h5"].read_bytes())
    assert [n.cls for n in read_saved_file(renamed)[0]][-1] == "LSTM"


# -- broken and hostile files: SK001 / SK004 / SK005 --------------------------


def refused(path, code):
    with pytest.raises(UnreadableInput) as caught:
        read_saved_file(path)
    assert caught.value.code == code, caught.value.message
    return caught.value.message


def test_weights_only_h5_is_sk005_saying_how_to_lint_instead(keras_files):
    message = refused(keras_files["weights"], "SK005")
    assert "holds only weights" in message and "model.save()" in message


def test_truncated_keras_archive_is_sk005(keras_files, tmp_path):
    data = keras_files["keras"].read_bytes()
    path = tmp_path / "truncated.keras"
    path.write_bytes(data[: len(data) // 2])
    assert "truncated or corrupt" in refused(path, "SK005")


@pytest.mark.parametrize("name", ["random.keras", "random.h5", "random.hdf5"])
def test_random_bytes_are_sk005(tmp_path, name):
    path = tmp_path / name
    path.write_bytes(bytes(range(256)) * 8)
    refused(path, "SK005")


def test_hdf5_without_model_config_is_sk005(tmp_path):
    path = tmp_path / "data.h5"
    with h5py.File(path, "w") as handle:
        handle.create_dataset("x", data=[1, 2, 3])
    assert "no model_config" in refused(path, "SK005")


def test_broken_json_is_sk004_with_its_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"class_name": "Sequential",\n "config": {"layers": [}\n')
    with pytest.raises(UnreadableInput) as caught:
        read_saved_file(path)
    assert caught.value.code == "SK004" and caught.value.line == 2
    assert "not valid JSON" in caught.value.message


def test_json_that_is_not_a_config_is_sk004(tmp_path):
    path = tmp_path / "package.json"
    path.write_text('{"name": "left-pad", "version": "1.3.0"}')
    assert "the dict has the keys: name, version" in refused(path, "SK004")


def test_json_nested_beyond_the_recursion_limit_is_sk004(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 200_000 + "]" * 200_000)
    refused(path, "SK004")


def test_json_that_is_not_utf8_is_sk001(tmp_path):
    path = tmp_path / "latin1.json"
    path.write_bytes('{"name": "caf\u00e9"}'.encode("latin-1"))
    refused(path, "SK001")


def test_missing_file_directory_and_unknown_suffix_are_sk001(tmp_path):
    refused(tmp_path / "nope.keras", "SK001")
    folder = tmp_path / "folder.keras"
    folder.mkdir()
    refused(folder, "SK001")
    other = tmp_path / "notes.txt"
    other.write_text("hello")
    assert "not a saved model kind" in refused(other, "SK001")


def write_zip(path, members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def patch_declared_size(path, member, size):
    """Rewrites a member's uncompressed size in the zip's central directory (a lying header)."""
    data = bytearray(path.read_bytes())
    position = data.find(b"PK\x01\x02")
    while position != -1:
        name_length = struct.unpack_from("<H", data, position + 28)[0]
        name = bytes(data[position + 46: position + 46 + name_length]).decode()
        if name == member:
            struct.pack_into("<I", data, position + 24, size)
        position = data.find(b"PK\x01\x02", position + 4)
    path.write_bytes(bytes(data))


SMALL_CONFIG = json.dumps(sequential(layer("LSTM", "a"), layer("LSTM", "b")))


def test_small_valid_archive_is_read(tmp_path):
    path = tmp_path / "small.keras"
    write_zip(path, {"config.json": SMALL_CONFIG, "metadata.json": "{}"})
    assert [n.name for n in read_saved_file(path)[0]] == ["a", "b"]


def test_config_member_declared_over_the_limit_is_refused_before_reading(tmp_path):
    path = tmp_path / "bomb.keras"
    write_zip(path, {"config.json": SMALL_CONFIG})
    patch_declared_size(path, "config.json", 0xFFFFFFF0)
    assert "refused without reading it" in refused(path, "SK005")


def test_config_member_over_a_lowered_limit_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "big.keras"
    write_zip(path, {"config.json": SMALL_CONFIG})
    monkeypatch.setattr(from_config, "MAX_CONFIG_BYTES", 64)
    assert "over the limit of 64" in refused(path, "SK005")


def test_archive_declaring_an_absurd_total_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "huge.keras"
    write_zip(path, {"config.json": SMALL_CONFIG, "model.weights.h5": b"0" * 16})
    patch_declared_size(path, "model.weights.h5", 0xFFFFFFF0)
    monkeypatch.setattr(from_config, "MAX_ARCHIVE_BYTES", 2**31)
    assert "zip bomb" in refused(path, "SK005")


def test_archive_with_too_many_members_is_refused(tmp_path, monkeypatch):
    path = tmp_path / "many.keras"
    write_zip(path, {"config.json": SMALL_CONFIG, **{f"assets/{i}.txt": "x" for i in range(5)}})
    monkeypatch.setattr(from_config, "MAX_ARCHIVE_MEMBERS", 3)
    assert "6 members" in refused(path, "SK005")


def test_config_shorter_than_its_header_says_is_sk005(tmp_path):
    path = tmp_path / "liar.keras"
    write_zip(path, {"config.json": SMALL_CONFIG})
    patch_declared_size(path, "config.json", 10)
    refused(path, "SK005")


def test_archive_without_config_json_is_sk005(tmp_path):
    path = tmp_path / "weights.keras"
    write_zip(path, {"model.weights.h5": b"abc", "../../etc/evil": b"never extracted"})
    assert "no config.json" in refused(path, "SK005")
    assert not (tmp_path.parent.parent / "etc" / "evil").exists()


def test_h5_model_config_over_the_limit_is_refused(keras_files, monkeypatch):
    monkeypatch.setattr(from_config, "MAX_CONFIG_BYTES", 100)
    assert "model_config attribute holds" in refused(keras_files["h5"], "SK005")


def test_json_file_over_the_limit_is_sk004(keras_files, monkeypatch):
    monkeypatch.setattr(from_config, "MAX_CONFIG_BYTES", 100)
    assert "over the limit of 100" in refused(keras_files["json"], "SK004")


def test_keras2_op_on_a_list_of_tensors_reads_each_tensor():
    concat = {
        "class_name": "TFOpLambda",
        "config": {"name": "tf.concat", "trainable": True, "function": "concat"},
        "name": "tf.concat",
        "inbound_nodes": [[["in", 0, 0, {"axis": 1}], ["in", 0, 0, {"axis": 1}], 3.0]],
    }
    graph, = graphs_from_config(functional([INPUT, concat], [["in", 0, 0]], [["tf.concat", 0, 0]]))
    op = graph.nodes[1]
    assert (op.kind, op.cls) == ("op", "concat")
    assert edges(graph) == [(0, 1, "input", 0), (0, 1, "input", 1)]


# -- subclassed models: a config without layers -----------------------------------


@pytest.fixture(scope="module")
def subclassed_files(tmp_path_factory):
    """A subclassed model saved by Keras as .keras, .h5 and to_json(), compiled or not."""
    keras = pytest.importorskip("keras")

    class Tagger(keras.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.first = keras.layers.LSTM(units)
            self.second = keras.layers.LSTM(2)

        def call(self, x):
            return self.second(self.first(x))

        def get_config(self):
            return {**super().get_config(), "units": self.units}

    folder = tmp_path_factory.mktemp("subclassed")
    paths = {}
    for compiled in (True, False):
        model = Tagger(name="tagger")
        if compiled:
            model.compile(loss="mse")
        tag = "compiled" if compiled else "plain"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for suffix in ("keras", "h5"):
                paths[f"{tag}.{suffix}"] = folder / f"{tag}.{suffix}"
                model.save(paths[f"{tag}.{suffix}"])
        paths[f"{tag}.json"] = folder / f"{tag}.json"
        paths[f"{tag}.json"].write_text(model.to_json())
    return paths


@pytest.mark.parametrize("name", ["compiled.keras", "compiled.h5", "compiled.json", "plain.keras",
                                  "plain.h5", "plain.json"])
def test_saved_subclassed_model_is_an_opaque_graph_not_a_malformed_config(subclassed_files, name):
    (graph,) = read_saved_file(str(subclassed_files[name]))
    assert len(graph) == 0 and graph.edges == []
    assert graph.opaque is not None and "Tagger" in graph.opaque and "call()" in graph.opaque
    from stacked_keras.lint import lint

    report = lint(str(subclassed_files[name]))
    assert [(f.code, f.severity) for f in report.findings] == [("SK006", "info")]
    assert report.exit_code() == 0


def test_keras3_config_of_a_user_model_class_is_opaque_without_keras():
    config = {"module": "my_lab.models", "class_name": "Tagger", "registered_name": "my_lab>Tagger",
              "config": {"name": "tagger", "trainable": True}}
    (graph,) = graphs_from_config(config)
    assert graph.name == "tagger" and len(graph) == 0
    assert graph.opaque.startswith("Tagger is a model class of its own (not Sequential or functional)")


@pytest.mark.parametrize("config", [
    {"class_name": "LSTM", "config": {"units": 3}},
    {"module": "keras.layers", "class_name": "LSTM", "config": {"units": 3}, "registered_name": None},
])
def test_a_single_keras_layer_config_is_still_sk004(config):
    with pytest.raises(UnreadableInput, match="'LSTM' is a single layer, not a model") as caught:
        graphs_from_config(config)
    assert caught.value.code == "SK004"

"""Saved Keras models, read as data: `.keras` archives, legacy `.h5`, config JSON.

The linter's front-end for files written by `model.save(...)`,
`model.to_json()` and `model.get_config()`. It turns each model config into
the shared `ModelGraph` without deserializing anything: the archive is opened
with `zipfile` and only `config.json` is read (never extracted), an HDF5 file
is opened with `h5py` and only its `model_config` attribute is read, and the
JSON is walked as plain dicts and lists. `Lambda` layers, custom layers and
custom objects stay strings in a dict: none of their code is imported,
unmarshalled or run, so files from strangers are safe to lint. Neither
TensorFlow nor Keras is imported.

Both serialization formats are understood:

- Keras 3 (`.keras`, `to_json()`, `get_config()`, and the `.h5` files Keras 3
  writes): layers carry `module` and `registered_name`, and functional
  `inbound_nodes` are `{"args": [...], "kwargs": {...}}` with
  `__keras_tensor__` references holding a `keras_history`.
- Keras 2 / tf.keras (old `.h5` files): layers are `{"class_name", "config"}`
  and `inbound_nodes` are lists of `[layer_name, node_index, tensor_index,
  kwargs]` references (`TFOpLambda` ops use a single reference per node).

A model nested in another (a `Sequential` called inside a functional model)
is flattened into the outer graph: its layers become nodes named
`"inner/lstm"`, its input layers disappear and the outer layers feeding it are
wired to the inner layers that read those inputs. Each call of a layer is one
node (a layer shared by two calls gives two nodes with the same name).

This module reads the files and holds the public readers; `config_walk`
walks a config into the graph, `config_forms` reads the Keras 3 and Keras 2
forms of its wiring, `keras_names` names ops, user classes and losses (shared
with the live-model front-end).

Size limits (module constants, so tests and careful callers can lower them):
`MAX_CONFIG_BYTES` bounds `config.json`, the `model_config` attribute and
`.json` files; `MAX_ARCHIVE_BYTES` and `MAX_ARCHIVE_MEMBERS` bound what a zip
declares; `config_walk.MAX_NESTING` (re-exported here) bounds how deep models
may be nested in models.
"""

from __future__ import annotations

import json
import os
import zipfile
import zlib
from collections.abc import Mapping
from typing import Any

from stacked_keras.graph import ModelGraph
from stacked_keras.lint.config_forms import _malformed
from stacked_keras.lint.config_walk import MAX_NESTING, graph_of_entry, model_entries
from stacked_keras.lint.findings import UnreadableInput
from stacked_keras.lint.keras_names import custom_class_name, loss_name, op_name

__all__ = [
    "MAX_CONFIG_BYTES",
    "MAX_ARCHIVE_BYTES",
    "MAX_ARCHIVE_MEMBERS",
    "MAX_NESTING",
    "SAVED_FILE_SUFFIXES",
    "graphs_from_config",
    "graphs_from_json",
    "graph_and_layer_configs",
    "read_saved_file",
    "loss_name",
    "op_name",
    "custom_class_name",
]

# The largest model config read, in bytes (config.json, model_config, .json).
MAX_CONFIG_BYTES = 64 * 2**20
# The largest uncompressed total a `.keras` archive may declare, in bytes.
MAX_ARCHIVE_BYTES = 16 * 2**30
# The most members a `.keras` archive may hold.
MAX_ARCHIVE_MEMBERS = 10_000


SAVED_FILE_SUFFIXES = (".keras", ".h5", ".hdf5", ".json")

_ZIP_MAGIC = b"PK\x03\x04"
_EMPTY_ZIP_MAGIC = b"PK\x05\x06"
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


# -- the public readers -------------------------------------------------------


def graphs_from_config(config: dict | list, path: str | None = None) -> list[ModelGraph]:
    """Turns a serialized Keras model into the linter's graph, without Keras.

    Reads the config as plain data: nothing is deserialized, imported or run.
    Nested models are flattened into one graph (their layers named
    `"outer_layer/inner_layer"`), each call of a layer becomes a node, and
    wrappers and `RNN` cells are kept as the node's `wrapped` layer.

    Args:
        config: one of
            - `model.get_config()` of a `Sequential` or functional model;
            - the full serialized form `{"class_name": ..., "config": {...}}`
              (what `model.to_json()`, a `.keras` archive's `config.json` and
              an `.h5` file's `model_config` hold), in the Keras 3 or the
              Keras 2 / tf.keras format; its `compile_config` (or
              `training_config`) gives the graph's loss;
            - a list of such model configs, or a Keras 1 Sequential config
              (a bare list of layers).
        path: the file the config came from, recorded on the graph and as
            each node's `Location`. Defaults to None (no file).

    Returns:
        One `ModelGraph` per model, with `origin="config"`. A subclassed
        model's config (its own class, no `layers`: told from a single layer
        by its `compile_config`, or a class from outside Keras) gives a graph
        without nodes whose `opaque` says why (rule SK006).

    Raises:
        UnreadableInput: with code SK004 when the config is not a Keras model
            config (a missing `layers` key, a layer that is not a dict, an
            input read from an unknown layer, a cycle...), naming the problem.

    Example:

    >>> graph, = graphs_from_config({"class_name": "Sequential", "config": {
    ...     "name": "tiny", "layers": [
    ...         {"class_name": "LSTM", "config": {"name": "lstm", "units": 8}},
    ...         {"class_name": "Dense", "config": {"name": "dense", "units": 1}}]}})
    >>> [(node.name, node.cls) for node in graph]
    [('lstm', 'LSTM'), ('dense', 'Dense')]
    """
    return _graphs(config, path, saved_model=False)


def _graphs(config: Any, path: str | None, *, saved_model: bool) -> list[ModelGraph]:
    return [graph_of_entry(entry, loss, path)[0] for entry, loss in model_entries(config, saved_model)]


def graphs_from_json(text: str, path: str | None = None) -> list[ModelGraph]:
    """Turns a model's config JSON text (`model.to_json()`) into graphs, without Keras.

    Args:
        text: the JSON text of a model config, in any form
            `graphs_from_config` reads (a JSON string holding that text, as
            `json.dump(model.to_json(), f)` writes it, is unwrapped).
        path: the file the text came from, if any. Defaults to None.

    Returns:
        One `ModelGraph` per model, as `graphs_from_config` returns them.

    Raises:
        TypeError: if `text` is not a string.
        UnreadableInput: SK004 when the text is not valid JSON (with the line
            and column) or not a model config.

    Example:

    >>> graph, = graphs_from_json('{"class_name": "Sequential", "config": {"name": "m", '
    ...                           '"layers": [{"class_name": "LSTM", "config": {"units": 8}}]}}')
    >>> graph.name, [node.cls for node in graph]
    ('m', ['LSTM'])
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be the JSON text of a model config (a str), got {type(text).__name__}")
    what = "the file" if path is not None else "the config JSON string"
    if len(text) > MAX_CONFIG_BYTES:
        raise UnreadableInput(
            "SK004", f"{what} holds {len(text)} characters, over the limit of {MAX_CONFIG_BYTES} for a model config"
        )
    return graphs_from_config(_parse_json_text(text.lstrip("\ufeff"), what), path)


def graph_and_layer_configs(config: dict) -> tuple[ModelGraph, dict[int, dict[str, Any]]]:
    """The graph of one model config, and the layer dict each node came from.

    The model fixer edits a copy of `model.get_config()` in place through
    these dicts (setting `return_sequences`, removing a layer), so they are
    the very dicts inside `config`, not copies.

    Args:
        config: `model.get_config()` or the full serialized form of one model.

    Returns:
        `(graph, layer_configs)` where `layer_configs[node.id]` is the entry
        of `config` (a `{"class_name", "config", ...}` dict) for that node.

    Raises:
        UnreadableInput: SK004, as `graphs_from_config`, also when `config`
            holds more than one model.
    """
    entries = model_entries(config)
    if len(entries) != 1:
        raise _malformed(f"expected one model config, got {len(entries)}")
    entry, loss = entries[0]
    return graph_of_entry(entry, loss, None)


# -- files --------------------------------------------------------------------


def _parse_json(data: bytes, path: str, what: str) -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UnreadableInput(
            "SK001", f"{what} is not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from None
    return _parse_json_text(text, what)


def _parse_json_text(text: str, what: str) -> Any:
    try:
        value = json.loads(text)
        if isinstance(value, str):  # json.dump(model.to_json(), f) wraps the JSON in a string
            value = json.loads(value)
    except json.JSONDecodeError as error:
        raise UnreadableInput(
            "SK004",
            f"{what} is not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}",
            line=error.lineno,
            column=error.colno,
        ) from None
    except RecursionError:
        raise UnreadableInput("SK004", f"{what} is nested too deeply to read") from None
    return value


def _read_keras_archive(path: str) -> tuple[Any, str]:
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None
    with handle:
        try:
            archive = zipfile.ZipFile(handle)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as error:
            raise UnreadableInput(
                "SK005",
                f"not a readable .keras archive (a zip file): {error}. The file is truncated or "
                "corrupt; save the model again with model.save('model.keras')",
            ) from None
        with archive:
            members = archive.infolist()
            if len(members) > MAX_ARCHIVE_MEMBERS:
                raise UnreadableInput(
                    "SK005",
                    f"the archive holds {len(members)} members, over the limit of {MAX_ARCHIVE_MEMBERS}: "
                    "refused without reading it",
                )
            declared = sum(member.file_size for member in members)
            if declared > MAX_ARCHIVE_BYTES:
                raise UnreadableInput(
                    "SK005",
                    f"the archive declares {declared} uncompressed bytes, over the limit of "
                    f"{MAX_ARCHIVE_BYTES}: refused without reading it (a zip bomb?)",
                )
            config_member = next((m for m in members if m.filename == "config.json"), None)
            if config_member is None:
                raise UnreadableInput(
                    "SK005",
                    "the archive holds no config.json, so it is not a model saved by model.save(); "
                    "lint the .keras file written by model.save() or the Python source of the model",
                )
            if config_member.file_size > MAX_CONFIG_BYTES:
                raise UnreadableInput(
                    "SK005",
                    f"config.json declares {config_member.file_size} bytes, over the limit of "
                    f"{MAX_CONFIG_BYTES}: refused without reading it",
                )
            try:
                with archive.open(config_member) as member:
                    data = member.read(MAX_CONFIG_BYTES + 1)
            except (zipfile.BadZipFile, OSError, EOFError, zlib.error, RuntimeError, NotImplementedError, ValueError) as error:
                raise UnreadableInput(
                    "SK005",
                    f"config.json cannot be read from the archive: {error}. The file is truncated or corrupt",
                ) from None
            if len(data) > MAX_CONFIG_BYTES:
                raise UnreadableInput(
                    "SK005", f"config.json holds more than {MAX_CONFIG_BYTES} bytes: refused"
                )
    return _parse_json(data, path, "config.json in the archive"), "keras"


def _read_hdf5(path: str) -> tuple[Any, Any]:
    try:
        import h5py  # h5py imports NumPy only; never TensorFlow or Keras
    except ModuleNotFoundError:
        raise UnreadableInput(
            "SK001", "reading an .h5 model file needs h5py, which is not installed: pip install h5py"
        ) from None

    try:
        handle = h5py.File(path, "r")
    except (OSError, ValueError) as error:
        raise UnreadableInput(
            "SK005",
            f"not a readable HDF5 file ({error}). The file is truncated, corrupt or not HDF5",
        ) from None
    with handle:
        try:
            attributes = handle.attrs
            if "model_config" not in attributes:
                raise UnreadableInput(
                    "SK005",
                    "the HDF5 file holds no model_config: it holds only weights (written by "
                    "save_weights()). Lint the file written by model.save(), or the Python source "
                    "that builds the model",
                )
            raw = _bounded_attribute(attributes, "model_config")
            training = _bounded_attribute(attributes, "training_config") if "training_config" in attributes else None
        except UnreadableInput:
            raise
        except (OSError, KeyError, TypeError, ValueError, RuntimeError) as error:
            raise UnreadableInput(
                "SK005", f"the HDF5 file's model_config cannot be read: {error}"
            ) from None
    config = _parse_json(raw, path, "the model_config attribute")
    training_config = None
    if training is not None:
        try:
            training_config = _parse_json(training, path, "the training_config attribute")
        except UnreadableInput:
            training_config = None  # the model is still lintable without its loss
    return config, training_config


def _bounded_attribute(attributes: Any, name: str) -> bytes:
    """An HDF5 attribute's bytes, refusing it before reading when it is too big."""
    try:
        size = attributes.get_id(name).get_storage_size()
    except (AttributeError, KeyError, OSError, RuntimeError):
        size = 0
    if size > MAX_CONFIG_BYTES:
        raise UnreadableInput(
            "SK005", f"the {name} attribute holds {size} bytes, over the limit of {MAX_CONFIG_BYTES}: refused"
        )
    # A variable-length string's storage size is that of a pointer, so the
    # text is measured again once read (it cannot outgrow the file itself).
    value = attributes[name]
    if not isinstance(value, (bytes, str)) and hasattr(value, "item"):
        value = value.item()  # a NumPy scalar or 0-d array of text
    if isinstance(value, str):
        value = value.encode("utf-8")
    if not isinstance(value, bytes):
        raise UnreadableInput("SK005", f"the {name} attribute is not text but {type(value).__name__}")
    if len(value) > MAX_CONFIG_BYTES:
        raise UnreadableInput(
            "SK005", f"the {name} attribute holds {len(value)} bytes, over the limit of {MAX_CONFIG_BYTES}: refused"
        )
    return value


def _sniff(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read(8)
    except IsADirectoryError:
        raise UnreadableInput("SK001", "is a directory, not a saved model file") from None
    except OSError as error:
        raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None


def read_saved_file(path: str | os.PathLike) -> list[ModelGraph]:
    """Reads a saved Keras model file into graphs, without Keras or TensorFlow.

    Understands `.keras` archives (only `config.json` is read, through
    `zipfile`, with size limits checked from the zip directory before reading
    and a bounded read after), legacy `.h5`/`.hdf5` files (the root's
    `model_config` attribute, through `h5py`; the loss from
    `training_config`) and `.json` files holding `model.to_json()` or
    `model.get_config()`. The file kind comes from its first bytes when they
    say zip or HDF5, else from its suffix. Nothing in the file is executed:
    `Lambda` layers and custom objects are read as data.

    Args:
        path: the file, as the user gave it (recorded on the graphs and
            their nodes' `Location`, without a line number).

    Returns:
        One `ModelGraph` per model in the file (one for `.keras` and `.h5`).

    Raises:
        UnreadableInput: SK001 when the file cannot be opened, is not UTF-8
            JSON text, or has a suffix that is not a saved model; SK004 when
            the JSON is broken or not a model config; SK005 when an archive
            or HDF5 file is truncated, corrupt, over a size limit, or holds
            no model config (a weights-only file).

    Example:

    >>> graphs = read_saved_file("model.keras")  # doctest: +SKIP
    >>> [node.cls for node in graphs[0]]  # doctest: +SKIP
    ['InputLayer', 'LSTM', 'LSTM', 'Dense']
    """
    path_text = os.fspath(path)
    suffix = os.path.splitext(path_text)[1].lower()
    head = _sniff(path_text)
    if head.startswith(_ZIP_MAGIC) or head.startswith(_EMPTY_ZIP_MAGIC) or (suffix == ".keras" and not head.startswith(_HDF5_MAGIC)):
        config, _ = _read_keras_archive(path_text)
        return _graphs(config, path_text, saved_model=True)
    if head.startswith(_HDF5_MAGIC) or suffix in (".h5", ".hdf5"):
        config, training_config = _read_hdf5(path_text)
        if isinstance(config, Mapping) and isinstance(training_config, Mapping) and "training_config" not in config and "compile_config" not in config:
            config = dict(config, training_config=training_config)
        return _graphs(config, path_text, saved_model=True)
    if suffix == ".json":
        try:
            size = os.path.getsize(path_text)
        except OSError as error:
            raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None
        if size > MAX_CONFIG_BYTES:
            raise UnreadableInput(
                "SK004", f"the JSON file holds {size} bytes, over the limit of {MAX_CONFIG_BYTES} for a model config"
            )
        try:
            with open(path_text, "rb") as handle:
                data = handle.read(MAX_CONFIG_BYTES + 1)
        except OSError as error:
            raise UnreadableInput("SK001", f"cannot open the file: {error.strerror or error}") from None
        return graphs_from_config(_parse_json(data, path_text, "the file"), path_text)
    raise UnreadableInput(
        "SK001",
        f"{suffix or 'a file without a suffix'} is not a saved model kind "
        f"(expected one of {', '.join(SAVED_FILE_SUFFIXES)})",
    )

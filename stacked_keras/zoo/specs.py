"""Model specs: plain, JSON-able descriptions of the models the zoo builds.

A spec is a dict such as

```python
{"format": 1, "builder": "deep_rnn",
 "args": {"cell": "lstm", "units": [64, 64], "vocab_size": 5000, "head": "binary"}}
```

`"builder"` names the function that builds it (`"deep_rnn"`,
`stacked_keras.builders.deep_rnn`, or `"seq2seq"`,
`stacked_keras.zoo.seq2seq.seq2seq`), `"args"` its keyword arguments,
`"format"` the spec version (1), and an optional `"preset"` the zoo preset it
came from. Saved to a JSON file, a spec builds the same architecture again.

`spec_of(model)` goes the other way: it reads a model made by the builders or
the zoo (layer names, classes and configs only, so a model reloaded from a
`.keras` file works too) and returns its spec. `normalize_spec` gives the
canonical form both directions meet in: every argument written out, defaults
filled in, per-layer settings shared by all layers written once, and the two
keys that do not change the architecture left out (`"preset"`, provenance
only, and `args["compile"]`, a build choice). So for any valid spec `s`:

    spec_of(build_from_spec(s)) == normalize_spec(s)
"""

from __future__ import annotations

import inspect
import json
import os
import re
from collections.abc import Mapping
from typing import Any

from stacked_keras.builders import (
    CELL_KWARGS,
    STACK_ARGUMENT_NAMES,
    build_stack,
    normalize_stack_arguments,
)
from stacked_keras.stack import return_sequences_for
from stacked_keras.zoo import seq2seq as seq2seq_module

__all__ = [
    "BUILDERS",
    "SPEC_FORMAT",
    "build_from_spec",
    "load_spec",
    "normalize_spec",
    "save_spec",
    "spec_of",
]

SPEC_FORMAT = 1
BUILDERS = ("deep_rnn", "seq2seq")
_SPEC_KEYS = ("format", "builder", "args", "preset")

# The keyword arguments each builder accepts in a spec's "args", read from its signature.
BUILDER_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "deep_rnn": STACK_ARGUMENT_NAMES,
    "seq2seq": tuple(inspect.signature(seq2seq_module.seq2seq).parameters),
}
_REQUIRED_ARGUMENTS = {
    "deep_rnn": ("cell", "units"),
    "seq2seq": ("source_vocab", "target_vocab"),
}


def _validated_parts(spec: Any) -> tuple[str, dict[str, Any]]:
    """Checks a spec's shape and returns (builder, args)."""
    if not isinstance(spec, Mapping):
        raise ValueError(
            "spec must be a dict like {'format': 1, 'builder': 'deep_rnn', "
            f"'args': {{...}}}}, got {type(spec).__name__}: {spec!r}"
        )
    unknown = sorted(set(spec) - set(_SPEC_KEYS), key=str)
    if unknown:
        raise ValueError(
            f"spec has unknown key(s) {unknown}; accepted keys: {list(_SPEC_KEYS)}"
        )
    version = spec.get("format", SPEC_FORMAT)
    if version != SPEC_FORMAT or isinstance(version, bool):
        raise ValueError(
            f"spec['format'] must be {SPEC_FORMAT} (the only spec version), got {version!r}"
        )
    builder = spec.get("builder")
    if builder not in BUILDERS:
        raise ValueError(
            f"spec['builder'] must be one of {list(BUILDERS)}, got {builder!r}"
        )
    preset = spec.get("preset")
    if preset is not None and not isinstance(preset, str):
        raise ValueError(f"spec['preset'] must be a preset name (str), got {preset!r}")
    args = spec.get("args", {})
    if not isinstance(args, Mapping):
        raise ValueError(f"spec['args'] must be a dict of {builder} arguments, got {args!r}")
    accepted = BUILDER_ARGUMENTS[builder]
    unknown = sorted(set(args) - set(accepted), key=str)
    if unknown:
        raise ValueError(
            f"spec['args'] has unknown {builder} argument(s) {unknown}; "
            f"accepted: {list(accepted)}"
        )
    missing = [key for key in _REQUIRED_ARGUMENTS[builder] if key not in args]
    if missing:
        raise ValueError(f"spec['args'] is missing the {builder} argument(s) {missing}")
    return builder, dict(args)


def _canonical_stack_arguments(args: Mapping[str, Any]) -> dict[str, Any]:
    """`deep_rnn` arguments in canonical form (validated by the builders)."""
    spec = normalize_stack_arguments(**args)
    canonical = spec.as_arguments()
    if canonical["head"] == "multiclass" and canonical["output"] == "sequence":
        # A per-timestep softmax is the tagger head: the two build the same model.
        canonical["head"] = "tagger"
    del canonical["compile"]
    try:
        return json.loads(json.dumps(canonical))
    except TypeError:
        raise ValueError(
            "a spec must be JSON-able, but cell_kwargs holds Python objects "
            f"({canonical['cell_kwargs']!r}); write them as strings or as Keras "
            "serialized dicts (keras.saving.serialize_keras_object)"
        ) from None


def _canonical_seq2seq_arguments(args: Mapping[str, Any]) -> dict[str, Any]:
    canonical = seq2seq_module.normalize_seq2seq_arguments(**args).as_arguments()
    del canonical["compile"]
    return canonical


def normalize_spec(spec: Mapping[str, Any]) -> dict[str, Any]:
    """Validates a spec and returns its canonical form.

    The canonical form has `"format"`, `"builder"` and `"args"` with every
    argument of the builder written out (defaults filled in, per-layer
    settings shared by every layer written once, shapes as lists) and
    leaves out what does not change the architecture: `"preset"` and
    `args["compile"]`. Two specs that build the same architecture have the
    same canonical form, and `spec_of` returns canonical forms.

    Args:
        spec: a spec dict, e.g. `{"format": 1, "builder": "deep_rnn",
            "args": {"cell": "gru", "units": [8, 8], "input_shape": [None, 3]}}`.
            A missing `"format"` is read as 1.

    Returns:
        A new dict, JSON-able.

    Raises:
        ValueError: for an unknown top-level key, builder or argument (the
            message names them and lists the accepted ones), a missing
            required argument, or an argument value the builder refuses.

    Example:

    >>> spec = normalize_spec({"builder": "deep_rnn",
    ...                        "args": {"cell": "lstm", "units": [3, 2], "input_shape": [None, 3]}})
    >>> spec["args"]["output"], spec["args"]["dropout"]
    ('last', 0.0)
    """
    builder, args = _validated_parts(spec)
    if builder == "deep_rnn":
        canonical = _canonical_stack_arguments(args)
    else:
        canonical = _canonical_seq2seq_arguments(args)
    return {"format": SPEC_FORMAT, "builder": builder, "args": canonical}


def build_from_spec(spec: Mapping[str, Any]) -> Any:
    """Builds the Keras model a spec describes.

    Args:
        spec: a spec dict (see the module docstring), for instance read from
            a JSON file with `load_spec`. `args["compile"]` (default `True`)
            decides whether a model with a head is compiled.

    Returns:
        The model `deep_rnn(**args)` or `seq2seq(**args)` returns.

    Raises:
        ValueError: if the spec is invalid (see `normalize_spec`).

    Example:

    >>> spec = {"format": 1, "builder": "deep_rnn",
    ...         "args": {"cell": "simple_rnn", "units": [3, 2], "input_shape": [None, 3]}}
    >>> import warnings
    >>> with warnings.catch_warnings():
    ...     warnings.simplefilter("ignore")  # two stacked SimpleRNN layers warn
    ...     model = build_from_spec(spec)
    >>> [layer.name for layer in model.layers], model.output_shape
    (['simple_rnn_1', 'simple_rnn_2'], (None, 2))
    """
    builder, args = _validated_parts(spec)
    if builder == "deep_rnn":
        return build_stack(normalize_stack_arguments(**args), stacklevel=2)
    return seq2seq_module.seq2seq(**args)


def save_spec(spec: Mapping[str, Any], path: str | os.PathLike) -> None:
    """Writes a spec to a JSON file, after checking it is valid.

    Raises:
        ValueError: if the spec is invalid (see `normalize_spec`).
    """
    normalize_spec(spec)
    with open(path, "w", encoding="utf-8") as file:
        json.dump(spec, file, indent=2)
        file.write("\n")


def load_spec(path: str | os.PathLike) -> dict[str, Any]:
    """Reads a spec from a JSON file and checks it.

    Returns:
        The spec as written in the file.

    Raises:
        ValueError: if the file is not JSON or not a valid spec, naming the
            file.
        OSError: if the file cannot be read.
    """
    with open(path, encoding="utf-8") as file:
        text = file.read()
    try:
        spec = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"{os.fspath(path)} is not a JSON spec: {error}") from None
    try:
        normalize_spec(spec)
    except ValueError as error:
        raise ValueError(f"{os.fspath(path)}: {error}") from None
    return spec


# ------------------------------------------------------------------ spec_of

_RECURRENT_NAME = re.compile(r"^(bi_)?(simple_rnn|lstm|gru)_(\d+)$")
_KERAS_CLASS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}
_HEAD_ACTIVATIONS = {"sigmoid": "binary", "softmax": "multiclass", "linear": "regression"}
_default_configs: dict[str, dict[str, Any]] = {}


def _not_from_builders(model: Any, why: str) -> ValueError:
    return ValueError(
        f"spec_of cannot describe model {getattr(model, 'name', '?')!r}: {why}. "
        "It reads models made by stacked_keras.deep_rnn (and deep_lstm, deep_gru, "
        "deep_simple_rnn), the zoo presets and stacked_keras.zoo.seq2seq.seq2seq."
    )


def _activation_name(value: Any) -> str:
    if isinstance(value, Mapping):  # a serialized activation
        value = value.get("config", value)
        value = value.get("name", value) if isinstance(value, Mapping) else value
    return getattr(value, "__name__", value)


def _cell_kwargs_of(layer: Any, cell: str) -> dict[str, Any]:
    """The layer's settings, among those `cell_kwargs` may set, that differ from Keras's defaults."""
    import keras

    class_name = _KERAS_CLASS[cell]
    if class_name not in _default_configs:
        _default_configs[class_name] = getattr(keras.layers, class_name)(1).get_config()
    defaults = _default_configs[class_name]
    config = layer.get_config()
    return {
        key: config[key]
        for key in sorted(CELL_KWARGS[cell])
        if key in config and key in defaults and config[key] != defaults[key]
    }


def _stack_arguments_of(model: Any) -> dict[str, Any]:
    """Reads the `deep_rnn` arguments of a model made by the builders."""
    layers = [layer for layer in model.layers if type(layer).__name__ != "InputLayer"]
    if not layers:
        raise _not_from_builders(model, "it has no layers")
    names = [layer.name for layer in layers]
    args: dict[str, Any] = {"name": model.name}
    cells, units, bidirectional, dropout, recurrent_dropout, sequences = [], [], [], [], [], []
    recurrent_names = []
    merge_modes, cell_kwargs = set(), []
    layer_norm_after, residual_after = set(), set()

    for position, layer in enumerate(layers):
        class_name = type(layer).__name__
        match = _RECURRENT_NAME.match(layer.name)
        if layer.name == "embedding" and class_name == "Embedding" and position == 0:
            args["vocab_size"] = int(layer.input_dim)
            args["embedding_dim"] = int(layer.output_dim)
            args["mask_zero"] = bool(layer.mask_zero)
        elif match:
            wrapped, cell, depth = bool(match.group(1)), match.group(2), int(match.group(3))
            if depth != len(cells) + 1:
                raise _not_from_builders(
                    model, f"layer {layer.name!r} is not recurrent layer {len(cells) + 1} "
                    "of the stack (the builders number layers 1, 2, ... bottom to top)"
                )
            core = layer
            if wrapped:
                if class_name != "Bidirectional":
                    raise _not_from_builders(
                        model, f"layer {layer.name!r} is a {class_name}, not Bidirectional"
                    )
                core = layer.forward_layer
                merge_modes.add(layer.merge_mode)
            if type(core).__name__ != _KERAS_CLASS[cell]:
                raise _not_from_builders(
                    model, f"layer {layer.name!r} is a {type(core).__name__}, not "
                    f"{_KERAS_CLASS[cell]} as its name says"
                )
            if core.return_state or core.go_backwards or core.stateful:
                raise _not_from_builders(
                    model, f"layer {layer.name!r} returns states, reads backwards or "
                    "is stateful, which the builders never do"
                )
            cells.append(cell)
            recurrent_names.append(layer.name)
            units.append(int(core.units))
            bidirectional.append(wrapped)
            dropout.append(float(core.dropout))
            recurrent_dropout.append(float(core.recurrent_dropout))
            sequences.append(bool(core.return_sequences))
            cell_kwargs.append(_cell_kwargs_of(core, cell))
        elif class_name in ("LSTMStack", "GRUStack") and layer.name == f"{class_name[:-5].lower()}_stack":
            if cells:
                raise _not_from_builders(model, f"layer {layer.name!r} follows other recurrent layers")
            cell = class_name[:-5].lower()
            args["fused"] = True
            for index, unit_count in enumerate(layer.units):
                cells.append(cell)
                recurrent_names.append(f"{layer.name} (layer {index + 1})")
                units.append(int(unit_count))
                bidirectional.append(False)
                dropout.append(0.0)
                recurrent_dropout.append(0.0)
                sequences.append(layer.layer_return_sequences(index))
                cell_kwargs.append({})
        elif layer.name.startswith("layer_norm_") and class_name == "LayerNormalization":
            layer_norm_after.add(layer.name)
        elif layer.name.startswith("residual_") and class_name == "Add":
            residual_after.add(layer.name)
        elif layer.name == "head" and position == len(layers) - 1:
            dense = layer.layer if class_name == "TimeDistributed" else layer
            if type(dense).__name__ != "Dense":
                raise _not_from_builders(
                    model, f"its head is a {type(dense).__name__}, not a Dense layer"
                )
            activation = _activation_name(dense.activation)
            if activation not in _HEAD_ACTIVATIONS:
                raise _not_from_builders(
                    model, f"its head has activation {activation!r}; the builders use "
                    "linear (regression), sigmoid (binary) or softmax (multiclass, tagger)"
                )
            head = _HEAD_ACTIVATIONS[activation]
            head_units = int(dense.units)
            if head == "binary" and head_units != 1:
                raise _not_from_builders(model, "its sigmoid head has more than one unit")
            if head == "multiclass" and class_name == "TimeDistributed":
                head = "tagger"
            args["head"] = head
            args["num_classes"] = None if head == "binary" else head_units
        else:
            raise _not_from_builders(
                model, f"layer {layer.name!r} ({class_name}) is not one the builders "
                "make (embedding, {cell}_{L}, bi_{cell}_{L}, layer_norm_{L}, "
                "residual_{L}, head)"
            )

    if not cells:
        raise _not_from_builders(model, "it has no recurrent layer named like lstm_1")
    expected = return_sequences_for(len(cells), sequence_output=sequences[-1])
    if tuple(sequences) != expected:
        broken = [
            f"{_name}: return_sequences={actual}"
            for _name, actual, wanted in zip(recurrent_names, sequences, expected)
            if actual != wanted
        ]
        raise _not_from_builders(
            model, "its return_sequences flags do not follow the stack rule "
            f"(every layer but the top returns sequences): {', '.join(broken)}"
        )
    if len(merge_modes) > 1:
        raise _not_from_builders(model, f"its bidirectional layers mix merge modes {sorted(merge_modes)}")

    args.update(
        cell=cells if len(set(cells)) > 1 else cells[0],
        units=units,
        bidirectional=bidirectional,
        merge_mode=merge_modes.pop() if merge_modes else "concat",
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        layer_norm=[f"layer_norm_{d}" in layer_norm_after for d in range(1, len(cells) + 1)],
        residual=bool(residual_after),
        output="sequence" if sequences[-1] else "last",
        cell_kwargs=cell_kwargs if any(cell_kwargs) else None,
    )
    try:
        shape = tuple(model.inputs[0].shape)[1:]
    except (AttributeError, IndexError, TypeError, ValueError):
        raise _not_from_builders(
            model, "it has no defined input (the builders always start from keras.Input)"
        ) from None
    args["input_shape"] = list(shape)
    if "vocab_size" not in args and len(shape) != 2:
        raise _not_from_builders(model, f"its input has shape {shape}, not (timesteps, features)")

    try:
        stack = normalize_stack_arguments(**args)
    except ValueError as error:
        raise _not_from_builders(model, str(error)) from None
    # The builders' layer order for these arguments must be the model's.
    expected_names = ["embedding"] if stack.vocab_size is not None else []
    expected_names += [stack.stack_layer_name] if stack.fused else []
    for depth, (name, bi, res, norm) in enumerate(
        zip(stack.layer_names, stack.bidirectional, stack.residual_layers, stack.layer_norm), 1
    ):
        if stack.fused:
            break
        expected_names.append(f"bi_{name}" if bi else name)
        expected_names += [f"residual_{depth}"] if res else []
        expected_names += [f"layer_norm_{depth}"] if norm else []
    expected_names += ["head"] if stack.head is not None else []
    if names != expected_names:
        raise _not_from_builders(
            model, f"its layers {names} are not in the order the builders make "
            f"for these settings ({expected_names})"
        )
    return args


def _is_seq2seq(model: Any) -> bool:
    names = {layer.name for layer in model.layers}
    return "attention" in names and "source_embedding" in names


def spec_of(model: Any) -> dict[str, Any]:
    """Recovers the spec of a model made by the builders or the zoo.

    The spec is read from the model's layers (names, classes, configs and
    the input shape), not from anything stored on the model object, so it
    works on a model reloaded from a `.keras` file. For a `deep_rnn` model it
    reads the cell types, units, bidirectional wrappers and merge mode,
    dropout and recurrent dropout, layer normalization and residual layers,
    the embedding, the head and its classes, the output, the input shape and
    the recurrent layers' settings that differ from Keras's defaults
    (`cell_kwargs`, in Keras's serialized form). For a `seq2seq` model it
    reads the cell, units, vocabularies, embedding width, attention kind and
    dropout.

    Args:
        model: a Keras model.

    Returns:
        The canonical spec (see `normalize_spec`), without `"preset"`.

    Raises:
        ValueError: if the model was not made by the builders or the zoo,
            saying which layer or setting gives it away.

    Example:

    >>> from stacked_keras import deep_gru
    >>> spec_of(deep_gru([8, 4], input_shape=(None, 3)))["args"]["units"]
    [8, 4]
    """
    if not hasattr(model, "layers") or not hasattr(model, "get_config"):
        raise ValueError(
            f"spec_of needs a Keras model, got {type(model).__name__}: {model!r}"
        )
    if _is_seq2seq(model):
        arguments = seq2seq_module.seq2seq_spec_of(model).as_arguments()
        return normalize_spec({"format": SPEC_FORMAT, "builder": "seq2seq", "args": arguments})
    arguments = _stack_arguments_of(model)
    return normalize_spec({"format": SPEC_FORMAT, "builder": "deep_rnn", "args": arguments})

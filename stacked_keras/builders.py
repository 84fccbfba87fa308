"""Builders for deep (stacked) recurrent networks that return ordinary Keras models.

`deep_rnn` stacks SimpleRNN, LSTM or GRU layers bottom to top, with optional
bidirectional layers, dropout, layer normalization, residual connections, an
`Embedding` front for token ids and a task head. Every layer but the top one
returns its whole sequence, so that layer L receives the hidden states
H_t^{L-1} of the layer below at every timestep (the vertical connection); the
decision comes from `stacked_keras.stack.return_sequences_for` and nowhere else.

Arguments are checked by a pure function, `normalize_stack_arguments`, which
returns a frozen `StackSpec` before any Keras object exists (and without
importing Keras), so the zoo and the command line share one validation path.
`build_stack` turns a `StackSpec` into a model. Keras is imported only there.

Layer names speak the language of the stack: recurrent layer L is
`{cell}_{L}` (`lstm_1`, `gru_2`, `simple_rnn_3`), a bidirectional one is the
`Bidirectional` wrapper `bi_{cell}_{L}` around `{cell}_{L}`; the other layers
are `embedding`, `residual_L` (the `Add` after layer L), `layer_norm_L` (after
layer L) and `head`. The input is `tokens` (token ids) or `sequence`.
"""

from __future__ import annotations

import difflib
import inspect
import numbers
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from stacked_keras.cudnn import cudnn_blockers
from stacked_keras.stack import return_sequences_for

__all__ = [
    "CELL_KWARGS",
    "CELL_TYPES",
    "HEADS",
    "MERGE_MODES",
    "OUTPUTS",
    "StackSpec",
    "StackWarning",
    "build_stack",
    "deep_gru",
    "deep_lstm",
    "deep_rnn",
    "deep_simple_rnn",
    "normalize_stack_arguments",
]

CELL_TYPES = ("simple_rnn", "lstm", "gru")
HEADS = ("regression", "binary", "multiclass", "tagger")
OUTPUTS = ("last", "sequence")
MERGE_MODES = ("concat", "sum", "mul", "ave")

# cell type -> Keras layer class name.
_KERAS_CLASS = {"simple_rnn": "SimpleRNN", "lstm": "LSTM", "gru": "GRU"}

# Keyword arguments of the Keras recurrent layers that `cell_kwargs` may set.
_COMMON_CELL_KWARGS = frozenset(
    {
        "activation",
        "use_bias",
        "kernel_initializer",
        "recurrent_initializer",
        "bias_initializer",
        "kernel_regularizer",
        "recurrent_regularizer",
        "bias_regularizer",
        "activity_regularizer",
        "kernel_constraint",
        "recurrent_constraint",
        "bias_constraint",
        "unroll",
        "seed",
    }
)
CELL_KWARGS: Mapping[str, frozenset[str]] = MappingProxyType(
    {
        "simple_rnn": _COMMON_CELL_KWARGS,
        "lstm": _COMMON_CELL_KWARGS
        | {"recurrent_activation", "unit_forget_bias", "use_cudnn"},
        "gru": _COMMON_CELL_KWARGS
        | {"recurrent_activation", "reset_after", "use_cudnn"},
    }
)

# Layer arguments the builder sets itself: where to set them instead.
_BUILDER_OWNED_KWARGS = MappingProxyType(
    {
        "units": "set it with the units argument",
        "return_sequences": (
            "the builder sets it for every layer; ask for the whole top "
            "sequence with output='sequence'"
        ),
        "return_state": "a stack passes sequences upwards, not states",
        "dropout": "set it with the dropout argument",
        "recurrent_dropout": "set it with the recurrent_dropout argument",
        "go_backwards": "use bidirectional=True to read sequences backwards too",
        "stateful": "the builders make stateless models",
        "name": "layers are named by depth; name the model with name=",
    }
)


class StackWarning(UserWarning):
    """A stack that builds and runs, but trains slowly or badly as configured.

    Issued by the builders when a setting takes an LSTM or GRU layer off the
    fused cuDNN kernel on GPU, and when two or more SimpleRNN layers are
    stacked (vanishing gradients).
    """


@dataclass(frozen=True)
class StackSpec:
    """A validated, normalized description of a deep recurrent model.

    Made by `normalize_stack_arguments`; every per-layer setting is a tuple
    with one entry per recurrent layer, bottom to top. `build_stack` turns it
    into a Keras model. Plain data: making or reading one imports no Keras.

    Args:
        cells: cell type of each layer (`"simple_rnn"`, `"lstm"`, `"gru"`).
        units: unit count of each layer.
        timesteps: the input length, or `None` for variable-length inputs.
        features: width of each input timestep (numeric input), else `None`.
        vocab_size: number of token ids (token input), else `None`.
        embedding_dim: width of the embedding (token input), else `None`.
        mask_zero: whether token id 0 is padding (token input).
        bidirectional: whether each layer is wrapped in `Bidirectional`.
        merge_mode: how forward and backward outputs are merged.
        dropout: the `dropout` argument of each recurrent layer.
        recurrent_dropout: the `recurrent_dropout` argument of each layer.
        layer_norm: whether a `LayerNormalization` follows each layer.
        residual: whether residual connections were asked for.
        output: `"last"` or `"sequence"`, what the top layer returns.
        head: the task head, or `None`.
        num_classes: the class count of a classification head, the output
            width of a regression head when it is not 1, else `None`.
        cell_kwargs: extra arguments of each recurrent layer (copies of the
            caller's dicts; treat them as read-only).
        compile: whether a model with a head is compiled.
        name: the model's name.
    """

    cells: tuple[str, ...]
    units: tuple[int, ...]
    timesteps: int | None
    features: int | None
    vocab_size: int | None
    embedding_dim: int | None
    mask_zero: bool
    bidirectional: tuple[bool, ...]
    merge_mode: str
    dropout: tuple[float, ...]
    recurrent_dropout: tuple[float, ...]
    layer_norm: tuple[bool, ...]
    residual: bool
    output: str
    head: str | None
    num_classes: int | None
    cell_kwargs: tuple[dict[str, Any], ...]
    compile: bool
    name: str

    @property
    def depth(self) -> int:
        """The number of stacked recurrent layers."""
        return len(self.units)

    @property
    def return_sequences(self) -> tuple[bool, ...]:
        """`return_sequences` of each layer, from `return_sequences_for`."""
        return return_sequences_for(
            self.depth, sequence_output=self.output == "sequence"
        )

    @property
    def layer_names(self) -> tuple[str, ...]:
        """The name of each recurrent layer: `{cell}_{L}`, L from 1."""
        return tuple(f"{cell}_{depth}" for depth, cell in enumerate(self.cells, 1))

    @property
    def input_width(self) -> int:
        """Width of each timestep entering layer 1 (features or embedding)."""
        return self.embedding_dim if self.vocab_size is not None else self.features

    @property
    def widths(self) -> tuple[int, ...]:
        """Output width of each layer (doubled by a bidirectional concat)."""
        return tuple(
            units * 2 if bi and self.merge_mode == "concat" else units
            for units, bi in zip(self.units, self.bidirectional)
        )

    @property
    def residual_layers(self) -> tuple[bool, ...]:
        """Whether layer L's input is added to its output (`residual_L`).

        True where residual connections were asked for, the layer returns a
        sequence, and its input and output have the same width.
        """
        if not self.residual:
            return (False,) * self.depth
        inputs = (self.input_width, *self.widths[:-1])
        return tuple(
            width_in == width_out and sequences
            for width_in, width_out, sequences in zip(
                inputs, self.widths, self.return_sequences
            )
        )

    @property
    def functional(self) -> bool:
        """Whether the model needs the functional API (residual connections)."""
        return any(self.residual_layers)

    @property
    def head_units(self) -> int | None:
        """Width of the head's output, or `None` without a head."""
        if self.head is None:
            return None
        if self.head == "binary":
            return 1
        return self.num_classes or 1

    def warning_messages(self) -> tuple[str, ...]:
        """The `StackWarning` messages this stack deserves, as plain text.

        Returns:
            Up to two messages: one listing the LSTM/GRU layers whose settings
            keep them off the cuDNN kernel (from `stacked_keras.cudnn`), one
            when two or more SimpleRNN layers are stacked. Empty when neither
            applies.
        """
        messages = []
        blocked = []
        for layer, cell, kwargs, recurrent_dropout in zip(
            self.layer_names, self.cells, self.cell_kwargs, self.recurrent_dropout
        ):
            settings = {**kwargs, "recurrent_dropout": recurrent_dropout}
            reasons = cudnn_blockers(_KERAS_CLASS[cell], settings)
            if reasons:
                blocked.append(f"{layer}: {', '.join(reasons)}")
        if blocked:
            messages.append(
                "these settings take LSTM/GRU layers off the fused cuDNN kernel "
                "on GPU, where the generic loop trains several times slower: "
                + "; ".join(blocked)
                + ". Keep the Keras defaults to train on cuDNN."
            )
        simple = [
            layer
            for layer, cell in zip(self.layer_names, self.cells)
            if cell == "simple_rnn"
        ]
        if len(simple) >= 2:
            messages.append(
                f"{len(simple)} SimpleRNN layers are stacked ({', '.join(simple)}): "
                "deep SimpleRNN stacks suffer from vanishing and exploding "
                "gradients; use LSTM or GRU layers (cell='lstm' or cell='gru')."
            )
        return tuple(messages)

    def as_arguments(self) -> dict[str, Any]:
        """The `deep_rnn` keyword arguments that rebuild this stack.

        Per-layer settings are written once when every layer shares them and
        as lists otherwise; shapes are lists. Apart from objects inside
        `cell_kwargs`, the result is JSON-able, and
        `normalize_stack_arguments(**spec.as_arguments()) == spec`.

        Returns:
            A dict of keyword arguments for `deep_rnn`, including `cell` and
            `units`.
        """

        def compact(values: tuple[Any, ...]) -> Any:
            return values[0] if len(set(values)) == 1 else list(values)

        between_layers = (True,) * (self.depth - 1) + (False,)
        if not any(self.layer_norm):
            layer_norm: Any = False
        elif self.layer_norm == between_layers:
            layer_norm = True
        else:
            layer_norm = list(self.layer_norm)
        kwargs = [dict(k) for k in self.cell_kwargs]
        if not any(kwargs):
            cell_kwargs: Any = None
        elif all(k == kwargs[0] for k in kwargs):
            cell_kwargs = kwargs[0]
        else:
            cell_kwargs = kwargs
        if self.vocab_size is not None:
            input_shape = None if self.timesteps is None else [self.timesteps]
        else:
            input_shape = [self.timesteps, self.features]
        return {
            "cell": compact(self.cells),
            "units": list(self.units),
            "input_shape": input_shape,
            "vocab_size": self.vocab_size,
            "embedding_dim": self.embedding_dim,
            "mask_zero": self.mask_zero,
            "bidirectional": compact(self.bidirectional),
            "merge_mode": self.merge_mode,
            "dropout": compact(self.dropout),
            "recurrent_dropout": compact(self.recurrent_dropout),
            "layer_norm": layer_norm,
            "residual": self.residual,
            "output": self.output,
            "head": self.head,
            "num_classes": self.num_classes,
            "cell_kwargs": cell_kwargs,
            "compile": self.compile,
            "name": self.name,
        }


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_list(value: Any) -> bool:
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes))


def _per_layer(argument: str, value: Any, depth: int, accepted: str) -> list[Any]:
    """Expands a single value to one per layer, or checks a per-layer list's length."""
    if _is_list(value):
        if len(value) != depth:
            raise ValueError(
                f"{argument} has {len(value)} entries but the stack has {depth} "
                f"layer(s) (one per entry of units); give {accepted}, or a list "
                f"of exactly {depth}, got {value!r}"
            )
        return list(value)
    return [value] * depth


def _check_cell(argument: str, value: Any) -> str:
    accepted = ", ".join(repr(c) for c in CELL_TYPES)
    if isinstance(value, str) and value.lower() in CELL_TYPES:
        return value.lower()
    raise ValueError(f"{argument} must be one of {accepted}, got {value!r}")


def _check_positive_int(argument: str, value: Any) -> int:
    if not _is_integer(value) or value < 1:
        raise ValueError(f"{argument} must be a positive integer, got {value!r}")
    return int(value)


def _check_bool(argument: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{argument} must be True or False, got {value!r}")
    return value


def _check_rate(argument: str, value: Any) -> float:
    if not _is_real(value) or not 0 <= value < 1:
        raise ValueError(
            f"{argument} must be a number in [0, 1) (a fraction of units to "
            f"drop), got {value!r}"
        )
    return float(value)


def _check_cell_kwargs(argument: str, value: Any, cell: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(
            f"{argument} must be a dict of recurrent-layer arguments (or a list "
            f"of dicts, one per layer), got {value!r}"
        )
    for key in value:
        if key in _BUILDER_OWNED_KWARGS:
            raise ValueError(
                f"{argument} must not set {key!r}: {_BUILDER_OWNED_KWARGS[key]}"
            )
        if key not in CELL_KWARGS[cell]:
            accepted = ", ".join(sorted(CELL_KWARGS[cell]))
            raise ValueError(
                f"{argument} has {key!r}, which a {_KERAS_CLASS[cell]} layer "
                f"({cell}) does not accept; accepted keys: {accepted}"
            )
    return dict(value)


def _check_timesteps(value: Any) -> int | None:
    if value is None:
        return None
    return _check_positive_int("input_shape[0] (timesteps)", value)


def normalize_stack_arguments(
    cell: str | Sequence[str],
    units: int | Sequence[int],
    *,
    input_shape: Sequence[int | None] | None = None,
    vocab_size: int | None = None,
    embedding_dim: int | None = None,
    mask_zero: bool = True,
    bidirectional: bool | Sequence[bool] = False,
    merge_mode: str = "concat",
    dropout: float | Sequence[float] = 0.0,
    recurrent_dropout: float | Sequence[float] = 0.0,
    layer_norm: bool | Sequence[bool] = False,
    residual: bool = False,
    output: str | None = None,
    head: str | None = None,
    num_classes: int | None = None,
    cell_kwargs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    compile: bool = True,
    name: str | None = None,
) -> StackSpec:
    """Validates and normalizes the arguments of `deep_rnn` into a `StackSpec`.

    Pure Python: it imports no Keras and creates no layer, so bad arguments
    fail fast, and the zoo and the command line check their input the same
    way the builders do. The arguments mean what they mean for `deep_rnn`.

    Args:
        cell: see `deep_rnn`.
        units: see `deep_rnn`.
        input_shape: see `deep_rnn`.
        vocab_size: see `deep_rnn`.
        embedding_dim: see `deep_rnn`.
        mask_zero: see `deep_rnn`.
        bidirectional: see `deep_rnn`.
        merge_mode: see `deep_rnn`.
        dropout: see `deep_rnn`.
        recurrent_dropout: see `deep_rnn`.
        layer_norm: see `deep_rnn`.
        residual: see `deep_rnn`.
        output: see `deep_rnn`.
        head: see `deep_rnn`.
        num_classes: see `deep_rnn`.
        cell_kwargs: see `deep_rnn`.
        compile: see `deep_rnn`.
        name: see `deep_rnn`.

    Returns:
        A frozen `StackSpec` with one entry per layer for every per-layer
        setting.

    Raises:
        ValueError: naming the argument, the value received and what is
            accepted, for any argument out of range, of the wrong kind, or
            whose per-layer list does not match the depth.

    Example:

    >>> spec = normalize_stack_arguments("lstm", [3, 2], input_shape=(None, 3))
    >>> spec.layer_names, spec.return_sequences
    (('lstm_1', 'lstm_2'), (True, False))
    """
    # Depth comes from units.
    if _is_list(units):
        if len(units) == 0:
            raise ValueError(
                "units must list at least one unit count (one per layer, e.g. "
                "[64, 32]), got []"
            )
        unit_counts = tuple(
            _check_positive_int(f"units[{i}]", u) for i, u in enumerate(units)
        )
    elif _is_integer(units):
        unit_counts = (_check_positive_int("units", units),)
    else:
        raise ValueError(
            "units must be a positive integer (one layer) or a list of positive "
            f"integers (one per layer), got {units!r}"
        )
    depth = len(unit_counts)

    if _is_list(cell):
        cells = tuple(
            _check_cell(f"cell[{i}]", c)
            for i, c in enumerate(_per_layer("cell", cell, depth, "one cell type"))
        )
    elif isinstance(cell, str) and cell.lower() in CELL_TYPES:
        cells = (cell.lower(),) * depth
    else:
        accepted = ", ".join(repr(c) for c in CELL_TYPES)
        raise ValueError(
            f"cell must be one of {accepted} or a list of them (one per layer), "
            f"got {cell!r}"
        )

    # The input.
    if vocab_size is None:
        if input_shape is None:
            raise ValueError(
                "a model needs to know its input: give input_shape=(timesteps, "
                "features) for numeric sequences or vocab_size=N for token ids "
                "(both input_shape and vocab_size are None)"
            )
        if not _is_list(input_shape) or len(input_shape) != 2:
            raise ValueError(
                "input_shape must be (timesteps, features), timesteps an integer "
                f"or None (variable length), got {input_shape!r}"
            )
        timesteps = _check_timesteps(input_shape[0])
        features = _check_positive_int("input_shape[1] (features)", input_shape[1])
        if embedding_dim is not None:
            raise ValueError(
                f"embedding_dim applies only to token input (vocab_size=N), got "
                f"embedding_dim={embedding_dim!r} with vocab_size=None"
            )
        embedding = None
    else:
        if not _is_integer(vocab_size) or vocab_size < 2:
            raise ValueError(
                "vocab_size must be an integer >= 2 (the number of token ids, "
                f"0 being padding when mask_zero=True), got {vocab_size!r}"
            )
        vocab_size = int(vocab_size)
        if input_shape is None:
            timesteps = None
        elif _is_list(input_shape) and len(input_shape) == 1:
            timesteps = _check_timesteps(input_shape[0])
        else:
            raise ValueError(
                "with vocab_size the input is token ids: input_shape must be "
                f"(timesteps,) or None (variable length), got {input_shape!r}"
            )
        features = None
        embedding = (
            unit_counts[0]
            if embedding_dim is None
            else _check_positive_int("embedding_dim", embedding_dim)
        )
    mask_zero = _check_bool("mask_zero", mask_zero)

    # Per-layer options.
    bidirectional_flags = tuple(
        _check_bool(f"bidirectional[{i}]" if _is_list(bidirectional) else "bidirectional", b)
        for i, b in enumerate(
            _per_layer("bidirectional", bidirectional, depth, "True/False")
        )
    )
    if merge_mode not in MERGE_MODES:
        accepted = ", ".join(repr(m) for m in MERGE_MODES)
        hint = (
            " (None returns two separate outputs, which the next layer cannot read)"
            if merge_mode is None
            else ""
        )
        raise ValueError(f"merge_mode must be one of {accepted}, got {merge_mode!r}{hint}")
    dropouts = tuple(
        _check_rate(f"dropout[{i}]" if _is_list(dropout) else "dropout", d)
        for i, d in enumerate(_per_layer("dropout", dropout, depth, "one rate"))
    )
    recurrent_dropouts = tuple(
        _check_rate(
            f"recurrent_dropout[{i}]" if _is_list(recurrent_dropout) else "recurrent_dropout",
            d,
        )
        for i, d in enumerate(
            _per_layer("recurrent_dropout", recurrent_dropout, depth, "one rate")
        )
    )
    if _is_list(layer_norm):
        norms = tuple(
            _check_bool(f"layer_norm[{i}]", n)
            for i, n in enumerate(_per_layer("layer_norm", layer_norm, depth, "True/False"))
        )
    else:
        between = _check_bool("layer_norm", layer_norm)
        norms = (between,) * (depth - 1) + (False,)
    residual = _check_bool("residual", residual)

    if _is_list(cell_kwargs):
        kwargs_per_layer = tuple(
            _check_cell_kwargs(f"cell_kwargs[{i}]", k, c)
            for i, (k, c) in enumerate(
                zip(_per_layer("cell_kwargs", cell_kwargs, depth, "one dict"), cells)
            )
        )
    else:
        kwargs_per_layer = tuple(
            _check_cell_kwargs("cell_kwargs", cell_kwargs, c) for c in cells
        )

    # Output and head.
    if head is not None and head not in HEADS:
        accepted = ", ".join(repr(h) for h in HEADS)
        raise ValueError(f"head must be None or one of {accepted}, got {head!r}")
    if output is None:
        output = "sequence" if head == "tagger" else "last"
    elif output not in OUTPUTS:
        raise ValueError(f"output must be 'last' or 'sequence', got {output!r}")
    if head == "tagger" and output == "last":
        raise ValueError(
            "head='tagger' labels every timestep, so it needs output='sequence' "
            "(or output left out), got output='last'"
        )
    if head is None:
        if num_classes is not None:
            raise ValueError(
                "num_classes applies only with a head ('regression', 'binary', "
                f"'multiclass', 'tagger'), got num_classes={num_classes!r} with head=None"
            )
    elif head in ("multiclass", "tagger"):
        if not _is_integer(num_classes) or num_classes < 2:
            raise ValueError(
                f"head={head!r} needs num_classes, an integer >= 2 (the number "
                f"of classes), got {num_classes!r}"
            )
        num_classes = int(num_classes)
    elif head == "binary":
        if num_classes is not None and not (_is_integer(num_classes) and num_classes == 1):
            raise ValueError(
                "head='binary' has one sigmoid output: num_classes must be None "
                f"or 1 (use head='multiclass' for 2+ classes), got {num_classes!r}"
            )
        num_classes = None
    else:  # regression: num_classes is the number of values predicted
        if num_classes is not None:
            num_classes = _check_positive_int("num_classes", num_classes)
            num_classes = None if num_classes == 1 else num_classes

    compile = _check_bool("compile", compile)
    if name is None:
        name = f"deep_{cells[0]}" if len(set(cells)) == 1 else "deep_mixed"
    elif not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string or None, got {name!r}")

    spec = StackSpec(
        cells=cells,
        units=unit_counts,
        timesteps=timesteps,
        features=features,
        vocab_size=vocab_size,
        embedding_dim=embedding,
        mask_zero=mask_zero,
        bidirectional=bidirectional_flags,
        merge_mode=merge_mode,
        dropout=dropouts,
        recurrent_dropout=recurrent_dropouts,
        layer_norm=norms,
        residual=residual,
        output=output,
        head=head,
        num_classes=num_classes,
        cell_kwargs=kwargs_per_layer,
        compile=compile,
        name=name,
    )
    if residual and not spec.functional:
        pairs = ", ".join(
            f"{layer} {w_in}->{w_out}"
            for layer, w_in, w_out in zip(
                spec.layer_names, (spec.input_width, *spec.widths[:-1]), spec.widths
            )
        )
        raise ValueError(
            "residual=True needs a layer whose input and output have the same "
            "width and which returns a sequence, but no layer does "
            f"({pairs}; a bidirectional concat doubles the width, and the top "
            "layer returns a sequence only with output='sequence'); make "
            "consecutive widths equal or set residual=False"
        )
    return spec


def build_stack(spec: StackSpec, *, stacklevel: int = 1) -> Any:
    """Builds the Keras model a `StackSpec` describes.

    A `keras.Sequential` model when the stack has no residual connection, a
    functional `keras.Model` when it has. Emits a `StackWarning` for each
    message of `spec.warning_messages()`. Compiles the model when it has a
    head and `spec.compile` is True.

    Args:
        spec: a `StackSpec` from `normalize_stack_arguments`.
        stacklevel: how many calls above `build_stack` the warnings point to
            (1: the caller of `build_stack`). Defaults to 1.

    Returns:
        A `keras.Sequential` or `keras.Model`.

    Raises:
        ValueError: if `spec` is not a `StackSpec`.

    Example:

    >>> spec = normalize_stack_arguments("gru", [8, 4], input_shape=(None, 3))
    >>> model = build_stack(spec)
    >>> [layer.name for layer in model.layers]
    ['gru_1', 'gru_2']
    """
    if not isinstance(spec, StackSpec):
        raise ValueError(
            "spec must be a StackSpec (from normalize_stack_arguments), got "
            f"{type(spec).__name__}"
        )
    for message in spec.warning_messages():
        warnings.warn(message, StackWarning, stacklevel=stacklevel + 1)

    import keras

    from stacked_keras.time_distributed import TimeDistributed

    layers = keras.layers
    if spec.vocab_size is not None:
        inputs = keras.Input(shape=(spec.timesteps,), dtype="int32", name="tokens")
        front = [
            layers.Embedding(
                spec.vocab_size,
                spec.embedding_dim,
                mask_zero=spec.mask_zero,
                name="embedding",
            )
        ]
    else:
        inputs = keras.Input(shape=(spec.timesteps, spec.features), name="sequence")
        front = []

    # (layer, whether it is the recurrent layer of its block, whether it is a residual Add)
    plan: list[tuple[Any, bool, bool]] = [(layer, False, False) for layer in front]
    recurrent_class = {
        "simple_rnn": layers.SimpleRNN,
        "lstm": layers.LSTM,
        "gru": layers.GRU,
    }
    for depth, (layer_name, cell, units, sequences) in enumerate(
        zip(spec.layer_names, spec.cells, spec.units, spec.return_sequences), 1
    ):
        i = depth - 1
        recurrent = recurrent_class[cell](
            units,
            return_sequences=sequences,
            dropout=spec.dropout[i],
            recurrent_dropout=spec.recurrent_dropout[i],
            name=layer_name,
            **spec.cell_kwargs[i],
        )
        if spec.bidirectional[i]:
            recurrent = layers.Bidirectional(
                recurrent, merge_mode=spec.merge_mode, name=f"bi_{layer_name}"
            )
        plan.append((recurrent, True, False))
        if spec.residual_layers[i]:
            plan.append((layers.Add(name=f"residual_{depth}"), False, True))
        if spec.layer_norm[i]:
            plan.append((layers.LayerNormalization(name=f"layer_norm_{depth}"), False, False))

    if spec.head is not None:
        activation = {
            "regression": None,
            "binary": "sigmoid",
            "multiclass": "softmax",
            "tagger": "softmax",
        }[spec.head]
        if spec.output == "sequence":
            head = TimeDistributed(
                layers.Dense(spec.head_units, activation=activation, name="head_dense"),
                name="head",
            )
        else:
            head = layers.Dense(spec.head_units, activation=activation, name="head")
        plan.append((head, False, False))

    if spec.functional:
        x = block_input = inputs
        for layer, is_recurrent, is_residual in plan:
            if is_recurrent:
                block_input = x
            x = layer([block_input, x]) if is_residual else layer(x)
        model = keras.Model(inputs, x, name=spec.name)
    else:
        model = keras.Sequential([inputs, *(layer for layer, _, _ in plan)], name=spec.name)

    if spec.head is not None and spec.compile:
        loss, metrics = {
            "regression": ("mse", ["mae"]),
            "binary": ("binary_crossentropy", ["accuracy"]),
            "multiclass": ("sparse_categorical_crossentropy", ["accuracy"]),
            "tagger": ("sparse_categorical_crossentropy", ["accuracy"]),
        }[spec.head]
        model.compile(optimizer=keras.optimizers.Adam(), loss=loss, metrics=metrics)
    return model


def deep_rnn(
    cell: str | Sequence[str],
    units: int | Sequence[int],
    *,
    input_shape: Sequence[int | None] | None = None,
    vocab_size: int | None = None,
    embedding_dim: int | None = None,
    mask_zero: bool = True,
    bidirectional: bool | Sequence[bool] = False,
    merge_mode: str = "concat",
    dropout: float | Sequence[float] = 0.0,
    recurrent_dropout: float | Sequence[float] = 0.0,
    layer_norm: bool | Sequence[bool] = False,
    residual: bool = False,
    output: str | None = None,
    head: str | None = None,
    num_classes: int | None = None,
    cell_kwargs: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
    compile: bool = True,
    name: str | None = None,
) -> Any:
    """Builds a deep (stacked) recurrent network as an ordinary Keras model.

    Stacks one recurrent layer per entry of `units`, bottom to top. Every
    layer but the top one returns its whole sequence, so that layer L reads
    the hidden state of layer L-1 at every timestep; the top layer returns its
    last state, or its whole sequence with `output="sequence"` (the decision
    is `stacked_keras.stack.return_sequences_for`'s). Recurrent layer L is
    named `{cell}_{L}`; a bidirectional one is `bi_{cell}_{L}` wrapping
    `{cell}_{L}`; the other layers are `embedding`, `residual_L`,
    `layer_norm_L` and `head`, and the input is `tokens` or `sequence`.

    The model is a `keras.Sequential` unless residual connections need the
    functional API, then a functional `keras.Model`. All arguments are
    checked (by `normalize_stack_arguments`) before any layer is made.

    A `StackWarning` is issued when a setting takes an LSTM or GRU layer off
    the cuDNN kernel on GPU (`recurrent_dropout > 0`, a non-tanh activation, a
    non-sigmoid recurrent activation, `unroll=True`, `use_bias=False`, GRU
    `reset_after=False`, `use_cudnn=False`), and when two or more SimpleRNN
    layers are stacked (vanishing gradients).

    Args:
        cell: `"simple_rnn"`, `"lstm"` or `"gru"` (any case), or a list with
            one of these per layer for a mixed stack.
        units: a positive int (a single layer) or a list of positive ints,
            one per layer, bottom to top: `[3, 2]` is a 3-unit layer under a
            2-unit layer.
        input_shape: `(timesteps, features)` for numeric sequences, timesteps
            `None` for variable length. With `vocab_size`: `(timesteps,)` or
            `None` (variable-length token ids). Defaults to `None`.
        vocab_size: the number of token ids. When given, the input is integer
            token ids read by an `Embedding` layer. Defaults to `None`.
        embedding_dim: the embedding width; only with `vocab_size`. Defaults
            to the first layer's unit count.
        mask_zero: whether token id 0 is padding, masked through the whole
            stack (and the loss). Only with `vocab_size`. Defaults to `True`.
        bidirectional: whether to wrap layers in `Bidirectional`: one bool for
            every layer or a list with one per layer. Defaults to `False`.
        merge_mode: how a bidirectional layer merges its two directions:
            `"concat"` (doubles the width), `"sum"`, `"mul"` or `"ave"`.
            Defaults to `"concat"`.
        dropout: the recurrent layers' own `dropout` argument (Keras's
            meaning: the fraction of each layer's *input* units dropped at
            every timestep during training), one rate for every layer or a
            list with one per layer, each in [0, 1). No separate `Dropout`
            layers are added. Defaults to `0.0`.
        recurrent_dropout: the layers' `recurrent_dropout` argument (fraction
            of the recurrent state dropped), one rate or one per layer, in
            [0, 1). Above 0 it disables cuDNN. Defaults to `0.0`.
        layer_norm: `True` puts a `LayerNormalization` (`layer_norm_L`)
            between consecutive recurrent layers, that is after every layer
            but the top one; a list with one bool per layer puts one after
            exactly the layers marked, the top one included. Defaults to
            `False`.
        residual: whether to add each layer's input to its output (an `Add`
            named `residual_L`, before `layer_norm_L`) wherever the two have
            the same width and the layer returns a sequence. Needs the
            functional API. Defaults to `False`.
        output: `"last"` (the top layer returns its last state: one vector
            per sample) or `"sequence"` (one vector per timestep). Defaults to
            `"sequence"` for a tagger head, `"last"` otherwise.
        head: `None` (the model's output is the top layer), `"regression"`
            (`Dense(num_classes or 1)`, linear), `"binary"` (`Dense(1,
            "sigmoid")`), `"multiclass"` (`Dense(num_classes, "softmax")`) or
            `"tagger"` (a softmax over `num_classes` at every timestep). On a
            sequence output the head is a `TimeDistributed(Dense)`, applied
            per timestep. Defaults to `None`.
        num_classes: the number of classes (>= 2) for `"multiclass"` and
            `"tagger"`, the number of values predicted for `"regression"`
            (default 1); `None` or 1 for `"binary"`. Defaults to `None`.
        cell_kwargs: extra arguments for every recurrent layer (a dict, e.g.
            `{"activation": "relu", "kernel_regularizer": "l2"}`), or a list
            with one dict per layer. The keys the builder sets itself (units,
            return_sequences, dropout, ...) are refused. Defaults to `None`.
        compile: whether to compile a model that has a head, with Adam and
            the head's loss (`mse`, `binary_crossentropy` or
            `sparse_categorical_crossentropy`) and metrics (`mae` or
            `accuracy`). A model without a head is never compiled. Defaults
            to `True`.
        name: the model's name. Defaults to `deep_{cell}` (`deep_lstm`), or
            `deep_mixed` for a mixed stack.

    Returns:
        A `keras.Sequential` model, or a functional `keras.Model` when it has
        residual connections.

    Raises:
        ValueError: when an argument is out of range or of the wrong kind,
            naming the argument, the value received and what is accepted:
            empty `units`, a unit count < 1, an unknown cell, a per-layer
            list whose length is not the depth, a dropout outside [0, 1), a
            tagger head with `output="last"`, no input description, residual
            connections with no pair of equal widths, and so on.

    Example:

    >>> model = deep_rnn("lstm", [3, 2], input_shape=(None, 3))
    >>> [(layer.name, layer.return_sequences) for layer in model.layers]
    [('lstm_1', True), ('lstm_2', False)]
    >>> model.output_shape
    (None, 2)
    """
    spec = normalize_stack_arguments(
        cell,
        units,
        input_shape=input_shape,
        vocab_size=vocab_size,
        embedding_dim=embedding_dim,
        mask_zero=mask_zero,
        bidirectional=bidirectional,
        merge_mode=merge_mode,
        dropout=dropout,
        recurrent_dropout=recurrent_dropout,
        layer_norm=layer_norm,
        residual=residual,
        output=output,
        head=head,
        num_classes=num_classes,
        cell_kwargs=cell_kwargs,
        compile=compile,
        name=name,
    )
    return build_stack(spec, stacklevel=_caller_stacklevel())


def _caller_stacklevel() -> int:
    """Stack level, seen from `build_stack`, of the first frame outside this module."""
    frame = sys._getframe(1)  # deep_rnn
    level = 1
    while frame is not None and frame.f_globals.get("__name__") == __name__:
        frame = frame.f_back
        level += 1
    return level


def _one_cell_builder(cell: str, units: Any, kwargs: dict[str, Any]) -> Any:
    if "cell" in kwargs:
        raise TypeError(
            f"deep_{cell}() sets cell={cell!r}; call deep_rnn(cell=...) for another "
            f"cell type, got cell={kwargs['cell']!r}"
        )
    accepted = [name for name in inspect.signature(deep_rnn).parameters if name not in ("cell", "units")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        name = unknown[0]
        close = difflib.get_close_matches(name, accepted, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise TypeError(
            f"deep_{cell}() got an unexpected keyword argument {name!r}{hint}; "
            f"accepted: {', '.join(accepted)}"
        )
    return deep_rnn(cell, units, **kwargs)


def deep_lstm(units: int | Sequence[int], **kwargs: Any) -> Any:
    """Builds a deep (stacked) LSTM: `deep_rnn("lstm", units, **kwargs)`.

    Args:
        units: one unit count per layer, bottom to top (or an int: one layer).
        **kwargs: any keyword argument of `deep_rnn` but `cell`.

    Returns:
        A Keras model, as `deep_rnn` returns.

    Raises:
        ValueError: for bad arguments, as `deep_rnn`.
        TypeError: if `cell` is given.

    Example:

    >>> model = deep_lstm([16, 8], input_shape=(20, 4), head="regression")
    >>> [layer.name for layer in model.layers]
    ['lstm_1', 'lstm_2', 'head']
    """
    return _one_cell_builder("lstm", units, kwargs)


def deep_gru(units: int | Sequence[int], **kwargs: Any) -> Any:
    """Builds a deep (stacked) GRU: `deep_rnn("gru", units, **kwargs)`.

    Args:
        units: one unit count per layer, bottom to top (or an int: one layer).
        **kwargs: any keyword argument of `deep_rnn` but `cell`.

    Returns:
        A Keras model, as `deep_rnn` returns.

    Raises:
        ValueError: for bad arguments, as `deep_rnn`.
        TypeError: if `cell` is given.

    Example:

    >>> model = deep_gru([8, 8], vocab_size=100, head="binary")
    >>> [layer.name for layer in model.layers]
    ['embedding', 'gru_1', 'gru_2', 'head']
    """
    return _one_cell_builder("gru", units, kwargs)


def deep_simple_rnn(units: int | Sequence[int], **kwargs: Any) -> Any:
    """Builds a deep (stacked) SimpleRNN: `deep_rnn("simple_rnn", units, **kwargs)`.

    Two or more SimpleRNN layers stacked train poorly (vanishing gradients),
    so such a stack comes with a `StackWarning`; LSTM and GRU stacks are the
    practical choice.

    Args:
        units: one unit count per layer, bottom to top (or an int: one layer).
        **kwargs: any keyword argument of `deep_rnn` but `cell`.

    Returns:
        A Keras model, as `deep_rnn` returns.

    Raises:
        ValueError: for bad arguments, as `deep_rnn`.
        TypeError: if `cell` is given.

    Example:

    >>> model = deep_simple_rnn(4, input_shape=(None, 3))
    >>> model.output_shape
    (None, 4)
    """
    return _one_cell_builder("simple_rnn", units, kwargs)

"""`StackSpec`: the validated, plain-data description of a deep recurrent model.

What a stack is, once its arguments are checked: the cell, units and settings
of each layer, the input and the head, with the facts derived from them (the
`return_sequences` of each layer, widths, residual layers, warnings). Plain
data and pure Python: nothing here imports Keras. `normalize_stack_arguments`
(in `stack_arguments`) makes one; `builders.build_stack` turns one into a model.
"""

from __future__ import annotations

from collections.abc import Mapping
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
        fused: whether the recurrent layers are built as one `LSTMStack` or
            `GRUStack` layer (`stacked_keras.grid_layers`) instead of one
            layer each.
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
    fused: bool = False

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
    def stack_layer_name(self) -> str:
        """The name of the one recurrent layer of a fused stack: `{cell}_stack`."""
        return f"{self.cells[0]}_stack"

    def fused_blockers(self) -> tuple[str, ...]:
        """The settings that need one Keras layer per recurrent layer.

        A fused stack (`LSTMStack`/`GRUStack`) computes a stack of Keras-default
        LSTM or GRU layers with nothing between them. Empty when this stack is
        one.
        """
        blockers = []
        if len(set(self.cells)) != 1 or self.cells[0] not in ("lstm", "gru"):
            blockers.append(f"cells {list(self.cells)} (a fused stack is all LSTM or all GRU)")
        for setting, values in (
            ("bidirectional", self.bidirectional),
            ("dropout", self.dropout),
            ("recurrent_dropout", self.recurrent_dropout),
            ("layer_norm", self.layer_norm),
            ("cell_kwargs", self.cell_kwargs),
        ):
            if any(values):
                blockers.append(setting)
        if self.residual:
            blockers.append("residual")
        if self.vocab_size is not None and self.mask_zero:
            blockers.append("mask_zero=True (a fused stack takes no mask)")
        return tuple(blockers)

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
            "fused": self.fused,
        }



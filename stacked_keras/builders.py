"""Builders for deep (stacked) recurrent networks that return ordinary Keras models.

`deep_rnn` stacks SimpleRNN, LSTM or GRU layers bottom to top, with optional
bidirectional layers, dropout, layer normalization, residual connections, an
`Embedding` front for token ids and a task head. Every layer but the top one
returns its whole sequence, so that layer L receives the hidden states
H_t^{L-1} of the layer below at every timestep (the vertical connection); the
decision comes from `stacked_keras.stack.return_sequences_for` and nowhere else.

Arguments are checked by a pure function, `normalize_stack_arguments`
(`stacked_keras.stack_arguments`), which returns a frozen `StackSpec`
(`stacked_keras.stack_spec`) before any Keras object exists (and without
importing Keras), so the zoo and the command line share one validation path.
This module assembles: `build_stack` turns a `StackSpec` into a model, and
Keras is imported only there. It re-exports the names of both modules.

Layer names speak the language of the stack: recurrent layer L is
`{cell}_{L}` (`lstm_1`, `gru_2`, `simple_rnn_3`), a bidirectional one is the
`Bidirectional` wrapper `bi_{cell}_{L}` around `{cell}_{L}`; the other layers
are `embedding`, `residual_L` (the `Add` after layer L), `layer_norm_L` (after
layer L) and `head`. The input is `tokens` (token ids) or `sequence`.
"""


from __future__ import annotations

import difflib
import inspect
import sys
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from stacked_keras.stack_arguments import STACK_ARGUMENT_NAMES, normalize_stack_arguments
from stacked_keras.stack_spec import (
    CELL_KWARGS,
    CELL_TYPES,
    HEADS,
    MERGE_MODES,
    OUTPUTS,
    StackSpec,
    StackWarning,
)

__all__ = [
    "CELL_KWARGS",
    "CELL_TYPES",
    "HEADS",
    "MERGE_MODES",
    "OUTPUTS",
    "STACK_ARGUMENT_NAMES",
    "StackSpec",
    "StackWarning",
    "build_stack",
    "deep_gru",
    "deep_lstm",
    "deep_rnn",
    "deep_simple_rnn",
    "normalize_stack_arguments",
]


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
        MissingDependencyError: when no Keras backend is installed (the
            message names the extra to install).

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

    from stacked_keras.dependencies import import_keras

    keras = import_keras()
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
    if spec.fused:
        from stacked_keras.grid_layers import STACK_LAYERS

        stack_class = STACK_LAYERS["LSTMStack" if spec.cells[0] == "lstm" else "GRUStack"]
        stack = stack_class(
            list(spec.units), return_sequences=spec.return_sequences[-1], name=spec.stack_layer_name
        )
        plan.append((stack, True, False))
    for depth, (layer_name, cell, units, sequences) in enumerate(
        zip(spec.layer_names, spec.cells, spec.units, spec.return_sequences), 1
    ):
        if spec.fused:
            break
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
    fused: bool | str = False,
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
        fused: `True` builds the recurrent layers as one `LSTMStack` or
            `GRUStack` layer named `{cell}_stack` (`stacked_keras.grid_layers`):
            the same stack, weights and results, computed by anti-diagonals of
            the time x depth grid, which trains faster on TensorFlow (see the
            README's Performance section; feed `fit` with
            `stacked_keras.training_data(x, y, batch_size=...)` to keep
            the gain, `stacked_keras.fit_data` says why). It needs an all-LSTM or all-GRU
            stack with Keras's default cell settings and nothing between the
            layers (no bidirectional, dropout, layer_norm, residual,
            cell_kwargs or masked tokens); `True` on another stack is a
            `ValueError` naming the settings in the way. `"auto"` fuses
            where it applies. Defaults to `False`.

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
    arguments = locals()  # exactly the parameters, matched to STACK_ARGUMENT_NAMES by a test
    spec = normalize_stack_arguments(**{name: arguments[name] for name in STACK_ARGUMENT_NAMES})
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


def _one_cell_signature() -> inspect.Signature:
    """`deep_rnn`'s signature without `cell`: what `deep_lstm` and the others take."""
    signature = inspect.signature(deep_rnn)
    return signature.replace(
        parameters=[p for name, p in signature.parameters.items() if name != "cell"]
    )


# help(), IPython and inspect show the one-cell builders' real arguments.
for _builder in (deep_lstm, deep_gru, deep_simple_rnn):
    _builder.__signature__ = _one_cell_signature()
del _builder

"""Checks `deep_rnn`'s arguments and normalizes them into a `StackSpec`.

`normalize_stack_arguments` is the one validation path of the builders, the
zoo and the command line. Pure Python: it imports no Keras, so a bad argument
fails before any layer exists. Its signature is the single written list of
`deep_rnn`'s arguments (names, order, defaults): `deep_rnn` is tested to
match it, the one-cell builders and the zoo's spec keys are derived from it.
Validation is split by concern, each check raising a `ValueError` that names
the argument, the value received and what is accepted: depth and cells, the
input, per-layer values, the head and output, and residual connections.
"""

from __future__ import annotations

import dataclasses
import inspect
import numbers
from collections.abc import Mapping, Sequence
from typing import Any

from stacked_keras.stack_spec import (
    _BUILDER_OWNED_KWARGS,
    _KERAS_CLASS,
    CELL_KWARGS,
    CELL_TYPES,
    HEADS,
    MERGE_MODES,
    OUTPUTS,
    StackSpec,
)

__all__ = ["STACK_ARGUMENT_NAMES", "normalize_stack_arguments"]


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
    fused: bool | str = False,
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
        fused: see `deep_rnn`.

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
    unit_counts, cells = _depth_and_cells(cell, units)
    timesteps, features, vocab_size, embedding = _input_description(
        input_shape, vocab_size, embedding_dim, unit_counts[0]
    )
    mask_zero = _check_bool("mask_zero", mask_zero)
    bidirectional_flags, dropouts, recurrent_dropouts, norms = _per_layer_values(
        len(unit_counts), bidirectional, merge_mode, dropout, recurrent_dropout, layer_norm
    )
    residual = _check_bool("residual", residual)
    kwargs_per_layer = _cell_kwargs_per_layer(cell_kwargs, cells)
    head, output, num_classes = _head_and_output(head, output, num_classes)
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
    _check_residual(spec)
    return _with_fused(spec, fused)


def _with_fused(spec: StackSpec, fused: Any) -> StackSpec:
    """The spec with `fused` resolved: `"auto"` becomes whether the stack can be fused."""
    if fused not in (True, False, "auto") or (fused == "auto" and not isinstance(fused, str)):
        raise ValueError(f"fused must be True, False or 'auto', got {fused!r}")
    blockers = spec.fused_blockers()
    if fused is True and blockers:
        raise ValueError(
            "fused=True builds the stack as one LSTMStack/GRUStack layer, which computes "
            "Keras-default LSTM or GRU layers with nothing between them; this stack has "
            f"{', '.join(blockers)}: drop those settings, or use fused=False (one layer "
            "each) or fused='auto' (fused only where it applies)"
        )
    return dataclasses.replace(spec, fused=not blockers if fused == "auto" else bool(fused))


def _depth_and_cells(cell: Any, units: Any) -> tuple[tuple[int, ...], tuple[str, ...]]:
    """The unit count and cell type of each layer; the depth comes from `units`."""
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
    return unit_counts, cells


def _input_description(
    input_shape: Any, vocab_size: Any, embedding_dim: Any, first_units: int
) -> tuple[int | None, int | None, int | None, int | None]:
    """(timesteps, features, vocab_size, embedding_dim) of numeric or token input."""
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
            first_units
            if embedding_dim is None
            else _check_positive_int("embedding_dim", embedding_dim)
        )
    return timesteps, features, vocab_size, embedding


def _per_layer_values(
    depth: int,
    bidirectional: Any,
    merge_mode: Any,
    dropout: Any,
    recurrent_dropout: Any,
    layer_norm: Any,
) -> tuple[tuple[bool, ...], tuple[float, ...], tuple[float, ...], tuple[bool, ...]]:
    """One bidirectional flag, dropout, recurrent dropout and layer_norm per layer."""
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
    return bidirectional_flags, dropouts, recurrent_dropouts, norms


def _cell_kwargs_per_layer(cell_kwargs: Any, cells: tuple[str, ...]) -> tuple[dict[str, Any], ...]:
    """One checked dict of extra recurrent-layer arguments per layer."""
    if _is_list(cell_kwargs):
        kwargs_per_layer = tuple(
            _check_cell_kwargs(f"cell_kwargs[{i}]", k, c)
            for i, (k, c) in enumerate(
                zip(_per_layer("cell_kwargs", cell_kwargs, len(cells), "one dict"), cells)
            )
        )
    else:
        kwargs_per_layer = tuple(
            _check_cell_kwargs("cell_kwargs", cell_kwargs, c) for c in cells
        )
    return kwargs_per_layer


def _head_and_output(head: Any, output: Any, num_classes: Any) -> tuple[str | None, str, int | None]:
    """The head, the top layer's output and the head's class count, checked together."""
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
    return head, output, num_classes


def _check_residual(spec: StackSpec) -> None:
    """Refuses residual=True when no layer can take a residual connection."""
    if spec.residual and not spec.functional:
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


# `deep_rnn`'s keyword arguments, in order, read from the one signature that lists them.
STACK_ARGUMENT_NAMES: tuple[str, ...] = tuple(
    inspect.signature(normalize_stack_arguments).parameters
)

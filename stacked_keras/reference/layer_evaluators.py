"""NumPy evaluators of the Keras layers the reference supports, one per class.

Recurrent layers (run through `cells`), their `Bidirectional` wrapper and
`TimeDistributed`, the input side (`InputLayer`, `Embedding`, `Masking`), the
heads and in-between layers (`Dense`, `Activation`, `LayerNormalization`,
dropout layers as the identity at inference), merges and attention. Each
evaluator takes the layer and its call and returns its outputs and masks;
`_evaluator_for` picks one by exact Keras class.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stacked_keras.keras_catalogue import STACK_LAYERS, layer_stack_class
from stacked_keras.reference.cells import (
    _activation,
    _cell_from_keras,
    cell_from_weights,
    _numpy,
    _run_recurrence,
    _softmax,
)

__all__ = ["SUPPORTED_LAYERS"]


@dataclass
class _LayerCall:
    """One call of a layer: its filled-in arguments and the masks they carry.

    `args`/`kwargs` are the call's arguments with every Keras tensor replaced
    by its NumPy value; `masks`/`kwarg_masks` have the same structure, with
    the Keras mask of each value (None when it carries none).
    """

    args: tuple
    kwargs: dict
    masks: tuple
    kwarg_masks: dict

    @property
    def inputs(self) -> Any:
        return self.args[0] if self.args else self.kwargs.get("inputs")

    @property
    def input_mask(self) -> Any:
        """The mask Keras hands the layer (`mask=`), or that of its first input."""
        explicit = self.kwargs.get("mask")
        if explicit is not None:
            return explicit
        return self.masks[0] if self.args else self.kwarg_masks.get("inputs")


def _flat(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [v for item in value for v in _flat(item)]
    return [value]


def _bool_mask(mask: Any) -> np.ndarray | None:
    if mask is None:
        return None
    return np.asarray(mask).astype(bool)


def _recurrent_mask(call: _LayerCall) -> np.ndarray | None:
    """The mask a recurrent layer runs with.

    Keras fills in `mask=` from the input only when the call has a single
    tensor argument: an `initial_state` given as a tensor turns that off.
    """
    explicit = call.kwargs.get("mask")
    if explicit is not None:
        return _bool_mask(explicit)
    initial_state = call.kwargs.get("initial_state", call.args[1] if len(call.args) > 1 else None)
    if _flat(initial_state):
        return None
    return _bool_mask(call.masks[0] if call.args else None)


def _initial_state(call: _LayerCall) -> list[np.ndarray] | None:
    value = call.kwargs.get("initial_state", call.args[1] if len(call.args) > 1 else None)
    flat = _flat(value)
    return [np.asarray(s, dtype=np.float64) for s in flat] if flat else None


def _check_recurrent_layer(layer: Any) -> None:
    if getattr(layer, "stateful", False):
        raise ValueError(
            f"layer {layer.name!r} is stateful: the NumPy reference computes "
            "from zero (or given) initial states only; use stateful=False"
        )


def _rnn_layer_outputs(
    layer: Any,
    sequence: np.ndarray,
    mask: np.ndarray | None,
    initial_states: list[np.ndarray] | None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Runs one recurrent layer (SimpleRNN, LSTM, GRU, RNN) over a sequence."""
    _check_recurrent_layer(layer)
    cell = _cell_from_keras(layer.cell, f"layer {layer.name!r}")
    return _run_recurrence(
        cell,
        sequence,
        mask,
        initial_states,
        go_backwards=bool(layer.go_backwards),
        zero_output_for_mask=bool(layer.zero_output_for_mask),
        return_sequences=bool(layer.return_sequences),
    )


def _eval_rnn(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    sequence = _sequence_input(layer, call.inputs)
    mask = _recurrent_mask(call)
    output, states = _rnn_layer_outputs(layer, sequence, mask, _initial_state(call))
    # Keras's RNN.compute_mask: the input mask goes on with a sequence output.
    input_mask = call.input_mask
    output_mask = _bool_mask(input_mask) if layer.return_sequences else None
    if layer.return_state:
        return [output, *states], [output_mask] + [None] * len(states)
    return [output], [output_mask]


def _eval_recurrent_stack(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    """`LSTMStack`/`GRUStack`: its L layers chained, each from `layer.layer_weights(i)`.

    Keras's default cell settings (tanh and sigmoid, biases, GRU
    `reset_after=True`); every layer but the top returns its sequence.
    """
    sequence = _sequence_input(layer, call.inputs)
    if _recurrent_mask(call) is not None:
        raise ValueError(
            f"layer {layer.name!r} ({type(layer).__name__}) receives a mask, which it does not "
            f"apply (Keras refuses it too); use the standard {layer.CELL} layers "
            "(deep_rnn(..., fused=False))"
        )
    for index in range(layer.depth):
        kernel, recurrent, bias = (_numpy(w) for w in layer.layer_weights(index))
        cell = cell_from_weights(layer.CELL, kernel, recurrent, bias)
        sequence, _ = _run_recurrence(
            cell, sequence, None, None, go_backwards=False, zero_output_for_mask=False,
            return_sequences=layer.layer_return_sequences(index),
        )
    return [sequence], [None]


def _sequence_input(layer: Any, value: Any) -> np.ndarray:
    if not isinstance(value, np.ndarray) or value.ndim < 3:
        received = f"shape {value.shape}" if isinstance(value, np.ndarray) else type(value).__name__
        raise ValueError(
            f"layer {layer.name!r} needs a sequence input of shape "
            f"(batch, timesteps, features), got {received}"
        )
    return value


def _merge_bidirectional(merge_mode: str | None, y: np.ndarray, y_rev: np.ndarray) -> list[np.ndarray]:
    if merge_mode == "concat":
        return [np.concatenate([y, y_rev], axis=-1)]
    if merge_mode == "sum":
        return [y + y_rev]
    if merge_mode == "ave":
        return [(y + y_rev) / 2.0]
    if merge_mode == "mul":
        return [y * y_rev]
    if merge_mode is None:
        return [y, y_rev]
    raise ValueError(
        f"Bidirectional merge_mode {merge_mode!r} is not one of "
        "'concat', 'sum', 'ave', 'mul', None"
    )


def _eval_bidirectional(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    for inner in (layer.forward_layer, layer.backward_layer):
        if _evaluator_for(inner) is not _eval_rnn:
            raise ValueError(
                f"layer {layer.name!r} wraps {type(inner).__name__}, which is not "
                f"a recurrent layer; Bidirectional needs one of: {', '.join(_RECURRENT_NAMES)}"
            )
    sequence = _sequence_input(layer, call.inputs)
    mask = _recurrent_mask(call)
    initial = _initial_state(call)
    forward_state = backward_state = None
    if initial:
        half = len(initial) // 2
        forward_state, backward_state = initial[:half], initial[half:]
    y, forward_states = _rnn_layer_outputs(layer.forward_layer, sequence, mask, forward_state)
    y_rev, backward_states = _rnn_layer_outputs(layer.backward_layer, sequence, mask, backward_state)
    if layer.return_sequences:
        y_rev = y_rev[:, ::-1]
    outputs = _merge_bidirectional(layer.merge_mode, y, y_rev)
    input_mask = _bool_mask(call.input_mask)
    if layer.return_sequences:
        output_masks = [input_mask] * len(outputs)
    else:
        output_masks = [None] * len(outputs)
    if layer.return_state:
        states = forward_states + backward_states
        return outputs + states, output_masks + [None] * len(states)
    return outputs, output_masks


def _eval_input(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    return [call.inputs], [None]


def _eval_embedding(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    ids = np.asarray(call.inputs)
    if not np.issubdtype(ids.dtype, np.integer):
        ids = ids.astype(np.int32)  # as Keras does: truncation toward zero
    table = _numpy(layer.embeddings)
    if ids.size and (ids.min() < 0 or ids.max() >= table.shape[0]):
        raise ValueError(
            f"layer {layer.name!r}: token ids must be in [0, {table.shape[0] - 1}] "
            f"(input_dim={table.shape[0]}), got values from {ids.min()} to {ids.max()}"
        )
    mask = (ids != 0) if layer.mask_zero else None
    return [table[ids]], [mask]


def _eval_identity(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    """Dropout and noise layers: the identity at inference."""
    return [call.inputs], [_bool_mask(call.input_mask)]


def _eval_masking(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    x = call.inputs
    keep = np.any(x != layer.mask_value, axis=-1)
    return [np.where(keep[..., None], x, 0.0)], [keep]


def _eval_dense(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    x = call.inputs
    y = x @ _numpy(layer.kernel)
    if layer.use_bias:
        y = y + _numpy(layer.bias)
    y = _activation(layer.activation, f"layer {layer.name!r}")(y)
    return [y], [_bool_mask(call.input_mask)]


def _eval_activation(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    y = _activation(layer.activation, f"layer {layer.name!r}")(call.inputs)
    return [y], [_bool_mask(call.input_mask)]


def _eval_layer_normalization(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    x = call.inputs
    axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
    axes = tuple(sorted(a % x.ndim for a in axes))
    if getattr(layer, "rms_scaling", False):
        raise ValueError(
            f"layer {layer.name!r} uses rms_scaling=True (deprecated in Keras), "
            "which the NumPy reference does not implement"
        )
    shape = [1] * x.ndim
    for a in axes:
        shape[a] = x.shape[a]
    mean = x.mean(axis=axes, keepdims=True)
    variance = x.var(axis=axes, keepdims=True)
    y = (x - mean) / np.sqrt(variance + layer.epsilon)
    if layer.scale:
        y = y * _numpy(layer.gamma).reshape(shape)
    if layer.center:
        y = y + _numpy(layer.beta).reshape(shape)
    return [y], [_bool_mask(call.input_mask)]


def _merge_masks_any(masks: Sequence[Any]) -> np.ndarray | None:
    """Keras's merge-layer mask: OR of the masks, None if any input has none."""
    if any(m is None for m in masks):
        return None
    out = _bool_mask(masks[0])
    for m in masks[1:]:
        out = np.logical_or(out, _bool_mask(m))
    return out


def _eval_merge(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    import keras

    values = list(call.inputs)
    masks = list(call.masks[0]) if call.args and isinstance(call.masks[0], (list, tuple)) else [None] * len(values)
    kind = type(layer)
    if kind is keras.layers.Add:
        y = sum(values[1:], values[0])
    elif kind is keras.layers.Subtract:
        y = values[0] - values[1]
    elif kind is keras.layers.Multiply:
        y = values[0]
        for v in values[1:]:
            y = y * v
    elif kind is keras.layers.Average:
        y = sum(values[1:], values[0]) / len(values)
    elif kind is keras.layers.Maximum:
        y = np.maximum.reduce(values)
    elif kind is keras.layers.Minimum:
        y = np.minimum.reduce(values)
    else:  # Concatenate
        y = np.concatenate(values, axis=layer.axis)
        if all(m is None for m in masks):
            return [y], [None]
        # Keras: an unmasked input counts as all True, then any() per timestep.
        time_masks = [np.ones(v.shape[:2], bool) if m is None else _bool_mask(m) for v, m in zip(values, masks)]
        out = time_masks[0]
        for m in time_masks[1:]:
            out = np.logical_or(out, m)
        return [y], [out]
    return [y], [_merge_masks_any(masks)]


def _eval_time_distributed(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    x = call.inputs
    inner = layer.layer
    evaluate = _evaluator_for(inner)
    mask = _bool_mask(call.input_mask)
    steps = []
    for t in range(x.shape[1]):
        step_mask = None if mask is None else mask[:, t]
        outputs, _ = evaluate(inner, _LayerCall((x[:, t],), {}, (step_mask,), {}))
        if len(outputs) != 1:
            raise ValueError(f"layer {layer.name!r}: TimeDistributed needs a layer with one output")
        steps.append(outputs[0])
    return [np.stack(steps, axis=1)], [mask]


def _eval_attention(layer: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    """Luong (`Attention`) and Bahdanau (`AdditiveAttention`) attention.

    scores[q, v] = query_q . key_v (Luong, times `scale` if any), or
    sum(scale * tanh(query_q + key_v)) (Bahdanau); masked values get a score
    1e9 lower; the output is softmax(scores) @ value, zero at masked queries.
    """
    import keras

    inputs = list(call.inputs)
    query, value = inputs[0], inputs[1]
    key = inputs[2] if len(inputs) > 2 else value
    masks = call.input_mask
    query_mask, value_mask = (None, None) if masks is None else (_bool_mask(masks[0]), _bool_mask(masks[1]))
    if type(layer) is keras.layers.AdditiveAttention:
        scale = _numpy(layer.scale) if layer.use_scale else 1.0
        scores = np.sum(scale * np.tanh(query[:, :, None, :] + key[:, None, :, :]), axis=-1)
    elif layer.score_mode == "dot":
        scores = query @ np.swapaxes(key, -2, -1)
        if layer.scale is not None:
            scores = scores * _numpy(layer.scale)
    else:  # "concat"
        scale = _numpy(layer.scale) if layer.scale is not None else 1.0
        scores = _numpy(layer.concat_score_weight) * np.sum(
            np.tanh(scale * (query[:, :, None, :] + key[:, None, :, :])), axis=-1
        )
    allowed = None if value_mask is None else value_mask[:, None, :]
    if call.kwargs.get("use_causal_mask"):
        causal = np.tril(np.ones(scores.shape[-2:], bool))[None]
        allowed = causal if allowed is None else np.logical_and(allowed, causal)
    if allowed is not None:
        scores = np.where(allowed, scores, scores - 1.0e9)
    weights = _softmax(scores)
    output = weights @ value
    if query_mask is not None:
        output = np.where(query_mask[..., None], output, 0.0)
    if call.kwargs.get("return_attention_scores"):
        return [output, weights], [query_mask, None]
    return [output], [query_mask]


# -- the mask operations of a functional graph -----------------------------
# A functional model records how Keras computes masks (Embedding's
# `not_equal(ids, 0)`, the merge layers' `logical_or`, ...) as operations in
# its graph, and hands the result to the next recurrent layer as `mask=`.
# These are the operations that build masks, computed in NumPy.


def _axis(value: Any) -> Any:
    return tuple(value) if isinstance(value, (list, tuple)) else value


_MASK_OPERATIONS: dict[str, Callable[[Any, tuple], np.ndarray]] = {
    "NotEqual": lambda op, a: np.not_equal(a[0], a[1]),
    "Equal": lambda op, a: np.equal(a[0], a[1]),
    "LogicalOr": lambda op, a: np.logical_or(a[0], a[1]),
    "LogicalAnd": lambda op, a: np.logical_and(a[0], a[1]),
    "LogicalNot": lambda op, a: np.logical_not(a[0]),
    "Any": lambda op, a: np.any(a[0], axis=_axis(op.axis), keepdims=op.keepdims),
    "All": lambda op, a: np.all(a[0], axis=_axis(op.axis), keepdims=op.keepdims),
    "ExpandDims": lambda op, a: np.expand_dims(a[0], _axis(op.axis)),
    "Squeeze": lambda op, a: np.squeeze(a[0], axis=_axis(op.axis)),
    "OnesLike": lambda op, a: np.ones_like(a[0], dtype=op.dtype or np.asarray(a[0]).dtype),
    "ZerosLike": lambda op, a: np.zeros_like(a[0], dtype=op.dtype or np.asarray(a[0]).dtype),
    "Concatenate": lambda op, a: np.concatenate(a[0], axis=op.axis),
    "Cast": lambda op, a: np.asarray(a[0]).astype(str(op.dtype)),
    "ConvertToTensor": lambda op, a: np.asarray(a[0]),
}


def _is_mask_operation(operation: Any) -> bool:
    """A `keras.ops` operation (not a layer) of a kind that builds masks."""
    from stacked_keras.keras_private import is_ops_operation

    return is_ops_operation(operation) and type(operation).__name__ in _MASK_OPERATIONS


def _eval_mask_operation(operation: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    return [_MASK_OPERATIONS[type(operation).__name__](operation, call.args)], [None]


# -- dispatch ---------------------------------------------------------------

_RECURRENT_NAMES = ("SimpleRNN", "LSTM", "GRU", "RNN")

_EVALUATORS: dict[str, Callable[[Any, _LayerCall], tuple[list[np.ndarray], list[Any]]]] = {
    "InputLayer": _eval_input,
    "Embedding": _eval_embedding,
    "SimpleRNN": _eval_rnn,
    "LSTM": _eval_rnn,
    "GRU": _eval_rnn,
    "RNN": _eval_rnn,
    "Bidirectional": _eval_bidirectional,
    "Dropout": _eval_identity,
    "SpatialDropout1D": _eval_identity,
    "GaussianNoise": _eval_identity,
    "GaussianDropout": _eval_identity,
    "AlphaDropout": _eval_identity,
    "Masking": _eval_masking,
    "Dense": _eval_dense,
    "Activation": _eval_activation,
    "LayerNormalization": _eval_layer_normalization,
    "Add": _eval_merge,
    "Subtract": _eval_merge,
    "Multiply": _eval_merge,
    "Average": _eval_merge,
    "Maximum": _eval_merge,
    "Minimum": _eval_merge,
    "Concatenate": _eval_merge,
    "TimeDistributed": _eval_time_distributed,
    "Attention": _eval_attention,
    "AdditiveAttention": _eval_attention,
}

# The layer classes `forward` computes, by class name (Keras's, then stacked-keras's
# whole-stack layers, `stacked_keras.grid_layers`, computed as L standard layers chained).
SUPPORTED_LAYERS: tuple[str, ...] = tuple(_EVALUATORS) + tuple(STACK_LAYERS)


def _evaluator_for(layer: Any) -> Callable[[Any, _LayerCall], tuple[list[np.ndarray], list[Any]]]:
    """The NumPy evaluator of a layer; only exact Keras classes qualify.

    A subclass may override `call`, so it is not assumed to compute what its
    parent computes; stacked-keras's own layers (`graph.OWN_LAYERS`) are
    tested to compute exactly like theirs and are evaluated as them.
    """
    import keras

    if _is_mask_operation(layer):
        return _eval_mask_operation
    from stacked_keras.graph import OWN_LAYERS

    registered = keras.saving.get_registered_name(type(layer))
    if layer_stack_class(type(layer)) is not None:  # LSTMStack / GRUStack: L standard layers chained
        return _eval_recurrent_stack
    name = type(layer).__name__
    keras_class = getattr(keras.layers, name, None)
    own = OWN_LAYERS.get(registered)
    if own is not None:  # stacked-keras's layers compute exactly like these
        name, keras_class = own, type(layer)
    if name not in _EVALUATORS or type(layer) is not keras_class:
        kind = "layer" if isinstance(layer, keras.layers.Layer) else "operation"
        raise ValueError(
            f"{kind} {getattr(layer, 'name', layer)!r} is a {type(layer).__module__}.{name}, "
            "which the NumPy reference does not implement; supported layers: "
            f"{', '.join(SUPPORTED_LAYERS)}"
        )
    return _EVALUATORS[name]

"""NumPy forward pass of a stack, straight from the equations.

The seed writes one cell of a deep RNN, at time t in layer L, as

    H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L)

with `W^L` the recurrent (horizontal) weights, `U^L` the weights of the
vertical input coming from the layer below and `B^L` the bias. This module
computes a whole Keras model's inference output in NumPy from that equation
(and the standard gate equations for LSTM and GRU), reading only the model's
weights: nothing here asks Keras to compute anything. Comparing its result
with `model(x)` checks that the stack really computes what the equations say.

Keras stores the weights of a recurrent cell as `kernel` (the input weights,
the seed's `U^L`, shape `(input_dim, gates * units)`), `recurrent_kernel` (the
seed's `W^L`, shape `(units, gates * units)`) and `bias` (`B^L`). Keras works
with row vectors (a batch of rows), so the seed's `W^L H_{t-1}^L` is written
`H_{t-1} @ W` here: the same product, transposed.

Everything is computed in float64 and returned as float64 arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "forward",
    "simple_rnn_step",
    "lstm_step",
    "gru_step",
    "ACTIVATIONS",
    "SUPPORTED_LAYERS",
    "SUPPORTED_CELLS",
]


# -- activations ------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """The logistic function 1 / (1 + exp(-x)), without overflow for large |x|."""
    positive = x >= 0
    safe = np.where(positive, -x, x)  # always <= 0, so exp never overflows
    e = np.exp(safe)
    return np.where(positive, 1.0 / (1.0 + e), e / (1.0 + e))


def _hard_sigmoid(x: np.ndarray) -> np.ndarray:
    """Keras 3's piecewise-linear sigmoid: relu6(x + 3) / 6."""
    return np.clip(x + 3.0, 0.0, 6.0) / 6.0


def _softmax(x: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = x - np.max(x, axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=-1, keepdims=True)


def _elu(x: np.ndarray) -> np.ndarray:
    return np.where(x > 0, x, np.expm1(np.minimum(x, 0.0)))


def _selu(x: np.ndarray) -> np.ndarray:
    alpha = 1.6732632423543772848170429916717
    scale = 1.0507009873554804934193349852946
    return scale * np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0.0)))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.logaddexp(0.0, x)


# Activation name (as Keras names its functions) -> NumPy implementation.
ACTIVATIONS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "hard_sigmoid": _hard_sigmoid,
    "relu": lambda x: np.maximum(x, 0.0),
    "relu6": lambda x: np.clip(x, 0.0, 6.0),
    "softmax": _softmax,
    "elu": _elu,
    "selu": _selu,
    "softplus": _softplus,
    "softsign": lambda x: x / (1.0 + np.abs(x)),
    "silu": lambda x: x * _sigmoid(x),
    "exponential": np.exp,
}


def _activation(fn: Any, where: str) -> Callable[[np.ndarray], np.ndarray]:
    """The NumPy version of a Keras activation function, found by its name."""
    if fn is None:
        return ACTIVATIONS["linear"]
    name = getattr(fn, "__name__", None)
    if name not in ACTIVATIONS:
        raise ValueError(
            f"{where} uses the activation {name or fn!r}, which the NumPy "
            f"reference does not implement; supported activations: "
            f"{', '.join(sorted(ACTIVATIONS))}"
        )
    return ACTIVATIONS[name]


# -- the cell equations -----------------------------------------------------


def simple_rnn_step(
    h_prev: np.ndarray,
    x_t: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray | None = None,
    activation: Callable[[np.ndarray], np.ndarray] = np.tanh,
) -> np.ndarray:
    """One timestep of a simple RNN cell: the seed's equation.

    Computes

        H_t = tanh(H_{t-1} W + X_t U + B)

    which is the seed's `H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L)`
    written for row vectors, where `X_t` is the layer's vertical input (the
    output `H_t^{L-1}` of the layer below, or the model input for L = 1).

    Args:
        h_prev: `H_{t-1}`, the previous hidden state, shape `(batch, units)`.
        x_t: `X_t`, the input at time t, shape `(batch, input_dim)`.
        W: the recurrent weights (Keras's `recurrent_kernel`),
            shape `(units, units)`.
        U: the input weights (Keras's `kernel`), shape `(input_dim, units)`.
        b: the bias `B`, shape `(units,)`, or None for no bias.
        activation: the activation, `tanh` by default.

    Returns:
        `H_t`, shape `(batch, units)`.

    Example:

    >>> h = simple_rnn_step(np.zeros((1, 2)), np.ones((1, 3)),
    ...                     W=np.eye(2), U=np.zeros((3, 2)), b=np.zeros(2))
    >>> h.tolist()
    [[0.0, 0.0]]
    """
    z = h_prev @ W + x_t @ U
    if b is not None:
        z = z + b
    return activation(z)


def _gate_slices(weights: np.ndarray, gates: int) -> list[np.ndarray]:
    """Splits Keras's side-by-side gate matrices (last axis) into one per gate."""
    return np.split(weights, gates, axis=-1)


def lstm_step(
    h_prev: np.ndarray,
    c_prev: np.ndarray,
    x_t: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray | None = None,
    activation: Callable[[np.ndarray], np.ndarray] = np.tanh,
    recurrent_activation: Callable[[np.ndarray], np.ndarray] = _sigmoid,
) -> tuple[np.ndarray, np.ndarray]:
    """One timestep of an LSTM cell: the standard gate equations.

    Keras stores the four gates side by side, in the order input (i),
    forget (f), cell candidate (c), output (o): `U = [U_i | U_f | U_c | U_o]`,
    and the same for `W` and `b`. With sigma the recurrent activation
    (sigmoid):

        i_t = sigma(X_t U_i + H_{t-1} W_i + b_i)
        f_t = sigma(X_t U_f + H_{t-1} W_f + b_f)
        g_t = tanh(X_t U_c + H_{t-1} W_c + b_c)
        o_t = sigma(X_t U_o + H_{t-1} W_o + b_o)
        C_t = f_t * C_{t-1} + i_t * g_t
        H_t = o_t * tanh(C_t)

    Args:
        h_prev: `H_{t-1}`, shape `(batch, units)`.
        c_prev: `C_{t-1}`, the previous cell (carry) state, shape `(batch, units)`.
        x_t: `X_t`, shape `(batch, input_dim)`.
        W: the recurrent weights, shape `(units, 4 * units)`.
        U: the input weights, shape `(input_dim, 4 * units)`.
        b: the bias, shape `(4 * units,)`, or None for no bias.
        activation: the activation of the candidate and of the output, `tanh`.
        recurrent_activation: the gates' activation, sigmoid.

    Returns:
        `(H_t, C_t)`, each of shape `(batch, units)`.

    Example:

    >>> h, c = lstm_step(np.zeros((1, 2)), np.zeros((1, 2)), np.ones((1, 3)),
    ...                  W=np.zeros((2, 8)), U=np.zeros((3, 8)))
    >>> c.tolist()
    [[0.0, 0.0]]
    """
    U_i, U_f, U_c, U_o = _gate_slices(U, 4)
    W_i, W_f, W_c, W_o = _gate_slices(W, 4)
    if b is None:
        b_i = b_f = b_c = b_o = 0.0
    else:
        b_i, b_f, b_c, b_o = _gate_slices(b, 4)
    i = recurrent_activation(x_t @ U_i + h_prev @ W_i + b_i)
    f = recurrent_activation(x_t @ U_f + h_prev @ W_f + b_f)
    g = activation(x_t @ U_c + h_prev @ W_c + b_c)
    o = recurrent_activation(x_t @ U_o + h_prev @ W_o + b_o)
    c = f * c_prev + i * g
    h = o * activation(c)
    return h, c


def gru_step(
    h_prev: np.ndarray,
    x_t: np.ndarray,
    W: np.ndarray,
    U: np.ndarray,
    b: np.ndarray | None = None,
    activation: Callable[[np.ndarray], np.ndarray] = np.tanh,
    recurrent_activation: Callable[[np.ndarray], np.ndarray] = _sigmoid,
    reset_after: bool = True,
) -> np.ndarray:
    """One timestep of a GRU cell, in both of Keras's variants.

    Keras stores the three gates side by side, in the order update (z),
    reset (r), candidate (h): `U = [U_z | U_r | U_h]`, the same for `W`.
    With sigma the recurrent activation (sigmoid):

        z_t = sigma(X_t U_z + b_z + H_{t-1} W_z + b'_z)
        r_t = sigma(X_t U_r + b_r + H_{t-1} W_r + b'_r)

    With `reset_after=True` (Keras's default, the cuDNN variant), the reset
    gate is applied after the recurrent product, and there are two biases per
    gate: `b` (input) and `b'` (recurrent), stored as `bias[0]` and `bias[1]`:

        g_t = tanh(X_t U_h + b_h + r_t * (H_{t-1} W_h + b'_h))

    With `reset_after=False` (the original GRU), there is one bias per gate
    (`b' = 0`) and the reset gate is applied before it:

        g_t = tanh(X_t U_h + b_h + (r_t * H_{t-1}) W_h)

    and in both variants

        H_t = z_t * H_{t-1} + (1 - z_t) * g_t

    Args:
        h_prev: `H_{t-1}`, shape `(batch, units)`.
        x_t: `X_t`, shape `(batch, input_dim)`.
        W: the recurrent weights, shape `(units, 3 * units)`.
        U: the input weights, shape `(input_dim, 3 * units)`.
        b: the bias: shape `(2, 3 * units)` with `reset_after=True`,
            `(3 * units,)` otherwise; None for no bias.
        activation: the candidate's activation, `tanh`.
        recurrent_activation: the gates' activation, sigmoid.
        reset_after: which variant; Keras's default is True.

    Returns:
        `H_t`, shape `(batch, units)`.

    Example:

    >>> h = gru_step(np.ones((1, 2)), np.ones((1, 3)),
    ...              W=np.zeros((2, 6)), U=np.zeros((3, 6)))
    >>> h.tolist()  # z = 0.5, g = 0: H_t = 0.5 * H_{t-1}
    [[0.5, 0.5]]
    """
    U_z, U_r, U_h = _gate_slices(U, 3)
    W_z, W_r, W_h = _gate_slices(W, 3)
    if b is None:
        b_z = b_r = b_h = 0.0
        rb_z = rb_r = rb_h = 0.0
    elif reset_after:
        b = np.asarray(b)
        if b.ndim != 2 or b.shape[0] != 2:
            raise ValueError(
                "b of a GRU with reset_after=True must have shape "
                f"(2, 3 * units) (input and recurrent bias), got {b.shape}"
            )
        b_z, b_r, b_h = _gate_slices(b[0], 3)
        rb_z, rb_r, rb_h = _gate_slices(b[1], 3)
    else:
        b_z, b_r, b_h = _gate_slices(b, 3)
        rb_z = rb_r = rb_h = 0.0
    z = recurrent_activation(x_t @ U_z + b_z + h_prev @ W_z + rb_z)
    r = recurrent_activation(x_t @ U_r + b_r + h_prev @ W_r + rb_r)
    if reset_after:
        g = activation(x_t @ U_h + b_h + r * (h_prev @ W_h + rb_h))
    else:
        g = activation(x_t @ U_h + b_h + (r * h_prev) @ W_h)
    return z * h_prev + (1.0 - z) * g


# -- cells read from Keras --------------------------------------------------


def _numpy(variable: Any) -> np.ndarray:
    """A weight's value as a float64 array."""
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float64)


@dataclass
class _Cell:
    """A recurrent cell's step, with its weights read out of Keras.

    `step(x_t, states) -> (output, new_states)` where `states` is a flat list
    of arrays; `state_units` gives the width of each state.
    """

    step: Callable[[np.ndarray, list[np.ndarray]], tuple[np.ndarray, list[np.ndarray]]]
    state_units: list[int]


def _cell_from_keras(cell: Any, where: str) -> _Cell:
    """Reads a Keras cell's weights and settings into its NumPy step."""
    import keras

    kind = type(cell)
    if kind is keras.layers.StackedRNNCells:
        inner = [_cell_from_keras(c, f"{where} cell {i}") for i, c in enumerate(cell.cells)]
        spans = []
        start = 0
        for c in inner:
            spans.append((start, start + len(c.state_units)))
            start += len(c.state_units)

        def stacked_step(x_t, states):
            new_states: list[np.ndarray] = []
            for c, (lo, hi) in zip(inner, spans):
                x_t, s = c.step(x_t, states[lo:hi])
                new_states.extend(s)
            return x_t, new_states

        return _Cell(stacked_step, [u for c in inner for u in c.state_units])

    if kind not in (keras.layers.SimpleRNNCell, keras.layers.LSTMCell, keras.layers.GRUCell):
        raise ValueError(
            f"{where} uses the cell {kind.__name__}, which the NumPy reference "
            f"does not implement; supported cells: {', '.join(SUPPORTED_CELLS)}"
        )
    if not cell.built:
        raise ValueError(f"{where} is not built: build the model before computing its reference output")
    U = _numpy(cell.kernel)
    W = _numpy(cell.recurrent_kernel)
    b = _numpy(cell.bias) if cell.use_bias else None
    activation = _activation(cell.activation, where)
    units = cell.units

    if kind is keras.layers.SimpleRNNCell:

        def simple_step(x_t, states):
            h = simple_rnn_step(states[0], x_t, W, U, b, activation)
            return h, [h]

        return _Cell(simple_step, [units])

    recurrent_activation = _activation(cell.recurrent_activation, where)
    if kind is keras.layers.LSTMCell:

        def lstm_cell_step(x_t, states):
            h, c = lstm_step(states[0], states[1], x_t, W, U, b, activation, recurrent_activation)
            return h, [h, c]

        return _Cell(lstm_cell_step, [units, units])

    reset_after = bool(cell.reset_after)

    def gru_cell_step(x_t, states):
        h = gru_step(states[0], x_t, W, U, b, activation, recurrent_activation, reset_after)
        return h, [h]

    return _Cell(gru_cell_step, [units])


def _run_recurrence(
    cell: _Cell,
    sequence: np.ndarray,
    mask: np.ndarray | None,
    initial_states: list[np.ndarray] | None,
    *,
    go_backwards: bool,
    zero_output_for_mask: bool,
    return_sequences: bool,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Runs a cell over the time axis, with Keras's masking semantics.

    Follows `keras.backend.rnn`: with `go_backwards` the steps run from the
    last timestep to the first and the output sequence comes back in that
    (reversed) order. At a masked timestep the states are carried over
    unchanged, and the output is the previous step's output (zeros before
    the first unmasked step), or zeros when `zero_output_for_mask`. The last
    output is the output of the last step run.

    Returns:
        `(output, final_states)`: the output is `(batch, timesteps, units)`
        with `return_sequences`, `(batch, units)` otherwise.
    """
    batch, timesteps = sequence.shape[0], sequence.shape[1]
    if initial_states is None:
        states = [np.zeros((batch, u)) for u in cell.state_units]
    else:
        states = [np.asarray(s, dtype=np.float64) for s in initial_states]
    order = range(timesteps - 1, -1, -1) if go_backwards else range(timesteps)
    outputs: list[np.ndarray] = []
    previous_output: np.ndarray | None = None
    for t in order:
        output, new_states = cell.step(sequence[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            if previous_output is None or zero_output_for_mask:
                fallback = np.zeros_like(output)
            else:
                fallback = previous_output
            output = np.where(keep, output, fallback)
            new_states = [np.where(keep, new, old) for new, old in zip(new_states, states)]
        states = new_states
        previous_output = output
        outputs.append(output)
    if return_sequences:
        return np.stack(outputs, axis=1), states
    return outputs[-1], states


# -- layers -----------------------------------------------------------------


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
    import keras

    return (
        not isinstance(operation, keras.layers.Layer)
        and type(operation).__module__.startswith("keras.src.ops")
        and type(operation).__name__ in _MASK_OPERATIONS
    )


def _eval_mask_operation(operation: Any, call: _LayerCall) -> tuple[list[np.ndarray], list[Any]]:
    return [_MASK_OPERATIONS[type(operation).__name__](operation, call.args)], [None]


# -- dispatch ---------------------------------------------------------------

_RECURRENT_NAMES = ("SimpleRNN", "LSTM", "GRU", "RNN")
SUPPORTED_CELLS = ("SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells")

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

# The layer classes `forward` computes, by Keras class name.
SUPPORTED_LAYERS: tuple[str, ...] = tuple(_EVALUATORS)


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

    name = type(layer).__name__
    keras_class = getattr(keras.layers, name, None)
    own = OWN_LAYERS.get(keras.saving.get_registered_name(type(layer)))
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


# -- models -----------------------------------------------------------------


def _map_structure(fn: Callable[[Any], Any], value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return type(value)(_map_structure(fn, v) for v in value)
    if isinstance(value, Mapping):
        return {k: _map_structure(fn, v) for k, v in value.items()}
    return fn(value)


def _evaluate_sequential(model: Any, value: np.ndarray) -> tuple[list[np.ndarray], list[Any]]:
    mask = None
    outputs = [value]
    for layer in model.layers:
        evaluate = _evaluator_for(layer)
        outputs, masks = evaluate(layer, _LayerCall((value,), {}, (mask,), {}))
        if len(outputs) != 1:
            raise ValueError(
                f"layer {layer.name!r} has {len(outputs)} outputs; in a Sequential "
                "model every layer must have one (use merge_mode other than None, "
                "return_state=False)"
            )
        value, mask = outputs[0], masks[0]
    return [value], [mask]


def _evaluate_functional(model: Any, inputs: list[np.ndarray]) -> list[np.ndarray]:
    """Evaluates a functional model's graph node by node, deepest first.

    The same walk as Keras's own `Function._run_through_graph`: nodes grouped
    by depth, from the inputs (deepest) to the outputs; each tensor's NumPy
    value and mask are kept by the identity of its symbolic Keras tensor.
    """
    from keras import KerasTensor

    values: dict[int, Any] = {}
    masks: dict[int, Any] = {}
    for tensor, value in zip(model.inputs, inputs):
        values[id(tensor)] = value
        masks[id(tensor)] = None

    def value_of(x: Any) -> Any:
        return values[id(x)] if isinstance(x, KerasTensor) else x

    def mask_of(x: Any) -> Any:
        return masks.get(id(x)) if isinstance(x, KerasTensor) else None

    nodes_by_depth = model._nodes_by_depth  # Keras's own evaluation order
    for depth in sorted(nodes_by_depth, reverse=True):
        for node in nodes_by_depth[depth]:
            if node.operation is None or node.is_input:
                continue
            if any(id(t) not in values for t in node.input_tensors):
                continue
            layer = node.operation
            evaluate = _evaluator_for(layer)
            args = node.arguments.args
            kwargs = {k: v for k, v in node.arguments.kwargs.items() if k != "training"}
            call = _LayerCall(
                _map_structure(value_of, args),
                _map_structure(value_of, kwargs),
                _map_structure(mask_of, args),
                _map_structure(mask_of, kwargs),
            )
            outputs, output_masks = evaluate(layer, call)
            if len(outputs) != len(node.outputs):
                raise ValueError(
                    f"layer {layer.name!r}: the reference computed {len(outputs)} "
                    f"outputs where the model has {len(node.outputs)}"
                )
            for tensor, value, mask in zip(node.outputs, outputs, output_masks):
                values[id(tensor)] = value
                masks[id(tensor)] = mask
    missing = [t.name for t in model.outputs if id(t) not in values]
    if missing:
        raise ValueError(f"model {model.name!r}: outputs {missing} are not connected to its inputs")
    return [values[id(t)] for t in model.outputs]


def _standardize_inputs(model: Any, x: Any) -> list[np.ndarray]:
    """Checks `x` against the model's inputs and converts it as Keras would."""
    import keras

    symbolic = list(model.inputs)
    if isinstance(x, Mapping):
        names = [t.name for t in symbolic]
        unknown = sorted(set(x) - set(names))
        if unknown or len(x) != len(names):
            raise ValueError(f"x has keys {sorted(x)}, but the model's inputs are {names}")
        given = [x[n] for n in names]
    elif isinstance(x, (list, tuple)) and len(symbolic) > 1:
        given = list(x)
    else:
        given = [x]
    if len(given) != len(symbolic):
        raise ValueError(
            f"x holds {len(given)} arrays but model {model.name!r} has "
            f"{len(symbolic)} inputs: pass a list with one array per input"
        )
    converted = []
    for i, (tensor, value) in enumerate(zip(symbolic, given)):
        label = "x" if len(symbolic) == 1 else f"x[{i}]"
        try:
            array = np.asarray(keras.ops.convert_to_numpy(value) if not isinstance(value, np.ndarray) else value)
        except Exception as error:  # not array-like
            raise ValueError(f"{label} must be an array, got {type(value).__name__}: {error}") from None
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise ValueError(f"{label} must hold numbers, got dtype {array.dtype}")
        expected = tuple(tensor.shape)
        if array.ndim != len(expected) or any(
            e is not None and e != a for e, a in zip(expected[1:], array.shape[1:])
        ):
            raise ValueError(
                f"{label} must have shape {expected} (None: any size), got {array.shape}"
            )
        dtype = keras.backend.standardize_dtype(tensor.dtype)
        if "int" in dtype:
            array = array.astype(np.int64) if np.issubdtype(array.dtype, np.integer) else array.astype(dtype)
        else:
            # Keras hands the model inputs in the input's dtype (float32 by
            # default): round to it first, then compute in float64.
            array = array.astype(dtype).astype(np.float64)
        converted.append(array)
    return converted


def forward(model: Any, x: Any) -> np.ndarray | list[np.ndarray]:
    """Computes a Keras model's inference output in NumPy, from its weights.

    Walks the model layer by layer (a `Sequential` in order, a functional
    model through its graph) and computes each layer from the equations:
    `simple_rnn_step`, `lstm_step` and `gru_step` for the recurrent cells,
    with Keras's masking, `go_backwards` and `Bidirectional` merge semantics,
    and the plain formulas for the other layers. Dropout is the identity, as
    at inference. Keras computes nothing here: the weights are read, the rest
    is NumPy in float64.

    Masking follows Keras's generic RNN loop (`keras.backend.rnn`, the path
    taken on CPU): at a masked timestep the state is carried over; the output
    there is the previous step's output (zeros before the first unmasked
    step), or zeros inside a `Bidirectional` that returns sequences (Keras
    sets `zero_output_for_mask` there). A layer with `go_backwards=True`
    returns its sequence in reversed time order; `Bidirectional` flips the
    backward sequence back before merging. (On a GPU, cuDNN puts zeros at
    masked steps of a returned sequence of a plain LSTM/GRU too.)

    Supported layers: InputLayer, Embedding (with `mask_zero`), SimpleRNN,
    LSTM, GRU (`reset_after` True or False), RNN over SimpleRNNCell,
    LSTMCell, GRUCell or a list of them, Bidirectional (merge modes concat,
    sum, mul, ave, None), Dropout and the noise layers, Masking, Dense,
    Activation, LayerNormalization, Add, Subtract, Multiply, Average,
    Maximum, Minimum, Concatenate, Attention, AdditiveAttention,
    TimeDistributed over any of these.

    Args:
        model: a built `keras.Model` (`Sequential` or functional).
        x: the input batch, an array of the model's input shape (token ids
            for a model starting with an `Embedding`); for a model with
            several inputs, a list with one array per input or a dict keyed
            by input name.

    Returns:
        The model's output as a float64 NumPy array, or a list of arrays for
        a model with several outputs.

    Raises:
        ValueError: if `model` is not a built Keras model, if `x` does not
            match its inputs, or if the model holds a layer, cell or
            activation the reference does not implement (the message names
            it and lists the supported ones).

    Example:

    >>> import keras, numpy as np
    >>> model = keras.Sequential([keras.Input((5, 3)),
    ...                           keras.layers.SimpleRNN(3, return_sequences=True),
    ...                           keras.layers.SimpleRNN(2)])
    >>> x = np.random.rand(4, 5, 3).astype("float32")
    >>> bool(np.abs(forward(model, x) - model(x)).max() < 1e-5)
    True
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built or not getattr(model, "inputs", None):
        raise ValueError(
            f"model {model.name!r} is not built, so it has no weights to compute "
            "with: give it an input shape (keras.Input(shape=...)) or call "
            "model.build((batch, timesteps, features)) first"
        )
    inputs = _standardize_inputs(model, x)
    if isinstance(model, keras.Sequential):
        outputs, _ = _evaluate_sequential(model, inputs[0])
    else:
        outputs = _evaluate_functional(model, inputs)
    outputs = [np.asarray(o, dtype=np.float64) for o in outputs]
    return outputs[0] if len(outputs) == 1 else outputs

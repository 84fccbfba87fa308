"""The recurrent cells of the NumPy reference, straight from their equations.

Activations by their Keras names, the step of a SimpleRNN, LSTM and GRU cell
(the seed's `H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L)` and the
standard gate equations), a Keras cell's weights read into such a step, and
the loop that runs a step over time with masks and initial states. Weights
are float64; Keras's row-vector convention is kept (`H_{t-1} @ W`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ACTIVATIONS", "SUPPORTED_CELLS", "gru_step", "lstm_step", "simple_rnn_step"]

# The Keras cell classes the reference computes.
SUPPORTED_CELLS = ("SimpleRNNCell", "LSTMCell", "GRUCell", "StackedRNNCells")


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
    return cell_from_weights(
        kind.__name__[: -len("Cell")],
        _numpy(cell.kernel),
        _numpy(cell.recurrent_kernel),
        _numpy(cell.bias) if cell.use_bias else None,
        activation=_activation(cell.activation, where),
        recurrent_activation=_activation(getattr(cell, "recurrent_activation", None), where),
        reset_after=bool(getattr(cell, "reset_after", False)),
    )


def cell_from_weights(
    kind: str,
    U: np.ndarray,
    W: np.ndarray,
    b: np.ndarray | None,
    *,
    activation: Callable[[np.ndarray], np.ndarray] = np.tanh,
    recurrent_activation: Callable[[np.ndarray], np.ndarray] = _sigmoid,
    reset_after: bool = True,
) -> _Cell:
    """The NumPy step of a `"SimpleRNN"`, `"LSTM"` or `"GRU"` cell from its weights.

    `U` is Keras's `kernel`, `W` its `recurrent_kernel`, `b` its `bias`
    (`None`: no bias), in the Keras cells' shapes and gate orders; the
    defaults are Keras's default cell settings.
    """
    units = int(W.shape[0])
    if kind == "SimpleRNN":

        def simple_step(x_t, states):
            h = simple_rnn_step(states[0], x_t, W, U, b, activation)
            return h, [h]

        return _Cell(simple_step, [units])

    if kind == "LSTM":

        def lstm_cell_step(x_t, states):
            h, c = lstm_step(states[0], states[1], x_t, W, U, b, activation, recurrent_activation)
            return h, [h, c]

        return _Cell(lstm_cell_step, [units, units])

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


"""LSTM and GRU layers that project every timestep's input in one matrix product.

A Keras `LSTM` or `GRU` layer without a GPU runs its cell once per timestep,
and each step computes both products of the gate equation,

    z_t = X_t U + H_{t-1} W + B

inside the time loop (Keras's `RNN.inner_loop` calls `LSTMCell.call` at every
step). Only the second product depends on the previous step. `FusedLSTM` and
`FusedGRU` compute the first one for all timesteps at once, before the loop,
as one `(batch * timesteps, features) x (features, gates * units)` product,
the way cuDNN does, and loop only over `H_{t-1} W`. The loop runs time-major,
so no `(batch, timesteps, gates * units)` tensor is ever transposed.

They are the Keras layers with another inner loop, nothing else: same
arguments, same weights (`layer.cell.kernel`, `recurrent_kernel`, `bias`),
same `get_config`, same outputs and gradients to float32 rounding. Where the
projected loop does not apply they run their parent's code unchanged:

- on a GPU with cuDNN-eligible settings (`use_cudnn="auto"`), and always with
  `use_cudnn=True`: the parent's cuDNN kernel;
- recurrent dropout while training, and `implementation=1` cells: the
  parent's per-step loop.

Masks, input dropout (one mask for all timesteps, as Keras draws it),
`go_backwards`, `unroll`, `stateful`, `return_state` and `Bidirectional`
wrapping behave as in the parent layers. Both classes are registered for
Keras serialization as `stacked_keras>FusedLSTM` and `stacked_keras>FusedGRU`:
`.keras` and `.h5` files made with them load wherever this module has been
imported (importing `stacked_keras.layers` registers them).

Measured on a 2-core AMD EPYC (TensorFlow 2.21, batch 64, 100 timesteps,
3 layers of 128 units), the projected loop is *not* faster there: the per-step
`(64, 128) x (128, 512)` products already run at the core's peak, so moving
half of them into one large product saves nothing, while the wide projected
sequence costs memory traffic (forward 60.7 ms against 48.5 ms per batch,
a training step 155.6 against 123.9 ms; single-thread CPU time 64 against
62 ms and 210 against 193 ms). The builders therefore keep the standard
layers; these classes are for machines where the measurement says otherwise
(`python -m benchmarks.rnn --fused`).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from stacked_keras.keras_private import cudnn_ok, rnn

__all__ = ["FUSED_LAYERS", "FusedGRU", "FusedLSTM", "fused_counterpart"]


def _dropped_inputs(cell: Any, sequences: Any, training: bool) -> Any:
    """The inputs after the cell's input dropout: one mask for every timestep.

    `RNN.call` has drawn and cached the mask already (`get_dropout_mask`
    returns the cached one), and Keras's cell multiplies every timestep's
    input by that same mask, so masking the whole sequence at once computes
    the same values.
    """
    if training and 0.0 < cell.dropout < 1.0:
        mask = cell.get_dropout_mask(sequences[:, 0, :])
        return sequences * ops.expand_dims(mask, axis=1)
    return sequences


def _project_time_major(sequences: Any, kernel: Any, bias: Any) -> Any:
    """`X @ kernel + bias` for all timesteps at once, time-major.

    Transposes the (narrow) input to `(timesteps, batch, features)` first,
    then makes one 2-D product, so the wide `(.., gates * units)` result
    comes out in the order the time loop reads it.
    """
    time_major = ops.transpose(sequences, (1, 0, 2))
    shape = ops.shape(time_major)
    flat = ops.reshape(time_major, (-1, sequences.shape[-1]))
    projected = ops.matmul(flat, kernel)
    if bias is not None:
        projected = ops.add(projected, bias)
    return ops.reshape(projected, (shape[0], shape[1], kernel.shape[-1]))


def _run_time_loop(layer: Any, step: Any, projected: Any, initial_state: list, mask: Any) -> Any:
    """Runs `step` over the time-major projected inputs with Keras's own loop.

    Returns `(last_output, outputs, states)` with `outputs` batch-major, as
    `RNN.inner_loop` does.
    """
    if mask is not None:
        mask = ops.transpose(mask, (1, 0))
    if (
        keras.backend.backend() == "tensorflow"
        and projected.shape[0] is None
        and projected.shape[1] is not None
    ):
        # TensorFlow's loop takes `input_length or inputs.shape[1]` as the
        # number of steps: with an unknown time length that would be the
        # batch size of time-major inputs. Hiding the static batch size makes
        # it run to the tensor's real length.
        import tensorflow as tf

        projected = tf.compat.v1.placeholder_with_default(
            projected, [None, None, projected.shape[2]]
        )
    last_output, outputs, states = rnn(
        step,
        projected,
        initial_state,
        go_backwards=layer.go_backwards,
        mask=mask,
        unroll=layer.unroll,
        input_length=projected.shape[0],
        time_major=True,
        zero_output_for_mask=layer.zero_output_for_mask,
        return_all_outputs=layer.return_sequences,
    )
    return last_output, ops.transpose(outputs, (1, 0, 2)), list(states)


@keras.saving.register_keras_serializable(package="stacked_keras")
class FusedLSTM(keras.layers.LSTM):
    """Long Short-Term Memory layer that projects all timesteps' inputs at once.

    A `keras.layers.LSTM` (same arguments, weights, config and results) whose
    time loop, off cuDNN, computes `X_t U + B` for every timestep in one
    matrix product before the loop and only `H_{t-1} W` inside it. On a GPU
    with cuDNN-eligible settings, with `use_cudnn=True`, with recurrent
    dropout while training and with `implementation=1` it runs exactly the
    parent's code. See the module docstring for the details.

    Args:
        units: Positive integer, dimensionality of the output space.
        **kwargs: every other argument of `keras.layers.LSTM` (activation,
            recurrent_activation, use_bias, initializers, regularizers,
            constraints, dropout, recurrent_dropout, seed, return_sequences,
            return_state, go_backwards, stateful, unroll, use_cudnn, name,
            ...), with the same meaning and defaults.

    Returns:
        Called on a `(batch, timesteps, features)` tensor: what
        `keras.layers.LSTM` returns, `(batch, units)` or, with
        `return_sequences=True`, `(batch, timesteps, units)` (plus the final
        states with `return_state=True`).

    Raises:
        ValueError: for invalid arguments, as `keras.layers.LSTM` does.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 5, 3).astype("float32")
    >>> fused = FusedLSTM(4, return_sequences=True)
    >>> standard = keras.layers.LSTM(4, return_sequences=True)
    >>> _ = fused(x), standard(x)
    >>> standard.set_weights(fused.get_weights())
    >>> bool(np.allclose(fused(x), standard(x), atol=1e-6))
    True
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if keras.tree.is_nested(mask):
            mask = mask[0]
        if not self._projects_inputs_at_once(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        cell = self.cell
        projected = _project_time_major(
            _dropped_inputs(cell, sequences, training),
            cell.kernel,
            cell.bias if cell.use_bias else None,
        )
        recurrent_kernel = ops.convert_to_tensor(cell.recurrent_kernel)
        activation = cell.activation
        recurrent_activation = cell.recurrent_activation

        def step(projected_t, states):
            h_previous, c_previous = states
            z = ops.add(projected_t, ops.matmul(h_previous, recurrent_kernel))
            z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
            i = recurrent_activation(z_i)
            f = recurrent_activation(z_f)
            c = f * c_previous + i * activation(z_c)
            o = recurrent_activation(z_o)
            h = o * activation(c)
            return h, [h, c]

        return _run_time_loop(self, step, projected, list(initial_state), mask)

    def _projects_inputs_at_once(self, training: bool) -> bool:
        """Whether the projected loop runs (else the parent's code does)."""
        cell = self.cell
        if self.use_cudnn is True or getattr(cell, "implementation", 2) == 1:
            return False
        if training and 0.0 < cell.recurrent_dropout < 1.0:
            return False
        if self.use_cudnn == "auto" and not self.recurrent_dropout:
            # The parent hands eligible settings to cuDNN when a GPU is visible.
            return not cudnn_ok(
                cell.activation, cell.recurrent_activation, self.unroll, cell.use_bias
            )
        return True


@keras.saving.register_keras_serializable(package="stacked_keras")
class FusedGRU(keras.layers.GRU):
    """Gated Recurrent Unit layer that projects all timesteps' inputs at once.

    A `keras.layers.GRU` (same arguments, weights, config and results) whose
    time loop, off cuDNN, computes `X_t U + B_input` for every timestep in one
    matrix product before the loop and only the recurrent product inside it,
    for both `reset_after=True` (the default) and `reset_after=False`. On a
    GPU with cuDNN-eligible settings, with `use_cudnn=True`, with recurrent
    dropout while training and with `implementation=1` it runs exactly the
    parent's code. See the module docstring for the details.

    Args:
        units: Positive integer, dimensionality of the output space.
        **kwargs: every other argument of `keras.layers.GRU` (activation,
            recurrent_activation, use_bias, reset_after, initializers,
            regularizers, constraints, dropout, recurrent_dropout, seed,
            return_sequences, return_state, go_backwards, stateful, unroll,
            use_cudnn, name, ...), with the same meaning and defaults.

    Returns:
        Called on a `(batch, timesteps, features)` tensor: what
        `keras.layers.GRU` returns.

    Raises:
        ValueError: for invalid arguments, as `keras.layers.GRU` does.

    Example:

    >>> import numpy as np
    >>> x = np.random.rand(2, 5, 3).astype("float32")
    >>> fused, standard = FusedGRU(4), keras.layers.GRU(4)
    >>> _ = fused(x), standard(x)
    >>> standard.set_weights(fused.get_weights())
    >>> bool(np.allclose(fused(x), standard(x), atol=1e-6))
    True
    """

    def inner_loop(self, sequences, initial_state, mask, training=False):
        if keras.tree.is_nested(mask):
            mask = mask[0]
        if not self._projects_inputs_at_once(training):
            return super().inner_loop(sequences, initial_state, mask=mask, training=training)
        if keras.tree.is_nested(initial_state):
            initial_state = initial_state[0]
        cell = self.cell
        units = cell.units
        input_bias = recurrent_bias = None
        if cell.use_bias:
            if cell.reset_after:
                input_bias, recurrent_bias = cell.bias[0], cell.bias[1]
            else:
                input_bias = cell.bias
        projected = _project_time_major(
            _dropped_inputs(cell, sequences, training), cell.kernel, input_bias
        )
        recurrent_kernel = ops.convert_to_tensor(cell.recurrent_kernel)
        activation = cell.activation
        recurrent_activation = cell.recurrent_activation

        if cell.reset_after:

            def step(projected_t, states):
                (h_previous,) = states
                inner = ops.matmul(h_previous, recurrent_kernel)
                if recurrent_bias is not None:
                    inner = ops.add(inner, recurrent_bias)
                x_z, x_r, x_h = ops.split(projected_t, 3, axis=-1)
                inner_z, inner_r, inner_h = ops.split(inner, 3, axis=-1)
                z = recurrent_activation(x_z + inner_z)
                r = recurrent_activation(x_r + inner_r)
                candidate = activation(x_h + r * inner_h)
                h = z * h_previous + (1 - z) * candidate
                return h, [h]

        else:
            gates_kernel = recurrent_kernel[:, : 2 * units]
            candidate_kernel = recurrent_kernel[:, 2 * units :]

            def step(projected_t, states):
                (h_previous,) = states
                inner = ops.matmul(h_previous, gates_kernel)
                x_z, x_r, x_h = ops.split(projected_t, 3, axis=-1)
                z = recurrent_activation(x_z + inner[:, :units])
                r = recurrent_activation(x_r + inner[:, units:])
                candidate = activation(x_h + ops.matmul(r * h_previous, candidate_kernel))
                h = z * h_previous + (1 - z) * candidate
                return h, [h]

        return _run_time_loop(self, step, projected, [initial_state], mask)

    def _projects_inputs_at_once(self, training: bool) -> bool:
        """Whether the projected loop runs (else the parent's code does)."""
        cell = self.cell
        if self.use_cudnn is True or getattr(cell, "implementation", 2) == 1:
            return False
        if training and 0.0 < cell.recurrent_dropout < 1.0:
            return False
        if self.use_cudnn == "auto" and not self.recurrent_dropout:
            # The parent hands eligible settings to cuDNN when a GPU is visible.
            if keras.backend.backend() == "tensorflow":
                eligible = cudnn_ok(
                    cell.activation,
                    cell.recurrent_activation,
                    self.unroll,
                    cell.use_bias,
                    reset_after=cell.reset_after,
                )
            else:
                eligible = cell.reset_after and cudnn_ok(
                    cell.activation, cell.recurrent_activation, self.unroll, cell.use_bias
                )
            return not eligible
        return True


# Keras layer class name -> the fused class computing the same function.
FUSED_LAYERS: dict[str, type] = {"LSTM": FusedLSTM, "GRU": FusedGRU}


def fused_counterpart(layer_class: type) -> type:
    """The fused class for a Keras recurrent layer class, or the class itself.

    Args:
        layer_class: a layer class, e.g. `keras.layers.LSTM`.

    Returns:
        `FusedLSTM` for `keras.layers.LSTM`, `FusedGRU` for
        `keras.layers.GRU`, and `layer_class` unchanged for anything else
        (`SimpleRNN` has a single cheap product per step; it stays as it is).

    Example:

    >>> fused_counterpart(keras.layers.LSTM).__name__
    'FusedLSTM'
    >>> fused_counterpart(keras.layers.SimpleRNN).__name__
    'SimpleRNN'
    """
    if layer_class is keras.layers.LSTM:
        return FusedLSTM
    if layer_class is keras.layers.GRU:
        return FusedGRU
    return layer_class

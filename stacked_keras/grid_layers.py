"""`LSTMStack` and `GRUStack`: a whole stack of recurrent layers as one layer.

A stack of L recurrent layers over T timesteps is the time x depth grid of
the seed: cell (t, L) needs cell (t-1, L) on its left and cell (t, L-1) below
it. Keras runs the stack layer by layer, each layer's time loop to the end
before the next one starts, so every timestep of every layer is one step of a
chain of `L * T` small steps. The cells with the same `t + L` (an
anti-diagonal of the grid) do not depend on each other: `LSTMStack` and
`GRUStack` walk the grid diagonal by diagonal (`T + L - 1` steps), every layer
of the stack advancing at each step, the way cuDNN overlaps the layers of a
multi-layer LSTM. On TensorFlow the layers' products of one diagonal run
concurrently on the cores, the first layer's input projection is one matrix
product for all timesteps, and the backward pass is written by hand
(`stacked_keras.grid_kernels_tf`): it walks the diagonals back and makes each
layer's weight gradients one matrix product after the loop, instead of one
small accumulation per step.

What they compute is exactly the stack of standard layers they stand for:

    LSTMStack([128, 64], return_sequences=False)
    # == keras.layers.LSTM(128, return_sequences=True)
    #    -> keras.layers.LSTM(64, return_sequences=False)

with Keras's default cell settings (tanh and sigmoid, biases, LSTM
`unit_forget_bias`, GRU `reset_after=True`), the same weights per layer
(`layer_weights(l)` gives layer l's `kernel`, `recurrent_kernel` and `bias`
in the Keras cells' shapes and gate orders), and outputs and gradients equal
to float32 rounding. Intermediate layers always return their sequences
(that is what a stack is); `return_sequences` applies to the top layer.

Not supported (use the standard layers, `deep_rnn(..., fused=False)`): masks,
dropout, other activations, bidirectional layers, states in or out,
`go_backwards`, `stateful`.

Both are registered for Keras serialization as `stacked_keras>LSTMStack` and
`stacked_keras>GRUStack`; `.keras` and `.h5` files made with them load
wherever this module has been imported (`from stacked_keras import LSTMStack`
does it, and so do the builders). The
linter reads them, in every front-end, as the stack of layers they stand for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

__all__ = ["GRUStack", "LSTMStack", "STACK_LAYERS"]


def _checked_units(units: Any, cls: str) -> list[int]:
    if isinstance(units, bool) or not isinstance(units, Sequence) or isinstance(units, str):
        raise TypeError(
            f"{cls}: `units` must be a list of positive ints, one per layer, bottom to top "
            f"(for example [128, 64]); got {units!r}"
        )
    checked = list(units)
    if not checked or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in checked):
        raise ValueError(
            f"{cls}: `units` must be a non-empty list of positive ints, one per layer "
            f"(for example [128, 64]); got {units!r}"
        )
    return checked


class _RecurrentStack(keras.layers.Layer):
    """What `LSTMStack` and `GRUStack` share: config, weights, the input checks."""

    CELL = ""
    GATES = 0

    def __init__(
        self,
        units: Sequence[int],
        return_sequences: bool = False,
        kernel_initializer: Any = "glorot_uniform",
        recurrent_initializer: Any = "orthogonal",
        bias_initializer: Any = "zeros",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.units = _checked_units(units, type(self).__name__)
        self.return_sequences = bool(return_sequences)
        # One set of initializers per layer, made the way and in the order the
        # standard layers make theirs (`keras.initializers.get` per layer, and
        # each standard cell also makes a SeedGenerator): a random initializer
        # made from a name draws its seed when it is made, so under
        # `keras.utils.set_random_seed` the stack starts from the weights the
        # standard stack starts from, and no two layers share a seed.
        self._initializer_arguments = (kernel_initializer, recurrent_initializer, bias_initializer)
        self._initializers = []
        for _ in self.units:
            self._initializers.append(tuple(keras.initializers.get(a) for a in self._initializer_arguments))
            keras.random.SeedGenerator()
        self.input_spec = keras.layers.InputSpec(ndim=3)
        # Keras hands a mask to `call` only to layers that declare support;
        # `call` refuses it with the way out instead of dropping it silently.
        self.supports_masking = True
        self._weights_by_layer: list[tuple[Any, Any, Any]] = []

    @property
    def depth(self) -> int:
        """The number of recurrent layers in the stack."""
        return len(self.units)

    def layer_return_sequences(self, index: int) -> bool:
        """Whether layer `index` (0 = bottom) of the stack returns its sequence."""
        return index < self.depth - 1 or self.return_sequences

    def _bias_shape(self, units: int) -> tuple[int, ...]:
        raise NotImplementedError

    def _bias_initializer_for(self, base: Any, units: int) -> Any:
        return base

    def build(self, input_shape: Any) -> None:
        features = input_shape[-1]
        if features is None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r}: the input's last axis (features) "
                "must be known; give the model an Input with a fixed number of features"
            )
        self._weights_by_layer = []
        below = features
        for index, (units, initializers) in enumerate(zip(self.units, self._initializers)):
            width = self.GATES * units
            kernel_init, recurrent_init, bias_init = initializers
            kernel = self.add_weight(shape=(below, width), initializer=kernel_init, name=f"kernel_{index}")
            recurrent = self.add_weight(
                shape=(units, width), initializer=recurrent_init, name=f"recurrent_kernel_{index}"
            )
            bias = self.add_weight(
                shape=self._bias_shape(units), initializer=self._bias_initializer_for(bias_init, units),
                name=f"bias_{index}",
            )
            self._weights_by_layer.append((kernel, recurrent, bias))
            below = units

    def layer_weights(self, index: int) -> tuple[Any, Any, Any]:
        """Layer `index`'s `(kernel, recurrent_kernel, bias)` variables.

        Shapes and gate orders are the Keras cells': an LSTM's kernel is
        `(input_dim, 4 * units)` with the gates `i, f, c, o`, a GRU's is
        `(input_dim, 3 * units)` with `z, r, h` and a `(2, 3 * units)` bias
        (input bias, recurrent bias). `layer.set_weights` takes them in the
        order `kernel_0, recurrent_kernel_0, bias_0, kernel_1, ...`.
        """
        if not self._weights_by_layer:
            raise ValueError(f"{type(self).__name__} {self.name!r} is not built yet: call it on an input first")
        return self._weights_by_layer[index]

    def compute_output_shape(self, input_shape: Any) -> tuple[Any, ...]:
        if self.return_sequences:
            return (input_shape[0], input_shape[1], self.units[-1])
        return (input_shape[0], self.units[-1])

    def call(self, inputs: Any, mask: Any = None) -> Any:
        if mask is not None:
            raise ValueError(
                f"{type(self).__name__} {self.name!r} received a mask (from Masking or an "
                "Embedding with mask_zero=True), which it does not apply; use the standard "
                f"{self.CELL} layers instead (deep_rnn(..., fused=False))"
            )
        weights = [
            tuple(ops.cast(w, self.compute_dtype) for w in triple) for triple in self._weights_by_layer
        ]
        if keras.backend.backend() == "tensorflow":
            from stacked_keras import grid_kernels_tf

            run = grid_kernels_tf.lstm_stack if self.CELL == "LSTM" else grid_kernels_tf.gru_stack
            return run(inputs, weights, self.return_sequences)
        return self._call_portable(inputs, weights)

    def _call_portable(self, inputs: Any, weights: list[tuple[Any, Any, Any]]) -> Any:
        """Layer after layer with `keras.ops.scan`: the backends other than TensorFlow."""
        sequence = ops.transpose(inputs, (1, 0, 2))
        for index, (kernel, recurrent, bias) in enumerate(weights):
            units = self.units[index]
            batch = ops.shape(sequence)[1]
            projected = self._project(sequence, kernel, bias)
            state = self._zero_state(batch, units, sequence.dtype)

            def step(carry: Any, x_t: Any, recurrent: Any = recurrent, bias: Any = bias) -> Any:
                new = self._step(x_t, carry, recurrent, bias)
                return new, new[0]

            state, sequence = ops.scan(step, state, projected)
        if self.return_sequences:
            return ops.transpose(sequence, (1, 0, 2))
        return sequence[-1]

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()
        config.update(
            units=list(self.units),
            return_sequences=self.return_sequences,
            **{
                key: keras.initializers.serialize(initializer)
                for key, initializer in zip(
                    ("kernel_initializer", "recurrent_initializer", "bias_initializer"), self._initializers[0]
                )
            },
        )
        return config


@keras.saving.register_keras_serializable(package="stacked_keras")
class LSTMStack(_RecurrentStack):
    """A stack of LSTM layers computed as one layer, by anti-diagonals of the grid.

    Stands for `keras.layers.LSTM(u, return_sequences=...)` for each `u` in
    `units`, bottom to top, every layer but the top returning its sequence.
    Same weights per layer (`layer_weights(l)`), same outputs and gradients
    to float32 rounding; faster to train on TensorFlow (see the module's
    docstring and the README's Performance section).

    Args:
        units: one positive int per layer, bottom to top: `[3, 2]` is a
            3-unit layer under a 2-unit layer.
        return_sequences: whether the top layer returns its whole sequence
            `(batch, timesteps, units[-1])` or only its last state
            `(batch, units[-1])`. Defaults to `False`.
        kernel_initializer, recurrent_initializer, bias_initializer: as in
            `keras.layers.LSTM`.
        unit_forget_bias: add 1 to the forget gates' bias at initialization,
            as `keras.layers.LSTM` does by default. Defaults to `True`.
        **kwargs: `name`, `dtype`, `trainable`.

    Example:

    >>> import keras
    >>> from stacked_keras.grid_layers import LSTMStack
    >>> model = keras.Sequential([keras.Input((20, 8)), LSTMStack([32, 16]), keras.layers.Dense(1)])
    >>> model.output_shape
    (None, 1)
    """

    CELL = "LSTM"
    GATES = 4

    def __init__(self, units: Sequence[int], return_sequences: bool = False, *, unit_forget_bias: bool = True, **kwargs: Any) -> None:
        super().__init__(units, return_sequences, **kwargs)
        self.unit_forget_bias = bool(unit_forget_bias)

    def _bias_shape(self, units: int) -> tuple[int, ...]:
        return (4 * units,)

    def _bias_initializer_for(self, base: Any, units: int) -> Any:
        if not self.unit_forget_bias:
            return base

        def initializer(shape: Any, dtype: Any = None) -> Any:
            return ops.concatenate(
                [base((units,), dtype=dtype), ops.ones((units,), dtype=dtype), base((2 * units,), dtype=dtype)]
            )

        return initializer

    def _project(self, sequence: Any, kernel: Any, bias: Any) -> Any:
        return ops.add(ops.matmul(sequence, kernel), bias)

    def _zero_state(self, batch: Any, units: int, dtype: Any) -> Any:
        zeros = ops.zeros((batch, units), dtype=dtype)
        return (zeros, zeros)

    def _step(self, projected_t: Any, state: Any, recurrent: Any, bias: Any) -> Any:
        h, c = state
        z = projected_t + ops.matmul(h, recurrent)
        i, f, g, o = ops.split(z, 4, axis=-1)
        c = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
        return (ops.sigmoid(o) * ops.tanh(c), c)

    def get_config(self) -> dict[str, Any]:
        return dict(super().get_config(), unit_forget_bias=self.unit_forget_bias)


@keras.saving.register_keras_serializable(package="stacked_keras")
class GRUStack(_RecurrentStack):
    """A stack of GRU layers computed as one layer, by anti-diagonals of the grid.

    Stands for `keras.layers.GRU(u, return_sequences=...)` (Keras's default
    `reset_after=True`) for each `u` in `units`, bottom to top, every layer
    but the top returning its sequence. Same weights per layer
    (`layer_weights(l)`), same outputs and gradients to float32 rounding.

    Args:
        units: one positive int per layer, bottom to top.
        return_sequences: whether the top layer returns its whole sequence.
            Defaults to `False`.
        kernel_initializer, recurrent_initializer, bias_initializer: as in
            `keras.layers.GRU`.
        **kwargs: `name`, `dtype`, `trainable`.

    Example:

    >>> import keras
    >>> from stacked_keras.grid_layers import GRUStack
    >>> model = keras.Sequential([keras.Input((None, 8)), GRUStack([32, 32], return_sequences=True)])
    >>> model.output_shape
    (None, None, 32)
    """

    CELL = "GRU"
    GATES = 3

    def _bias_shape(self, units: int) -> tuple[int, ...]:
        return (2, 3 * units)

    def _project(self, sequence: Any, kernel: Any, bias: Any) -> Any:
        return ops.add(ops.matmul(sequence, kernel), bias[0])

    def _zero_state(self, batch: Any, units: int, dtype: Any) -> Any:
        return (ops.zeros((batch, units), dtype=dtype),)

    def _step(self, projected_t: Any, state: Any, recurrent: Any, bias: Any) -> Any:
        (h,) = state
        x_z, x_r, x_h = ops.split(projected_t, 3, axis=-1)
        h_z, h_r, h_h = ops.split(ops.matmul(h, recurrent) + bias[1], 3, axis=-1)
        z = ops.sigmoid(x_z + h_z)
        r = ops.sigmoid(x_r + h_r)
        candidate = ops.tanh(x_h + r * h_h)
        return (z * h + (1.0 - z) * candidate,)


STACK_LAYERS = {"LSTMStack": LSTMStack, "GRUStack": GRUStack}

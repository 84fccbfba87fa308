"""TensorFlow kernels of `LSTMStack`/`GRUStack`: the grid by anti-diagonals.

Diagonal `d` holds the cells `(t, l)` with `t + l = d`; layer `l` reads
layer `l - 1`'s output from diagonal `d - 1` and its own state from diagonal
`d - 1`, so one diagonal is L independent cell updates, which TensorFlow's
executor runs concurrently. The walk:

- the bottom layer's input projection `X U_0 + b_0` for all timesteps is one
  matrix product before the loop;
- a ramp of `L - 1` diagonals, unrolled in Python, where only the layers that
  have started run (so the loop needs no masks);
- a `tf.while_loop` over the `T` remaining diagonals, every layer running;
  past its last timestep a lower layer computes values nothing reads (the
  layers above finish later) and that get no gradient.

The backward pass (`tf.custom_gradient`) walks the diagonals back the same
way. Inside the loop it only propagates the gradients of the states (one
product per layer for the state on the left, one for the layer below); each
layer's gate gradients are kept, and the weight and bias gradients are one
large product per weight after the loop, which runs at a far better rate than
T small accumulations.

LSTM's four gates take one sigmoid: the candidate's columns of the weights
are scaled by 2 so that `tanh(z) = 2 sigmoid(2 z) - 1`.

`tests/test_grid_layers.py` pins outputs and gradients against the standard
Keras layers and the NumPy reference.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

__all__ = ["gru_stack", "lstm_stack"]


def _time_major_padded(x: Any, extra: int) -> Any:
    """`(timesteps + extra, batch, features)`: time-major, with `extra` zero steps after the end."""
    time_major = tf.transpose(x, (1, 0, 2))
    if extra == 0:
        return time_major
    pad = tf.zeros(tf.concat([[extra], tf.shape(time_major)[1:]], 0), x.dtype)
    return tf.concat([time_major, pad], 0)


def _shifted(sequence: Any, zeros: Any) -> Any:
    """The sequence one diagonal later: `zeros` first, the last entry dropped."""
    return tf.concat([zeros[None], sequence[:-1]], 0)


def _flat(sequence: Any) -> Any:
    return tf.reshape(sequence, (-1, sequence.shape[-1]))


class _Schedule:
    """The diagonal walk, forward and backward, shared by both cells.

    A cell object provides: `prepare` (weights as the loop uses them),
    `project` (the bottom layer's input projection), `forward` (one cell
    update, returning the new state, whose first entry is h, and what the
    backward pass keeps), `backward` (one cell's gate gradients) and
    `weight_gradients`.
    """

    def __init__(self, cell: Any, x: Any, weights: list[tuple[Any, Any, Any]], return_sequences: bool) -> None:
        self.cell = cell
        self.x = x
        self.weights = weights
        self.return_sequences = return_sequences
        self.depth = len(weights)
        self.units = [recurrent.shape[0] for _, recurrent, _ in weights]
        self.dtype = x.dtype
        self.batch = tf.shape(x)[0]
        self.steps = tf.shape(x)[1]
        self.diagonals = self.steps + self.depth - 1
        self.zeros = [tf.zeros((self.batch, u), self.dtype) for u in self.units]

    def _arrays(self, count: int) -> list[list[Any]]:
        return [
            [tf.TensorArray(self.dtype, size=self.diagonals, clear_after_read=False) for _ in range(count)]
            for _ in self.units
        ]

    def forward(self) -> tuple[Any, Any]:
        cell, depth = self.cell, self.depth
        prepared = cell.prepare(self.weights)
        projected = cell.project(self.x, prepared[0], depth - 1)
        projected = tf.TensorArray(self.dtype, size=self.diagonals).unstack(projected)
        states = [cell.zero_state(z) for z in self.zeros]
        kept = self._arrays(cell.KEPT + 1)  # what backward reads, and h

        def advance(d: Any, states: list[Any], kept: list[list[Any]], layers: range) -> tuple[list[Any], list[list[Any]]]:
            new_states, new_kept = list(states), list(kept)
            for l in range(depth):
                if l in layers:
                    below = projected.read(d) if l == 0 else states[l - 1][0]
                    new_states[l], saved = cell.forward(l, below, states[l], prepared)
                    values = (*saved, new_states[l][0])
                else:  # not started: state and saved values stay zero
                    values = cell.idle_values(self.zeros[l])
                new_kept[l] = [a.write(d, v) for a, v in zip(kept[l], values)]
            return new_states, new_kept

        for d in range(depth - 1):
            states, kept = advance(d, states, kept, range(d + 1))

        def body(d: Any, states: Any, kept: Any) -> Any:
            states, kept = advance(d, list(states), kept, range(depth))
            return d + 1, tuple(states), kept

        _, states, kept = tf.while_loop(
            lambda d, *_: d < self.diagonals, body, (depth - 1, tuple(states), kept),
            parallel_iterations=32, maximum_iterations=self.steps,
        )
        self._kept, self._prepared = kept, prepared
        if self.return_sequences:
            return tf.transpose(kept[-1][-1].stack()[depth - 1:], (1, 0, 2))
        return states[-1][0]

    def backward(self, dy: Any) -> list[Any]:
        cell, depth, zeros = self.cell, self.depth, self.zeros
        kept, prepared = self._kept, self._prepared
        if self.return_sequences:
            dtop = tf.concat([tf.zeros((depth - 1, self.batch, self.units[-1]), self.dtype), tf.transpose(dy, (1, 0, 2))], 0)
        else:
            dtop = tf.concat([tf.zeros((self.diagonals - 1, self.batch, self.units[-1]), self.dtype), dy[None]], 0)
        dtop = tf.TensorArray(self.dtype, size=self.diagonals).unstack(dtop)
        transposed = cell.transposed(prepared)

        def retreat(d: Any, carry: list[Any], grads: list[list[Any]], layers: range, first: int | None) -> tuple[list[Any], list[list[Any]]]:
            # carry[l] = (dh from the right, dh from above, the cell's own state gradients)
            new_carry, new_grads = list(carry), list(grads)
            for l in range(depth):
                if l not in layers:
                    continue
                from_right, from_above, dstate = carry[l]
                dh = from_right + from_above
                if l == depth - 1:
                    dh = dh + dtop.read(d)
                saved = [a.read(d) for a in kept[l][:-1]]
                previous = cell.previous(kept[l], d, zeros[l], l == first)
                dz_in, dz_rec, dstate_prev, dh_direct = cell.backward(saved, previous, dh, dstate)
                new_grads[l] = [a.write(d, v) for a, v in zip(grads[l], (dz_in, dz_rec))]
                dh_left = tf.matmul(dz_rec, transposed[l][1])
                if dh_direct is not None:
                    dh_left = dh_left + dh_direct
                new_carry[l] = (dh_left, new_carry[l][1], dstate_prev)
                if l > 0:
                    r, _, s = new_carry[l - 1]
                    new_carry[l - 1] = (r, tf.matmul(dz_in, transposed[l][0]), s)
            if depth - 1 in layers:
                r, _, s = new_carry[depth - 1]
                new_carry[depth - 1] = (r, zeros[depth - 1], s)
            return new_carry, new_grads

        carry = [(z, z, cell.zero_dstate(z)) for z in zeros]
        grads = self._arrays(2)

        def body(d: Any, carry: Any, grads: Any) -> Any:
            carry, grads = retreat(d, list(carry), grads, range(depth), None)
            return d - 1, tuple(carry), grads

        # The loop stops where the ramp starts; the ramp always holds the
        # first diagonal, whose cells have no previous state to read.
        ramp = max(depth - 1, 1)
        _, carry, grads = tf.while_loop(
            lambda d, *_: d >= ramp, body, (self.diagonals - 1, tuple(carry), grads),
            parallel_iterations=32, maximum_iterations=tf.maximum(self.diagonals - ramp, 0),
        )
        carry = list(carry)
        for d in range(ramp - 1, -1, -1):
            carry, grads = retreat(d, carry, grads, range(d + 1), d)
            for l in range(d + 1, depth):
                width_in = cell.GATES * self.units[l]
                blank = tf.zeros((self.batch, width_in), self.dtype)
                grads[l] = [a.write(d, blank) for a in grads[l]]
        return self._gradients([[cell.finish(a.stack(), prepared[l]) for a in g] for l, g in enumerate(grads)])

    def _gradients(self, dz: list[list[Any]]) -> list[Any]:
        depth, kept = self.depth, self._kept
        outputs = [a.stack() for a in (k[-1] for k in kept)]  # h per layer, by diagonal
        gradients: list[Any] = []
        dx = None
        for l in range(depth):
            dz_in, dz_rec = dz[l]
            kernel, recurrent, _ = self.weights[l]
            h_prev = _flat(_shifted(outputs[l], self.zeros[l]))
            if l == 0:
                dz_in = dz_in[: self.steps]
                inputs = _flat(_time_major_padded(self.x, 0))
                dx_flat = tf.matmul(_flat(dz_in), kernel, transpose_b=True)
                dx = tf.transpose(tf.reshape(dx_flat, (self.steps, self.batch, -1)), (1, 0, 2))
            else:
                inputs = _flat(_shifted(outputs[l - 1], self.zeros[l - 1]))
            d_kernel = tf.matmul(inputs, _flat(dz_in), transpose_a=True)
            d_recurrent = tf.matmul(h_prev, _flat(dz_rec), transpose_a=True)
            gradients.append((d_kernel, d_recurrent, self.cell.bias_gradient(_flat(dz_in), _flat(dz_rec))))
        return [dx, *[g for triple in gradients for g in triple]]


class _LSTM:
    GATES = 4
    KEPT = 3  # the gates (after their sigmoid), c, tanh(c)

    @staticmethod
    def _scale(units: int, dtype: Any) -> Any:
        return tf.concat([tf.ones((2 * units,), dtype), tf.fill((units,), tf.constant(2, dtype)), tf.ones((units,), dtype)], 0)

    def prepare(self, weights: list[tuple[Any, Any, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        prepared = []
        for kernel, recurrent, bias in weights:
            scale = self._scale(recurrent.shape[0], kernel.dtype)
            prepared.append((kernel * scale, recurrent * scale, bias * scale, scale))
        return prepared

    def project(self, x: Any, layer0: Any, extra: int) -> Any:
        kernel, _, bias, _ = layer0
        return tf.matmul(_time_major_padded(x, extra), kernel) + bias

    def zero_state(self, zeros: Any) -> tuple[Any, Any]:
        return (zeros, zeros)

    def zero_dstate(self, zeros: Any) -> tuple[Any]:
        return (zeros,)  # the gradient of c

    def idle_values(self, zeros: Any) -> tuple[Any, ...]:
        return (tf.tile(zeros, [1, 4]), zeros, zeros, zeros)

    def forward(self, l: int, below: Any, state: Any, prepared: list[Any]) -> tuple[Any, Any]:
        kernel, recurrent, bias, _ = prepared[l]
        h, c = state
        if l == 0:
            z = below + tf.matmul(h, recurrent)
        else:
            z = tf.matmul(below, kernel) + tf.matmul(h, recurrent) + bias
        s = tf.sigmoid(z)
        i, f, g, o = tf.split(s, 4, axis=-1)
        c = f * c + i * (2.0 * g - 1.0)
        tanh_c = tf.tanh(c)
        return (o * tanh_c, c), (s, c, tanh_c)

    def previous(self, kept: list[Any], d: Any, zeros: Any, first: bool) -> Any:
        return zeros if first else kept[1].read(d - 1)  # c_{t-1}

    def backward(self, saved: list[Any], c_prev: Any, dh: Any, dstate: Any) -> tuple[Any, Any, Any, None]:
        s, _, tanh_c = saved
        (dc,) = dstate
        i, f, g, o = tf.split(s, 4, axis=-1)
        dc = dc + dh * o * (1.0 - tanh_c * tanh_c)
        # gradients w.r.t. the sigmoid outputs; the candidate is 2 s - 1
        ds = tf.concat([dc * (2.0 * g - 1.0), dc * c_prev, 2.0 * dc * i, dh * tanh_c], -1)
        dz = ds * s * (1.0 - s)
        return dz, dz, (dc * f,), None

    def transposed(self, prepared: list[Any]) -> list[tuple[Any, Any]]:
        return [(tf.transpose(k), tf.transpose(r)) for k, r, _, _ in prepared]

    def finish(self, dz: Any, prepared: Any) -> Any:
        return dz * prepared[3]  # back from the scaled pre-activations

    def bias_gradient(self, dz_in: Any, dz_rec: Any) -> Any:
        return tf.reduce_sum(dz_in, 0)


class _GRU:
    GATES = 3
    KEPT = 4  # z and r (after their sigmoid), the candidate, the recurrent candidate product

    def prepare(self, weights: list[tuple[Any, Any, Any]]) -> list[tuple[Any, Any, Any, Any]]:
        return [(kernel, recurrent, bias[0], bias[1]) for kernel, recurrent, bias in weights]

    def project(self, x: Any, layer0: Any, extra: int) -> Any:
        kernel, _, bias_in, _ = layer0
        return tf.matmul(_time_major_padded(x, extra), kernel) + bias_in

    def zero_state(self, zeros: Any) -> tuple[Any]:
        return (zeros,)

    def zero_dstate(self, zeros: Any) -> tuple[()]:
        return ()  # h is the whole state: its gradient arrives as dh

    def idle_values(self, zeros: Any) -> tuple[Any, ...]:
        return (tf.tile(zeros, [1, 2]), zeros, zeros, zeros, zeros)

    def forward(self, l: int, below: Any, state: Any, prepared: list[Any]) -> tuple[Any, Any]:
        kernel, recurrent, bias_in, bias_rec = prepared[l]
        (h,) = state
        x_part = below if l == 0 else tf.matmul(below, kernel) + bias_in
        h_part = tf.matmul(h, recurrent) + bias_rec
        units = h.shape[-1]
        zr = tf.sigmoid(x_part[:, : 2 * units] + h_part[:, : 2 * units])
        z, r = tf.split(zr, 2, axis=-1)
        rec_candidate = h_part[:, 2 * units:]
        candidate = tf.tanh(x_part[:, 2 * units:] + r * rec_candidate)
        return (z * h + (1.0 - z) * candidate,), (zr, candidate, rec_candidate, h)

    def previous(self, kept: list[Any], d: Any, zeros: Any, first: bool) -> Any:
        return None  # h_{t-1} is kept with the step

    def backward(self, saved: list[Any], _: Any, dh: Any, dstate: Any) -> tuple[Any, Any, Any, Any]:
        zr, candidate, rec_candidate, h_prev = saved
        z, r = tf.split(zr, 2, axis=-1)
        d_candidate = dh * (1.0 - z) * (1.0 - candidate * candidate)
        dz = dh * (h_prev - candidate) * z * (1.0 - z)
        dr = d_candidate * rec_candidate * r * (1.0 - r)
        dz_in = tf.concat([dz, dr, d_candidate], -1)
        dz_rec = tf.concat([dz, dr, d_candidate * r], -1)
        return dz_in, dz_rec, (), dh * z

    def transposed(self, prepared: list[Any]) -> list[tuple[Any, Any]]:
        return [(tf.transpose(k), tf.transpose(r)) for k, r, _, _ in prepared]

    def finish(self, dz: Any, prepared: Any) -> Any:
        return dz

    def bias_gradient(self, dz_in: Any, dz_rec: Any) -> Any:
        return tf.stack([tf.reduce_sum(dz_in, 0), tf.reduce_sum(dz_rec, 0)])


def _run(cell: Any, x: Any, weights: list[tuple[Any, Any, Any]], return_sequences: bool) -> Any:
    flat = [tf.convert_to_tensor(w) for triple in weights for w in triple]
    depth = len(weights)

    @tf.custom_gradient
    def stack(x: Any, *flat: Any) -> Any:
        triples = [tuple(flat[3 * l: 3 * l + 3]) for l in range(depth)]
        schedule = _Schedule(cell, x, triples, return_sequences)
        y = schedule.forward()
        return y, schedule.backward

    return stack(tf.convert_to_tensor(x), *flat)


def lstm_stack(x: Any, weights: list[tuple[Any, Any, Any]], return_sequences: bool) -> Any:
    """The top layer's output of a stack of Keras-default LSTM layers.

    Args:
        x: `(batch, timesteps, features)`.
        weights: per layer, bottom to top, `(kernel, recurrent_kernel, bias)`
            in `keras.layers.LSTM`'s shapes and gate order.
        return_sequences: whether to return the top layer's whole sequence.

    Returns:
        `(batch, timesteps, units)` or `(batch, units)`.
    """
    return _run(_LSTM(), x, weights, return_sequences)


def gru_stack(x: Any, weights: list[tuple[Any, Any, Any]], return_sequences: bool) -> Any:
    """The top layer's output of a stack of Keras-default GRU layers (`reset_after=True`).

    Args:
        x: `(batch, timesteps, features)`.
        weights: per layer, bottom to top, `(kernel, recurrent_kernel, bias)`
            in `keras.layers.GRU`'s shapes (bias `(2, 3 * units)`) and gate order.
        return_sequences: whether to return the top layer's whole sequence.

    Returns:
        `(batch, timesteps, units)` or `(batch, units)`.
    """
    return _run(_GRU(), x, weights, return_sequences)

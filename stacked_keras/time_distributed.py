"""`TimeDistributed` that stays right when the number of timesteps is unknown.

Keras 3.15's `keras.layers.TimeDistributed` maps its layer over
`ops.arange(input_shape[0])` where `input_shape` was read *before* the batch
and time axes were swapped: when the time axis is unknown while tracing (a
`tf.function` with a `[None, None, ...]` signature, `predict` retracing with
relaxed shapes, a SavedModel export), it loops over the batch instead of the
timesteps and returns `(batch, batch, ...)` or fails. A tagger head called on
sequences of a new length then gives wrong shapes.

This subclass keeps Keras's own code whenever the time axis is known, and
otherwise applies the wrapped layer once to the batch and time axes folded
into one, `(batch * timesteps, ...)`, which is what `TimeDistributed` means:
the same layer, independently at every timestep. It serializes under the
class name `TimeDistributed` (registered as `stacked_keras>TimeDistributed`),
so configs, the linter and `describe` see an ordinary `TimeDistributed`.

The fix is written with `keras.ops` only and works on every backend; in
practice only TensorFlow traces with an unknown time axis (JAX and torch see
concrete shapes, so Keras's own code runs there).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from stacked_keras.keras_private import call_has_mask_arg, call_has_training_arg

__all__ = ["TimeDistributed"]


@keras.saving.register_keras_serializable(package="stacked_keras", name="TimeDistributed")
class TimeDistributed(keras.layers.TimeDistributed):
    """Applies a layer to every timestep, for any number of timesteps.

    Same arguments, weights and config as `keras.layers.TimeDistributed`;
    see the module docstring for the Keras bug it avoids.

    Args:
        layer: the layer to apply at every timestep (a `Dense` head, say).
        **kwargs: as for `keras.layers.TimeDistributed`.

    Example:

    >>> import numpy as np
    >>> head = TimeDistributed(keras.layers.Dense(3))
    >>> head(np.zeros((2, 7, 4), "float32")).shape
    (2, 7, 3)
    """

    def call(self, inputs: Any, training: Any = None, mask: Any = None) -> Any:
        if inputs.shape[1] is not None:
            return super().call(inputs, training=training, mask=mask)
        shape = ops.shape(inputs)
        folded = ops.reshape(inputs, (-1, *inputs.shape[2:]))
        kwargs = {}
        if call_has_training_arg(self.layer):
            kwargs["training"] = training
        if call_has_mask_arg(self.layer) and mask is not None:
            kwargs["mask"] = ops.reshape(mask, (-1, *mask.shape[2:]))
        outputs = self.layer.call(folded, **kwargs)
        return ops.reshape(outputs, (shape[0], shape[1], *outputs.shape[1:]))

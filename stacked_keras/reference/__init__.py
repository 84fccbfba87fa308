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

The package has three parts: `cells` (activations, the cell equations and the
cells read out of Keras, run over time), `layer_evaluators` (one NumPy
evaluator per supported Keras layer, wrappers and heads included) and
`models` (`forward`, walking a Sequential or functional model).
"""

from stacked_keras.reference.cells import (
    ACTIVATIONS,
    SUPPORTED_CELLS,
    gru_step,
    lstm_step,
    simple_rnn_step,
)
from stacked_keras.reference.layer_evaluators import SUPPORTED_LAYERS
from stacked_keras.reference.models import forward

__all__ = [
    "forward",
    "simple_rnn_step",
    "lstm_step",
    "gru_step",
    "ACTIVATIONS",
    "SUPPORTED_LAYERS",
    "SUPPORTED_CELLS",
]

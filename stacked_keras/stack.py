"""The one place that decides `return_sequences` for a stack of recurrent layers.

In a stack, layer L reads the hidden states H_t^{L-1} of the layer below at every
timestep t (the vertical connection of the time x depth grid). So every layer
but the top one must hand its whole sequence upwards: `return_sequences=True`.
The top layer returns its whole sequence only when the caller wants one
(a tagger, a decoder, per-timestep regression); otherwise it returns the last
state H_T^L alone.

Builders, presets and the fixer all ask this module; nothing else decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["return_sequences_for"]


def return_sequences_for(
    layers: int | Sequence[Any], *, sequence_output: bool = False
) -> tuple[bool, ...]:
    """Decides `return_sequences` for each layer of a recurrent stack.

    Every layer but the last returns its whole sequence, so that the layer
    above it receives one input per timestep. The last layer returns a
    sequence only when `sequence_output=True`.

    Args:
        layers: the stack, bottom to top: either its depth (an int >= 1) or the
            ordered recurrent layers themselves (any sequence; only its length
            is read).
        sequence_output: whether the top layer must return its whole sequence.
            Defaults to `False` (the top layer returns its last state).

    Returns:
        A tuple of booleans, one per layer, bottom to top.

    Raises:
        ValueError: if the stack is empty or `layers` is neither an int nor a
            sequence.

    Example:

    >>> return_sequences_for(3)
    (True, True, False)
    >>> return_sequences_for(2, sequence_output=True)
    (True, True)
    """
    if isinstance(layers, bool) or not isinstance(layers, (int, Sequence)):
        raise ValueError(
            "layers must be a depth (int >= 1) or a sequence of recurrent "
            f"layers, got {layers!r}"
        )
    depth = layers if isinstance(layers, int) else len(layers)
    if depth < 1:
        raise ValueError(f"a stack needs at least one recurrent layer, got depth {depth}")
    return tuple([True] * (depth - 1) + [bool(sequence_output)])

"""The few Keras internals stacked-keras needs, in one place.

Everything else in the package uses Keras's public API (`keras.Model`,
`keras.layers.RNN`, `keras.tree`, `keras.KerasTensor`, ...). What follows has
no public name in Keras 3, so it is read from `keras.src` here, and only here:

- `Functional`: the class of models built with the functional API (public
  code sees them as `keras.Model`; `fix()` and the linter must tell them from
  subclassed models).
- `make_node_key`: the key Keras files a layer's call nodes under, to walk a
  functional model's graph without calling it.
- `SafeModeScope`: a scoped (not process-wide, as
  `keras.config.enable_unsafe_deserialization` is) switch of safe mode, for
  `fix()` rebuilding a model whose code already runs in this process.
- `rnn` and `cudnn_ok`: the active backend's time loop and its cuDNN
  eligibility test, for the fused recurrent layers.
- `call_has_training_arg` / `call_has_mask_arg`: whether a layer's `call`
  takes `training` / `mask`, as Keras itself decides it.
- `is_ops_operation`: whether an operation is a `keras.ops` function applied
  in a functional model (rather than a layer).

Each name is looked up through `_internal`, so when a Keras release moves one
the error says which name moved and where this module looked for it, and
`tests/test_keras_private.py` fails on that release.
"""

from __future__ import annotations

import importlib
from typing import Any

import keras

__all__ = [
    "PRIVATE_NAMES",
    "Functional",
    "SafeModeScope",
    "call_has_mask_arg",
    "call_has_training_arg",
    "cudnn_ok",
    "is_ops_operation",
    "make_node_key",
    "rnn",
]

# name -> module it lives in, for every private name this module reads.
PRIVATE_NAMES: dict[str, str] = {
    "Functional": "keras.src.models.functional",
    "make_node_key": "keras.src.ops.function",
    "SafeModeScope": "keras.src.saving.serialization_lib",
    "rnn": "keras.src.backend",
    "cudnn_ok": "keras.src.backend",
}

# The package whose modules hold the `keras.ops` operation classes.
_OPS_PACKAGE = "keras.src.ops"


def _internal(name: str) -> Any:
    module_name = PRIVATE_NAMES[name]
    try:
        return getattr(importlib.import_module(module_name), name)
    except (ImportError, AttributeError):
        raise ImportError(
            f"Keras {keras.__version__} has no {module_name}.{name}, which stacked-keras "
            "uses (stacked_keras/keras_private.py): this Keras release moved it; install "
            "the Keras version stacked-keras was tested with, or report it"
        ) from None


Functional = _internal("Functional")
make_node_key = _internal("make_node_key")
SafeModeScope = _internal("SafeModeScope")
rnn = _internal("rnn")
cudnn_ok = _internal("cudnn_ok")


def call_has_training_arg(layer: Any) -> bool:
    """Whether `layer.call` takes a `training` argument (as Keras decides it).

    Args:
        layer: a `keras.layers.Layer`.

    Returns:
        A bool.
    """
    return bool(layer._call_has_training_arg)


def call_has_mask_arg(layer: Any) -> bool:
    """Whether `layer.call` takes a `mask` argument (as Keras decides it).

    Args:
        layer: a `keras.layers.Layer`.

    Returns:
        A bool.
    """
    return bool(layer._call_has_mask_arg)


def is_ops_operation(operation: Any) -> bool:
    """Whether `operation` is a `keras.ops` function's operation, not a layer.

    In a functional model, `keras.ops.not_equal(x, 0)` applied to a
    `KerasTensor` becomes a node whose operation is an instance of a class
    from Keras's ops package.

    Args:
        operation: an operation of a functional model's graph.

    Returns:
        A bool.
    """
    return not isinstance(operation, keras.layers.Layer) and type(operation).__module__.startswith(
        _OPS_PACKAGE
    )

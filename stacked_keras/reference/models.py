"""`forward`: a whole Keras model's inference output, computed in NumPy.

Walks a Sequential or functional model layer by layer, handing each layer's
NumPy evaluator (from `layer_evaluators`) the values and masks its inputs
produced.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from stacked_keras.reference.layer_evaluators import _evaluator_for, _LayerCall

__all__ = ["forward"]


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
    TimeDistributed over any of these, and stacked-keras's `LSTMStack` and
    `GRUStack` (their L layers chained, each from `layer_weights(i)`).

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

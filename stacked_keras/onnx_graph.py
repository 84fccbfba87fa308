"""The ONNX graph of a Keras recurrent stack, layer by layer, from its weights.

`OnnxGraphWriter` walks a Sequential or functional model and writes one
group of ONNX nodes per layer with `onnx.helper`. Recurrent layers become a
single native `LSTM`, `GRU` or `RNN` node: Keras stores a cell's kernel as
`(input, gates * units)` with LSTM gates `i, f, c, o` and GRU gates
`z, r, h`; ONNX wants `W` as `[directions, gates * units, input]` with LSTM
gates `i, o, f, c` and GRU gates `z, r, h`, `R` likewise for the recurrent
kernel, and `B` as `[directions, 2 * gates * units]` (input bias, then
recurrent bias). A GRU with `reset_after=True` (the Keras default) has a
`(2, 3 * units)` bias and maps to `linear_before_reset=1`.
`onnx_recurrent_weights` makes that conversion, for the standard layers and
for each layer of an `LSTMStack`/`GRUStack` alike (`layer_weights(i)` has the
Keras cells' shapes and gate orders); a stack becomes L chained nodes named
`{stack}/layer_{i}`.

Layers it cannot express raise `UnsupportedLayerError`, naming the layer,
its class and what to do instead. Used by `stacked_keras.onnx_export`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

__all__ = ["OnnxGraphWriter", "OnnxRecurrentWeights", "UnsupportedLayerError", "onnx_recurrent_weights"]


class UnsupportedLayerError(ValueError):
    """A layer (or setting) of the model has no ONNX form in this exporter."""


# Keras activation name -> (ONNX activation name for RNN nodes, alpha, beta).
RECURRENT_ACTIVATIONS = {
    "tanh": ("Tanh", None, None),
    "sigmoid": ("Sigmoid", None, None),
    "relu": ("Relu", None, None),
    "hard_sigmoid": ("HardSigmoid", 1.0 / 6.0, 0.5),  # Keras 3: relu6(x + 3) / 6
}
# Keras activation names a Dense or Activation layer may use here.
DENSE_ACTIVATIONS = (
    "linear", "relu", "relu6", "sigmoid", "tanh", "softmax", "elu", "selu",
    "softplus", "softsign", "exponential", "hard_sigmoid", "silu",
)
IDENTITY_LAYERS = ("Dropout", "SpatialDropout1D", "GaussianNoise", "GaussianDropout", "AlphaDropout")
MASK_OPERATIONS = ("NotEqual", "Equal", "LogicalOr", "LogicalAnd", "LogicalNot", "Any", "All",
                   "ExpandDims", "Squeeze", "OnesLike", "ZerosLike", "Cast", "ConvertToTensor")
ENCODER_ADVICE = (
    "export the encoder alone, which ONNX expresses (a model from the zoo's seq2seq preset: "
    "export_onnx(stacked_keras.zoo.Seq2Seq.from_model(model).encoder_model, path), token ids "
    "in, the top sequence and every layer's final states out; your own model: "
    "keras.Model(inputs, encoder_outputs)), or export the whole model with export_saved_model"
)
ADVICE = {
    "Lambda": "replace the Lambda with built-in layers (its Python code cannot be read "
              "from the model), or export a SavedModel with export_saved_model",
    "Attention": "attention decoders have no native ONNX form here: " + ENCODER_ADVICE,
    "AdditiveAttention": "attention decoders have no native ONNX form here: " + ENCODER_ADVICE,
    "MultiHeadAttention": "attention has no native ONNX form here: use export_saved_model",
    "Masking": "use Embedding(mask_zero=True) with right-padded tokens, or drop the Masking "
               "layer and pass unpadded sequences",
}


def _array(variable: Any) -> np.ndarray:
    import keras

    return np.asarray(keras.ops.convert_to_numpy(variable), dtype=np.float32)


def _activation_name(fn: Any) -> str:
    return "linear" if fn is None else getattr(fn, "__name__", repr(fn))


DEFAULT_ADVICE = (
    "rebuild it from the layers export_onnx supports (recurrent layers, Bidirectional, "
    "Embedding, Dense, TimeDistributed(Dense), LayerNormalization, Add, Dropout), or "
    "use export_saved_model"
)


def refusal(layer: Any, reason: str, advice: str | None = None) -> UnsupportedLayerError:
    """The error for a layer with no ONNX form: its name, its class, the reason and what to do."""
    kind = type(layer)
    advice = advice or ADVICE.get(kind.__name__) or DEFAULT_ADVICE
    return UnsupportedLayerError(
        f"layer {getattr(layer, 'name', layer)!r} ({kind.__module__}.{kind.__name__}) cannot "
        f"be exported to ONNX: {reason}; {advice}"
    )


def stack_layer_cell(layer: Any) -> str | None:
    """`"LSTM"` or `"GRU"` for stacked-keras's `LSTMStack`/`GRUStack` (`layer_stack_class`), else `None`."""
    from stacked_keras.keras_catalogue import STACK_LAYERS, layer_stack_class

    return STACK_LAYERS.get(layer_stack_class(type(layer)))


@dataclasses.dataclass(frozen=True)
class OnnxRecurrentWeights:
    """One recurrent layer (one direction) in ONNX's layout.

    Args:
        name: the layer's name; `{stack}/layer_{i}` for a layer of a stack.
        op: the ONNX node type, `"LSTM"`, `"GRU"` or `"RNN"`.
        units: the hidden size.
        W: `[gates * units, input]`, ONNX gate order (LSTM `i, o, f, c`).
        R: `[gates * units, units]`, same order.
        B: `[2 * gates * units]`: input bias, then recurrent bias.
        attributes: node attributes the cell needs (`linear_before_reset`).
        activations: the Keras activation names in ONNX's order (f, g[, h]).
    """

    name: str
    op: str
    units: int
    W: np.ndarray
    R: np.ndarray
    B: np.ndarray
    attributes: dict[str, Any]
    activations: tuple[str, ...]


def _onnx_layout(layer: Any, name: str, kind: str, kernel: Any, recurrent: Any, bias: Any,
                 reset_after: bool, activation: str, recurrent_activation: str) -> OnnxRecurrentWeights:
    """Keras's `(kernel, recurrent_kernel, bias)` of one cell (bias `None`: no bias) in ONNX's layout."""
    op, gates = {"LSTM": ("LSTM", 4), "GRU": ("GRU", 3), "SimpleRNN": ("RNN", 1)}[kind]
    kernel, recurrent = _array(kernel), _array(recurrent)
    units = int(recurrent.shape[0])
    attributes: dict[str, Any] = {}
    recurrent_bias = np.zeros(gates * units, np.float32)
    input_bias = np.zeros(gates * units, np.float32) if bias is None else _array(bias)
    if kind == "GRU" and reset_after:  # a (2, 3 * units) bias: input, then recurrent
        attributes["linear_before_reset"] = 1
        if bias is not None:
            input_bias, recurrent_bias = input_bias.reshape(2, gates * units)

    def reorder(matrix: np.ndarray) -> np.ndarray:  # gates along the last axis
        if kind != "LSTM":
            return matrix
        i, f, c, o = np.split(matrix, 4, axis=-1)
        return np.concatenate([i, o, f, c], axis=-1)

    names = [activation]
    if kind != "SimpleRNN":
        names = [recurrent_activation] + names * (2 if kind == "LSTM" else 1)
    for activation_name in names:
        if activation_name not in RECURRENT_ACTIVATIONS:
            raise refusal(layer, f"its activation {activation_name!r} has no ONNX recurrent form",
                          f"use one of {', '.join(RECURRENT_ACTIVATIONS)} inside recurrent layers")
    return OnnxRecurrentWeights(
        name=name, op=op, units=units, W=reorder(kernel).T, R=reorder(recurrent).T,
        B=np.concatenate([reorder(input_bias), reorder(recurrent_bias)]),
        attributes=attributes, activations=tuple(names),
    )


def onnx_recurrent_weights(layer: Any) -> list[OnnxRecurrentWeights]:
    """A recurrent layer's weights in ONNX's layout, one entry per layer it holds.

    One entry for a `SimpleRNN`, `LSTM` or `GRU` (its cell's weights and
    settings); L entries, bottom to top, for an `LSTMStack`/`GRUStack`, each
    from `layer.layer_weights(i)` with Keras's default cell settings (tanh
    and sigmoid, biases, GRU `reset_after=True`), named `{stack}/layer_{i}`.

    Raises:
        UnsupportedLayerError: for an activation ONNX recurrent nodes cannot
            express.
    """
    stack_cell = stack_layer_cell(layer)
    if stack_cell is not None:
        return [
            _onnx_layout(layer, f"{layer.name}/layer_{index}", stack_cell, *layer.layer_weights(index),
                         reset_after=True, activation="tanh", recurrent_activation="sigmoid")
            for index in range(layer.depth)
        ]
    cell = layer.cell
    kind = type(layer).__name__
    return [_onnx_layout(
        layer, layer.name, kind, cell.kernel, cell.recurrent_kernel,
        cell.bias if cell.use_bias else None, reset_after=bool(getattr(cell, "reset_after", False)),
        activation=_activation_name(cell.activation),
        recurrent_activation=_activation_name(getattr(cell, "recurrent_activation", None)),
    )]


class OnnxGraphWriter:
    """Builds the ONNX `ModelProto` of a Keras model.

    Args:
        model: a built Keras model (Sequential or functional).
        opset: the ONNX opset to declare.

    After `build()`: `model_proto`, `input_descriptions` (name, NumPy dtype
    name, shape with `None` for dynamic axes), `output_names`,
    `output_masked` (per output: whether it is a sequence carrying a padding
    mask), `token_input_masked` and `smallest_vocabulary`.
    """

    def __init__(self, model: Any, opset: int) -> None:
        self.model = model
        self.opset = opset
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0
        self.input_descriptions: list[tuple[str, str, tuple[Any, ...]]] = []
        self.output_names: list[str] = []
        self.output_masked: list[bool] = []
        self.token_input_masked = False
        self.smallest_vocabulary = 2
        self.model_proto: Any = None

    # -- small writers ------------------------------------------------------

    def fresh(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def node(self, op: str, inputs: list[str], hint: str, outputs: int = 1, node_name: str | None = None,
             **attributes: Any) -> Any:
        from onnx import helper

        names = [self.fresh(f"{hint}/{op}") for _ in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=node_name or self.fresh(op), **attributes))
        return names[0] if outputs == 1 else names

    def constant(self, value: np.ndarray, hint: str) -> str:
        from onnx import numpy_helper

        name = self.fresh(hint)
        self.initializers.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def refuse(self, layer: Any, reason: str, advice: str | None = None) -> UnsupportedLayerError:
        return refusal(layer, reason, advice)

    # -- the walk -----------------------------------------------------------

    def build(self) -> "OnnxGraphWriter":
        import keras
        from onnx import TensorProto, helper

        model = self.model
        try:
            symbolic_inputs = list(model.inputs)
        except (AttributeError, ValueError):
            symbolic_inputs = []
        if not symbolic_inputs:
            raise ValueError(
                f"model {model.name!r} has no known inputs; build it from keras.Input before "
                "exporting it"
            )
        vocabularies = [
            layer.input_dim
            for layer in model._flatten_layers(include_self=False, recursive=True)
            if isinstance(layer, keras.layers.Embedding)
        ]
        self.smallest_vocabulary = min(vocabularies) if vocabularies else 2
        for layer in model._flatten_layers(include_self=False, recursive=True):
            if "Attention" in type(layer).__name__:  # an attention decoder: say so first
                raise self.refuse(layer, "it is an attention layer")
        graph_inputs = []
        values: dict[int, tuple[str, str | None]] = {}
        for index, tensor in enumerate(symbolic_inputs):
            dtype = keras.backend.standardize_dtype(tensor.dtype)
            shape = list(tensor.shape)
            integer = "int" in dtype
            dynamic = 2 if (len(shape) >= 3 or (len(shape) == 2 and integer)) else 1
            shape[:dynamic] = [None] * dynamic
            if any(dim is None for dim in shape[dynamic:]):
                raise ValueError(
                    f"model input {tensor.name!r} has shape {tuple(tensor.shape)}: its feature "
                    "dimensions must be known to export it, e.g. keras.Input((None, 8))"
                )
            if dtype not in ("float32", "int32", "int64"):
                raise ValueError(
                    f"model input {tensor.name!r} has dtype {dtype}; export_onnx takes float32 "
                    "sequences or int32/int64 token ids"
                )
            name = tensor.name or f"input_{index}"
            elem = {"float32": TensorProto.FLOAT, "int32": TensorProto.INT32, "int64": TensorProto.INT64}[dtype]
            dims = ["batch" if i == 0 else ("time" if i == 1 and d is None else d) for i, d in enumerate(shape)]
            graph_inputs.append(helper.make_tensor_value_info(name, elem, dims))
            self.input_descriptions.append((name, dtype, tuple(shape)))
            values[id(tensor)] = (name, None)
        if isinstance(model, keras.Sequential):
            value = values[id(symbolic_inputs[0])]
            for layer in model.layers:
                produced = self.layer(layer, [value])
                if len(produced) != 1:
                    raise self.refuse(layer, "it has several outputs inside a Sequential model")
                value = produced[0]
            finals = [value]
        else:
            finals = self.functional(model, values)
        graph_outputs = []
        output_shapes = [tuple(t.shape) for t in model.outputs]
        for index, (name, lengths) in enumerate(finals):
            out = f"output_{index}"
            self.nodes.append(helper.make_node("Identity", [name], [out], name=self.fresh("Identity")))
            dims = [d if d is not None else ("batch" if i == 0 else f"{out}_dim{i}")
                    for i, d in enumerate(output_shapes[index])]
            graph_outputs.append(helper.make_tensor_value_info(out, TensorProto.FLOAT, dims))
            self.output_names.append(out)
            self.output_masked.append(lengths is not None)
        graph = helper.make_graph(self.nodes, model.name or "model", graph_inputs, graph_outputs,
                                  initializer=self.initializers)
        self.model_proto = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", self.opset)], producer_name="stacked-keras"
        )
        self.model_proto.ir_version = min(self.model_proto.ir_version, 8 if self.opset <= 18 else 9)
        return self

    def functional(self, model: Any, values: dict[int, tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        import keras
        from keras import KerasTensor

        for depth in sorted(model._nodes_by_depth, reverse=True):
            for node in model._nodes_by_depth[depth]:
                operation = node.operation
                if operation is None or node.is_input or isinstance(operation, keras.layers.InputLayer):
                    continue
                if not isinstance(operation, keras.layers.Layer):
                    if type(operation).__name__ in MASK_OPERATIONS:
                        continue  # masks are carried as sequence lengths instead
                    raise self.refuse(operation, "this operation has no ONNX form here")
                kwargs = node.arguments.kwargs
                if any(isinstance(t, KerasTensor) for t in keras.tree.flatten(kwargs.get("initial_state"))):
                    raise self.refuse(operation, "it is called with an initial_state",
                                      "export the stack without passed-in states (an encoder alone)")
                inputs = [t for t in keras.tree.flatten(node.arguments.args) if isinstance(t, KerasTensor)]
                if any(id(t) not in values for t in inputs):
                    continue
                produced = self.layer(operation, [values[id(t)] for t in inputs])
                if len(produced) != len(node.outputs):
                    raise self.refuse(operation, f"it has {len(node.outputs)} outputs here")
                for tensor, value in zip(node.outputs, produced):
                    values[id(tensor)] = value
        missing = [t.name for t in model.outputs if id(t) not in values]
        if missing:
            raise ValueError(f"model {model.name!r}: outputs {missing} are not connected to its inputs")
        return [values[id(t)] for t in model.outputs]

    # -- layers -------------------------------------------------------------

    def layer(self, layer: Any, inputs: list[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
        import keras

        from stacked_keras.graph import OWN_LAYERS

        kind = type(layer).__name__
        own = OWN_LAYERS.get(keras.saving.get_registered_name(type(layer)))
        if stack_layer_cell(layer) is not None:
            return self.recurrent_stack(layer, inputs[0][0], inputs[0][1])
        if own == "TimeDistributed":
            kind = "TimeDistributed"
        elif type(layer) is not getattr(keras.layers, kind, None):
            raise self.refuse(layer, "it is a custom or subclassed layer, whose call() may compute "
                              "anything", None if own is None else
                              f"build the model with keras.layers.{own} instead of {kind} to export it")
        if getattr(layer, "stateful", False):
            raise self.refuse(layer, "it is stateful (its state outlives each call)",
                              "rebuild it with stateful=False for serving")
        if getattr(layer, "return_state", False) and kind not in ("LSTM", "GRU", "SimpleRNN"):
            raise self.refuse(layer, "it returns its states (return_state=True)",
                              "export a model whose outputs are the layer outputs only")
        name, lengths = inputs[0]
        hint = layer.name
        if kind in IDENTITY_LAYERS:
            return [inputs[0]]
        if kind == "Embedding":
            return [self.embedding(layer, name)]
        if kind in ("LSTM", "GRU", "SimpleRNN"):
            return self.recurrent(layer, [layer], name, lengths, layer.return_sequences, layer.go_backwards)
        if kind == "Bidirectional":
            return self.bidirectional(layer, name, lengths)
        if kind == "Dense":
            return [(self.dense(layer, name), lengths)]
        if kind == "TimeDistributed":
            inner = layer.layer
            if type(inner).__name__ not in ("Dense", "Activation", *IDENTITY_LAYERS) or type(inner) is not getattr(
                keras.layers, type(inner).__name__, None
            ):
                raise self.refuse(layer, f"it wraps a {type(inner).__name__}",
                                  "only TimeDistributed(Dense) and TimeDistributed(Activation) export")
            return self.layer(inner, inputs)
        if kind == "Activation":
            return [(self.activation(layer, layer.activation, name, hint), lengths)]
        if kind == "LayerNormalization":
            return [(self.layer_norm(layer, name), lengths)]
        if kind in ("Add", "Multiply", "Average", "Concatenate"):
            return [(self.merge(layer, kind, [n for n, _ in inputs]),
                     next((length for _, length in inputs if length is not None), None))]
        raise self.refuse(layer, "this layer has no ONNX form here")

    def embedding(self, layer: Any, tokens: str) -> tuple[str, str | None]:
        table = self.constant(_array(layer.embeddings), f"{layer.name}/embeddings")
        out = self.node("Gather", [table, tokens], layer.name, axis=0)
        if not layer.mask_zero:
            return out, None
        self.token_input_masked = True
        dtype = next(d for n, d, _ in self.input_descriptions if n == tokens) if any(
            n == tokens for n, _, _ in self.input_descriptions) else "int64"
        zero = self.constant(np.zeros((), dtype=dtype), f"{layer.name}/pad")
        padding = self.node("Equal", [tokens, zero], layer.name)
        real = self.node("Cast", [self.node("Not", [padding], layer.name)], layer.name, to=6)  # INT32
        axis = self.constant(np.array([1], np.int64), f"{layer.name}/time_axis")
        lengths = self.node("ReduceSum", [real, axis], layer.name, keepdims=0)
        return out, lengths

    def activation(self, layer: Any, fn: Any, x: str, hint: str) -> str:
        name = _activation_name(fn)
        if name not in DENSE_ACTIVATIONS:
            raise self.refuse(layer, f"its activation {name!r} has no ONNX form here",
                              f"use one of {', '.join(DENSE_ACTIVATIONS)}")
        if name == "linear":
            return x
        if name == "relu6":
            low = self.constant(np.array(0.0, np.float32), f"{hint}/zero")
            high = self.constant(np.array(6.0, np.float32), f"{hint}/six")
            return self.node("Clip", [x, low, high], hint)
        if name == "silu":
            return self.node("Mul", [x, self.node("Sigmoid", [x], hint)], hint)
        if name == "hard_sigmoid":
            return self.node("HardSigmoid", [x], hint, alpha=1.0 / 6.0, beta=0.5)
        if name == "elu":
            return self.node("Elu", [x], hint, alpha=1.0)
        op = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh", "softmax": "Softmax",
              "selu": "Selu", "softplus": "Softplus", "softsign": "Softsign", "exponential": "Exp"}[name]
        return self.node(op, [x], hint, **({"axis": -1} if op == "Softmax" else {}))

    def dense(self, layer: Any, x: str) -> str:
        out = self.node("MatMul", [x, self.constant(_array(layer.kernel), f"{layer.name}/kernel")], layer.name)
        if layer.use_bias:
            out = self.node("Add", [out, self.constant(_array(layer.bias), f"{layer.name}/bias")], layer.name)
        return self.activation(layer, layer.activation, out, layer.name)

    def layer_norm(self, layer: Any, x: str) -> str:
        axes = layer.axis if isinstance(layer.axis, (list, tuple)) else [layer.axis]
        rank = len(layer.input.shape) if hasattr(layer, "input") else None
        last = [-1] if rank is None else [-1, rank - 1]
        if len(axes) != 1 or axes[0] not in last or getattr(layer, "rms_scaling", False):
            raise self.refuse(layer, f"it normalizes over axis {layer.axis} (rms_scaling="
                              f"{getattr(layer, 'rms_scaling', False)})",
                              "normalize over the last axis only (axis=-1, rms_scaling=False)")
        width = int(layer.gamma.shape[0]) if layer.scale else int(layer.beta.shape[0])
        gamma = _array(layer.gamma) if layer.scale else np.ones(width, np.float32)
        beta = _array(layer.beta) if layer.center else np.zeros(width, np.float32)
        return self.node("LayerNormalization",
                         [x, self.constant(gamma, f"{layer.name}/gamma"), self.constant(beta, f"{layer.name}/beta")],
                         layer.name, axis=-1, epsilon=float(layer.epsilon))

    def merge(self, layer: Any, kind: str, names: list[str]) -> str:
        if kind == "Concatenate":
            if layer.axis not in (-1, len(layer.output.shape) - 1):
                raise self.refuse(layer, f"it concatenates along axis {layer.axis}",
                                  "concatenate along the last axis")
            return self.node("Concat", names, layer.name, axis=-1)
        op = "Mul" if kind == "Multiply" else "Add"
        out = names[0]
        for other in names[1:]:
            out = self.node(op, [out, other], layer.name)
        if kind == "Average":
            out = self.node("Mul", [out, self.constant(np.array(1.0 / len(names), np.float32), "mean")], layer.name)
        return out

    # -- recurrent layers ---------------------------------------------------

    def recurrent(self, layer: Any, directions: list[Any], x: str, lengths: str | None,
                  return_sequences: bool, go_backwards: bool) -> list[tuple[str, str | None]]:
        parts = [part for d in directions for part in onnx_recurrent_weights(d)]
        if any(p.op != parts[0].op or p.attributes != parts[0].attributes for p in parts):
            raise self.refuse(layer, "its two directions use different cells or settings")
        direction = "bidirectional" if len(parts) == 2 else ("reverse" if go_backwards else "forward")
        hint = layer.name
        time_major = self.node("Transpose", [x], hint, perm=[1, 0, 2])
        # return_state (an encoder handing its states on): ONNX Y_h, and Y_c for an LSTM.
        states = len(parts) == 1 and getattr(layer, "return_state", False)
        Y, Y_h, *Y_c = self.recurrent_node(parts, time_major, lengths, direction, hint,
                                           outputs=3 if states and parts[0].op == "LSTM" else 2)
        if states:
            layer_states = [(self.squeeze(state, 0, hint), None) for state in (Y_h, *Y_c)]
            output = self.recurrent_output(Y, Y_h, lengths, return_sequences, go_backwards, hint)
            return [output, *layer_states]
        if len(parts) == 2:
            return [(name, lengths if return_sequences else None) for name in self.merge_directions(
                layer, Y if return_sequences else Y_h, return_sequences)]
        return [self.recurrent_output(Y, Y_h, lengths, return_sequences, go_backwards, hint)]

    def recurrent_node(self, parts: list[OnnxRecurrentWeights], x: str, lengths: str | None, direction: str,
                       hint: str, outputs: int = 2, node_name: str | None = None) -> list[str]:
        """One ONNX recurrent node over time-major `x`, one part per direction; its outputs."""
        activations = [name for p in parts for name in p.activations]
        attributes = dict(parts[0].attributes)
        alphas = [RECURRENT_ACTIVATIONS[n][1] for n in activations if RECURRENT_ACTIVATIONS[n][1] is not None]
        betas = [RECURRENT_ACTIVATIONS[n][2] for n in activations if RECURRENT_ACTIVATIONS[n][2] is not None]
        if alphas:
            attributes.update(activation_alpha=alphas, activation_beta=betas)
        W = self.constant(np.stack([p.W for p in parts]), f"{hint}/W")
        R = self.constant(np.stack([p.R for p in parts]), f"{hint}/R")
        B = self.constant(np.stack([p.B for p in parts]), f"{hint}/B")
        return self.node(parts[0].op, [x, W, R, B, lengths or ""], hint, outputs=outputs, node_name=node_name,
                         hidden_size=parts[0].units, direction=direction,
                         activations=[RECURRENT_ACTIVATIONS[n][0] for n in activations], **attributes)

    def recurrent_stack(self, layer: Any, x: str, lengths: str | None) -> list[tuple[str, str | None]]:
        """An `LSTMStack`/`GRUStack`: L chained nodes `{stack}/layer_{i}`, time-major in between."""
        if lengths is not None:
            raise self.refuse(layer, "its input carries a padding mask (Embedding(mask_zero=True)), which a "
                              f"fused {layer.CELL} stack does not apply (Keras refuses it when the model runs)",
                              f"build the stack from standard {layer.CELL} layers (deep_rnn(..., fused=False)), "
                              "whose masks export as sequence_lens")
        sequence = self.node("Transpose", [x], layer.name, perm=[1, 0, 2])
        for part in onnx_recurrent_weights(layer):
            Y, Y_h = self.recurrent_node([part], sequence, None, "forward", part.name, node_name=part.name)
            sequence = self.squeeze(Y, 1, part.name)  # [T, B, H]: the next layer's input
        if layer.return_sequences:
            return [(self.node("Transpose", [sequence], layer.name, perm=[1, 0, 2]), None)]
        return [(self.squeeze(Y_h, 0, layer.name), None)]

    def recurrent_output(self, Y: str, Y_h: str, lengths: str | None, return_sequences: bool,
                         go_backwards: bool, hint: str) -> tuple[str, str | None]:
        """One direction's Keras output: `Y` as `[B, T, H]`, or the last state `Y_h` as `[B, H]`."""
        if not return_sequences:
            return self.squeeze(Y_h, 0, hint), None
        out = self.node("Transpose", [self.squeeze(Y, 1, hint)], hint, perm=[1, 0, 2])
        if go_backwards:  # Keras hands the outputs back in the order it ran them
            out = self.node("Slice", [out, self.constant(np.array([-1], np.int64), "start"),
                                      self.constant(np.array([np.iinfo(np.int64).min], np.int64), "end"),
                                      self.constant(np.array([1], np.int64), "axis"),
                                      self.constant(np.array([-1], np.int64), "step")], hint)
        return out, lengths

    def squeeze(self, x: str, axis: int, hint: str) -> str:
        return self.node("Squeeze", [x, self.constant(np.array([axis], np.int64), "axis")], hint)

    def bidirectional(self, layer: Any, x: str, lengths: str | None) -> list[tuple[str, str | None]]:
        forward, backward = layer.forward_layer, layer.backward_layer
        for part in (forward, backward):
            kind = type(part).__name__
            if kind not in ("LSTM", "GRU", "SimpleRNN") or type(part) is not getattr(__import__("keras").layers, kind):
                raise self.refuse(layer, f"it wraps a {type(part).__module__}.{kind}",
                                  "wrap keras.layers.LSTM, GRU or SimpleRNN")
            if part.stateful or part.return_state:
                raise self.refuse(layer, "its layers are stateful or return their states",
                                  "use stateful=False and return_state=False")
        if forward.go_backwards or not backward.go_backwards:
            raise self.refuse(layer, "its forward layer runs backwards", "use a plain Bidirectional(layer)")
        return self.recurrent(layer, [forward, backward], x, lengths, forward.return_sequences, False)

    def merge_directions(self, layer: Any, y: str, sequences: bool) -> list[str]:
        """ONNX `Y` `[T, 2, B, H]` or `Y_h` `[2, B, H]` merged as Keras's merge_mode."""
        hint = layer.name
        if sequences:
            y = self.node("Transpose", [y], hint, perm=[2, 0, 1, 3])  # [B, T, 2, H]
            axis = 2
        else:
            y = self.node("Transpose", [y], hint, perm=[1, 0, 2])  # [B, 2, H]
            axis = 1
        mode = layer.merge_mode
        if mode == "concat":
            shape = [0, 0, -1] if sequences else [0, -1]
            return [self.node("Reshape", [y, self.constant(np.array(shape, np.int64), "shape")], hint)]
        halves = self.node("Split", [y], hint, outputs=2, axis=axis, num_outputs=2) if self.opset >= 18 else \
            self.node("Split", [y, self.constant(np.array([1, 1], np.int64), "split")], hint, outputs=2, axis=axis)
        first, second = (self.squeeze(h, axis, hint) for h in halves)
        if mode is None:
            return [first, second]
        if mode == "sum":
            return [self.node("Add", [first, second], hint)]
        if mode == "mul":
            return [self.node("Mul", [first, second], hint)]
        if mode == "ave":
            total = self.node("Add", [first, second], hint)
            return [self.node("Mul", [total, self.constant(np.array(0.5, np.float32), "half")], hint)]
        raise self.refuse(layer, f"its merge_mode {mode!r} is unknown", "use concat, sum, mul, ave or None")

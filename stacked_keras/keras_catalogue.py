"""Keras knowledge as data: the layer names, arguments and defaults stacked-keras reads.

Every part of stacked-keras that needs to know something about Keras itself
(what a layer class is called and its aliases, its positional arguments, the
config keys Keras reads as booleans, which layers pass a sequence through,
keep the rank, remove or fabricate a time axis, the cuDNN kernel's defaults)
reads it from here, so the source, config and live-model front-ends, the
graph, the rules and the fixers agree. Nothing here imports Keras or
TensorFlow: it is plain data, safe for the static linter.

The module sits at the top of the package, not in `stacked_keras.lint`,
because `stacked_keras.graph`, `stacked_keras.cudnn` and the builders need it
too, and importing `stacked_keras.lint` from `graph.py` would make an import
cycle.

Example:

>>> from stacked_keras.keras_catalogue import RECURRENT_LAYERS, POSITIONAL_ARGUMENTS
>>> "LSTM" in RECURRENT_LAYERS, POSITIONAL_ARGUMENTS["Dropout"][0]
(True, 'rate')
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "RECURRENT_LAYERS",
    "RECURRENT_CELLS",
    "WRAPPERS",
    "RANK_KEEPING",
    "TIME_COLLAPSING",
    "TIME_FABRICATING",
    "KERAS_DEFAULTS",
    "CLASS_ALIASES",
    "OWN_LAYERS",
    "POSITIONAL_ARGUMENTS",
    "BOOLEAN_KEYS",
    "MERGE_FUNCTIONS",
    "KERAS_MODULE_ALIASES",
    "KERAS_LAYER_NAMES",
    "MODEL_CLASSES",
    "KERAS_TENSOR_MARKER",
    "TF_OP_LAYERS",
    "OP_CLASS_NAMES",
    "SHAPE_OPS",
    "CUDNN_DEFAULTS",
    "PUBLIC_NAMES",
    "STACK_LAYERS",
    "STACK_REGISTERED_NAMES",
    "STACK_POSITIONAL_ARGUMENTS",
    "CALL_ARGUMENTS",
    "stack_class",
    "layer_stack_class",
]

# -- layer families (the graph and the rules) --------------------------------

# Layers that run a recurrence over a time axis.
RECURRENT_LAYERS = frozenset(
    {
        "SimpleRNN",
        "LSTM",
        "GRU",
        "RNN",
        "ConvLSTM1D",
        "ConvLSTM2D",
        "ConvLSTM3D",
        "CuDNNLSTM",
        "CuDNNGRU",
    }
)

# Cells, and the layer each one behaves like once wrapped in `RNN`.
RECURRENT_CELLS = {
    "SimpleRNNCell": "SimpleRNN",
    "LSTMCell": "LSTM",
    "GRUCell": "GRU",
    "StackedRNNCells": "RNN",
}

WRAPPERS = frozenset({"Bidirectional", "TimeDistributed"})

# Layers whose output keeps the rank of their input: a vector stays a vector
# and a sequence stays a sequence. A vector passing through them into a
# recurrent layer is still a broken vertical connection.
RANK_KEEPING = frozenset(
    {
        "Dropout",
        "SpatialDropout1D",
        "GaussianNoise",
        "GaussianDropout",
        "AlphaDropout",
        "ActivityRegularization",
        "BatchNormalization",
        "LayerNormalization",
        "GroupNormalization",
        "UnitNormalization",
        "Normalization",
        "Rescaling",
        "Dense",
        "EinsumDense",
        "Activation",
        "ReLU",
        "LeakyReLU",
        "PReLU",
        "ELU",
        "Softmax",
        "Masking",
        "Identity",
        "Add",
        "Subtract",
        "Multiply",
        "Average",
        "Maximum",
        "Minimum",
    }
)

# Layers that remove the time axis: what follows them is per sample.
TIME_COLLAPSING = frozenset(
    {
        "Flatten",
        "GlobalAveragePooling1D",
        "GlobalMaxPooling1D",
        "GlobalAveragePooling2D",
        "GlobalMaxPooling2D",
        "GlobalAveragePooling3D",
        "GlobalMaxPooling3D",
    }
)

# Layers and ops that can turn a vector into a sequence.
TIME_FABRICATING = frozenset(
    {"Reshape", "expand_dims", "reshape", "RepeatVector"}
)

# Keras defaults for the config keys the rules read, by class.
_RECURRENT_DEFAULTS = {
    "return_sequences": False,
    "return_state": False,
    "go_backwards": False,
    "stateful": False,
    "unroll": False,
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "use_bias": True,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "kernel_regularizer": None,
    "recurrent_regularizer": None,
    "bias_regularizer": None,
    "activity_regularizer": None,
}
KERAS_DEFAULTS: dict[str, dict[str, Any]] = {
    "SimpleRNN": dict(_RECURRENT_DEFAULTS),
    "LSTM": dict(_RECURRENT_DEFAULTS),
    "GRU": dict(_RECURRENT_DEFAULTS, reset_after=True),
    "RNN": {
        k: _RECURRENT_DEFAULTS[k]
        for k in ("return_sequences", "return_state", "go_backwards", "stateful", "unroll")
    },
    "ConvLSTM1D": dict(_RECURRENT_DEFAULTS),
    "ConvLSTM2D": dict(_RECURRENT_DEFAULTS),
    "ConvLSTM3D": dict(_RECURRENT_DEFAULTS),
    "SimpleRNNCell": {k: _RECURRENT_DEFAULTS[k] for k in ("activation", "use_bias", "dropout", "recurrent_dropout")},
    "LSTMCell": {k: _RECURRENT_DEFAULTS[k] for k in ("activation", "recurrent_activation", "use_bias", "dropout", "recurrent_dropout")},
    "GRUCell": dict(
        {k: _RECURRENT_DEFAULTS[k] for k in ("activation", "recurrent_activation", "use_bias", "dropout", "recurrent_dropout")},
        reset_after=True,
    ),
    "Dense": {"activation": None, "use_bias": True, "kernel_regularizer": None},
    "Bidirectional": {"merge_mode": "concat"},
}

CLASS_ALIASES = {
    # Keras 2 / tf.keras names that mean the same layer.
    "CuDNNLSTM": "CuDNNLSTM",
    "CuDNNGRU": "CuDNNGRU",
    "Convolution1D": "Conv1D",
    "Conv1DTranspose": "Conv1DTranspose",
    "GlobalAvgPool1D": "GlobalAveragePooling1D",
    "GlobalMaxPool1D": "GlobalMaxPooling1D",
    "GlobalAvgPool2D": "GlobalAveragePooling2D",
    "GlobalMaxPool2D": "GlobalMaxPooling2D",
    "Input": "InputLayer",
}


# stacked-keras's own registered layers (`package>Name`), and the Keras layer
# each one computes exactly like: front-ends and the reference treat them as it.
OWN_LAYERS = {
    "stacked_keras>TimeDistributed": "TimeDistributed",
    "stacked_keras>FusedLSTM": "LSTM",
    "stacked_keras>FusedGRU": "GRU",
}

# stacked-keras's stack layers (`stacked_keras.grid_layers`): one layer that
# stands for a whole stack of LSTM or GRU layers (config `units`, one per
# layer, bottom to top; `return_sequences` of the top layer). The front-ends
# keep such a layer as one node of this class; `graph.expand_stack_layers`
# turns it into the layers it stands for before the rules read the graph.
# Kept apart from `OWN_LAYERS`, which map one layer to one Keras layer.
STACK_LAYERS = {"LSTMStack": "LSTM", "GRUStack": "GRU"}

# The spellings that name a stack layer: in source (`stacked_keras.LSTMStack`,
# `stacked_keras.grid_layers.LSTMStack`), in saved configs (the class name,
# the registered name `stacked_keras>LSTMStack`), on a live layer.
STACK_REGISTERED_NAMES = {
    spelling: name
    for name in STACK_LAYERS
    for spelling in (name, f"stacked_keras.{name}", f"stacked_keras.grid_layers.{name}", f"stacked_keras>{name}")
}

# Their positional parameters, under their config keys (from the signatures).
STACK_POSITIONAL_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "LSTMStack": ("units", "return_sequences"),
    "GRUStack": ("units", "return_sequences", "kernel_initializer", "recurrent_initializer", "bias_initializer"),
}


def stack_class(class_name: object, registered_name: object = None, module: object = None) -> str | None:
    """`"LSTMStack"` or `"GRUStack"` when a layer is stacked-keras's stack layer, else None.

    A class of that name registered or defined elsewhere (`"my_lab>LSTMStack"`,
    module `my_lab.layers`) is not stacked-keras's.

    >>> stack_class("LSTMStack", "stacked_keras>LSTMStack", "stacked_keras.grid_layers")
    'LSTMStack'
    >>> stack_class("LSTMStack", "my_lab>LSTMStack") is None
    True
    """
    if not isinstance(class_name, str):
        return None
    name = STACK_REGISTERED_NAMES.get(class_name)
    if name is None:
        return None
    if isinstance(registered_name, str) and registered_name not in STACK_REGISTERED_NAMES:
        return None
    if isinstance(module, str) and module and module != "stacked_keras" and not module.startswith("stacked_keras."):
        return None
    return name


def layer_stack_class(layer_class: type) -> str | None:
    """`stack_class` of a live layer's class, by its name and module.

    The one test the exports, the reference and `describe` apply to a live
    layer: a subclass (another name) or a class of the same name defined
    outside stacked_keras is not the stack layer, whose computation they
    know. Reads only the class, so this module still imports nothing.
    """
    return stack_class(layer_class.__name__, None, layer_class.__module__)


# Class names the rules give a meaning to: a user class by one of these names
# is renamed by the source front-end.
KERAS_LAYER_NAMES = (
    RECURRENT_LAYERS | frozenset(RECURRENT_CELLS) | WRAPPERS | RANK_KEEPING | TIME_COLLAPSING
    | TIME_FABRICATING | frozenset({"InputLayer", "Input", "Sequential", "Model"})
)


# -- calls (the source front-end) --------------------------------------------

# The first positional parameters of the layers people call positionally,
# under their Keras config keys (from the layers' signatures).
_RECURRENT_ARGS = ("units", "activation", "recurrent_activation", "use_bias")
_SIMPLE_RNN_ARGS = ("units", "activation", "use_bias")
_CONV_LSTM_ARGS = (
    "filters", "kernel_size", "strides", "padding", "data_format",
    "dilation_rate", "activation", "recurrent_activation",
)
_CONV_ARGS = ("filters", "kernel_size", "strides", "padding")
_POOL_ARGS = ("pool_size", "strides", "padding")
POSITIONAL_ARGUMENTS: dict[str, tuple[str, ...]] = {
    "LSTM": _RECURRENT_ARGS,
    "GRU": _RECURRENT_ARGS,
    "CuDNNLSTM": ("units",),
    "CuDNNGRU": ("units",),
    "SimpleRNN": _SIMPLE_RNN_ARGS,
    "LSTMCell": _RECURRENT_ARGS,
    "GRUCell": _RECURRENT_ARGS,
    "SimpleRNNCell": _SIMPLE_RNN_ARGS,
    "StackedRNNCells": ("cells",),
    "RNN": ("cell", "return_sequences", "return_state", "go_backwards", "stateful", "unroll"),
    "ConvLSTM1D": _CONV_LSTM_ARGS,
    "ConvLSTM2D": _CONV_LSTM_ARGS,
    "ConvLSTM3D": _CONV_LSTM_ARGS,
    "Bidirectional": ("layer", "merge_mode"),
    "TimeDistributed": ("layer",),
    "Dense": ("units", "activation", "use_bias"),
    "EinsumDense": ("equation", "output_shape", "activation"),
    "Dropout": ("rate", "noise_shape", "seed"),
    "SpatialDropout1D": ("rate",),
    "SpatialDropout2D": ("rate",),
    "SpatialDropout3D": ("rate",),
    "GaussianNoise": ("stddev",),
    "GaussianDropout": ("rate",),
    "AlphaDropout": ("rate", "noise_shape", "seed"),
    "Reshape": ("target_shape",),
    "RepeatVector": ("n",),
    "Embedding": ("input_dim", "output_dim"),
    "Conv1D": _CONV_ARGS,
    "Conv2D": _CONV_ARGS,
    "Conv3D": _CONV_ARGS,
    "SeparableConv1D": _CONV_ARGS,
    "Conv1DTranspose": _CONV_ARGS,
    "MaxPooling1D": _POOL_ARGS,
    "AveragePooling1D": _POOL_ARGS,
    "MaxPooling2D": _POOL_ARGS,
    "AveragePooling2D": _POOL_ARGS,
    "Activation": ("activation",),
    "Masking": ("mask_value",),
    "Flatten": ("data_format",),
    "Permute": ("dims",),
    "Concatenate": ("axis",),
    "Attention": ("use_scale", "score_mode"),
    "AdditiveAttention": ("use_scale",),
    "MultiHeadAttention": ("num_heads", "key_dim", "value_dim"),
    "LayerNormalization": ("axis", "epsilon"),
    "BatchNormalization": ("axis", "momentum", "epsilon"),
    "GlobalAveragePooling1D": ("data_format", "keepdims"),
    "GlobalMaxPooling1D": ("data_format", "keepdims"),
    "Lambda": ("function", "output_shape"),
    "InputLayer": ("shape", "batch_size", "dtype"),
    "Softmax": ("axis",),
    "LeakyReLU": ("negative_slope",),
    "ReLU": ("max_value", "negative_slope", "threshold"),
    "Rescaling": ("scale", "offset"),
    "UpSampling1D": ("size",),
    "Cropping1D": ("cropping",),
    "ZeroPadding1D": ("padding",),
    "ActivityRegularization": ("l1", "l2"),
}

# The positional parameters of every layer class the source front-end reads.
CALL_ARGUMENTS: dict[str, tuple[str, ...]] = {**POSITIONAL_ARGUMENTS, **STACK_POSITIONAL_ARGUMENTS}

# Config keys Keras reads as booleans: a literal is stored as a bool.
BOOLEAN_KEYS = frozenset({
    "return_sequences", "return_state", "go_backwards", "stateful", "unroll",
    "use_bias", "reset_after", "time_major", "unit_forget_bias",
})

# `keras.layers.add([a, b])` and friends: functions that build a merge layer.
MERGE_FUNCTIONS = {
    "add": "Add", "subtract": "Subtract", "multiply": "Multiply", "average": "Average",
    "maximum": "Maximum", "minimum": "Minimum", "concatenate": "Concatenate", "dot": "Dot",
}

# Module paths that are Keras under another name, longest first.
KERAS_MODULE_ALIASES = (
    "keras._tf_keras.keras",
    "tensorflow.compat.v1.keras",
    "tensorflow.compat.v2.keras",
    "tensorflow.python.keras",
    "tensorflow.keras",
    "keras.src",
    "keras.api",
    "tf_keras",
)


# -- saved configs (the config front-end) --------------------------------------

# Classes whose config describes a whole model rather than one layer.
MODEL_CLASSES = frozenset({"Sequential", "Functional", "Model"})

# Serialized tensor marker in Keras 3 functional configs.
KERAS_TENSOR_MARKER = "__keras_tensor__"

# Keras 2 wrappers of TensorFlow functions applied between layers.
TF_OP_LAYERS = frozenset({"TFOpLambda", "SlicingOpLambda"})

# Keras 3 op classes whose snake_case name differs from the function name.
OP_CLASS_NAMES = {"GetItem": "getitem"}

# Keras 3 ops that change the shape of a tensor, recognised in the legacy
# (`.h5`) format, where an op's entry has no `module` to say it is an op.
# Their configs hold no `trainable` key, which every Keras layer config has.
SHAPE_OPS = frozenset(
    {
        "ExpandDims", "Reshape", "Squeeze", "Transpose", "GetItem", "Stack",
        "Unstack", "Concatenate", "Tile", "Repeat", "BroadcastTo", "Swapaxes",
        "Moveaxis", "Flip", "Take", "TakeAlongAxis", "Split", "Mean", "Sum",
        "Max", "Min", "Argmax", "Argmin", "Cumsum", "Ravel", "Slice",
    }
)


# -- cuDNN -----------------------------------------------------------------------

# The settings the cuDNN kernel needs for LSTM and GRU, as Keras defaults them.
CUDNN_DEFAULTS = {
    "activation": "tanh",
    "recurrent_activation": "sigmoid",
    "unroll": False,
    "use_bias": True,
    "recurrent_dropout": 0.0,
    "reset_after": True,
    "use_cudnn": "auto",
}


# -- names a snippet uses without importing them (the source front-end) ---------

# The public Keras names a file may use without an import (a Stack Overflow
# snippet, names from `%run`), and the canonical path each one is read as when
# the file binds it nowhere. Layer classes are `keras.layers.<Name>`; the
# model classes, `Input` and the merge functions as Keras exports them; `keras`,
# `tf` and `layers` are the modules those names are usually reached through.
PUBLIC_NAMES: dict[str, str] = {
    **{
        name: f"keras.layers.{name}"
        for name in sorted(
            set(POSITIONAL_ARGUMENTS) | RECURRENT_LAYERS | set(RECURRENT_CELLS) | WRAPPERS | RANK_KEEPING
            | TIME_COLLAPSING | {"Reshape", "RepeatVector", "InputLayer", "Layer", "Bidirectional"}
        )
    },
    **{name: f"keras.layers.{name}" for name in MERGE_FUNCTIONS},
    "Sequential": "keras.Sequential",
    "Model": "keras.Model",
    "Input": "keras.Input",
    "keras": "keras",
    "tf": "tensorflow",
    "layers": "keras.layers",
}

"""How the front-ends name what Keras serialized: op classes, user classes, losses.

Shared by the config front-end (`from_config`, reading saved files and
config dicts) and the live-model front-end (`from_model`), so that neither
borrows from the other. Plain Python over the Keras catalogue: no Keras.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from stacked_keras.graph import OWN_LAYERS, UNKNOWN
from stacked_keras.keras_catalogue import OP_CLASS_NAMES as _OP_NAMES

__all__ = ["custom_class_name", "loss_name", "op_name"]

_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def op_name(class_name: str) -> str:
    """The function name of a Keras 3 op class: `"ExpandDims"` -> `"expand_dims"`.

    Args:
        class_name: the op's class name, as in a config or `type(op).__name__`.

    Returns:
        The snake_case name the graph uses for `kind="op"` nodes.

    Example:

    >>> op_name("ExpandDims")
    'expand_dims'
    """
    if class_name in _OP_NAMES:
        return _OP_NAMES[class_name]
    return _CAMEL_BOUNDARY.sub("_", class_name).lower()


def custom_class_name(class_name: str, registered_name: Any, module: Any) -> str:
    """The graph class of a layer, telling a user class from the Keras one it shadows.

    A user's own `LSTM` class is not Keras's LSTM: it keeps its registered
    name (`"my_lab>LSTM"`) or its module (`"my_lab.layers>LSTM"`), so no rule
    mistakes it for a recurrent layer. Keras's own classes keep their name,
    and stacked-keras's own layers take the name of the Keras layer they
    compute like (`graph.OWN_LAYERS`).

    Args:
        class_name: the class name (`"LSTM"`).
        registered_name: the name Keras registered it under, if any.
        module: the module that defines the class, if known.

    Returns:
        `class_name` for a Keras class, a `"package>Name"` string otherwise.

    Example:

    >>> custom_class_name("LSTM", "my_lab>LSTM", "my_lab.layers")
    'my_lab>LSTM'
    """
    if registered_name in OWN_LAYERS:  # stacked-keras's layers compute like Keras's
        return OWN_LAYERS[registered_name]
    if isinstance(registered_name, str) and ">" in registered_name:
        return registered_name
    if isinstance(module, str) and module and not module.startswith(("keras", "tf_keras", "tensorflow")):
        return f"{module}>{class_name}"
    return class_name


def loss_name(loss: Any) -> Any:
    """The name of a loss as given to `compile`, serialized or live.

    Understands a string (`"mse"`), a serialized loss object
    (`{"class_name": "MeanSquaredError", "config": {"name": ...}}`), a
    serialized function (`{"class_name": "function", "config": "mse"}`), a
    live `keras.losses.Loss` (its `name`) or function (its `__name__`), and a
    list or dict of losses that all have the same name.

    Args:
        loss: the loss, in any of the forms above, or None.

    Returns:
        The name as a string, None when no loss was given, or `UNKNOWN` when
        the loss cannot be named (a lambda, or different losses per output).

    Example:

    >>> loss_name({"class_name": "function", "config": "mse"})
    'mse'
    """
    if loss is None:
        return None
    if isinstance(loss, str):
        return loss
    if isinstance(loss, Mapping):
        if "class_name" in loss:
            class_name = loss.get("class_name")
            config = loss.get("config")
            if class_name == "function":
                if isinstance(config, str):
                    return config
                registered = loss.get("registered_name")
                return registered if isinstance(registered, str) else UNKNOWN
            if class_name == "__lambda__" or not isinstance(class_name, str):
                return UNKNOWN
            if isinstance(config, Mapping) and isinstance(config.get("name"), str):
                return config["name"]
            return op_name(class_name)
        return _single_loss(loss.values())
    if isinstance(loss, (list, tuple)):
        return _single_loss(loss)
    name = getattr(loss, "name", None)
    if isinstance(name, str):
        return name
    name = getattr(loss, "__name__", None)
    if isinstance(name, str) and name != "<lambda>":
        return name
    return UNKNOWN


def _single_loss(losses: Any) -> Any:
    names = {loss_name(item) for item in losses}
    names.discard(None)
    if len(names) == 1:
        (name,) = names
        return name
    return None if not names else UNKNOWN

"""When an LSTM or GRU layer can run on cuDNN's fused kernel.

Keras 3 (TensorFlow and JAX backends) hands an LSTM or GRU to cuDNN only when
its settings match what the fused kernel computes; otherwise it falls back to
the generic loop, several times slower on a GPU. The conditions follow
Keras's own `cudnn_ok` checks (`keras/src/backend/tensorflow/rnn.py`) and the
layers' `use_cudnn` and `recurrent_dropout` handling.

Builders (as a warning) and the linter (rule SK202) both ask this module.
Plain Python: no TensorFlow import.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stacked_keras.keras_catalogue import CUDNN_DEFAULTS

__all__ = ["CudnnBlocker", "cudnn_blockers", "cudnn_blocking_settings"]


_NO_VALUE = object()  # `needed` of a blocker that has no single right value


@dataclass(frozen=True)
class CudnnBlocker:
    """One setting that keeps an LSTM or GRU layer off the cuDNN kernel.

    Args:
        key: the layer argument (`"recurrent_dropout"`).
        value: the value it has (`0.2`; an activation by its name).
        needed: the value cuDNN needs (`0`), or `_NO_VALUE` when there is
            none to name (`use_cudnn=False` is a choice, not a mistake).

    Example:

    >>> str(CudnnBlocker("unroll", True, False))
    'unroll=True (cuDNN needs False)'
    """

    key: str
    value: Any
    needed: Any = _NO_VALUE

    @property
    def has_needed(self) -> bool:
        """Whether cuDNN needs one value of this setting, given in `needed`."""
        return self.needed is not _NO_VALUE

    def __str__(self) -> str:
        text = f"{self.key}={self.value!r}"
        return f"{text} (cuDNN needs {self.needed!r})" if self.has_needed else text

# What `known` gives for a value that is not plain Python (the linter's UNKNOWN).
_NOT_KNOWN = object()

_DEFAULTS = CUDNN_DEFAULTS


def _name(value: Any) -> Any:
    """An activation's name: `"tanh"` for "tanh", keras.activations.tanh, or a serialized dict."""
    if isinstance(value, Mapping):
        value = value.get("config", value.get("class_name"))
        if isinstance(value, Mapping):
            value = value.get("name")
    if callable(value):
        value = getattr(value, "__name__", value)
    return value


def cudnn_blockers(cell_type: str, config: Mapping[str, Any]) -> list[str]:
    """Lists the settings that keep an LSTM or GRU layer off the cuDNN kernel, as sentences.

    The readable form of `cudnn_blocking_settings` (one `str(blocker)` each),
    as the builders print it in their warning.

    Args:
        cell_type: `"LSTM"` or `"GRU"`; other cell types have no cuDNN kernel
            and return an empty list.
        config: the layer's settings under Keras's argument names (see
            `cudnn_blocking_settings`).

    Returns:
        One readable reason per blocking setting, such as
        `"recurrent_dropout=0.2 (cuDNN needs 0)"`; empty when the layer is
        eligible.

    Example:

    >>> cudnn_blockers("LSTM", {"recurrent_dropout": 0.2})
    ['recurrent_dropout=0.2 (cuDNN needs 0)']
    """
    return [str(blocker) for blocker in cudnn_blocking_settings(cell_type, config)]


def cudnn_blocking_settings(cell_type: str, config: Mapping[str, Any]) -> list[CudnnBlocker]:
    """The settings that keep an LSTM or GRU layer off the cuDNN kernel, as data.

    Args:
        cell_type: `"LSTM"` or `"GRU"`; other cell types have no cuDNN kernel
            and return an empty list.
        config: the layer's settings under Keras's argument names; missing
            keys take the Keras defaults. Values that are not plain Python
            (for instance the linter's UNKNOWN) are skipped: only settings
            known to block are reported. An activation given as None is the
            linear activation, as in Keras, and blocks the kernel.

    Returns:
        One `CudnnBlocker(key, value, needed)` per blocking setting, in a
        fixed order; empty when the layer is eligible.

    Example:

    >>> cudnn_blocking_settings("GRU", {"reset_after": False})
    [CudnnBlocker(key='reset_after', value=False, needed=True)]
    """
    if cell_type not in ("LSTM", "GRU"):
        return []

    def known(key: str) -> Any:
        value = config.get(key, _DEFAULTS[key])
        return value if isinstance(value, (str, bool, int, float)) or value is None or callable(value) or isinstance(value, Mapping) else _NOT_KNOWN

    blockers = []
    if known("use_cudnn") is False:
        blockers.append(CudnnBlocker("use_cudnn", False))
    for key, needed in (("activation", "tanh"), ("recurrent_activation", "sigmoid")):
        value = known(key)
        # Keras reads None as the linear activation (`keras.activations.get`).
        name = None if value is _NOT_KNOWN else _name(value)
        if value is None:
            blockers.append(CudnnBlocker(key, None, needed))
        elif isinstance(name, str) and name != needed:
            blockers.append(CudnnBlocker(key, name, needed))
    if known("unroll") is True:
        blockers.append(CudnnBlocker("unroll", True, False))
    if known("use_bias") is False:
        blockers.append(CudnnBlocker("use_bias", False, True))
    dropout = known("recurrent_dropout")
    if isinstance(dropout, (int, float)) and not isinstance(dropout, bool) and dropout > 0:
        blockers.append(CudnnBlocker("recurrent_dropout", dropout, 0))
    if cell_type == "GRU" and known("reset_after") is False:
        blockers.append(CudnnBlocker("reset_after", False, True))
    return blockers

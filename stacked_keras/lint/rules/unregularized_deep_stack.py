"""SK203 (unregularized-deep-stack).

The rule's page (`PAGE`, what `stacked-keras rule SK203` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stacked_keras.graph import UNKNOWN, LayerNode
from stacked_keras.lint.findings import Finding
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _finding, _join, _labels
from stacked_keras.lint.semantics import (
    _DROPOUT_LAYERS,
    _WRAPPER_DEPTH_LIMIT,
    GraphView as _GraphView,
    _as_number,
    _class_of,
    _setting,
)

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK203"

PAGE = """\
## What it does
Checks for a chain of three or more stacked recurrent layers (a recurrent
layer inside `TimeDistributed` under one outside it counts as one level of a
hierarchical stack) in a model with no regularization anywhere: no `dropout` or `recurrent_dropout` above zero,
no dropout layer (`Dropout`, `SpatialDropout1D`, `GaussianDropout`,
`GaussianNoise`, ...), no `ActivityRegularization` and no kernel, recurrent,
bias or activity regularizer. A setting not known statically counts as
regularization, and so does nothing else: weight decay given to the optimizer
is not in the model, so the finding is only info.

## Why is this bad?
Each recurrent layer adds many parameters; a deep stack fits the training set
easily and, without dropout or regularization, overfits a small dataset
(high training accuracy, poor validation accuracy).

## Known problems
Regularization outside the model (weight decay in the optimizer, early
stopping, data augmentation, a large dataset) is invisible to the rule, which
is why the finding is only info. A setting it cannot read statically counts as
regularization, so such a model is not reported.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True, dropout=0.2),
    keras.layers.LSTM(64, return_sequences=True, dropout=0.2),
    keras.layers.LSTM(32, dropout=0.2),
    keras.layers.Dense(1),
])
```
"""


def _regularized(view: _GraphView) -> bool:
    """Whether the model has (or may have) dropout or weight regularization somewhere."""
    for outer in view.nodes:
        node: Any = outer
        for _ in range(_WRAPPER_DEPTH_LIMIT):
            if not isinstance(node, LayerNode):
                break
            config = getattr(node, "config", None)
            if not isinstance(config, Mapping):
                return True  # cannot tell: assume it is there
            cls = _class_of(node)
            if cls in _DROPOUT_LAYERS:
                rate = _setting(node, "rate", UNKNOWN)
                if cls == "GaussianNoise":
                    rate = _setting(node, "stddev", UNKNOWN)
                number = _as_number(rate)
                if number is None or number > 0:
                    return True
            if cls == "ActivityRegularization":
                return True
            for key in ("dropout", "recurrent_dropout"):
                value = _setting(node, key, 0.0)
                number = _as_number(value)
                if value is not None and (number is None or number > 0):
                    return True
            for key, value in config.items():
                if isinstance(key, str) and key.endswith("_regularizer") and value is not None:
                    return True
            node = node.wrapped
    return False


def _check_unregularized_deep_stack(view: _GraphView) -> list[Finding]:
    rule = CODES[CODE]
    deep = [view.best_chain(group, lambda n: 1) for group in view.stacks()]
    deep = [chain for chain in deep if len(chain) >= 3]
    if not deep or _regularized(view):
        return []
    findings = []
    for chain in deep:
        names = _join(_labels(view, chain))
        message = (
            f"{names} form a stack of {len(chain)} recurrent layers with no dropout or weight "
            "regularization anywhere in the model, so it easily overfits a small dataset."
        )
        fix = (
            "Add dropout=0.2 to the recurrent layers or Dropout layers between them (or a "
            "kernel_regularizer), and watch the validation loss."
        )
        findings.append(_finding(rule, view, chain[0], message, fix))
    return findings


check = _check_unregularized_deep_stack

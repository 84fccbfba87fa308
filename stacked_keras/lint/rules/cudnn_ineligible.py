"""SK202 (cudnn-ineligible).

The rule's page (`PAGE`, what `stacked-keras rule SK202` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stacked_keras.cudnn import CudnnBlocker, cudnn_blocking_settings
from stacked_keras.graph import UNKNOWN, LayerNode
from stacked_keras.lint.findings import Finding, Severity
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _finding, _join, _label, _target_label
from stacked_keras.lint.semantics import GraphView as _GraphView, _class_of

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK202"

PAGE = """\
## What it does
Checks for `LSTM` and `GRU` layers whose settings keep them off cuDNN's fused
kernel (Keras's `cudnn_ok` conditions): an `activation` other than `tanh`, a
`recurrent_activation` other than `sigmoid`, `unroll=True`, `use_bias=False`,
`recurrent_dropout > 0`, and for GRU `reset_after=False`. It also reports
`RNN(LSTMCell(...))` and `RNN(GRUCell(...))`, which always run the generic
loop. Info by default; a warning when the layer sets `use_cudnn=True`, because
Keras then raises a `ValueError` when the layer runs. A layer with
`use_cudnn=False` chose the generic loop and is left alone, and settings not
known statically are not reported.

## Why is this bad?
On a GPU, Keras runs an eligible LSTM or GRU on the cuDNN kernel and any other
on its generic step-by-step loop, several times slower; a deep stack pays
that for every layer.

## Known problems
Only the layer's settings are checked. Whether the model runs on a GPU at
all, and the conditions known only from the data (Keras also leaves cuDNN for
a mask that is not right-padded), are not visible to the linter. Settings
whose values the source does not show are not reported.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True, recurrent_dropout=0.2),
    keras.layers.LSTM(32, activation="relu"),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True, dropout=0.2),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
"""


def _cudnn_fix(blocker: CudnnBlocker) -> str:
    """The setting to write for one cuDNN blocker, from its data."""
    if blocker.key == "recurrent_dropout":
        return "recurrent_dropout=0 (move the dropout to dropout=)"
    if not blocker.has_needed:
        return str(blocker)
    return f"{blocker.key}={blocker.needed!r}"


def _check_cudnn_ineligible(view: _GraphView) -> list[Finding]:
    rule = CODES[CODE]
    findings = []
    for i in range(len(view.nodes)):
        cell_type = view.cell_type(i)
        if cell_type not in ("LSTM", "GRU"):
            continue
        core = view.core(i)
        cell = core.wrapped if _class_of(core) == "RNN" and isinstance(core.wrapped, LayerNode) else core
        settings: dict[str, Any] = {}
        for node in (core, cell):
            config = getattr(node, "config", None)
            if isinstance(config, Mapping):
                settings.update({k: v for k, v in config.items() if isinstance(k, str) and v is not UNKNOWN})
        use_cudnn = settings.get("use_cudnn", "auto")
        if use_cudnn is False or (type(use_cudnn).__name__ == "bool_" and not bool(use_cudnn)):
            continue  # the user chose the generic loop
        label = _label(view, i)
        if _class_of(core) == "RNN":
            message = (
                f"{label} is RNN({_class_of(cell)}), which always runs Keras's generic loop: only "
                f"the {cell_type} layer can use the cuDNN kernel, several times faster on a GPU."
            )
            fix = f"Use keras.layers.{cell_type}(...) instead of RNN({_class_of(cell)}(...))."
            findings.append(_finding(rule, view, i, message, fix, at=cell))
            continue
        settings_blocking = cudnn_blocking_settings(cell_type, settings)
        blockers = [str(b) for b in settings_blocking]
        if not blockers:
            continue
        fixes = _join([_cudnn_fix(b) for b in settings_blocking])
        if use_cudnn is True:
            verb = "keeps" if len(blockers) == 1 else "keep"
            message = (
                f"{label} sets use_cudnn=True but {_join(blockers)} {verb} it off the cuDNN "
                "kernel, so Keras raises a ValueError when the layer runs."
            )
            severity = Severity.WARNING
        else:
            message = (
                f"{label} cannot use the cuDNN kernel because of {_join(blockers)}, so on a GPU "
                "Keras runs its generic loop instead, several times slower."
            )
            severity = Severity.INFO
        fix = f"Set {fixes} on {_target_label(view, i)}, unless you need that setting."
        findings.append(_finding(rule, view, i, message, fix, severity=severity, at=cell))
    return findings


check = _check_cudnn_ineligible

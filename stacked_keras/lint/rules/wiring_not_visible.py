"""SK006 (wiring-not-visible).

The rule's page (`PAGE`, what `stacked-keras rule SK006` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

import os

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _first_location
from stacked_keras.lint.semantics import GraphView as _GraphView

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK006"

PAGE = """\
## What it does
Reports a model whose layers the linter can list but whose wiring it cannot
see: a subclassed `keras.Model`, linted live (`stacked_keras.lint(model)`,
`LintCallback`) or from its saved file or config. Such a model connects its
layers in `call()`, Python code that the linter never runs, so the rules that
follow the data from layer to layer (SK101, SK102, SK103, SK201, SK203) have
nothing to follow (SK202 still checks each layer's settings). The finding
is info; like every SK0xx code it is reported whatever `select` says, so
that a model that was not really checked never passes for a clean one, and
`ignore = ["SK006"]` silences it.

## Why is this bad?
A broken vertical connection inside `call()` (an LSTM returning its last
state into another LSTM) goes unreported, and a clean report would be
misleading.

## Known problems
A live model or a saved file holds the layers of a subclassed model but not the
Python of its `call()`, so nothing here can check it. Lint the file that
defines the class instead (`stacked-keras lint models.py`): the source
front-end reads `call()` and follows the data through it like any other
model.

## Example
```python
import keras

class Tagger(keras.Model):
    def __init__(self):
        super().__init__()
        self.first = keras.layers.LSTM(64)
        self.second = keras.layers.LSTM(32)

    def call(self, x):
        return self.second(self.first(x))
```

## Use instead
```text
$ stacked-keras lint tagger.py     # the source shows what call() does
```
Or build the model with the functional API, whose graph Keras records:
```python
import keras

inputs = keras.Input(shape=(20, 8))
x = keras.layers.LSTM(64, return_sequences=True)(inputs)
outputs = keras.layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
```
"""


def _check_wiring_not_visible(view: _GraphView) -> list[Finding]:
    graph = view.graph
    reason = getattr(graph, "opaque", None)
    if not isinstance(reason, str) or not reason.strip():
        return []
    rule = CODES[CODE]
    name = getattr(graph, "name", None)
    model = name if isinstance(name, str) and name else None
    location = _first_location(getattr(graph, "location", None))
    path = location.path if location is not None and location.path else getattr(graph, "path", None)
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    message = (
        f"The linter cannot see how the layers of model {model or '(unnamed)'} are wired: "
        f"{reason.strip().rstrip('.')}, so the rules that follow the data between layers "
        "(SK101, SK102, SK103, SK201, SK203) checked nothing."
    )
    fix = (
        "Lint the source file that defines the model instead (stacked-keras lint model.py), or "
        "build the model with the functional API (keras.Model(inputs, outputs)) or keras.Sequential."
    )
    return [Finding(
        code=rule.code,
        name=rule.name,
        severity=rule.severity,
        message=message,
        fix=fix,
        path=path if isinstance(path, str) else None,
        line=location.line if location is not None else None,
        column=location.column if location is not None else None,
        cell=location.cell if location is not None else None,
        model=model,
    )]


check = _check_wiring_not_visible

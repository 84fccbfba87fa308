"""SK201 (deep-simple-rnn).

The rule's page (`PAGE`, what `stacked-keras rule SK201` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _finding, _join, _label
from stacked_keras.lint.semantics import GraphView as _GraphView

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK201"

PAGE = """\
## What it does
Checks for two or more `SimpleRNN` layers stacked in one chain (connected
directly or through rank-keeping layers, a `SimpleRNN` inside
`TimeDistributed` under one outside it included: the gradient crosses both).

## Why is this bad?
A SimpleRNN multiplies its gradient by the same recurrent matrix at every
timestep, so gradients vanish or explode over long sequences; stacking more
of them makes it worse. Deep stacks are built from LSTM or GRU layers, whose
gates keep the gradient alive.

## Known problems
Only stacks with two or more `SimpleRNN` layers are reported: one `SimpleRNN`
on top of `LSTM` or `GRU` layers is not, although it forgets as fast on its
own. Short sequences (a handful of timesteps) train well enough with
`SimpleRNN`; the rule cannot see the sequence length from the model alone and
reports them too.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.SimpleRNN(64, return_sequences=True),
    keras.layers.SimpleRNN(32),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
"""


def _check_deep_simple_rnn(view: _GraphView) -> list[Finding]:
    rule = CODES[CODE]
    findings = []
    for group in view.stacks():
        chain = view.best_chain(group, lambda n: 1 if view.cell_type(n) == "SimpleRNN" else 0)
        simple = [n for n in chain if view.cell_type(n) == "SimpleRNN"]
        if len(simple) < 2:
            continue
        names = _join([_label(view, n) for n in simple])
        message = (
            f"{names} are {len(simple)} stacked SimpleRNN layers: a SimpleRNN stack suffers from "
            "vanishing and exploding gradients, so its lower layers learn little."
        )
        fix = "Use LSTM or GRU layers for a deep stack (stacked_keras.deep_lstm builds one)."
        findings.append(_finding(rule, view, simple[0], message, fix))
    return findings


check = _check_deep_simple_rnn

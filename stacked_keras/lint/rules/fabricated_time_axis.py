"""SK103 (fabricated-time-axis).

The rule's page (`PAGE`, what `stacked-keras rule SK103` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _finding, _join, _label, _target_label
from stacked_keras.lint.semantics import GraphView as _GraphView, vector_feeders as _vector_feeders

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK103"

PAGE = """\
## What it does
Checks for a recurrent layer's last-state vector (`return_sequences=False`)
turned into a sequence by a reshape (`Reshape`, `expand_dims`, `ops.reshape`,
or `RepeatVector(1)`, which makes it one timestep) and fed to another
recurrent layer.

Not reported: a reshape at the model's input (flat features cut into
timesteps, like the rows of an MNIST image), a `RepeatVector(n)` with n > 1
(the encoder-decoder bridge copies the vector to every timestep on
purpose), and a vector that does not come from a recurrent layer (a latent
code passed through `Dense` and reshaped into a sequence is a generator's
design, not a broken connection between stacked layers).

## Why is this bad?
Keras builds the model without complaint, but the layer above no longer reads
the hidden states of the layer below timestep by timestep: it reads one fake
timestep (`expand_dims`, `RepeatVector(1)`) or the units of a single state
cut into pieces as if they were timesteps (`Reshape`). The vertical
connection of the stack is gone and the upper layer learns from noise.

## Known problems
A `RepeatVector` whose `n` is not known statically (a variable the file does
not set) is not reported, since `n > 1` is the encoder-decoder bridge. The
rule is not fixable by `stacked-keras lint --fix`: removing the reshape changes
the shapes the layers above were built for, so the edit is left to you (the
live-model `fix(model)` rebuilds the model and can drop it).

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64),
    keras.layers.Reshape((64, 1)),
    keras.layers.LSTM(32),
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


def _check_fabricated_time_axis(view: _GraphView) -> list[Finding]:
    rule = CODES[CODE]
    findings = []
    for r, destinations in _vector_feeders(view):
        pairs = [(n, reshape) for n, reshape in destinations if reshape is not None]
        if not pairs:
            continue
        below = view.level(r)
        reshapes = []
        for _, reshape in pairs:
            label = _label(view, reshape)
            if label not in reshapes:
                reshapes.append(label)
        readers = _join([_label(view, n) for n in dict(pairs)])
        message = (
            f"{_label(view, r)} returns only its last state (return_sequences=False) and "
            f"{_join(reshapes)} turns that vector into a fabricated sequence for {readers}: "
            f"the vertical connection between layer {below} and layer {below + 1} is broken."
        )
        fix = f"Set return_sequences=True on {_target_label(view, r)} and remove {_join(reshapes)}."
        findings.append(_finding(rule, view, r, message, fix))
    return findings


check = _check_fabricated_time_axis

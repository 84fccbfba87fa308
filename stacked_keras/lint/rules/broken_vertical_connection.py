"""SK101 (broken-vertical-connection).

The rule's page (`PAGE`, what `stacked-keras rule SK101` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _finding, _join, _label, _target_label
from stacked_keras.lint.semantics import (
    GraphView as _GraphView,
    last_state_destinations as _last_state_destinations,
    vector_feeders as _vector_feeders,
)

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK101"

PAGE = """\
## What it does
Checks for a recurrent layer that returns only its last state
(`return_sequences=False`, the Keras default) while its output feeds another
recurrent layer, directly or through layers that keep the rank (`Dropout`,
`BatchNormalization`, `LayerNormalization`, `Dense`, `Activation`, ...).

Not reported: a `RepeatVector` between the two layers (the deliberate bridge
of an encoder-decoder), a state handed over as `initial_state` (that is not the
layer's input), a vector merged (`Add`, ...) into a real sequence, and a
recurrent layer inside `TimeDistributed` feeding a recurrent layer outside it:
`TimeDistributed(LSTM(..))` runs over the inner axis (the words of each
sentence) and hands one vector per outer timestep (per sentence) up, which is
the sequence a hierarchical model's upper layer reads. Two recurrent layers
both inside `TimeDistributed` are stacked on the inner axis and checked like
any other stack. When
`return_sequences` is not known statically (a variable, a function argument),
the rule says nothing rather than guess: lint the live model or the saved file
to check it. The finding names the wrapper a Keras summary shows (for
`Bidirectional(LSTM(...))`) and points at the inner layer's call, which is the
one to change.

## Why is this bad?
In a stack, layer L reads the hidden state of layer L-1 at every timestep:
`H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L)`. A layer with
`return_sequences=False` hands up only its last state `H_T^{L-1}`, one vector,
so the vertical connection is broken. Keras refuses to build such a model
("expected ndim=3, found ndim=2") without saying which layer to change; when
the gap is patched with a reshape it builds silently and learns little (see
SK103).

## Known problems
Read from source, a `return_sequences` that the file does not show (a value
loaded from a config file, a function argument whose callers are elsewhere)
is unknown, and the rule stays silent rather than guess; lint the live model
(`stacked_keras.lint(model)`) or its saved file, where every value is known.
A layer whose wiring sits in a subclassed model's `call()` is only checked
from source (see SK006).

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64),
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
`stacked-keras lint --fix` makes this change in source files and
`stacked_keras.fix(model)` in a live model; `stacked_keras.deep_lstm` builds
stacks that are right from the start.

A stack built in a loop needs every layer but the last to return sequences
(unless something recurrent follows the loop): `return_sequences=True` in the
loop would break the top layer too. Use the loop's index:
```python
for i in range(depth):
    model.add(keras.layers.LSTM(32, return_sequences=i < depth - 1))
```
`--fix` writes this form (`enumerate` for a loop over a list of units).
"""


def _check_broken_vertical_connection(view: _GraphView) -> list[Finding]:
    rule = CODES[CODE]
    findings = []
    for r, destinations in _vector_feeders(view):
        readers = [n for n, reshape in destinations if reshape is None]
        if not readers:
            continue
        below = view.level(r)
        names = _join([_label(view, n) for n in readers])
        verb = "needs" if len(readers) == 1 else "need"
        message = (
            f"{_label(view, r)} returns only its last state (return_sequences=False) but feeds "
            f"{names}, which {verb} a sequence: the vertical connection between layer "
            f"{below} and layer {below + 1} is broken."
        )
        if _built_in_loop_with_top(view, r):
            fix = (f"{_target_label(view, r)} comes from a call that builds several layers (a loop), and the last "
                   "of them must keep returning its last state: pass return_sequences=i < n - 1 in the loop (i its "
                   "index, n its number of iterations), or run stacked-keras lint --fix.")
        else:
            fix = f"Set return_sequences=True on {_target_label(view, r)}."
        findings.append(_finding(rule, view, r, message, fix))
    return findings


def _built_in_loop_with_top(view: _GraphView, r: int) -> bool:
    """Whether another layer made by r's call (a loop) must keep returning its last state.

    Source models only: the layers one call in a loop builds share its
    location; one of them that feeds no recurrent layer is the stack's top.
    """
    location = getattr(view.core(r), "location", None)
    if location is None or location.line is None:
        return False
    for i in range(len(view.nodes)):
        other = getattr(view.core(i), "location", None)
        if i != r and view.is_recurrent(i) and other == location and not any(
                reshape is None for _, reshape in _last_state_destinations(view, i)):
            return True
    return False


check = _check_broken_vertical_connection

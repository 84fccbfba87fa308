"""SK102 (sequence-into-per-sample-head): a whole sequence read by a per-sample Dense head.

The rule's page (`PAGE`, what `stacked-keras rule SK102` prints after its title)
and its check (`check(view)`) side by side; the code is registered in `codes.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from stacked_keras.lint.findings import Finding, Severity
from stacked_keras.lint.rules.codes import CODES
from stacked_keras.lint.rules.finding_builder import _finding, _label, _name_of, _target_label
from stacked_keras.lint.semantics import (
    _PASS_THROUGH,
    GraphView as _GraphView,
    _activation_name,
    _as_int,
    _loss_name,
    _postorder,
    _setting,
    _shape_of,
)

__all__ = ["CODE", "PAGE", "check"]

CODE = "SK102"

PAGE = """\
## What it does
Checks for a top recurrent layer that returns its whole sequence
(`return_sequences=True`) while a `Dense` head reads that sequence directly
(only rank-keeping layers in between, no `Flatten` or pooling) and gives a
model output: the model then predicts one output per timestep. That is right
for a tagger or a per-timestep forecaster and wrong for a classifier of
whole sequences, so how sure the rule is depends on what the model says.

With the training target known (a live model linted with data:
`stacked_keras.lint(model, target=y)` or `LintCallback(target=y)`), its shape
per sample is compared with what each reading needs, for the loss compiled:

| loss | one value per timestep | one value per sample |
| --- | --- | --- |
| `sparse_categorical_crossentropy` | `(T,)` or `(T, 1)` | `()` or `(1,)` |
| any other (categorical, binary, regression) | `(T, units)`, or `(T,)` for one unit | `(units,)` or `()` |

In source files and notebooks the target is read from the `fit` call when
the code shows its shape: `model.fit(x, y)`, `fit(x=..., y=...)` and
`validation_data=(x_val, y_val)`, with `y` built by `np.array([...])`,
`np.zeros`/`np.ones`/`np.full`, `np.random.rand`/`randint`/`normal`...,
`to_categorical(labels, k)`, `.reshape(...)`, `np.expand_dims`, `y[..., None]`,
slices, or `train_test_split` of those (across notebook cells too); see
`stacked_keras/lint/source_arrays.py`. A target whose shape the code does not
show (read from a file, a DataFrame, a `tf.data` dataset) counts as no target.

Only the per-timestep shape fits: no finding. Only the per-sample shape
fits: warning (the same whether the target came with a live model or from
the `fit` call in the source; the finding then names that line). Both or
neither: info. Without a target, one `sigmoid` unit trained with
`binary_crossentropy` (a label per sequence, as in IMDB
sentiment) is a warning; anything else is info, since it may be a tagger
(`softmax` over several classes), a per-timestep regression (as in the
TensorFlow time-series tutorial) or a language model (as many units as an
`Embedding`'s vocabulary).

Not reported: `TimeDistributed` heads, a `Flatten` or pooling layer before the
head, decoders (a recurrent layer given an `initial_state`, or placed after a
`RepeatVector`, and the layers above them), and a recurrent layer inside
`TimeDistributed` (one output per outer timestep is what it is for).

## Why is this bad?
`Dense` applied to a 3D tensor acts on every timestep, so the model outputs
`(batch, timesteps, units)`. Given one target per sample, a cross-entropy
loss (binary, categorical or sparse categorical) stops `fit` with a shape
error ("Arguments `target` and `output` must have the same rank", or "...
the same shape") that does not name the layer to change; a regression loss
such as `mse` with a one-unit head broadcasts the per-sample target over the
timesteps and trains without complaint, and `predict` returns one
prediction per timestep.

## Known problems
Without a training target the rule cannot tell a sequence classifier from a
tagger or a per-timestep forecaster, so most findings stay info; give the
target (`stacked_keras.lint(model, target=y)`, `LintCallback(target=y)`) to
make it sure. A head after a custom layer that pools over time in its own
`call()` is not seen as pooling.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32, return_sequences=True),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
```
When one prediction per timestep is what you want, say so with
`keras.layers.TimeDistributed(keras.layers.Dense(1))`, or lint with the
target (`LintCallback(target=y_train)`, or a `fit(x, y_train)` in the same
file whose target shape the code shows) so the rule can see it.
"""

# ---------------------------------------------------------------------------
# SK102: a sequence read by a per-sample head
# ---------------------------------------------------------------------------


def _is_decoder(view: _GraphView, r: int) -> bool:
    """Whether r decodes: it (or a recurrent layer below it) gets an initial
    state, or a RepeatVector lies below it."""

    def compute(node: int, memo: dict) -> bool:
        if view.cls(node) == "RepeatVector":
            return True
        if view.is_recurrent(node) and view.predecessors(node, "initial_state"):
            return True
        return any(memo.get(p, False) for p in view.predecessors(node))

    return _postorder(r, view.predecessors, compute, view.decoders)


def _heads_reached(view: _GraphView, r: int) -> list[tuple[int, list[int], int]]:
    """The Dense heads that read r's sequence and give a model output.

    Returns `(head, path, output)` triples: `path` lists the layers crossed
    from r to the output, the head among them. The walk crosses rank-keeping
    layers only, so a TimeDistributed head, a Flatten, a pooling layer or any
    other layer ends it.
    """
    found = []
    seen: set[tuple[int, int]] = set()
    stack: list[tuple[int, list[int]]] = [(r, [])]
    while stack:
        current, path = stack.pop()
        for nxt in view.successors(current):
            if (current, nxt) in seen or nxt == r:
                continue
            seen.add((current, nxt))
            if view.is_input(nxt) or view.cls(nxt) not in _PASS_THROUGH:
                continue
            route = path + [nxt]
            if view.is_output(nxt):
                dense = [n for n in route if view.cls(n) == "Dense"]
                if dense:
                    found.append((dense[-1], route, nxt))
            stack.append((nxt, route))
    return found


def _output_loss(view: _GraphView, output: int) -> str | None:
    """The squeezed name of the loss compiled for one model output, if known."""
    loss = getattr(view.graph, "loss", None)
    if isinstance(loss, Mapping) and "class_name" not in loss:
        name = _name_of(view.nodes[output])
        if name is not None and name in loss:
            return _loss_name(loss[name])
        return _loss_name(next(iter(loss.values()))) if len(loss) == 1 else None
    if isinstance(loss, (list, tuple)):
        if len(loss) == 1:
            return _loss_name(loss[0])
        if len(loss) == len(view.outputs) and output in view.outputs:
            return _loss_name(loss[view.outputs.index(output)])
        return None
    return _loss_name(loss)


def _head_activation(view: _GraphView, head: int, route: list[int]) -> str | None:
    """The activation of a head, counting Activation/Softmax layers after it."""
    activation = _activation_name(_setting(view.nodes[head], "activation"))
    for n in route[route.index(head) + 1:]:
        cls = view.cls(n)
        if cls == "Activation":
            activation = _activation_name(_setting(view.nodes[n], "activation"))
        elif cls == "Softmax":
            activation = "softmax"
        elif cls in ("ReLU", "LeakyReLU", "PReLU", "ELU"):
            activation = cls.lower()
    return activation


_SPARSE_LOSSES = frozenset({"sparsecategoricalcrossentropy"})
_BINARY_LOSSES = frozenset({"binarycrossentropy", "bce", "binaryfocalcrossentropy"})


def _loss_kinds(loss: str | None) -> tuple[str, ...]:
    """How a loss reads its target: `"sparse"` (one class index per prediction)
    or `"dense"` (a target shaped like the prediction); both when unknown."""
    if loss is None:
        return ("sparse", "dense")
    return ("sparse",) if loss in _SPARSE_LOSSES else ("dense",)


def _expected_targets(kinds: tuple[str, ...], steps: int | None,
                      units: int | None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The per-sample target shapes that fit a per-timestep and a per-sample model.

    None in a shape stands for a size not known (the timesteps of a
    variable-length input, the units of a head set at runtime).
    """
    per_timestep: list[tuple[Any, ...]] = []
    per_sample: list[tuple[Any, ...]] = []
    for kind in kinds:
        if kind == "sparse":
            per_timestep += [(steps,), (steps, 1)]
            per_sample += [(), (1,)]
        else:
            per_timestep.append((steps, units))
            if units in (None, 1):
                per_timestep.append((steps,))  # Keras squeezes a last axis of 1
            per_sample += [(units,), ()]
    return per_timestep, per_sample


def _shape_fits(expected: tuple[Any, ...], target: tuple[Any, ...]) -> bool:
    return len(expected) == len(target) and all(
        e is None or t is None or e == t for e, t in zip(expected, target)
    )


def _judge_head(view: _GraphView, r: int, head: int, route: list[int], output: int) -> tuple[str, str] | None:
    """Decides how sure SK102 is for one head: `(severity, why)`, or None for a fine model.

    With the target's per-sample shape known, it is compared with the shapes
    a per-timestep model and a per-sample model would be trained on, for the
    kind of loss compiled: only per-timestep fits -> no finding; only
    per-sample fits -> warning; both or neither -> info. Without a target,
    only one sigmoid unit trained with binary cross-entropy (a per-sample
    label, as in IMDB sentiment) is a warning; anything else may be a
    per-timestep model (a tagger, a forecaster) and is info.
    """
    graph = view.graph
    target = _shape_of(getattr(graph, "target_shape", None))
    steps = view.timesteps(r)
    units = _as_int(_setting(view.nodes[head], "units"))
    loss = _output_loss(view, output)
    if target is not None:
        per_timestep, per_sample = _expected_targets(_loss_kinds(loss), steps, units)
        timestep_fit = any(_shape_fits(e, target) for e in per_timestep)
        sample_fit = any(_shape_fits(e, target) for e in per_sample)
        if timestep_fit and not sample_fit:
            return None  # the target has a time axis: the model does what is asked
        if sample_fit and not timestep_fit:
            return Severity.WARNING, (
                f" while the target{_seen_at(graph)} has shape {target} per sample: one value per sample")
        if sample_fit:
            return Severity.INFO, (
                f", and the target's shape {target} per sample{_seen_at(graph)} fits both one value per timestep "
                "and one value per sample"
            )
        return Severity.INFO, (
            f", and the target's shape {target} per sample{_seen_at(graph)} fits neither one value per timestep "
            "nor one value per sample for this head and loss"
        )
    if units is not None and units in view.vocabulary_sizes(r):
        return Severity.INFO, (
            ", one token per timestep over the Embedding's vocabulary: right for a language "
            "model, wrong if you want one prediction per sample"
        )
    activation = _head_activation(view, head, route)
    if units == 1 and activation == "sigmoid" and loss in _BINARY_LOSSES:
        return Severity.WARNING, (
            ", but its one sigmoid unit and the binary cross-entropy loss ask for one label per "
            "sample: with a per-sample target, fit stops with a shape error"
        )
    if activation == "softmax" and units is not None and units > 1:
        return Severity.INFO, (
            ": right for a per-timestep tagger (one class per timestep), wrong if you want one "
            "prediction per sample"
        )
    return Severity.INFO, (
        ": right for per-timestep regression or tagging, wrong if you want one prediction "
        "per sample"
    )


def _seen_at(graph: Any) -> str:
    """` given to fit (line 12)` (`(cell 3, line 2)` in a notebook) when the source showed the target."""
    where = getattr(graph, "target_location", None)
    if where is None or where.line is None:
        return ""
    cell = f"cell {where.cell}, " if where.cell is not None else ""
    return f" given to fit ({cell}line {where.line})"


def _fix(view: _GraphView, r: int, head: int, output: int, severity: str) -> str:
    """What to change: per sample, return_sequences=False; per timestep, TimeDistributed (and per-timestep targets).

    With a per-sample target known, the per-timestep way also needs other
    targets: `(T, units)` per sample, or `(T,)` of class indices for a sparse
    loss.
    """
    head_name = _label(view, head)
    per_sample = (f"For one prediction per sample set return_sequences=False on {_target_label(view, r)} "
                  f"(or pool the sequence before {head_name})")
    if severity == Severity.WARNING and _shape_of(getattr(view.graph, "target_shape", None)) is not None:
        steps = view.timesteps(r)
        units = _as_int(_setting(view.nodes[head], "units"))
        steps_text = steps if steps is not None else "timesteps"
        if _loss_kinds(_output_loss(view, output)) == ("sparse",):
            shape = f"({steps_text},) of class indices"
        else:
            shape = f"({steps_text}, {units if units is not None else 'units'})"
        return (f"{per_sample}; for one per timestep give fit per-timestep targets, shaped "
                f"{shape} per sample, and wrap {head_name} in TimeDistributed.")
    return f"{per_sample}; for one per timestep wrap {head_name} in TimeDistributed to say so."


def _check_sequence_into_per_sample_head(view: _GraphView) -> list[Finding]:
    rule = CODES[CODE]
    findings = []
    rank = {Severity.INFO: 0, Severity.WARNING: 1}
    for r in range(len(view.nodes)):
        if not view.is_recurrent(r) or view.return_sequences(r) is not True:
            continue
        if view.time_distributed_depth(r):
            continue  # one output per outer timestep is what TimeDistributed is for
        heads = _heads_reached(view, r)
        if not heads or _is_decoder(view, r):
            continue
        verdicts = []
        for head, route, output in heads:
            verdict = _judge_head(view, r, head, route, output)
            if verdict is not None:
                verdicts.append((rank[verdict[0]], verdict, head, output))
        if not verdicts:
            continue
        _, (severity, why), head, output = max(verdicts, key=lambda v: (v[0], -v[2]))
        head_name = _label(view, head)
        message = (
            f"{_label(view, r)} returns its whole sequence (return_sequences=True) and "
            f"{head_name} reads it directly, so the model predicts one output per timestep{why}."
        )
        fix = _fix(view, r, head, output, severity)
        findings.append(_finding(rule, view, r, message, fix, severity=severity))
    return findings


check = _check_sequence_into_per_sample_head

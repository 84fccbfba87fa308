"""The rule catalogue of the stacked-keras linter.

Every rule has a code that never changes meaning once released, a kebab-case
name, a default severity, a one-line summary, a page of documentation (ruff's
four headings: **What it does**, **Why is this bad?**, **Example**, **Use
instead**) and, for the rules that read models, a `check(graph)` function.

Codes:

- SK0xx: the input could not be read (SK001-SK005, built by `input_finding`
  from the front-ends' `UnreadableInput`; these rules have no `check`), or
  could be read only in part (SK006: the graph's wiring is not visible).
  They are reported whatever `select` says, unless ignored.
- SK1xx: the vertical connection between stacked recurrent layers (SK101
  broken connection, SK102 sequence into a per-sample head, SK103 time axis
  fabricated from a vector).
- SK2xx: training and speed hints (SK201 deep SimpleRNN stacks, SK202
  cuDNN-ineligible settings, SK203 deep stacks without regularization).

The rules read only the shared `ModelGraph` (`stacked_keras/graph.py`), never
Keras itself, so this module imports neither TensorFlow nor Keras. They are
written to stay quiet when they cannot be sure: a setting the front-end could
not know (`UNKNOWN`) never produces an error, and odd graphs (cycles, edges to
missing nodes, missing or strange config values) never make them raise.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stacked_keras.cudnn import CudnnBlocker, cudnn_blocking_settings
from stacked_keras.graph import (
    UNKNOWN,
    LayerNode,
    Location,
    ModelGraph,
)
from stacked_keras.lint.findings import Finding, Severity, UnreadableInput
from stacked_keras.lint.semantics import (
    _DROPOUT_LAYERS,
    _PASS_THROUGH,
    _WRAPPER_DEPTH_LIMIT,
    GraphView as _GraphView,
    _activation_name,
    _as_int,
    _as_number,
    _class_of,
    _loss_name,
    _postorder,
    _setting,
    _shape_of,
    vector_feeders as _vector_feeders,
)

__all__ = ["Rule", "RULES", "check", "input_finding", "rule_page", "rules_table", "selected_rules"]


@dataclass(frozen=True)
class Rule:
    """One rule of the linter: its code, its documentation and its check.

    Args:
        code: the rule code (`"SK101"`); it never changes meaning.
        name: the rule's kebab-case name (`"broken-vertical-connection"`).
        severity: the default severity of its findings (`"error"`,
            `"warning"` or `"info"`); a rule may report less when the
            evidence is weak (SK102).
        summary: one line saying what the rule finds.
        doc: the rule's page in markdown, with the headings `## What it
            does`, `## Why is this bad?`, `## Example` and `## Use instead`.
        fixable: whether `stacked-keras lint --fix` and
            `stacked_keras.fix(model)` repair its findings.
        check: a function `graph -> list[Finding]`, or None for the SK0xx
            rules, which front-ends raise instead.
    """

    code: str
    name: str
    severity: str
    summary: str
    doc: str
    fixable: bool = False
    check: Callable[[ModelGraph], list[Finding]] | None = None




def _name_of(node: LayerNode) -> str | None:
    name = getattr(node, "name", None)
    return name if isinstance(name, str) and name else None


def _label(view: _GraphView, i: int) -> str:
    """How a message names node i: `lstm_1`, or `bidirectional (wrapping lstm)`."""
    node = view.nodes[i]
    name = _name_of(node) or f"{view.cls(i) or 'layer'} #{i}"
    core = view.core(i)
    if core is not node:
        inner = _name_of(core) or _class_of(core)
        if inner and inner != name:
            return f"{name} (wrapping {inner})"
    return name


def _target_label(view: _GraphView, i: int) -> str:
    """The layer a fix sentence points at: the inner layer of a wrapper."""
    node = view.nodes[i]
    core = view.core(i)
    name = _name_of(node) or f"{view.cls(i) or 'layer'} #{i}"
    inner = _name_of(core)
    if core is not node and inner and inner != name:
        return f"{inner} inside {name}"
    return name


def _first_location(*candidates: Any) -> Location | None:
    for candidate in candidates:
        if isinstance(candidate, Location):
            return candidate
    return None


def _finding(rule: Rule, view: _GraphView, i: int, message: str, fix: str, *,
             severity: str | None = None, at: LayerNode | None = None) -> Finding:
    """A finding of `rule` on node i, located at the layer call to change.

    The location is the one of `at` when given, else of the core layer (the
    LSTM inside a Bidirectional, which holds `return_sequences`), else of the
    node itself, else of the model.
    """
    graph = view.graph
    node = view.nodes[i]
    location = _first_location(
        getattr(at, "location", None),
        getattr(view.core(i), "location", None),
        getattr(node, "location", None),
        getattr(graph, "location", None),
    )
    path = location.path if location is not None and location.path else getattr(graph, "path", None)
    model = getattr(graph, "name", None)
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=severity or rule.severity,
        message=message,
        fix=fix,
        path=path if isinstance(path, str) else (os.fspath(path) if isinstance(path, os.PathLike) else None),
        line=location.line if location is not None else None,
        column=location.column if location is not None else None,
        layer=_name_of(node),
        cell=location.cell if location is not None else None,
        model=model if isinstance(model, str) else None,
    )


# ---------------------------------------------------------------------------
# SK006: a model whose wiring the front-end could not see
# ---------------------------------------------------------------------------


def _check_wiring_not_visible(view: _GraphView) -> list[Finding]:
    graph = view.graph
    reason = getattr(graph, "opaque", None)
    if not isinstance(reason, str) or not reason.strip():
        return []
    rule = RULES["SK006"]
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




def _join(names: list[str]) -> str:
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def _check_broken_vertical_connection(view: _GraphView) -> list[Finding]:
    rule = RULES["SK101"]
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
        fix = f"Set return_sequences=True on {_target_label(view, r)}."
        findings.append(_finding(rule, view, r, message, fix))
    return findings


def _check_fabricated_time_axis(view: _GraphView) -> list[Finding]:
    rule = RULES["SK103"]
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
            return Severity.WARNING, f" while the target has shape {target} per sample: one value per sample"
        if sample_fit:
            return Severity.INFO, (
                f", and the target's shape {target} per sample fits both one value per timestep "
                "and one value per sample"
            )
        return Severity.INFO, (
            f", and the target's shape {target} per sample fits neither one value per timestep "
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


def _check_sequence_into_per_sample_head(view: _GraphView) -> list[Finding]:
    rule = RULES["SK102"]
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
                verdicts.append((rank[verdict[0]], verdict, head))
        if not verdicts:
            continue
        _, (severity, why), head = max(verdicts, key=lambda v: (v[0], -v[2]))
        head_name = _label(view, head)
        message = (
            f"{_label(view, r)} returns its whole sequence (return_sequences=True) and "
            f"{head_name} reads it directly, so the model predicts one output per timestep{why}."
        )
        fix = (
            f"For one prediction per sample set return_sequences=False on {_target_label(view, r)} "
            f"(or pool the sequence before {head_name}); for one per timestep wrap {head_name} "
            "in TimeDistributed to say so."
        )
        findings.append(_finding(rule, view, r, message, fix, severity=severity))
    return findings


# ---------------------------------------------------------------------------
# SK2xx: hints
# ---------------------------------------------------------------------------


def _check_deep_simple_rnn(view: _GraphView) -> list[Finding]:
    rule = RULES["SK201"]
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


def _cudnn_fix(blocker: CudnnBlocker) -> str:
    """The setting to write for one cuDNN blocker, from its data."""
    if blocker.key == "recurrent_dropout":
        return "recurrent_dropout=0 (move the dropout to dropout=)"
    if not blocker.has_needed:
        return str(blocker)
    return f"{blocker.key}={blocker.needed!r}"


def _check_cudnn_ineligible(view: _GraphView) -> list[Finding]:
    rule = RULES["SK202"]
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
    rule = RULES["SK203"]
    deep = [view.best_chain(group, lambda n: 1) for group in view.stacks()]
    deep = [chain for chain in deep if len(chain) >= 3]
    if not deep or _regularized(view):
        return []
    findings = []
    for chain in deep:
        names = _join([_label(view, n) for n in chain])
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


# ---------------------------------------------------------------------------
# The catalogue
# ---------------------------------------------------------------------------

_SK001_DOC = """\
## What it does
Reports a file the linter cannot open or decode: a path that does not exist,
an I/O error, a source file that is not UTF-8, a file of a kind the linter does
not read, or a directory with nothing to lint in it. The other files given are
still linted.

## Why is this bad?
Nothing in that file was checked, so a broken stack in it would go unnoticed.

## Example
```text
$ stacked-keras lint models/missing.py notes.txt
models/missing.py:1:1: SK001 the file does not exist
```

## Use instead
```text
$ stacked-keras lint models/          # .py, .ipynb, .keras, .h5, .hdf5, .json
```
Save source files as UTF-8 and point the linter at files it reads (`.py`,
`.ipynb`, `.keras`, `.h5`, `.hdf5`, a Keras config `.json`) or at a directory
holding some.
"""

_SK002_DOC = """\
## What it does
Reports Python source, or a notebook code cell, that does not parse. The
finding points at the line and column where the parser stopped.

## Why is this bad?
The linter reads source through Python's `ast` module without running it; a
file that does not parse cannot be read, so none of its models were checked.

## Example
```python
import keras

model = keras.Sequential([
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32)
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
Run `python -m py_compile FILE` to see the same error, fix it and lint again.
"""

_SK003_DOC = """\
## What it does
Reports a `.ipynb` file that is not a notebook: broken JSON, or JSON without
the notebook's `cells` list.

## Why is this bad?
The linter reads a notebook's code cells as one program; without cells there
is nothing it can read, so none of its models were checked.

## Example
```json
{"metadata": {}, "nbformat": 4, "nbformat_minor": 5
```

## Use instead
```json
{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
```
Open the notebook in Jupyter and save it again (that repairs most damage), or
restore it from version control.
"""

_SK004_DOC = """\
## What it does
Reports a model config that cannot be read: broken JSON, JSON that is not a
Keras model config (no `class_name`/`config`, no `layers`), layers that are not
objects, or a functional graph whose inbound nodes name unknown layers or form
a cycle.

## Why is this bad?
The linter reads configs as data, never deserializing them; a config it cannot
understand was not checked.

## Example
```json
{"class_name": "Sequential", "config": {"name": "model"}}
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
with open("model.json", "w") as f:
    f.write(model.to_json())
```
Lint the file written by `model.to_json()` or `model.save("model.keras")`, or
the live model itself with `stacked_keras.lint(model)`.
"""

_SK005_DOC = """\
## What it does
Reports a `.keras` or `.h5` file the linter refuses to read: a corrupt or
truncated archive, one whose members exceed the size limits (a zip bomb is
never inflated), or an HDF5 file that holds no model config (weights only,
as written by `save_weights`).

## Why is this bad?
The model inside was not checked. The size limits protect you when you lint
files from strangers; nothing in a saved file is ever run or imported.

## Example
```python
model.save_weights("model.weights.h5")   # weights only: nothing to lint
```

## Use instead
```python
model.save("model.keras")                # the config travels with the weights
```
Save the whole model again, or lint the code that builds it instead.
"""

_SK006_DOC = """\
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

_SK101_DOC = """\
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
"""

_SK102_DOC = """\
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

Only the per-timestep shape fits: no finding. Only the per-sample shape
fits: warning. Both or neither: info. Without a target, one `sigmoid` unit
trained with `binary_crossentropy` (a label per sequence, as in IMDB
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
target (`LintCallback(target=y_train)`) so the rule can see it.
"""

_SK103_DOC = """\
## What it does
Checks for a recurrent layer's last-state vector (`return_sequences=False`)
turned into a sequence by a reshape (`Reshape`, `expand_dims`, `ops.reshape`)
and fed to another recurrent layer.

Not reported: a reshape at the model's input (flat features cut into
timesteps, like the rows of an MNIST image), a `RepeatVector` (the
encoder-decoder bridge copies the vector to every timestep on purpose), and a
vector that does not come from a recurrent layer (a latent code passed through
`Dense` and reshaped into a sequence is a generator's design, not a broken
connection between stacked layers).

## Why is this bad?
Keras builds the model without complaint, but the layer above no longer reads
the hidden states of the layer below timestep by timestep: it reads one fake
timestep (`expand_dims`) or the units of a single state cut into pieces as if
they were timesteps (`Reshape`). The vertical connection of the stack is gone
and the upper layer learns from noise.

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

_SK201_DOC = """\
## What it does
Checks for two or more `SimpleRNN` layers stacked in one chain (connected
directly or through rank-keeping layers, a `SimpleRNN` inside
`TimeDistributed` under one outside it included: the gradient crosses both).

## Why is this bad?
A SimpleRNN multiplies its gradient by the same recurrent matrix at every
timestep, so gradients vanish or explode over long sequences; stacking more
of them makes it worse. Deep stacks are built from LSTM or GRU layers, whose
gates keep the gradient alive.

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

_SK202_DOC = """\
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

_SK203_DOC = """\
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

# How to fix each unreadable input, for `input_finding`.
_INPUT_FIXES = {
    "SK001": (
        "Check that the path exists and is a readable UTF-8 .py or .ipynb file, a .keras, "
        ".h5, .hdf5 or config .json file, or a directory holding some."
    ),
    "SK002": "Fix the syntax error (python -m py_compile shows it too), then lint again.",
    "SK003": "Open the notebook in Jupyter and save it again, or restore it from version control.",
    "SK004": (
        "Lint the file written by model.to_json() or model.save('model.keras'), or the live "
        "model with stacked_keras.lint(model)."
    ),
    "SK005": (
        "Save the whole model again with model.save('model.keras') (weights-only files hold "
        "no model), or lint the code that builds it."
    ),
}


# The checks by code, on a graph view: `check` builds one view for all of them.
_VIEW_CHECKS: dict[str, Callable[[_GraphView], list[Finding]]] = {
    "SK006": _check_wiring_not_visible,
    "SK101": _check_broken_vertical_connection,
    "SK102": _check_sequence_into_per_sample_head,
    "SK103": _check_fabricated_time_axis,
    "SK201": _check_deep_simple_rnn,
    "SK202": _check_cudnn_ineligible,
    "SK203": _check_unregularized_deep_stack,
}


def _graph_check(code: str) -> Callable[[ModelGraph], list[Finding]]:
    """The public `graph -> list[Finding]` form of one rule's check."""
    run = _VIEW_CHECKS[code]

    def check_graph(graph: ModelGraph) -> list[Finding]:
        return sorted(run(_GraphView(graph)), key=_location_key)

    check_graph.__name__ = run.__name__.lstrip("_")
    check_graph.__qualname__ = check_graph.__name__
    check_graph.__doc__ = f"Runs rule {code} on a model graph and returns its findings, sorted."
    return check_graph


RULES: dict[str, Rule] = {
    rule.code: rule
    for rule in (
        Rule("SK001", "unreadable-file", Severity.ERROR,
             "The file cannot be opened or decoded, or a directory holds nothing to lint.",
             _SK001_DOC),
        Rule("SK002", "syntax-error", Severity.ERROR,
             "Python source or a notebook cell does not parse.", _SK002_DOC),
        Rule("SK003", "malformed-notebook", Severity.ERROR,
             "A .ipynb file is not a notebook (bad JSON, no cells).", _SK003_DOC),
        Rule("SK004", "malformed-config", Severity.ERROR,
             "A model config cannot be read (bad JSON, missing keys, broken graph).", _SK004_DOC),
        Rule("SK005", "archive-refused", Severity.ERROR,
             "A .keras or .h5 file is corrupt, too large, or holds no model config.", _SK005_DOC),
        Rule("SK006", "wiring-not-visible", Severity.INFO,
             "A model's layers are wired in code the linter does not run (a subclassed Model).",
             _SK006_DOC, check=_graph_check("SK006")),
        Rule("SK101", "broken-vertical-connection", Severity.ERROR,
             "A recurrent layer that returns one vector feeds another recurrent layer.",
             _SK101_DOC, fixable=True,
             check=_graph_check("SK101")),
        Rule("SK102", "sequence-into-per-sample-head", Severity.WARNING,
             "The top recurrent layer returns sequences and a Dense head reads them directly.",
             _SK102_DOC, check=_graph_check("SK102")),
        Rule("SK103", "fabricated-time-axis", Severity.ERROR,
             "A recurrent layer's last state is reshaped into a sequence for another one.",
             _SK103_DOC, check=_graph_check("SK103")),
        Rule("SK201", "deep-simple-rnn", Severity.WARNING,
             "Two or more SimpleRNN layers are stacked.", _SK201_DOC,
             check=_graph_check("SK201")),
        Rule("SK202", "cudnn-ineligible", Severity.INFO,
             "An LSTM or GRU layer's settings keep it off the cuDNN kernel.", _SK202_DOC,
             check=_graph_check("SK202")),
        Rule("SK203", "unregularized-deep-stack", Severity.INFO,
             "Three or more stacked recurrent layers and no dropout or regularization.",
             _SK203_DOC, check=_graph_check("SK203")),
    )
}


# ---------------------------------------------------------------------------
# Public functions
# ---------------------------------------------------------------------------


def _location_key(finding: Finding) -> tuple:
    def number(value: Any) -> int:
        return value if _as_int(value) is not None else 0

    return (
        finding.path if isinstance(finding.path, str) else "",
        number(finding.cell),
        number(finding.line),
        number(finding.column),
        finding.code,
        finding.layer or "",
    )


def _code_patterns(value: Any, argument: str) -> list[str] | None:
    """Turns `select`/`ignore` into upper-case code prefixes, checking each one."""
    if value is None:
        return None
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    else:
        try:
            items = list(value)
        except TypeError:
            raise TypeError(
                f"{argument} must be rule codes or prefixes (a list such as ['SK101', 'SK2'] "
                f"or a comma-separated string), got {value!r}"
            ) from None
    patterns = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(
                f"{argument} must hold rule codes or prefixes such as 'SK101' or 'SK2', got {item!r}"
            )
        pattern = item.strip().upper()
        if not pattern:
            continue
        if pattern == "ALL":
            pattern = "SK"
        if not any(code.startswith(pattern) for code in RULES):
            raise ValueError(
                f"{argument} has {item!r}, which matches no rule; known codes: {', '.join(RULES)}"
            )
        patterns.append(pattern)
    if not patterns and argument == "select":
        raise ValueError(
            f"select names no rule (known codes: {', '.join(RULES)}); give rule codes or prefixes "
            f"such as ['SK101', 'SK2'], or None to run every rule; got {value!r}"
        )
    return patterns


def _longest_match(code: str, patterns: list[str]) -> int:
    return max((len(p) for p in patterns if code.startswith(p)), default=-1)


def selected_rules(select: Any = None, ignore: Any = None) -> list[Rule]:
    """The rules `check` runs for `select` and `ignore` (see `check`).

    Args:
        select: rule codes or prefixes to run, or None for every rule.
        ignore: rule codes or prefixes not to run, or None.

    Returns:
        The rules, in code order.

    Raises:
        TypeError: if `select` or `ignore` is not a string or an iterable of
            strings.
        ValueError: if either names a code that matches no rule, or `select`
            names no rule at all (`""`, `[]`).

    Example:

    >>> [rule.code for rule in selected_rules(select="SK1", ignore="SK102")]
    ['SK001', 'SK002', 'SK003', 'SK004', 'SK005', 'SK006', 'SK101', 'SK103']
    """
    return _chosen_rules(select, ignore)


def _chosen_rules(select: Any, ignore: Any) -> list[Rule]:
    selected = _code_patterns(select, "select")
    ignored = _code_patterns(ignore, "ignore") or []
    chosen = []
    for code, rule in RULES.items():
        chosen_by = 0 if selected is None else _longest_match(code, selected)
        if code.startswith("SK0"):
            # What could not be read is reported whatever `select` says.
            chosen_by = max(chosen_by, 0)
        if chosen_by < 0:
            continue
        if _longest_match(code, ignored) >= chosen_by:
            continue
        chosen.append(rule)
    return chosen


def check(graph: ModelGraph, *, select: Any = None, ignore: Any = None) -> list[Finding]:
    """Runs the rules on one model graph.

    Every rule with a check runs once on the graph; the findings come back
    sorted by location (path, notebook cell, line, column, code). Each one
    names the layer to change (`layer`, the name a Keras summary shows) and
    points at its call (`path`, `line`, `column`, `cell`: the location of the
    recurrent layer that must change, the inner one for a wrapper, else of the
    node, else of the model), with `model` set to the graph's name.

    A code selected or ignored by prefix follows the most specific match, as
    in ruff: `select=["SK1"], ignore=["SK102"]` runs SK101 and SK103, and
    `select=["SK101"], ignore=["SK1"]` still runs SK101. On a tie, ignore wins.
    The SK0xx rule SK006 (wiring not visible) runs whatever `select` says,
    unless ignored: a model that could not be checked is never reported clean.

    Args:
        graph: the model, as a front-end built it.
        select: rule codes or prefixes to run (`["SK101", "SK2"]`, or the
            comma-separated string `"SK101,SK2"`; `"ALL"` for every rule).
            Defaults to None: every rule.
        ignore: rule codes or prefixes not to run. Defaults to None.

    Returns:
        The findings, sorted by location.

    Raises:
        TypeError: if `graph` is not a `ModelGraph`, or `select`/`ignore` is
            not a string or an iterable of strings.
        ValueError: if `select` or `ignore` names a code that matches no rule,
            or `select` names no rule at all (`""`, `[]`).

    Example:

    >>> from stacked_keras.graph import LayerNode, ModelGraph
    >>> graph = ModelGraph.chain([
    ...     LayerNode("lstm", "LSTM", {"units": 64}),
    ...     LayerNode("lstm_1", "LSTM", {"units": 32}),
    ... ])
    >>> [f.code for f in check(graph)]
    ['SK101']
    """
    if not isinstance(graph, ModelGraph):
        raise TypeError(
            f"graph must be a stacked_keras.graph.ModelGraph, got {type(graph).__name__}"
        )
    rules = _chosen_rules(select, ignore)
    view = _GraphView(graph)
    findings: list[Finding] = []
    for rule in rules:
        if rule.code in _VIEW_CHECKS:
            findings.extend(_VIEW_CHECKS[rule.code](view))
    return sorted(findings, key=_location_key)


def input_finding(error: UnreadableInput, path: Any) -> Finding:
    """Turns a front-end's `UnreadableInput` into the SK0xx finding for that file.

    Args:
        error: what the front-end raised; its `code` is one of SK001-SK005 and
            its `message` says what is wrong with the file.
        path: the file as the user gave it (a string or a path-like object),
            or None.

    Returns:
        An error-severity `Finding` with the rule's code and name, the
        front-end's message, the rule's fix sentence, and the line, column and
        notebook cell the front-end gave.

    Raises:
        TypeError: if `error` is not an `UnreadableInput`.
        ValueError: if its code is not one of SK001-SK005.

    Example:

    >>> from stacked_keras.lint.findings import UnreadableInput
    >>> f = input_finding(UnreadableInput("SK002", "invalid syntax", line=3), "model.py")
    >>> f.code, f.name, f.line
    ('SK002', 'syntax-error', 3)
    """
    if not isinstance(error, UnreadableInput):
        raise TypeError(
            f"error must be a stacked_keras.lint.findings.UnreadableInput, got {type(error).__name__}"
        )
    if error.code not in _INPUT_FIXES:
        raise ValueError(
            f"error.code must be one of {', '.join(_INPUT_FIXES)}, got {error.code!r}"
        )
    rule = RULES[error.code]
    return Finding(
        code=rule.code,
        name=rule.name,
        severity=Severity.ERROR,
        message=str(error.message),
        fix=_INPUT_FIXES[error.code],
        path=None if path is None else os.fspath(path),
        line=error.line,
        column=error.column,
        cell=error.cell,
    )


def _find_rule(code: Any) -> Rule:
    if isinstance(code, str):
        key = code.strip()
        if key.upper() in RULES:
            return RULES[key.upper()]
        for rule in RULES.values():
            if rule.name == key.lower():
                return rule
    raise ValueError(f"unknown rule {code!r}; known codes: {', '.join(RULES)}")


def rule_page(code: str) -> str:
    """The documentation page of one rule, as `stacked-keras rule SK101` prints it.

    Args:
        code: a rule code (`"SK101"`, any case) or a rule name
            (`"broken-vertical-connection"`).

    Returns:
        The page in markdown: a title with the name and code, the severity,
        whether the fixers repair it, then the rule's documentation.

    Raises:
        ValueError: for an unknown code, listing the known ones.

    Example:

    >>> print(rule_page("SK101").splitlines()[0])
    # broken-vertical-connection (SK101)
    """
    rule = _find_rule(code)
    if rule.fixable:
        fixable = "Fixable: yes (`stacked-keras lint --fix`, `stacked_keras.fix(model)`)."
    else:
        fixable = "Fixable: no."
    return (
        f"# {rule.name} ({rule.code})\n\n"
        f"Severity: {rule.severity}. {fixable}\n\n"
        f"{rule.summary}\n\n"
        f"{rule.doc.rstrip()}\n"
    )


def rules_table() -> str:
    """Every rule on one line, as `stacked-keras rules` prints it.

    Returns:
        One line per rule, in code order: code, default severity, `fix` when
        the fixers repair it, name and summary, in aligned columns.

    Example:

    >>> print(rules_table().splitlines()[6])  # doctest: +NORMALIZE_WHITESPACE
    SK101  error    fix  broken-vertical-connection  A recurrent layer that returns one vector feeds another recurrent layer.
    """
    width = max(len(rule.name) for rule in RULES.values())
    lines = [
        f"{rule.code}  {rule.severity:<7}  {'fix' if rule.fixable else '   '}  "
        f"{rule.name:<{width}}  {rule.summary}"
        for rule in RULES.values()
    ]
    return "\n".join(lines) + "\n"

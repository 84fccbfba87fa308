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

# Size: just over 600 lines until issue 9 gives every rule its own module.

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from stacked_keras.cudnn import CudnnBlocker, cudnn_blocking_settings
from stacked_keras.graph import (
    UNKNOWN,
    LayerNode,
    ModelGraph,
)
from stacked_keras.lint.findings import Finding, Severity, UnreadableInput
from stacked_keras.lint.rules.codes import CODES, INPUT_FIXES as _INPUT_FIXES
from stacked_keras.lint.rules.pages import PAGES
from stacked_keras.lint.rules.finding_builder import _finding, _first_location, _join, _label, _target_label
from stacked_keras.lint.rules.sequence_head import _check_sequence_into_per_sample_head
from stacked_keras.lint.semantics import (
    _DROPOUT_LAYERS,
    _WRAPPER_DEPTH_LIMIT,
    GraphView as _GraphView,
    _as_int,
    _as_number,
    _class_of,
    _setting,
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
    code: Rule(entry.code, entry.name, entry.severity, entry.summary, PAGES[code],
               fixable=entry.fixable,
               check=_graph_check(code) if code in _VIEW_CHECKS else None)
    for code, entry in CODES.items()
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

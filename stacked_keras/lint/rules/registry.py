"""The rule registry of the stacked-keras linter: every rule, and how to run them.

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

The rules read only the shared `ModelGraph` (`stacked_keras/graph.py`), with
its stack layers expanded into their layers (`expand_stack_layers`), never
Keras itself, so this module imports neither TensorFlow nor Keras. They are
written to stay quiet when they cannot be sure: a setting the front-end could
not know (`UNKNOWN`) never produces an error, and odd graphs (cycles, edges to
missing nodes, missing or strange config values) never make them raise.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from stacked_keras.graph import ModelGraph, expand_stack_layers
from stacked_keras.lint.findings import Finding, Severity, UnreadableInput
from stacked_keras.lint.rules import (
    broken_vertical_connection,
    cudnn_ineligible,
    deep_simple_rnn,
    fabricated_time_axis,
    sequence_into_per_sample_head,
    unreadable_input,
    unregularized_deep_stack,
    wiring_not_visible,
)
from stacked_keras.lint.rules.codes import CODES, INPUT_FIXES as _INPUT_FIXES
from stacked_keras.lint.semantics import GraphView as _GraphView, _as_int
from stacked_keras.lint.source_assumed import assumption_note

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


# The rules that read a graph: one module each, holding CODE, PAGE and check(view).
_RULE_MODULES: tuple[ModuleType, ...] = (
    wiring_not_visible,
    broken_vertical_connection,
    sequence_into_per_sample_head,
    fabricated_time_axis,
    deep_simple_rnn,
    cudnn_ineligible,
    unregularized_deep_stack,
)

# The checks by code, on a graph view: `check` builds one view for all of them.
_VIEW_CHECKS: dict[str, Callable[[_GraphView], list[Finding]]] = {
    module.CODE: module.check for module in _RULE_MODULES
}

_PAGES: dict[str, str] = {
    **unreadable_input.PAGES,
    **{module.CODE: module.PAGE for module in _RULE_MODULES},
}


def _graph_check(code: str) -> Callable[[ModelGraph], list[Finding]]:
    """The public `graph -> list[Finding]` form of one rule's check."""
    run = _VIEW_CHECKS[code]

    def check_graph(graph: ModelGraph) -> list[Finding]:
        return sorted(run(_GraphView(expand_stack_layers(graph))), key=_location_key)

    check_graph.__name__ = run.__name__.lstrip("_")
    check_graph.__qualname__ = check_graph.__name__
    check_graph.__doc__ = f"Runs rule {code} on a model graph and returns its findings, sorted."
    return check_graph


RULES: dict[str, Rule] = {
    code: Rule(entry.code, entry.name, entry.severity, entry.summary, _PAGES[code],
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
    # Every rule sees plain layers: a stack layer (`LSTMStack`) is read as
    # the LSTM/GRU layers it stands for (`graph.expand_stack_layers`).
    view = _GraphView(expand_stack_layers(graph))
    findings: list[Finding] = []
    for rule in rules:
        if rule.code in _VIEW_CHECKS:
            findings.extend(_VIEW_CHECKS[rule.code](view))
    if graph.assumed:
        note = assumption_note(graph.assumed, graph.origin)
        findings = [finding.with_location(message=f"{finding.message} {note}") for finding in findings]
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

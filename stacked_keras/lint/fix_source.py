"""Rewrites Python source and notebooks so that SK101 findings go away.

For each SK101 finding (a recurrent layer that returns only its last state
but feeds another recurrent layer), the fixer edits the place the finding
points at:

- `return_sequences=<expr>` given: only `<expr>` is replaced with `True`;
- `RNN(cell, False)` (return_sequences given positionally): only that
  argument is replaced;
- a layer whose `return_sequences` is a parameter of the user function or
  class that builds it (`def block(x, seq): ... LSTM(8,
  return_sequences=seq)(x)`): the argument given for that parameter at the
  call (`block(inp, False)`, positional or keyword) is replaced with `True`,
  or `seq=True` is added to a call that leaves it to its default; for a
  function analysed on its own, the parameter's default is replaced;
- otherwise `return_sequences=True` is inserted after the last argument,
  keeping a trailing comma, and on a line of its own (same indentation) when
  the arguments are written one per line;
- a call in a loop whose last layer must keep its last state gets the loop's
  index condition instead of `True` (`return_sequences=i < depth - 1`,
  numbering a loop with `enumerate` when it has no index, or setting a list
  of flags): `lint/fix_loops.py`.

Every fix is checked before it is kept: the edited file (each edited cell,
for notebooks) must still parse, and analysed again, every layer built at
that place must now return sequences. A fix that fails either check is
skipped with the reason; a file that would not parse is never written.
`SourceRewrite.applied` lists the findings whose layer is fixed (several
findings naming one call share its one edit).

Nothing else in the file changes: comments, blank lines, quotes, newline
style, encoding (a UTF-8 BOM or a PEP 263 cookie is kept) and, for notebooks,
the JSON layout (the notebook's own indentation and key order when it can be
reproduced, nbformat's otherwise) and every other cell and output.

A finding is skipped, never guessed, when the call cannot be changed safely:
no recurrent layer call starts at its line and column; the layer's
`return_sequences` comes from a `**config` dict; the same call builds several
layers that no index condition sets (a `while` loop, a generator, nested
loops: the reason then gives the form to write); the layer was built by a
helper function that takes no argument for it; or the helper's parameter
cannot be added to its call unambiguously (`*args`/`**kwargs` at the call, a
positional-only parameter).

Like the static front-end, the fixer imports neither TensorFlow nor Keras.
"""

# Size: about 790 lines: planning, checking and applying an edit are shared by the Python and
# the notebook rewrite; the loop forms live in fix_loops.py. The next seam is the notebook JSON
# layout (_dump_like, rewrite_notebook), which can move out on its own.

from __future__ import annotations

import ast
import bisect
import copy
import json
import os
import re
import pathlib
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field

from stacked_keras.atomic_files import write_file_atomically
from stacked_keras.graph import ModelGraph
from stacked_keras.keras_catalogue import CALL_ARGUMENTS as _POSITIONAL
from stacked_keras.lint.files import read_regular_file
from stacked_keras.lint.findings import Finding, UnreadableInput
from stacked_keras.lint.fix_loops import LoopPlan, as_planned, built_at, built_layers, feeds_recurrent as _feeds_recurrent, \
    loop_plan, needs_condition
from stacked_keras.lint.source_origins import OriginsMixin
from stacked_keras.lint.from_source import (
    LayerCall,
    SourceFrontEnd,
    analyse_notebook,
    analyse_python,
    decode_source_bytes,
    parse_cell,
)

__all__ = [
    "SourceRewrite",
    "rewrite_python_source",
    "rewrite_notebook",
    "rewrite_file",
    "fix_python_source",
    "fix_notebook",
    "fix_file",
]

FIXABLE_CODES = frozenset({"SK101"})
_NEWLINE = re.compile(r"\r\n|\r|\n")
_BOM = b"\xef\xbb\xbf"


@dataclass
class SourceRewrite:
    """The outcome of fixing one file's text.

    Args:
        text: the new text (the original when nothing was applied).
        applied: the findings whose fix was made.
        skipped: `(finding, reason)` for each SK101 finding left alone.
    """

    text: str
    applied: list[Finding] = field(default_factory=list)
    skipped: list[tuple[Finding, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """Whether at least one fix was made."""
        return bool(self.applied)


class _TextIndex:
    """Turns `ast` positions (1-based line, UTF-8 byte column) into string offsets."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def offset(self, line: int, byte_column: int) -> int:
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        segment = self.text[start:end]
        if segment.isascii():
            return start + byte_column
        return start + len(segment.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))

    def line_start(self, offset: int) -> int:
        position = max(self.text.rfind("\n", 0, offset), self.text.rfind("\r", 0, offset))
        return position + 1

    def line_end(self, offset: int) -> int:
        """The offset of the newline ending the line that holds `offset` (len(text) at the end)."""
        ends = [p for p in (self.text.find("\r", offset), self.text.find("\n", offset)) if p != -1]
        return min(ends) if ends else len(self.text)


def _newline_of(text: str) -> str:
    match = _NEWLINE.search(text)
    return match.group(0) if match else "\n"


def _where(finding: Finding) -> str:
    return f"line {finding.line}, column {finding.column}" + (
        f" of cell {finding.cell}" if finding.cell is not None else "")


def _safety(finding: Finding, layer_call: LayerCall | None, graphs: list[ModelGraph]) -> str | None:
    """Why the finding's call must not be changed, or None when it can be."""
    where = _where(finding)
    if layer_call is None:
        return f"no recurrent layer call starts at {where}"
    source = layer_call.return_sequences_from
    if source == "double_star":
        return f"return_sequences of the layer at {where} comes from a **config dict; set it there"
    if source == "partial" and layer_call.reason is not None:
        return f"the layer at {where} is built by a functools.partial: {layer_call.reason}"
    if source == "helper":
        return (f"the layer at {where} is built by {layer_call.function}(), which takes no argument for its "
                f"return_sequences; change {layer_call.function}() by hand")
    if source == "call_argument" and layer_call.argument is None and layer_call.reason is not None:
        return (f"the layer at {where} takes return_sequences from parameter {layer_call.parameter} of "
                f"{layer_call.function}(), and {layer_call.reason}; set it by hand")
    built = built_at((finding.cell, finding.line, finding.column), graphs)
    if not built:
        return f"no model built in this file uses the layer at {where}"
    if layer_call.loop is not None and len(built) > 1:
        if needs_condition(built) is None:
            return (f"the loop at line {layer_call.loop.node.lineno} builds layers at {where} that must differ in "
                    "another way than all but the last returning sequences; set return_sequences by hand")
        return None
    for graph, node in built:
        value = node.core.get("return_sequences", False)
        if value is not False:
            return f"the layer at {where} does not return a single vector (return_sequences={value!r})"
        if not _feeds_recurrent(graph, node):
            return (f"the call at {where} also builds a layer ({node.name} in {graph.name}) that must keep "
                    "return_sequences=False; change the loop or helper by hand")
    return None


def _call_edits(layer_call: LayerCall, index: _TextIndex, to_local: object, newline: str,
                plan: LoopPlan | None = None) -> list[tuple[int, int, str]]:
    """The text edits that make one layer return sequences.

    Replaces the expression that gives `return_sequences` (the keyword's
    value, `RNN(cell, False)`'s argument, a helper's argument at its call, a
    parameter's default) with `True`, or adds the keyword to the call. For a
    loop whose last layer must keep its last state, `plan` gives the value
    (`i < depth - 1`) and the other edits (the loop header, the flags).
    """
    call = layer_call.call

    def at(line: int, column: int) -> int:
        return index.offset(to_local(line), column)

    extra = [(at(line, column), at(end_line, end_column), text)
             for line, column, end_line, end_column, text in (plan.edits if plan is not None else [])]
    if plan is not None and plan.value is None:
        return extra
    value = plan.value if plan is not None else "True"

    def replace(expression: ast.expr) -> list[tuple[int, int, str]]:
        return extra + [(at(expression.lineno, expression.col_offset),
                         at(expression.end_lineno, expression.end_col_offset), value)]

    source = layer_call.return_sequences_from
    if source in ("call_argument", "parameter_default"):
        if layer_call.argument is not None:
            return replace(layer_call.argument)
        return extra + _keyword_insertion(call, f"{layer_call.parameter}={value}", index, to_local, newline)
    for keyword in call.keywords:
        if keyword.arg == "return_sequences":
            return replace(keyword.value)
    if source == "positional":
        position = _POSITIONAL[layer_call.cls].index("return_sequences")
        return replace(call.args[position])
    return extra + _keyword_insertion(call, f"return_sequences={value}", index, to_local, newline)


def _keyword_insertion(call: ast.Call, keyword: str, index: _TextIndex, to_local: object,
                       newline: str) -> list[tuple[int, int, str]]:
    """One edit that adds `keyword` after a call's last argument, in the call's own layout.

    A trailing comma is kept; when the arguments are written one per line,
    the keyword goes on a line of its own with the same indentation.
    """
    text = index.text

    def at(line: int, column: int) -> int:
        return index.offset(to_local(line), column)

    close = at(call.end_lineno, call.end_col_offset) - 1
    items = sorted(list(call.args) + list(call.keywords), key=lambda item: (item.lineno, item.col_offset))
    if not items:
        opening = text.index("(", at(call.func.end_lineno, call.func.end_col_offset))
        return [(opening + 1, opening + 1, keyword)]
    last = items[-1]
    last_start = at(last.lineno, last.col_offset)
    last_end = at(last.end_lineno, last.end_col_offset)
    comma = None
    grouping = 0
    position = last_end
    while position < close:
        character = text[position]
        if character == ",":
            comma = position
            break
        if character == "#":
            position = index.line_end(position)
            continue
        if character == ")":  # the parentheses around the last argument: `LSTM((8))`
            last_end = position + 1
            grouping += 1
        position += 1
    while grouping and last_start > 0:
        last_start -= 1
        if text[last_start] == "(":
            grouping -= 1
    line_start = index.line_start(last_start)
    indent = text[line_start:last_start]
    one_per_line = indent.strip() == "" and to_local(last.lineno) > to_local(call.func.end_lineno)
    if not one_per_line:
        if comma is not None:
            return [(comma + 1, comma + 1, f" {keyword},")]
        return [(last_end, last_end, f", {keyword}")]
    anchor = comma + 1 if comma is not None else last_end
    line_end = index.line_end(anchor)
    if line_end > close:  # the closing parenthesis is on the last argument's line
        if comma is not None:
            return [(anchor, anchor, newline + indent + f"{keyword},")]
        return [(last_end, last_end, "," + newline + indent + keyword)]
    if comma is not None:
        return [(line_end, line_end, newline + indent + f"{keyword},")]
    # The comma after the last argument and the new line after its comment
    # are one edit, so that nothing can apply them in the wrong order.
    return [(last_end, line_end, "," + text[last_end:line_end] + newline + indent + keyword)]


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    edits = list(dict.fromkeys(edits))  # two layers of one loop share its header's edit
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _moved(offset: int, edits: list[tuple[int, int, str]]) -> int:
    """Where a position before or outside every edit is once the edits are made."""
    edits = list(dict.fromkeys(edits))
    return offset + sum(len(replacement) - (end - start) for start, end, replacement in edits if end <= offset
                        and not (start == end == offset))


def _fixable(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.code in FIXABLE_CODES]


@dataclass
class _Fix:
    """The findings that one edit of one place fixes (several findings can name one call)."""

    layer_call: LayerCall
    findings: list[int]
    part: int | None
    key: tuple[int, int]
    edits: list[tuple[int, int, str]] = field(default_factory=list)
    plan: LoopPlan | None = None


def _plan(findings: list[Finding], front_end: SourceFrontEnd, graphs: list[ModelGraph],
          rewrite: SourceRewrite, context: object) -> list[_Fix]:
    """The places to change, each with the findings (by position) it fixes; the rest is skipped."""
    planned: dict[int, _Fix] = {}
    for position, finding in enumerate(findings):
        if finding.line is None or finding.column is None:
            rewrite.skipped.append((finding, "the finding has no line and column"))
            continue
        layer_call = front_end.layer_calls.get((finding.cell, finding.line, finding.column))
        reason = _safety(finding, layer_call, graphs)
        plan = None
        if reason is None and layer_call.loop is not None:  # the index condition, when the loop's top must stay
            source = layer_call.return_sequences_from
            argument = (layer_call.argument if source in ("call_argument", "parameter_default")
                        else OriginsMixin._return_sequences_expression(layer_call.call, source))
            plan = loop_plan(layer_call.loop, (finding.cell, finding.line, finding.column), argument, graphs, context)
        if plan is not None and plan.reason is not None:
            reason = f"{plan.reason}; write {plan.pattern}"
        elif reason is not None and layer_call is not None and layer_call.return_sequences_from == "helper":
            hint = loop_plan(layer_call.loop, (finding.cell, finding.line, finding.column), None, graphs, context)
            reason += f"; the loop needs {hint.pattern} there" if hint is not None and not hint.reason else ""
        if reason is not None:
            rewrite.skipped.append((finding, reason))
            continue
        fix = planned.get(id(layer_call))
        if fix is None:
            planned[id(layer_call)] = _Fix(layer_call, [position], finding.cell, (finding.line, finding.column),
                                           plan=plan)
        else:
            fix.findings.append(position)
    return list(planned.values())


def _settle(fixes: list[_Fix], findings: list[Finding], sources: dict[int | None, str],
            parse_error: object, analyse: object, rewrite: SourceRewrite) -> dict[int | None, str]:
    """Keeps the fixes that leave Python that parses and make their layers return sequences.

    A fix whose part (the module, or a notebook cell) no longer parses once
    edited is skipped, and so are fixes that only break their part together.
    The remaining edits are then made and the result analysed again: a fix
    whose layers do not all return sequences afterwards is skipped too, and
    the others are tried again without it. The findings of the fixes kept
    are appended to `rewrite.applied` (in the order given), each skipped one
    to `rewrite.skipped` with the reason.

    Args:
        fixes: the planned fixes, their `edits` set.
        findings: the findings, which the fixes name by position.
        sources: the text of each part that fixes edit.
        parse_error: `(part, text) -> message or None`.
        analyse: `(new sources by part) -> graphs`.
        rewrite: where applied and skipped findings go.

    Returns:
        The new text of each part whose edits were kept.
    """
    def skip(fix: _Fix, reason: str) -> None:
        for position in fix.findings:
            rewrite.skipped.append((findings[position], reason))

    def edited(kept: list[_Fix]) -> dict[int | None, str]:
        return {part: _apply_edits(sources[part], [e for fix in kept if fix.part == part for e in fix.edits])
                for part in {fix.part for fix in kept}}

    kept = list(fixes)
    for part in sorted({fix.part for fix in kept}, key=lambda p: -1 if p is None else p):
        group = [fix for fix in kept if fix.part == part]
        if parse_error(part, edited(group)[part]) is None:
            continue
        alone_ok = []
        for fix in group:
            error = parse_error(part, _apply_edits(sources[part], fix.edits))
            if error is None:
                alone_ok.append(fix)
            else:
                skip(fix, f"the fix at {_where(findings[fix.findings[0]])} would leave Python that does not "
                          f"parse ({error}); fix it by hand")
        if alone_ok and parse_error(part, edited(alone_ok)[part]) is not None:
            for fix in alone_ok:
                skip(fix, f"the fixes of {'cell ' + str(part) if part is not None else 'this file'} would "
                          "together leave Python that does not parse; fix them by hand")
            alone_ok = []
        kept = [fix for fix in kept if fix.part != part] + alone_ok
    while kept:
        new_sources = edited(kept)
        try:
            graphs = analyse(new_sources)
        except UnreadableInput as error:
            for fix in kept:
                skip(fix, f"the fixed file cannot be analysed again ({error.message}); fix it by hand")
            kept = []
            break
        settings: dict[tuple[int | None, int, int], list[object]] = {}
        for graph, node in built_layers(graphs):  # a stack layer's top layer holds its call's flag
            location = node.core.location
            if location is not None and node.is_recurrent:
                settings.setdefault((location.cell, location.line, location.column), []).append(
                    (node.core.get("return_sequences", False), graph, node))
        failed = []
        for fix in kept:
            part_edits = [e for other in kept if other.part == fix.part for e in other.edits]
            new_index = _TextIndex(new_sources[fix.part])
            old_index = _TextIndex(sources[fix.part])
            line, column = fix.key
            offset = _moved(old_index.starts[line - 1] + column - 1, part_edits)
            new_line = bisect.bisect_right(new_index.starts, offset)
            new_key = (fix.part, new_line, offset - new_index.starts[new_line - 1] + 1)
            values = settings.get(new_key, [])
            if not values or not all(as_planned(*value) if fix.plan is not None else value[0] is True
                                     for value in values):
                failed.append(fix)
        if not failed:
            break
        for fix in failed:
            skip(fix, f"the edit at {_where(findings[fix.findings[0]])} does not make the layer return "
                      "sequences (the value changes on its way); fix it by hand")
        kept = [fix for fix in kept if fix not in failed]
    applied = sorted(position for fix in kept for position in fix.findings)
    rewrite.applied.extend(findings[position] for position in applied)
    return edited(kept)


def _segment(index: _TextIndex, node: ast.AST, to_local: object) -> str:
    """The source text of a node, as written."""
    return index.text[index.offset(to_local(node.lineno), node.col_offset):
                      index.offset(to_local(node.end_lineno), node.end_col_offset)]


def _python_parse_error(part: int | None, text: str) -> str | None:
    try:
        ast.parse(text)
    except SyntaxError as error:
        return f"{error.msg}, line {error.lineno}" if error.lineno else error.msg
    except (ValueError, RecursionError, MemoryError) as error:
        return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return None


def rewrite_python_source(text: str, findings: Iterable[Finding]) -> SourceRewrite:
    """Fixes the SK101 findings of a Python module's source.

    Each fix is checked before it is kept: the edited source must still
    parse, and analysed again, the layer must now return sequences. A fix
    that fails either check is skipped (with the reason), never written.

    Args:
        text: the module's source (newlines as in the file).
        findings: findings for this source; only SK101 ones with a line and
            column (and no cell) are considered.

    Returns:
        A `SourceRewrite` with the new text, the findings whose layer is now
        fixed (`applied`: several findings naming one call are all applied
        by its one edit) and the ones skipped, with the reason.

    Raises:
        UnreadableInput: SK002 when the source does not parse.

    Example:

    >>> from stacked_keras.lint.findings import Finding
    >>> source = "import keras\\nm = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])\\n"
    >>> finding = Finding("SK101", "broken-vertical-connection", "error", "...", line=2, column=23)
    >>> print(rewrite_python_source(source, [finding]).text, end="")
    import keras
    m = keras.Sequential([keras.layers.LSTM(8, return_sequences=True), keras.layers.LSTM(4)])
    """
    bom = text.startswith("\ufeff")
    body = text[1:] if bom else text
    rewrite = SourceRewrite(text)
    findings = [f for f in _fixable(findings)]
    for finding in findings:
        if finding.cell is not None:
            rewrite.skipped.append((finding, "the finding names a notebook cell, but this is a .py source"))
    findings = [f for f in findings if f.cell is None]
    if not findings:
        return rewrite
    front_end, graphs = analyse_python(body)
    index = _TextIndex(body)
    newline = _newline_of(body)
    fixes = _plan(findings, front_end, graphs, rewrite, lambda: (
        [ast.parse(body)], lambda node: _segment(index, node, lambda line: line), lambda node: None))
    for fix in fixes:
        fix.edits = _call_edits(fix.layer_call, index, lambda line: line, newline, fix.plan)
    if not fixes:
        return rewrite
    new_sources = _settle(fixes, findings, {None: body}, _python_parse_error,
                          lambda sources: analyse_python(sources.get(None, body))[1], rewrite)
    if None in new_sources:
        rewrite.text = ("\ufeff" if bom else "") + new_sources[None]
    return rewrite


# JSON layouts tried, in order, to write a notebook back the way it was written.
_JSON_STYLES = (
    {"indent": 1, "sort_keys": True, "ensure_ascii": False},  # nbformat
    {"indent": 1, "sort_keys": False, "ensure_ascii": False},
    {"indent": 2, "sort_keys": False, "ensure_ascii": False},
    {"indent": 2, "sort_keys": True, "ensure_ascii": False},
    {"indent": 1, "sort_keys": True, "ensure_ascii": True},
    {"indent": 1, "sort_keys": False, "ensure_ascii": True},
    {"indent": 2, "sort_keys": False, "ensure_ascii": True},
    {"indent": 4, "sort_keys": False, "ensure_ascii": False},
)


def _dump_like(original_text: str, document: dict) -> str:
    """Serializes the notebook in the layout the original text used (nbformat's otherwise)."""
    newline = "\r\n" if "\r\n" in original_text else "\n"
    body = original_text.replace("\r\n", "\n")
    stripped = body.rstrip("\n")
    trailing = body[len(stripped):]
    try:
        pristine = json.loads(original_text)
    except ValueError:
        pristine = None
    chosen = _JSON_STYLES[0]
    if pristine is not None:
        for style in _JSON_STYLES:
            if json.dumps(pristine, **style) == stripped:
                chosen = style
                break
        else:
            trailing = "\n"
    dumped = json.dumps(document, **chosen) + trailing
    return dumped.replace("\n", newline) if newline != "\n" else dumped


def rewrite_notebook(text: str, findings: Iterable[Finding]) -> SourceRewrite:
    """Fixes the SK101 findings of a Jupyter notebook.

    Only the edited cells' `source` changes; outputs, metadata and the other
    cells are written back untouched.

    Args:
        text: the notebook's JSON text.
        findings: findings for this notebook; only SK101 ones with a cell,
            line and column are considered (`cell` counts every cell, 1-based).

    A code cell that does not parse is left as it is (Jupyter still runs
    the others, and so does the linter); each edited cell must still parse
    afterwards, or its fix is skipped.

    Returns:
        A `SourceRewrite` with the new JSON text.

    Raises:
        UnreadableInput: SK003 when the text is not a notebook.

    Example:

    >>> import json
    >>> from stacked_keras.lint.findings import Finding
    >>> cells = [{"cell_type": "markdown", "metadata": {}, "source": "# Model"},
    ...          {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
    ...           "source": ["import keras\\n", "m = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])"]}]
    >>> text = json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    >>> finding = Finding("SK101", "broken-vertical-connection", "error", "...", line=2, column=23, cell=2)
    >>> rewrite = rewrite_notebook(text, [finding])
    >>> rewrite.applied == [finding], json.loads(rewrite.text)["cells"][1]["source"][1]
    (True, 'm = keras.Sequential([keras.layers.LSTM(8, return_sequences=True), keras.layers.LSTM(4)])')
    """
    rewrite = SourceRewrite(text)
    findings = _fixable(findings)
    for finding in findings:
        if finding.cell is None:
            rewrite.skipped.append((finding, "the finding names no notebook cell"))
    findings = [f for f in findings if f.cell is not None]
    if not findings:
        return rewrite
    front_end, graphs, program = analyse_notebook(text, problems=[])

    def to_local(line: int) -> int:
        return front_end.cell_position(line)[1]

    def part_of(node: ast.AST) -> int | None:
        return front_end.cell_position(node.lineno)[0]

    def segment(node: ast.AST) -> str:
        return _segment(_TextIndex(program.sources[part_of(node)][1]), node, to_local)

    fixes = _plan(findings, front_end, graphs, rewrite, lambda: (program.modules, segment, part_of))

    sources = {}
    for fix in fixes:
        _, source = program.sources[fix.part]
        sources[fix.part] = source
        fix.edits = _call_edits(fix.layer_call, _TextIndex(source), to_local, "\n", fix.plan)
    if not fixes:
        return rewrite

    def parse_error(part: int, source: str) -> str | None:
        try:
            parse_cell(source, "the fixed notebook", part)
        except UnreadableInput as error:
            return error.message
        return None

    def document_with(new_sources: dict) -> dict:
        document = copy.deepcopy(program.document)
        cells = _document_cells(document)
        for number, new_source in new_sources.items():
            cell = cells[number - 1]
            key = "source" if "source" in cell or "input" not in cell else "input"
            cell[key] = new_source.splitlines(keepends=True) if isinstance(cell.get(key), list) else new_source
        return document

    def analyse(new_sources: dict) -> list[ModelGraph]:
        return analyse_notebook(json.dumps(document_with(new_sources)), problems=[])[1]

    new_sources = _settle(fixes, findings, sources, parse_error, analyse, rewrite)
    if new_sources:
        rewrite.text = _dump_like(text, document_with(new_sources))
    return rewrite


def _document_cells(document: dict) -> list[dict]:
    """Every cell of a notebook document, in order (nbformat 4 `cells`, or nbformat 3 worksheets)."""
    if "cells" in document:
        return document["cells"]
    return [cell for sheet in document.get("worksheets", []) if isinstance(sheet, dict)
            for cell in (sheet.get("cells") or [])]


def fix_python_source(text: str, findings: Iterable[Finding]) -> str:
    """Returns the Python source with its SK101 findings fixed.

    Args:
        text: the module's source.
        findings: findings for this source (others than SK101 are ignored).

    Returns:
        The new source; the same text when no finding could be applied.

    Raises:
        UnreadableInput: SK002 when the source does not parse.

    Example:

    >>> from stacked_keras.lint.findings import Finding
    >>> source = "from keras import Sequential\\nfrom keras.layers import GRU\\nm = Sequential([GRU(8), GRU(4)])  # stack\\n"
    >>> finding = Finding("SK101", "broken-vertical-connection", "error", "...", line=3, column=17)
    >>> print(fix_python_source(source, [finding]), end="")
    from keras import Sequential
    from keras.layers import GRU
    m = Sequential([GRU(8, return_sequences=True), GRU(4)])  # stack
    """
    return rewrite_python_source(text, findings).text


def fix_notebook(text: str, findings: Iterable[Finding]) -> str:
    """Returns the notebook JSON text with its SK101 findings fixed.

    Args:
        text: the notebook's JSON text.
        findings: findings for this notebook (others than SK101 are ignored).

    Returns:
        The new JSON text; the same text when no finding could be applied.

    Raises:
        UnreadableInput: SK003 as `rewrite_notebook`.

    Example:

    >>> import json
    >>> from stacked_keras.lint.findings import Finding
    >>> cell = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
    ...         "source": "import keras\\nm = keras.Sequential([keras.layers.GRU(8), keras.layers.GRU(4)])"}
    >>> text = json.dumps({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)
    >>> finding = Finding("SK101", "broken-vertical-connection", "error", "...", line=2, column=23, cell=1)
    >>> json.loads(fix_notebook(text, [finding]))["cells"][0]["source"].splitlines()[1]
    'm = keras.Sequential([keras.layers.GRU(8, return_sequences=True), keras.layers.GRU(4)])'
    """
    return rewrite_notebook(text, findings).text


def _same_file(a: str, b: str) -> bool:
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


def _write_atomically(path: str, data: bytes) -> None:
    """Replaces the file through a temporary sibling (`atomic_files`), keeping its permissions."""
    mode = os.stat(path).st_mode & 0o7777

    def write(temporary: pathlib.Path) -> None:
        temporary.write_bytes(data)
        os.chmod(temporary, mode)

    write_file_atomically(path, write, overwrite=True)


def _read_regular(name: str) -> bytes:
    """The file's bytes, through the linter's one file reader (`lint.files`).

    So the same limits hold as for linting: a pipe or a device is refused
    before anything blocks on it, and a file over `MAX_SOURCE_BYTES` is
    refused without being read.

    Raises:
        OSError: the file does not exist or cannot be opened.
        ValueError: it is not a regular file, or is too large.
    """
    if not stat.S_ISREG(os.stat(name).st_mode):  # stat never blocks; a missing path raises OSError
        raise ValueError(f"cannot fix {name}: it is not a regular file")
    try:
        return read_regular_file(name)
    except UnreadableInput as error:
        raise ValueError(f"cannot fix {error.message}") from None


def rewrite_file(path: str | os.PathLike, findings: Iterable[Finding]) -> SourceRewrite:
    """Fixes a `.py` or `.ipynb` file in place and says what was done.

    Findings whose `path` names another file are ignored. The file is
    written only when a fix was made, atomically (a temporary file in the
    same directory, then `os.replace`), with its encoding, BOM, newlines and
    permissions kept. It is never written with Python that does not parse:
    such a fix is skipped (see `rewrite_python_source`).

    Args:
        path: the file.
        findings: findings from linting it.

    Returns:
        The `SourceRewrite` (its `changed` says whether the file was written).

    Raises:
        OSError: the file cannot be read or written.
        ValueError: the file is not a regular `.py`/`.ipynb` file, does not
            decode, or does not parse (the message says which).

    Example:

    >>> rewrite_file("model.py", report.findings).applied  # doctest: +SKIP
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".py", ".pyw", ".ipynb"):
        raise ValueError(f"path must be a .py or .ipynb file, got {name!r}")
    findings = [f for f in _fixable(findings) if f.path is None or _same_file(f.path, name)]
    data = _read_regular(name)
    if not findings:
        return SourceRewrite(data.decode("utf-8", errors="replace"))
    try:
        text, encoding, had_bom = decode_source_bytes(data, name)
        if suffix == ".ipynb":
            rewrite = rewrite_notebook(text, findings)
        else:
            rewrite = rewrite_python_source(text, findings)
    except UnreadableInput as error:
        raise ValueError(f"cannot fix {name}: {error.message}") from None
    if rewrite.changed and rewrite.text != text:
        _write_atomically(name, (_BOM if had_bom else b"") + rewrite.text.encode(encoding))
    return rewrite


def fix_file(path: str | os.PathLike, findings: Iterable[Finding]) -> bool:
    """Rewrites a `.py` or `.ipynb` file in place for its SK101 findings.

    This is what `stacked-keras lint --fix` runs. See `rewrite_file` for the
    details and for which findings were applied.

    Args:
        path: the file.
        findings: findings from linting it (other codes are ignored).

    Returns:
        True when the file was changed.

    Raises:
        OSError: the file cannot be read or written.
        ValueError: the file is not Python source or a notebook, does not
            decode, or does not parse.

    Example:

    >>> fix_file("model.py", report.findings)  # doctest: +SKIP
    True
    """
    return rewrite_file(path, findings).changed

"""Rewrites Python source and notebooks so that SK101 findings go away.

For each SK101 finding (a recurrent layer that returns only its last state
but feeds another recurrent layer), the fixer edits the layer's constructor
call that the finding points at:

- `return_sequences=<expr>` given: only `<expr>` is replaced with `True`;
- `RNN(cell, False)` (return_sequences given positionally): only that
  argument is replaced;
- otherwise `return_sequences=True` is inserted after the last argument,
  keeping a trailing comma, and on a line of its own (same indentation) when
  the arguments are written one per line.

Nothing else in the file changes: comments, blank lines, quotes, newline
style, encoding (a UTF-8 BOM or a PEP 263 cookie is kept) and, for notebooks,
the JSON layout (the notebook's own indentation and key order when it can be
reproduced, nbformat's otherwise) and every other cell and output.

A finding is skipped, never guessed, when the call cannot be changed safely:
no recurrent layer call starts at its line and column; the layer's
`return_sequences` comes from a `**config` dict; the same call builds several
layers (a loop, a helper) and one of them must keep returning a single
vector; or the layer was built by a helper function (the finding then points
at the helper's call, which has no `return_sequences` to set).

Like the static front-end, the fixer imports neither TensorFlow nor Keras.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field

from stacked_keras.graph import RANK_KEEPING, LayerNode, ModelGraph
from stacked_keras.lint.findings import Finding, UnreadableInput
from stacked_keras.lint.from_source import (
    _POSITIONAL,
    LayerCall,
    SourceFrontEnd,
    analyse_notebook,
    analyse_python,
    decode_source_bytes,
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


def _feeds_recurrent(graph: ModelGraph, node: LayerNode) -> bool:
    """Whether the node's output reaches a recurrent layer through rank-keeping layers."""
    seen = {node.id}
    pending = [node.id]
    while pending:
        current = pending.pop()
        for successor in graph.successors(current):
            if successor.id in seen:
                continue
            seen.add(successor.id)
            if successor.is_recurrent:
                return True
            if successor.cls in RANK_KEEPING and successor.kind != "input":
                pending.append(successor.id)
    return False


def _safety(finding: Finding, layer_call: LayerCall | None, graphs: list[ModelGraph]) -> str | None:
    """Why the finding's call must not be changed, or None when it can be."""
    where = f"line {finding.line}, column {finding.column}" + (
        f" of cell {finding.cell}" if finding.cell is not None else "")
    if layer_call is None:
        return f"no recurrent layer call starts at {where}"
    if layer_call.return_sequences_from == "double_star":
        return f"return_sequences of the layer at {where} comes from a **config dict; set it there"
    key = (finding.cell, finding.line, finding.column)
    built = []
    for graph in graphs:
        for node in graph.nodes:
            core = node.core
            location = core.location
            if location is not None and (location.cell, location.line, location.column) == key:
                built.append((graph, node, core))
    if not built:
        return f"no model built in this file uses the layer at {where}"
    for graph, node, core in built:
        value = core.get("return_sequences", False)
        if value is not False:
            return f"the layer at {where} does not return a single vector (return_sequences={value!r})"
        if not _feeds_recurrent(graph, node):
            return (f"the call at {where} also builds a layer ({node.name} in {graph.name}) that must keep "
                    "return_sequences=False; change the loop or helper by hand")
    return None


def _call_edits(layer_call: LayerCall, index: _TextIndex, to_local: object, newline: str) -> list[tuple[int, int, str]]:
    """The text edits that make one constructor call return sequences."""
    call = layer_call.call
    text = index.text

    def at(line: int, column: int) -> int:
        return index.offset(to_local(line), column)

    for keyword in call.keywords:
        if keyword.arg == "return_sequences":
            value = keyword.value
            return [(at(value.lineno, value.col_offset), at(value.end_lineno, value.end_col_offset), "True")]
    if layer_call.return_sequences_from == "positional":
        position = _POSITIONAL[layer_call.cls].index("return_sequences")
        argument = call.args[position]
        return [(at(argument.lineno, argument.col_offset), at(argument.end_lineno, argument.end_col_offset), "True")]
    close = at(call.end_lineno, call.end_col_offset) - 1
    items = sorted(list(call.args) + list(call.keywords), key=lambda item: (item.lineno, item.col_offset))
    if not items:
        opening = text.index("(", at(call.func.end_lineno, call.func.end_col_offset))
        return [(opening + 1, opening + 1, "return_sequences=True")]
    last = items[-1]
    last_start = at(last.lineno, last.col_offset)
    last_end = at(last.end_lineno, last.end_col_offset)
    comma = None
    position = last_end
    while position < close:
        character = text[position]
        if character == ",":
            comma = position
            break
        if character == "#":
            position = index.line_end(position)
            continue
        position += 1
    line_start = index.line_start(last_start)
    indent = text[line_start:last_start]
    one_per_line = indent.strip() == "" and to_local(last.lineno) > to_local(call.func.end_lineno)
    if not one_per_line:
        if comma is not None:
            return [(comma + 1, comma + 1, " return_sequences=True,")]
        return [(last_end, last_end, ", return_sequences=True")]
    anchor = comma + 1 if comma is not None else last_end
    line_end = index.line_end(anchor)
    if line_end > close:  # the closing parenthesis is on the last argument's line
        if comma is not None:
            return [(anchor, anchor, newline + indent + "return_sequences=True,")]
        return [(last_end, last_end, "," + newline + indent + "return_sequences=True")]
    if comma is not None:
        return [(line_end, line_end, newline + indent + "return_sequences=True,")]
    return [(last_end, last_end, ","), (line_end, line_end, newline + indent + "return_sequences=True")]


def _apply_edits(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, replacement in sorted(edits, key=lambda edit: (edit[0], edit[1]), reverse=True):
        text = text[:start] + replacement + text[end:]
    return text


def _fixable(findings: Iterable[Finding]) -> list[Finding]:
    return [f for f in findings if f.code in FIXABLE_CODES]


def _plan(findings: list[Finding], front_end: SourceFrontEnd, graphs: list[ModelGraph],
          rewrite: SourceRewrite) -> list[tuple[Finding, LayerCall]]:
    """The findings that can be fixed, each with its call (one per call)."""
    planned = []
    seen_calls = set()
    for finding in findings:
        if finding.line is None or finding.column is None:
            rewrite.skipped.append((finding, "the finding has no line and column"))
            continue
        layer_call = front_end.layer_calls.get((finding.cell, finding.line, finding.column))
        reason = _safety(finding, layer_call, graphs)
        if reason is not None:
            rewrite.skipped.append((finding, reason))
            continue
        if id(layer_call) in seen_calls:
            rewrite.applied.append(finding)
            continue
        seen_calls.add(id(layer_call))
        planned.append((finding, layer_call))
    return planned


def rewrite_python_source(text: str, findings: Iterable[Finding]) -> SourceRewrite:
    """Fixes the SK101 findings of a Python module's source.

    Args:
        text: the module's source (newlines as in the file).
        findings: findings for this source; only SK101 ones with a line and
            column (and no cell) are considered.

    Returns:
        A `SourceRewrite` with the new text and which findings were applied
        or skipped (with the reason).

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
    edits = []
    for finding, layer_call in _plan(findings, front_end, graphs, rewrite):
        edits.extend(_call_edits(layer_call, index, lambda line: line, newline))
        rewrite.applied.append(finding)
    if edits:
        rewrite.text = ("\ufeff" if bom else "") + _apply_edits(body, edits)
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

    Returns:
        A `SourceRewrite` with the new JSON text.

    Raises:
        UnreadableInput: SK003 when the text is not a notebook, SK002 when a
            code cell does not parse.

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
    front_end, graphs, program = analyse_notebook(text)
    edits_by_cell: dict[int, list[tuple[int, int, str]]] = {}
    for finding, layer_call in _plan(findings, front_end, graphs, rewrite):
        cell, source = program.sources[finding.cell]
        index = _TextIndex(source)

        def to_local(line: int) -> int:
            return front_end.cell_position(line)[1]

        edits_by_cell.setdefault(finding.cell, []).extend(_call_edits(layer_call, index, to_local, "\n"))
        rewrite.applied.append(finding)
    if not edits_by_cell:
        return rewrite
    for number, edits in edits_by_cell.items():
        cell, source = program.sources[number]
        new_source = _apply_edits(source, edits)
        key = "source" if "source" in cell or "input" not in cell else "input"
        cell[key] = new_source.splitlines(keepends=True) if isinstance(cell.get(key), list) else new_source
    rewrite.text = _dump_like(text, program.document)
    return rewrite


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
        UnreadableInput: SK003 or SK002 as `rewrite_notebook`.

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
    directory = os.path.dirname(os.path.abspath(path))
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=f".{os.path.basename(path)}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(data)
        try:
            os.chmod(temporary, os.stat(path).st_mode & 0o7777)
        except OSError:
            pass
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise


def rewrite_file(path: str | os.PathLike, findings: Iterable[Finding]) -> SourceRewrite:
    """Fixes a `.py` or `.ipynb` file in place and says what was done.

    Findings whose `path` names another file are ignored. The file is
    written only when a fix was made, atomically (a temporary file in the
    same directory, then `os.replace`), with its encoding, BOM, newlines and
    permissions kept.

    Args:
        path: the file.
        findings: findings from linting it.

    Returns:
        The `SourceRewrite` (its `changed` says whether the file was written).

    Raises:
        OSError: the file cannot be read or written.
        ValueError: the file is not a `.py`/`.ipynb` file, does not decode,
            or does not parse (the message says which).

    Example:

    >>> rewrite_file("model.py", report.findings).applied  # doctest: +SKIP
    """
    name = os.fspath(path)
    suffix = os.path.splitext(name)[1].lower()
    if suffix not in (".py", ".pyw", ".ipynb"):
        raise ValueError(f"path must be a .py or .ipynb file, got {name!r}")
    findings = [f for f in _fixable(findings) if f.path is None or _same_file(f.path, name)]
    with open(name, "rb") as stream:
        data = stream.read()
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

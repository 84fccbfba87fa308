"""What `lint()` returns: the findings, and their text, HTML, JSON and SARIF forms.

Plain Python: no TensorFlow, no Keras.

Text form, one finding per line, then the fix, then a summary:

```
models/seq.py:12:5: SK101 [lstm_1] lstm_1 returns only its last state ...
    fix: Set return_sequences=True on lstm_1.
notebooks/demo.ipynb:cell 3:4:9: SK102 [lstm] ...
    fix: ...
1 error, 1 warning, 0 info in 2 files (3 models)
```

A notebook finding reads `path:cell N:line:col:`, where `line` counts from the
top of cell N (the form ruff uses). A finding without a line (a saved model
file) reads `path: CODE ...`, and one from a live model `<model name>: CODE ...`.
"""

from __future__ import annotations

import html
import json
import json.decoder
import json.scanner
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path, PurePath
from typing import Any
from urllib.parse import quote

from stacked_keras._version import __version__
from stacked_keras.lint.findings import SEVERITIES, Finding, Severity, severity_rank

__all__ = ["Report", "SARIF_SCHEMA", "sarif_level", "finding_sort_key"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_TOOL_NAME = "stacked-keras"

_SARIF_LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}

# ANSI colours by severity (terminal) and CSS colours (notebook).
_ANSI = {Severity.ERROR: "\033[31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}
_ANSI_BOLD, _ANSI_DIM, _ANSI_RESET = "\033[1m", "\033[2m", "\033[0m"
_CSS = {Severity.ERROR: "#c62828", Severity.WARNING: "#b26a00", Severity.INFO: "#1565c0"}


def sarif_level(severity: str) -> str:
    """The SARIF `level` of a severity: error, warning, or note for info."""
    severity_rank(severity)
    return _SARIF_LEVELS[severity]


def finding_sort_key(finding: Finding) -> tuple[Any, ...]:
    """Orders findings by path, cell, line, column, then code."""
    return (
        finding.path or "",
        (finding.model or "") if finding.path is None else "",
        finding.cell or 0,
        finding.line or 0,
        finding.column or 0,
        finding.code,
        finding.layer or "",
    )


def _plural(count: int, word: str) -> str:
    if word == "info":
        return f"{count} info"
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


class Report:
    """The result of `stacked_keras.lint`: findings, and the files and models read.

    Prints as the text form, shows as a table in a notebook, and converts to
    JSON and SARIF 2.1.0 (for code scanning).

    Args:
        findings: the findings; kept sorted by path, cell, line, column, code.
        files: the files linted, as given (unreadable ones included).
        models: how many models were linted.
        inputs_read: how many inputs (files, models, configs) could be read.
        skipped: how many named paths the `exclude` setting skipped. With
            nothing read and nothing skipped, nothing readable was given.
        excluded: those named paths, as given (`stacked-keras lint` says on
            stderr that it skipped them). Defaults to none; `skipped` is at
            least their number.
        fail_on: the lowest severity that makes `exit_code()` return 1.

    Example:

    >>> import stacked_keras
    >>> report = stacked_keras.lint("models/")      # doctest: +SKIP
    >>> print(report)                               # doctest: +SKIP
    >>> report.exit_code()                          # doctest: +SKIP
    """

    def __init__(self, findings: Iterable[Finding] = (), *, files: Sequence[str] = (),
                 models: int = 0, inputs_read: int | None = None, skipped: int = 0,
                 excluded: Sequence[str] = (), fail_on: str = Severity.ERROR) -> None:
        severity_rank(fail_on)
        self.findings: list[Finding] = sorted(findings, key=finding_sort_key)
        self.files: list[str] = [str(f) for f in files]
        self.models = int(models)
        self.inputs_read = len(self.files) if inputs_read is None else int(inputs_read)
        self.excluded: list[str] = [str(path) for path in excluded]
        self.skipped = max(int(skipped), len(self.excluded))
        self.fail_on = fail_on

    # -- counts ---------------------------------------------------------------
    def _count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def errors(self) -> int:
        """How many findings are errors."""
        return self._count(Severity.ERROR)

    @property
    def warnings(self) -> int:
        """How many findings are warnings."""
        return self._count(Severity.WARNING)

    @property
    def infos(self) -> int:
        """How many findings are info."""
        return self._count(Severity.INFO)

    def exit_code(self, fail_on: str | None = None) -> int:
        """The exit status of `stacked-keras lint` for this report.

        Args:
            fail_on: `"error"`, `"warning"` or `"info"`; defaults to the
                report's `fail_on`.

        Returns:
            2 when nothing readable was given (every input unreadable, or
            none at all; inputs skipped by `exclude` do not count as
            unreadable), 1 when a finding is at or above
            `fail_on`, 0 otherwise.

        Raises:
            ValueError: for any other `fail_on`.
        """
        threshold = severity_rank(self.fail_on if fail_on is None else fail_on)
        if self.inputs_read == 0 and self.skipped == 0:
            return 2
        if any(severity_rank(f.severity) >= threshold for f in self.findings):
            return 1
        return 0

    def summary(self) -> str:
        """`"1 error, 2 warnings, 0 info in 3 files (4 models)"`."""
        counts = ", ".join(
            (_plural(self.errors, "error"), _plural(self.warnings, "warning"), _plural(self.infos, "info"))
        )
        if self.files:
            where = f"{_plural(len(self.files), 'file')} ({_plural(self.models, 'model')})"
        else:
            where = _plural(self.models, "model")
        return f"{counts} in {where}"

    def __len__(self) -> int:
        return len(self.findings)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.findings)

    def __getitem__(self, index: int) -> Finding:
        return self.findings[index]

    # -- text -------------------------------------------------------------------
    @staticmethod
    def location_text(finding: Finding) -> str:
        """`path:line:col`, `path:cell N:line:col`, `path`, or `<model name>`."""
        parts = [finding.path if finding.path is not None else f"<{finding.model or 'model'}>"]
        if finding.cell is not None:
            parts.append(f"cell {finding.cell}")
        if finding.line is not None:
            parts.append(str(finding.line))
            if finding.column is not None:
                parts.append(str(finding.column))
        return ":".join(parts)

    def format_finding(self, finding: Finding, *, color: bool = False) -> str:
        """One finding as text: its line, then an indented `fix:` line when it has one."""
        location = self.location_text(finding)
        code = finding.code
        if color:
            location = f"{_ANSI_BOLD}{location}{_ANSI_RESET}"
            code = f"{_ANSI_BOLD}{_ANSI[finding.severity]}{code}{_ANSI_RESET}"
        layer = f" [{finding.layer}]" if finding.layer else ""
        text = f"{location}: {code}{layer} {finding.message}"
        if finding.fix:
            fix = f"fix: {finding.fix}"
            text += "\n    " + (f"{_ANSI_DIM}{fix}{_ANSI_RESET}" if color else fix)
        return text

    def format_text(self, *, color: bool = False) -> str:
        """The text form: each finding, then the summary line.

        Args:
            color: colour the codes by severity with ANSI escapes.
        """
        lines = [self.format_finding(f, color=color) for f in self.findings]
        summary = self.summary()
        if color:
            worst = next((s for s in reversed(SEVERITIES) if self._count(s)), None)
            if worst is not None:
                summary = f"{_ANSI_BOLD}{_ANSI[worst]}{summary}{_ANSI_RESET}"
        lines.append(summary)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format_text(color=False)

    def __repr__(self) -> str:
        return f"<Report: {self.summary()}>"

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        """IPython's terminal display: the text form."""
        printer.text(repr(self) if cycle else self.format_text(color=False))

    # -- HTML -------------------------------------------------------------------
    def _repr_html_(self) -> str:
        """A table for notebooks: severity, code, location, layer, message, fix."""
        esc = html.escape
        cell = 'style="text-align:left; vertical-align:top; padding:2px 8px"'
        rows = []
        for f in self.findings:
            colour = _CSS[f.severity]
            rows.append(
                "<tr>"
                f'<td {cell}><span style="color:{colour}; font-weight:bold">{esc(f.severity)}</span></td>'
                f"<td {cell}><code>{esc(f.code)}</code></td>"
                f"<td {cell}><code>{esc(self.location_text(f))}</code></td>"
                f"<td {cell}>{esc(f.layer or '')}</td>"
                f"<td {cell}>{esc(f.message)}</td>"
                f"<td {cell}>{esc(f.fix)}</td>"
                "</tr>"
            )
        summary = f"<p><b>stacked-keras lint</b>: {esc(self.summary())}</p>"
        if not rows:
            return f'<div class="stacked-keras-report">{summary}</div>'
        header = "".join(
            f"<th {cell}>{name}</th>"
            for name in ("severity", "code", "location", "layer", "message", "fix")
        )
        return (
            '<div class="stacked-keras-report">'
            f"{summary}<table><thead><tr>{header}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )

    # -- JSON ---------------------------------------------------------------------
    def to_dicts(self) -> list[dict[str, Any]]:
        """The findings as dicts with every field: code, name, severity,
        message, fix, path, line, column, layer, cell, model."""
        return [f.to_dict() for f in self.findings]

    def to_json(self, *, indent: int | None = 2) -> str:
        """The findings as a JSON list of objects (see `to_dicts`)."""
        return json.dumps(self.to_dicts(), indent=indent)

    # -- SARIF --------------------------------------------------------------------
    def to_sarif_dict(self, *, base: str | os.PathLike[str] | None = None) -> dict[str, Any]:
        """The report as a SARIF 2.1.0 log (a dict ready for `json.dumps`).

        One run, whose driver lists every rule (id, name, descriptions, help
        from the rule's page, default level) and whose results point at the
        rule by `ruleId` and `ruleIndex`. Artifact URIs are relative to `base`
        with `/` separators, under the `%SRCROOT%` base id.

        A notebook finding's artifact is the `.ipynb` file itself, a JSON
        document, so its region points into that text: `startLine` and
        `startColumn` are where the cell's source line sits in the file (the
        element of the cell's `source` list, or the place inside its
        `source` string, past JSON escapes). The result's properties keep
        `cell` (1-based, markdown included), `cellLine` and `cellColumn`, as
        the text report shows them. When the notebook cannot be read back
        (moved, changed, not JSON) the location has no region, since SARIF
        requires a region to give a start.

        Args:
            base: the directory URIs are relative to; the working directory
                by default. Files outside it get absolute `file://` URIs.
        """
        from stacked_keras.lint.rules import RULES

        base_path = Path(os.path.abspath(base if base is not None else os.getcwd()))
        codes = list(RULES)
        rules = []
        for code in codes:
            rule = RULES[code]
            rules.append({
                "id": code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "fullDescription": {"text": rule.summary, "markdown": rule.doc},
                "help": {"text": rule.doc, "markdown": rule.doc},
                "defaultConfiguration": {"level": sarif_level(rule.severity)},
                "properties": {"fixable": bool(rule.fixable)},
            })
        # A finding whose code is not in the catalogue still gets a rule entry.
        for finding in self.findings:
            if finding.code not in codes:
                codes.append(finding.code)
                rules.append({
                    "id": finding.code,
                    "name": finding.name,
                    "shortDescription": {"text": finding.name},
                    "defaultConfiguration": {"level": sarif_level(finding.severity)},
                })
        notebooks = _NotebookLines()
        results = []
        for finding in self.findings:
            text = finding.message if not finding.fix else f"{finding.message} {finding.fix}"
            result: dict[str, Any] = {
                "ruleId": finding.code,
                "ruleIndex": codes.index(finding.code),
                "level": sarif_level(finding.severity),
                "message": {"text": text},
            }
            if finding.path is not None:
                physical: dict[str, Any] = {"artifactLocation": _artifact_location(finding.path, base_path)}
                if finding.line is not None and finding.cell is None:
                    region: dict[str, Any] = {"startLine": max(1, int(finding.line))}
                    if finding.column is not None:
                        region["startColumn"] = max(1, int(finding.column))
                    physical["region"] = region
                elif finding.line is not None:
                    place = notebooks.locate(finding.path, finding.cell, finding.line, finding.column or 1)
                    if place is not None:
                        region = {"startLine": place[0]}
                        if finding.column is not None:
                            region["startColumn"] = place[1]
                        physical["region"] = region
                result["locations"] = [{"physicalLocation": physical}]
            in_cell = finding.cell is not None
            properties = {
                key: value
                for key, value in (
                    ("cell", finding.cell),
                    ("cellLine", finding.line if in_cell else None),
                    ("cellColumn", finding.column if in_cell else None),
                    ("layer", finding.layer),
                    ("model", finding.model),
                )
                if value is not None
            }
            if properties:
                result["properties"] = properties
            results.append(result)
        return {
            "$schema": SARIF_SCHEMA,
            "version": "2.1.0",
            "runs": [{
                "tool": {"driver": {
                    "name": _TOOL_NAME,
                    "version": __version__,
                    "semanticVersion": __version__,
                    "rules": rules,
                }},
                "originalUriBaseIds": {"%SRCROOT%": {"uri": base_path.as_uri().rstrip("/") + "/"}},
                "columnKind": "unicodeCodePoints",
                "results": results,
            }],
        }

    def to_sarif(self, *, base: str | os.PathLike[str] | None = None, indent: int | None = 2) -> str:
        """The report as SARIF 2.1.0 JSON text (see `to_sarif_dict`)."""
        return json.dumps(self.to_sarif_dict(base=base), indent=indent)


def _artifact_location(path: str, base: Path) -> dict[str, Any]:
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(base)
    except ValueError:
        return {"uri": absolute.as_uri()}
    return {"uri": quote(PurePath(relative).as_posix()), "uriBaseId": "%SRCROOT%"}


# -- notebook lines in the .ipynb file ---------------------------------------------

_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _SourceText(str):
    """A JSON string value that remembers where its text starts and ends in the file.

    `start` is the offset of its first character (after the opening quote)
    and `end` the offset of the closing quote, in the file's text.
    """

    start: int
    end: int


def _scan_string(text: str, begin: int, strict: bool) -> tuple[str, int]:
    value, after = json.decoder.scanstring(text, begin, strict)
    located = _SourceText(value)
    located.start, located.end = begin, after - 1
    return located, after


class _LocatingDecoder(json.JSONDecoder):
    """A JSON decoder whose string values (not keys) are `_SourceText`s."""

    def __init__(self) -> None:
        super().__init__()
        self.parse_string = _scan_string
        self.scan_once = json.scanner.py_make_scanner(self)


def _raw_offset(text: str, piece: _SourceText, index: int) -> int | None:
    """The offset in `text` of character `index` of a JSON string's value.

    Walks the string's raw text, where an escape (`\\n`, `\\"`, `\\u00e9`,
    a `\\ud83d\\ude00` surrogate pair) stands for one character.
    """
    position, count = piece.start, 0
    while count < index:
        if position >= piece.end:
            return None
        if text[position] != "\\":
            position += 1
        elif text[position + 1] != "u":
            position += 2
        else:
            high = int(text[position + 2:position + 6], 16)
            pair = 0xD800 <= high < 0xDC00 and text[position + 6:position + 8] == "\\u" and \
                0xDC00 <= int(text[position + 8:position + 12], 16) < 0xE000
            position += 12 if pair else 6
        count += 1
    return position


class _NotebookLines:
    """Maps (cell, line, column) of a notebook finding to (line, column) in the .ipynb file.

    Lines inside a cell are counted as the linter counts them (only
    `\\r\\n`, `\\r` and `\\n` end one); lines and columns of the file as
    SARIF counts them (columns in Unicode code points). Each notebook is read
    and scanned once.
    """

    def __init__(self) -> None:
        self._cache: dict[str, tuple[str, list[Any]] | None] = {}

    def _read(self, path: str) -> tuple[str, list[Any]] | None:
        if path not in self._cache:
            try:
                with open(path, encoding="utf-8") as handle:
                    text = handle.read()
                start = 1 if text.startswith("\ufeff") else 0  # a byte-order mark is no JSON
                start = json.decoder.WHITESPACE.match(text, start).end()
                document, _ = _LocatingDecoder().raw_decode(text, start)
                cells = document.get("cells") if isinstance(document, dict) else None
                self._cache[path] = (text, cells) if isinstance(cells, list) else None
            except (OSError, UnicodeDecodeError, ValueError, RecursionError):
                self._cache[path] = None
        return self._cache[path]

    def locate(self, path: str, cell: int, line: int, column: int) -> tuple[int, int] | None:
        """The 1-based (line, column) in the file, or None when it cannot be known."""
        read = self._read(path)
        if read is None or not 0 < cell <= len(read[1]) or line < 1 or column < 1:
            return None
        text, cells = read
        entry = cells[cell - 1]
        source = entry.get("source") if isinstance(entry, dict) else None
        pieces = [source] if isinstance(source, str) else source
        if not isinstance(pieces, list) or not all(isinstance(p, _SourceText) for p in pieces):
            return None
        # Where the wanted character sits in the cell's source, joined.
        joined = "".join(pieces)
        starts = [0] + [match.end() for match in _LINE_BREAK.finditer(joined)]
        if line > len(starts):
            return None
        wanted = starts[line - 1] + column - 1
        line_end = starts[line] if line < len(starts) else len(joined)
        if wanted > line_end or wanted > len(joined):
            return None
        # Which source piece holds it, and where that is in the file.
        before = 0
        for piece in pieces:
            if wanted < before + len(piece) or (piece is pieces[-1] and wanted == before + len(piece)):
                offset = _raw_offset(text, piece, wanted - before)
                break
            before += len(piece)
        else:
            return None
        if offset is None:
            return None
        breaks = list(_LINE_BREAK.finditer(text, 0, offset))
        line_start = breaks[-1].end() if breaks else 0
        return len(breaks) + 1, offset - line_start + 1

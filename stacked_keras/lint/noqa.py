"""`# noqa` comments: which findings a source line suppresses.

A `# noqa: SK101` comment on a finding's line drops that finding (a bare
`# noqa` drops any code). Lines are read through the one file reader and the
one notebook reader, so a cell's line numbers are the ones a user sees.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from stacked_keras.lint.discovery import SOURCE_SUFFIXES
from stacked_keras.lint.files import read_text_file
from stacked_keras.lint.findings import Finding, UnreadableInput
from stacked_keras.lint.notebooks import code_cell_sources

__all__ = ["noqa_codes"]

_NOQA = re.compile(
    r"#\s*noqa(?P<colon>\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?",
    re.IGNORECASE,
)


def noqa_codes(line: str) -> tuple[str, ...] | None:
    """The codes a `# noqa` comment on `line` suppresses.

    Returns:
        None when the line has no `# noqa`; an empty tuple for a bare
        `# noqa` (everything suppressed); otherwise the codes or prefixes
        listed (`# noqa: SK101, SK2` gives `("SK101", "SK2")`).

    Example:

    >>> noqa_codes("x = LSTM(8)(x)  # noqa: SK101")
    ('SK101',)
    """
    match = _NOQA.search(line)
    if match is None:
        return None
    if not match.group("codes"):
        return ()
    return tuple(code.upper() for code in re.split(r"[\s,]+", match.group("codes")) if code)


def _code_matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(pattern) for pattern in patterns)


def _python_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (only \\r\\n, \\r and \\n end a line).

    `str.splitlines` also splits on form feeds and Unicode line separators,
    which would put a `# noqa` on the wrong line.
    """
    return re.split(r"\r\n|\r|\n", text)


def _source_line(path: str, cell: int | None, line: int, cache: dict[tuple[str, int | None], list[str]]) -> str:
    key = (path, cell)
    if key not in cache:
        try:
            text = read_text_file(path)[0]
            if cell is None:
                cache[key] = _python_lines(text)
            else:
                source = code_cell_sources(text, path).get(cell)
                cache[key] = _python_lines(source) if source is not None else []
        except UnreadableInput:
            cache[key] = []
    lines = cache[key]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _without_noqa(findings: list[Finding]) -> list[Finding]:
    """Drops the findings whose line carries a `# noqa` naming their code."""
    cache: dict[tuple[str, int | None], list[str]] = {}
    kept = []
    for finding in findings:
        path = finding.path
        if path is not None and finding.line is not None and os.path.splitext(path)[1].lower() in SOURCE_SUFFIXES:
            codes = noqa_codes(_source_line(path, finding.cell, finding.line, cache))
            if codes is not None and (not codes or _code_matches(finding.code, codes)):
                continue
        kept.append(finding)
    return kept

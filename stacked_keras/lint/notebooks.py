"""The one notebook reader of the linter: a notebook's code cells as IPython runs them.

Reads nbformat 4 (`cells` with `source`) and nbformat 3 (`worksheets` of
`cells` with `input`) layouts. Cells are numbered as a user counts them in
Jupyter: every cell (markdown and raw too), 1-based. IPython syntax is
cleaned before a cell is parsed, each line keeping its line number: `%`
line magics, `!` shell lines and `?`/`??` help lines become `pass` (same
indentation), `%time stmt`/`%timeit stmt` keep their statement, and a cell
starting with a `%%` cell magic is skipped unless the magic runs its body as
Python (`PYTHON_CELL_MAGICS`).

Example:

>>> import json
>>> program = notebook_program(json.dumps({"cells": [
...     {"cell_type": "markdown", "source": "# title"},
...     {"cell_type": "code", "source": "%matplotlib inline\\nimport keras"},
... ]}))
>>> program.cell_starts, program.lines
([(1, 2)], ['pass', 'import keras'])
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass

from stacked_keras.lint.findings import UnreadableInput
from stacked_keras.lint.parsing import NEWLINE, parser_failure, syntax_error

__all__ = ["PYTHON_CELL_MAGICS", "NotebookProgram", "notebook_program", "cell_python", "parse_cell"]

# Cell magics whose body is Python run by IPython; any other `%%` magic
# (`%%bash`, `%%writefile`, `%%html`, ...) makes the whole cell skipped.
PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "tensorflow_version"})



@dataclass(frozen=True)
class NotebookProgram:
    """A notebook's code cells joined into one program.

    Args:
        modules: the parsed code cells, in order; their line numbers are
            shifted so that all cells share one line space.
        lines: the joined lines (magic lines blanked), for column conversion.
        cell_starts: `(first_line, cell_number)` for each code cell, where
            `cell_number` counts every cell of the notebook, 1-based.
        sources: `cell_number -> (cell dict, original source text)`; the cell
            dicts belong to `document`.
        document: the parsed notebook JSON.
    """

    modules: list[ast.Module]
    lines: list[str]
    cell_starts: list[tuple[int, int]]
    sources: dict[int, tuple[dict, str]]
    document: dict


_MAGIC_ASSIGNMENT = re.compile(r"^\s*[\w.]+(\s*,\s*[\w.]+)*\s*=\s*[!%]")
_HELP_LINE = re.compile(r"^\s*[\w.()\[\]]+\?{1,2}\s*$")
# `%time stmt` / `%timeit -n 1 -r 3 stmt`: the magic and its options, up to the statement.
_TIMED_STATEMENT = re.compile(r"^(\s*)(%(?:time|timeit)(?:\s+-[a-zA-Z]+(?:\s*\d+)?)*\s+)(?=[^\s#])")


def _without_magics(text: str, keep_timed: bool = True) -> str:
    """Replaces IPython line magics, shell escapes and help lines with `pass`, keeping the indentation.

    With `keep_timed`, a `%time`/`%timeit` line magic followed by a statement
    keeps the statement where it is: the magic (and its options) becomes
    `if 1:` padded to the same width, so that columns do not move and the
    line parses at any indentation.
    """
    lines = NEWLINE.split(text)
    changed = False
    for index, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith(("%", "!", "?")) or _HELP_LINE.match(line) or _MAGIC_ASSIGNMENT.match(line):
            indent = line[:len(line) - len(line.lstrip())]
            timed = _TIMED_STATEMENT.match(line) if keep_timed else None
            if timed is not None:
                lines[index] = indent + "if 1:".ljust(len(timed.group(2))) + line[timed.end():]
            else:
                lines[index] = indent + "pass"
            changed = True
    return "\n".join(lines) if changed else text


def _parse_cell(program: str, where: str, number: int) -> tuple[ast.Module, str]:
    """Parses one code cell, IPython syntax removed; returns the module and the text parsed.

    Raises:
        UnreadableInput: SK002 naming the cell when it does not parse.
    """
    try:
        return _parse_as_ipython(program), program
    except SyntaxError as error:
        first_error = error
    except (ValueError, RecursionError, MemoryError) as error:
        raise parser_failure(error, where, number) from None
    cleaned = program
    for keep_timed in (True, False):
        attempt = _without_magics(program, keep_timed)
        if attempt == program or attempt == cleaned:
            continue
        cleaned = attempt
        try:
            return _parse_as_ipython(cleaned), cleaned
        except SyntaxError as error:
            first_error = error
        except (ValueError, RecursionError, MemoryError) as error:
            raise parser_failure(error, where, number) from None
    raise syntax_error(first_error, where, number)


def _parse_as_ipython(program: str) -> ast.Module:
    """Parses a cell; one whose code starts indented is read as IPython runs it.

    IPython removes the leading indent of a cell's first line from its
    lines before running it. Parsing the unchanged text as the body of an
    `if 1:` block accepts the same cells and keeps every line and column
    where it is in the cell.

    Raises:
        SyntaxError: the cell does not parse either way (the error of the
            text as written).
    """
    try:
        return ast.parse(program)
    except SyntaxError as error:
        first_code = next((line for line in NEWLINE.split(program)
                           if line.strip() and not line.lstrip().startswith("#")), "")
        if not first_code[:1].isspace():
            raise
        written_error = error
    try:
        wrapped = ast.parse("if 1:\n" + program)
    except SyntaxError:
        raise written_error from None
    module = ast.Module(body=wrapped.body[0].body, type_ignores=[])
    ast.increment_lineno(module, -1)
    return module


def _notebook_cells(text: str, where: str) -> tuple[dict, list[tuple[int, dict, str]]]:
    """The parsed notebook and its code cells as `(cell_number, cell, source)`."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise UnreadableInput(
            "SK003", f"{where} is not a notebook: invalid JSON ({error}); save it again from Jupyter",
        ) from None
    if not isinstance(document, dict):
        raise UnreadableInput("SK003", f"{where} is not a notebook: the JSON is not an object with `cells`")
    if "cells" in document:
        cells = document["cells"]
        source_key = "source"
    elif isinstance(document.get("worksheets"), list):
        cells = [cell for sheet in document["worksheets"] if isinstance(sheet, dict)
                 for cell in (sheet.get("cells") or [])]
        source_key = "input"
    else:
        raise UnreadableInput("SK003", f"{where} is not a notebook: it has no `cells` list")
    if not isinstance(cells, list):
        raise UnreadableInput("SK003", f"{where} is not a notebook: `cells` is {type(cells).__name__}, not a list")
    metadata = document.get("metadata") if isinstance(document.get("metadata"), dict) else {}
    language = None
    if isinstance(metadata.get("kernelspec"), dict):
        language = metadata["kernelspec"].get("language")
    if language is None and isinstance(metadata.get("language_info"), dict):
        language = metadata["language_info"].get("name")
    if isinstance(language, str) and language.lower() not in ("python", "python3", "ipython"):
        return document, []
    found = []
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict):
            raise UnreadableInput("SK003", f"{where} is not a notebook: cell {number} is not an object")
        if cell.get("cell_type") != "code":
            continue
        source = cell.get(source_key, "")
        if isinstance(source, list) and all(isinstance(piece, str) for piece in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise UnreadableInput(
                "SK003", f"{where} is not a notebook: cell {number} has a `{source_key}` that is not text")
        found.append((number, cell, source))
    return document, found


def code_cell_sources(text: str, where: str = "<notebook>") -> dict[int, str]:
    """The source of each code cell, by its 1-based number among all cells.

    Reads nbformat 4 (`cells`) and nbformat 3 (`worksheets`) alike, as the
    front-end does; `# noqa` comments and SARIF snippets read it too.

    Raises:
        UnreadableInput: SK003 for a file that is not a notebook.
    """
    return {number: source for number, _, source in _notebook_cells(text, where)[1]}


def cell_python(source: str) -> str | None:
    """The Python text of a code cell, or None for a cell that a non-Python cell magic runs.

    A cell starting with a cell magic that runs its body as Python
    (`%%time`, `%%timeit`, `%%capture`, ...) keeps its body, the magic's line
    left blank so that line numbers do not move; any other cell magic
    (`%%bash`, `%%writefile`, ...) gives None.
    """
    if not source.lstrip().startswith("%%"):
        return source
    first, _, rest = source.lstrip().partition("\n")
    magic = first[2:].split(None, 1)[0] if first[2:].strip() else ""
    if magic not in PYTHON_CELL_MAGICS:
        return None
    offset = source.index(first)
    return source[:offset] + "\n" + rest if rest else source[:offset]


def parse_cell(source: str, where: str, number: int) -> ast.Module | None:
    """Parses one code cell as `notebook_program` does; None for a cell a non-Python magic runs.

    Raises:
        UnreadableInput: SK002 naming the cell when it does not parse.
    """
    program = cell_python(source)
    return None if program is None else _parse_cell(program, where, number)[0]


def notebook_program(text: str, path: str | None = None, *,
                     problems: list[UnreadableInput] | None = None) -> NotebookProgram:
    """Parses a notebook's code cells into one program (see `NotebookProgram`).

    Line magics (`%matplotlib inline`), shell escapes (`!pip install ...`,
    `files = !ls`) and help lines (`LSTM?`) become `pass` (same indentation);
    `%time stmt` and `%timeit stmt` keep their statement; a cell starting
    with a cell magic is skipped unless the magic runs its body as Python
    (`%%time`, `%%timeit`, `%%capture`, `%%prun`, `%%debug`).

    Args:
        text: the notebook's JSON text.
        path: the file as the user gave it, for messages.
        problems: when a list, a code cell that does not parse is left out
            of the program (Jupyter would still run the others) and its SK002
            `UnreadableInput` is appended here; when None, the first such
            cell raises.

    Raises:
        UnreadableInput: SK003 for a file that is not a notebook, SK002
            (naming the cell) for a code cell that does not parse, unless
            `problems` collects it.
    """
    where = path or "<notebook>"
    modules: list[ast.Module] = []
    lines: list[str] = []
    cell_starts: list[tuple[int, int]] = []
    sources: dict[int, tuple[dict, str]] = {}
    document, cells = _notebook_cells(text, where)
    for number, cell, source in cells:
        sources[number] = (cell, source)
        program = cell_python(source)
        if program is None:
            continue
        try:
            module, program = _parse_cell(program, where, number)
        except UnreadableInput as problem:
            if problems is None:
                raise
            problems.append(problem)
            continue
        cell_lines = NEWLINE.split(program)
        start = len(lines) + 1
        if start > 1:
            ast.increment_lineno(module, start - 1)
        cell_starts.append((start, number))
        lines.extend(cell_lines)
        modules.append(module)
    return NotebookProgram(modules, lines, cell_starts, sources, document)

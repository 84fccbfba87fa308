"""Parsing Python for the linter: line splitting and the SK002 errors of a source that does not parse.

The source front-end and the notebook reader both parse with `ast`; this
module gives them one way to split lines (the way Python's tokenizer counts
them) and one wording for the SK002 `UnreadableInput` of a syntax error or of
a source Python's parser refuses (nested too deeply).

Example:

>>> split_lines("a = 1\\r\\nb = 2")
['a = 1', 'b = 2']
>>> try:
...     parse_python("def broken(:", "model.py")
... except Exception as error:
...     print(error.code, error.line)
SK002 1
"""

from __future__ import annotations

import ast
import re

from stacked_keras.lint.findings import UnreadableInput

__all__ = ["NEWLINE", "split_lines", "syntax_error", "parser_failure", "parse_python"]

# What ends a line for Python's tokenizer.
NEWLINE = re.compile(r"\r\n|\r|\n")


def split_lines(text: str) -> list[str]:
    """The lines as Python's tokenizer counts them (`\\r\\n`, `\\r` and `\\n` end a line)."""
    return NEWLINE.split(text)


def syntax_error(error: SyntaxError, where: str, cell: int | None = None) -> UnreadableInput:
    line = error.lineno
    column = error.offset if error.offset and error.offset > 0 else None
    place = f"{where}" + (f", cell {cell}" if cell is not None else "") + (f", line {line}" if line else "")
    return UnreadableInput(
        "SK002",
        f"{place}: {error.msg}; fix the syntax error so the file can be linted",
        line=line, column=column, cell=cell,
    )


def parser_failure(error: Exception, where: str, cell: int | None = None) -> UnreadableInput:
    """SK002 for a source that `ast.parse` refuses without a syntax error.

    Python's parser gives up on expressions nested too deeply (thousands of
    unary operators, a chain of `+` long enough) with a `MemoryError` or a
    `RecursionError`, often with no message at all: say what happened.
    """
    place = where + (f", cell {cell}" if cell is not None else "")
    if isinstance(error, (RecursionError, MemoryError)):
        return UnreadableInput(
            "SK002",
            f"{place}: the expressions are nested too deeply for Python's parser ({type(error).__name__}); "
            "split them into smaller ones so the file can be linted",
            cell=cell,
        )
    return UnreadableInput(
        "SK002", f"{place}: Python cannot parse this source ({error}); fix it so the file can be linted", cell=cell,
    )


def parse_python(text: str, where: str, cell: int | None = None) -> ast.Module:
    try:
        return ast.parse(text)
    except SyntaxError as error:
        raise syntax_error(error, where, cell) from None
    except (ValueError, RecursionError, MemoryError) as error:
        raise parser_failure(error, where, cell) from None

"""What the linter reports: one `Finding` per problem, with its severity.

Plain data, no TensorFlow. The rules (`rules.py`) and the front-ends (for
unreadable inputs, SK0xx) create findings; `report.py` formats them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

__all__ = ["Severity", "Finding", "SEVERITIES", "severity_rank", "UnreadableInput"]


class Severity:
    """The three severities, in increasing order."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


SEVERITIES = (Severity.INFO, Severity.WARNING, Severity.ERROR)


def severity_rank(severity: str) -> int:
    """0 for info, 1 for warning, 2 for error.

    Raises:
        ValueError: for any other string, naming the accepted values.
    """
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ValueError(
            f"severity must be one of {', '.join(SEVERITIES)}, got {severity!r}"
        ) from None


@dataclass(frozen=True)
class Finding:
    """One problem found in one model.

    Args:
        code: the rule code (`"SK101"`).
        name: the rule's name (`"broken-vertical-connection"`).
        severity: `"error"`, `"warning"` or `"info"`.
        message: one sentence on what is wrong.
        fix: one sentence on how to fix it.
        path: the file as the user gave it, or None for a live model.
        line: 1-based line of the layer call to change (in the cell for
            notebooks), when known.
        column: 1-based column, when known.
        layer: the name of the layer to change.
        cell: 1-based index of the notebook cell (every cell counts,
            markdown included), for notebooks.
        model: the name of the model the finding belongs to.
    """

    code: str
    name: str
    severity: str
    message: str
    fix: str = ""
    path: str | None = None
    line: int | None = None
    column: int | None = None
    layer: str | None = None
    cell: int | None = None
    model: str | None = None

    def __post_init__(self) -> None:
        severity_rank(self.severity)

    def to_dict(self) -> dict[str, Any]:
        """The finding as a JSON-ready dict (every field, None included)."""
        return asdict(self)

    def with_location(self, **changes: Any) -> "Finding":
        """A copy with some fields changed (path, line, ...)."""
        return replace(self, **changes)


class UnreadableInput(Exception):
    """Raised by a front-end for an input it cannot read.

    `lint()` turns it into one SK0xx finding for that file and goes on with the
    other files. Codes:

    - SK001 unreadable-file: the file cannot be opened or decoded (I/O error,
      not UTF-8, unknown file kind, a directory with nothing to lint).
    - SK002 syntax-error: Python source (or a notebook cell) does not parse.
    - SK003 malformed-notebook: not a notebook (bad JSON, no `cells`).
    - SK004 malformed-config: not a Keras model config (bad JSON, missing or
      mistyped keys, cycles or dangling references in a functional graph).
    - SK005 archive-refused: a `.keras` or `.h5` file that is corrupt,
      truncated, over a size limit, or holds no model config.

    Args:
        code: one of the codes above.
        message: what is wrong, naming the file's problem and the fix.
        line: 1-based line, when the problem has one.
        column: 1-based column, when known.
        cell: 1-based notebook cell (every cell counts), for notebooks.
    """

    def __init__(self, code: str, message: str, *, line: int | None = None,
                 column: int | None = None, cell: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.line = line
        self.column = column
        self.cell = cell

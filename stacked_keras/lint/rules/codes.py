"""Every rule code, registered once: name, severity, summary, fixable.

Settings (`select`/`ignore` checks), report formatting and the rule checks
all read this table; importing it runs no check and reads no graph.
"""

from __future__ import annotations

from dataclasses import dataclass

from stacked_keras.lint.findings import Severity

__all__ = ["CODES", "INPUT_FIXES", "RuleCode"]


@dataclass(frozen=True)
class RuleCode:
    """One rule code and what is said about it everywhere.

    Args:
        code: the rule code (`"SK101"`); it never changes meaning.
        name: the rule's kebab-case name.
        severity: the default severity of its findings.
        summary: one line saying what the rule finds.
        fixable: whether the fixers repair its findings.
    """

    code: str
    name: str
    severity: str
    summary: str
    fixable: bool = False


CODES: dict[str, RuleCode] = {
    entry.code: entry
    for entry in (
        RuleCode("SK001", "unreadable-file", Severity.ERROR,
                 "The file cannot be opened or decoded, or a directory holds nothing to lint."),
        RuleCode("SK002", "syntax-error", Severity.ERROR,
                 "Python source or a notebook cell does not parse."),
        RuleCode("SK003", "malformed-notebook", Severity.ERROR,
                 "A .ipynb file is not a notebook (bad JSON, no cells)."),
        RuleCode("SK004", "malformed-config", Severity.ERROR,
                 "A model config cannot be read (bad JSON, missing keys, broken graph)."),
        RuleCode("SK005", "archive-refused", Severity.ERROR,
                 "A .keras or .h5 file is corrupt, too large, or holds no model config."),
        RuleCode("SK006", "wiring-not-visible", Severity.INFO,
                 "A model's layers are wired in code the linter does not run (a subclassed Model)."),
        RuleCode("SK101", "broken-vertical-connection", Severity.ERROR,
                 "A recurrent layer that returns one vector feeds another recurrent layer.",
                 fixable=True),
        RuleCode("SK102", "sequence-into-per-sample-head", Severity.WARNING,
                 "The top recurrent layer returns sequences and a Dense head reads them directly."),
        RuleCode("SK103", "fabricated-time-axis", Severity.ERROR,
                 "A recurrent layer's last state is reshaped into a sequence for another one."),
        RuleCode("SK201", "deep-simple-rnn", Severity.WARNING,
                 "Two or more SimpleRNN layers are stacked."),
        RuleCode("SK202", "cudnn-ineligible", Severity.INFO,
                 "An LSTM or GRU layer's settings keep it off the cuDNN kernel."),
        RuleCode("SK203", "unregularized-deep-stack", Severity.INFO,
                 "Three or more stacked recurrent layers and no dropout or regularization."),
    )
}

# How to fix each unreadable input, for `input_finding`.
INPUT_FIXES = {
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



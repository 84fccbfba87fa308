"""The rules of the stacked-keras linter: re-exports only.

One module per rule, ruff-style, each holding its code (`CODE`), its page
(`PAGE`) and its check (`check(view)`): `wiring_not_visible` (SK006),
`broken_vertical_connection` (SK101), `sequence_into_per_sample_head` (SK102),
`fabricated_time_axis` (SK103), `deep_simple_rnn` (SK201), `cudnn_ineligible`
(SK202), `unregularized_deep_stack` (SK203); `unreadable_input` holds the pages
of SK001-SK005, which front-ends raise rather than check. `codes.py` registers
each code once (importable without the checks), `registry.py` gathers the rule
modules into `RULES` and runs them, `finding_builder.py` says how findings name
layers.

The names below load on first use, so `from stacked_keras.lint.rules.codes
import CODES` (settings, report formatting) imports no check.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__all__ = ["Rule", "RULES", "check", "input_finding", "rule_page", "rules_table", "selected_rules"]

# name -> the module that defines it
_EXPORTS = {
    "Rule": "registry",
    "RULES": "registry",
    "check": "registry",
    "input_finding": "registry",
    "rule_page": "registry",
    "rules_table": "registry",
    "selected_rules": "registry",
    "_cudnn_fix": "cudnn_ineligible",
}


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))

"""The rules of the stacked-keras linter: re-exports only.

`codes.py` registers each code once (importable without the checks),
`pages.py` holds the pages, `checks.py` the checks and public functions,
`sequence_head.py` SK102, `finding_builder.py` how findings name layers.
"""

from stacked_keras.lint.rules.checks import (  # noqa: F401
    RULES,
    Rule,
    _cudnn_fix,
    check,
    input_finding,
    rule_page,
    rules_table,
    selected_rules,
)

__all__ = ["Rule", "RULES", "check", "input_finding", "rule_page", "rules_table", "selected_rules"]

"""The linter: finds broken vertical connections in stacked recurrent models.

`lint(obj)` reads Python source, notebooks, saved model files and config dicts
as data (no TensorFlow, no Keras, nothing executed) and live `keras.Model`s,
turns each model into a `ModelGraph`, runs the rules on it and returns a
`Report`. `fix(model)` returns a corrected copy of a live model, and
`LintCallback` lints a model when `fit` starts; both load Keras on first use.

This module holds re-exports only: `runner.py` is what `lint()` does,
`discovery.py` which files it reads, `noqa.py` the `# noqa` comments,
`rules/` the rules, `from_source.py`, `from_config.py` and `from_model.py`
the front-ends.

`stacked_keras.lint` is both this package and the `lint` function: calling the
package calls `lint`, so `stacked_keras.lint("models/")` works however the
package was imported (importing a submodule such as
`stacked_keras.lint.findings` binds the package to `stacked_keras.lint`,
where the public API promises the function).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from stacked_keras.lint.discovery import SAVED_SUFFIXES, SOURCE_SUFFIXES, discover_files
from stacked_keras.lint.findings import Finding
from stacked_keras.lint.noqa import noqa_codes
from stacked_keras.lint.report import Report
from stacked_keras.lint.runner import fix, lint
from stacked_keras.lint.settings import LintSettings, SettingsError

__all__ = [
    "lint",
    "fix",
    "Report",
    "Finding",
    "LintCallback",
    "LintSettings",
    "SettingsError",
    "discover_files",
    "noqa_codes",
    "SOURCE_SUFFIXES",
    "SAVED_SUFFIXES",
]


def __getattr__(name: str) -> Any:
    # `LintCallback` subclasses keras.callbacks.Callback: load it (and Keras)
    # only when asked for.
    if name in ("LintCallback", "LintError"):
        from stacked_keras.lint import callback

        return getattr(callback, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class _LintPackage(types.ModuleType):
    """The `stacked_keras.lint` package, callable as the `lint` function.

    Importing a submodule (`stacked_keras.lint.findings`) binds the package
    itself to `stacked_keras.lint`, where the public API promises the `lint`
    function; making the package callable keeps both working.
    """

    def __call__(self, obj: Any, **options: Any) -> Report:
        return lint(obj, **options)


sys.modules[__name__].__class__ = _LintPackage

"""`UNKNOWN`: the one value that stands for "not known without running the code".

The Python evaluator (`stacked_keras.lint.pyeval`) gives it to every value it
cannot work out statically, and the model graph (`stacked_keras.graph`)
keeps it in a layer's `config` when a front-end could not know a setting:
rules never report an error on it. It lives here, in a module that imports
nothing, so that the evaluator, which knows nothing of Keras, and the graph
share the same object.
"""

from __future__ import annotations

from typing import Any

__all__ = ["UNKNOWN"]


class _Unknown:
    """The value of a setting that cannot be known without running code."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # an unknown must never pass for True or False
        raise TypeError(
            "UNKNOWN has no truth value: compare with `is UNKNOWN` before using it"
        )

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

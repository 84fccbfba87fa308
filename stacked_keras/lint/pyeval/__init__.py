"""A Python evaluator that knows no library: abstract values, scopes, control flow, budgets.

`Evaluator` runs a program's statements over abstract values without
importing or executing anything of it, and calls out through a `Hooks`
object for everything that is not plain Python (imported modules and what
they give). The linter's source front-end
(`stacked_keras.lint.source_graph`) is one such set of hooks.

Modules: `values.py` (the abstract values and limits), `frames.py` (scopes,
frames, control-flow signals), `hooks.py` (the hooks interface),
`statements.py`, `control.py` (branches, loops and joins), `expressions.py`,
`calls.py`, and `evaluator.py` (the `Evaluator` that combines them).
"""

from stacked_keras.lint.pyeval.evaluator import Evaluator
from stacked_keras.lint.pyeval.frames import Frame, Loop, Scope
from stacked_keras.lint.pyeval.hooks import Hooks
from stacked_keras.lint.pyeval.values import (
    MAX_CALL_DEPTH,
    MAX_LITERAL,
    MAX_STEPS,
    MAX_UNIT_STEPS,
    MAX_UNROLL,
    MISSING,
    PLAIN,
    UNKNOWN,
    BoundMethod,
    Builtin,
    CallArgs,
    ClassValue,
    External,
    FunctionValue,
    MethodRef,
    ModuleRef,
    ObjectValue,
    UnknownLengthList,
)

__all__ = [
    "Evaluator", "Hooks", "Frame", "Loop", "Scope", "UNKNOWN", "MISSING", "PLAIN",
    "MAX_CALL_DEPTH", "MAX_LITERAL", "MAX_STEPS", "MAX_UNIT_STEPS", "MAX_UNROLL",
    "BoundMethod", "Builtin", "CallArgs", "ClassValue", "External", "FunctionValue", "MethodRef", "ModuleRef",
    "ObjectValue", "UnknownLengthList",
]

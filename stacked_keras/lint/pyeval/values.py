"""The abstract values of the Python evaluator, and the limits it works within.

A value the evaluator computes is either a plain Python value it could work
out (numbers, strings, None, lists, tuples, dicts, ranges of those), or one
of the classes below, or `UNKNOWN` (see `stacked_keras.unknown`) when it
cannot be known without running the code.

The classes model what a program is made of: the modules it imports
(`ModuleRef`), the builtins the evaluator knows (`Builtin`), lists of
unknown length (`UnknownLengthList`), the program's own functions, classes,
instances and methods (`FunctionValue`, `ClassValue`, `ObjectValue`,
`BoundMethod`, `MethodRef`), and the evaluated arguments of one call
(`CallArgs`). Values that the hooks create and own (see `Hooks`) subclass
`External`: the evaluator stores, joins and passes them on, and asks the
hooks whenever one is called, read, operated on or unpacked.
"""

from __future__ import annotations

import ast
import re
from typing import Any

from stacked_keras.unknown import UNKNOWN

__all__ = [
    "UNKNOWN", "MISSING", "PLAIN", "MAX_UNROLL", "MAX_CALL_DEPTH", "MAX_STEPS", "MAX_UNIT_STEPS", "MAX_LITERAL",
    "ModuleRef", "Builtin", "External", "UnknownLengthList", "FunctionValue", "BoundMethod", "ClassValue",
    "ObjectValue", "MethodRef", "CallArgs", "is_plain", "bounded", "truth", "is_literal_default", "same_value",
    "known_sequence", "dotted_name", "assigned_names", "bound_names",
]

# A loop with more iterations than this is analysed as a loop of unknown length.
MAX_UNROLL = 256
# Function calls are inlined up to this depth; deeper calls are calls the evaluator cannot follow.
MAX_CALL_DEPTH = 6
# Statements and calls evaluated for the program's own statements before the
# evaluator gives up on it, and for each function or class analysed on its
# own before that one analysis is abandoned.
MAX_STEPS = 100_000
MAX_UNIT_STEPS = 20_000
# Longest string or sequence the evaluator builds.
MAX_LITERAL = 10_000

# The `kind` of a class written in the program that no hook claimed (see `Hooks.class_kind`).
PLAIN = "other"

# A number of five digits or more in a format string: a width that could build a huge string.
HUGE_NUMBER = re.compile(r"\d{5,}")

PLAIN_SCALARS = (bool, int, float, str, type(None), complex, bytes)


class Missing:
    """A name not bound in one branch of an `if`."""


MISSING = Missing()


class ModuleRef:
    """A module, or a name inside one, reached through the program's imports.

    `path` is the dotted path as `Hooks.resolve_module` returned it.
    """

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path


class Builtin:
    """A Python builtin the evaluator knows (`range`, `len`, ...)."""

    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name


class External:
    """Base class of the values the hooks create and own.

    The evaluator never looks inside one: it binds, stores and joins it, and
    hands it back to the hooks when it is called, read (`.attr`, `[index]`),
    used with an operator or unpacked. `truth` is the value's truth value
    when tested (`if value:`): True, False, or None when it is not known.
    """

    __slots__ = ()
    truth: bool | None = True


class UnknownLengthList(list):
    """A list whose length is not known: each item is one that may occur."""


class FunctionValue:
    """A function or lambda written in the program.

    `owner` is the class whose body defines it (a method), or None; `called`
    says whether the program called it (functions never called are analysed
    on their own, see `Evaluator.run`).
    """

    __slots__ = ("node", "scope", "defaults", "kw_defaults", "name", "called", "owner")

    def __init__(self, node: Any, scope: Any, defaults: list[Any], kw_defaults: list[Any], owner: Any = None) -> None:
        self.node = node
        self.scope = scope
        self.defaults = defaults
        self.kw_defaults = kw_defaults
        self.name = getattr(node, "name", "<lambda>")
        self.called = False
        self.owner = owner


class BoundMethod:
    """A method of the program's own class, read from an instance (`self.build`)."""

    __slots__ = ("function", "receiver")

    def __init__(self, function: FunctionValue, receiver: Any) -> None:
        self.function = function
        self.receiver = receiver


class ClassValue:
    """A class written in the program.

    `kind` is what `Hooks.class_kind` made of its bases (`PLAIN` when no hook
    claimed it); `analysed` says whether the hooks analysed a class of
    another kind through its first instance; `fields` are the names a class
    body annotates (the fields of a dataclass, when `decorated`).
    """

    __slots__ = ("node", "name", "bases", "namespace", "kind", "analysed", "fields", "decorated")

    def __init__(self, node: ast.ClassDef, bases: list[Any], kind: str) -> None:
        self.node = node
        self.name = node.name
        self.bases = bases
        self.namespace: dict[str, Any] = {}
        self.kind = kind
        self.analysed = False
        self.fields: list[str] = []
        self.decorated = bool(node.decorator_list)

    def lookup(self, name: str, depth: int = 0) -> Any:
        """The attribute `name` of the class or its bases written in the program; `MISSING` if none."""
        if name in self.namespace:
            return self.namespace[name]
        if depth < 16:
            for base in self.bases:
                if isinstance(base, ClassValue):
                    found = base.lookup(name, depth + 1)
                    if found is not MISSING:
                        return found
        return MISSING


class ObjectValue:
    """An instance of a class written in the program (`self` included).

    `record` and `template` belong to the hooks: what the instance stands
    for to them (an instance with a `record` answers an attribute it does
    not have with a `MethodRef`, which the hooks are asked to call).
    """

    __slots__ = ("cls", "attrs", "record", "template")

    def __init__(self, cls: ClassValue) -> None:
        self.cls = cls
        self.attrs: dict[str, Any] = {}
        self.record: Any = None
        self.template: Any = None


class MethodRef:
    """A method of a value the evaluator or the hooks model (`items.append`, `model.add`)."""

    __slots__ = ("receiver", "name")

    def __init__(self, receiver: Any, name: str) -> None:
        self.receiver = receiver
        self.name = name


class CallArgs:
    """The evaluated arguments of one call.

    `star_unknown`/`kw_unknown` say that a `*args`/`**kwargs` of unknown
    content was passed (the positional arguments after it are not known);
    `keyword_nodes` are the `ast.keyword`s written for `kwargs`, and
    `double_star_keys` the keys that came from a known `**dict`.
    """

    __slots__ = ("args", "kwargs", "star_unknown", "kw_unknown", "keyword_nodes", "double_star_keys")

    def __init__(self) -> None:
        self.args: list[Any] = []
        self.kwargs: dict[str, Any] = {}
        self.star_unknown = False
        self.kw_unknown = False
        self.keyword_nodes: dict[str, ast.keyword] = {}
        self.double_star_keys: set[str] = set()


def is_plain(value: Any, depth: int = 0) -> bool:
    """Whether a value is a Python literal with no unknown part."""
    if isinstance(value, PLAIN_SCALARS) or type(value) is range:
        return True
    if depth > 8 or isinstance(value, UnknownLengthList):
        return False
    if isinstance(value, (list, tuple)):
        return all(is_plain(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(is_plain(k, depth + 1) and is_plain(v, depth + 1) for k, v in value.items())
    return False


def bounded(value: Any) -> Any:
    """The value, or UNKNOWN when it is too large to be worth building."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 1 << 64:
        return UNKNOWN
    if isinstance(value, (str, bytes, list, tuple)) and len(value) > MAX_LITERAL:
        return UNKNOWN
    return value


def truth(value: Any) -> bool | None:
    """True, False, or None when the truth value is not known statically."""
    if value is UNKNOWN or isinstance(value, (UnknownLengthList, Missing)):
        return None
    if isinstance(value, PLAIN_SCALARS) or isinstance(value, (list, tuple, dict, range)):
        try:
            return bool(value)
        except Exception:  # noqa: BLE001 - a container holding UNKNOWN
            return None
    if isinstance(value, External):
        return value.truth
    return True


def is_literal_default(value: Any) -> bool:
    """Whether a parameter's default is bound when its function is analysed on its own."""
    return value is not MISSING and (is_plain(value) or isinstance(value, ModuleRef))


def same_value(a: Any, b: Any) -> bool:
    """Whether two values are known to be the same (what a join of branches keeps)."""
    if a is b:
        return True
    if isinstance(a, ModuleRef) and isinstance(b, ModuleRef):
        return a.path == b.path
    if is_plain(a) and is_plain(b) and type(a) is type(b):
        try:
            return bool(a == b)
        except Exception:  # noqa: BLE001
            return False
    return False


def known_sequence(value: Any) -> list[Any] | None:
    """The items of a list/tuple/range/dict/str of known length, else None."""
    if isinstance(value, UnknownLengthList):
        return None
    if isinstance(value, (list, tuple)):
        return list(value) if len(value) <= MAX_LITERAL else None
    if type(value) is range:
        return list(value) if len(value) <= MAX_LITERAL else None
    if isinstance(value, dict):
        return list(value)
    if isinstance(value, str) and len(value) <= MAX_LITERAL:
        return list(value)
    return None


def dotted_name(node: ast.AST) -> str:
    """`a.b.c` for an attribute chain (of a call's function too), the last name otherwise."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted_name(node.value)
        return f"{base}.{node.attr}" if base else node.attr
    if isinstance(node, ast.Call):
        return dotted_name(node.func)
    return ""


def assigned_names(nodes: list[ast.AST]) -> set[str]:
    """Every name the statements assign (`x = ...`, `for x in`, `x += ...`), at any depth."""
    names = set()
    for statement in nodes:
        for node in ast.walk(statement):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def bound_names(modules: list[ast.AST]) -> frozenset[str]:
    """Every name the program binds anywhere, in any scope.

    Assignments, loop and `with` targets, `def`, `class`, parameters,
    imports (`import a.b` binds `a`), `except ... as e`, `match` captures and
    walrus targets; star imports are not resolved here (see
    `Evaluator.star_imports`).
    """
    names: set[str] = set()
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
                names.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                names.add(node.name)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                for alias in node.names:
                    if alias.name != "*":
                        names.add(alias.asname or alias.name.split(".", 1)[0])
            elif isinstance(node, ast.ExceptHandler) and node.name:
                names.add(node.name)
            elif type(node).__name__ in ("MatchAs", "MatchStar") and getattr(node, "name", None):
                names.add(node.name)
            elif type(node).__name__ == "MatchMapping" and getattr(node, "rest", None):
                names.add(node.rest)
    return frozenset(names)

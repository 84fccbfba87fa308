"""Keras names a program uses without importing them, read as Keras's: Stack Overflow snippets.

Most code pasted into a question has no import lines, and a notebook may get
its names from `%run helpers.py` (a magic the linter skips). A name that the
program binds nowhere (no import, assignment, `def`, `class`, parameter...,
in any scope or notebook cell), that no star import from a module other than
Keras could bring in, and that is spelled exactly as a public Keras name
(`keras_catalogue.PUBLIC_NAMES`: `Sequential`, `LSTM`, `Dense`, `keras`,
`tf`...) is read as that Keras name. Only what the program then builds with
it the way Keras is used (a layer, a model, a tensor) matters to the rules.

Each model built with such a name carries the assumption in
`ModelGraph.assumed`, and its findings say so (`assumption_note`): "Assuming
`LSTM` is keras.layers.LSTM: the file does not import it." A program that
defines its own `LSTM`, imports it from elsewhere, or star-imports a module
that is not Keras (`from mylib import *`) is read as before.

`AssumedNamesMixin` is part of `SourceFrontEnd` (see `source_graph.py`).
"""

from __future__ import annotations

import ast
from typing import Any

from stacked_keras.graph import UNKNOWN, LayerNode
from stacked_keras.keras_catalogue import PUBLIC_NAMES
from stacked_keras.lint.pyeval import CallArgs, ModuleRef
from stacked_keras.lint.source_values import LayerValue, ModelRecord, TensorValue, canonical_path

__all__ = ["AssumedNamesMixin", "assumption_note", "foreign_star_import"]


def foreign_star_import(modules: list[ast.Module]) -> bool:
    """Whether any `from m import *` in the program names a module that is not Keras.

    Such a module (the user's own, a relative one) may define any name, so
    no unbound name is taken for Keras's.

    Example:

    >>> foreign_star_import([ast.parse("from keras.layers import *")])
    False
    >>> foreign_star_import([ast.parse("def f():\\n    from mylib import *")])
    True
    """
    for module in modules:
        for node in ast.walk(module):
            if isinstance(node, ast.ImportFrom) and any(alias.name == "*" for alias in node.names):
                if node.level or canonical_path(node.module or "").split(".", 1)[0] != "keras":
                    return True
    return False


def assumption_note(assumed: tuple[tuple[str, str], ...], origin: str = "source") -> str:
    """The sentence a finding ends with when its model uses names the program does not import.

    Args:
        assumed: `(name, Keras path)` pairs, in the order the program uses them.
        origin: the graph's origin; `"notebook"` says "the notebook".

    Returns:
        The sentence, or `""` when nothing was assumed.

    Example:

    >>> assumption_note((("LSTM", "keras.layers.LSTM"),))
    'Assuming `LSTM` is keras.layers.LSTM: the file does not import it.'
    >>> assumption_note((("Sequential", "keras.Sequential"), ("LSTM", "keras.layers.LSTM")), "notebook")
    'Assuming `Sequential` is keras.Sequential and `LSTM` is keras.layers.LSTM: the notebook does not import them.'
    """
    if not assumed:
        return ""
    parts = [f"`{name}` is the {path} module" if path in _MODULES else f"`{name}` is {path}"
             for name, path in assumed]
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    where = "the notebook" if origin == "notebook" else "the file"
    return f"Assuming {listed}: {where} does not import {'it' if len(parts) == 1 else 'them'}."


# The modules among `PUBLIC_NAMES` (`keras`, `tf`, `layers`), named as modules in the note.
_MODULES = frozenset({"keras", "tensorflow", "keras.layers"})


def _root_name(node: ast.expr) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


class AssumedNamesMixin:
    """Reads unbound public Keras names as Keras's and remembers which models were built with them."""

    def _init_assumed(self) -> None:
        # name -> Keras path, in the order first used; per layer template / model record (by id, the
        # object kept alive so that its id is not reused): the names it was built through.
        self.assumed: dict[str, str] = {}
        self._assumed_by: dict[int, tuple[Any, list[str]]] = {}
        self._foreign_star: bool | None = None
        self._program: list[ast.Module] = []

    def _assumed_name(self, name: str) -> Any:
        """A `ModuleRef` for an unbound public Keras name (see the module docstring); else UNKNOWN."""
        path = self.assumed.get(name)
        if path is not None:
            return ModuleRef(path)
        path = PUBLIC_NAMES.get(name)
        if path is None or self.evaluator.binds(name):
            return UNKNOWN
        if self._foreign_star is None:
            self._foreign_star = foreign_star_import(self._program)
        if self._foreign_star:
            return UNKNOWN
        if not self.assumed:
            # From now on, calls of Keras names go through `_call_module_marking` (the instance
            # attribute hides the class's method): a program that assumes nothing pays nothing.
            self.call_module = self._call_module_marking
        self.assumed[name] = path
        return ModuleRef(path)

    # -- the Hooks.call_module hook, once a name is assumed: what an assumed name built ----------------
    def _call_module_marking(self, ref: ModuleRef, arguments: CallArgs, node: ast.Call) -> Any:
        """A Keras name called; a layer, tensor or model built through an assumed name is marked so."""
        result = super().call_module(ref, arguments, node)
        names = self._assumed_in(ref, node)
        if names:
            self._mark_assumed(result, names)
        return result

    def _assumed_in(self, ref: ModuleRef, node: ast.Call) -> list[str]:
        root = _root_name(node.func)
        if root in self.assumed:
            return [root]
        if isinstance(node.func, ast.Name):  # an alias (`L = LSTM`) or a functools.partial of the name
            return [name for name, path in self.assumed.items() if path == ref.path and path.startswith("keras.")]
        return []

    def _mark_assumed(self, value: Any, names: list[str]) -> None:
        """Remembers that a layer, tensor or model was built through the assumed `names`."""
        if not names:
            return
        if isinstance(value, LayerValue):
            built = [value.template]
        elif isinstance(value, TensorValue):
            built = [self.dag[p].template for p in value.producers]
        elif isinstance(value, ModelRecord):
            built = [value]
        else:
            return
        for thing in built:
            marked = self._assumed_by.setdefault(id(thing), (thing, []))[1]
            marked.extend(name for name in names if name not in marked)

    def _assumptions_of(self, record: ModelRecord, members: list[int]) -> tuple[tuple[str, str], ...]:
        """The `(name, path)` pairs a model's construction and layers were assumed through, in first-use order."""
        if not self._assumed_by:
            return ()
        nothing: tuple[Any, list[str]] = (None, [])
        used: set[str] = set(self._assumed_by.get(id(record), nothing)[1])
        for member in members:
            template: LayerNode | None = self.dag[member].template
            while template is not None:
                used.update(self._assumed_by.get(id(template), nothing)[1])
                template = template.wrapped
        return tuple((name, path) for name, path in self.assumed.items() if name in used)

"""`%load_ext stacked_keras`: lints every notebook cell that builds a Keras model.

After each executed cell (IPython's `post_run_cell` event) the extension lints
what the cell did, two ways:

- statically, the cell's source read together with every earlier executed
  cell, as one notebook (so names and imports from earlier cells resolve),
  reporting the findings located in this cell;
- live, each `keras.Model` in the user's namespace that is new or changed
  since the last cell (recognised by its id and a cheap signature of its
  layers), only when Keras is already imported.

A problem found both ways is shown once, with the static finding's line. A
live model whose problem sits in an earlier cell (a model started in one
cell and completed by `.add` in another) is shown with that earlier cell's
line. Findings show under the cell: an HTML table in Jupyter, text in a
terminal; a clean cell shows nothing. When the cell raised Keras's opaque
`expected ndim=3, found ndim=2`, the SK101 finding that causes it is shown
with its fix (with none in sight, a note names both usual causes: a last
state, or data without a time axis).

The extension never raises into the user's cell: a failure inside the linter
prints one line. A cell with no Keras-like name in its source and no model
changed returns after a regular-expression search and a scan of the
namespace. Loading it imports neither TensorFlow nor Keras.

`%stacked_keras off|on`, `%stacked_keras select SK1,SK2`, `%stacked_keras
ignore SK203` and `%stacked_keras` (the status) control it; `%unload_ext
stacked_keras` removes it.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterable
from typing import Any

__all__ = ["load_ipython_extension", "unload_ipython_extension", "CellLinter", "CellFindings"]

# A cell whose source has none of these words, and that changed no live
# model, is not linted (the fast exit).
_KERAS_WORDS = re.compile(
    r"\b(?:keras|Sequential|Model|Input|Bidirectional|TimeDistributed|RepeatVector|Reshape"
    r"|[A-Za-z]*(?:LSTM|GRU|RNN)[A-Za-z0-9]*)\b"
)

# Keras 3: "Input 0 with name 'None' of layer 'lstm_1' is incompatible with the
# layer: expected ndim=3, found ndim=2. Full shape received: (None, 8)";
# Keras 2 wrote `of layer "lstm_1"`, and older tf.keras `with layer lstm_1:`.
_NDIM_ERROR = re.compile(r"expected (?:min_)?ndim=(\d+), found ndim=(\d+)")
_LAYER_IN_ERROR = re.compile(r"""of layer ['"]([^'"]+)['"]|incompatible with layer ([^\s:]+)""")

# The history read as one notebook is cut to its most recent cells beyond this.
_HISTORY_CHARS = 2_000_000

_MAGIC = "stacked_keras"
_USAGE = (
    "usage: %stacked_keras [on | off | select CODES | ignore CODES | status]; CODES are rule "
    "codes or prefixes such as SK101,SK2 ('select all' and 'ignore none' reset them)"
)

# One linter per shell, so unloading finds what loading registered.
_LINTERS: dict[int, "CellLinter"] = {}


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(pattern) for pattern in patterns)


def _graph_key(graph: Any, finding: Any) -> tuple[Any, ...]:
    """What makes a static and a live finding the same problem.

    Layer names differ between the two (Keras numbers the live ones per
    session), so a layer is known by the classes of its model's layers and
    its place among the layers of its own class.
    """
    nodes = [node for node in graph.nodes if node.kind != "input"]
    classes = tuple(node.cls for node in nodes)
    for position, node in enumerate(nodes):
        if node.name == finding.layer:
            ordinal = sum(1 for other in nodes[:position] if other.cls == node.cls)
            return (finding.code, classes, node.cls, ordinal)
    return (finding.code, classes, finding.layer)


def _place(finding: Any) -> tuple[Any, ...]:
    """Where a static finding is: its cell's label, line, column, and its code."""
    return (finding.path, finding.line, finding.column, finding.code)


def _layer_signature(model: Any) -> tuple[Any, ...]:
    """A cheap signature of a live model's layers: what `.add` or an edit changes."""
    return tuple(
        (id(layer), getattr(layer, "name", None), getattr(layer, "return_sequences", None),
         getattr(layer, "return_state", None))
        for layer in model.layers
    )


def _ndim_error(error: BaseException | None) -> tuple[str, str, str | None] | None:
    """(expected, found, layer) when `error` is Keras's rank error of a layer input."""
    if error is None:
        return None
    text = str(error)
    match = _NDIM_ERROR.search(text)
    if match is None or int(match.group(1)) <= int(match.group(2)):
        return None
    layer = _LAYER_IN_ERROR.search(text)
    return match.group(1), match.group(2), (layer.group(1) or layer.group(2)) if layer else None


class CellFindings:
    """The findings shown under one cell: a table in Jupyter, text in a terminal.

    Args:
        findings: the `Finding`s to show, located in cell terms (`In [3]:4:5`
            for source, `<model>` for a live model).
        models: how many models were linted.
        note: a sentence shown above the findings (the explanation of a
            Keras error), or None.
    """

    def __init__(self, findings: list[Any], *, models: int = 0, note: str | None = None) -> None:
        from stacked_keras.lint.report import Report

        self.report = Report(findings, models=models)
        self.note = note

    def text(self) -> str:
        """The text form: the note, each finding with its fix, the summary."""
        note = f"stacked-keras: {self.note}" if self.note else ""
        if not self.report.findings:
            return note
        body = self.report.format_text()
        return f"{note}\n{body}" if note else body

    def html(self) -> str:
        """The HTML form: the note, then the report's table."""
        import html

        note = f"<p><b>stacked-keras</b>: {html.escape(self.note)}</p>" if self.note else ""
        return note + (self.report._repr_html_() if self.report.findings else "")

    def bundle(self) -> dict[str, str]:
        """The MIME bundle given to IPython's `display`."""
        return {"text/plain": self.text(), "text/html": self.html()}

    def __repr__(self) -> str:
        return self.text()

    def _repr_html_(self) -> str:
        return self.html()


class CellLinter:
    """Lints each executed cell of one IPython shell; see the module docstring.

    Args:
        shell: the `InteractiveShell` (a terminal IPython or a Jupyter kernel).

    Attributes:
        enabled: whether cells are linted (`%stacked_keras on|off`).
        select: rule codes or prefixes to report, None for every rule.
        ignore: rule codes or prefixes never to report.
        cells: `(label, source)` of each executed cell, oldest first.

    Example:

    ```python
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("%load_ext stacked_keras", store_history=True)
    shell.run_cell("import keras\n"
                   "m = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(8)])",
                   store_history=True)
    # In [2]:2:23: SK101 [lstm] lstm returns only its last state ...
    ```
    """

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.enabled = True
        self.select: tuple[str, ...] | None = None
        self.ignore: tuple[str, ...] = ()
        self.cells: list[tuple[str, str]] = []
        self._models: dict[int, tuple[Any, ...]] = {}
        self._shown_live: dict[int, set[tuple[Any, ...]]] = {}
        self._shown_static: set[tuple[Any, ...]] = set()
        history = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None) or []
        # Loaded from a cell: that cell is number `execution_count` and is
        # recorded when it ends; the cells before it are read now.
        self._history_chars = 0
        for number in range(1, min(len(history), getattr(shell, "execution_count", 1))):
            self._remember(f"In [{number}]", history[number])
        self._changed_models()  # models made before loading are not this cell's doing

    # -- the event --------------------------------------------------------------
    def post_run_cell(self, result: Any) -> None:
        """IPython's `post_run_cell` callback: lints the cell; never raises."""
        try:
            self._after_cell(result)
        except Exception as error:  # noqa: BLE001 - the user's cell must never see the linter fail
            detail = " ".join(str(error).split())[:160]
            print(f"stacked-keras: could not lint this cell ({type(error).__name__}: {detail}); "
                  "`%stacked_keras off` turns the linter off", file=sys.stderr)

    def _after_cell(self, result: Any) -> None:
        info = getattr(result, "info", None)
        if info is None or getattr(info, "silent", False) or result.error_before_exec is not None:
            return
        source = info.raw_cell or ""
        count = result.execution_count if getattr(info, "store_history", False) else None
        self._remember(f"In [{count}]" if count else "this cell", source)
        if not self.enabled:
            return
        ndim = _ndim_error(result.error_in_exec)
        changed = self._changed_models()
        if not changed and ndim is None and not _KERAS_WORDS.search(source):
            return
        shown = self.findings_for_cell(changed, ndim)
        if shown is not None:
            from IPython.display import display

            display(shown.bundle(), raw=True)

    def _remember(self, label: str, source: str) -> None:
        self.cells.append((label, source))
        self._history_chars += len(source)
        while self._history_chars > _HISTORY_CHARS and len(self.cells) > 1:
            self._history_chars -= len(self.cells.pop(0)[1])

    # -- live models --------------------------------------------------------------
    def _namespace_models(self) -> dict[int, tuple[str, Any]]:
        """`{id: (name, model)}` of the `keras.Model`s the user's names hold.

        Empty, without importing anything, while Keras is not imported.
        """
        keras = sys.modules.get("keras")
        model_class = getattr(keras, "Model", None) if keras is not None else None
        if not isinstance(model_class, type):
            return {}
        hidden = getattr(self.shell, "user_ns_hidden", {})
        found: dict[int, tuple[str, Any]] = {}
        for name, value in list(self.shell.user_ns.items()):
            # type(), not isinstance: a proxy's `__class__` may run code or raise.
            if issubclass(type(value), model_class) and not name.startswith("_") and name not in hidden:
                found.setdefault(id(value), (name, value))
        return found

    def _changed_models(self) -> list[tuple[str, Any]]:
        """The `(name, model)`s in the namespace new or changed since the last call."""
        models: dict[int, tuple[Any, ...]] = {}
        changed = []
        for ident, (name, model) in self._namespace_models().items():
            try:
                models[ident] = _layer_signature(model)
            except Exception:  # noqa: BLE001 - a half-built user model
                continue
            if self._models.get(ident) != models[ident]:
                changed.append((name, model))
        self._models = models
        self._shown_live = {ident: keys for ident, keys in self._shown_live.items() if ident in models}
        return changed

    def _live_findings(self, models: list[tuple[str, Any]]) -> list[tuple[Any, tuple[Any, ...], int]]:
        """`(finding, key, model id)` of each model, its `model` field the variable name."""
        from stacked_keras.lint import lint
        from stacked_keras.lint.from_model import graph_from_model

        found = []
        for name, model in models:
            graph = graph_from_model(model)
            for finding in lint(graph):
                if not finding.code.startswith("SK0"):
                    found.append((finding.with_location(model=name), _graph_key(graph, finding), id(model)))
        return found

    # -- source ---------------------------------------------------------------------
    def _static_findings(self) -> list[tuple[Any, tuple[Any, ...], int, bool]]:
        """`(finding, key, cell index, noqa)` of the executed cells read as one notebook.

        Findings are located in cell terms (`path` is the cell's label, such
        as `In [3]`). `noqa` is True when the finding's line carries a
        `# noqa` for its code: it is not shown, but it still stands for its
        twin found in the live model.
        """
        from stacked_keras.lint import lint, noqa_codes
        from stacked_keras.lint.from_source import graphs_from_notebook

        notebook = {
            "cells": [
                {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": text}
                for _, text in self.cells
            ],
            "metadata": {"kernelspec": {"name": "python3", "language": "python"}},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        graphs = graphs_from_notebook(json.dumps(notebook), None, problems=[])
        found = []
        for graph in graphs:
            for finding in lint(graph):
                if finding.code.startswith("SK0") or finding.cell is None or not 0 < finding.cell <= len(self.cells):
                    continue
                label, text = self.cells[finding.cell - 1]
                codes = None
                if finding.line is not None:
                    lines = re.split(r"\r\n|\r|\n", text)
                    codes = noqa_codes(lines[finding.line - 1] if finding.line <= len(lines) else "")
                noqa = codes is not None and (not codes or _matches(finding.code, codes))
                located = finding.with_location(path=label, cell=None)
                found.append((located, _graph_key(graph, finding), finding.cell - 1, noqa))
        return found

    # -- what to show ---------------------------------------------------------------
    def _selected(self, code: str) -> bool:
        return (self.select is None or _matches(code, self.select)) and not _matches(code, self.ignore)

    def findings_for_cell(self, changed: list[tuple[str, Any]],
                          ndim: tuple[str, str, str | None] | None = None) -> CellFindings | None:
        """What to show under the cell that just ran, or None when it is clean.

        Args:
            changed: the `(name, model)`s the cell made or changed.
            ndim: `(expected, found, layer)` of the Keras rank error the
                cell raised, or None.

        Returns:
            A `CellFindings`, or None when there is nothing to show.
        """
        current = len(self.cells) - 1
        static = self._static_findings()
        live = self._live_findings(changed)
        shown: list[Any] = []
        keys_shown: set[tuple[Any, ...]] = set()
        places: set[tuple[Any, ...]] = set()

        def show_static(finding: Any) -> None:
            if _place(finding) not in places:  # one line built several models (a loop)
                places.add(_place(finding))
                shown.append(finding)
            self._shown_static.add(_place(finding))

        for finding, key, cell, noqa in static:
            if cell == current and self._selected(finding.code):
                keys_shown.add(key)
                if not noqa:
                    show_static(finding)
        latest_first = sorted(static, key=lambda item: -item[2])
        for finding, key, ident in live:
            if not self._selected(finding.code) or key in keys_shown:
                continue
            # The same problem in an earlier cell's source, built under the same
            # name (`m.add(...)` completing a model begun there): shown at its line, once.
            twin = next(((f, noqa) for f, k, _, noqa in latest_first
                         if k == key and f.model == finding.model), None)
            if twin is not None:
                if not twin[1] and _place(twin[0]) not in self._shown_static:
                    show_static(twin[0])
            elif (finding.code, finding.layer) not in self._shown_live.get(ident, ()):
                shown.append(finding)  # a live model's names stay: its problem is shown once
            keys_shown.add(key)
            self._shown_live.setdefault(ident, set()).add((finding.code, finding.layer))
        note = None
        if ndim is not None:
            note, cause = self._explain_ndim(ndim, shown, latest_first)
            shown.extend(f for f in cause if f not in shown)
        if not shown and note is None:
            return None
        return CellFindings(shown, models=len({f.model for f in shown}), note=note)

    def _explain_ndim(self, ndim: tuple[str, str, str | None], shown: list[Any],
                      latest_first: list[tuple[Any, tuple[Any, ...], int, bool]]) -> tuple[str, list[Any]]:
        """The sentence that explains Keras's rank error, and the SK101 findings behind it.

        The causes looked for: an SK101 finding in this cell's source, or in
        the live model that holds the layer Keras names (a model that raised
        in `fit`). With none, the sentence names both usual causes and no
        finding is made up: the input may simply lack its time axis.
        """
        expected, found, layer = ndim
        where = f" at layer '{layer}'" if layer else ""
        said = f"Keras's 'expected ndim={expected}, found ndim={found}'{where} means a layer that reads a " \
            "sequence (batch, time, features) was given an input without its time axis"
        cause = [f for f in shown if f.code == "SK101"]
        if not cause and layer is not None:
            # The model raised in `fit` or `build`: it is in the namespace, unchanged.
            holders = [(name, model) for name, model in self._namespace_models().values()
                       if any(getattr(each, "name", None) == layer for each in model.layers)]
            for finding, key, _ in self._live_findings(holders):
                if finding.code == "SK101":
                    twin = next((f for f, k, _, noqa in latest_first
                                 if k == key and f.model == finding.model and not noqa), None)
                    cause.append(twin if twin is not None else finding)
        if cause:
            return f"{said}, one vector per sample: the recurrent layer below it returns only its " \
                "last state (rule SK101).", cause
        return (f"{said}. Either the recurrent layer below it returns only its last state (set "
                "return_sequences=True on it, rule SK101), or the data has no time axis (give "
                "keras.Input a (timesteps, features) shape and reshape the data to 3-D)."), []

    # -- the magic ------------------------------------------------------------------
    def status(self) -> str:
        """One line: on or off, the selection, and how many cells were read."""
        select = ", ".join(self.select) if self.select else "every rule"
        ignore = ", ".join(self.ignore) if self.ignore else "nothing"
        state = "on" if self.enabled else "off"
        return (f"stacked-keras lints each cell: {state}; select: {select}; ignore: {ignore}; "
                f"{len(self.cells)} cells read")

    def magic(self, line: str) -> None:
        """`%stacked_keras [on | off | select CODES | ignore CODES | status]`.

        Raises:
            UsageError: for an unknown word or rule code (IPython shows it
                as one line).
        """
        from IPython.core.error import UsageError

        from stacked_keras.lint.settings import SettingsError, parse_codes

        words = line.replace(",", " ").split()
        command = words[0].lower() if words else "status"
        codes = words[1:]
        try:
            if command == "off" and not codes:
                self.enabled = False
            elif command == "on" and not codes:
                self.enabled = True
                self._changed_models()  # models changed while off are not the next cell's doing
            elif command == "select":
                wanted = not codes or [c.lower() for c in codes] == ["all"]
                self.select = None if wanted else parse_codes(codes, setting="select", allow_empty=False)
            elif command == "ignore":
                nothing = not codes or [c.lower() for c in codes] == ["none"]
                self.ignore = () if nothing else parse_codes(codes, setting="ignore")
            elif command != "status" or codes:
                raise UsageError(f"unknown %stacked_keras argument {line.strip()!r}; {_USAGE}")
        except SettingsError as error:
            raise UsageError(f"{error}; {_USAGE}") from None
        print(self.status())


def load_ipython_extension(ipython: Any) -> None:
    """Turns the linter on for each cell: what `%load_ext stacked_keras` runs.

    Registers a `post_run_cell` callback and the `%stacked_keras` line magic.
    Imports neither TensorFlow nor Keras.

    Args:
        ipython: the `InteractiveShell`.

    Example:

    ```
    In [1]: %load_ext stacked_keras
    ```
    """
    if id(ipython) in _LINTERS:
        return
    linter = CellLinter(ipython)
    _LINTERS[id(ipython)] = linter
    ipython.events.register("post_run_cell", linter.post_run_cell)
    ipython.register_magic_function(linter.magic, magic_kind="line", magic_name=_MAGIC)


def unload_ipython_extension(ipython: Any) -> None:
    """Turns the linter off and removes `%stacked_keras`: what `%unload_ext stacked_keras` runs.

    Args:
        ipython: the `InteractiveShell`.
    """
    linter = _LINTERS.pop(id(ipython), None)
    if linter is None:
        return
    try:
        ipython.events.unregister("post_run_cell", linter.post_run_cell)
    except ValueError:
        pass  # already unregistered by hand
    ipython.magics_manager.magics["line"].pop(_MAGIC, None)

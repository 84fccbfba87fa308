"""What `lint()` does: reads each input into graphs, runs the rules, gathers a Report.

Paths go through discovery (`stacked_keras.lint.discovery`), each file to its
front-end by suffix (source and notebooks to `from_source`, saved files to
`from_config`), live models to `from_model`; the findings go through the
settings' per-file ignores and `# noqa` (`stacked_keras.lint.noqa`). `fix()`
hands a live model to the model fixer.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from stacked_keras.graph import ModelGraph
from stacked_keras.lint.discovery import (
    _ACCEPTED_KINDS,
    SAVED_SUFFIXES,
    SOURCE_SUFFIXES,
    _is_regular_file,
    _not_regular,
    discover_files,
)
from stacked_keras.lint.findings import Finding, Severity, UnreadableInput, severity_rank
from stacked_keras.lint.noqa import _code_matches, _without_noqa
from stacked_keras.lint.report import Report
from stacked_keras.lint.settings import LintSettings, SettingsError, parse_codes

__all__ = ["fix", "lint"]

def _read_file(path: str, problems: list[UnreadableInput] | None = None) -> list[ModelGraph]:
    """The graphs of one file; raises `UnreadableInput` when it cannot be read at all.

    `problems`, a list, collects what is wrong with parts of the file that
    were skipped while the rest was read (a notebook cell that does not
    parse: Jupyter runs the other cells, so they are linted).
    """
    if os.path.isdir(path):
        raise UnreadableInput("SK001", f"{path} is a directory")
    if os.path.exists(path) and not _is_regular_file(path):
        raise UnreadableInput("SK001", _not_regular(path))
    suffix = os.path.splitext(path)[1].lower()
    if suffix in SOURCE_SUFFIXES:
        from stacked_keras.lint.from_source import read_source_file

        return read_source_file(path, problems=problems)
    if suffix in SAVED_SUFFIXES:
        from stacked_keras.lint.from_config import read_saved_file

        return read_saved_file(path)
    if os.path.isdir(path):
        raise UnreadableInput("SK001", f"{path} is a directory")
    raise UnreadableInput(
        "SK001", f"{path} is not a kind of file stacked-keras reads; accepted: {_ACCEPTED_KINDS}"
    )


def _is_config_json(obj: Any) -> bool:
    """A string holding a model config's JSON (`model.to_json()`), not a path."""
    return isinstance(obj, str) and obj.lstrip(" \t\r\n\ufeff").startswith("{")


def _is_live_model(obj: Any) -> bool:
    """A Keras model, recognised without importing Keras."""
    return not isinstance(obj, (ModelGraph, Mapping, str, os.PathLike)) and \
        hasattr(obj, "layers") and hasattr(obj, "get_config")


def _target_shape(target: Any) -> tuple[int | None, ...]:
    """The per-sample shape of a training target: an array, or a shape tuple."""
    if isinstance(target, tuple) and all(d is None or isinstance(d, int) for d in target):
        return tuple(target)
    shape = getattr(target, "shape", None)
    if shape is None:
        import numpy as np

        try:
            shape = np.asarray(target).shape
        except Exception:  # noqa: BLE001 - anything numpy cannot read
            shape = None
    if shape is None or len(tuple(shape)) == 0:
        raise ValueError(
            "target must be the training target (an array with a batch axis first) or its "
            f"per-sample shape as a tuple, such as (1,) or (20, 1); got {target!r}"
        )
    return tuple(None if d is None else int(d) for d in tuple(shape)[1:])


def _normalise_codes(value: Any, name: str) -> tuple[str, ...] | None:
    if value is None:
        return None
    try:
        return parse_codes(value if isinstance(value, str) else list(value), setting=name,
                           allow_empty=name != "select")
    except TypeError:
        raise SettingsError(f"{name} must be rule codes, such as ['SK101', 'SK2'], got {value!r}") from None


class _Linter:
    """Collects findings, files and counts while `lint` walks its inputs."""

    def __init__(self, settings: LintSettings) -> None:
        from stacked_keras.lint.rules import check, input_finding

        self.settings = settings
        self.check = check
        self.input_finding = input_finding
        self.findings: list[Finding] = []
        self.files: list[str] = []
        self.models = 0
        self.inputs_read = 0
        self.skipped = 0
        self.excluded: list[str] = []

    def _ignore_for(self, path: str | None) -> tuple[str, ...]:
        return tuple(self.settings.ignore) + self.settings.ignored_codes_for(path)

    def _kept(self, findings: Iterable[Finding], path: str | None) -> list[Finding]:
        # Per-file ignores drop a code whatever `select` says.
        dropped = self.settings.ignored_codes_for(path)
        return [f for f in findings if not _code_matches(f.code, dropped)]

    def add_input_error(self, error: UnreadableInput, path: str | None) -> None:
        finding = self.input_finding(error, path)
        # Unreadable inputs are always reported unless a code is ignored
        # outright: `select` alone must not hide a file that was not linted.
        if not _code_matches(finding.code, self._ignore_for(path)):
            self.findings.append(finding)

    def add_graphs(self, graphs: Iterable[ModelGraph], path: str | None) -> list[Finding]:
        found: list[Finding] = []
        seen: set[tuple[Any, ...]] = set()
        for graph in graphs:
            self.models += 1
            for finding in self.check(graph, select=self.settings.select, ignore=self.settings.ignore or None):
                # One place to change is one finding: a layer shared by two
                # graphs (training and inference models), or one call that
                # makes several layers (a loop), is reported once.
                key = _place_of(finding)
                if key not in seen:
                    seen.add(key)
                    found.append(finding)
        return self._kept(found, path)

    def lint_files(self, paths: list[str]) -> None:
        files, findings, skipped = discover_files(
            paths,
            respect_gitignore=self.settings.respect_gitignore,
            exclude=self.settings.exclude_patterns() if self.settings.exclude else None,
            excluded=self.excluded,
        )
        self.skipped += skipped
        for finding in findings:
            if not _code_matches(finding.code, self._ignore_for(finding.path)):
                self.findings.append(finding)
        for path in files:
            self.files.append(path)
            problems: list[UnreadableInput] = []
            try:
                graphs = _read_file(path, problems)
            except UnreadableInput as error:
                self.add_input_error(error, path)
                continue
            except OSError as error:
                self.add_input_error(UnreadableInput("SK001", f"cannot read {path}: {error}"), path)
                continue
            except Exception as error:  # noqa: BLE001 - one bad file must not stop the run
                # A front-end bug met by an odd file: report it for this file
                # and go on with the others, rather than end with a traceback.
                self.add_input_error(UnreadableInput(
                    "SK001",
                    f"stacked-keras failed while reading {path} ({type(error).__name__}: "
                    f"{' '.join(str(error).split())[:200]}); this is a bug in stacked-keras, "
                    "please report it with the file",
                ), path)
                continue
            self.inputs_read += 1
            for problem in problems:  # one SK002 per notebook cell left out
                self.add_input_error(problem, path)
            self.findings.extend(_without_noqa(self.add_graphs(graphs, path)))

    def lint_object(self, obj: Any, target: Any) -> None:
        if isinstance(obj, ModelGraph):
            graphs = [obj]
        elif isinstance(obj, str):
            from stacked_keras.lint.from_config import graphs_from_json

            try:
                graphs = graphs_from_json(obj)
            except UnreadableInput as error:
                self.add_input_error(error, None)
                return
        elif isinstance(obj, Mapping):
            from stacked_keras.lint.from_config import graphs_from_config

            try:
                graphs = graphs_from_config(dict(obj))
            except UnreadableInput as error:
                self.add_input_error(error, None)
                return
        else:
            from stacked_keras.lint.from_model import graph_from_model

            graphs = [graph_from_model(obj)]
        if target is not None:
            shape = _target_shape(target)
            for graph in graphs:
                graph.target_shape = shape
        self.inputs_read += 1
        self.findings.extend(self.add_graphs(graphs, None))


def _place_of(finding: Finding) -> tuple[Any, ...]:
    """What makes two findings the same: the code and the place to change."""
    if finding.line is not None:
        return (finding.code, finding.path, finding.cell, finding.line, finding.column)
    return (finding.code, finding.path, finding.model, finding.layer)


def _split_inputs(obj: Any) -> tuple[list[str], list[Any]]:
    """(paths, other objects) from what `lint` was given."""
    items = list(obj) if isinstance(obj, (list, tuple)) else [obj]
    paths: list[str] = []
    objects: list[Any] = []
    for item in items:
        if _is_config_json(item):
            objects.append(item)
        elif isinstance(item, (str, os.PathLike)):
            paths.append(os.fspath(item))
        elif isinstance(item, (ModelGraph, Mapping)) or _is_live_model(item):
            objects.append(item)
        else:
            raise TypeError(
                "lint() takes a path, a list of paths, a keras.Model, a model config dict or its "
                f"JSON text, or a ModelGraph; got {type(item).__name__}: {item!r:.80}"
            )
    return paths, objects


def lint(obj: Any, *, select: Iterable[str] | str | None = None,
         ignore: Iterable[str] | str | None = None, fail_on: str | None = None,
         respect_gitignore: bool | None = None, target: Any = None,
         settings: LintSettings | None = None) -> Report:
    """Lints models for broken vertical connections between recurrent layers.

    Reads each input into a `ModelGraph` and runs the rules on it. Source
    files, notebooks, saved files (`.keras`, `.h5`, config `.json`) and
    config dicts are read as data, without importing TensorFlow or Keras and
    without running any of their code. A file that cannot be read gives one
    SK0xx finding and the other files are still linted; a notebook cell that
    does not parse gives one SK002 finding and the other cells are still
    linted, as Jupyter would still run them. A `# noqa: SK101`
    comment on a finding's line (`# noqa` alone: any code) drops it.

    Args:
        obj: what to lint: a path (file or directory) or a list of paths, a
            `keras.Model`, a model config dict (`model.get_config()` or the
            `to_json()` form), the JSON text of a config (a string whose
            first character, after white space, is `{`, such as
            `model.to_json()`; any other string is a path), or a
            `ModelGraph`. Directories are walked for `.py`, `.ipynb`,
            `.keras`, `.h5`, `.hdf5` and Keras config `.json` files.
        select: rule codes or prefixes (`"SK1"`) to report, as a list or a
            comma-separated string; default (None): every rule. A selection
            naming no rule (`""`, `[]`) is an error, not an empty report.
            Unreadable-input findings (SK0xx) are reported whatever `select`
            says.
        ignore: rule codes or prefixes never to report.
        fail_on: `"error"` (the default), `"warning"` or `"info"`: the lowest
            severity for which `Report.exit_code()` returns 1.
        respect_gitignore: skip `.gitignore`d paths in directory walks
            (default True).
        target: for a live model, config (dict or JSON text) or graph: the training target (an
            array whose first axis is the batch) or its per-sample shape as a
            tuple, so rule SK102 can tell a per-timestep model from a
            per-sample one.
        settings: a `LintSettings` (as `settings.load_settings()` reads from
            `pyproject.toml`) giving `exclude` patterns, per-file ignores and
            the defaults of the arguments above; arguments given here win.

    Returns:
        A `Report`.

    Raises:
        TypeError: when `obj` is none of the accepted kinds.
        ValueError: for an unknown rule code or severity, a `select` naming
            no rule, or a bad `target`, naming the argument and the accepted
            values (`SettingsError`, a `ValueError`, for `select`/`ignore`).

    Example:

    ```python
    import keras
    import stacked_keras

    model = keras.Sequential([
        keras.Input((10, 3)),
        keras.layers.LSTM(8),
        keras.layers.LSTM(8),
        keras.layers.Dense(1),
    ])
    report = stacked_keras.lint(model)
    print(report)   # <model>: SK101 [lstm] lstm returns only its last state ...
    ```
    """
    base = settings if settings is not None else LintSettings(root=os.getcwd())
    if fail_on is not None:
        if not isinstance(fail_on, str) or fail_on not in (Severity.ERROR, Severity.WARNING, Severity.INFO):
            raise ValueError(f"fail_on must be one of error, warning, info, got {fail_on!r}")
    if respect_gitignore is not None and not isinstance(respect_gitignore, bool):
        raise ValueError(f"respect_gitignore must be True or False, got {respect_gitignore!r}")
    effective = base.replace(
        select=_normalise_codes(select, "select"),
        ignore=_normalise_codes(ignore, "ignore"),
        fail_on=fail_on,
        respect_gitignore=respect_gitignore,
    )
    severity_rank(effective.fail_on)
    paths, objects = _split_inputs(obj)
    if target is not None and not objects:
        raise ValueError(
            "target applies to a live model, a config dict or a ModelGraph, not to paths; "
            f"got target={target!r:.60} with paths {paths!r:.80}"
        )
    linter = _Linter(effective)
    if paths:
        linter.lint_files(paths)
    for item in objects:
        linter.lint_object(item, target)
    return Report(
        linter.findings,
        files=linter.files,
        models=linter.models,
        inputs_read=linter.inputs_read,
        skipped=linter.skipped,
        excluded=linter.excluded,
        fail_on=effective.fail_on,
    )


def fix(model: Any, **kwargs: Any) -> Any:
    """Returns a corrected copy of a live Keras model.

    Every recurrent layer that feeds another recurrent layer gets
    `return_sequences=True`; the weights are copied over and the original
    model is left as it was. Loads Keras on first use.

    Args:
        model: a `keras.Model` (Sequential or functional).
        **kwargs: passed on to `stacked_keras.lint.fix_model.fix`.

    Returns:
        A new `keras.Model`.

    Example:

    ```python
    fixed = stacked_keras.fix(model)
    assert not stacked_keras.lint(fixed).findings
    ```
    """
    from stacked_keras.lint.fix_model import fix as fix_model

    return fix_model(model, **kwargs)

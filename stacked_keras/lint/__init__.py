"""The linter: finds broken vertical connections in stacked recurrent models.

`lint(obj)` reads Python source, notebooks, saved model files and config dicts
as data (no TensorFlow, no Keras, nothing executed) and live `keras.Model`s,
turns each model into a `ModelGraph`, runs the rules on it and returns a
`Report`. `fix(model)` returns a corrected copy of a live model, and
`LintCallback` lints a model when `fit` starts; both load Keras on first use.

`stacked_keras.lint` is both this package and the `lint` function: calling the
package calls `lint`, so `stacked_keras.lint("models/")` works however the
package was imported.
"""

# Size: over 600 lines until issue 9 moves discovery, noqa and the runner into their own modules.

from __future__ import annotations

import json
import os
import re
import stat
import sys
import types
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from stacked_keras.graph import ModelGraph
from stacked_keras.lint.files import read_text_file
from stacked_keras.lint.findings import Finding, Severity, UnreadableInput, severity_rank
from stacked_keras.lint.notebooks import code_cell_sources
from stacked_keras.lint.report import Report
from stacked_keras.lint.settings import LintSettings, PathPatterns, SettingsError, parse_codes

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

SOURCE_SUFFIXES = frozenset({".py", ".ipynb"})
SAVED_SUFFIXES = frozenset({".keras", ".h5", ".hdf5", ".json"})
_LINTABLE = SOURCE_SUFFIXES | SAVED_SUFFIXES
_ACCEPTED_KINDS = ".py, .ipynb, .keras, .h5, .hdf5 or a Keras config .json"

# Directories never entered in a walk (besides hidden ones and virtualenvs).
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", "node_modules", "site-packages"})

# How much of a .json file a directory walk reads to decide whether it is a
# Keras config; bigger files are taken on the cheap check alone.
_JSON_SNIFF_BYTES = 4096
_JSON_PARSE_LIMIT = 16 * 1024 * 1024


# -- discovery ----------------------------------------------------------------

def _repository_top(directory: Path) -> Path | None:
    for candidate in (directory, *directory.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _inherited_gitignores(directory: Path) -> list[tuple[PathPatterns, str]]:
    """`.gitignore` patterns from the repository top down to `directory`'s parent.

    Each comes with the path of `directory` relative to the patterns' base
    (with a trailing `/`, or "" for the base itself).
    """
    absolute = Path(os.path.abspath(directory))
    top = _repository_top(absolute)
    if top is None:
        return []
    chain: list[Path] = []
    if absolute != top:
        for candidate in (absolute.parent, *absolute.parent.parents):
            chain.append(candidate)
            if candidate == top:
                break
    found: list[tuple[PathPatterns, str]] = []
    sources = [top / ".git" / "info" / "exclude"] if (top / ".git").is_dir() else []
    sources += [d / ".gitignore" for d in reversed(chain)]
    for source in sources:
        if source.is_file():
            base = top if source.name == "exclude" else source.parent
            patterns = PathPatterns.from_file(source)
            patterns.base = base
            if patterns:
                relative = os.path.relpath(absolute, base).replace(os.sep, "/")
                found.append((patterns, "" if relative == "." else relative + "/"))
    return found


def _ignored(stack: list[tuple[PathPatterns, str]], name: str, is_dir: bool) -> bool:
    """Git's rule: the deepest `.gitignore` with a matching pattern decides."""
    decision: bool | None = None
    for patterns, prefix in stack:
        verdict = patterns.decision(prefix + name, is_dir=is_dir)
        if verdict is not None:
            decision = verdict
    return bool(decision)


def _looks_like_keras_config(path: str) -> bool:
    """A cheap test that a .json file holds a Keras model config.

    True when the top level is an object with `class_name` and `config` keys
    (`model.to_json()`), or with a `layers` list (`model.get_config()`).
    """
    try:
        with open(path, "rb") as handle:
            head = handle.read(_JSON_SNIFF_BYTES)
            if not head.lstrip().startswith(b"{") or b'"class_name"' not in head and b'"layers"' not in head:
                return False
            size = os.fstat(handle.fileno()).st_size
            if size > _JSON_PARSE_LIMIT:
                return b'"class_name"' in head
            document = json.loads(head + handle.read())
    except (OSError, ValueError):
        return False
    if not isinstance(document, dict):
        return False
    if "class_name" in document and "config" in document:
        return True
    return isinstance(document.get("layers"), list)


def _walk(root: str, *, respect_gitignore: bool, exclude: PathPatterns | None,
          files: list[str]) -> None:
    """Appends the lintable files under `root` (a directory) to `files`."""
    gitignores = _inherited_gitignores(Path(root)) if respect_gitignore else []
    exclude_prefix = None
    if exclude:
        relative = exclude.relative(root)
        exclude_prefix = None if relative is None else (relative + "/" if relative else "")

    def visit(directory: str, stack: list[tuple[PathPatterns, str]], ex_prefix: str | None) -> None:
        if respect_gitignore:
            own = os.path.join(directory, ".gitignore")
            if os.path.isfile(own):
                patterns = PathPatterns.from_file(own)
                if patterns:
                    stack = [*stack, (patterns, "")]
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            name = entry.name
            # Walking "." gives "pkg/model.py", not "./pkg/model.py".
            path = name if directory == os.curdir else os.path.join(directory, name)
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except OSError:
                continue
            if stack and _ignored(stack, name, is_dir):
                continue
            if ex_prefix is not None and exclude is not None and exclude.decision(ex_prefix + name, is_dir=is_dir):
                continue
            if is_dir:
                if name.startswith(".") or name in _SKIPPED_DIRECTORIES:
                    continue
                if os.path.exists(os.path.join(path, "pyvenv.cfg")):
                    continue  # a virtual environment
                visit(
                    path,
                    [(p, prefix + name + "/") for p, prefix in stack],
                    None if ex_prefix is None else ex_prefix + name + "/",
                )
                continue
            suffix = os.path.splitext(name)[1].lower()
            if suffix not in _LINTABLE:
                continue
            try:
                regular = entry.is_file()  # follows links; False for pipes, sockets, devices
            except OSError:
                continue
            if not regular:
                continue  # opening a named pipe would wait for a writer forever
            if suffix == ".json" and not _looks_like_keras_config(path):
                continue
            files.append(path)

    visit(os.curdir if os.path.normpath(root) == os.curdir else root, gitignores, exclude_prefix)


def _is_regular_file(path: str) -> bool:
    """Whether `path` (links followed) is a regular file, one that can be read to its end."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def _not_regular(path: str) -> str:
    return (
        f"{path} is not a regular file (a named pipe, socket or device): reading it could wait "
        f"forever; give the linter files ({_ACCEPTED_KINDS}) or directories"
    )


def discover_files(paths: Iterable[str | os.PathLike[str]], *, respect_gitignore: bool = True,
                   exclude: PathPatterns | None = None) -> tuple[list[str], list[Finding], int]:
    """The files to lint under `paths`, and a finding for each path that has none.

    Directories are walked for `.py`, `.ipynb`, `.keras`, `.h5`, `.hdf5` and
    `.json` files (a `.json` only when it looks like a Keras config), skipping
    hidden directories, `__pycache__`, `node_modules`, `site-packages`,
    virtual environments and, when `respect_gitignore`, the paths that the
    `.gitignore` files of the walked tree and of its enclosing git repository
    ignore, and any entry that is not a regular file (a named pipe, a
    socket, a device: reading one could block forever). Files named
    explicitly are always linted, whatever their kind, but `exclude` applies
    to them too; one that is not a regular file gives an SK001 finding.

    Args:
        paths: files and directories, as the user gave them.
        respect_gitignore: skip `.gitignore`d paths in directory walks.
        exclude: more patterns of paths to skip (the `exclude` setting).

    Returns:
        `(files, findings, skipped)`: the files, as given or joined onto the
        directory given; an SK001 finding for each path that does not exist
        or is not a regular file, and each directory with nothing to lint;
        how many named paths `exclude` skipped.
    """
    from stacked_keras.lint.rules import input_finding

    files: list[str] = []
    findings: list[Finding] = []
    skipped = 0
    for given in paths:
        path = os.fspath(given)
        if exclude and exclude.matches(path, is_dir=os.path.isdir(path)):
            skipped += 1
            continue
        if os.path.isdir(path):
            found: list[str] = []
            _walk(path, respect_gitignore=respect_gitignore, exclude=exclude, files=found)
            if not found:
                findings.append(input_finding(UnreadableInput(
                    "SK001",
                    f"directory {path} holds no file to lint ({_ACCEPTED_KINDS}), "
                    "once hidden, ignored and excluded paths are left out",
                ), path))
            files.extend(found)
        elif os.path.exists(path):
            if _is_regular_file(path):
                files.append(path)
            else:
                findings.append(input_finding(UnreadableInput("SK001", _not_regular(path)), path))
        else:
            findings.append(input_finding(UnreadableInput(
                "SK001", f"{path} does not exist: check the path",
            ), path))
    unique: list[str] = []
    seen: set[str] = set()
    for path in files:
        key = os.path.normcase(os.path.abspath(path))
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique, findings, skipped


# -- noqa -----------------------------------------------------------------------

_NOQA = re.compile(
    r"#\s*noqa(?P<colon>\s*:\s*(?P<codes>[A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*))?",
    re.IGNORECASE,
)


def noqa_codes(line: str) -> tuple[str, ...] | None:
    """The codes a `# noqa` comment on `line` suppresses.

    Returns:
        None when the line has no `# noqa`; an empty tuple for a bare
        `# noqa` (everything suppressed); otherwise the codes or prefixes
        listed (`# noqa: SK101, SK2` gives `("SK101", "SK2")`).

    Example:

    >>> noqa_codes("x = LSTM(8)(x)  # noqa: SK101")
    ('SK101',)
    """
    match = _NOQA.search(line)
    if match is None:
        return None
    if not match.group("codes"):
        return ()
    return tuple(code.upper() for code in re.split(r"[\s,]+", match.group("codes")) if code)


def _code_matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(pattern) for pattern in patterns)


def _python_lines(text: str) -> list[str]:
    """Lines as Python's tokenizer counts them (only \\r\\n, \\r and \\n end a line).

    `str.splitlines` also splits on form feeds and Unicode line separators,
    which would put a `# noqa` on the wrong line.
    """
    return re.split(r"\r\n|\r|\n", text)


def _source_line(path: str, cell: int | None, line: int, cache: dict[tuple[str, int | None], list[str]]) -> str:
    key = (path, cell)
    if key not in cache:
        try:
            text = read_text_file(path)[0]
            if cell is None:
                cache[key] = _python_lines(text)
            else:
                source = code_cell_sources(text, path).get(cell)
                cache[key] = _python_lines(source) if source is not None else []
        except UnreadableInput:
            cache[key] = []
    lines = cache[key]
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _without_noqa(findings: list[Finding]) -> list[Finding]:
    """Drops the findings whose line carries a `# noqa` naming their code."""
    cache: dict[tuple[str, int | None], list[str]] = {}
    kept = []
    for finding in findings:
        path = finding.path
        if path is not None and finding.line is not None and os.path.splitext(path)[1].lower() in SOURCE_SUFFIXES:
            codes = noqa_codes(_source_line(path, finding.cell, finding.line, cache))
            if codes is not None and (not codes or _code_matches(finding.code, codes)):
                continue
        kept.append(finding)
    return kept


# -- reading ----------------------------------------------------------------------

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

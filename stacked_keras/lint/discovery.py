"""Which files `lint` reads: directory walks, `.gitignore`, suffixes, JSON sniffing.

A directory is walked for the kinds of file the linter reads (`.py`,
`.ipynb`, `.keras`, `.h5`, `.hdf5`, and `.json` when it looks like a Keras
config), leaving out hidden and cache directories, virtual environments,
`.gitignore`d and `exclude`d paths, and anything that is not a regular file.
Plain Python: nothing here imports Keras or reads a model.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from stacked_keras.lint.findings import Finding, UnreadableInput
from stacked_keras.lint.settings import PathPatterns

__all__ = ["SAVED_SUFFIXES", "SOURCE_SUFFIXES", "discover_files"]

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
                   exclude: PathPatterns | None = None,
                   excluded: list[str] | None = None) -> tuple[list[str], list[Finding], int]:
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
        excluded: a list to which the paths named in `paths` that `exclude`
            skipped are appended, as given, so the caller can say so.
            Defaults to None.

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
            if excluded is not None:
                excluded.append(path)
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

"""Writing an export atomically: a temporary sibling, checked, then moved into place.

Both exports follow one contract, written here once:

- the target is checked before any long work (`check_target_directory`,
  `check_target_file`), so an unusable path fails fast;
- the content is written into a temporary sibling (`.NAME.tmp-XXXX`, on the
  same file system), and the caller's `write` callback verifies it there;
- only when `write` returns is it moved into place, and an existing target is
  replaced only with `overwrite=True`, never silently (not even when it
  appears while the export runs);
- whatever happens (an exception, a full disk, Ctrl-C) the temporary sibling
  is removed and the target is left as it was.

`stacked_keras.export` writes SavedModel directories with it and
`stacked_keras.onnx_export` writes `.onnx` files. This module imports neither
TensorFlow nor Keras.
"""

from __future__ import annotations

import math
import os
import pathlib
import shutil
import tempfile
from collections.abc import Callable
from typing import Any

__all__ = [
    "check_export_flags",
    "check_target_directory",
    "check_target_file",
    "write_directory_atomically",
    "write_file_atomically",
]


def check_export_flags(overwrite: Any, verify: Any, atol: Any) -> None:
    """Checks the arguments every export takes.

    Args:
        overwrite: must be `True` or `False`.
        verify: must be `True` or `False`.
        atol: must be a finite non-negative number.

    Raises:
        ValueError: naming the argument and the value received.

    Example:

    >>> check_export_flags(False, True, 1e-5)
    >>> try:
    ...     check_export_flags("yes", True, 1e-5)
    ... except ValueError as error:
    ...     print(error)
    overwrite must be True or False, got 'yes'
    """
    for flag, value in (("overwrite", overwrite), ("verify", verify)):
        if not isinstance(value, bool):
            raise ValueError(f"{flag} must be True or False, got {value!r}")
    if isinstance(atol, bool) or not isinstance(atol, (int, float)) or not math.isfinite(atol) or atol < 0:
        raise ValueError(f"atol must be a non-negative number, got {atol!r}")


def _absolute_target(path: Any, kind: str) -> pathlib.Path:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike naming a {kind}, got {path!r}")
    target = pathlib.Path(os.path.abspath(os.fspath(path)))
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"path {os.fspath(path)!r} cannot be written: its parent directory "
            f"{str(target.parent)!r} does not exist; create it first"
        )
    return target


def _already_exists(path: Any) -> FileExistsError:
    return FileExistsError(f"path {os.fspath(path)!r} already exists; pass overwrite=True to replace it")


# -- files ------------------------------------------------------------------


def check_target_file(path: Any, overwrite: bool) -> pathlib.Path:
    """Checks that a file can be written at `path`, without writing anything.

    Args:
        path: the file to be written.
        overwrite: whether an existing file at `path` may be replaced.

    Returns:
        The absolute path.

    Raises:
        TypeError: if `path` is not a string or path-like object.
        FileNotFoundError: if the parent directory of `path` does not exist.
        IsADirectoryError: if `path` is an existing directory.
        FileExistsError: if `path` exists and `overwrite` is `False`.

    Example:

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> check_target_file(root / "model.onnx", overwrite=False) == root / "model.onnx"
    True
    """
    target = _absolute_target(path, "file")
    if target.is_dir():
        raise IsADirectoryError(
            f"path {os.fspath(path)!r} is an existing directory, and the export "
            "is a file: pass a file path such as model.onnx"
        )
    if target.exists() and not overwrite:
        raise _already_exists(path)
    return target


def write_file_atomically(
    path: str | os.PathLike, write: Callable[[pathlib.Path], None], *, overwrite: bool = False
) -> pathlib.Path:
    """Writes a file through a temporary sibling, then moves it into place.

    `write` fills a fresh empty temporary file beside the target and may
    check it there (raising to refuse it). When it returns, the file is
    synced to disk and moved to `path`: with `overwrite=True` by an atomic
    `os.replace`; otherwise by a hard link, which fails if a file appeared
    at `path` meanwhile, so an existing file is never replaced silently.
    The temporary file is removed whatever happens.

    Args:
        path: the file to create. Its parent directory must exist.
        write: a callable taking the temporary file (a `pathlib.Path`),
            writing the content there and verifying it.
        overwrite: whether to replace an existing file at `path`.
            Defaults to `False`.

    Returns:
        The absolute path of the file written.

    Raises:
        TypeError, FileNotFoundError, IsADirectoryError, FileExistsError:
            see `check_target_file`.
        Exception: whatever `write` raises, after the clean-up.

    Example:

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> target = write_file_atomically(root / "a.txt", lambda f: f.write_text("hi"))
    >>> target.read_text()
    'hi'
    """
    target = check_target_file(path, overwrite)
    handle, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.tmp-")
    os.close(handle)
    staging = pathlib.Path(name)
    try:
        write(staging)
        with open(staging, "rb+") as written:
            os.fsync(written.fileno())
        _move_file_into_place(staging, target, overwrite)
    finally:
        if staging.exists():
            staging.unlink()
    return target


def _move_file_into_place(staging: pathlib.Path, target: pathlib.Path, overwrite: bool) -> None:
    if overwrite:
        os.replace(staging, target)
        return
    # A hard link fails if the target appeared meanwhile: never a silent overwrite.
    try:
        os.link(staging, target)
    except FileExistsError:
        raise _already_exists(target) from None
    except OSError:  # file systems without hard links
        if target.exists():
            raise _already_exists(target) from None
        os.rename(staging, target)
        return
    staging.unlink()


# -- directories --------------------------------------------------------------


def write_directory_atomically(
    path: str | os.PathLike,
    write: Callable[[pathlib.Path], None],
    *,
    overwrite: bool = False,
    replace_only: Callable[[pathlib.Path], bool] | None = None,
) -> pathlib.Path:
    """Writes a directory through a temporary sibling, then renames it into place.

    `write` fills a fresh temporary directory created beside the target
    (`.NAME.tmp-XXXX`, same file system, so the final rename is atomic). Only
    when `write` returns is the directory renamed to `path`. Whatever happens
    (an exception in `write`, a full disk, Ctrl-C), the temporary directory
    is removed in a `finally` block and the target is left as it was.

    With `overwrite=True` an existing target is first moved aside
    (`.NAME.old-XXXX/NAME`), the new directory is renamed in, and only then is
    the old one deleted; if the second rename fails the old one is moved
    back. At every moment one complete directory sits at `path` or beside it.

    Args:
        path: the directory to create. Its parent must exist.
        write: a callable taking the temporary directory (a `pathlib.Path`)
            and writing the content there.
        overwrite: whether to replace an existing directory at `path`.
            Defaults to `False`.
        replace_only: see `check_target_directory`.

    Returns:
        The absolute path of the directory written.

    Raises:
        TypeError: if `path` is not a string or path-like object.
        FileNotFoundError: if the parent directory of `path` does not exist.
        NotADirectoryError: if `path` is an existing file.
        FileExistsError: if `path` exists and `overwrite` is `False`.
        Exception: whatever `write` raises, after the clean-up.

    Example:

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> def write(directory):
    ...     (directory / "hello.txt").write_text("hello")
    >>> target = write_directory_atomically(root / "out", write)
    >>> (target / "hello.txt").read_text()
    'hello'
    """
    target = check_target_directory(path, overwrite=overwrite, replace_only=replace_only)
    staging = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.tmp-"))
    try:
        write(staging)
        _rename_directory_into_place(staging, target, overwrite=overwrite)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def check_target_directory(
    path: Any,
    *,
    overwrite: bool = False,
    replace_only: Callable[[pathlib.Path], bool] | None = None,
) -> pathlib.Path:
    """Checks that a directory can be written at `path`, without writing anything.

    The checks `write_directory_atomically` makes first: callers run it
    before long work (training, tracing) so that an unusable path fails fast.

    Args:
        path: the directory to be written.
        overwrite: whether an existing directory at `path` may be replaced.
            Defaults to `False`. The current directory and its parents are
            never replaced.
        replace_only: when given, an existing non-empty directory is replaced
            only if `replace_only(directory)` is true (for exports: it holds a
            SavedModel), so `overwrite=True` never deletes unrelated work.

    Returns:
        The absolute path.

    Raises:
        TypeError: if `path` is not a string or path-like object.
        FileNotFoundError: if the parent directory of `path` does not exist.
        NotADirectoryError: if `path` is an existing file.
        FileExistsError: if `path` exists and `overwrite` is `False`, or
            `replace_only` refuses the existing directory.
        ValueError: if `overwrite` would replace the current directory or
            one of its parents.

    Example:

    >>> import pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> check_target_directory(root / "model") == root / "model"
    True
    >>> try:
    ...     check_target_directory(root)
    ... except FileExistsError:
    ...     print("refused: it exists")
    refused: it exists
    """
    target = _absolute_target(path, "directory")
    if target.exists() and not target.is_dir():
        raise NotADirectoryError(
            f"path {os.fspath(path)!r} is an existing file, and the export is a "
            "directory: pass a path that does not exist or an existing directory"
        )
    if target.exists() and not overwrite:
        raise _already_exists(path)
    if target.exists():
        _check_replaceable(target, os.fspath(path), replace_only=replace_only)
    return target


def _check_replaceable(
    target: pathlib.Path, given: str, *, replace_only: Callable[[pathlib.Path], bool] | None
) -> None:
    """Refuses to replace a directory that holds the user's work, not an export."""
    here = pathlib.Path(os.getcwd()).resolve()
    resolved = target.resolve()
    if given.strip() in ("", ".") or resolved == here or resolved in here.parents:
        raise ValueError(
            f"path {given!r} is the current directory or one of its parents; "
            "refusing to replace it: pass the path of the export directory itself"
        )
    if replace_only is not None and any(target.iterdir()) and not replace_only(target):
        raise FileExistsError(
            f"path {given!r} is a directory that does not hold a previous export; "
            "refusing to replace it even with overwrite=True: choose a new path, "
            "or delete that directory yourself"
        )


def _rename_directory_into_place(staging: pathlib.Path, target: pathlib.Path, *, overwrite: bool) -> None:
    if not target.exists():
        os.rename(staging, target)
        return
    if not overwrite:  # created while we were writing
        raise _already_exists(target)
    aside_root = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
    aside = aside_root / target.name
    try:
        os.rename(target, aside)
        os.rename(staging, target)
    except BaseException:
        # Whenever it struck (even between the two renames), put the
        # previous directory back if nothing sits at `target`.
        if aside.exists() and not target.exists():
            os.rename(aside, target)
        raise
    finally:
        # Delete the previous directory only once something sits at `target`
        # (the new one, or the old one moved back); never leave neither.
        if target.exists() or not aside.exists():
            shutil.rmtree(aside_root, ignore_errors=True)

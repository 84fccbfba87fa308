"""Linter settings: `[tool.stacked-keras]` in `pyproject.toml`, and path patterns.

The `stacked-keras lint` command reads its defaults from the nearest
`pyproject.toml` that has a `[tool.stacked-keras]` table, looking upward from
the first path it is given (or from the working directory); flags on the
command line win over the file. The Python API takes a `LintSettings` through
`lint(..., settings=...)`.

```toml
[tool.stacked-keras]
select = ["SK1", "SK2"]          # codes or prefixes to report (default: all)
ignore = ["SK203"]               # codes or prefixes never reported
fail-on = "warning"              # error | warning | info (default: error)
exclude = ["experiments/", "*_old.py"]   # gitignore-style patterns
respect-gitignore = true         # skip .gitignore'd paths in directory walks
per-file-ignores = { "notebooks/*.ipynb" = ["SK2"] }
```

Path patterns (`exclude`, `.gitignore` files) follow gitignore's rules for
the common forms: `*`, `?`, `[abc]`, a trailing `/` (directories only), a
leading or inner `/` (anchored to the file's directory), `**` (any number of
directories), `!` (re-include), `#` comments and `\\#`, `\\!` escapes. Not
supported: the global git excludes file (`core.excludesFile`) and re-including
a file whose parent directory is excluded (git does not allow it either).

Plain Python: no TensorFlow, no Keras.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from stacked_keras.lint.findings import SEVERITIES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "LintSettings",
    "SettingsError",
    "PathPatterns",
    "parse_codes",
    "find_pyproject",
    "load_settings",
    "settings_from_table",
    "SETTINGS_TABLE",
]

SETTINGS_TABLE = "stacked-keras"

# key in pyproject -> what it accepts (for error messages).
_ACCEPTED_KEYS = {
    "select": "a list of rule codes or prefixes, such as [\"SK1\", \"SK202\"]",
    "ignore": "a list of rule codes or prefixes, such as [\"SK203\"]",
    "fail-on": "one of " + ", ".join(repr(s) for s in reversed(SEVERITIES)),
    "exclude": "a list of gitignore-style patterns, such as [\"build/\", \"*_old.py\"]",
    "respect-gitignore": "true or false",
    "per-file-ignores": "a table of pattern = [codes], such as {\"tests/*\" = [\"SK2\"]}",
}

_CODE_PATTERN = re.compile(r"^SK\d{0,3}$")


class SettingsError(ValueError):
    """A setting (in `pyproject.toml` or on the command line) has a bad value.

    The message names the setting, the value received and what is accepted.
    """


def parse_codes(value: Any, *, setting: str, allow_empty: bool = True) -> tuple[str, ...]:
    """Reads a list of rule codes or prefixes.

    Accepts a comma-separated string (`"SK101,SK2"`, as on the command line)
    or a list of strings (as in `pyproject.toml`). Codes are upper-cased. A
    prefix (`"SK2"`, `"SK"`) stands for every code that starts with it.

    Args:
        value: the string or list to read.
        setting: the name of the setting, for error messages (`"select"`).
        allow_empty: whether no code at all (`""`, `[]`) is accepted.
            `ignore` may ignore nothing; a `select` that selects nothing
            would report nothing, so it is refused. Defaults to True.

    Returns:
        The codes, in the order given, without duplicates.

    Raises:
        SettingsError: for anything that is not a code or prefix of a known
            rule, naming `setting`, the value and the known codes; and for
            no code at all when `allow_empty` is False.

    Example:

    >>> parse_codes("sk101, SK2", setting="--select")
    ('SK101', 'SK2')
    """
    if isinstance(value, str):
        items: list[Any] = [part for part in value.split(",")]
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise SettingsError(
            f"{setting} must be a list of rule codes (or a comma-separated string), "
            f"got {value!r}"
        )
    codes: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise SettingsError(
                f"{setting} must hold rule codes as strings, got {item!r} in {value!r}"
            )
        code = item.strip().upper()
        if not code:
            if isinstance(value, str):
                continue  # "SK101," on a command line
            raise SettingsError(f"{setting} holds an empty code in {value!r}")
        if not _CODE_PATTERN.match(code) or not _known_codes_with_prefix(code):
            raise SettingsError(
                f"{setting} got {item!r}, which is neither a rule code nor the prefix "
                f"of one; known codes: {', '.join(_known_codes())}"
            )
        if code not in codes:
            codes.append(code)
    if not codes and not allow_empty:
        raise SettingsError(
            f"{setting} names no rule (known codes: {', '.join(_known_codes())}); give rule codes "
            f"or prefixes such as SK101,SK2, or leave it out to run every rule; got {value!r}"
        )
    return tuple(codes)


def _known_codes() -> list[str]:
    from stacked_keras.lint.rules.codes import CODES

    return sorted(CODES)


def _known_codes_with_prefix(prefix: str) -> list[str]:
    return [code for code in _known_codes() if code.startswith(prefix)]


def _parse_fail_on(value: Any, *, setting: str) -> str:
    if isinstance(value, str) and value.strip().lower() in SEVERITIES:
        return value.strip().lower()
    raise SettingsError(
        f"{setting} must be one of {', '.join(reversed(SEVERITIES))}, got {value!r}"
    )


# -- gitignore-style patterns -------------------------------------------------

@dataclass(frozen=True)
class _Pattern:
    regex: re.Pattern[str]
    negated: bool
    directory_only: bool
    text: str


def _translate_glob(pattern: str) -> str:
    """Regex source for one gitignore glob, matched against a relative posix path."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if pattern.startswith("**", i):
            before_ok = i == 0 or pattern[i - 1] == "/"
            after = pattern[i + 2] if i + 2 < n else ""
            if before_ok and after == "/":
                out.append("(?:.*/)?")  # `**/`: zero or more directories
                i += 3
                continue
            if before_ok and after == "":
                out.append(".*")  # trailing `/**`: everything inside
                i += 2
                continue
            out.append("[^/]*")  # `**` inside a name is a plain `*`
            i += 2
            continue
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = pattern.find("]", i + 2 if pattern[i + 1:i + 2] in ("!", "^") else i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1:end]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end + 1
                continue
        elif char == "\\" and i + 1 < n:
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def _compile_line(line: str) -> _Pattern | None:
    text = line.rstrip("\n").rstrip("\r")
    # Trailing spaces are ignored unless escaped.
    stripped = text.rstrip(" ")
    if stripped.endswith("\\") and len(text) > len(stripped):
        stripped += " "
    text = stripped
    if not text or text.startswith("#"):
        return None
    negated = False
    if text.startswith("!"):
        negated, text = True, text[1:]
    elif text.startswith(("\\!", "\\#")):
        text = text[1:]
    directory_only = text.endswith("/") and not text.endswith("\\/")
    text = text.rstrip("/")
    if not text:
        return None
    anchored = "/" in text
    text = text.lstrip("/")
    source = _translate_glob(text)
    if not anchored:
        source = "(?:.*/)?" + source
    return _Pattern(re.compile(source + r"\Z", re.DOTALL), negated, directory_only, line.strip())


class PathPatterns:
    """A list of gitignore-style patterns, relative to one base directory.

    The last pattern that matches a path decides: excluded, unless it is a
    `!` pattern, which re-includes the path.

    Args:
        lines: the patterns, one per item (the lines of a `.gitignore`).
        base: the directory the patterns are relative to.

    Example:

    >>> patterns = PathPatterns(["build/", "*.h5", "!keep.h5"], base=".")
    >>> patterns.matches("build", is_dir=True), patterns.matches("a/w.h5")
    (True, True)
    >>> patterns.matches("keep.h5")
    False
    """

    def __init__(self, lines: Iterable[str], base: str | os.PathLike[str]) -> None:
        self.base = Path(base)
        self._patterns = [p for p in (_compile_line(line) for line in lines) if p is not None]

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> "PathPatterns":
        """Patterns read from a `.gitignore` file (an unreadable file gives none)."""
        try:
            text = Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        return cls(text.splitlines(), base=Path(path).parent)

    def __bool__(self) -> bool:
        return bool(self._patterns)

    def __repr__(self) -> str:
        return f"PathPatterns({[p.text for p in self._patterns]!r}, base={str(self.base)!r})"

    def decision(self, relative: str, *, is_dir: bool) -> bool | None:
        """True (excluded), False (re-included by `!`) or None (no pattern matches).

        Args:
            relative: the path relative to `base`, with `/` separators.
            is_dir: whether the path is a directory (for `dir/` patterns).
        """
        result: bool | None = None
        for pattern in self._patterns:
            if pattern.directory_only and not is_dir:
                continue
            if pattern.regex.match(relative):
                result = not pattern.negated
        return result

    def matches(self, path: str | os.PathLike[str], *, is_dir: bool = False) -> bool:
        """Whether the patterns exclude `path` (relative to `base`, or absolute).

        Each parent directory is checked too, so `build/` excludes
        `build/x/model.py`. A path outside `base` is never excluded.
        """
        relative = self.relative(path)
        if relative is None:
            return False
        parts = relative.split("/")
        for depth in range(1, len(parts)):
            if self.decision("/".join(parts[:depth]), is_dir=True):
                return True
        return bool(self.decision(relative, is_dir=is_dir))

    def relative(self, path: str | os.PathLike[str]) -> str | None:
        """`path` relative to `base` with `/` separators, or None if outside it."""
        path = Path(path)
        if path.is_absolute() != self.base.is_absolute():
            path, base = Path(os.path.abspath(path)), Path(os.path.abspath(self.base))
        else:
            base = self.base
        try:
            relative = os.path.relpath(path, base)
        except ValueError:  # another drive on Windows
            return None
        relative = relative.replace(os.sep, "/")
        if relative == ".." or relative.startswith("../"):
            return None
        return "" if relative == "." else relative


# -- settings -------------------------------------------------------------------

@dataclass(frozen=True)
class LintSettings:
    """What to lint and what to report, as read from `[tool.stacked-keras]`.

    Args:
        select: codes or prefixes to report; None for every rule.
        ignore: codes or prefixes never to report.
        fail_on: the lowest severity that makes `stacked-keras lint` exit 1.
        exclude: gitignore-style patterns of paths not to lint, relative to
            `root`. They apply to files named explicitly too, so that they also
            work under pre-commit, which names every file.
        respect_gitignore: whether directory walks skip `.gitignore`d paths.
        per_file_ignores: pattern -> codes ignored in the files it matches.
        root: the directory patterns are relative to (the `pyproject.toml`'s
            directory; the working directory by default).
        source: the `pyproject.toml` the settings came from, if any.
    """

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()
    fail_on: str = "error"
    exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    root: str = "."
    source: str | None = None

    def replace(self, **changes: Any) -> "LintSettings":
        """A copy with the given fields changed; fields given as None are kept."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def exclude_patterns(self) -> PathPatterns:
        """The `exclude` patterns, relative to `root`."""
        return PathPatterns(self.exclude, base=self.root)

    def ignored_codes_for(self, path: str | None) -> tuple[str, ...]:
        """The codes `per_file_ignores` ignores in `path` (none for a live model)."""
        if path is None or not self.per_file_ignores:
            return ()
        codes: list[str] = []
        for pattern, pattern_codes in self.per_file_ignores.items():
            if PathPatterns([pattern], base=self.root).matches(path):
                codes.extend(c for c in pattern_codes if c not in codes)
        return tuple(codes)


def settings_from_table(table: Mapping[str, Any], *, root: str = ".",
                        source: str | None = None) -> LintSettings:
    """Validates a `[tool.stacked-keras]` table and returns the settings.

    Args:
        table: the table's contents, as `tomllib` reads them.
        root: the directory relative patterns are anchored to.
        source: the file the table came from, named in error messages.

    Returns:
        A `LintSettings`.

    Raises:
        SettingsError: for an unknown key or a bad value, naming the key, the
            value and what is accepted.
    """
    where = f" in {source}" if source else ""
    values: dict[str, Any] = {"root": root, "source": source}
    for key, value in table.items():
        name = key.replace("_", "-")
        setting = f"[tool.{SETTINGS_TABLE}] {key}{where}"
        if name not in _ACCEPTED_KEYS:
            raise SettingsError(
                f"unknown setting {key!r}{where}; accepted settings: {', '.join(_ACCEPTED_KEYS)}"
            )
        if name == "select":
            values["select"] = parse_codes(value, setting=setting, allow_empty=False)
        elif name == "ignore":
            values["ignore"] = parse_codes(value, setting=setting)
        elif name == "fail-on":
            values["fail_on"] = _parse_fail_on(value, setting=setting)
        elif name == "respect-gitignore":
            if not isinstance(value, bool):
                raise SettingsError(f"{setting} must be true or false, got {value!r}")
            values["respect_gitignore"] = value
        elif name == "exclude":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise SettingsError(f"{setting} must be {_ACCEPTED_KEYS['exclude']}, got {value!r}")
            values["exclude"] = tuple(value)
        elif name == "per-file-ignores":
            if not isinstance(value, Mapping):
                raise SettingsError(
                    f"{setting} must be {_ACCEPTED_KEYS['per-file-ignores']}, got {value!r}"
                )
            values["per_file_ignores"] = {
                str(pattern): parse_codes(codes, setting=f"{setting}[{pattern!r}]")
                for pattern, codes in value.items()
            }
    return LintSettings(**values)


def find_pyproject(start: str | os.PathLike[str] | None = None) -> Path | None:
    """The nearest `pyproject.toml` with a `[tool.stacked-keras]` table.

    Looks in the directory of `start` (or `start` itself when it is a
    directory; the working directory when None) and then in each parent.

    Returns:
        The file's path, or None when no such file exists.
    """
    here = Path(os.path.abspath(start if start is not None else os.getcwd()))
    if not here.is_dir():
        here = here.parent
    for directory in (here, *here.parents):
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            try:
                text = candidate.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            if f"[tool.{SETTINGS_TABLE}" in text or f'[tool."{SETTINGS_TABLE}"' in text:
                return candidate
    return None


def load_settings(start: str | os.PathLike[str] | None = None) -> LintSettings:
    """Settings from the nearest `pyproject.toml` above `start`, or the defaults.

    Args:
        start: a path to look upward from (the first path to lint); the
            working directory when None.

    Returns:
        A `LintSettings`; the defaults when no `pyproject.toml` has a
        `[tool.stacked-keras]` table.

    Raises:
        SettingsError: when the file is not valid TOML or holds a bad value.

    Example:

    >>> settings = load_settings("src/model.py")
    >>> settings.fail_on
    'error'
    """
    path = find_pyproject(start)
    if path is None:
        return LintSettings(root=os.getcwd())
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise SettingsError(f"cannot read settings from {path}: {error}") from None
    table = document.get("tool", {}).get(SETTINGS_TABLE)
    if table is None:
        return LintSettings(root=str(path.parent))
    if not isinstance(table, Mapping):
        raise SettingsError(f"[tool.{SETTINGS_TABLE}] in {path} must be a table, got {table!r}")
    return settings_from_table(table, root=str(path.parent), source=str(path))

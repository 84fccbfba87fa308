"""The linter's verbs of the `stacked-keras` command: `lint`, `rule`, `rules`.

`add_commands(subparsers)` registers them on the main parser's subparsers;
each parsed namespace carries the verb's function as `args.handler`, which
takes the namespace and returns the exit status:

- `stacked-keras lint [PATHS...]`: 0 nothing at or above the failing
  severity, 1 findings at or above it, 2 usage error or no readable input.
- `stacked-keras rule SK101`: the rule's page; 2 for an unknown code.
- `stacked-keras rules`: one line per rule.

Nothing here imports TensorFlow or Keras.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import defaultdict
from typing import Any, TextIO

from stacked_keras.lint.findings import SEVERITIES
from stacked_keras.lint.settings import SettingsError, load_settings, parse_codes

__all__ = ["add_commands", "run_lint", "run_rule", "run_rules", "FORMATS"]

FORMATS = ("text", "json", "sarif")
_PROG = "stacked-keras"


def _error(message: str) -> int:
    print(f"{_PROG}: error: {message}", file=sys.stderr)
    return 2


def _use_color(stream: TextIO) -> bool:
    """Colour when writing to a terminal, unless NO_COLOR is set (FORCE_COLOR forces it)."""
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty())


def add_commands(subparsers: Any) -> None:
    """Registers `lint`, `rule` and `rules` on the `stacked-keras` subparsers.

    Args:
        subparsers: what `ArgumentParser.add_subparsers()` returned.

    Example:

    ```python
    parser = argparse.ArgumentParser(prog="stacked-keras")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_commands(subparsers)
    args = parser.parse_args(["lint", "models/"])
    status = args.handler(args)
    ```
    """
    lint_parser = subparsers.add_parser(
        "lint",
        help="find broken vertical connections in models (source, notebooks, saved files)",
        description=(
            "Lint Keras models for broken vertical connections between stacked recurrent "
            "layers. Reads .py, .ipynb, .keras, .h5/.hdf5 and Keras config .json files as "
            "data, without importing TensorFlow or running any code. Settings come from "
            "[tool.stacked-keras] in the nearest pyproject.toml; flags win. Exit status: 0 "
            "nothing at or above the failing severity, 1 findings at or above it, 2 usage "
            "error or no readable input."
        ),
    )
    lint_parser.add_argument(
        "paths", nargs="*", metavar="PATH",
        help="files or directories to lint (directories are walked; default: .)",
    )
    lint_parser.add_argument(
        "--format", choices=FORMATS, default="text",
        help="text (default), json (a list of findings) or sarif (SARIF 2.1.0 for code scanning)",
    )
    lint_parser.add_argument(
        "--select", metavar="CODES",
        help="comma-separated rule codes or prefixes to report, such as SK101,SK2 (default: all)",
    )
    lint_parser.add_argument(
        "--ignore", metavar="CODES",
        help="comma-separated rule codes or prefixes never to report",
    )
    lint_parser.add_argument(
        "--fail-on", choices=tuple(reversed(SEVERITIES)), default=None,
        help="lowest severity that makes the exit status 1 (default: error)",
    )
    lint_parser.add_argument(
        "--fix", action="store_true",
        help="rewrite .py and .ipynb files in place to fix SK101, then report what remains",
    )
    lint_parser.add_argument(
        "--output", "-o", metavar="FILE",
        help="write the report to FILE instead of standard output",
    )
    lint_parser.add_argument(
        "--no-gitignore", action="store_true",
        help="also lint paths that .gitignore files ignore",
    )
    lint_parser.set_defaults(handler=run_lint)

    rule_parser = subparsers.add_parser(
        "rule", help="explain one rule (what it finds, why, and the fix)",
        description="Print the documentation page of a rule, such as SK101.",
    )
    rule_parser.add_argument("code", metavar="CODE", help="the rule code, such as SK101")
    rule_parser.set_defaults(handler=run_rule)

    rules_parser = subparsers.add_parser(
        "rules", help="list every lint rule", description="List every lint rule, one per line.",
    )
    rules_parser.set_defaults(handler=run_rules)


def _apply_fixes(report: Any) -> tuple[list[str], int, list[str]]:
    """Rewrites source files for their SK101 findings.

    Returns:
        The files changed, how many SK101 findings were fixed in them, and
        one line per place left alone saying why (and the form to write).
    """
    from stacked_keras.lint import SOURCE_SUFFIXES
    from stacked_keras.lint.fix_source import rewrite_file

    by_path: dict[str, list[Any]] = defaultdict(list)
    for finding in report.findings:
        if finding.code == "SK101" and finding.path and \
                os.path.splitext(finding.path)[1].lower() in SOURCE_SUFFIXES:
            by_path[finding.path].append(finding)
    changed = []
    applied = 0
    not_fixed: dict[str, None] = {}
    for path, findings in by_path.items():
        try:
            rewrite = rewrite_file(path, findings)
        except (OSError, ValueError) as error:
            print(f"{_PROG}: warning: could not fix {path}: {error}", file=sys.stderr)
            continue
        if rewrite.applied:
            changed.append(path)
            applied += len(rewrite.applied)
        for finding, reason in rewrite.skipped:
            cell = f"cell {finding.cell}:" if finding.cell is not None else ""
            not_fixed[f"{path}:{cell}{finding.line}:{finding.column}: not fixed: {reason}"] = None
    return changed, applied, list(not_fixed)


def _excluded_note(paths: list[str], source: str | None) -> str:
    """The one stderr line naming the files given but skipped by the `exclude` setting."""
    shown = ", ".join(paths[:5]) + (f" and {len(paths) - 5} more" if len(paths) > 5 else "")
    where = f" in {source}" if source else ""
    noun = "file" if len(paths) == 1 else "files"
    return f"{_PROG}: skipped {len(paths)} {noun} excluded by [tool.stacked-keras] exclude{where}: {shown}"


def run_lint(args: argparse.Namespace) -> int:
    """`stacked-keras lint`: lints the paths and prints the report.

    Returns:
        0 nothing at or above the failing severity, 1 findings at or above
        it, 2 usage error or no readable input.
    """
    # Static linting never loads TensorFlow; should a front-end ever do so,
    # its start-up logging must not drown the report.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from stacked_keras.lint import lint

    paths = list(args.paths) or ["."]
    try:
        settings = load_settings(paths[0])
        settings = settings.replace(
            select=parse_codes(args.select, setting="--select", allow_empty=False) if args.select is not None else None,
            ignore=parse_codes(args.ignore, setting="--ignore") if args.ignore is not None else None,
            fail_on=args.fail_on,
            respect_gitignore=False if args.no_gitignore else None,
        )
    except SettingsError as error:
        return _error(str(error))

    report = lint(paths, settings=settings)
    if report.excluded:  # named on the command line, left out on purpose: say so
        print(_excluded_note(report.excluded, settings.source), file=sys.stderr)
    notes: list[str] = []
    if args.fix:
        changed, fixed, not_fixed = _apply_fixes(report)
        if changed:
            report = lint(paths, settings=settings)  # the report shows what remains
        notes.append(
            f"Fixed {fixed} SK101 finding{'s' if fixed != 1 else ''} "
            f"in {len(changed)} file{'s' if len(changed) != 1 else ''}."
        )
        notes.extend(not_fixed)

    if args.format == "json":
        text = report.to_json()
    elif args.format == "sarif":
        text = report.to_sarif()
    else:
        color = args.output is None and _use_color(sys.stdout)
        text = report.format_text(color=color)
        if notes:
            text = "\n".join([*notes, text])
            notes = []

    if args.output is not None:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as error:
            return _error(f"--output cannot write {args.output}: {error}")
    else:
        sys.stdout.write(text + "\n")
    for note in notes:
        print(note, file=sys.stderr)
    return report.exit_code()


def run_rule(args: argparse.Namespace) -> int:
    """`stacked-keras rule CODE`: prints the rule's page; 2 for an unknown code."""
    from stacked_keras.lint.rules import rule_page

    try:
        page = rule_page(args.code.strip().upper())
    except (KeyError, ValueError) as error:
        message = error.args[0] if error.args else str(error)
        return _error(f"rule got {args.code!r}: {message}")
    sys.stdout.write(page.rstrip("\n") + "\n")
    return 0


def run_rules(args: argparse.Namespace) -> int:
    """`stacked-keras rules`: prints one line per rule."""
    from stacked_keras.lint.rules import rules_table

    sys.stdout.write(rules_table().rstrip("\n") + "\n")
    return 0

"""The `stacked-keras` command (also `python -m stacked_keras`).

Verbs:

- `stacked-keras demo`: the main job, no input needed: build, describe,
  train, export and reload a deep LSTM (`stacked_keras.demo.run_demo`).
- `stacked-keras build CELL --units ... (--input-shape ... | --vocab-size N)`:
  build a stack with `stacked_keras.builders.deep_rnn`, print its
  `describe` table and, with `--export DIR`, export it as a SavedModel.
- `stacked-keras lint PATHS...`, `rule CODE`, `rules`: the linter
  (`stacked_keras.lint.cli`).

Each verb is registered by a small function taking the subparsers object
(`add_build_command`, `add_demo_command`); a verb's parser sets `handler`
(`parser.set_defaults(handler=...)`), a callable taking the parsed
`argparse.Namespace` and returning the exit code; the linter's verbs come
from `stacked_keras.lint.cli.add_commands` the same way.

`--help` and `--version` import neither TensorFlow nor Keras: only the verbs
that build or export a model do. A `ValueError` (bad arguments, caught by
the builders' validation), an `OSError` (an unusable export path) or a
`RuntimeError` (an export that failed verification) becomes one line on
standard error, `stacked-keras: error: ...`, and exit code 2.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Sequence
from typing import Any

from stacked_keras._version import __version__
from stacked_keras.lint.cli import add_commands as add_lint_commands
from stacked_keras.dependencies import MissingDependencyError
from stacked_keras.quiet_start import import_tensorflow_quietly

__all__ = ["main", "build_parser", "add_build_command", "add_demo_command"]

PROG = "stacked-keras"

# Exit codes: 0 success, 2 usage error or failed command (argparse's own code
# for usage errors), 130 interrupted by Ctrl-C (128 + SIGINT).
EXIT_OK = 0
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

CELLS = ("lstm", "gru", "simple_rnn")
HEADS = ("regression", "binary", "multiclass", "tagger")
OUTPUTS = ("last", "sequence")


def _dimension(text: str) -> int | None:
    """An `--input-shape` value: an int, or `none` for a variable length."""
    if text.lower() in ("none", "?"):
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"invalid dimension {text!r}: give an integer, or 'none' for a "
            "variable number of timesteps"
        ) from None


def _refuse_existing_directory(flag: str, path: str | None, overwrite: bool) -> None:
    """Fails fast, in the command line's own words, before any model is built."""
    if path is not None and os.path.exists(path) and not os.path.isdir(path):
        raise NotADirectoryError(
            f"{flag} {path!r} is an existing file, and the export is a directory: "
            "pass a path that does not exist"
        )
    if path is not None and os.path.isdir(path) and not overwrite:
        raise FileExistsError(
            f"{flag} {path!r} already exists; pass --overwrite to replace it"
        )


# Builder argument -> the flag that sets it, so errors speak the command's words.
_FLAGS = {
    "input_shape": "--input-shape",
    "vocab_size": "--vocab-size",
    "num_classes": "--num-classes",
    "bidirectional": "--bidirectional",
    "dropout": "--dropout",
    "output": "--output",
    "units": "--units",
    "head": "--head",
    "cell": "CELL",
}
_FLAG_PATTERN = re.compile(r"(?<![\w-])(" + "|".join(_FLAGS) + r")(?![\w-])")


def _in_flag_words(message: str) -> str:
    """`units[1] must be ...` -> `--units[1] must be ...`."""
    return _FLAG_PATTERN.sub(lambda match: _FLAGS[match.group(1)], message)


def _run_build(args: argparse.Namespace) -> int:
    import_tensorflow_quietly()
    export_onnx_path = getattr(args, "export_onnx", None)
    if args.overwrite and args.export is None and export_onnx_path is None:
        raise ValueError("--overwrite replaces an export: it needs --export DIR or --export-onnx PATH")
    _refuse_existing_directory("--export", args.export, args.overwrite)
    from stacked_keras.builders import build_stack, normalize_stack_arguments

    # Validate first: pure Python, so a bad argument fails before TensorFlow loads.
    try:
        spec = normalize_stack_arguments(
            args.cell,
            list(args.units),
            input_shape=tuple(args.input_shape) if args.input_shape is not None else None,
            vocab_size=args.vocab_size,
            bidirectional=args.bidirectional,
            dropout=args.dropout,
            output=args.output,
            head=args.head,
            num_classes=args.num_classes,
        )
    except ValueError as error:
        raise ValueError(_in_flag_words(str(error))) from None
    if args.export is not None:
        from stacked_keras.export import check_target_directory, is_saved_model

        check_target_directory(args.export, overwrite=args.overwrite, replace_only=is_saved_model)
    if export_onnx_path is not None:
        from stacked_keras.onnx_export import check_target_file, require_onnx

        require_onnx()
        check_target_file(export_onnx_path, args.overwrite)
    from stacked_keras.describe import describe

    model = build_stack(spec)
    print(describe(model))
    if args.export is not None:
        from stacked_keras.export import export_saved_model

        print(export_saved_model(model, args.export, overwrite=args.overwrite))
    if export_onnx_path is not None:
        from stacked_keras.onnx_export import export_onnx

        print(export_onnx(model, export_onnx_path, overwrite=args.overwrite))
    return EXIT_OK


def add_build_command(subparsers: Any) -> argparse.ArgumentParser:
    """Registers `stacked-keras build`.

    Args:
        subparsers: the object `ArgumentParser.add_subparsers()` returned.

    Returns:
        The verb's parser.
    """
    parser = subparsers.add_parser(
        "build",
        help="build a deep recurrent stack, describe it, optionally export it",
        description=(
            "Build a deep (stacked) recurrent network with stacked_keras.deep_rnn:\n"
            "every layer but the top one returns its whole sequence. Prints the\n"
            "stack in the seed's notation (U^L, W^L, B^L per layer) and, with\n"
            "--export, writes a verified SavedModel whose batch and time\n"
            "dimensions are dynamic."
        ),
        epilog=(
            "examples:\n"
            "  stacked-keras build lstm --units 64 32 --input-shape 30 8 --head binary\n"
            "  stacked-keras build gru --units 32 32 --vocab-size 5000 "
            "--bidirectional --head multiclass --num-classes 4 --export model_dir"
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "cell", type=str.lower, choices=CELLS, help="the recurrent cell of every layer"
    )
    parser.add_argument(
        "--units",
        type=int,
        nargs="+",
        required=True,
        metavar="N",
        help="units per layer, bottom to top (e.g. 64 32: two layers)",
    )
    parser.add_argument(
        "--input-shape",
        type=_dimension,
        nargs="+",
        metavar="DIM",
        help=(
            "TIMESTEPS FEATURES of numeric sequences, TIMESTEPS 'none' for "
            "variable length (e.g. 30 8 or none 8); with --vocab-size, "
            "TIMESTEPS only"
        ),
    )
    parser.add_argument(
        "--vocab-size",
        type=int,
        metavar="N",
        help="the inputs are token ids below N, read by an Embedding (mask_zero)",
    )
    parser.add_argument(
        "--bidirectional",
        action="store_true",
        help="wrap every recurrent layer in Bidirectional",
    )
    parser.add_argument(
        "--dropout",
        type=float,
        default=0.0,
        metavar="RATE",
        help="the recurrent layers' input dropout, in [0, 1) (default 0)",
    )
    parser.add_argument("--head", choices=HEADS, help="the output head (default: none)")
    parser.add_argument(
        "--num-classes",
        type=int,
        metavar="N",
        help="classes for multiclass and tagger heads, outputs for regression",
    )
    parser.add_argument(
        "--output",
        choices=OUTPUTS,
        help="'last': one vector per sample; 'sequence': one per timestep",
    )
    parser.add_argument(
        "--export",
        metavar="DIR",
        help="export the (untrained) model as a SavedModel to DIR",
    )
    parser.add_argument(
        "--export-onnx",
        metavar="PATH",
        help="export the (untrained) model as an ONNX file with native LSTM/GRU/RNN nodes, "
        "verified in onnxruntime",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing export DIR or ONNX file"
    )
    parser.set_defaults(handler=_run_build)
    return parser


def _run_demo(args: argparse.Namespace) -> int:
    _refuse_existing_directory("--export-dir", args.export_dir, args.overwrite)
    import_tensorflow_quietly()
    from stacked_keras.demo import run_demo

    run_demo(
        epochs=args.epochs,
        export_dir=args.export_dir,
        seed=args.seed,
        overwrite=args.overwrite,
    )
    return EXIT_OK


def add_demo_command(subparsers: Any) -> argparse.ArgumentParser:
    """Registers `stacked-keras demo`.

    Args:
        subparsers: the object `ArgumentParser.add_subparsers()` returned.

    Returns:
        The verb's parser.
    """
    parser = subparsers.add_parser(
        "demo",
        help="the main job: build, train, describe, export and reload a deep LSTM",
        description=(
            "Build a two-layer LSTM, print its stack, train it for a few "
            "seconds on sequences it generates (with Keras's progress bar), "
            "print the loss before and after, export a SavedModel, reload it "
            "with TensorFlow alone and print the largest output difference."
        ),
    )
    parser.add_argument(
        "--epochs", type=int, default=5, metavar="N", help="training epochs (default 5)"
    )
    parser.add_argument(
        "--export-dir",
        metavar="DIR",
        help="where to write the SavedModel (default: a new temporary directory)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --export-dir"
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the data and weights (default 0)"
    )
    parser.set_defaults(handler=_run_demo)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The `stacked-keras` argument parser, with every verb registered.

    Returns:
        An `argparse.ArgumentParser` whose parsed namespace carries
        `handler`, the verb to run.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "Deep (stacked) recurrent networks for Keras 3: build stacks with "
            "return_sequences wired right, describe them, export them as "
            "SavedModels that serve anywhere."
        ),
        epilog="Start with: stacked-keras demo",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    subparsers = parser.add_subparsers(title="commands", metavar="COMMAND")
    add_demo_command(subparsers)
    add_build_command(subparsers)
    add_lint_commands(subparsers)  # lint, rule, rules
    return parser


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return text or type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the `stacked-keras` command.

    Args:
        argv: the arguments, without the program name. Defaults to `None`:
            `sys.argv[1:]`.

    Returns:
        The exit code: 0 on success, 2 for a usage error or a failed
        command (with one line `stacked-keras: error: ...` on standard
        error), 130 when interrupted.

    Example:

    >>> main(["--version"])
    stacked-keras 0.1.0
    0
    """
    # TensorFlow's C++ logging after start-up (the start-up lines themselves
    # are filtered by `import_tensorflow_quietly` in the verbs that build).
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exit:  # --help, --version, usage errors
        if exit.code is None or isinstance(exit.code, int):
            return exit.code or EXIT_OK
        return EXIT_USAGE
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help(sys.stderr)
        return EXIT_USAGE
    try:
        return int(handler(args))
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ValueError, OSError, RuntimeError, MissingDependencyError) as error:
        print(f"{PROG}: error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USAGE

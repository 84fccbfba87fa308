"""How many model files per second `stacked_keras.lint` reads and checks.

Generates a corpus of model files in a temporary directory (Python source
written the ways people write Keras models: `Sequential([...])`, `.add` calls,
the functional API and subclassed models, broken and correct; notebooks; and
`model.to_json()` config files), lints it in-process with `stacked_keras.lint`
and prints files per second (median of several runs, by wall-clock and by
CPU time) per kind and overall, with the findings count. The target is at least 1,000 files per second.

Generating the corpus needs neither TensorFlow nor Keras, and linting it must
not load them either: the script checks `sys.modules` at the end.

Usage:

    python benchmarks/lint_throughput.py [--files 1000] [--runs 3] [--seed 0]
    python -m benchmarks.lint_throughput
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

CELLS = ("LSTM", "GRU", "SimpleRNN")

# Share of each kind of file in the corpus.
MIX = {"sequential": 0.25, "sequential_add": 0.15, "functional": 0.2, "subclassed": 0.1,
       "notebook": 0.15, "config": 0.15}


def _flags(depth: int, broken: bool, rng: random.Random) -> list[bool]:
    """return_sequences for each layer of a stack; one break when `broken`."""
    flags = [i < depth - 1 for i in range(depth)]
    if broken and depth > 1:
        flags[rng.randrange(depth - 1)] = False
    return flags


def _layer(cell: str, units: int, seq: bool, rng: random.Random, prefix: str = "layers.") -> str:
    args = [str(units)]
    if seq:
        args.append("return_sequences=True")
    if rng.random() < 0.3:
        args.append(f"dropout={rng.choice([0.1, 0.2])}")
    call = f"{prefix}{cell}({', '.join(args)})"
    if rng.random() < 0.15:
        call = f"{prefix}Bidirectional({call})"
    return call


def sequential_source(rng: random.Random, broken: bool) -> str:
    depth, cell = rng.randint(2, 4), rng.choice(CELLS)
    timesteps, features = rng.randint(5, 50), rng.randint(1, 16)
    lines = [f"    keras.Input(({timesteps}, {features})),"]
    for units, seq in zip([rng.choice([16, 32, 64]) for _ in range(depth)], _flags(depth, broken, rng)):
        lines.append(f"    {_layer(cell, units, seq, rng)},")
        if rng.random() < 0.2:
            lines.append("    layers.Dropout(0.2),")
    lines.append(f"    layers.Dense({rng.choice([1, 10])}, activation={rng.choice(['None', repr('softmax')])}),")
    return (
        "import keras\nfrom keras import layers\n\n\n"
        "# A stacked recurrent model.\n"
        "model = keras.Sequential([\n" + "\n".join(lines) + "\n])\n"
        f"model.compile(optimizer='adam', loss={rng.choice(['mse', 'sparse_categorical_crossentropy'])!r})\n"
    )


def sequential_add_source(rng: random.Random, broken: bool) -> str:
    depth, cell = rng.randint(2, 5), rng.choice(CELLS)
    lines = ["import tensorflow as tf", "", "model = tf.keras.Sequential()",
             f"model.add(tf.keras.Input(shape=({rng.randint(5, 40)}, {rng.randint(1, 8)})))"]
    for units, seq in zip([rng.choice([8, 16, 32]) for _ in range(depth)], _flags(depth, broken, rng)):
        lines.append(f"model.add({_layer(cell, units, seq, rng, prefix='tf.keras.layers.')})")
    lines += ["model.add(tf.keras.layers.Dense(1))", "model.compile(loss='mse')", ""]
    return "\n".join(lines)


def functional_source(rng: random.Random, broken: bool) -> str:
    depth, cell = rng.randint(2, 4), rng.choice(CELLS)
    lines = ["from tensorflow import keras", "from tensorflow.keras.layers import Dense, Input, "
             f"{cell}", "", "", "def build():",
             f"    inputs = Input(shape=(None, {rng.randint(1, 8)}))", "    x = inputs"]
    for units, seq in zip([rng.choice([16, 32]) for _ in range(depth)], _flags(depth, broken, rng)):
        rs = ", return_sequences=True" if seq else ""
        lines.append(f"    x = {cell}({units}{rs})(x)")
    lines += ["    outputs = Dense(1)(x)", "    return keras.Model(inputs, outputs)", "", "",
              "model = build()", ""]
    return "\n".join(lines)


def subclassed_source(rng: random.Random, broken: bool) -> str:
    depth, cell = rng.randint(2, 4), rng.choice(CELLS)
    body = ["import keras", "", "", "class StackedModel(keras.Model):",
            "    def __init__(self):", "        super().__init__()"]
    calls = []
    for i, (units, seq) in enumerate(zip([32] * depth, _flags(depth, broken, rng))):
        rs = ", return_sequences=True" if seq else ""
        body.append(f"        self.rnn_{i} = keras.layers.{cell}({units}{rs})")
        calls.append(f"        x = self.rnn_{i}(x)")
    body += ["        self.head = keras.layers.Dense(1)", "", "    def call(self, x):", *calls,
             "        return self.head(x)", ""]
    return "\n".join(body)


def notebook_text(rng: random.Random, broken: bool) -> str:
    source = sequential_source(rng, broken)
    imports, _, rest = source.partition("\n\n\n")
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Training a stacked RNN\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["%matplotlib inline\n", *(imports + "\n").splitlines(keepends=True)]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": rest.splitlines(keepends=True)},
        {"cell_type": "code", "execution_count": 3, "metadata": {}, "outputs": [],
         "source": ["model.summary()\n"]},
    ]
    return json.dumps({"cells": cells, "metadata": {"kernelspec": {"name": "python3"}},
                       "nbformat": 4, "nbformat_minor": 5}, indent=1)


def config_text(rng: random.Random, broken: bool, index: int) -> str:
    """A `model.to_json()`-shaped config (Keras 3 format) of a Sequential stack."""
    depth, cell = rng.randint(2, 4), rng.choice(CELLS)

    def entry(class_name: str, config: dict) -> dict:
        return {"module": "keras.layers", "class_name": class_name, "config": config, "registered_name": None}

    layers = [entry("InputLayer", {"batch_shape": [None, rng.randint(5, 40), rng.randint(1, 8)],
                                   "dtype": "float32", "sparse": False, "name": "input_layer"})]
    for i, seq in enumerate(_flags(depth, broken, rng)):
        layers.append(entry(cell, {
            "name": f"{cell.lower()}_{i}", "trainable": True, "dtype": "float32",
            "return_sequences": seq, "return_state": False, "go_backwards": False, "stateful": False,
            "unroll": False, "units": rng.choice([16, 32]), "activation": "tanh",
            "use_bias": True, "dropout": 0.0, "recurrent_dropout": 0.0, "seed": None,
        }))
    layers.append(entry("Dense", {"name": "dense", "units": 1, "activation": "linear", "use_bias": True}))
    model = {"module": "keras", "class_name": "Sequential",
             "config": {"name": f"model_{index}", "trainable": True, "layers": layers},
             "registered_name": None}
    return json.dumps(model)


def generate_corpus(folder: Path, count: int, seed: int = 0) -> dict[str, list[Path]]:
    """Writes `count` model files into `folder`; returns the paths by kind."""
    rng = random.Random(seed)
    kinds = list(MIX)
    weights = [MIX[k] for k in kinds]
    by_kind: dict[str, list[Path]] = {k: [] for k in kinds}
    makers = {"sequential": sequential_source, "sequential_add": sequential_add_source,
              "functional": functional_source, "subclassed": subclassed_source}
    for index in range(count):
        kind = rng.choices(kinds, weights)[0]
        broken = rng.random() < 0.4
        subfolder = folder / kind
        subfolder.mkdir(exist_ok=True)
        if kind == "notebook":
            path, text = subfolder / f"nb_{index:04d}.ipynb", notebook_text(rng, broken)
        elif kind == "config":
            path, text = subfolder / f"model_{index:04d}.json", config_text(rng, broken, index)
        else:
            path, text = subfolder / f"model_{index:04d}.py", makers[kind](rng, broken)
        path.write_text(text, encoding="utf-8")
        by_kind[kind].append(path)
    return by_kind


def time_lint(paths: list[Path] | Path, runs: int) -> tuple[float, float, object]:
    """Median wall and CPU seconds of `runs` lint calls over `paths`, and the last report.

    CPU time (`time.process_time`) is what the lint costs this process; on a
    machine shared with other work it is the fairer figure, since wall time
    then also counts the time other processes held the CPU.
    """
    from stacked_keras import lint

    wall, cpu, report = [], [], None
    for _ in range(runs):
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        report = lint(paths)
        wall.append(time.perf_counter() - start_wall)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(wall), statistics.median(cpu), report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000, help="corpus size (default 1000)")
    parser.add_argument("--runs", type=int, default=3, help="timed runs; the median is reported (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="corpus random seed (default 0)")
    args = parser.parse_args(argv)
    if args.files < 1 or args.runs < 1:
        parser.error(f"--files and --runs must be positive, got {args.files} and {args.runs}")

    with tempfile.TemporaryDirectory(prefix="sk-lint-bench-") as tmp:
        folder = Path(tmp)
        by_kind = generate_corpus(folder, args.files, args.seed)
        print(f"stacked-keras lint throughput: {args.files} generated files, median of {args.runs} runs")
        print(f"{'kind':<16}{'files':>7}{'wall s':>9}{'files/s':>9}{'CPU s':>9}{'files/s':>9}{'findings':>10}")

        def row(name: str, count: int, wall: float, cpu: float, findings: int) -> None:
            print(f"{name:<16}{count:>7}{wall:>9.3f}{count / wall:>9.0f}{cpu:>9.3f}"
                  f"{count / max(cpu, 1e-9):>9.0f}{findings:>10}")

        for kind, paths in by_kind.items():
            if paths:
                wall, cpu, report = time_lint(paths, args.runs)
                row(kind, len(paths), wall, cpu, len(report.findings))
        wall, cpu, report = time_lint(folder, args.runs)
        total = len(report.files)
        row("all (directory)", total, wall, cpu, len(report.findings))
        print(f"models: {report.models}; {report.summary()}")
        unread = {f.code for f in report.findings if f.code.startswith("SK0")}
        if unread:
            print(f"warning: some generated files could not be read: {sorted(unread)}")
        print(f"throughput: {total / wall:.0f} files/s wall, {total / max(cpu, 1e-9):.0f} files/s CPU "
              "(target >= 1000)")
    heavy = sorted(m for m in ("tensorflow", "keras") if m in sys.modules)
    if heavy:
        print(f"error: static linting imported {heavy}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

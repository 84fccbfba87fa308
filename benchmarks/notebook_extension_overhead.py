"""How long `%load_ext stacked_keras` adds to a notebook cell.

Runs cells in a real IPython `InteractiveShell` with the extension loaded and
times its `post_run_cell` callback alone (what the extension adds to each
cell), in four cases:

- a plain cell before Keras is imported;
- a plain cell (no Keras name in its source) with Keras imported and three
  models in the namespace, after a 30-cell history;
- a cell that builds a correct model (read statically with the whole history,
  and the new live model linted);
- a cell that builds a broken model (the same, plus the display).

Prints the median and the 90th percentile of each, in milliseconds.

Usage:

    python -m benchmarks.notebook_extension_overhead [--rounds 30]
"""

from __future__ import annotations

import argparse
import statistics
import time

# Thirty cells of an ordinary notebook: data, a model, training, plots.
HISTORY = [
    "import numpy as np",
    "rng = np.random.default_rng(0)",
    "x_train = rng.random((64, 20, 3)).astype('float32')",
    "y_train = rng.random((64, 1)).astype('float32')",
    "def window(series, size):\n    return np.stack([series[i:i + size] for i in range(len(series) - size)])",
    "series = np.sin(np.linspace(0, 20, 500))",
    "w = window(series, 20)",
    "print(w.shape)",
] * 3 + [
    "total = 0\nfor i in range(10):\n    total += i",
    "results = {'loss': [0.5, 0.4, 0.3]}",
    "names = [f'run_{i}' for i in range(5)]",
    "summary = {name: len(name) for name in names}",
    "best = min(results['loss'])",
    "print(best)",
]

PLAIN = "total = sum(range(100))"
CLEAN = (
    "clean = keras.Sequential([keras.layers.LSTM(8, return_sequences=True), "
    "keras.layers.LSTM(8), keras.layers.Dense(1)])"
)
BROKEN = "broken = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(8), keras.layers.Dense(1)])"


def _shell():
    from IPython.core.displaypub import CapturingDisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    shell = InteractiveShell.instance(config=config)
    shell.display_pub = CapturingDisplayPublisher()
    return shell


def _timed_callback(shell):
    """Replaces the extension's callback with one that records its seconds."""
    from stacked_keras.notebook_extension import _LINTERS

    linter = _LINTERS[id(shell)]
    shell.events.unregister("post_run_cell", linter.post_run_cell)
    seconds: list[float] = []

    def timed(result):
        start = time.perf_counter()
        linter.post_run_cell(result)
        seconds.append(time.perf_counter() - start)

    shell.events.register("post_run_cell", timed)
    return linter, seconds


def _measure(shell, linter, seconds, source: str, rounds: int, keep: int) -> list[float]:
    taken = []
    for _ in range(rounds):
        seconds.clear()
        assert shell.run_cell(source, store_history=True).success
        taken.append(seconds[0])
        del linter.cells[keep:]  # the history stays the same size
    return taken


def _row(name: str, taken: list[float]) -> str:
    ms = sorted(t * 1000 for t in taken)
    p90 = ms[int(0.9 * (len(ms) - 1))]
    return f"{name:<52} median {statistics.median(ms):8.3f} ms   p90 {p90:8.3f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="cells timed per case")
    args = parser.parse_args()
    shell = _shell()
    shell.run_cell("%load_ext stacked_keras", store_history=True)
    linter, seconds = _timed_callback(shell)
    for cell in HISTORY:
        shell.run_cell(cell, store_history=True)
    keep = len(linter.cells)
    rows = [_row("plain cell, Keras not imported", _measure(shell, linter, seconds, PLAIN, args.rounds, keep))]
    shell.run_cell(
        "import keras\n"
        "a = keras.Sequential([keras.Input((20, 3)), keras.layers.GRU(8), keras.layers.Dense(1)])\n"
        "b = keras.Sequential([keras.layers.LSTM(16, return_sequences=True), keras.layers.LSTM(16)])\n"
        "c = keras.Sequential([keras.layers.Dense(4)])",
        store_history=True,
    )
    keep = len(linter.cells)
    rows.append(_row("plain cell, Keras imported, 3 models in the namespace",
                     _measure(shell, linter, seconds, PLAIN, args.rounds, keep)))
    rows.append(_row("cell building a correct model", _measure(shell, linter, seconds, CLEAN, args.rounds, keep)))
    rows.append(_row("cell building a broken model (shown)",
                     _measure(shell, linter, seconds, BROKEN, args.rounds, keep)))
    print(f"stacked-keras notebook extension, time added per cell ({args.rounds} cells per case, "
          f"{keep} cells of history)")
    print("\n".join(rows))


if __name__ == "__main__":
    main()

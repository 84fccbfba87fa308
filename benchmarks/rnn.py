"""Training and inference throughput of deep LSTM and GRU stacks, side by side.

Runs, in one process and on the same shapes and data, three implementations
of the same stack (L recurrent layers of U units and a one-unit regression
head, Adam, mean squared error):

- **zoo**: the model `stacked_keras.builders.deep_rnn` builds (what the zoo
  presets use), compiled by the builder;
- **keras**: the same stack written by hand as a plain `keras.Sequential` of
  `keras.layers.LSTM` / `GRU` layers, compiled with the same optimizer, loss
  and metric;
- **stack**: the builder's model with `fused=True`: the same stack as one
  `stacked_keras.LSTMStack` / `GRUStack` layer (`stacked_keras.grid_layers`),
  computed by anti-diagonals of the time x depth grid, with the zoo model's
  weights; measured through `fit`, `predict` and its SavedModel;
- **torch**: PyTorch's fused multi-layer `nn.LSTM` / `nn.GRU(num_layers=L)`
  with the same head, when PyTorch is installed (`pip install
  "stacked-keras[bench]"`); skipped cleanly otherwise.

It measures samples per second the way users call each model:

- `fit`: `model.fit(x, y, batch_size=B, epochs=1)` on 2,048 training samples
  in NumPy arrays, shuffled as `fit` does by default, after a warm-up epoch;
  PyTorch: a training loop (Adam, MSE) over shuffled batches of the same
  samples (a fresh `torch.randperm` each epoch).
- `fit_data` (zoo and stack): `model.fit(stacked_keras.training_data(x, y,
  batch_size=B), epochs=1)`, the same shuffled epoch from a `tf.data`
  pipeline without autotuning (`stacked_keras.fit_data` says why).
- `predict`: `model.predict(x, batch_size=B)`; PyTorch: the forward pass
  under `torch.inference_mode()`, batch by batch.
- `savedmodel`: the `serving_default` signature of the SavedModel that
  `stacked_keras.export.export_saved_model` writes, called batch by batch.
- `savedmodel_fast` (zoo only): a SavedModel whose signature serves
  `stacked_keras.serving.inference_callable` (each batch split into one part
  per core, each part compiled by XLA), written with
  `keras.export.ExportArchive`: what the export gives once it serves that
  function.
- `fast_predict` (zoo only): `stacked_keras.serving.fast_predict(model, x,
  batch_size=B, jit_compile=True)`.

Inference figures are compared with PyTorch's inference; the zoo's fast
paths with the hand-written model's `predict` (or its SavedModel).

Each figure is the median over `--repeats` rounds after one warm-up round;
inside a round the implementations run one after the other, so load from
other processes falls on all of them alike, and on Linux each timed run
first waits (up to 30 s) for a moment when the CPUs are idle (`--idle`):
on a shared machine that keeps most runs clear of other people's bursts,
and the report says how many runs found no such moment. PyTorch suffers
most from a busy machine (its OpenMP threads spin), so a run with
unsheltered timings flatters the zoo/PyTorch ratios. The JSON keeps every
run: on the machine this was written on, Keras `fit` and `predict` calls
often end in an idle wait that rounds their wall time up to about 0.65,
1.3 or 2.6 s (the same for the zoo and the hand-written model), which shows
there as runs of identical figures. TensorFlow's intra- and
inter-op thread pools and PyTorch's thread count are all set to `--threads`.
The report also gives the SavedModel export time and the linter's
throughput (files per second, `benchmarks.lint_throughput`).

Prints a markdown table per cell and shape, with the ratios zoo/torch and
zoo/keras and the fused stack's rows (ratios stack/torch and stack/zoo), and
writes everything as JSON. `--fused` adds the older projected-input layers
`stacked_keras.layers.FusedLSTM` / `FusedGRU` in a hand-written stack.

Usage:

    python -m benchmarks.rnn                      # LSTM and GRU, both shapes (a few minutes)
    python -m benchmarks.rnn --quick              # reference shape, 2 rounds (about a minute)
    python -m benchmarks.rnn --cells lstm --json results.json
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


@dataclasses.dataclass(frozen=True)
class Shape:
    """One benchmark shape: batch size, sequence length, features, stack."""

    name: str
    batch: int
    timesteps: int
    features: int
    units: int
    layers: int
    batches: int  # batches per timed inference run
    train_samples: int = 2048  # samples per timed `fit` epoch

    def describe(self) -> str:
        return (
            f"batch {self.batch}, {self.timesteps} timesteps, {self.features} features, "
            f"{self.layers} layers of {self.units} units, {self.batches} batches per inference run, "
            f"{self.train_samples} samples per training epoch"
        )


SHAPES = {
    "reference": Shape("reference", batch=64, timesteps=100, features=32, units=128, layers=3, batches=8),
    "long": Shape("long", batch=32, timesteps=500, features=32, units=128, layers=3, batches=4),
}

# What the zoo model is measured on, in table order.
ZOO_METRICS = ("fit", "fit_data", "predict", "savedmodel", "savedmodel_fast", "fast_predict")
# What the fused stack model (`deep_rnn(..., fused=True)`) is measured on.
STACK_METRICS = ("fit", "fit_data", "predict", "savedmodel")
# zoo metric -> the hand-written Keras model's metric it is compared with.
KERAS_COUNTERPART = {"fit": "fit", "fit_data": "fit", "predict": "predict", "savedmodel": "savedmodel",
                     "savedmodel_fast": "savedmodel", "fast_predict": "predict"}
# zoo metric -> the PyTorch metric it is compared with.
TORCH_COUNTERPART = {"fit": "fit", "fit_data": "fit", "predict": "inference", "savedmodel": "inference",
                     "savedmodel_fast": "inference", "fast_predict": "inference"}
LABELS = {
    "fit": "training: `fit`",
    "fit_data": "training: `fit(training_data(...))`",
    "predict": "inference: `predict`",
    "savedmodel": "inference: SavedModel from `export_saved_model`",
    "savedmodel_fast": "inference: SavedModel serving `serving.inference_callable` (shards + XLA)",
    "fast_predict": "inference: `serving.fast_predict(jit_compile=True)`",
}


# -- machine ------------------------------------------------------------------


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (or what `platform` knows)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def versions() -> dict[str, str | None]:
    import keras
    import tensorflow as tf

    found: dict[str, str | None] = {
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "torch": None,
    }
    try:
        import torch

        found["torch"] = torch.__version__
    except ImportError:
        pass
    return found


def configure_threads(threads: int) -> None:
    """Sets TensorFlow's thread pools (before any op runs) and PyTorch's."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
    try:
        import torch

        torch.set_num_threads(threads)
    except ImportError:
        pass


# -- implementations ------------------------------------------------------------


class KerasRunner:
    """A Keras model measured through fit, predict and its SavedModel (and, for the zoo, the fast paths)."""

    def __init__(
        self, name: str, model: Any, shape: Shape, workdir: Path, fast_paths: bool, fit_data: bool = True
    ) -> None:
        self.name, self.model, self.shape, self.workdir = name, model, shape, workdir
        self.fast_paths = fast_paths
        self.with_fit_data = fit_data
        self.export_seconds: dict[str, float] = {}
        self.signatures: dict[str, Any] = {}
        self._loaded: list[Any] = []  # keeps the signatures' variables alive

    def prepare(self, x: Any, y: Any, x_train: Any, y_train: Any) -> None:
        """Warm-up: a training epoch, traces predict, exports and loads the SavedModels, compiles XLA."""
        import tensorflow as tf

        from stacked_keras.export import export_saved_model

        self.x, self.y, self.x_train, self.y_train = x, y, x_train, y_train
        self.batches = [tf.constant(x[i : i + self.shape.batch]) for i in range(0, len(x), self.shape.batch)]
        self.fit()
        if self.with_fit_data:
            self.fit_data()
        self.predict()
        stem = f"{self.name}_{self.model.layers[0].__class__.__name__}_{self.shape.name}"
        result = export_saved_model(self.model, self.workdir / stem)
        self.export_seconds["export_saved_model"] = result.seconds
        self._load("savedmodel", result.path)
        if self.fast_paths:
            start = time.perf_counter()
            path = export_fast_signature(self.model, self.workdir / f"{stem}_fast")
            self.export_seconds["serving.py signature"] = time.perf_counter() - start
            self._load("savedmodel_fast", path)
        for run in self.metrics().values():
            run()

    def _load(self, metric: str, path: Path) -> None:
        import tensorflow as tf

        loaded = tf.saved_model.load(str(path))
        self._loaded.append(loaded)
        signature = loaded.signatures["serving_default"]
        (input_name,) = signature.structured_input_signature[1]
        self.signatures[metric] = (signature, input_name)

    def metrics(self) -> dict[str, Callable[[], Any]]:
        runs = {"fit": self.fit, "predict": self.predict, "savedmodel": lambda: self.serve("savedmodel")}
        if self.with_fit_data:
            runs["fit_data"] = self.fit_data
        if self.fast_paths:
            runs["savedmodel_fast"] = lambda: self.serve("savedmodel_fast")
            runs["fast_predict"] = self.fast_predict
        return runs

    def fit(self) -> None:
        self.model.fit(self.x_train, self.y_train, batch_size=self.shape.batch, epochs=1, verbose=0)

    def fit_data(self) -> None:
        from stacked_keras import training_data

        data = training_data(self.x_train, self.y_train, batch_size=self.shape.batch)
        self.model.fit(data, epochs=1, verbose=0, shuffle=False)  # the pipeline shuffles; shuffle=False: no warning

    def predict(self) -> None:
        self.model.predict(self.x, batch_size=self.shape.batch, verbose=0)

    def serve(self, metric: str) -> None:
        signature, input_name = self.signatures[metric]
        for batch in self.batches:
            next(iter(signature(**{input_name: batch}).values())).numpy()

    def fast_predict(self) -> None:
        from stacked_keras.serving import fast_predict

        fast_predict(self.model, self.x, batch_size=self.shape.batch, jit_compile=True)


def export_fast_signature(model: Any, path: Path) -> Path:
    """A SavedModel whose serving_default is `serving.inference_callable` (batch shards + XLA).

    What `stacked_keras.export` would write if its signature traced the
    serving module's function; made here with `keras.export.ExportArchive`
    so the benchmark can show the difference.
    """
    import keras

    from stacked_keras.export import serving_input_signature
    from stacked_keras.serving import inference_callable

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        name="serve",
        fn=inference_callable(model, batch_shards="auto", jit_compile=True),
        input_signature=[serving_input_signature(model)],
    )
    archive.write_out(str(path), verbose=False)
    return path


class TorchRunner:
    """PyTorch's fused multi-layer nn.LSTM / nn.GRU with the same head and training."""

    name = "torch"
    export_seconds = None

    def __init__(self, cell: str, shape: Shape) -> None:
        import torch

        self.torch = torch
        torch.manual_seed(0)
        rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
        self.rnn = rnn_class(shape.features, shape.units, num_layers=shape.layers, batch_first=True)
        self.head = torch.nn.Linear(shape.units, 1)
        self.parameters = list(self.rnn.parameters()) + list(self.head.parameters())
        self.optimizer = torch.optim.Adam(self.parameters, lr=1e-3)
        self.shape = shape

    def _forward(self, batch: Any) -> Any:
        sequence, _ = self.rnn(batch)
        return self.head(sequence[:, -1])

    def prepare(self, x: Any, y: Any, x_train: Any, y_train: Any) -> None:
        self.x = self.torch.from_numpy(x)
        self.y = self.torch.from_numpy(y)
        self.x_train = self.torch.from_numpy(x_train)
        self.y_train = self.torch.from_numpy(y_train)
        self.fit()
        self.inference()

    def metrics(self) -> dict[str, Callable[[], Any]]:
        return {"fit": self.fit, "inference": self.inference}

    def _batches(self) -> Any:
        for start in range(0, len(self.x), self.shape.batch):
            yield self.x[start : start + self.shape.batch], self.y[start : start + self.shape.batch]

    def fit(self) -> None:
        self.rnn.train()
        order = self.torch.randperm(len(self.x_train))
        for start in range(0, len(order), self.shape.batch):
            index = order[start : start + self.shape.batch]
            batch_x, batch_y = self.x_train[index], self.y_train[index]
            self.optimizer.zero_grad()
            loss = self.torch.nn.functional.mse_loss(self._forward(batch_x), batch_y)
            loss.backward()
            self.optimizer.step()

    def inference(self) -> None:
        self.rnn.eval()
        with self.torch.inference_mode():
            for batch_x, _ in self._batches():
                self._forward(batch_x).numpy()


def zoo_model(cell: str, shape: Shape, fused: bool = False) -> Any:
    """The stack as the builders (and so the zoo presets) make it; `fused=True`: as one stack layer."""
    from stacked_keras.builders import deep_rnn

    return deep_rnn(
        cell, [shape.units] * shape.layers, input_shape=(None, shape.features), head="regression",
        fused=fused,
    )


def hand_written_model(cell: str, shape: Shape, fused: bool = False) -> Any:
    """The same stack written by hand with the standard Keras layers (or the fused ones)."""
    import keras

    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    if fused:
        from stacked_keras.layers import fused_counterpart

        layer = fused_counterpart(layer)
    model = keras.Sequential(
        [keras.Input((None, shape.features))]
        + [layer(shape.units, return_sequences=i < shape.layers - 1) for i in range(shape.layers)]
        + [keras.layers.Dense(1)]
    )
    model.compile(optimizer=keras.optimizers.Adam(), loss="mse", metrics=["mae"])
    return model


# -- measuring ------------------------------------------------------------------


def timed(run: Callable[[], Any]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _cpu_ticks() -> tuple[int, int] | None:
    """(total, idle) jiffies of all CPUs from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat") as stat:
            values = [int(v) for v in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(values), values[3] + values[4]  # idle + iowait


class IdleGate:
    """Waits, before each timed run, for a moment when other processes leave the CPUs idle.

    On a machine shared with other work a timed run that overlaps a burst of
    someone else's computation measures the burst. The gate samples
    /proc/stat over `window` seconds until the CPUs were at least `fraction`
    idle, for at most `timeout` seconds, and counts the runs it could not
    shelter. A fraction of 0 (or no /proc/stat) turns it off.
    """

    def __init__(self, fraction: float, window: float = 0.5, timeout: float = 30.0) -> None:
        self.fraction = fraction if _cpu_ticks() is not None else 0.0
        self.window, self.timeout = window, timeout
        self.runs = self.unsheltered = 0

    def wait(self) -> None:
        if self.fraction <= 0:
            return
        self.runs += 1
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            before = _cpu_ticks()
            time.sleep(self.window)
            after = _cpu_ticks()
            total = after[0] - before[0]
            if total > 0 and (after[1] - before[1]) / total >= self.fraction:
                return
        self.unsheltered += 1


def bench_cell_shape(
    cell: str, shape: Shape, repeats: int, with_torch: bool, workdir: Path, gate: IdleGate,
    with_fused: bool = False,
) -> dict:
    """All measurements for one cell type and one shape; returns a JSON-ready dict."""
    import numpy as np

    rng = np.random.default_rng(0)
    samples = shape.batch * shape.batches
    x = rng.standard_normal((samples, shape.timesteps, shape.features)).astype("float32")
    y = rng.standard_normal((samples, 1)).astype("float32")
    x_train = rng.standard_normal((shape.train_samples, shape.timesteps, shape.features)).astype("float32")
    y_train = rng.standard_normal((shape.train_samples, 1)).astype("float32")

    zoo = KerasRunner("zoo", zoo_model(cell, shape), shape, workdir, fast_paths=True)
    hand = KerasRunner("keras", hand_written_model(cell, shape), shape, workdir, fast_paths=False, fit_data=False)
    hand.model.set_weights(zoo.model.get_weights())
    stack = KerasRunner("stack", zoo_model(cell, shape, fused=True), shape, workdir, fast_paths=False)
    stack.model.set_weights(zoo.model.get_weights())  # same weights, same order (kernel, recurrent, bias per layer)
    runners: list[Any] = [zoo, hand, stack]
    if with_fused:
        fused = KerasRunner(
            "fused", hand_written_model(cell, shape, fused=True), shape, workdir, fast_paths=False, fit_data=False
        )
        fused.model.set_weights(zoo.model.get_weights())
        runners.append(fused)
    if with_torch:
        runners.append(TorchRunner(cell, shape))
    for runner in runners:
        runner.prepare(x, y, x_train, y_train)

    seconds: dict[tuple[str, str], list[float]] = {}
    for _ in range(repeats):
        for metric in ("fit", "fit_data", "predict", "inference", "savedmodel", "savedmodel_fast", "fast_predict"):
            for runner in runners:
                run = runner.metrics().get(metric)
                if run is not None:
                    gate.wait()
                    seconds.setdefault((runner.name, metric), []).append(timed(run))

    throughput = {
        f"{name}/{metric}": {
            "samples_per_s": (shape.train_samples if metric.startswith("fit") else samples) / statistics.median(runs),
            "runs_samples_per_s": [(shape.train_samples if metric.startswith("fit") else samples) / s for s in runs],
        }
        for (name, metric), runs in seconds.items()
    }
    ratios: dict[str, float] = {}
    for name, metrics, baseline, counterpart in (
        ("zoo", ZOO_METRICS, "keras", KERAS_COUNTERPART), ("stack", STACK_METRICS, "zoo", None)
    ):
        for metric in metrics:
            rate = throughput[f"{name}/{metric}"]["samples_per_s"]
            against = counterpart[metric] if counterpart else metric
            ratios[f"{name}/{baseline} {metric}"] = rate / throughput[f"{baseline}/{against}"]["samples_per_s"]
            torch_key = f"torch/{TORCH_COUNTERPART[metric]}"
            if torch_key in throughput:
                ratios[f"{name}/torch {metric}"] = rate / throughput[torch_key]["samples_per_s"]
    return {
        "cell": cell,
        "shape": dataclasses.asdict(shape),
        "samples_per_run": samples,
        "train_samples_per_run": shape.train_samples,
        "zoo_steps_per_execution": zoo.model.steps_per_execution,
        "throughput": throughput,
        "ratios": ratios,
        "export_seconds": {r.name: r.export_seconds for r in runners if isinstance(r, KerasRunner)},
        "zoo_layers": [type(layer).__name__ for layer in zoo.model.layers],
        "stack_layers": [type(layer).__name__ for layer in stack.model.layers],
    }


def lint_throughput(files: int = 300, runs: int = 3) -> dict:
    """Files per second of `stacked_keras.lint` on a generated corpus."""
    from benchmarks.lint_throughput import generate_corpus, time_lint

    with tempfile.TemporaryDirectory(prefix="sk-rnn-bench-lint-") as tmp:
        generate_corpus(Path(tmp), files, seed=0)
        # (median wall seconds, [median CPU seconds,] last report)
        wall_seconds, *_, report = time_lint(Path(tmp), runs)
        count = len(report.files)
    return {"files": count, "seconds": wall_seconds, "files_per_s": count / wall_seconds}


# -- report ---------------------------------------------------------------------


def markdown_table(result: dict) -> str:
    """One markdown table for one cell and shape."""
    shape = Shape(**result["shape"])
    rate = result["throughput"]
    has_torch = any(key.startswith("torch/") for key in rate)
    header = "| samples/s | zoo | hand-written Keras |" + (" PyTorch | zoo/PyTorch |" if has_torch else "") + " zoo/Keras |"
    rule = "|---|---:|---:|" + ("---:|---:|" if has_torch else "") + "---:|"
    lines = [
        f"**{result['cell'].upper()}**, {shape.describe()}",
        "",
        header,
        rule,
    ]
    for metric in ZOO_METRICS:
        keras_metric = KERAS_COUNTERPART[metric]
        keras_cell = f"{rate[f'keras/{keras_metric}']['samples_per_s']:.0f}"
        if keras_metric != metric:
            keras_cell = f"({keras_cell}, {keras_metric})"
        cells = [LABELS[metric], f"{rate[f'zoo/{metric}']['samples_per_s']:.0f}", keras_cell]
        if has_torch:
            torch_rate = rate[f"torch/{TORCH_COUNTERPART[metric]}"]["samples_per_s"]
            cells += [f"{torch_rate:.0f}", f"{result['ratios'][f'zoo/torch {metric}']:.2f}x"]
        cells.append(f"{result['ratios'][f'zoo/keras {metric}']:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    for metric in STACK_METRICS:
        cells = [f"{LABELS[metric]}, fused stack (`fused=True`)", f"{rate[f'stack/{metric}']['samples_per_s']:.0f}", ""]
        if has_torch:  # the stack's ratios, in the zoo's ratio columns, say whose they are
            cells += ["", f"{result['ratios'][f'stack/torch {metric}']:.2f}x (stack/PyTorch)"]
        cells.append(f"{result['ratios'][f'stack/zoo {metric}']:.2f}x (stack/zoo)")
        lines.append("| " + " | ".join(cells) + " |")
    if any(key.startswith("fused/") for key in rate):
        fused = ", ".join(
            f"{metric} {rate[f'fused/{metric}']['samples_per_s']:.0f} "
            f"({rate[f'fused/{metric}']['samples_per_s'] / rate[f'keras/{metric}']['samples_per_s']:.2f}x Keras)"
            for metric in ("fit", "predict", "savedmodel")
        )
        lines += ["", f"Hand-written stack with the projected-input FusedLSTM/FusedGRU (`--fused`): {fused}"]
    return "\n".join(lines)


def run_onnx_rows(cells: list[str], shapes: list[str], repeats: int, threads: int, gate: Any) -> list[dict]:
    """The ONNX inference rows (benchmarks.onnx_inference), printed as they finish."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        print('onnx/onnxruntime are not installed (pip install "stacked-keras[onnx]"): ONNX rows skipped.\n')
        return []
    from benchmarks.onnx_inference import bench_onnx_inference, onnx_markdown_table

    results = []
    for shape_name in shapes:
        for cell in cells:
            result = bench_onnx_inference(cell, SHAPES[shape_name], repeats, threads, gate)
            results.append(result)
            print(onnx_markdown_table(result) + "\n", flush=True)
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cells", nargs="+", choices=["lstm", "gru"], default=["lstm", "gru"])
    parser.add_argument("--shapes", nargs="+", choices=sorted(SHAPES), default=None,
                        help="shapes to run (default: reference and long; --quick: reference)")
    parser.add_argument("--repeats", type=int, default=None,
                        help="timed rounds after the warm-up; medians are reported (default 5, --quick 2)")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1,
                        help="TensorFlow intra/inter-op threads and torch.set_num_threads (default: all cores)")
    parser.add_argument("--json", type=Path, default=Path("rnn-benchmark.json"),
                        help="where to write the JSON results (default rnn-benchmark.json)")
    parser.add_argument("--no-torch", action="store_true", help="skip PyTorch even when it is installed")
    parser.add_argument("--no-lint", action="store_true", help="skip the lint throughput")
    parser.add_argument("--fused", action="store_true",
                        help="also measure a hand-written stack of the projected-input layers "
                             "stacked_keras.layers.FusedLSTM/FusedGRU (the fused stack layer, "
                             "deep_rnn(..., fused=True), is always measured)")
    parser.add_argument("--quick", action="store_true", help="reference shape only, 2 rounds")
    parser.add_argument("--no-onnx", action="store_true",
                        help="skip the ONNX inference rows (onnxruntime, OpenVINO fp32/bf16, PyTorch)")
    parser.add_argument("--only-onnx", action="store_true", help="run the ONNX inference rows only")
    parser.add_argument("--idle", type=float, default=0.9,
                        help="before each timed run, wait up to 30 s until the CPUs were this idle "
                             "for 0.5 s (Linux; 0 turns it off; default 0.9)")
    args = parser.parse_args(argv)
    shapes = args.shapes or (["reference"] if args.quick else ["reference", "long"])
    repeats = args.repeats or (2 if args.quick else 5)
    if repeats < 1 or args.threads < 1:
        parser.error(f"--repeats and --threads must be positive, got {repeats} and {args.threads}")

    configure_threads(args.threads)
    found = versions()
    with_torch = found["torch"] is not None and not args.no_torch
    load_before = os.getloadavg() if hasattr(os, "getloadavg") else None
    machine = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "platform": platform.platform(),
        "load_average_before": load_before,
    }
    print(f"# RNN stack benchmark\n\n{machine['cpu']}, {machine['cores']} cores, {args.threads} threads; "
          + ", ".join(f"{k} {v}" for k, v in found.items() if v) + f"; load average {load_before}")
    if found["torch"] is None:
        print("PyTorch is not installed (pip install \"stacked-keras[bench]\"): its columns are skipped.")
    print(f"Medians of {repeats} rounds after a warm-up; samples per second (higher is better).\n")

    gate = IdleGate(args.idle)
    results = []
    onnx_results = [] if args.no_onnx else run_onnx_rows(args.cells, shapes, repeats, args.threads, gate)
    with tempfile.TemporaryDirectory(prefix="sk-rnn-bench-") as tmp:
        for shape_name in ([] if args.only_onnx else shapes):
            for cell in args.cells:
                result = bench_cell_shape(
                    cell, SHAPES[shape_name], repeats, with_torch, Path(tmp), gate, with_fused=args.fused
                )
                results.append(result)
                print(markdown_table(result))
                exports = "; ".join(
                    f"{name}: " + ", ".join(f"{how} {seconds:.1f} s" for how, seconds in times.items())
                    for name, times in result["export_seconds"].items()
                )
                print(f"\nSavedModel export time: {exports}\n", flush=True)

    lint = None if args.no_lint or args.only_onnx else lint_throughput()
    if lint:
        print(f"Lint throughput: {lint['files_per_s']:.0f} files/s ({lint['files']} generated files)")
    machine["load_average_after"] = os.getloadavg() if hasattr(os, "getloadavg") else None
    machine["idle_gate"] = {"fraction": gate.fraction, "runs": gate.runs, "unsheltered": gate.unsheltered}
    if gate.unsheltered:
        print(f"Warning: {gate.unsheltered} of {gate.runs} timed runs found no idle moment "
              "(other processes were busy): those figures, PyTorch's most, are unreliable.")
    report = {"machine": machine, "versions": found, "repeats": repeats, "results": results, "lint": lint,
              "onnx_inference": onnx_results}
    args.json.write_text(json.dumps(report, indent=2))
    print(f"Load average after: {machine['load_average_after']}; JSON written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

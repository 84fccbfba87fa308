"""Where `model.fit`'s time goes, against a bare training step and PyTorch's loop.

Times, interleaved round by round on the same data and stack (L recurrent
layers of U units, a one-unit regression head, Adam, MSE):

- `torch`: PyTorch's fused `nn.LSTM`/`nn.GRU(num_layers=L)` in a plain loop
  over shuffled batches (a fresh `torch.randperm` each epoch);
- `bare`: the Keras model's training step (forward, loss, gradients, Adam)
  in one `tf.function`, called from Python on pre-sliced batches;
- `fit`: `model.fit(x, y, batch_size=B, epochs=1, verbose=0)` as users call
  it (shuffled), and variants (`--variants`): `fit_untimed` (no phase
  callback, so Keras dispatches batch-end callbacks asynchronously), `fit_noshuffle`
  (`shuffle=False`), `fit_spe` (compiled with `steps_per_execution=S`),
  `fit_dataset` (a cached, prefetched `tf.data.Dataset` given to `fit`),
  `fit_fused` (the builder's `fused=True` model: one `LSTMStack`/`GRUStack`
  layer), `fit_fused_untimed`, `bare_fused` (its bare step), and `fit_data` /
  `fit_fused_data` (the arrays fed as `stacked_keras.training_data(x, y,
  batch_size=B)`, a shuffled `tf.data` pipeline without autotuning).

Inside every `fit` run a callback records, per batch, the time between
`on_train_batch_begin` and `on_train_batch_end` (the step function, logs
included) and the gaps between batches (iterator, callbacks, Python), plus
the time before the first batch (data adapter, iterator, callbacks set-up)
and after the last (epoch end, `on_train_end`, clean-up). The report gives
medians per part, so the difference between `fit` and the bare step can be
read off.

Usage:

    python -m benchmarks.fit_profile                         # LSTM, reference shape
    python -m benchmarks.fit_profile --cell gru --shape long --samples 1024
    python -m benchmarks.fit_profile --samples 512 2048 8192 # how the gap moves with the data size
    python -m benchmarks.fit_profile --variants fit_untimed fit_fused_untimed bare_fused  # the fused stack
    python -m benchmarks.fit_profile --variants fit_data fit_fused fit_fused_data bare_fused
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def _phases_callback() -> Any:
    import keras

    class Phases(keras.callbacks.Callback):
        """Timestamps of fit's phases: set-up, each batch's step, gaps, wind-down."""

        def __init__(self) -> None:
            super().__init__()
            self.marks: list[tuple[str, float]] = []

        def on_train_begin(self, logs=None):
            self.marks.append(("train_begin", time.perf_counter()))

        def on_train_batch_begin(self, batch, logs=None):
            self.marks.append(("batch_begin", time.perf_counter()))

        def on_train_batch_end(self, batch, logs=None):
            self.marks.append(("batch_end", time.perf_counter()))

        def on_epoch_end(self, epoch, logs=None):
            self.marks.append(("epoch_end", time.perf_counter()))

        def on_train_end(self, logs=None):
            self.marks.append(("train_end", time.perf_counter()))

    return Phases()


def split_phases(start: float, marks: list[tuple[str, float]], stop: float) -> dict[str, float]:
    """Seconds in each phase of one fit call, from the callback's timestamps."""
    times = dict.fromkeys(("before_first_batch", "steps", "between_batches", "after_last_batch"), 0.0)
    begins = [t for name, t in marks if name == "batch_begin"]
    ends = [t for name, t in marks if name == "batch_end"]
    times["before_first_batch"] = begins[0] - start
    times["steps"] = sum(e - b for b, e in zip(begins, ends))
    times["between_batches"] = sum(b - e for e, b in zip(ends, begins[1:]))
    times["after_last_batch"] = stop - ends[-1]
    return times


def build(cell: str, units: int, layers: int, features: int, fused: bool = False, **compile_args: Any) -> Any:
    from stacked_keras.builders import deep_rnn

    model = deep_rnn(cell, [units] * layers, input_shape=(None, features), head="regression", fused=fused)
    if compile_args:
        import keras

        model.compile(optimizer=keras.optimizers.Adam(), loss="mse", metrics=["mae"], **compile_args)
    return model


def bare_step(model: Any) -> Any:
    """The model's training step (MSE, its Adam) in one tf.function: what fit runs, without fit."""
    import tensorflow as tf

    @tf.function(reduce_retracing=True)
    def step(x, y):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(model(x, training=True) - y))
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply(grads, model.trainable_variables)
        return loss

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm")
    parser.add_argument("--shape", choices=["reference", "long"], default="reference")
    parser.add_argument("--samples", type=int, nargs="+", default=[2048])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--spe", type=int, nargs="+", default=[32],
                        help="steps_per_execution of the fit_spe variants (one run per value)")
    parser.add_argument("--variants", nargs="*", default=["fit_noshuffle", "fit_spe", "fit_dataset"])
    args = parser.parse_args(argv)
    batch, timesteps = {"reference": (64, 100), "long": (32, 500)}[args.shape]
    features, units, layers = 32, 128, 3

    import numpy as np
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(args.threads)
    tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    import torch

    torch.set_num_threads(args.threads)

    for samples in args.samples:
        rng = np.random.default_rng(0)
        x = rng.standard_normal((samples, timesteps, features)).astype("float32")
        y = rng.standard_normal((samples, 1)).astype("float32")

        runs: dict[str, Any] = {}
        phases: dict[str, list[dict[str, float]]] = {}

        def fit_run(
            name: str, model: Any, data: Any = None, timed_phases: bool = True, data_factory: Any = None,
            **fit_args: Any,
        ) -> Any:
            def run() -> None:
                # A callback with its own on_train_batch_end turns Keras's asynchronous
                # dispatch of batch-end callbacks off; fit_untimed keeps it on.
                callbacks = [_phases_callback()] if timed_phases else []
                start = time.perf_counter()
                if data_factory is not None:  # the pipeline is made inside the timed run, as users would
                    model.fit(data_factory(), epochs=1, verbose=0, callbacks=callbacks, **fit_args)
                elif data is not None:
                    model.fit(data, epochs=1, verbose=0, callbacks=callbacks, **fit_args)
                else:
                    model.fit(x, y, batch_size=batch, epochs=1, verbose=0, callbacks=callbacks, **fit_args)
                if timed_phases:
                    marks = callbacks[0].marks
                    phases.setdefault(name, []).append(split_phases(start, marks, time.perf_counter()))

            return run

        model = build(args.cell, units, layers, features)
        runs["fit"] = fit_run("fit", model)
        for variant in args.variants:
            if variant == "fit_untimed":
                runs[variant] = fit_run(variant, build(args.cell, units, layers, features), timed_phases=False)
            elif variant == "fit_noshuffle":
                runs[variant] = fit_run(variant, build(args.cell, units, layers, features), shuffle=False)
            elif variant == "fit_spe":
                for spe in args.spe:
                    runs[f"fit_spe{spe}"] = fit_run(
                        f"fit_spe{spe}", build(args.cell, units, layers, features, steps_per_execution=spe)
                    )
            elif variant == "fit_fused":
                runs[variant] = fit_run(variant, build(args.cell, units, layers, features, fused=True))
            elif variant == "fit_fused_untimed":
                runs[variant] = fit_run(
                    variant, build(args.cell, units, layers, features, fused=True), timed_phases=False
                )
            elif variant in ("fit_data", "fit_fused_data"):
                from stacked_keras import training_data

                runs[variant] = fit_run(
                    variant, build(args.cell, units, layers, features, fused=variant == "fit_fused_data"),
                    data_factory=lambda: training_data(x, y, batch_size=batch), shuffle=False,
                )
            elif variant == "fit_dataset":
                dataset = (
                    tf.data.Dataset.from_tensor_slices((x, y)).cache().shuffle(samples)
                    .batch(batch).prefetch(tf.data.AUTOTUNE)
                )
                runs[variant] = fit_run(variant, build(args.cell, units, layers, features), data=dataset)

        bare_model = build(args.cell, units, layers, features)
        step = bare_step(bare_model)
        batches = [(tf.constant(x[i : i + batch]), tf.constant(y[i : i + batch])) for i in range(0, samples, batch)]

        def bare() -> None:
            loss = None
            for bx, by in batches:
                loss = step(bx, by)
            loss.numpy()  # waits for the last step

        runs["bare"] = bare
        if "bare_fused" in args.variants:
            fused_step = bare_step(build(args.cell, units, layers, features, fused=True))

            def bare_fused() -> None:
                loss = None
                for bx, by in batches:
                    loss = fused_step(bx, by)
                loss.numpy()

            runs["bare_fused"] = bare_fused

        torch.manual_seed(0)
        rnn_class = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[args.cell]
        rnn = rnn_class(features, units, num_layers=layers, batch_first=True)
        head = torch.nn.Linear(units, 1)
        optimizer = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_loop() -> None:
            order = torch.randperm(samples)
            for start in range(0, samples, batch):
                index = order[start : start + batch]
                optimizer.zero_grad()
                sequence, _ = rnn(tx[index])
                loss = torch.nn.functional.mse_loss(head(sequence[:, -1]), ty[index])
                loss.backward()
                optimizer.step()

        runs["torch"] = torch_loop

        for run in runs.values():  # warm-up: traces, first epoch
            run()
        phases.clear()
        seconds: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = time.perf_counter()
                run()
                seconds.setdefault(name, []).append(time.perf_counter() - start)

        steps = -(-samples // batch)
        print(f"\n## {args.cell.upper()} {args.shape} ({batch} x {timesteps}), {samples} samples, "
              f"{steps} batches, medians of {args.rounds} rounds")
        print("| run | samples/s | x torch | ms/batch | before 1st batch ms | step ms/batch | between ms/batch | after last ms |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        torch_rate = samples / statistics.median(seconds["torch"])
        for name, runs_s in seconds.items():
            median = statistics.median(runs_s)
            row = [name, f"{samples / median:.0f}", f"{samples / median / torch_rate:.2f}",
                   f"{1000 * median / steps:.1f}"]
            if name in phases:
                part = {key: statistics.median(p[key] for p in phases[name]) for key in phases[name][0]}
                spe = int(name[len("fit_spe"):]) if name.startswith("fit_spe") else 1
                calls = -(-steps // spe)
                row += [f"{1000 * part['before_first_batch']:.0f}", f"{1000 * part['steps'] / calls:.1f}",
                        f"{1000 * part['between_batches'] / max(calls - 1, 1):.2f}",
                        f"{1000 * part['after_last_batch']:.0f}"]
            else:
                row += ["", "", "", ""]
            print("| " + " | ".join(row) + " |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The depth study: train one model per depth and compare what depth buys.

The seed says three things about depth: a deeper stack can represent more
(part IV), it needs enough data or it overfits (part IV.B and VI.1), and it
costs training time because it has more parameters (part VI.2). `depth_sweep`
measures all three on one task: for every depth it builds a model (from a zoo
preset or from your own builder), trains it, and records its parameter count,
its metric on the training and the validation data, the gap between the two
(overfitting) and the seconds each training epoch takes.

Every (depth, seed) pair is an independent job: `depth_sweep(...,
workers=2)` runs them in separate processes on one machine.

Keras is imported only when a sweep runs; matplotlib only when a sweep is
plotted; tqdm only for the progress bar (without tqdm, no bar).
"""

# Size: one feature (depth_sweep: runs, records, tables, plot, workers) kept whole; the plot is the next seam.

from __future__ import annotations

import math
import numbers
import pickle
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DepthRecord", "RunRecord", "SweepResult", "depth_sweep", "lower_is_better"]

# Metric names (as Keras reports them) where a smaller value is better.
_LOWER_IS_BETTER = frozenset(
    {
        "loss",
        "mse",
        "mae",
        "mape",
        "msle",
        "rmse",
        "logcosh",
        "log_cosh",
        "poisson",
        "kl_divergence",
        "kld",
    }
)
_LOWER_IS_BETTER_PARTS = ("loss", "error", "crossentropy", "hinge", "divergence")

_DEFAULT_UNITS = 32


def lower_is_better(metric: str) -> bool:
    """Tells whether a smaller value of a Keras metric is better.

    Losses and errors (`"loss"`, `"mse"`, `"mae"`, `"rmse"`, any name with
    `loss`, `error`, `crossentropy`, `hinge` or `divergence` in it) are
    lower-is-better; every other metric (`"accuracy"`, `"auc"`,
    `"precision"`, `"r2_score"`, ...) is taken as higher-is-better.

    Args:
        metric: the metric's name as Keras reports it (`model.evaluate(...,
            return_dict=True)` keys).

    Returns:
        True for a loss-like metric, False for an accuracy-like one.

    Example:

    >>> lower_is_better("mae"), lower_is_better("accuracy")
    (True, False)
    """
    name = metric.lower()
    return name in _LOWER_IS_BETTER or any(part in name for part in _LOWER_IS_BETTER_PARTS)


@dataclass(frozen=True)
class RunRecord:
    """One trained model of a sweep: one depth, one seed.

    Attributes:
        depth: the number of stacked recurrent layers.
        seed: the seed given to `keras.utils.set_random_seed` before building.
        params: the model's parameter count.
        metric: the metric's name (`"accuracy"`, `"mae"`, `"loss"`, ...).
        train_metric: the metric on the training data, evaluated after
            training (dropout off).
        val_metric: the metric on the validation data.
        gap: how much better the model does on training than on validation
            data: `train - val` for an accuracy-like metric, `val - train` for
            a loss-like one, so a positive gap always means overfitting.
        seconds_per_epoch: the mean wall time of one training epoch, the
            first epoch (which includes graph tracing) left out when there
            were two or more. Validation is not part of it.
        epochs: how many epochs were trained.
        history: the per-epoch training values Keras recorded
            (`History.history`).
    """

    depth: int
    seed: int
    params: int
    metric: str
    train_metric: float
    val_metric: float
    gap: float
    seconds_per_epoch: float
    epochs: int
    history: dict[str, list[float]] = field(default_factory=dict, compare=False, repr=False)


@dataclass(frozen=True)
class DepthRecord:
    """One row of a sweep's table: one depth, averaged over the seeds.

    Attributes:
        depth: the number of stacked recurrent layers.
        params: the model's parameter count.
        metric: the metric's name.
        train_metric: the mean over seeds of the metric on training data.
        val_metric: the mean over seeds of the metric on validation data.
        gap: the mean over seeds of the train-validation gap (positive means
            overfitting; see `RunRecord.gap`).
        seconds_per_epoch: the mean over seeds of the seconds per epoch.
        seeds: the seeds this row averages.
        train_metric_std: the standard deviation over seeds (sample standard
            deviation, ddof=1) of `train_metric`; `None` with a single seed.
        val_metric_std: the same for `val_metric`.
        gap_std: the same for `gap`.
        seconds_per_epoch_std: the same for `seconds_per_epoch`.
    """

    depth: int
    params: int
    metric: str
    train_metric: float
    val_metric: float
    gap: float
    seconds_per_epoch: float
    seeds: tuple[int, ...]
    train_metric_std: float | None = None
    val_metric_std: float | None = None
    gap_std: float | None = None
    seconds_per_epoch_std: float | None = None


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _std(values: Sequence[float]) -> float | None:
    if len(values) < 2:
        return None
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def _aggregate(runs: Sequence[RunRecord]) -> list[DepthRecord]:
    """One `DepthRecord` per depth, in increasing depth."""
    by_depth: dict[int, list[RunRecord]] = {}
    for run in runs:
        by_depth.setdefault(run.depth, []).append(run)
    records = []
    for depth in sorted(by_depth):
        group = sorted(by_depth[depth], key=lambda run: run.seed)
        columns = {
            key: [getattr(run, key) for run in group]
            for key in ("train_metric", "val_metric", "gap", "seconds_per_epoch")
        }
        records.append(
            DepthRecord(
                depth=depth,
                params=group[0].params,
                metric=group[0].metric,
                seeds=tuple(run.seed for run in group),
                **{key: _mean(values) for key, values in columns.items()},
                **{f"{key}_std": _std(values) for key, values in columns.items()},
            )
        )
    return records


def _number(value: float, std: float | None, *, signed: bool = False, digits: int = 3) -> str:
    text = f"{value:+.{digits}f}" if signed else f"{value:.{digits}f}"
    if std is not None:
        text += f" ± {std:.{digits}f}"
    return text


@dataclass
class SweepResult:
    """What `depth_sweep` measured: one record per depth, one run per model.

    Attributes:
        records: one `DepthRecord` per depth, in increasing depth, averaged
            over the seeds.
        runs: one `RunRecord` per trained model (depth x seed).
        metric: the metric's name.
        label: what the sweep ran on (for tables and plot legends), e.g.
            `"phrase_sentiment, 320 training examples"`.
        epochs: the epochs each model trained.

    Example:

    ```python
    result = depth_sweep("forecaster-deep-gru", data, depths=(1, 2), epochs=2)
    print(result.to_markdown())
    result.plot("depth.png")
    ```
    """

    records: list[DepthRecord]
    runs: list[RunRecord]
    metric: str
    label: str = ""
    epochs: int = 0

    @property
    def lower_is_better(self) -> bool:
        """Whether a smaller value of the metric is better (a loss or an error)."""
        return lower_is_better(self.metric)

    @property
    def depths(self) -> list[int]:
        """The depths swept, in increasing order."""
        return [record.depth for record in self.records]

    def __len__(self) -> int:
        return len(self.records)

    def __iter__(self) -> Iterator[DepthRecord]:
        return iter(self.records)

    def to_markdown(self) -> str:
        """The table in Markdown: one row per depth.

        Columns: depth, params, the metric on training and validation data,
        the gap (positive: overfitting) and seconds per epoch. With several
        seeds each value reads `mean ± std`.

        Returns:
            A Markdown table (with a caption line naming the label and the
            seeds when there are several).
        """
        direction = "lower is better" if self.lower_is_better else "higher is better"
        gap_rule = "val - train" if self.lower_is_better else "train - val"
        header = (
            f"| depth | params | train {self.metric} | val {self.metric} "
            f"| gap ({gap_rule}) | s/epoch |"
        )
        lines = [header, "|---:|---:|---:|---:|---:|---:|"]
        for r in self.records:
            lines.append(
                f"| {r.depth} | {r.params:,} "
                f"| {_number(r.train_metric, r.train_metric_std)} "
                f"| {_number(r.val_metric, r.val_metric_std)} "
                f"| {_number(r.gap, r.gap_std, signed=True)} "
                f"| {_number(r.seconds_per_epoch, r.seconds_per_epoch_std, digits=2)} |"
            )
        seeds = sorted({run.seed for run in self.runs})
        epochs = f"{self.epochs} epoch" + ("" if self.epochs == 1 else "s")
        caption = [f"{self.metric} ({direction}), {epochs}"]
        if self.label:
            caption.insert(0, self.label)
        if len(seeds) > 1:
            caption.append(f"mean ± std over seeds {seeds}")
        return "\n".join([f"*{'; '.join(caption)}*", "", *lines])

    def _repr_markdown_(self) -> str:
        return self.to_markdown()

    def __str__(self) -> str:
        return self.to_markdown()

    def plot(self, path: Any = None, *, axes: Sequence[Any] | None = None) -> Any:
        """Draws the metric and the training time against depth.

        The left panel shows the metric on training data (solid) and on
        validation data (dashed) for each depth, with the standard deviation
        over seeds as error bars; the right panel shows seconds per epoch
        (solid) and, on a second axis, the parameter count (dotted). Pass the
        `axes` of an earlier plot to draw several sweeps (small and large
        data) on the same panels: each sweep's `label` names its lines, and
        sweeps with the same parameter counts share one grey parameter line.

        Args:
            path: where to save the figure (`.png`, `.svg`, `.pdf`: any
                format matplotlib knows, by extension). Defaults to `None`
                (not saved).
            axes: two matplotlib axes `(metric_ax, time_ax)` to draw into.
                Defaults to `None`: a new figure with two panels.

        Returns:
            The matplotlib `Figure` (made without pyplot, so it changes no
            global matplotlib state; a notebook shows it as a cell's value).

        Raises:
            ImportError: if matplotlib is not installed.
            ValueError: if `axes` is not a pair of axes.
        """
        if axes is None:
            from stacked_keras.plot import new_figure

            figure = new_figure(figsize=(10, 4.4), layout="constrained")
            metric_ax, time_ax = figure.subplots(1, 2)
        else:
            if isinstance(axes, (str, bytes)) or not isinstance(axes, Sequence) or len(axes) != 2:
                raise ValueError(
                    f"axes must be a pair (metric_ax, time_ax) of matplotlib axes, got {axes!r}"
                )
            metric_ax, time_ax = axes
            figure = metric_ax.figure
        depths = self.depths
        prefix = f"{self.label}: " if self.label else ""

        def errors(values: list[float | None]) -> list[float] | None:
            return None if all(v is None for v in values) else [v or 0.0 for v in values]

        train = metric_ax.errorbar(
            depths,
            [r.train_metric for r in self.records],
            yerr=errors([r.train_metric_std for r in self.records]),
            marker="o",
            capsize=3,
            label=f"{prefix}train",
        )
        color = train[0].get_color()
        metric_ax.errorbar(
            depths,
            [r.val_metric for r in self.records],
            yerr=errors([r.val_metric_std for r in self.records]),
            marker="s",
            linestyle="--",
            color=color,
            capsize=3,
            label=f"{prefix}validation",
        )
        direction = "lower is better" if self.lower_is_better else "higher is better"
        metric_ax.set_xlabel("depth (stacked recurrent layers)")
        metric_ax.set_ylabel(f"{self.metric} ({direction})")
        metric_ax.set_title(f"{self.metric} by depth")
        metric_ax.set_xticks(depths)
        metric_ax.grid(alpha=0.3)
        # Legends go below the panels, where they cover no point or error bar.
        columns = 1 if len(prefix) > 16 else 2  # long labels one per line, so the legend fits the panel
        metric_ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=columns)

        seconds = [r.seconds_per_epoch for r in self.records]
        seconds_err = errors([r.seconds_per_epoch_std for r in self.records])
        time_ax.errorbar(
            depths,
            seconds,
            yerr=seconds_err,
            marker="o",
            color=color,
            capsize=3,
            label=self.label or "seconds per epoch",
        )
        time_ax.set_xlabel("depth (stacked recurrent layers)")
        time_ax.set_ylabel("seconds per epoch (solid)")
        time_ax.set_title("training cost by depth")
        time_ax.set_xticks(depths)
        time_ax.grid(alpha=0.3)
        params_ax = getattr(time_ax, "_stacked_keras_params_ax", None)
        if params_ax is None:
            params_ax = time_ax.twinx()
            params_ax.set_ylabel("parameters (dotted)")
            time_ax._stacked_keras_params_ax = params_ax
        params = [r.params for r in self.records]
        # Sweeps of one architecture on different data count the same
        # parameters: one line, said to be shared, instead of a line hidden
        # under another.
        same = [line for line in params_ax.get_lines()
                if list(line.get_xdata()) == list(depths) and list(line.get_ydata()) == params]
        if same:
            shared = same[0]
            shared._stacked_keras_sweeps = getattr(shared, "_stacked_keras_sweeps", 1) + 1
            shared.set_color("#555555")
            shared.set_label(f"parameters (right axis), the same for {shared._stacked_keras_sweeps} sweeps")
        else:
            params_ax.plot(depths, params, linestyle=":", marker="D", markersize=5, color=color,
                           label=f"{prefix}parameters (right axis)")
        # Both axes start at zero, so a difference looks as large as it is.
        # Their tops differ (seconds 1.5x the highest bar, parameters 1.1x),
        # so the two lines never lie on each other, even with two depths.
        highest = max(s + e for s, e in zip(seconds, seconds_err or [0.0] * len(seconds)))
        for ax, top in ((time_ax, 1.5 * highest), (params_ax, 1.1 * max(params))):
            top = max(getattr(ax, "_stacked_keras_top", 0.0), top) or 1.0  # room for earlier sweeps
            ax.set_ylim(0, top)
            ax._stacked_keras_top = top
        handles, labels = time_ax.get_legend_handles_labels()
        more_handles, more_labels = params_ax.get_legend_handles_labels()
        time_ax.legend(handles + more_handles, labels + more_labels, fontsize="small",
                       loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=columns)
        if path is not None:
            figure.savefig(path, dpi=120)
        return figure


# ---------------------------------------------------------------------------
# One job: build, train and measure one model
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Job:
    """Everything one (depth, seed) run needs; picklable for a process pool."""

    builder: Any  # a preset name or a callable depth -> compiled model
    depth: int
    seed: int
    units: int | None
    overrides: dict[str, Any]
    data: Any
    epochs: int
    batch_size: int
    metric: str | None
    verbose: int


def _build(job: _Job) -> Any:
    if isinstance(job.builder, str):
        from stacked_keras import zoo

        return zoo.build(job.builder, units=[job.units] * job.depth, **job.overrides)
    return job.builder(job.depth)


def _run(job: _Job) -> RunRecord:
    """Builds, trains and measures one model (in this process)."""
    import keras

    keras.backend.clear_session()
    keras.utils.set_random_seed(job.seed)
    model = _build(job)
    builder_name = job.builder if isinstance(job.builder, str) else getattr(
        job.builder, "__qualname__", repr(job.builder)
    )
    if not isinstance(model, keras.Model):
        raise ValueError(
            f"preset_or_builder must give a keras.Model for each depth; {builder_name} "
            f"returned {type(model).__name__} for depth {job.depth}"
        )
    if not model.compiled:
        raise ValueError(
            f"preset_or_builder must give a compiled model; {builder_name} returned the "
            f"uncompiled model {model.name!r} for depth {job.depth}: call model.compile(...) "
            "in the builder"
        )

    epoch_seconds: list[float] = []

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_seconds.append(time.perf_counter() - self._start)

    (x_train, y_train), (x_val, y_val) = job.data
    history = model.fit(
        x_train,
        y_train,
        epochs=job.epochs,
        batch_size=job.batch_size,
        verbose=job.verbose,
        callbacks=[EpochTimer()],
    )
    evaluate_batch = max(job.batch_size, 256)
    train = model.evaluate(x_train, y_train, batch_size=evaluate_batch, verbose=0, return_dict=True)
    val = model.evaluate(x_val, y_val, batch_size=evaluate_batch, verbose=0, return_dict=True)
    metric = job.metric
    if metric is None:
        metric = next((key for key in train if key != "loss"), "loss")
    if metric not in train:
        raise ValueError(
            f"metric must be one of the model's metrics {sorted(train)}, got {metric!r}"
        )
    train_value, val_value = float(train[metric]), float(val[metric])
    gap = val_value - train_value if lower_is_better(metric) else train_value - val_value
    timed = epoch_seconds[1:] if len(epoch_seconds) > 1 else epoch_seconds
    return RunRecord(
        depth=job.depth,
        seed=job.seed,
        params=int(model.count_params()),
        metric=metric,
        train_metric=train_value,
        val_metric=val_value,
        gap=gap,
        seconds_per_epoch=_mean(timed),
        epochs=job.epochs,
        history={key: [float(v) for v in values] for key, values in history.history.items()},
    )


# ---------------------------------------------------------------------------
# Checking the arguments
# ---------------------------------------------------------------------------


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _positive_int(name: str, value: Any) -> int:
    if not _is_integer(value) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _int_sequence(name: str, value: Any, *, positive: bool) -> tuple[int, ...]:
    kind = "positive integers" if positive else "integers"
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence) or not value:
        raise ValueError(f"{name} must be a non-empty list of {kind}, got {value!r}")
    for position, item in enumerate(value):
        if not _is_integer(item) or (positive and item < 1):
            raise ValueError(f"{name}[{position}] must be a {kind[:-1]}, got {item!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{name} must not repeat a value, got {list(value)!r}")
    return tuple(int(item) for item in value)


def _check_data(data: Any) -> tuple[tuple[Any, Any], tuple[Any, Any]]:
    shape = "((x_train, y_train), (x_val, y_val))"
    try:
        (x_train, y_train), (x_val, y_val) = data
    except (TypeError, ValueError):
        raise ValueError(
            f"data must be {shape} (a stacked_keras.zoo.datasets.LocalDataset unpacks "
            f"so), got {type(data).__name__}"
        ) from None
    for name, x, y in (("training", x_train, y_train), ("validation", x_val, y_val)):
        first = x[0] if isinstance(x, (list, tuple)) else x
        if len(first) != len(y) or len(y) == 0:
            raise ValueError(
                f"data's {name} inputs and targets must hold the same number (> 0) of "
                f"examples, got {len(first)} inputs and {len(y)} targets"
            )
    return (x_train, y_train), (x_val, y_val)


def _describe_data(data: Any, train: tuple[Any, Any]) -> str:
    name = getattr(data, "name", None)
    count = f"{len(train[1]):,} training examples"
    return f"{name}, {count}" if isinstance(name, str) and name else count


def _progress_bar(total: int, enabled: bool) -> Any:
    """A tqdm bar, or None when disabled or tqdm is not installed."""
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc="depth sweep", unit="model")


def depth_sweep(
    preset_or_builder: str | Callable[[int], Any],
    data: Any,
    *,
    depths: Sequence[int] = (1, 2, 3, 4),
    units: int | None = None,
    epochs: int = 5,
    seeds: Sequence[int] = (0,),
    batch_size: int = 32,
    metric: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    label: str | None = None,
    progress: bool = True,
    verbose: int = 0,
    workers: int = 1,
) -> SweepResult:
    """Trains one model per depth and tabulates what depth buys and costs.

    For every depth and every seed: clears the Keras session, seeds every
    random generator (`keras.utils.set_random_seed(seed)`), builds the model,
    trains it for `epochs` epochs, then evaluates it on the training and the
    validation data. The result holds one record per depth (averaged over
    the seeds): parameter count, the metric on both splits, the gap between
    them (overfitting) and the seconds per training epoch.

    Each (depth, seed) run is an independent job. With `workers > 1` the
    jobs run in that many processes (started with `spawn`, each importing
    TensorFlow once); the builder and the data are then pickled to them, so
    the builder must be a preset name or a function the workers can import
    (defined in a `.py` module, not in a notebook). Runs
    sharing the CPU take longer per epoch, so compare `seconds_per_epoch`
    only between sweeps run with the same `workers`.

    Args:
        preset_or_builder: a zoo preset name (`"sentiment-deep-lstm"`,
            `"forecaster-deep-gru"`, ...), built for depth d as
            `zoo.build(name, units=[units] * d, **overrides)`; or a callable
            taking the depth and returning a compiled `keras.Model`.
        data: `((x_train, y_train), (x_val, y_val))`, for example a
            `stacked_keras.zoo.datasets.LocalDataset`.
        depths: the depths to try, each a positive integer. Defaults to
            `(1, 2, 3, 4)`.
        units: the units of every layer, for a preset name only. Defaults to
            `None`: 32 units.
        epochs: training epochs per model. Defaults to 5.
        seeds: one run per seed and depth; the records average them.
            Defaults to `(0,)`.
        batch_size: the training batch size. Defaults to 32.
        metric: the metric to report, a key of `model.evaluate(...,
            return_dict=True)` such as `"accuracy"`, `"mae"` or `"loss"`.
            Defaults to `None`: the model's first compiled metric, or the
            loss when it has none.
        overrides: more `zoo.build` arguments for a preset name (for example
            `{"vocab_size": 40}`). Defaults to `None`.
        label: names the sweep in its table and plot. Defaults to the
            dataset's name and training size.
        progress: show a tqdm progress bar (no bar when tqdm is missing).
            Defaults to `True`.
        verbose: Keras's `fit` verbosity. Defaults to 0.
        workers: how many processes run the jobs. Defaults to 1 (all in this
            process).

    Returns:
        A `SweepResult`: `.records`, `.runs`, `.to_markdown()`, `.plot()`.

    Raises:
        ValueError: for an argument out of range (naming it and the value),
            a builder that does not return a compiled `keras.Model`, a metric
            the model does not report, `units` or `overrides` given with a
            builder callable, or a builder that cannot be pickled with
            `workers > 1`.

    Example:

    ```python
    from stacked_keras.experiments import depth_sweep
    from stacked_keras.zoo import datasets

    data = datasets.multi_frequency_series(200, timesteps=12)
    result = depth_sweep("forecaster-deep-gru", data, depths=(1, 2), units=8, epochs=2)
    print(result.to_markdown())
    ```
    """
    if isinstance(preset_or_builder, str):
        if units is None:
            units = _DEFAULT_UNITS
        units = _positive_int("units", units)
    elif callable(preset_or_builder):
        if units is not None:
            raise ValueError(
                f"units applies to a preset name; the builder {preset_or_builder!r} chooses "
                f"its own units, got units={units!r}"
            )
        if overrides:
            raise ValueError(
                f"overrides applies to a preset name; pass settings to the builder "
                f"{preset_or_builder!r} yourself, got overrides={dict(overrides)!r}"
            )
    else:
        raise ValueError(
            "preset_or_builder must be a zoo preset name (str) or a callable "
            f"depth -> compiled keras.Model, got {type(preset_or_builder).__name__}: "
            f"{preset_or_builder!r:.80}"
        )
    if overrides is not None and not isinstance(overrides, Mapping):
        raise ValueError(f"overrides must be a dict of zoo.build arguments, got {overrides!r}")
    if overrides and "units" in overrides:
        raise ValueError("overrides must not set 'units': the sweep sets them; use units=")
    train, val = _check_data(data)
    depths = tuple(sorted(_int_sequence("depths", depths, positive=True)))
    seeds = _int_sequence("seeds", seeds, positive=False)
    epochs = _positive_int("epochs", epochs)
    batch_size = _positive_int("batch_size", batch_size)
    workers = _positive_int("workers", workers)
    if metric is not None and (not isinstance(metric, str) or not metric):
        raise ValueError(f"metric must be a metric name such as 'accuracy', got {metric!r}")
    if label is not None and not isinstance(label, str):
        raise ValueError(f"label must be a string, got {label!r}")
    if not _is_integer(verbose) or verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")

    jobs = [
        _Job(
            builder=preset_or_builder,
            depth=depth,
            seed=seed,
            units=units,
            overrides=dict(overrides or {}),
            data=(train, val),
            epochs=epochs,
            batch_size=batch_size,
            metric=metric,
            verbose=verbose,
        )
        for depth in depths
        for seed in seeds
    ]
    bar = _progress_bar(len(jobs), progress)
    try:
        if workers == 1:
            runs = []
            for job in jobs:
                if bar is not None:
                    bar.set_postfix_str(f"depth {job.depth}, seed {job.seed}")
                runs.append(_run(job))
                if bar is not None:
                    bar.update(1)
        else:
            runs = _run_in_processes(jobs, workers, bar)
    finally:
        if bar is not None:
            bar.close()

    metrics = sorted({run.metric for run in runs})
    if len(metrics) > 1:
        raise ValueError(
            f"the models report different metrics by default ({metrics}); choose one with "
            "metric=..."
        )
    return SweepResult(
        records=_aggregate(runs),
        runs=sorted(runs, key=lambda run: (run.depth, run.seed)),
        metric=metrics[0],
        label=label if label is not None else _describe_data(data, train),
        epochs=epochs,
    )


def _run_in_processes(jobs: list[_Job], workers: int, bar: Any) -> list[RunRecord]:
    """Runs the jobs in a pool of `workers` spawned processes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, as_completed

    builder = jobs[0].builder
    try:
        pickle.dumps(builder)
    except Exception as error:  # pickling can raise many kinds of errors
        raise ValueError(
            "with workers > 1, preset_or_builder must be picklable (a preset name or a "
            f"module-level function), got {builder!r}: {error}"
        ) from None
    main = sys.modules.get("__main__")
    if getattr(builder, "__module__", None) == "__main__" and not hasattr(main, "__file__"):
        raise ValueError(
            "with workers > 1, preset_or_builder must be importable by the worker "
            f"processes, but {builder.__qualname__} was defined interactively (a notebook "
            "or a console); define it in a .py module and import it, or pass a preset name"
        )
    context = multiprocessing.get_context("spawn")
    runs = []
    with ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=context) as pool:
        futures = {pool.submit(_run, job): job for job in jobs}
        for future in as_completed(futures):
            runs.append(future.result())
            if bar is not None:
                job = futures[future]
                bar.set_postfix_str(f"depth {job.depth}, seed {job.seed} done")
                bar.update(1)
    return runs

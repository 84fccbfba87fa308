"""The depth study: stacked_keras.experiments.depth_sweep and its SweepResult."""

import math
import subprocess
import sys
import types

import numpy as np
import pytest

from stacked_keras import experiments
from stacked_keras.experiments import DepthRecord, RunRecord, SweepResult, depth_sweep, lower_is_better
from stacked_keras.zoo import datasets


def sentiment_builder(depth):
    """A module-level builder (picklable): a 4-unit LSTM stack with a binary head."""
    from stacked_keras import deep_lstm

    return deep_lstm(
        [4] * depth,
        vocab_size=len(datasets.PHRASE_SENTIMENT_VOCABULARY),
        embedding_dim=4,
        head="binary",
    )


@pytest.fixture(scope="module")
def series():
    return datasets.multi_frequency_series(48, timesteps=6, seed=0)


@pytest.fixture(scope="module")
def sweep(series):
    """Two depths of the GRU forecaster preset: two tiny models."""
    return depth_sweep(
        "forecaster-deep-gru",
        series,
        depths=(2, 1),
        units=4,
        epochs=2,
        batch_size=16,
        progress=False,
    )


@pytest.fixture(scope="module")
def sentiment_sweep():
    """One depth, two seeds, of a builder callable with an accuracy metric."""
    data = datasets.phrase_sentiment(40, seed=0)
    return depth_sweep(
        sentiment_builder, data, depths=(1,), epochs=1, seeds=(1, 0), batch_size=16, progress=False
    )


# --- the records --------------------------------------------------------------------


def test_sweep_has_one_record_per_depth_in_increasing_order(sweep):
    assert isinstance(sweep, SweepResult)
    assert [record.depth for record in sweep.records] == [1, 2]
    assert all(isinstance(record, DepthRecord) for record in sweep.records)
    assert sweep.depths == [1, 2]
    assert len(sweep) == 2 and list(sweep) == sweep.records


def test_sweep_trains_one_model_per_depth_and_seed(sweep, sentiment_sweep):
    assert [(run.depth, run.seed) for run in sweep.runs] == [(1, 0), (2, 0)]
    assert [(run.depth, run.seed) for run in sentiment_sweep.runs] == [(1, 0), (1, 1)]
    assert all(isinstance(run, RunRecord) and run.epochs == 2 for run in sweep.runs)
    assert all(len(run.history["loss"]) == 2 for run in sweep.runs)


def test_parameters_grow_with_depth(sweep):
    one, two = sweep.records
    # GRU(4) over 1 feature, reset_after: 3 * (4 * (1 + 4) + 2 * 4) = 84; the second
    # layer reads 4 features: 3 * (4 * (4 + 4) + 2 * 4) = 120; head Dense(1): 5.
    assert one.params == 84 + 5
    assert two.params == 84 + 120 + 5


def test_default_metric_is_the_presets_compiled_metric(sweep):
    assert sweep.metric == "mae"
    assert sweep.lower_is_better
    assert {record.metric for record in sweep.records} == {"mae"}


def test_gap_of_a_loss_like_metric_is_validation_minus_training(sweep):
    for run in sweep.runs:
        assert run.gap == pytest.approx(run.val_metric - run.train_metric)
        assert math.isfinite(run.train_metric) and run.train_metric > 0
        assert run.seconds_per_epoch > 0


def test_builder_callable_with_accuracy_reports_train_minus_validation(sentiment_sweep):
    assert sentiment_sweep.metric == "accuracy" and not sentiment_sweep.lower_is_better
    for run in sentiment_sweep.runs:
        assert run.gap == pytest.approx(run.train_metric - run.val_metric)
        assert 0.0 <= run.val_metric <= 1.0
    # the builder chose 4 units: embedding vocabulary x 4, LSTM 4 * (4 * (4 + 4) + 4), head 4 + 1
    embedding = len(datasets.PHRASE_SENTIMENT_VOCABULARY) * 4
    assert sentiment_sweep.records[0].params == embedding + 4 * (4 * (4 + 4) + 4) + 5


def test_records_average_the_seeds_and_give_their_spread(sentiment_sweep):
    (record,) = sentiment_sweep.records
    assert record.seeds == (0, 1)
    for key in ("train_metric", "val_metric", "gap", "seconds_per_epoch"):
        values = [getattr(run, key) for run in sentiment_sweep.runs]
        assert getattr(record, key) == pytest.approx(np.mean(values))
        assert getattr(record, f"{key}_std") == pytest.approx(np.std(values, ddof=1))


def test_different_seeds_give_different_models(sentiment_sweep):
    first, second = sentiment_sweep.runs
    assert first.history["loss"] != second.history["loss"]


def test_a_single_seed_has_no_spread(sweep):
    assert all(record.train_metric_std is None and record.gap_std is None for record in sweep.records)


def test_aggregation_groups_runs_by_depth():
    def run(depth, seed, value):
        return RunRecord(depth=depth, seed=seed, params=10 * depth, metric="mae", train_metric=value,
                         val_metric=value + 1, gap=1.0, seconds_per_epoch=0.5, epochs=1)

    records = experiments._aggregate([run(2, 0, 1.0), run(1, 0, 3.0), run(2, 1, 2.0)])
    assert [(r.depth, r.seeds, r.params) for r in records] == [(1, (0,), 10), (2, (0, 1), 20)]
    assert records[1].train_metric == 1.5 and records[1].val_metric == 2.5
    assert records[1].train_metric_std == pytest.approx(0.5 ** 0.5)
    assert records[0].train_metric_std is None


def test_label_names_the_dataset_and_its_size(sweep):
    assert sweep.label == "multi_frequency_series, 38 training examples"


# --- the table and the plot ---------------------------------------------------------


def test_markdown_table_has_a_row_per_depth(sweep):
    table = sweep.to_markdown()
    lines = table.splitlines()
    assert lines[0] == "*multi_frequency_series, 38 training examples; mae (lower is better), 2 epochs*"
    assert lines[2] == "| depth | params | train mae | val mae | gap (val - train) | s/epoch |"
    assert lines[3] == "|---:|---:|---:|---:|---:|---:|"
    one = sweep.records[0]
    assert lines[4] == (
        f"| 1 | 89 | {one.train_metric:.3f} | {one.val_metric:.3f} | {one.gap:+.3f} "
        f"| {one.seconds_per_epoch:.2f} |"
    )
    assert lines[5].startswith("| 2 | 209 | ")
    assert len(lines) == 6
    assert sweep._repr_markdown_() == table == str(sweep)


def test_markdown_table_gives_mean_and_std_over_seeds(sentiment_sweep):
    table = sentiment_sweep.to_markdown()
    assert "accuracy (higher is better), 1 epoch; mean ± std over seeds [0, 1]" in table
    assert "| gap (train - val) |" in table
    assert table.splitlines()[-1].count("±") == 4


def test_plot_draws_metric_and_time_against_depth_and_saves_it(sweep, tmp_path):
    path = tmp_path / "sweep.png"
    figure = sweep.plot(path)
    metric_ax, time_ax, params_ax = figure.axes
    assert metric_ax.get_ylabel() == "mae (lower is better)"
    assert metric_ax.get_legend_handles_labels()[1] == [
        f"{sweep.label}: train",
        f"{sweep.label}: validation",
    ]
    train_line = metric_ax.get_lines()[0]
    assert list(train_line.get_xdata()) == [1, 2]
    assert list(train_line.get_ydata()) == pytest.approx([r.train_metric for r in sweep.records])
    assert time_ax.get_ylabel() == "seconds per epoch (solid)"
    assert time_ax.get_legend_handles_labels()[1] == [sweep.label]
    assert list(params_ax.get_lines()[0].get_ydata()) == [89, 209]
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_draws_two_sweeps_on_the_same_axes(sweep):
    figure = sweep.plot()
    other = SweepResult(records=sweep.records, runs=sweep.runs, metric="mae", label="other", epochs=2)
    again = other.plot(axes=figure.axes[:2])
    assert again is figure
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels[-2:] == ["other: train", "other: validation"]
    assert len(figure.axes) == 3  # the parameter axis is shared, not doubled


def test_plot_error_bars_show_the_spread_over_seeds(sentiment_sweep):
    figure = sentiment_sweep.plot()
    containers = figure.axes[0].containers
    assert all(container.has_yerr for container in containers)


def test_plot_refuses_axes_that_are_not_a_pair(sweep):
    with pytest.raises(ValueError, match=r"axes must be a pair \(metric_ax, time_ax\)"):
        sweep.plot(axes="ax")


def test_progress_bar_counts_the_models(capsys):
    bar = experiments._progress_bar(3, True)
    bar.update(3)
    bar.close()
    err = capsys.readouterr().err
    assert "depth sweep" in err and "3/3" in err
    assert experiments._progress_bar(3, False) is None


# --- choosing the metric, processes ----------------------------------------------------


def test_metric_argument_picks_another_metric():
    data = datasets.phrase_sentiment(20, seed=0)
    result = depth_sweep(sentiment_builder, data, depths=(1,), epochs=1, metric="loss", progress=False)
    assert result.metric == "loss" and result.lower_is_better
    run = result.runs[0]
    assert run.gap == pytest.approx(run.val_metric - run.train_metric)


def test_unknown_metric_is_refused_with_the_models_metrics():
    data = datasets.phrase_sentiment(10, seed=0)
    with pytest.raises(
        ValueError, match=r"metric must be one of the model's metrics \['accuracy', 'loss'\], got 'auc'"
    ):
        depth_sweep(sentiment_builder, data, depths=(1,), epochs=1, metric="auc", progress=False)


@pytest.mark.slow
def test_workers_run_the_jobs_in_a_process_pool_with_the_same_results(series, sweep):
    result = depth_sweep(
        "forecaster-deep-gru", series, depths=(1,), units=4, epochs=2,
        batch_size=16, progress=False, workers=2,
    )
    (run,) = result.runs
    (in_process,) = [r for r in sweep.runs if r.depth == 1]
    assert (run.depth, run.seed, run.params) == (1, 0, 89)
    # the same seed gives the same model, whichever process trains it
    assert run.train_metric == pytest.approx(in_process.train_metric, rel=1e-4)
    assert run.val_metric == pytest.approx(in_process.val_metric, rel=1e-4)


# --- bad arguments --------------------------------------------------------------------


def test_builder_must_return_a_compiled_model(series):
    def uncompiled(depth):
        from stacked_keras import deep_gru

        return deep_gru([2] * depth, input_shape=(None, 1))

    with pytest.raises(ValueError, match="must give a compiled model.*uncompiled model 'deep_gru' for depth 1"):
        depth_sweep(uncompiled, series, depths=(1,), epochs=1, progress=False)


def test_builder_must_return_a_keras_model(series):
    with pytest.raises(ValueError, match="must give a keras.Model for each depth.*returned str for depth 1"):
        depth_sweep(lambda depth: "model", series, depths=(1,), epochs=1, progress=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"depths": ()}, r"depths must be a non-empty list of positive integers, got \(\)"),
        ({"depths": (1, 0)}, r"depths\[1\] must be a positive integer, got 0"),
        ({"depths": (2, 2)}, r"depths must not repeat a value, got \[2, 2\]"),
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"batch_size": 2.5}, "batch_size must be a positive integer, got 2.5"),
        ({"seeds": "0"}, "seeds must be a non-empty list of integers, got '0'"),
        ({"workers": 0}, "workers must be a positive integer, got 0"),
        ({"units": -1}, "units must be a positive integer, got -1"),
        ({"verbose": 3}, "verbose must be 0, 1 or 2, got 3"),
        ({"metric": ""}, "metric must be a metric name such as 'accuracy', got ''"),
        ({"overrides": {"units": [2]}}, "overrides must not set 'units'"),
        ({"overrides": [1]}, r"overrides must be a dict of zoo.build arguments, got \[1\]"),
    ],
)
def test_bad_arguments_are_refused_by_name(series, kwargs, message):
    with pytest.raises(ValueError, match=message):
        depth_sweep("forecaster-deep-gru", series, progress=False, **kwargs)


def test_units_with_a_builder_callable_is_refused(series):
    with pytest.raises(ValueError, match="units applies to a preset name.*got units=8"):
        depth_sweep(sentiment_builder, series, units=8, progress=False)


def test_overrides_with_a_builder_callable_is_refused(series):
    with pytest.raises(ValueError, match="overrides applies to a preset name"):
        depth_sweep(sentiment_builder, series, overrides={"dropout": 0.1}, progress=False)


def test_preset_or_builder_must_be_a_name_or_a_callable(series):
    with pytest.raises(ValueError, match="preset_or_builder must be a zoo preset name .* got int"):
        depth_sweep(3, series, progress=False)


def test_data_must_be_two_pairs():
    with pytest.raises(ValueError, match=r"data must be \(\(x_train, y_train\), \(x_val, y_val\)\)"):
        depth_sweep("forecaster-deep-gru", [1, 2, 3], progress=False)


def test_data_with_mismatched_lengths_is_refused():
    x = np.zeros((4, 3, 1), "float32")
    with pytest.raises(ValueError, match="training inputs and targets must hold the same number"):
        depth_sweep("forecaster-deep-gru", ((x, np.zeros((3, 1))), (x, np.zeros((4, 1)))), progress=False)


def test_unpicklable_builder_with_workers_is_refused_before_any_process_starts(series):
    with pytest.raises(ValueError, match="with workers > 1, preset_or_builder must be picklable"):
        depth_sweep(lambda depth: None, series, depths=(1, 2), workers=2, progress=False)


def test_builder_defined_in_a_notebook_with_workers_is_refused(series, monkeypatch):
    notebook_main = types.ModuleType("__main__")  # an interactive __main__ has no __file__

    def forecaster(depth):
        return None

    forecaster.__module__ = "__main__"
    forecaster.__qualname__ = "forecaster"
    notebook_main.forecaster = forecaster
    monkeypatch.setitem(sys.modules, "__main__", notebook_main)
    with pytest.raises(ValueError, match="forecaster was defined interactively.*define it in a .py module"):
        depth_sweep(forecaster, series, depths=(1, 2), workers=2, progress=False)


@pytest.mark.parametrize(
    ("metric", "lower"),
    [
        ("loss", True),
        ("mae", True),
        ("mean_squared_error", True),
        ("sparse_categorical_crossentropy", True),
        ("accuracy", False),
        ("auc", False),
        ("precision", False),
    ],
)
def test_lower_is_better_knows_losses_from_scores(metric, lower):
    assert lower_is_better(metric) is lower


def test_importing_the_module_does_not_import_keras():
    code = "import stacked_keras.experiments, stacked_keras.plot, sys; print('keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_plot_keeps_the_parameter_line_visible_in_the_legend_and_off_the_data(sweep):
    figure = sweep.plot()
    metric_ax, time_ax, params_ax = figure.axes
    # seconds and parameters both start at zero, with different headroom, so
    # with two depths the dotted line does not lie on the solid one
    assert time_ax.get_ylim()[0] == 0 and params_ax.get_ylim()[0] == 0
    deepest = max(sweep.records, key=lambda r: r.params)
    seconds_share = deepest.seconds_per_epoch / time_ax.get_ylim()[1]
    params_share = deepest.params / params_ax.get_ylim()[1]
    assert seconds_share <= 1 / 1.5 and abs(params_share - 1 / 1.1) < 1e-9
    labels = [text.get_text() for text in time_ax.get_legend().get_texts()]
    assert labels == [sweep.label, f"{sweep.label}: parameters (right axis)"]
    # the legends sit below the panels, outside the data area
    for ax in (metric_ax, time_ax):
        assert ax.get_legend().get_bbox_to_anchor().y1 < ax.get_window_extent().y0 + 1


def test_sweeps_with_the_same_parameter_counts_share_one_visible_parameter_line(sweep):
    import dataclasses

    figure = sweep.plot()
    same = SweepResult(records=sweep.records, runs=sweep.runs, metric="mae", label="more data", epochs=2)
    same.plot(axes=figure.axes[:2])
    time_ax, params_ax = figure.axes[1], figure.axes[2]
    (line,) = params_ax.get_lines()  # not two lines, one hidden under the other
    assert line.get_label() == "parameters (right axis), the same for 2 sweeps"
    labels = [text.get_text() for text in time_ax.get_legend().get_texts()]
    assert labels == [sweep.label, "more data", "parameters (right axis), the same for 2 sweeps"]

    wider = [dataclasses.replace(r, params=r.params * 2) for r in sweep.records]
    SweepResult(records=wider, runs=sweep.runs, metric="mae", label="wider", epochs=2).plot(axes=figure.axes[:2])
    assert [line.get_label() for line in params_ax.get_lines()] == [
        "parameters (right axis), the same for 2 sweeps",
        "wider: parameters (right axis)",
    ]

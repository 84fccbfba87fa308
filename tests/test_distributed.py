"""Training beyond one device: MirroredStrategy on two CPU devices, multi-worker example.

The two logical CPU devices must be configured before TensorFlow initializes
its devices, so the MirroredStrategy runs happen in a fresh interpreter
(`tests/run_mirrored_training.py`), once per module; these tests read its
report. The multi-worker example (`examples/multi_worker.py`) runs as two
local worker processes talking over localhost ports.
"""

import json
import math
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from background import MIRRORED_PRESETS

ROOT = Path(__file__).resolve().parent.parent
MULTI_WORKER_EXAMPLE = ROOT / "examples" / "multi_worker.py"
PRESETS = MIRRORED_PRESETS


def _environment():
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="")
    env.pop("TF_CONFIG", None)
    return env


def _last_json_line(completed):
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


# `mirrored` (conftest.py) is the JSON report of tests/run_mirrored_training.py,
# run in the background once these tests are selected.
def test_mirrored_strategy_runs_on_two_logical_cpu_devices(mirrored):
    assert mirrored["devices"] == ["/device:CPU:0", "/device:CPU:1"]
    assert mirrored["replicas"] == 2
    # The builder's weights were created as per-replica (mirrored) variables.
    assert mirrored["mirrored_variables"] is True


def test_mirrored_training_loss_goes_down(mirrored):
    loss = mirrored["mirrored_loss"]
    assert len(loss) == 3
    assert all(math.isfinite(value) for value in loss)
    assert loss[0] > loss[1] > loss[2]


def test_mirrored_training_matches_the_single_device_run(mirrored):
    # Same initial weights, data, global batch and order: splitting each batch
    # over two replicas and summing their gradients is the same computation.
    np.testing.assert_allclose(mirrored["mirrored_loss"], mirrored["single_loss"], rtol=1e-4)
    assert mirrored["max_weight_difference"] < 1e-4


def test_fused_stack_trains_mirrored_as_on_one_device_and_as_the_unfused_stack(mirrored):
    # deep_lstm(..., fused=True): one LSTMStack layer with the hand-written
    # backward pass. Mirrored over two replicas it must match one device, and
    # from the unfused stack's initial weights it must learn the same weights.
    fused = mirrored["fused"]
    assert fused["mirrored_variables"] is True
    assert fused["mirrored_loss"][0] > fused["mirrored_loss"][-1]
    np.testing.assert_allclose(fused["mirrored_loss"], fused["single_loss"], rtol=1e-4)
    assert fused["max_weight_difference"] < 1e-4
    np.testing.assert_allclose(fused["single_loss"], mirrored["single_loss"], rtol=1e-4)
    assert fused["max_difference_from_unfused"] < 1e-4


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_built_inside_a_mirrored_scope_trains_with_fit(mirrored, preset):
    loss = mirrored["presets"][preset]
    assert len(loss) == 2
    assert all(math.isfinite(value) for value in loss)
    assert loss[1] < loss[0]


@pytest.mark.slow
def test_multi_worker_example_trains_two_local_workers_in_step(tmp_path):
    output = tmp_path / "deep_lstm.keras"
    completed = subprocess.run(
        [sys.executable, str(MULTI_WORKER_EXAMPLE), "--local-workers", "2", "--epochs", "2",
         "--examples", "64", "--output", str(output)],
        capture_output=True, text=True, env=_environment(), cwd=ROOT, timeout=300,
    )
    reports = _last_json_line(completed)
    assert [report["worker"] for report in reports] == [0, 1]
    assert all(report["workers"] == 2 for report in reports)
    chief, other = reports
    # One all-reduce per step keeps the workers' weights identical.
    assert chief["loss"] == other["loss"]
    assert chief["weights_checksum"] == other["weights_checksum"]
    assert chief["loss"][1] < chief["loss"][0]
    # Only the chief writes the model where it was asked to; it is a Keras archive.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["deep_lstm.keras"]
    with zipfile.ZipFile(output) as archive:
        config = json.loads(archive.read("config.json"))
    names = [layer["config"]["name"] for layer in config["config"]["layers"]]
    assert names[-3:] == ["lstm_1", "lstm_2", "head"]


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--local-workers", "1"], "--local-workers must be 0 (read TF_CONFIG) or at least 2, got 1"),
        (["--local-workers", "-2"], "--local-workers must be 0 (read TF_CONFIG) or at least 2, got -2"),
        (["--epochs", "0"], "--epochs must be a positive integer, got 0"),
        (["--examples", "0"], "--examples must be a positive integer, got 0"),
    ],
)
def test_multi_worker_example_refuses_bad_arguments(argv, message):
    completed = subprocess.run(
        [sys.executable, str(MULTI_WORKER_EXAMPLE), *argv],
        capture_output=True, text=True, env=_environment(), timeout=60,
    )
    assert completed.returncode == 2
    assert message in completed.stderr


def test_fused_stack_fed_by_training_data_trains_mirrored_as_on_one_device(mirrored):
    # training_data(x, y, shuffle=False) gives fit the batches the arrays give it:
    # the mirrored fused stack fed by the pipeline learns what one device learns from the arrays.
    fed = mirrored["fused_training_data"]
    assert fed["mirrored_variables"] is True
    np.testing.assert_allclose(fed["mirrored_loss"], fed["single_loss"], rtol=1e-4)
    assert fed["max_weight_difference"] < 1e-4

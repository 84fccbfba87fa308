"""The `stacked-keras` command: --version, --help, build (with --export), demo, errors."""

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

from stacked_keras import __version__
from stacked_keras.cli import main


def _run(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="")
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


def _console_script():
    beside_python = pathlib.Path(sys.executable).with_name("stacked-keras")
    found = str(beside_python) if beside_python.exists() else shutil.which("stacked-keras")
    if found is None:
        pytest.skip("the stacked-keras console script is not installed (pip install -e .)")
    return found


def test_console_script_prints_the_version():
    completed = _run(_console_script(), "--version")
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == f"stacked-keras {__version__}"


def test_python_m_help_lists_the_verbs_without_importing_tensorflow(tmp_path):
    # -X importtime writes one stderr line per module imported.
    completed = _run(sys.executable, "-X", "importtime", "-m", "stacked_keras", "--help", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stdout.startswith("usage: stacked-keras")
    assert re.search(r"^\s+demo\s", completed.stdout, re.MULTILINE)
    assert re.search(r"^\s+build\s", completed.stdout, re.MULTILINE)
    assert re.search(r"^\s+lint\s", completed.stdout, re.MULTILINE)
    imported = {
        line.rsplit("|", 1)[-1].strip()
        for line in completed.stderr.splitlines()
        if line.startswith("import time:")
    }
    assert "stacked_keras.cli" in imported
    heavy = sorted(name for name in imported if name.split(".")[0] in ("tensorflow", "keras"))
    assert heavy == []


def test_build_shows_no_tensorflow_start_up_lines_on_stderr(tmp_path):
    # Without TF_CPP_MIN_LOG_LEVEL, TensorFlow prints oneDNN, CUDA-driver and
    # cuInit lines on descriptor 2 as it loads; the CLI filters them.
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    completed = subprocess.run(
        [sys.executable, "-m", "stacked_keras", "build", "lstm", "--units", "4", "--input-shape", "5", "3"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stderr == ""
    assert completed.stdout.startswith("Stack of model")


@pytest.mark.slow
def test_demo_shows_no_tensorflow_start_up_lines_on_stderr(tmp_path):
    # The demo also trains, exports and reloads: none of it may add C++ lines.
    env = {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "CUDA_VISIBLE_DEVICES")}
    completed = subprocess.run(
        [sys.executable, "-m", "stacked_keras", "demo", "--epochs", "1", "--export-dir", str(tmp_path / "demo")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    assert completed.stderr == ""
    assert completed.stdout.startswith("stacked-keras demo:")
    assert f"SavedModel at {tmp_path / 'demo'}" in completed.stdout


def test_start_up_filter_drops_known_noise_and_keeps_real_errors():
    from stacked_keras.quiet_start import keep_lines

    captured = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796282894.359406   30736 port.cc:153] oneDNN custom operations are on.\n"
        "I0000 00:00:1796282894.450121   30736 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.\n"
        "To enable the following instructions: AVX2 AVX512F, in other operations, rebuild TensorFlow.\n"
        "E0000 00:00:1796282901.785478   30736 cuda_platform.cc:52] failed call to cuInit: INTERNAL\n"
        "E0000 00:00:1796282901.785478   30736 op_kernel.cc:1] Invalid argument: a real failure\n"
        "/x.py:3: UserWarning: a Python warning\n"
    )
    assert keep_lines(captured) == (
        "E0000 00:00:1796282901.785478   30736 op_kernel.cc:1] Invalid argument: a real failure\n"
        "/x.py:3: UserWarning: a Python warning\n"
    )


def test_console_script_lints_a_broken_stack_and_exits_1(tmp_path):
    source = tmp_path / "broken.py"
    source.write_text(
        "import keras\n"
        "from keras import layers\n"
        "model = keras.Sequential([layers.LSTM(8), layers.LSTM(4)])  # layer 1 breaks the stack\n"
    )
    completed = _run(_console_script(), "lint", str(source), cwd=tmp_path)
    assert completed.returncode == 1, completed.stderr
    assert f"{source}:3:27: SK101 [lstm]" in completed.stdout
    assert "Set return_sequences=True on lstm." in completed.stdout


def test_version_in_process_returns_zero(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"stacked-keras {__version__}"


def test_no_verb_prints_the_help_and_exits_2(capsys):
    assert main([]) == 2
    assert "usage: stacked-keras" in capsys.readouterr().err


def test_build_prints_the_stack_and_exports_a_saved_model(tmp_path, capsys):
    import tensorflow as tf

    target = tmp_path / "model"
    code = main(
        ["build", "lstm", "--units", "8", "4", "--input-shape", "6", "3", "--head", "binary"]
        + ["--export", str(target)]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert re.search(r"^1\s+lstm_1\s+LSTM\b.*\bTrue$", out, re.MULTILINE)
    assert re.search(r"^2\s+lstm_2\s+LSTM\b.*\bFalse$", out, re.MULTILINE)
    assert f"SavedModel written to {target}" in out
    assert tf.saved_model.contains_saved_model(str(target))
    serving = tf.saved_model.load(str(target)).signatures["serving_default"]
    assert serving.structured_input_signature[1]["sequence"].shape.as_list() == [None, None, 3]
    probabilities = serving(sequence=tf.random.normal((5, 11, 3)))["output_0"].numpy()
    assert probabilities.shape == (5, 1)
    assert ((probabilities > 0) & (probabilities < 1)).all()  # the binary head's sigmoid

    # The same directory again: refused in the command line's words.
    assert main(["build", "lstm", "--units", "4", "--input-shape", "6", "3", "--export", str(target)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == (
        f"stacked-keras: error: --export {str(target)!r} already exists; "
        "pass --overwrite to replace it"
    )


def test_bad_unit_count_is_one_error_line_and_exit_2(capsys):
    code = main(["build", "lstm", "--units", "4", "0", "--input-shape", "6", "3"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.strip() == "stacked-keras: error: --units[1] must be a positive integer, got 0"


def test_unparsable_input_shape_names_the_argument(capsys):
    code = main(["build", "gru", "--units", "4", "--input-shape", "6", "three"])
    err = capsys.readouterr().err
    assert code == 2
    assert "argument --input-shape: invalid dimension 'three'" in err
    assert "Traceback" not in err


def test_missing_input_description_names_both_arguments(capsys):
    code = main(["build", "gru", "--units", "4"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("stacked-keras: error: ")
    assert "--input-shape" in err and "--vocab-size" in err
    assert len(err.strip().splitlines()) == 1


def test_overwrite_without_export_is_refused(capsys):
    assert main(["build", "lstm", "--units", "4", "--input-shape", "6", "3", "--overwrite"]) == 2
    assert "--overwrite replaces an export: it needs --export DIR" in capsys.readouterr().err


def test_demo_with_zero_epochs_is_refused(capsys):
    assert main(["demo", "--epochs", "0"]) == 2
    err = capsys.readouterr().err
    assert err.strip() == "stacked-keras: error: epochs must be a positive integer, got 0"


@pytest.mark.slow
def test_demo_trains_exports_and_reloads_a_deep_lstm(tmp_path, capsys):
    import tensorflow as tf

    target = tmp_path / "demo_model"
    assert main(["demo", "--epochs", "1", "--export-dir", str(target)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^1\s+lstm_1\s+LSTM\b.*\bTrue$", out, re.MULTILINE)  # describe's table
    assert "16/16" in out  # Keras's progress bar: 512 sequences in batches of 32
    before = float(re.search(r"loss before training: ([0-9.]+)", out).group(1))
    after = float(re.search(r"loss after 1 epoch: ([0-9.]+)", out).group(1))
    assert after < before
    reloaded = re.search(r"largest output difference from the live model ([0-9.e+-]+)", out)
    difference = float(reloaded.group(1))
    assert difference <= 1e-5
    assert tf.saved_model.contains_saved_model(str(target))
    assert f"SavedModel at {target}" in out

"""`%load_ext stacked_keras`: each cell that builds a Keras model is linted.

A real IPython `InteractiveShell` runs the cells in this process; what the
extension displays under a cell is caught by IPython's capturing display
publisher (both the text/plain and the text/html forms).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("IPython")

from IPython.core.displaypub import CapturingDisplayPublisher  # noqa: E402
from IPython.core.interactiveshell import InteractiveShell  # noqa: E402
from traitlets.config import Config  # noqa: E402

import stacked_keras.lint.from_source  # noqa: E402

BROKEN = (
    "import keras\n"
    "from keras import layers\n"
    "net = keras.Sequential([layers.LSTM(8), layers.LSTM(8), layers.Dense(1)])\n"
)
CLEAN = (
    "import keras\n"
    "from keras import layers\n"
    "ok = keras.Sequential([layers.LSTM(8, return_sequences=True), layers.LSTM(8), layers.Dense(1)])\n"
)


class Cells:
    """Runs cells in the shell and returns what each displayed."""

    def __init__(self, shell: InteractiveShell) -> None:
        self.shell = shell

    def run(self, source: str, *, success: bool | None = True):
        publisher = CapturingDisplayPublisher()
        self.shell.display_pub = publisher
        result = self.shell.run_cell(textwrap.dedent(source), store_history=True)
        if success is not None:
            assert result.success is success, result.error_in_exec or result.error_before_exec
        self.result = result
        return [output["data"] for output in publisher.outputs]

    def text(self, source: str, **options) -> str:
        """The text/plain of everything the cell displayed ("" for nothing)."""
        return "\n".join(data["text/plain"] for data in self.run(source, **options))


@pytest.fixture(scope="module")
def shell(tmp_path_factory):
    os.environ.setdefault("IPYTHONDIR", str(tmp_path_factory.mktemp("ipython")))
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    return InteractiveShell.instance(config=config)


@pytest.fixture
def cells(shell, capsys):
    shell.reset(new_session=True)
    shell.run_cell("%load_ext stacked_keras", store_history=True)
    yield Cells(shell)
    shell.extension_manager.unload_extension("stacked_keras")


def test_broken_sequential_stack_is_shown_under_its_cell(cells):
    [shown] = cells.run(BROKEN)
    assert "In [2]:3:25: SK101 [lstm]" in shown["text/plain"]
    assert "fix: Set return_sequences=True on lstm." in shown["text/plain"]
    assert "<table>" in shown["text/html"] and "SK101" in shown["text/html"]


def test_clean_model_is_silent(cells):
    assert cells.run(CLEAN) == []


def test_a_finding_shows_only_under_the_cell_that_holds_it(cells):
    assert "SK101" in cells.text(BROKEN)
    assert cells.run("x = 1") == []
    assert cells.run(CLEAN) == []
    assert cells.run("net.summary") == []


def test_names_from_an_earlier_cell_resolve(cells):
    cells.run("from keras.layers import LSTM as Recurrent, Dense\nimport keras\nunits = 8")
    text = cells.text("model = keras.Sequential([Recurrent(units), Recurrent(units), Dense(1)])")
    # Located at the line: the static front-end knew `Recurrent` is keras's LSTM.
    assert "In [3]:1:27: SK101" in text
    assert "<model>" not in text  # the live model's twin is shown once


def test_cells_run_before_loading_are_read(cells):
    cells.run("%unload_ext stacked_keras")
    cells.run("from keras.layers import GRU as G\nimport keras")
    cells.run("%load_ext stacked_keras")
    assert "In [5]:1:23: SK101 [gru]" in cells.text("m = keras.Sequential([G(4), G(4)])")


def test_a_model_started_in_one_cell_and_broken_in_the_next_points_at_the_first(cells):
    assert cells.run("import keras\nm = keras.Sequential()\nm.add(keras.layers.GRU(4))") == []
    text = cells.text("m.add(keras.layers.GRU(4))")
    assert "In [2]:3:7: SK101 [gru]" in text


def test_a_live_model_built_by_a_helper_module_is_found(cells, tmp_path, monkeypatch):
    (tmp_path / "zoo_helpers.py").write_text(textwrap.dedent("""
        import keras

        def build(kind):
            layer = getattr(keras.layers, kind)
            return keras.Sequential([layer(8), layer(8), keras.layers.Dense(1)], name="helper_built")
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    text = cells.text("import zoo_helpers\nforecaster = zoo_helpers.build('GRU')")
    assert "<forecaster>: SK101" in text
    assert "Set return_sequences=True on gru" in text
    # Unchanged, it is not shown again; changed, its old problem is not repeated.
    assert cells.run("forecaster.name") == []
    assert cells.run("import keras\nforecaster.add(keras.layers.Dense(1))", success=True) == []


def test_the_same_broken_architecture_under_another_name_is_still_shown(cells, tmp_path, monkeypatch):
    (tmp_path / "same_helpers.py").write_text(
        "import keras\n"
        "from keras import layers\n"
        "def build():\n"
        "    return keras.Sequential([layers.LSTM(8), layers.LSTM(8), layers.Dense(1)])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "In [2]:3:25: SK101" in cells.text(BROKEN)
    assert "<copy>: SK101 [lstm" in cells.text("import same_helpers\ncopy = same_helpers.build()")


def test_keras_ndim_error_is_explained_with_sk101(cells):
    text = cells.text(
        "import keras\n"
        "from keras import layers\n"
        "net = keras.Sequential([keras.Input((10, 3)), layers.LSTM(8), layers.LSTM(4)])\n",
        success=False,
    )
    assert "expected ndim=3, found ndim=2" in str(cells.result.error_in_exec)
    assert "Keras's 'expected ndim=3, found ndim=2' at layer 'lstm_" in text
    assert "In [2]:3:47: SK101 [lstm]" in text
    assert "fix: Set return_sequences=True on lstm." in text


def test_keras_ndim_error_in_fit_points_at_the_cell_that_built_the_model(cells):
    assert "SK101" in cells.text(BROKEN)
    text = cells.text(
        "import numpy as np\n"
        "net.compile(optimizer='adam', loss='mse')\n"
        "net.fit(np.zeros((4, 5, 3)), np.zeros((4, 1)), verbose=0)\n",
        success=False,
    )
    assert "Keras's 'expected ndim=3, found ndim=2'" in text
    assert "In [2]:3:25: SK101 [lstm]" in text


def test_keras_ndim_error_of_a_model_from_a_helper_module_names_the_live_layer(cells, tmp_path, monkeypatch):
    (tmp_path / "more_helpers.py").write_text(
        "import keras\n"
        "def build():\n"
        "    return keras.Sequential([keras.layers.SimpleRNN(4), keras.layers.SimpleRNN(4)])\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    assert "<rnn>: SK101" in cells.text("import more_helpers\nrnn = more_helpers.build()")
    text = cells.text(
        "import numpy as np\n"
        "rnn.compile(optimizer='adam', loss='mse')\n"
        "rnn.fit(np.zeros((2, 5, 3)), np.zeros((2, 4)), verbose=0)\n",
        success=False,
    )
    assert "Keras's 'expected ndim=3, found ndim=2' at layer 'simple_rnn" in text
    assert "<rnn>: SK101 [simple_rnn" in text


def test_keras_ndim_error_from_data_without_a_time_axis_blames_no_layer(cells):
    text = cells.text(
        "import keras\n"
        "net = keras.Sequential([keras.Input((10,)), keras.layers.LSTM(8)])\n",
        success=False,
    )
    assert "expected ndim=3, found ndim=2" in str(cells.result.error_in_exec)
    assert text.startswith("stacked-keras: Keras's 'expected ndim=3, found ndim=2' at layer 'lstm")
    assert "or the data has no time axis (give keras.Input a (timesteps, features) shape" in text
    assert "SK101 [" not in text  # no finding made up


def test_noqa_silences_the_cell_and_its_live_twin(cells):
    assert cells.run(BROKEN.replace("Dense(1)])\n", "Dense(1)])  # noqa: SK101\n")) == []


def test_off_and_on(cells, capsys):
    cells.run("%stacked_keras off")
    assert "lints each cell: off" in capsys.readouterr().out
    assert cells.run(BROKEN) == []
    cells.run("%stacked_keras on")
    assert "lints each cell: on" in capsys.readouterr().out
    assert "SK101" in cells.text(BROKEN)


def test_select_and_ignore(cells, capsys):
    cells.run("%stacked_keras select SK2")
    assert "select: SK2" in capsys.readouterr().out
    assert cells.run(BROKEN) == []
    cells.run("%stacked_keras select all")
    cells.run("%stacked_keras ignore SK101")
    assert cells.run(BROKEN) == []
    cells.run("%stacked_keras ignore none")
    assert "SK101" in cells.text(BROKEN)


def test_status_and_bad_arguments(cells, capsys):
    cells.run("%stacked_keras")
    assert "stacked-keras lints each cell: on; select: every rule; ignore: nothing" in capsys.readouterr().out
    cells.run("%stacked_keras select SK999", success=None)
    out = capsys.readouterr()
    assert "UsageError" in out.err + out.out and "SK999" in out.err + out.out
    cells.run("%stacked_keras sometimes", success=None)
    out = capsys.readouterr()
    assert "usage: %stacked_keras [on | off" in out.err + out.out


def test_unload_turns_it_off(cells, capsys):
    cells.run("%unload_ext stacked_keras")
    assert cells.run(BROKEN) == []
    cells.run("%stacked_keras", success=None)
    assert "UsageError" in "".join(capsys.readouterr())


def test_an_exception_inside_the_linter_never_reaches_the_cell(cells, monkeypatch, capsys):
    def fail(*args, **kwargs):
        raise RuntimeError("front-end exploded")

    monkeypatch.setattr(stacked_keras.lint.from_source, "graphs_from_notebook", fail)
    assert cells.run(BROKEN + "answer = 42\n") == []
    assert cells.shell.user_ns["answer"] == 42
    err = capsys.readouterr().err
    warning = [line for line in err.splitlines() if line.startswith("stacked-keras:")]
    assert warning == ["stacked-keras: could not lint this cell (RuntimeError: front-end exploded); "
                       "`%stacked_keras off` turns the linter off"]
    assert "Traceback" not in err


def test_an_object_whose_class_lookup_raises_does_not_disturb_it(cells, capsys):
    cells.run("import keras\n"
              "class Proxy:\n"
              "    @property\n"
              "    def __class__(self):\n"
              "        raise RuntimeError('a lazy proxy')\n"
              "proxy = Proxy()")
    assert "SK101" in cells.text(BROKEN)
    assert "stacked-keras" not in capsys.readouterr().err


def test_a_cell_without_keras_names_or_model_changes_is_not_read(cells, monkeypatch):
    calls = []
    real = stacked_keras.lint.from_source.graphs_from_notebook
    monkeypatch.setattr(stacked_keras.lint.from_source, "graphs_from_notebook",
                        lambda *a, **k: calls.append(1) or real(*a, **k))
    cells.run("total = sum(range(10))")
    assert calls == []
    cells.run(CLEAN)
    assert calls == [1]


def test_loading_imports_neither_tensorflow_nor_keras(tmp_path):
    script = textwrap.dedent("""
        import sys
        from traitlets.config import Config
        from IPython.core.interactiveshell import InteractiveShell
        config = Config()
        config.HistoryManager.hist_file = ":memory:"
        shell = InteractiveShell.instance(config=config)
        for cell in ["%load_ext stacked_keras", "units = 8\\nLSTM = None", "%stacked_keras"]:
            assert shell.run_cell(cell, store_history=True).success
        print(sorted(name for name in ("tensorflow", "keras", "torch") if name in sys.modules))
    """)
    env = dict(os.environ, IPYTHONDIR=str(tmp_path))
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                               env=env, timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip().splitlines()[-1] == "[]"

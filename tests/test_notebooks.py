"""The notebooks in notebooks/ run from top to bottom, and are stored without outputs."""

import json
import pathlib

import nbformat
import pytest

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_quickstart.ipynb",
    "02_lint_your_models.ipynb",
    "03_depth_study.ipynb",
    "04_seq2seq_attention.ipynb",
]


def test_every_notebook_is_there():
    present = [path.name for path in NOTEBOOKS]
    missing = [name for name in EXPECTED if name not in present]
    assert missing == [], f"notebooks missing from {NOTEBOOK_DIR}: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, (
                f"{path.name}: a code cell holds outputs; store notebooks with outputs stripped"
            )


def run_of(path, notebook_runs):
    """What tests/run_notebooks.py reported for one notebook.

    It ran every notebook in a fresh temporary directory, in the background
    while the rest of the suite ran.
    """
    completed = notebook_runs.result()
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads((notebook_runs.workdir / "report.json").read_text())
    assert path.name in report, f"{path.name} was not run: {completed.stderr[-2000:]}"
    return report[path.name]


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_executes_without_error(path, notebook_runs):
    run = run_of(path, notebook_runs)
    print(f"{path.name}: {run['seconds']} s")
    assert run["errors"] == []


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_cells_show_no_tensorflow_start_up_lines(path, notebook_runs):
    # ipykernel forwards descriptor 2 to the cells; the first cell imports
    # TensorFlow through stacked_keras.quiet_start, which filters the lines.
    assert run_of(path, notebook_runs)["start_up_lines"] == []

"""Runs the notebooks in notebooks/ top to bottom, each in a fresh temporary directory.

    python tests/run_notebooks.py --report report.json [NAME.ipynb ...]

Writes one JSON object: for each notebook, the seconds it took, its errors
(the text of a failed cell, or of error outputs; an empty list means it ran
through) and the TensorFlow start-up lines its cells showed (the notebooks
import TensorFlow quietly, so that list is empty too). `tests/test_notebooks.py`
reads the report (started in the background by conftest.py, see
tests/background.py).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import tempfile
import time

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from stacked_keras.quiet_start import is_start_up_noise

NOTEBOOK_DIR = pathlib.Path(__file__).resolve().parent.parent / "notebooks"
CELL_TIMEOUT = 120  # seconds per cell


def run(path: pathlib.Path) -> dict:
    notebook = nbformat.read(path, as_version=4)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", MPLBACKEND="Agg", CUDA_VISIBLE_DEVICES="")
    start = time.perf_counter()
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="sk-notebook-") as workdir:
        client = NotebookClient(notebook, timeout=CELL_TIMEOUT, kernel_name="python3",
                                resources={"metadata": {"path": workdir}})
        try:
            client.execute(env=env)
        except CellExecutionError as error:
            errors.append(str(error)[-3000:])
    errors += [
        f"{output.ename}: {output.evalue}"
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.outputs if output.output_type == "error"
    ]
    start_up_lines = [
        line
        for cell in notebook.cells if cell.cell_type == "code"
        for output in cell.outputs if output.output_type == "stream" and output.name == "stderr"
        for line in output.text.splitlines() if is_start_up_noise(line)
    ]
    return {"seconds": round(time.perf_counter() - start, 1), "errors": errors, "start_up_lines": start_up_lines}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--report", required=True, help="where to write the JSON report")
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    args = parser.parse_args()
    paths = [NOTEBOOK_DIR / name for name in args.names] or sorted(NOTEBOOK_DIR.glob("*.ipynb"))
    report = {}
    for path in paths:
        report[path.name] = run(path)
        pathlib.Path(args.report).write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()

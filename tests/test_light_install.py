"""The light install: what `pip install stacked-keras` brings, and what a missing part says.

The base package depends on Keras, NumPy and h5py only; a Keras backend comes
with an extra. The real packages are installed here, so a missing one is
simulated in a subprocess whose first act is to put an import blocker on
`sys.meta_path`: the blocked package then fails to import exactly as an
absent one does (`ModuleNotFoundError` naming it).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib
import subprocess
import sys
import textwrap
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent

BACKEND_PACKAGES = {"tensorflow", "jax", "jaxlib", "torch"}

# Runs first in each subprocess: every module named in BLOCKED, and its
# submodules, is reported missing.
_BLOCKER = """
import sys

class _Blocker:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Blocker())
"""


def run_without(blocked: set[str], code: str, *, backend: str = "tensorflow", cwd=None) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh Python in which the `blocked` packages are missing."""
    env = dict(os.environ, PYTHONPATH=str(ROOT), KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    program = f"BLOCKED = {sorted(blocked)!r}\n{_BLOCKER}\n{textwrap.dedent(code)}"
    return subprocess.run(
        [sys.executable, "-c", program], env=env, cwd=cwd or ROOT,
        capture_output=True, text=True, timeout=300,
    )


def _requirement_names(requirements: list[str]) -> set[str]:
    names = set()
    for requirement in requirements:
        name = requirement.split(";")[0]
        for separator in "<>=![ ~":
            name = name.split(separator)[0]
        names.add(name.strip().lower())
    return names


def _project() -> dict:
    with open(ROOT / "pyproject.toml", "rb") as handle:
        return tomllib.load(handle)["project"]


def test_base_requirements_bring_no_keras_backend():
    base = _requirement_names(_project()["dependencies"])
    assert {"keras", "numpy", "h5py"} <= base
    assert not base & BACKEND_PACKAGES, f"a backend in the base requirements: {base & BACKEND_PACKAGES}"


def test_each_backend_has_its_extra_and_dev_installs_both():
    extras = {name: _requirement_names(items) for name, items in _project()["optional-dependencies"].items()}
    assert "tensorflow" in extras["tensorflow"]
    assert "jax" in extras["jax"]
    # `pip install -e ".[dev]"` stays the whole set-up for the tests.
    assert {"tensorflow", "jax", "pytest", "onnxruntime", "matplotlib"} <= extras["dev"]


BROKEN_STACK = """\
import keras

model = keras.Sequential([
    keras.Input((None, 4)),
    keras.layers.LSTM(32),
    keras.layers.LSTM(16),
    keras.layers.Dense(1),
])
"""


def test_linter_runs_with_no_keras_backend_installed(tmp_path):
    """Source, notebooks and a saved .keras file lint the same with no backend and no Keras."""
    from stacked_keras import deep_lstm
    from stacked_keras.cli import main

    source = tmp_path / "model.py"
    source.write_text(BROKEN_STACK)
    deep_lstm([4, 3], input_shape=(None, 2), head="regression").save(tmp_path / "saved.keras")
    paths = [str(source), str(tmp_path / "saved.keras"), str(ROOT / "notebooks")]
    result = run_without(BACKEND_PACKAGES | {"keras"}, f"""
        from stacked_keras.cli import main
        code = main(["lint", *{paths!r}, "--format", "json"])
        loaded = sorted(name for name in sys.modules if name.partition(".")[0] in BLOCKED)
        print("LOADED", loaded, "EXIT", code)
    """)
    assert result.returncode == 0, result.stderr
    findings = json.loads(result.stdout[: result.stdout.rindex("LOADED")])
    assert "LOADED [] EXIT 1" in result.stdout
    assert [finding["code"] for finding in findings if finding["path"] == str(source)] == ["SK101"]
    # The same findings as a run with TensorFlow and Keras at hand.
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        main(["lint", *paths, "--format", "json"])
    assert findings == json.loads(printed.getvalue())


def test_h5_file_without_h5py_is_an_sk001_finding_naming_the_package(tmp_path):
    import h5py

    path = tmp_path / "legacy.h5"
    with h5py.File(path, "w") as handle:
        handle.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {"layers": []}})
    result = run_without({"h5py"}, f"""
        from stacked_keras.lint import lint
        for finding in lint({str(path)!r}).findings:
            print(finding.code, "|", finding.message)
    """)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    assert line.startswith("SK001 | ")
    assert "needs h5py, which is not installed: pip install h5py" in line
    assert "bug" not in line


@pytest.mark.parametrize(
    ("backend", "missing", "extra"),
    [("tensorflow", {"tensorflow"}, "stacked-keras[tensorflow]"), ("jax", {"jax", "jaxlib"}, "stacked-keras[jax]")],
)
def test_building_without_the_backend_names_the_extra(backend, missing, extra):
    result = run_without(missing, """
        from stacked_keras import deep_lstm
        from stacked_keras.dependencies import MissingDependencyError
        try:
            deep_lstm([4, 2], input_shape=(None, 3))
        except MissingDependencyError as error:
            print("ERROR", error)
    """, backend=backend)
    assert result.returncode == 0, result.stderr
    message = result.stdout.partition("ERROR ")[2].strip()
    assert f"Keras's backend {backend!r}" in message and f'pip install "{extra}"' in message
    assert message.count(". ") == 0, "one sentence"


def test_cli_build_without_a_backend_is_a_one_line_error():
    result = run_without({"tensorflow"}, """
        from stacked_keras.cli import main
        sys.exit(main(["build", "lstm", "--units", "4", "--input-shape", "5", "3"]))
    """)
    assert result.returncode == 2
    assert 'is not installed: pip install "stacked-keras[tensorflow]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_demo_on_another_backend_refuses_before_training():
    result = run_without(set(), """
        from stacked_keras.cli import main
        sys.exit(main(["demo", "--epochs", "1"]))
    """, backend="jax")
    assert result.returncode == 2
    assert "needs the TensorFlow backend, got Keras backend 'jax'" in result.stderr
    assert "Traceback" not in result.stderr and "Epoch" not in result.stdout


def test_export_saved_model_without_tensorflow_names_the_extra():
    result = run_without({"tensorflow"}, """
        from stacked_keras.dependencies import MissingDependencyError
        try:
            from stacked_keras import export_saved_model
        except MissingDependencyError as error:
            print("ERROR", error)
    """, backend="jax")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == (
        "ERROR SavedModel export (stacked_keras.export_saved_model) needs TensorFlow, which is "
        'not installed: pip install "stacked-keras[tensorflow]"'
    )


def test_serving_module_imports_without_tensorflow():
    result = run_without({"tensorflow"}, """
        import stacked_keras.serving
        from stacked_keras.dependencies import MissingDependencyError
        print("LOADED", "tensorflow" in sys.modules)
        try:
            stacked_keras.serving.default_batch_shards()
        except MissingDependencyError as error:
            print("ERROR", error)
    """, backend="jax")
    assert result.returncode == 0, result.stderr
    assert "LOADED False" in result.stdout
    assert 'needs TensorFlow, which is not installed: pip install "stacked-keras[tensorflow]"' in result.stdout


def test_only_keras_and_its_backends_get_the_install_sentence():
    from stacked_keras.dependencies import MissingDependencyError, translate

    for module, extra in (("jaxlib.xla_client", "stacked-keras[jax]"), ("tensorflow.python", "stacked-keras[tensorflow]")):
        clear = translate(ModuleNotFoundError(f"No module named {module!r}", name=module))
        assert isinstance(clear, MissingDependencyError) and extra in str(clear)
    assert "pip install stacked-keras" in str(translate(ModuleNotFoundError("x", name="keras")))
    unrelated = ModuleNotFoundError("No module named 'scipy'", name="scipy")
    assert translate(unrelated) is unrelated

"""`stacked_keras.lint()`: every kind of input, bad files, directory walks,
`.gitignore`, `# noqa`, and the promise that static linting never loads Keras.

Saved model files are made with real Keras once per module; the static paths
are checked in a subprocess, where nothing else has imported TensorFlow.
"""

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

import stacked_keras
from stacked_keras.graph import LayerNode, ModelGraph
from stacked_keras.lint import Report, discover_files, lint, noqa_codes
from stacked_keras.lint.settings import LintSettings, PathPatterns, SettingsError

BROKEN_PY = textwrap.dedent(
    """\
    import keras
    from keras import layers

    # Two stacked LSTMs: the first one forgets to return its sequence.
    model = keras.Sequential([
        keras.Input((10, 3)),
        layers.LSTM(8),
        layers.LSTM(8),
        layers.Dense(1),
    ])
    """
)

GOOD_PY = textwrap.dedent(
    """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((10, 3)),
        layers.LSTM(8, return_sequences=True),
        layers.LSTM(8),
        layers.Dense(1),
    ])
    """
)


def _notebook(*cells):
    """A notebook: strings are code cells, ("markdown", text) markdown cells."""
    built = []
    for cell in cells:
        if isinstance(cell, tuple):
            built.append({"cell_type": "markdown", "metadata": {}, "source": cell[1]})
        else:
            built.append({"cell_type": "code", "execution_count": None, "metadata": {},
                          "outputs": [], "source": cell.splitlines(keepends=True)})
    return json.dumps({"cells": built, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1)


BROKEN_NOTEBOOK = _notebook(
    ("markdown", "# A broken stack"),
    "import keras\nfrom keras import layers\n",
    "model = keras.Sequential([\n    layers.LSTM(8),\n    layers.LSTM(8),\n    layers.Dense(1),\n])\n",
)


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _codes(report, path=None):
    return sorted(f.code for f in report.findings if path is None or f.path == str(path))


def _broken_graph(name="hand_made"):
    return ModelGraph.chain(
        [
            LayerNode("lstm_a", "LSTM", {"units": 4}),
            LayerNode("lstm_b", "LSTM", {"units": 4}),
            LayerNode("head", "Dense", {"units": 1}),
        ],
        name=name,
    )


@pytest.fixture(scope="module")
def keras_files(tmp_path_factory):
    """Real saved files of a broken model (unbuilt, as Keras allows) and of bad ones."""
    import warnings

    import keras

    folder = tmp_path_factory.mktemp("saved")
    broken = keras.Sequential(
        [keras.layers.LSTM(4, name="lstm_1"), keras.layers.LSTM(4, name="lstm_2"), keras.layers.Dense(1)],
        name="broken",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # saving an unbuilt model, and the legacy .h5 format
        broken.save(folder / "broken.keras")
        broken.save(folder / "broken.h5")
    (folder / "broken.json").write_text(broken.to_json(), encoding="utf-8")
    built = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4), keras.layers.Dense(1)])
    built.save_weights(folder / "weights_only.weights.h5")
    data = (folder / "broken.keras").read_bytes()
    (folder / "truncated.keras").write_bytes(data[: len(data) // 2])
    (folder / "random.h5").write_bytes(os.urandom(512))
    return {"folder": folder, "broken_model": broken, "config": broken.get_config(),
            "json": json.loads(broken.to_json())}


# -- inputs of every kind ----------------------------------------------------------

def test_lint_python_file_reports_sk101_with_location(tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    report = lint(str(path))
    assert isinstance(report, Report)
    sk101 = [f for f in report.findings if f.code == "SK101"]
    assert len(sk101) == 1
    finding = sk101[0]
    assert finding.path == str(path)
    assert (finding.line, finding.column) == (7, 5)
    assert finding.severity == "error" and finding.fix
    assert report.files == [str(path)] and report.models == 1
    assert report.exit_code() == 1


def test_lint_accepts_pathlike_and_list_of_paths(tmp_path):
    broken = _write(tmp_path / "broken.py", BROKEN_PY)
    good = _write(tmp_path / "good.py", GOOD_PY)
    assert _codes(lint(broken), broken) == ["SK101"]
    report = lint([broken, str(good)])
    assert report.files == [str(broken), str(good)]
    assert _codes(report, good) == [] and report.models == 2


def test_lint_correct_model_is_clean(tmp_path):
    report = lint(_write(tmp_path / "good.py", GOOD_PY), select="SK1")
    assert report.findings == [] and report.exit_code() == 0


def test_lint_notebook_reports_cell_and_line_in_cell(tmp_path):
    path = _write(tmp_path / "broken.ipynb", BROKEN_NOTEBOOK)
    finding = next(f for f in lint(path).findings if f.code == "SK101")
    assert finding.path == str(path)
    assert finding.cell == 3  # cells count from 1, markdown cells included
    assert (finding.line, finding.column) == (2, 5)


def test_lint_live_model_names_the_layer(keras_files):
    report = lint(keras_files["broken_model"])
    finding = next(f for f in report.findings if f.code == "SK101")
    assert finding.layer == "lstm_1" and finding.path is None and finding.model == "broken"
    assert report.files == [] and report.models == 1 and report.exit_code() == 1


def test_lint_config_dicts_in_both_forms(keras_files):
    for config in (keras_files["config"], keras_files["json"]):
        report = lint(config)
        assert [f.layer for f in report.findings if f.code == "SK101"] == ["lstm_1"]


def test_lint_model_graph_directly():
    report = lint(_broken_graph())
    assert [(f.code, f.layer, f.model) for f in report.findings] == [("SK101", "lstm_a", "hand_made")]


@pytest.mark.parametrize("name", ["broken.keras", "broken.h5", "broken.json"])
def test_lint_saved_files(keras_files, name):
    path = keras_files["folder"] / name
    report = lint(path)
    finding = next(f for f in report.findings if f.code == "SK101")
    assert finding.path == str(path) and finding.layer == "lstm_1" and finding.line is None


def test_package_is_callable_as_lint_however_it_was_imported():
    import stacked_keras.lint.findings  # binds the package to stacked_keras.lint

    assert isinstance(stacked_keras.lint(_broken_graph()), Report)
    assert isinstance(sys.modules["stacked_keras.lint"](_broken_graph()), Report)
    assert stacked_keras.Report is Report


def test_stacked_keras_lint_is_both_the_package_and_the_lint_function(tmp_path):
    import types

    import stacked_keras.lint.runner

    package = sys.modules["stacked_keras.lint"]
    # the package: its submodules and re-exports are reached through it
    assert isinstance(package, types.ModuleType) and package.__path__
    assert package.runner is stacked_keras.lint.runner
    assert package.lint is stacked_keras.lint.runner.lint and package.fix is stacked_keras.lint.runner.fix
    assert stacked_keras.lint.rules.RULES["SK101"].code == "SK101"
    # the function: calling the package lints, with the function's keywords
    (tmp_path / "model.py").write_text(
        "import keras\n"
        "model = keras.Sequential([keras.Input((10, 3)), keras.layers.LSTM(8), keras.layers.LSTM(8)])\n"
    )
    report = stacked_keras.lint(str(tmp_path), select=["SK101"])
    assert [f.code for f in report.findings] == ["SK101"]
    assert report.findings == stacked_keras.lint.runner.lint(str(tmp_path), select=["SK101"]).findings


def test_the_lint_package_init_holds_re_exports_only():
    import ast

    import stacked_keras.lint

    from pathlib import Path

    tree = ast.parse(Path(stacked_keras.lint.__file__).read_text())
    defined = [
        node.name for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))
    ]
    # only the lazy LintCallback lookup and the callable-package class
    assert defined == ["__getattr__", "_LintPackage"]


def test_target_shape_decides_per_sample_against_per_timestep_head():
    def sequence_head():
        return ModelGraph.chain(
            [
                LayerNode("input", "InputLayer", {"shape": (20, 3)}, kind="input"),
                LayerNode("lstm", "LSTM", {"units": 8, "return_sequences": True}),
                LayerNode("dense", "Dense", {"units": 1}),
            ],
            name="seq_head",
        )

    per_sample = lint(sequence_head(), target=(1,), select=["SK102"])
    per_timestep = lint(sequence_head(), target=(20, 1), select=["SK102"])
    import numpy as np

    from_array = lint(sequence_head(), target=np.zeros((16, 1)), select=["SK102"])
    assert [f.severity for f in per_sample.findings] == ["warning"]
    assert [f.severity for f in from_array.findings] == ["warning"]
    assert per_timestep.findings == []


def test_fix_and_callback_are_reachable_from_the_package(keras_files):
    import keras

    fixed = stacked_keras.fix(keras_files["broken_model"])
    assert "SK101" not in _codes(lint(fixed))
    assert "SK101" in _codes(lint(keras_files["broken_model"]))  # the original is untouched
    assert issubclass(stacked_keras.LintCallback, keras.callbacks.Callback)
    assert stacked_keras.lint.LintCallback is stacked_keras.LintCallback


def test_readme_example_lint_and_fix_a_live_model(capsys):
    import keras

    model = keras.Sequential([
        keras.layers.LSTM(32),   # returns only its last state...
        keras.layers.LSTM(16),   # ...but this layer needs a sequence
        keras.layers.Dense(1),
    ])
    report = stacked_keras.lint(model)
    print(report)
    fixed = stacked_keras.fix(model)          # a corrected copy; `model` is left as it was
    assert not stacked_keras.lint(fixed).findings

    printed = capsys.readouterr().out
    assert re.search(r"^<\w+>: SK101 \[lstm\w*\] ", printed, re.MULTILINE)
    assert printed.splitlines()[-1] == "1 error, 0 warnings, 0 info in 1 model"


def test_readme_example_lint_callback_stops_training_on_a_per_sample_target():
    import keras
    import numpy as np

    from stacked_keras.lint.callback import LintError

    x = np.random.rand(64, 20, 3).astype("float32")
    y = np.random.rand(64, 1).astype("float32")          # one value per sample
    model = keras.Sequential([
        keras.Input((20, 3)),
        keras.layers.LSTM(16, return_sequences=True),    # a sequence...
        keras.layers.Dense(1),                           # ...into a per-sample head
    ])
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(LintError, match="SK102"):
        model.fit(x, y, epochs=1, verbose=0,
                  callbacks=[stacked_keras.LintCallback(target=y, fail_on="warning")])


def test_readme_example_lint_paths(tmp_path, monkeypatch, capsys):
    _write(tmp_path / "models" / "forecast.py", BROKEN_PY)
    _write(tmp_path / "notebooks" / "train.ipynb", BROKEN_NOTEBOOK)
    monkeypatch.chdir(tmp_path)

    report = stacked_keras.lint(["models/", "notebooks/train.ipynb"], select="SK1", fail_on="warning")
    for finding in report.findings:
        print(finding.path, finding.cell, finding.line, finding.code, finding.layer)
    print(report.exit_code())     # 0 clean, 1 findings at or above fail_on, 2 nothing readable

    assert capsys.readouterr().out.splitlines() == [
        f"{os.path.join('models', 'forecast.py')} None 7 SK101 {report.findings[0].layer}",
        f"notebooks/train.ipynb 3 2 SK101 {report.findings[1].layer}",
        "1",
    ]


# -- bad input ------------------------------------------------------------------------

def test_each_bad_input_gives_one_finding_and_good_files_are_still_linted(tmp_path, keras_files):
    folder = keras_files["folder"]
    good = _write(tmp_path / "good.py", GOOD_PY)
    broken = _write(tmp_path / "broken.py", BROKEN_PY)
    bad = {
        _write(tmp_path / "syntax.py", "model = keras.Sequential([\n"): "SK002",
        _write(tmp_path / "broken_json.json", '{"class_name": "Sequential", "config": '): "SK004",
        _write(tmp_path / "not_a_notebook.ipynb", "[1, 2]"): "SK003",
        folder / "truncated.keras": "SK005",
        folder / "random.h5": "SK005",
        folder / "weights_only.weights.h5": "SK005",
        tmp_path / "missing.py": "SK001",
        tmp_path / "empty_dir": "SK001",
        _write(tmp_path / "notes.txt", "not a model"): "SK001",
    }
    (tmp_path / "empty_dir").mkdir()
    report = lint([good, broken, *bad])
    for path, code in bad.items():
        found = [f for f in report.findings if f.path == str(path)]
        assert [f.code for f in found] == [code], path
        assert found[0].severity == "error" and found[0].message
    assert _codes(report, broken) == ["SK101"]
    assert _codes(report, good) == []
    assert report.exit_code() == 1


def test_front_end_crash_on_one_file_is_a_finding_and_the_run_goes_on(tmp_path, monkeypatch):
    # No real file is known to crash a front-end; inject the crash to pin
    # that one would cost one finding, not the whole run.
    from stacked_keras.lint import from_config

    def crash(path):
        raise KeyError("layers")

    monkeypatch.setattr(from_config, "read_saved_file", crash)
    config = _write(tmp_path / "model.json", '{"class_name": "Sequential", "config": {}}')
    broken = _write(tmp_path / "broken.py", BROKEN_PY)
    report = lint([config, broken])
    [finding] = [f for f in report.findings if f.path == str(config)]
    assert finding.code == "SK001" and "KeyError" in finding.message and "bug" in finding.message
    assert _codes(report, broken) == ["SK101"]


def test_json_not_a_config_named_explicitly_is_sk004(tmp_path):
    path = _write(tmp_path / "package.json", '{"name": "web", "version": "1.0"}')
    report = lint(path)
    assert _codes(report) == ["SK004"]
    assert report.exit_code() == 2  # nothing readable


def test_oversized_archive_member_is_refused(tmp_path, keras_files, monkeypatch):
    from stacked_keras.lint import from_config

    monkeypatch.setattr(from_config, "MAX_CONFIG_BYTES", 100)
    report = lint([keras_files["folder"] / "broken.keras", _write(tmp_path / "b.py", BROKEN_PY)])
    assert _codes(report, keras_files["folder"] / "broken.keras") == ["SK005"]
    assert "SK101" in _codes(report)


def test_only_unreadable_inputs_means_exit_code_2(tmp_path):
    report = lint([tmp_path / "missing.py", _write(tmp_path / "bad.py", "def (:\n")])
    assert _codes(report) == ["SK001", "SK002"]
    assert report.exit_code() == 2


def test_bad_config_dict_is_a_finding_not_a_traceback():
    report = lint({"class_name": "Sequential", "config": {"layers": "not a list"}})
    assert _codes(report) == ["SK004"] and report.exit_code() == 2


def test_bad_arguments_name_the_argument_the_value_and_what_is_accepted(tmp_path):
    with pytest.raises(TypeError, match="lint\\(\\) takes a path.*got int"):
        lint(42)
    with pytest.raises(ValueError, match="select got 'XX1'.*known codes: .*SK101"):
        lint(_broken_graph(), select=["XX1"])
    with pytest.raises(ValueError, match="fail_on must be one of error, warning, info, got 'fatal'"):
        lint(_broken_graph(), fail_on="fatal")
    with pytest.raises(ValueError, match="target applies to a live model"):
        lint(tmp_path, target=(1,))
    with pytest.raises(ValueError, match="target must be the training target"):
        lint(_broken_graph(), target=object())


# -- select / ignore ----------------------------------------------------------------------

def test_select_and_ignore_by_code_and_prefix(tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    assert _codes(lint(path, select="SK101")) == ["SK101"]
    assert _codes(lint(path, select=["SK1"])) == ["SK101"]
    assert "SK101" not in _codes(lint(path, ignore="SK1"))
    assert "SK101" not in _codes(lint(path, select="SK101", ignore=["SK101"]))


def test_select_never_hides_an_unreadable_file_but_ignore_does(tmp_path):
    path = _write(tmp_path / "syntax.py", "x = (\n")
    assert _codes(lint(path, select="SK101")) == ["SK002"]
    assert _codes(lint(path, ignore="SK002")) == []


def test_per_file_ignores_and_exclude_from_settings(tmp_path):
    _write(tmp_path / "models" / "a.py", BROKEN_PY)
    _write(tmp_path / "legacy" / "old.py", BROKEN_PY)
    _write(tmp_path / "scratch.py", BROKEN_PY)
    settings = LintSettings(
        exclude=("legacy/",), per_file_ignores={"scratch.py": ("SK101",)}, root=str(tmp_path),
    )
    report = lint(tmp_path, settings=settings)
    assert sorted(os.path.relpath(f, tmp_path) for f in report.files) == [
        os.path.join("models", "a.py"), "scratch.py"]
    assert [os.path.relpath(f.path, tmp_path) for f in report.findings if f.code == "SK101"] == [
        os.path.join("models", "a.py")]
    # exclude applies to files named explicitly too (pre-commit names every file).
    only_excluded = lint([tmp_path / "legacy" / "old.py"], settings=settings)
    assert only_excluded.files == [] and only_excluded.exit_code() == 0
    # ...and the report names what it skipped, rather than dropping it silently
    assert only_excluded.excluded == [str(tmp_path / "legacy" / "old.py")] and only_excluded.skipped == 1


# -- directories and .gitignore ---------------------------------------------------------------

@pytest.fixture
def project(tmp_path):
    root = tmp_path / "proj"
    _write(root / ".gitignore", "ignored_dir/\n*.h5\n!keep.h5\n/rooted.py\n**/gen/*.py\n# comment\n")
    files = {
        "a.py": BROKEN_PY,
        "ignored_dir/b.py": BROKEN_PY,
        "rooted.py": BROKEN_PY,
        "sub/rooted.py": BROKEN_PY,
        "sub/gen/x.py": BROKEN_PY,
        "sub/local.py": BROKEN_PY,
        "sub/.gitignore": "local.py\n",
        "nb/demo.ipynb": BROKEN_NOTEBOOK,
        ".hidden/c.py": BROKEN_PY,
        "__pycache__/d.py": BROKEN_PY,
        "venv/pyvenv.cfg": "home = /usr/bin\n",
        "venv/lib/e.py": BROKEN_PY,
        "data/package.json": '{"name": "web"}',
        "data/model.json": json.dumps({"class_name": "Sequential", "config": {"name": "m", "layers": [
            {"class_name": "LSTM", "config": {"name": "l1", "units": 2}},
            {"class_name": "LSTM", "config": {"name": "l2", "units": 2}}]}}),
        "data/notes.md": "# notes",
        "w.h5": "",
    }
    for relative, text in files.items():
        _write(root / relative, text)
    (root / "keep.h5").write_bytes(b"\x00not hdf5")
    return root


def _relative(report, root):
    return sorted(os.path.relpath(path, root).replace(os.sep, "/") for path in report.files)


def test_directory_walk_skips_gitignored_hidden_cache_and_venv(project):
    report = lint(project)
    assert _relative(report, project) == [
        "a.py", "data/model.json", "keep.h5", "nb/demo.ipynb", "sub/rooted.py",
    ]
    assert _codes(report, project / "keep.h5") == ["SK005"]
    assert _codes(report, project / "data" / "model.json") == ["SK101"]
    assert all(path.startswith(str(project)) for path in report.files)


def test_directory_walk_without_gitignore(project):
    report = lint(project, respect_gitignore=False)
    assert _relative(report, project) == [
        "a.py", "data/model.json", "ignored_dir/b.py", "keep.h5", "nb/demo.ipynb", "rooted.py",
        "sub/gen/x.py", "sub/local.py", "sub/rooted.py", "w.h5",
    ]


def test_walk_inside_a_repository_uses_the_gitignore_above_it(project):
    (project / ".git").mkdir()
    report = lint(project / "sub")
    assert _relative(report, project) == ["sub/rooted.py"]


def test_file_named_explicitly_is_linted_even_if_gitignored(project):
    report = lint(project / "ignored_dir" / "b.py")
    assert _codes(report) == ["SK101"]


def test_directory_with_nothing_to_lint_is_one_sk001(tmp_path):
    _write(tmp_path / "docs" / "readme.md", "hello")
    report = lint(tmp_path / "docs")
    assert [(f.code, f.path) for f in report.findings] == [("SK001", str(tmp_path / "docs"))]
    assert report.exit_code() == 2


def test_same_file_given_twice_is_linted_once(tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    files, findings, skipped = discover_files([path, tmp_path, str(path)])
    assert files == [str(path)] and findings == [] and skipped == 0


def test_discover_files_hands_back_the_named_paths_exclude_skipped(tmp_path):
    from stacked_keras.lint.settings import PathPatterns

    kept = _write(tmp_path / "models" / "a.py", BROKEN_PY)
    old = _write(tmp_path / "legacy" / "old.py", BROKEN_PY)
    excluded = []
    files, findings, skipped = discover_files(
        [kept, old, tmp_path / "legacy"], exclude=PathPatterns(["legacy/"], base=tmp_path), excluded=excluded,
    )
    assert files == [str(kept)] and findings == [] and skipped == 2
    assert excluded == [str(old), str(tmp_path / "legacy")]


@pytest.mark.parametrize(
    "patterns, path, is_dir, excluded",
    [
        (["*.h5"], "a/b/w.h5", False, True),
        (["*.h5", "!keep.h5"], "keep.h5", False, False),
        (["build/"], "build", True, True),
        (["build/"], "build", False, False),          # a file named build
        (["build/"], "build/x/model.py", False, True),  # inside an excluded directory
        (["/top.py"], "top.py", False, True),
        (["/top.py"], "sub/top.py", False, False),
        (["docs/*.py"], "docs/a.py", False, True),
        (["docs/*.py"], "x/docs/a.py", False, False),   # an inner slash anchors the pattern
        (["**/gen/*.py"], "gen/a.py", False, True),
        (["**/gen/*.py"], "a/b/gen/a.py", False, True),
        (["a/**/b.py"], "a/b.py", False, True),
        (["a/**/b.py"], "a/x/y/b.py", False, True),
        (["logs/**"], "logs/x/y.py", False, True),
        (["model_?.py"], "model_1.py", False, True),
        (["model_[0-9].py"], "model_a.py", False, False),
        (["\\#hash.py"], "#hash.py", False, True),
        (["# comment", ""], "comment", False, False),
    ],
)
def test_path_patterns_follow_gitignore_rules(tmp_path, patterns, path, is_dir, excluded):
    assert PathPatterns(patterns, base=tmp_path).matches(tmp_path / path, is_dir=is_dir) is excluded


# -- noqa ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "line, expected",
    [
        ("x = 1", None),
        ("layers.LSTM(8),  # noqa", ()),
        ("layers.LSTM(8),  # noqa: SK101", ("SK101",)),
        ("layers.LSTM(8),  # NOQA:SK101,sk2", ("SK101", "SK2")),
        ("layers.LSTM(8),  # noqa: SK101, SK2 because the decoder wants it", ("SK101", "SK2")),
    ],
)
def test_noqa_comment_forms(line, expected):
    assert noqa_codes(line) == expected


def test_noqa_on_the_findings_line_suppresses_it(tmp_path):
    def stack(name, comment):
        return (
            f"{name} = keras.Sequential([\n"
            f"    layers.LSTM(8),{comment}\n"
            f"    layers.LSTM(8),\n"
            f"])\n"
        )

    source = "import keras\nfrom keras import layers\n\n" + "".join([
        stack("by_code", "  # noqa: SK101"),
        stack("bare", "  # noqa"),
        stack("by_prefix", "  # noqa: SK1"),
        stack("two_codes", "  # noqa: SK102, SK2"),   # other codes: still reported
        stack("no_comment", ""),
    ])
    path = _write(tmp_path / "models.py", source)
    report = lint(path, select="SK101")
    assert sorted(f.model for f in report.findings) == ["no_comment", "two_codes"]


def test_noqa_in_a_notebook_cell(tmp_path):
    notebook = _notebook(
        ("markdown", "intro"),
        "import keras\nfrom keras import layers\n",
        "model = keras.Sequential([\n    layers.LSTM(8),  # noqa: SK101\n    layers.LSTM(8),\n])\n",
    )
    assert _codes(lint(_write(tmp_path / "nb.ipynb", notebook), select="SK101")) == []


# -- settings --------------------------------------------------------------------------------

def test_settings_table_rejects_bad_values_naming_key_value_and_accepted():
    from stacked_keras.lint.settings import settings_from_table

    with pytest.raises(SettingsError, match="fail-on.*must be one of error, warning, info, got 'sometimes'"):
        settings_from_table({"fail-on": "sometimes"})
    with pytest.raises(SettingsError, match="unknown setting 'colour'.*accepted settings: select"):
        settings_from_table({"colour": True})
    with pytest.raises(SettingsError, match="select.*got 'E501'.*known codes"):
        settings_from_table({"select": ["E501"]})
    assert settings_from_table({"select": ["sk1"], "fail_on": "INFO"}).select == ("SK1",)


# -- static means static ----------------------------------------------------------------------

def test_static_linting_imports_neither_tensorflow_nor_keras(tmp_path, keras_files):
    folder = keras_files["folder"]
    paths = [
        str(_write(tmp_path / "broken.py", BROKEN_PY)),
        str(_write(tmp_path / "broken.ipynb", BROKEN_NOTEBOOK)),
        str(folder / "broken.json"),
        str(folder / "broken.keras"),
        str(folder / "broken.h5"),
        str(folder / "truncated.keras"),
    ]
    script = textwrap.dedent(
        f"""
        import sys
        import stacked_keras
        assert "tensorflow" not in sys.modules and "keras" not in sys.modules, "import stacked_keras"
        report = stacked_keras.lint({paths!r})
        print(report)
        print(report.to_sarif()[:10], report._repr_html_()[:10])
        loaded = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras"))
        print("LOADED", loaded)
        codes = {{f.code for f in report.findings}}
        assert {{"SK005", "SK101"}} <= codes, codes
        """
    )
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "LOADED []" in result.stdout


def test_one_call_that_makes_several_broken_layers_is_one_finding(tmp_path):
    source = tmp_path / "loop.py"
    source.write_text(
        "import keras\n"
        "from keras.layers import LSTM, Dense\n"
        "model = keras.Sequential()\n"
        "for i in range(3):\n"
        "    model.add(LSTM(16))\n"
        "model.add(Dense(1))\n"
    )
    report = stacked_keras.lint(str(source))
    sk101 = [f for f in report.findings if f.code == "SK101"]
    assert [(f.line, f.column) for f in sk101] == [(5, 15)]


def test_noqa_line_count_ignores_form_feeds(tmp_path):
    source = tmp_path / "feed.py"
    source.write_text(
        "import keras\n"
        "# section\x0c break\n"
        "from keras import layers\n"
        "model = keras.Sequential([layers.LSTM(8), layers.LSTM(4)])  # noqa: SK101\n"
    )
    assert [f.code for f in stacked_keras.lint(str(source)).findings] == []


# -- a config JSON string ---------------------------------------------------------------------

def test_lint_reads_a_string_starting_with_a_brace_as_config_json(keras_files):
    text = keras_files["broken_model"].to_json()
    report = lint(text)
    assert _codes(report) == ["SK101"]
    assert report.inputs_read == 1 and report.files == []
    assert report.findings[0].path is None and report.findings[0].model == "broken"
    assert _codes(lint("\n   " + text)) == ["SK101"]
    assert _codes(lint([text, _broken_graph()])) == ["SK101", "SK101"]


def test_broken_config_json_string_is_sk004_with_its_line():
    report = lint('{"class_name": "Sequential",\n "config": ')
    assert _codes(report) == ["SK004"]
    finding = report.findings[0]
    assert finding.path is None and finding.line == 2
    assert "the config JSON string is not valid JSON" in finding.message
    assert report.exit_code() == 2


# -- select that selects nothing ------------------------------------------------------------

@pytest.mark.parametrize("select", ["", " , ", []])
def test_select_that_names_no_rule_is_an_error_not_a_silent_clean_report(select):
    with pytest.raises(SettingsError, match=r"select names no rule .*got " + re.escape(repr(select))):
        lint(_broken_graph(), select=select)


def test_empty_select_in_settings_is_an_error():
    from stacked_keras.lint.settings import settings_from_table

    with pytest.raises(SettingsError, match=r"select.* names no rule .*got \[\]"):
        settings_from_table({"select": []})
    assert settings_from_table({"ignore": []}).ignore == ()  # ignoring nothing is fine


# -- files that are not regular files -----------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_a_fifo_is_sk001_and_a_walk_skips_it_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    os.mkfifo(tmp_path / "pipe.json")
    _write(tmp_path / "broken.py", BROKEN_PY)
    script = textwrap.dedent(
        f"""
        import json, stacked_keras
        named = stacked_keras.lint([{str(tmp_path / "pipe.py")!r}, {str(tmp_path / "pipe.json")!r}])
        walked = stacked_keras.lint({str(tmp_path)!r})
        print(json.dumps([named.to_dicts(), walked.to_dicts(), walked.files]))
        """
    )
    # A reader that opens a FIFO blocks until a writer comes: the timeout turns a hang into a failure.
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    named, walked, files = json.loads(result.stdout.splitlines()[-1])
    assert [(f["code"], os.path.basename(f["path"])) for f in named] == [("SK001", "pipe.json"), ("SK001", "pipe.py")]
    assert all("is not a regular file" in f["message"] for f in named)
    assert [os.path.basename(f) for f in files] == ["broken.py"]
    assert [f["code"] for f in walked] == ["SK101"]


# -- a notebook with one cell that does not parse -------------------------------------------------

def test_notebook_cell_with_a_syntax_error_is_one_sk002_and_the_other_cells_are_linted(tmp_path):
    notebook = _notebook(
        ("markdown", "# Half-written notebook"),
        "import keras\nfrom keras import layers\n",
        "def unfinished(:\n",  # cell 3 does not parse
        "model = keras.Sequential([\n    layers.LSTM(8),\n    layers.LSTM(8),\n    layers.Dense(1),\n])\n",
    )
    path = _write(tmp_path / "draft.ipynb", notebook)
    report = lint(path)
    found = [(f.code, f.cell, f.line) for f in report.findings]
    assert found == [("SK002", 3, 1), ("SK101", 4, 2)]
    sk002 = report.findings[0]
    assert sk002.path == str(path) and sk002.severity == "error" and sk002.column is not None
    assert report.inputs_read == 1 and report.models == 1
    assert report.exit_code() == 1  # something was read: not "no readable input"
    assert _codes(lint(path, ignore="SK002")) == ["SK101"]

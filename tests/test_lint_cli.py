"""The `stacked-keras lint`, `rule` and `rules` verbs: formats, exit codes,
settings from pyproject.toml, `--fix`, and the pre-commit hook definition.

The verbs are driven through a small argparse parser built with
`add_commands`, the way the main `stacked-keras` parser registers them.
Nothing here imports TensorFlow.
"""

import argparse
import json
import re
import textwrap
from pathlib import Path

import pytest

from stacked_keras.lint.cli import add_commands

BROKEN_PY = textwrap.dedent(
    """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((10, 3)),
        layers.LSTM(8),  # encoder
        layers.LSTM(8),
        layers.Dense(1),
    ])
    """
)

# Stacked correctly, but two SimpleRNN layers: SK201, a warning.
SIMPLE_RNN_PY = textwrap.dedent(
    """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((10, 3)),
        layers.SimpleRNN(8, return_sequences=True),
        layers.SimpleRNN(8),
        layers.Dense(1),
    ])
    """
)

# One LSTM with a non-default activation: off the cuDNN path, SK202 (info).
RELU_LSTM_PY = textwrap.dedent(
    """\
    import keras
    from keras import layers

    model = keras.Sequential([
        keras.Input((10, 3)),
        layers.LSTM(8, activation="relu"),
        layers.Dense(1),
    ])
    """
)


def _notebook_text():
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Stacked LSTM\n"]},
        {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
         "source": ["import keras\n", "from keras import layers\n"]},
        {"cell_type": "code", "execution_count": 2, "metadata": {}, "outputs": [],
         "source": ["model = keras.Sequential([\n", "    layers.LSTM(8),  # keep this comment\n",
                    "    layers.LSTM(8),\n", "    layers.Dense(1),\n", "])\n"]},
    ]
    document = {"cells": cells, "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
                "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(document, indent=1, ensure_ascii=False) + "\n"


def _write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def cli(capsys):
    """Runs `stacked-keras ARGS...` in-process: returns (exit code, stdout, stderr)."""
    parser = argparse.ArgumentParser(prog="stacked-keras")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_commands(subparsers)

    def run(*argv):
        args = parser.parse_args([str(a) for a in argv])
        code = args.handler(args)
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture(autouse=True)
def _no_forced_colour(monkeypatch):
    monkeypatch.delenv("FORCE_COLOR", raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)


# -- formats ------------------------------------------------------------------------

def test_text_format_prints_path_line_column_code_layer_and_summary(cli, tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    code, out, err = cli("lint", path)
    assert code == 1
    lines = out.splitlines()
    assert re.match(rf"^{re.escape(str(path))}:6:5: SK101 \[[\w.]+\] \S", lines[0]), lines[0]
    assert lines[1].startswith("    fix: ") and "return_sequences=True" in lines[1]
    assert re.match(r"^1 error, \d+ warnings?, \d+ info in 1 file \(1 model\)$", lines[-1])
    assert "\033[" not in out  # not a terminal: no colour


def test_json_format_lists_findings_with_cell_for_notebooks(cli, tmp_path):
    notebook = _write(tmp_path / "nb.ipynb", _notebook_text())
    script = _write(tmp_path / "broken.py", BROKEN_PY)
    code, out, _ = cli("lint", "--format", "json", notebook, script)
    assert code == 1
    data = json.loads(out)
    fields = {"code", "name", "severity", "message", "fix", "path", "line", "column", "layer", "cell", "model"}
    assert all(set(item) == fields for item in data)
    by_path = {item["path"]: item for item in data if item["code"] == "SK101"}
    assert set(by_path) == {str(notebook), str(script)}
    assert (by_path[str(notebook)]["cell"], by_path[str(notebook)]["line"]) == (3, 2)
    assert by_path[str(script)]["cell"] is None and by_path[str(script)]["line"] == 6


def test_sarif_format_is_a_sarif_2_1_0_log(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    _write(tmp_path / "models" / "broken.py", BROKEN_PY)
    code, out, _ = cli("lint", "--format", "sarif", "models")
    assert code == 1
    log = json.loads(out)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "stacked-keras"
    result = next(r for r in run["results"] if r["ruleId"] == "SK101")
    location = result["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "models/broken.py"
    assert location["region"]["startLine"] == 6 and result["level"] == "error"


def test_output_option_writes_the_report_to_a_file(cli, tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    target = tmp_path / "report.json"
    code, out, _ = cli("lint", path, "--format", "json", "--output", target)
    assert code == 1 and out == ""
    assert json.loads(target.read_text())[0]["code"] == "SK101"


def test_colour_on_a_terminal_unless_no_color(cli, tmp_path, monkeypatch):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    monkeypatch.setenv("FORCE_COLOR", "1")
    _, coloured, _ = cli("lint", path)
    assert "\033[31m" in coloured and "SK101" in coloured
    monkeypatch.setenv("NO_COLOR", "1")
    _, plain, _ = cli("lint", path)
    assert "\033[" not in plain


# -- exit codes and selection -----------------------------------------------------------------

def test_fail_on_sets_the_lowest_failing_severity(cli, tmp_path):
    from stacked_keras.lint import lint

    warning_file = _write(tmp_path / "simple.py", SIMPLE_RNN_PY)
    info_file = _write(tmp_path / "relu.py", RELU_LSTM_PY)
    assert {f.severity for f in lint(warning_file).findings} == {"warning"}
    assert {f.severity for f in lint(info_file).findings} == {"info"}

    assert cli("lint", warning_file)[0] == 0
    assert cli("lint", warning_file, "--fail-on", "warning")[0] == 1
    assert cli("lint", info_file, "--fail-on", "warning")[0] == 0
    assert cli("lint", info_file, "--fail-on", "info")[0] == 1
    assert cli("lint", _write(tmp_path / "broken.py", BROKEN_PY), "--fail-on", "error")[0] == 1


def test_select_and_ignore_take_comma_separated_codes(cli, tmp_path):
    broken = _write(tmp_path / "broken.py", BROKEN_PY)
    simple = _write(tmp_path / "simple.py", SIMPLE_RNN_PY)
    _, out, _ = cli("lint", "--format", "json", "--select", "SK101,SK102", broken, simple)
    assert {item["code"] for item in json.loads(out)} == {"SK101"}
    _, out, _ = cli("lint", "--format", "json", "--ignore", "SK1", broken, simple)
    assert "SK101" not in {item["code"] for item in json.loads(out)}
    assert "SK201" in {item["code"] for item in json.loads(out)}


def test_unknown_code_is_a_usage_error(cli, tmp_path):
    code, out, err = cli("lint", "--select", "SK101,E501", _write(tmp_path / "a.py", BROKEN_PY))
    assert code == 2 and out == ""
    assert "--select got 'E501'" in err and "SK101" in err


@pytest.mark.parametrize("value", ["", ","])
def test_select_naming_no_rule_is_a_usage_error(cli, tmp_path, value):
    code, out, err = cli("lint", "--select", value, _write(tmp_path / "a.py", BROKEN_PY))
    assert code == 2 and out == ""
    assert "--select names no rule (known codes: SK001" in err
    assert f"leave it out to run every rule; got {value!r}" in err


def test_empty_select_in_pyproject_is_a_usage_error(cli, tmp_path):
    broken, _ = _project(tmp_path, "select = []\n")
    code, out, err = cli("lint", broken)
    assert code == 2 and "[tool.stacked-keras] select in " in err
    assert "names no rule" in err and "got []" in err


def test_lint_verb_keeps_tensorflow_quiet_should_anything_load_it(cli, tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL", raising=False)
    cli("lint", _write(tmp_path / "a.py", SIMPLE_RNN_PY))
    import os

    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "2"
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "0")  # a user's own choice is kept
    cli("lint", tmp_path / "a.py")
    assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "0"


def test_bad_option_value_is_an_argparse_usage_error(cli, tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        cli("lint", "--format", "xml", tmp_path)
    assert stopped.value.code == 2
    assert "invalid choice: 'xml'" in capsys.readouterr().err


def test_no_readable_input_exits_2(cli, tmp_path):
    code, out, _ = cli("lint", tmp_path / "missing.py")
    assert code == 2 and "SK001" in out and "does not exist" in out
    (tmp_path / "empty").mkdir()
    assert cli("lint", tmp_path / "empty")[0] == 2
    assert cli("lint", _write(tmp_path / "bad.py", "def (:\n"))[0] == 2


def test_unreadable_file_beside_readable_ones_exits_1(cli, tmp_path):
    code, out, _ = cli("lint", _write(tmp_path / "bad.py", "def (:\n"), _write(tmp_path / "good.py", SIMPLE_RNN_PY))
    assert code == 1 and "SK002" in out


def test_default_path_is_the_working_directory(cli, tmp_path, monkeypatch):
    _write(tmp_path / "pkg" / "broken.py", BROKEN_PY)
    monkeypatch.chdir(tmp_path)
    code, out, _ = cli("lint")
    assert code == 1 and out.startswith(str(Path(".") / "pkg" / "broken.py") + ":6:5: SK101")


def test_no_gitignore_flag_lints_ignored_paths(cli, tmp_path):
    _write(tmp_path / ".gitignore", "generated/\n")
    _write(tmp_path / "generated" / "broken.py", BROKEN_PY)
    _write(tmp_path / "ok.py", SIMPLE_RNN_PY)
    assert cli("lint", tmp_path)[0] == 0
    assert cli("lint", "--no-gitignore", tmp_path)[0] == 1


# -- settings from pyproject.toml ---------------------------------------------------------------

def _project(tmp_path, table):
    _write(tmp_path / "pyproject.toml", "[project]\nname = 'demo'\n\n[tool.stacked-keras]\n" + table)
    return _write(tmp_path / "src" / "broken.py", BROKEN_PY), _write(tmp_path / "src" / "simple.py", SIMPLE_RNN_PY)


def test_settings_come_from_the_nearest_pyproject(cli, tmp_path):
    broken, simple = _project(tmp_path, 'ignore = ["SK101"]\nfail-on = "warning"\n')
    code, out, _ = cli("lint", "--format", "json", broken, simple)
    codes = {item["code"] for item in json.loads(out)}
    assert "SK101" not in codes and "SK201" in codes
    assert code == 1  # fail-on = warning


def test_command_line_flags_override_settings(cli, tmp_path):
    broken, simple = _project(tmp_path, 'ignore = ["SK101"]\nfail-on = "warning"\n')
    code, out, _ = cli("lint", "--format", "json", "--ignore", "SK2", "--fail-on", "error", simple)
    assert code == 0 and json.loads(out) == []
    code, out, _ = cli("lint", "--format", "json", "--ignore", "SK2", broken)
    assert code == 1 and {item["code"] for item in json.loads(out)} == {"SK101"}


def test_exclude_and_per_file_ignores_settings(cli, tmp_path):
    broken, simple = _project(
        tmp_path, 'exclude = ["src/simple.py"]\n\n[tool.stacked-keras.per-file-ignores]\n"src/broken.py" = ["SK101"]\n'
    )
    code, out, _ = cli("lint", tmp_path / "src")
    assert code == 0 and out.splitlines()[-1] == "0 errors, 0 warnings, 0 info in 1 file (1 model)"
    # pre-commit names each file: an excluded one is skipped, not an error.
    code, out, _ = cli("lint", simple)
    assert code == 0 and out.strip() == "0 errors, 0 warnings, 0 info in 0 models"


def test_an_excluded_file_named_on_the_command_line_is_reported_skipped_on_stderr(cli, tmp_path):
    broken, simple = _project(tmp_path, 'exclude = ["src/simple.py"]\n')
    code, out, err = cli("lint", "--format", "json", simple, broken)
    assert code == 1 and {item["path"] for item in json.loads(out)} == {str(broken)}  # stdout stays JSON
    lines = err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("stacked-keras: skipped 1 file excluded by [tool.stacked-keras] exclude in ")
    assert lines[0].endswith(f"pyproject.toml: {simple}")
    # a directory walk leaves excluded files out quietly, as git does ignored ones
    code, out, err = cli("lint", tmp_path / "src")
    assert code == 1 and err == ""


@pytest.mark.parametrize(
    "table, expected",
    [
        ('fail-on = "sometimes"\n', ["fail-on", "'sometimes'", "error, warning, info"]),
        ('select = ["XYZ1"]\n', ["select", "'XYZ1'", "known codes", "SK101"]),
        ('select = "SK1"\nignore = 3\n', ["ignore", "3", "list of rule codes"]),
        ('colour = true\n', ["unknown setting 'colour'", "accepted settings", "fail-on"]),
        ('respect-gitignore = "yes"\n', ["respect-gitignore", "'yes'", "true or false"]),
    ],
)
def test_bad_setting_is_a_usage_error_naming_key_value_and_accepted(cli, tmp_path, table, expected):
    broken, _ = _project(tmp_path, table)
    code, out, err = cli("lint", broken)
    assert code == 2 and out == ""
    assert err.startswith("stacked-keras: error: ")
    for part in expected:
        assert part in err
    assert str(tmp_path / "pyproject.toml") in err


def test_broken_toml_is_a_usage_error(cli, tmp_path):
    _write(tmp_path / "pyproject.toml", "[tool.stacked-keras]\nselect = [\n")
    code, _, err = cli("lint", _write(tmp_path / "a.py", BROKEN_PY))
    assert code == 2 and "cannot read settings from" in err


README_SETTINGS = """\
[tool.stacked-keras]
select = ["SK1", "SK2"]              # codes or prefixes to report (default: all)
ignore = ["SK203"]                   # never reported
fail-on = "warning"                  # error (default), warning or info
exclude = ["experiments/", "*_old.py"]
per-file-ignores = { "notebooks/*.ipynb" = ["SK2"] }
"""


def test_readme_settings_example(cli, tmp_path):
    from stacked_keras.lint.settings import load_settings

    _write(tmp_path / "pyproject.toml", README_SETTINGS)
    settings = load_settings(tmp_path / "src" / "model.py")
    assert settings.select == ("SK1", "SK2") and settings.ignore == ("SK203",)
    assert settings.fail_on == "warning" and settings.root == str(tmp_path)
    assert settings.per_file_ignores == {"notebooks/*.ipynb": ("SK2",)}
    _write(tmp_path / "experiments" / "try.py", BROKEN_PY)
    _write(tmp_path / "model_old.py", BROKEN_PY)
    _write(tmp_path / "notebooks" / "simple.ipynb", json.dumps({"cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": SIMPLE_RNN_PY}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    simple = _write(tmp_path / "src" / "simple.py", SIMPLE_RNN_PY)
    code, out, _ = cli("lint", "--format", "json", tmp_path)
    assert code == 1  # fail-on = warning: SK201 in src/simple.py
    assert [(item["path"], item["code"]) for item in json.loads(out)] == [(str(simple), "SK201")]


# -- --fix -----------------------------------------------------------------------------

def test_fix_rewrites_python_source_keeping_comments(cli, tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    code, out, _ = cli("lint", "--fix", path)
    assert code == 0
    assert out.splitlines()[0] == "Fixed 1 SK101 finding in 1 file."
    fixed = path.read_text()
    assert "    layers.LSTM(8, return_sequences=True),  # encoder\n" in fixed
    assert fixed.replace("layers.LSTM(8, return_sequences=True),", "layers.LSTM(8),", 1) == BROKEN_PY
    assert cli("lint", path)[0] == 0


def test_fix_rewrites_a_notebook_cell(cli, tmp_path):
    path = _write(tmp_path / "nb.ipynb", _notebook_text())
    code, out, _ = cli("lint", "--fix", "--select", "SK1", path)
    assert code == 0 and "Fixed 1 SK101 finding in 1 file." in out
    document = json.loads(path.read_text())
    assert document["cells"][2]["source"][1] == "    layers.LSTM(8, return_sequences=True),  # keep this comment\n"
    assert document["cells"][0] == {"cell_type": "markdown", "metadata": {}, "source": ["# Stacked LSTM\n"]}
    assert cli("lint", "--select", "SK1", path)[0] == 0


def test_fix_with_json_output_keeps_stdout_machine_readable(cli, tmp_path):
    path = _write(tmp_path / "broken.py", BROKEN_PY)
    code, out, err = cli("lint", "--fix", "--format", "json", "--select", "SK1", path)
    assert code == 0 and json.loads(out) == []
    assert "Fixed 1 SK101 finding in 1 file." in err


# -- rule / rules ---------------------------------------------------------------------------

def test_rule_prints_the_rule_page(cli):
    code, out, _ = cli("rule", "SK101")
    assert code == 0
    assert "SK101" in out and "broken-vertical-connection" in out
    for heading in ("What it does", "Why is this bad?", "Example", "Use instead"):
        assert heading in out
    assert cli("rule", "sk101")[1] == out


def test_unknown_rule_exits_2_listing_the_codes(cli):
    code, out, err = cli("rule", "SK999")
    assert code == 2 and out == ""
    assert "SK999" in err and "SK101" in err and "SK203" in err


def test_rules_lists_every_rule(cli):
    from stacked_keras.lint.rules import RULES

    code, out, _ = cli("rules")
    assert code == 0
    lines = out.splitlines()
    assert len(lines) == len(RULES)
    for code_, rule in RULES.items():
        assert any(line.startswith(code_) and rule.name in line for line in lines)


# -- pre-commit ------------------------------------------------------------------------------

def test_pre_commit_hook_runs_the_lint_verb_on_python_and_notebooks():
    text = (Path(__file__).resolve().parent.parent / ".pre-commit-hooks.yaml").read_text()
    hooks = [block for block in re.split(r"\n(?=- id:)", text) if block.startswith("- id:")]
    by_id = {re.match(r"- id: (\S+)", hook).group(1): hook for hook in hooks}
    main = by_id["stacked-keras-lint"]
    assert "entry: stacked-keras lint\n" in main
    assert "language: python\n" in main
    assert "types_or: [python, jupyter]" in main
    files = re.search(r"files: '(.+)'", main).group(1)
    assert re.search(files, "models/lstm.py") and re.search(files, "nb/demo.ipynb")
    assert not re.search(files, "stubs/keras.pyi")
    saved = re.search(r"files: '(.+)'", by_id["stacked-keras-lint-saved-models"]).group(1)
    assert re.search(saved, "model.keras") and re.search(saved, "old.h5")
    assert not re.search(saved, "package.json")


def test_fix_repairs_the_word_stack_inside_time_distributed_and_leaves_the_hierarchy(cli, tmp_path):
    path = _write(tmp_path / "documents.py", textwrap.dedent(
        """\
        import keras
        from keras import layers

        model = keras.Sequential([
            keras.Input((5, 10, 3)),
            layers.TimeDistributed(layers.LSTM(16)),  # words of a sentence: must hand on its sequence
            layers.TimeDistributed(layers.LSTM(8)),   # one vector per sentence: right as it is
            layers.LSTM(4, dropout=0.2),              # one vector per document
            layers.Dense(1),
        ])
        """
    ))
    code, out, _ = cli("lint", "--select", "SK1", path)
    assert code == 1 and out.count("SK101") == 1 and f"{path}:6:28: SK101" in out
    code, out, err = cli("lint", "--fix", path)
    assert code == 0, out
    text = path.read_text()
    assert "layers.TimeDistributed(layers.LSTM(16, return_sequences=True)),  # words" in text
    assert "layers.TimeDistributed(layers.LSTM(8)),   # one vector" in text
    assert "layers.LSTM(4, dropout=0.2)," in text

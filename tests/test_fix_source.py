"""The source fixer: SK101 rewritten in .py and .ipynb files, nothing else touched."""

from __future__ import annotations

import difflib
from collections import Counter
import json
import os
import shutil
import textwrap
from pathlib import Path

import pytest

from stacked_keras.graph import RANK_KEEPING, ModelGraph
from stacked_keras.lint.findings import Finding
from stacked_keras.lint.fix_source import (
    fix_file,
    fix_notebook,
    fix_python_source,
    rewrite_file,
    rewrite_notebook,
    rewrite_python_source,
)
from stacked_keras.lint.from_source import graphs_from_notebook, graphs_from_python

DATA = Path(__file__).parent / "data" / "source"


# -- helpers ------------------------------------------------------------------------

def broken_findings(graphs: list[ModelGraph], path: str | None = None) -> list[Finding]:
    """An SK101 finding for each recurrent layer returning one vector into a recurrent layer.

    A stand-in for the rules, so that these tests pin the fixer alone.
    """
    findings = []
    for graph in graphs:
        for node in graph.recurrent_nodes():
            if node.return_sequences is not False:
                continue
            pending, seen = [node], {node.id}
            feeds = False
            while pending and not feeds:
                for successor in graph.successors(pending.pop()):
                    if successor.id not in seen:
                        seen.add(successor.id)
                        feeds = feeds or successor.is_recurrent
                        if successor.cls in RANK_KEEPING:
                            pending.append(successor)
            if feeds:
                location = node.core.location
                findings.append(Finding(
                    "SK101", "broken-vertical-connection", "error", f"{node.name} returns one vector",
                    path=path, line=location.line, column=location.column, cell=location.cell,
                    layer=node.name, model=graph.name,
                ))
    return findings


def fix(source: str) -> str:
    source = textwrap.dedent(source)
    return fix_python_source(source, broken_findings(graphs_from_python(source)))


def changed_lines(before: str, after: str) -> list[str]:
    return [line for line in difflib.ndiff(before.splitlines(), after.splitlines())
            if line.startswith(("- ", "+ "))]


# -- the edits --------------------------------------------------------------------------

def test_inserts_return_sequences_after_the_last_argument():
    after = fix("""
        import keras
        model = keras.Sequential([keras.layers.LSTM(32, dropout=0.1), keras.layers.LSTM(16)])
    """)
    assert after == textwrap.dedent("""
        import keras
        model = keras.Sequential([keras.layers.LSTM(32, dropout=0.1, return_sequences=True), keras.layers.LSTM(16)])
    """)


def test_replaces_only_the_return_sequences_expression():
    before = textwrap.dedent("""
        import keras
        SEQ = False
        model = keras.Sequential([
            keras.layers.GRU(32, return_sequences=SEQ, dropout=0.1),  # first layer
            keras.layers.GRU(16, return_sequences=(False)),
            keras.layers.GRU(8),
        ])
    """)
    after = fix(before)
    assert sorted(changed_lines(before, after)) == [
        "+     keras.layers.GRU(16, return_sequences=(True)),",
        "+     keras.layers.GRU(32, return_sequences=True, dropout=0.1),  # first layer",
        "-     keras.layers.GRU(16, return_sequences=(False)),",
        "-     keras.layers.GRU(32, return_sequences=SEQ, dropout=0.1),  # first layer",
    ]


@pytest.mark.parametrize("before, after", [
    (   # one argument per line, trailing comma
        """
        model.add(LSTM(
            64,
            dropout=0.2,
        ))
        """,
        """
        model.add(LSTM(
            64,
            dropout=0.2,
            return_sequences=True,
        ))
        """,
    ),
    (   # one argument per line, no trailing comma, comment after the last argument
        """
        model.add(LSTM(
            64,
            dropout=0.2  # regularize
        ))
        """,
        """
        model.add(LSTM(
            64,
            dropout=0.2,  # regularize
            return_sequences=True
        ))
        """,
    ),
    (   # hanging indent aligned with the opening parenthesis
        """
        model.add(LSTM(64,
                       dropout=0.2,
                       recurrent_dropout=0.1))
        """,
        """
        model.add(LSTM(64,
                       dropout=0.2,
                       recurrent_dropout=0.1,
                       return_sequences=True))
        """,
    ),
    (   # trailing comma on a single line
        """
        model.add(LSTM(64, dropout=0.2,))
        """,
        """
        model.add(LSTM(64, dropout=0.2, return_sequences=True,))
        """,
    ),
    (   # several arguments on the continuation line: stays inline
        """
        model.add(LSTM(
            64, dropout=0.2))
        """,
        """
        model.add(LSTM(
            64, dropout=0.2, return_sequences=True))
        """,
    ),
    (   # one argument per line, comma, then the closing parenthesis on the same line
        """
        model.add(LSTM(
            64,
            dropout=0.2,))
        """,
        """
        model.add(LSTM(
            64,
            dropout=0.2,
            return_sequences=True,))
        """,
    ),
    (   # **config that holds no return_sequences: the keyword goes after it
        """
        model.add(LSTM(64, **extra))
        """,
        """
        model.add(LSTM(64, **extra, return_sequences=True))
        """,
    ),
])
def test_insertion_respects_the_layout(before, after):
    header = "from keras.layers import LSTM\nfrom keras.models import Sequential\nextra = {'dropout': 0.1}\n" \
             "model = Sequential()\n"
    footer = "model.add(LSTM(8))\n"
    source = header + textwrap.dedent(before).lstrip("\n") + footer
    assert fix(source) == header + textwrap.dedent(after).lstrip("\n") + footer


def test_positional_return_sequences_of_rnn_is_replaced():
    after = fix("""
        from keras import layers, Sequential
        model = Sequential([layers.RNN(layers.LSTMCell(8), False), layers.RNN(layers.LSTMCell(4))])
    """)
    assert "layers.RNN(layers.LSTMCell(8), True)" in after
    assert "layers.RNN(layers.LSTMCell(4))" in after


def test_bidirectional_fix_edits_the_inner_layer():
    after = fix("""
        import keras
        model = keras.Sequential([keras.layers.Bidirectional(keras.layers.LSTM(8), merge_mode="sum"),
                                  keras.layers.LSTM(4)])
    """)
    assert 'keras.layers.Bidirectional(keras.layers.LSTM(8, return_sequences=True), merge_mode="sum")' in after


def test_unicode_before_the_call_on_the_same_line():
    before = 'import keras\nnom = "modèle à état 🧠"; m = keras.Sequential([keras.layers.LSTM(4), keras.layers.LSTM(2)])\n'
    after = fix(before)
    assert after == before.replace("LSTM(4)", "LSTM(4, return_sequences=True)")


def test_functional_and_subclassed_models_are_fixed():
    functional = fix("""
        import keras
        inputs = keras.Input((10, 3))
        x = keras.layers.LSTM(8)(inputs)
        x = keras.layers.LSTM(4)(x)
        model = keras.Model(inputs, x)
    """)
    assert "keras.layers.LSTM(8, return_sequences=True)(inputs)" in functional
    subclassed = fix("""
        import keras
        class M(keras.Model):
            def __init__(self):
                super().__init__()
                self.a = keras.layers.GRU(8)
                self.b = keras.layers.GRU(4)
            def call(self, x):
                return self.b(self.a(x))
    """)
    assert "self.a = keras.layers.GRU(8, return_sequences=True)" in subclassed


def test_every_broken_connection_is_gone_after_fixing():
    before = (DATA / "tutorial_broken.py").read_text()
    findings = broken_findings(graphs_from_python(before))
    assert len(findings) == 1
    after = fix_python_source(before, findings)
    assert broken_findings(graphs_from_python(after)) == []
    assert changed_lines(before, after) == [
        "- model.add(LSTM(50, input_shape=(TIMESTEPS, FEATURES)))  # forgot return_sequences=True",
        "+ model.add(LSTM(50, input_shape=(TIMESTEPS, FEATURES), return_sequences=True))  # forgot return_sequences=True",
    ]


def test_several_fixes_in_one_file_apply_bottom_up():
    before = textwrap.dedent("""
        import keras
        # three layers, two broken connections
        model = keras.Sequential([
            keras.layers.LSTM(64),
            keras.layers.LSTM(32),
            keras.layers.LSTM(16),
        ])
    """)
    rewrite = rewrite_python_source(before, broken_findings(graphs_from_python(before)))
    assert len(rewrite.applied) == 2 and rewrite.skipped == []
    assert broken_findings(graphs_from_python(rewrite.text)) == []
    assert "# three layers, two broken connections" in rewrite.text
    assert "keras.layers.LSTM(16),\n" in rewrite.text


def test_crlf_newlines_are_kept():
    before = "import keras\r\nm = keras.Sequential([\r\n    keras.layers.LSTM(\r\n        8,\r\n    ),\r\n" \
             "    keras.layers.LSTM(4),\r\n])\r\n"
    after = fix(before)
    assert after == before.replace("        8,\r\n", "        8,\r\n        return_sequences=True,\r\n")


# -- what is left alone ---------------------------------------------------------------

def test_loop_call_is_fixed_when_every_layer_it_builds_feeds_a_recurrent_layer():
    before = textwrap.dedent("""
        import keras
        model = keras.Sequential()
        for units in [64, 32]:
            model.add(keras.layers.LSTM(units))
        model.add(keras.layers.LSTM(16))
    """)
    after = fix(before)
    assert "model.add(keras.layers.LSTM(units, return_sequences=True))" in after
    assert broken_findings(graphs_from_python(after)) == []


def test_loop_call_whose_last_layer_must_return_a_vector_gets_the_index_condition():
    # Issue 12 item 5 changed this on purpose: it used to be skipped ("lstm_2 in model ... must keep
    # return_sequences=False"); the loop is now numbered and only its last layer returns a vector.
    source = textwrap.dedent("""
        import keras
        model = keras.Sequential()
        for units in [64, 32, 16]:
            model.add(keras.layers.LSTM(units))
        model.add(keras.layers.Dense(1))
    """)
    findings = broken_findings(graphs_from_python(source))
    assert {(f.line, f.column) for f in findings} == {(5, 15)}  # the three layers share one call
    rewrite = rewrite_python_source(source, findings)
    assert rewrite.text == source.replace(
        "for units in [64, 32, 16]:\n    model.add(keras.layers.LSTM(units))",
        "for i, units in enumerate([64, 32, 16]):\n    model.add(keras.layers.LSTM(units, return_sequences=i < 2))")
    assert len(rewrite.applied) == 2 and rewrite.skipped == []
    assert broken_findings(graphs_from_python(rewrite.text)) == []


def test_loop_call_whose_layers_differ_otherwise_is_skipped_with_the_reason():
    source = textwrap.dedent("""
        import keras
        model = keras.Sequential()
        for block in range(2):
            for units in [64, 32]:
                model.add(keras.layers.LSTM(units))
        model.add(keras.layers.Dense(1))
    """)
    rewrite = rewrite_python_source(source, broken_findings(graphs_from_python(source)))
    assert rewrite.text == source and rewrite.applied == []
    assert all("runs more than once for one model" in reason for _, reason in rewrite.skipped)


def test_return_sequences_from_a_config_dict_is_skipped():
    source = textwrap.dedent("""
        import keras
        cfg = {"units": 8, "return_sequences": False}
        model = keras.Sequential([keras.layers.LSTM(**cfg), keras.layers.LSTM(4)])
    """)
    findings = broken_findings(graphs_from_python(source))
    rewrite = rewrite_python_source(source, findings)
    assert rewrite.text == source
    assert "**config" in rewrite.skipped[0][1]


def test_layer_built_by_a_helper_without_a_parameter_for_it_is_skipped():
    source = textwrap.dedent("""
        import keras
        def block(units):
            return keras.layers.LSTM(units)
        model = keras.Sequential([block(8), block(4)])
    """)
    findings = broken_findings(graphs_from_python(source))
    assert [(f.line, f.column) for f in findings] == [(5, 27)]
    rewrite = rewrite_python_source(source, findings)
    assert rewrite.text == source
    assert rewrite.skipped[0][1] == ("the layer at line 5, column 27 is built by block(), which takes no argument "
                                     "for its return_sequences; change block() by hand")


def test_findings_that_match_no_call_and_other_codes_are_ignored():
    source = "import keras\nm = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])\n"
    stray = Finding("SK101", "broken-vertical-connection", "error", "m", line=1, column=1)
    other = Finding("SK201", "deep-simple-rnn", "warning", "m", line=2, column=23)
    rewrite = rewrite_python_source(source, [stray, other])
    assert rewrite.text == source
    assert [f for f, _ in rewrite.skipped] == [stray]


def test_same_finding_twice_edits_once():
    source = "import keras\nm = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])\n"
    findings = broken_findings(graphs_from_python(source)) * 2
    assert fix_python_source(source, findings).count("return_sequences=True") == 1


# -- notebooks -----------------------------------------------------------------------------

def test_notebook_fix_changes_only_the_cell_sources():
    before = (DATA / "stacked.ipynb").read_text()
    findings = broken_findings(graphs_from_notebook(before))
    assert [(f.cell, f.line, f.column) for f in findings] == [(4, 4, 11)]
    after = fix_notebook(before, findings)
    assert broken_findings(graphs_from_notebook(after)) == []
    assert changed_lines(before, after) == [
        '-     "model.add(layers.LSTM(32))  # the bug\\n",',
        '+     "model.add(layers.LSTM(32, return_sequences=True))  # the bug\\n",',
    ]
    old, new = json.loads(before), json.loads(after)
    assert new["cells"][3]["outputs"] == old["cells"][3]["outputs"]
    assert [c for i, c in enumerate(new["cells"]) if i != 3] == [c for i, c in enumerate(old["cells"]) if i != 3]


def test_notebook_layout_of_the_file_is_kept():
    document = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "import keras\nm = keras.Sequential([keras.layers.GRU(8), keras.layers.GRU(4)])"}]}
    before = json.dumps(document, indent=2)  # not nbformat's layout: unsorted keys, indent 2
    rewrite = rewrite_notebook(before, broken_findings(graphs_from_notebook(before)))
    assert rewrite.applied
    assert rewrite.text == before.replace("GRU(8)", "GRU(8, return_sequences=True)")


def test_notebook_findings_without_a_cell_are_skipped():
    before = (DATA / "stacked.ipynb").read_text()
    [finding] = broken_findings(graphs_from_notebook(before))
    rewrite = rewrite_notebook(before, [finding.with_location(cell=None)])
    assert rewrite.text == before and len(rewrite.skipped) == 1


# -- files ---------------------------------------------------------------------------------

def test_fix_file_rewrites_in_place_and_reports_a_change(tmp_path):
    path = tmp_path / "train.py"
    shutil.copy(DATA / "tutorial_broken.py", path)
    os.chmod(path, 0o640)
    findings = broken_findings(graphs_from_python(path.read_text()), str(path))
    assert fix_file(path, findings) is True
    assert broken_findings(graphs_from_python(path.read_text())) == []
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o640)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["train.py"]
    assert fix_file(path, findings) is False  # nothing left to fix


def test_fix_file_keeps_bom_and_encoding(tmp_path):
    path = tmp_path / "bom.py"
    source = "import keras\nm = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])  # é\n"
    path.write_bytes(b"\xef\xbb\xbf" + source.encode("utf-8"))
    assert fix_file(path, broken_findings(graphs_from_python(source)))
    assert path.read_bytes() == b"\xef\xbb\xbf" + source.replace("LSTM(8)", "LSTM(8, return_sequences=True)").encode()
    cookie = tmp_path / "cookie.py"
    latin = "# -*- coding: latin-1 -*-\n# café\nimport keras\nm = keras.Sequential([keras.layers.LSTM(8), keras.layers.LSTM(4)])\n"
    cookie.write_bytes(latin.encode("latin-1"))
    assert fix_file(cookie, broken_findings(graphs_from_python(latin)))
    assert cookie.read_bytes() == latin.replace("LSTM(8)", "LSTM(8, return_sequences=True)").encode("latin-1")


def test_fix_file_on_a_notebook(tmp_path):
    path = tmp_path / "stacked.ipynb"
    shutil.copy(DATA / "stacked.ipynb", path)
    findings = broken_findings(graphs_from_notebook(path.read_text()), str(path))
    rewrite = rewrite_file(path, findings)
    assert rewrite.changed and rewrite.applied == findings
    assert broken_findings(graphs_from_notebook(path.read_text())) == []


def test_fix_file_ignores_findings_of_other_files_and_leaves_the_file_untouched(tmp_path):
    path = tmp_path / "train.py"
    shutil.copy(DATA / "tutorial_broken.py", path)
    before = path.read_bytes()
    findings = broken_findings(graphs_from_python(before.decode()), str(tmp_path / "other.py"))
    assert fix_file(path, findings) is False
    assert path.read_bytes() == before


def test_fix_file_errors_name_the_problem(tmp_path):
    with pytest.raises(ValueError, match=r"path must be a \.py or \.ipynb file, got '.*model\.keras'"):
        fix_file(tmp_path / "model.keras", [])
    broken = tmp_path / "broken.py"
    broken.write_text("def f(:\n")
    finding = Finding("SK101", "broken-vertical-connection", "error", "m", line=1, column=1)
    with pytest.raises(ValueError, match="cannot fix .*broken.py: .*line 1"):
        fix_file(broken, [finding])
    with pytest.raises(OSError):
        fix_file(tmp_path / "missing.py", [finding])


# -- properties ------------------------------------------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_HEADER = "import sys\nimport keras\nfrom keras import layers\nFLAG = len(sys.argv) > 1\nmodel = keras.Sequential()\n"
_STATEMENTS = [
    "model.add(layers.LSTM(8))",
    "model.add(layers.LSTM(8, return_sequences=True))",
    "model.add(layers.GRU(4, return_sequences=False))  # explicit",
    "model.add(layers.Dropout(0.1))",
    "model.add(layers.Dense(3))",
    "model.add(layers.Bidirectional(layers.LSTM(4)))",
    "model.add(layers.RNN(layers.LSTMCell(4)))",
    "model.add(layers.SimpleRNN(\n    4,\n    activation='tanh',  # note\n))",
    "model.add(layers.LSTM(4,\n                       dropout=0.1))",
    "for _ in range(2):\n    model.add(layers.GRU(4))",
    "for units in [8, 4]:\n    model.add(layers.LSTM(units, return_sequences=True))",
    "if FLAG:\n    model.add(layers.LSTM(4))\nelse:\n    model.add(layers.GRU(4))",
    "model.add(layers.LSTM(2, **{'dropout': 0.1}))",
]


@settings(max_examples=80, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(_STATEMENTS), min_size=1, max_size=7))
def test_fixing_removes_every_broken_connection_it_does_not_skip(statements):
    source = _HEADER + "\n".join(statements) + "\n"
    findings = broken_findings(graphs_from_python(source))
    rewrite = rewrite_python_source(source, findings)
    skipped = {f.layer for f, _ in rewrite.skipped}  # layer names survive the lines shifting
    remaining = {f.layer for f in broken_findings(graphs_from_python(rewrite.text))}
    assert remaining <= skipped
    assert len(rewrite.applied) + len(rewrite.skipped) == len(findings)
    if not findings:
        assert rewrite.text == source
    # only the lines holding a fixed call changed, and the header of a loop whose index the fix uses
    added = Counter(rewrite.text.splitlines()) - Counter(source.splitlines())
    loop_header = "for i in range(2):"  # was `for _ in range(2):`
    assert all(line.strip().startswith(("model.add(", "return_sequences=True", "activation=", "dropout="))
               or line == loop_header for line in added)
    assert all(("return_sequences=True" in line or "return_sequences=i < 1" in line) or line == loop_header
               or line.strip().startswith(("activation=", "dropout=")) for line in added)


def test_fix_clears_what_the_linter_rules_report(tmp_path):
    """End to end with the real rules: lint, fix, lint again."""
    from stacked_keras.lint.from_source import read_source_file
    from stacked_keras.lint.rules import check

    path = tmp_path / "train.py"
    shutil.copy(DATA / "tutorial_broken.py", path)
    notebook = tmp_path / "stacked.ipynb"
    shutil.copy(DATA / "stacked.ipynb", notebook)
    for target in (path, notebook):
        findings = [f for graph in read_source_file(target) for f in check(graph) if f.code == "SK101"]
        assert len(findings) == 1
        assert fix_file(target, findings)
        assert [f for graph in read_source_file(target) for f in check(graph) if f.code == "SK101"] == []


# -- the fix must leave Python that parses ----------------------------------------------------------

@pytest.mark.parametrize("indent", ["    ", "\t"], ids=["spaces", "tab"])
def test_insertion_after_an_argument_alone_on_its_line_without_a_comma(indent):
    before = ("import keras\nfrom keras import layers\nm = keras.Sequential([\n"
              f"{indent}layers.LSTM(\n{indent}{indent}8\n{indent}),\n{indent}layers.LSTM(4),\n])\n")
    rewrite = rewrite_python_source(before, broken_findings(graphs_from_python(before)))
    assert rewrite.text == before.replace(
        f"{indent}{indent}8\n", f"{indent}{indent}8,\n{indent}{indent}return_sequences=True\n")
    assert len(rewrite.applied) == 1
    assert broken_findings(graphs_from_python(rewrite.text)) == []


@pytest.mark.parametrize("call, fixed", [
    ("LSTM((8))", "LSTM((8), return_sequences=True)"),
    ("LSTM((8)  # units\n)", "LSTM((8), return_sequences=True  # units\n)"),
    ("LSTM(\n    (8)\n)", "LSTM(\n    (8),\n    return_sequences=True\n)"),
])
def test_parenthesized_last_argument_gets_the_keyword_after_its_parentheses(call, fixed):
    before = f"from keras.layers import LSTM\nfrom keras import Sequential\nm = Sequential([{call}, LSTM(4)])\n"
    assert fix(before) == before.replace(call, fixed)


def test_a_fix_that_would_not_parse_is_refused_and_the_others_are_made():
    before = textwrap.dedent("""
        import keras
        from keras import layers
        a = keras.Sequential([layers.LSTM(u for u in [8]), layers.LSTM(4)])
        b = keras.Sequential([layers.GRU(8), layers.GRU(4)])
    """)
    findings = broken_findings(graphs_from_python(before))
    assert len(findings) == 2
    rewrite = rewrite_python_source(before, findings)
    assert rewrite.text == before.replace("layers.GRU(8)", "layers.GRU(8, return_sequences=True)")
    assert [f.model for f in rewrite.applied] == ["b"]
    [(finding, reason)] = rewrite.skipped
    assert finding.model == "a"
    assert reason.startswith("the fix at line 4, column 23 would leave Python that does not parse (")
    assert reason.endswith("); fix it by hand")


def test_rewrite_file_never_writes_a_file_that_does_not_parse(tmp_path):
    path = tmp_path / "gen.py"
    path.write_text("import keras\nm = keras.Sequential([keras.layers.LSTM(u for u in [8]), keras.layers.LSTM(4)])\n")
    before = path.read_bytes()
    rewrite = rewrite_file(path, broken_findings(graphs_from_python(before.decode()), str(path)))
    assert not rewrite.changed and rewrite.applied == [] and len(rewrite.skipped) == 1
    assert path.read_bytes() == before


def test_notebook_fix_that_would_not_parse_is_refused_per_cell():
    document = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "import keras"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "a = keras.Sequential([keras.layers.LSTM(u for u in [8]), keras.layers.LSTM(4)])"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "b = keras.Sequential([keras.layers.GRU(8), keras.layers.GRU(4)])"}]}
    before = json.dumps(document, indent=1)
    rewrite = rewrite_notebook(before, broken_findings(graphs_from_notebook(before)))
    assert [f.cell for f in rewrite.applied] == [3]
    assert [f.cell for f, _ in rewrite.skipped] == [2]
    assert "would leave Python that does not parse" in rewrite.skipped[0][1]
    assert rewrite.text == before.replace("GRU(8)", "GRU(8, return_sequences=True)")


def test_lint_fix_end_to_end_leaves_a_file_that_parses(tmp_path):
    """The reviewer's reproduction, through lint() and rewrite_file as `lint --fix` runs them."""
    from stacked_keras.lint import lint

    path = tmp_path / "f.py"
    path.write_text("import keras\nfrom keras import layers\nm = keras.Sequential([\n    layers.LSTM(\n"
                    "        8\n    ),\n    layers.LSTM(4),\n])\n")
    findings = [f for f in lint([str(path)]).findings if f.code == "SK101"]
    assert len(findings) == 1
    rewrite = rewrite_file(path, findings)
    assert len(rewrite.applied) == 1
    assert [f.code for f in lint([str(path)]).findings] == []


# -- applied counts the findings whose layer is now fixed ----------------------------------------------

def test_one_finding_for_a_loop_call_counts_once_and_fixes_every_layer():
    before = textwrap.dedent("""
        import keras
        model = keras.Sequential()
        for units in [64, 32]:
            model.add(keras.layers.LSTM(units))
        model.add(keras.layers.LSTM(16))
    """)
    findings = broken_findings(graphs_from_python(before))
    assert len(findings) == 2  # one per layer, both at the loop's call
    deduplicated = findings[:1]  # what lint() reports: one finding per place to change
    rewrite = rewrite_python_source(before, deduplicated)
    assert rewrite.applied == deduplicated and rewrite.skipped == []
    assert broken_findings(graphs_from_python(rewrite.text)) == []
    both = rewrite_python_source(before, findings)
    assert both.applied == findings and both.text == rewrite.text


def test_an_edit_that_does_not_fix_the_layer_is_not_made():
    before = textwrap.dedent("""
        import keras
        def block(x, seq):
            seq = seq and False
            return keras.layers.LSTM(8, return_sequences=seq)(x)
        inputs = keras.Input((None, 3))
        model = keras.Model(inputs, keras.layers.LSTM(4)(block(inputs, False)))
    """)
    [finding] = broken_findings(graphs_from_python(before))
    assert (finding.line, finding.column) == (7, 50)
    rewrite = rewrite_python_source(before, [finding])
    assert rewrite.text == before and rewrite.applied == []
    assert rewrite.skipped == [(finding, "the edit at line 7, column 50 does not make the layer return "
                                         "sequences (the value changes on its way); fix it by hand")]


# -- helpers: the argument at the call site is what changes ---------------------------------------------

HELPER = """
import keras
from keras import layers
def block(x, units, seq{default}, *, rate=0.1):
    x = layers.LSTM(units, return_sequences=seq)(x)
    return layers.Dropout(rate)(x)
inp = keras.Input((None, 8))
h = {first}
h = block(h, 32, False)
out = layers.Dense(1)(h)
model = keras.Model(inp, out)
"""


@pytest.mark.parametrize("default, first, fixed", [
    ("", "block(inp, 64, False)", "block(inp, 64, True)"),
    ("", "block(inp, 64, seq=False)", "block(inp, 64, seq=True)"),
    ("", "block(inp, units=64, seq=(False))", "block(inp, units=64, seq=(True))"),
    ("=False", "block(inp, 64)", "block(inp, 64, seq=True)"),
    ("=False", "block(inp, 64, rate=0.2)", "block(inp, 64, rate=0.2, seq=True)"),
    ("=False", "block(\n    inp,\n    64,\n)", "block(\n    inp,\n    64,\n    seq=True,\n)"),
])
def test_helper_argument_is_set_at_the_call_site(default, first, fixed):
    before = HELPER.format(default=default, first=first)
    [finding] = broken_findings(graphs_from_python(before))
    assert (finding.line, finding.column) == (8, 5)
    rewrite = rewrite_python_source(before, [finding])
    assert rewrite.text == HELPER.format(default=default, first=fixed)
    assert rewrite.applied == [finding]
    assert broken_findings(graphs_from_python(rewrite.text)) == []


@pytest.mark.parametrize("signature, call, reason", [
    ("x, units, seq=False, /", "block(inp, 64)",
     "seq is a positional-only parameter of block() left to its default"),
    ("x, units, seq=False", "block(inp, 64, **extra)",
     "the call passes **extra, which may hold seq"),
    ("x, units, seq=False", "block(*args)",
     "the call passes *args, which may hold seq"),
])
def test_helper_default_that_cannot_be_given_unambiguously_is_skipped(signature, call, reason):
    before = textwrap.dedent(f"""
        import keras
        extra = {{}}
        def block({signature}):
            return keras.layers.LSTM(units, return_sequences=seq)(x)
        inp = keras.Input((None, 8))
        args = (inp, 64)
        model = keras.Model(inp, keras.layers.LSTM(4)({call}))
    """)
    [finding] = broken_findings(graphs_from_python(before))
    assert finding.line == 8
    rewrite = rewrite_python_source(before, [finding])
    assert rewrite.text == before and rewrite.applied == []
    assert reason in rewrite.skipped[0][1]


def test_helper_returning_a_layer_gets_its_argument_at_the_call_site():
    before = textwrap.dedent("""
        import keras
        def block(units, seq=False):
            return keras.layers.LSTM(units, return_sequences=seq)
        model = keras.Sequential([block(8), block(4)])
    """)
    after = fix(before)
    assert "model = keras.Sequential([block(8, seq=True), block(4)])" in after
    assert broken_findings(graphs_from_python(after)) == []


def test_uncalled_function_default_is_the_value_changed():
    before = textwrap.dedent("""
        import keras
        def build(units=8, first_seq=False):
            return keras.Sequential([keras.layers.LSTM(units, return_sequences=first_seq),
                                     keras.layers.LSTM(units)])
    """)
    assert fix(before) == before.replace("first_seq=False", "first_seq=True")


def test_bad_notebook_cell_does_not_stop_fixing_the_others():
    document = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "import keras"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "x = (\n"},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": "b = keras.Sequential([keras.layers.GRU(8), keras.layers.GRU(4)])"}]}
    before = json.dumps(document, indent=1)
    findings = broken_findings(graphs_from_notebook(before, problems=[]))
    rewrite = rewrite_notebook(before, findings)
    assert rewrite.applied == findings
    assert rewrite.text == before.replace("GRU(8)", "GRU(8, return_sequences=True)")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_rewrite_file_refuses_a_named_pipe(tmp_path):
    import threading

    pipe = tmp_path / "model.py"
    os.mkfifo(pipe)
    finding = Finding("SK101", "broken-vertical-connection", "error", "m", line=1, column=1)
    outcome = []

    def rewrite():
        try:
            outcome.append(rewrite_file(pipe, [finding]))
        except (ValueError, OSError) as error:
            outcome.append(error)

    worker = threading.Thread(target=rewrite, daemon=True)
    worker.start()
    worker.join(timeout=10)
    if worker.is_alive():  # blocked in open(): give it a writer so the thread ends
        with open(pipe, "w"):
            pass
        worker.join(timeout=10)
        pytest.fail("rewrite_file blocked on a named pipe")
    [error] = outcome
    assert isinstance(error, ValueError)
    assert "model.py: it is not a regular file" in str(error)


def test_class_argument_is_set_where_the_model_is_made():
    before = textwrap.dedent("""
        import keras
        class Stack(keras.Model):
            def __init__(self, seq=False):
                super().__init__()
                self.a = keras.layers.GRU(8, return_sequences=seq)
                self.b = keras.layers.GRU(4)
            def call(self, x):
                return self.b(self.a(x))
        model = Stack()
    """)
    assert fix(before) == before.replace("model = Stack()", "model = Stack(seq=True)")


def test_notebook_helper_argument_is_set_in_the_calling_cell():
    document = {"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["import keras\n", "def block(x, seq):\n",
                    "    return keras.layers.LSTM(4, return_sequences=seq)(x)"]},
        {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None,
         "source": ["%matplotlib inline\n", "inp = keras.Input((None, 2))\n",
                    "model = keras.Model(inp, block(block(inp, False), False))"]}]}
    before = json.dumps(document, indent=1, sort_keys=True)
    findings = broken_findings(graphs_from_notebook(before))
    assert [(f.cell, f.line, f.column) for f in findings] == [(2, 3, 32)]
    rewrite = rewrite_notebook(before, findings)
    assert rewrite.applied == findings
    assert rewrite.text == before.replace("block(block(inp, False), False)", "block(block(inp, True), False)")


def test_crlf_insertion_after_an_argument_without_a_comma():
    before = "import keras\r\nm = keras.Sequential([\r\n    keras.layers.LSTM(\r\n        8  # units\r\n    ),\r\n" \
             "    keras.layers.LSTM(4),\r\n])\r\n"
    assert fix(before) == before.replace("        8  # units\r\n",
                                         "        8,  # units\r\n        return_sequences=True\r\n")


def test_docstring_examples_run():
    import doctest

    import stacked_keras.lint.fix_source as module

    failures, attempted = doctest.testmod(module, verbose=False)
    assert attempted >= 10 and failures == 0


def test_fixer_refuses_a_file_over_the_linters_size_limit(tmp_path, monkeypatch):
    # The fixer read files with no size limit; it now reads through lint.files.
    from stacked_keras.lint import files

    path = tmp_path / "model.py"
    path.write_text("import keras\nm = keras.Sequential([keras.layers.LSTM(4), keras.layers.LSTM(2)])\n")
    finding = Finding("SK101", "broken-vertical-connection", "error", "...", path=str(path), line=2, column=23)
    monkeypatch.setattr(files, "MAX_SOURCE_BYTES", 32)
    with pytest.raises(ValueError, match="over the 32-byte limit"):
        rewrite_file(path, [finding])
    assert path.read_text().count("return_sequences") == 0  # untouched

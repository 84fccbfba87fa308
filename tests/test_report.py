"""The lint report: text, HTML, JSON and SARIF forms, counts and exit codes.

Pure Python: findings are built by hand, nothing imports TensorFlow.
"""

import html
import json
import os
import re

import pytest

from stacked_keras.lint.findings import Finding
from stacked_keras.lint.report import Report, sarif_level


def _finding(code="SK101", severity="error", **fields):
    names = {"SK101": "broken-vertical-connection", "SK102": "sequence-into-per-sample-head",
             "SK201": "deep-simple-rnn", "SK202": "cudnn-ineligible", "SK004": "malformed-config"}
    defaults = dict(
        name=names.get(code, "some-rule"),
        message="lstm_1 returns only its last state but feeds lstm_2.",
        fix="Set return_sequences=True on lstm_1.",
    )
    defaults.update(fields)
    return Finding(code=code, severity=severity, **defaults)


@pytest.fixture
def mixed_report():
    findings = [
        _finding("SK202", "info", path="models/b.py", line=3, column=1, layer="gru", model="m2",
                 message="gru cannot use cuDNN.", fix="Use activation='tanh'."),
        _finding("SK102", "warning", path="notebooks/demo.ipynb", line=4, column=9, cell=3,
                 layer="lstm", model="model", message="lstm returns sequences into dense.",
                 fix="Add a Flatten or return_sequences=False."),
        _finding("SK101", "error", path="models/a.py", line=12, column=5, layer="lstm_1",
                 model="model"),
        _finding("SK004", "error", path="configs/bad.json", message="not a Keras model config.",
                 fix="Save with model.to_json()."),
        _finding("SK101", "error", path=None, line=None, column=None, layer="lstm", model="sequential"),
    ]
    return Report(findings, files=["models/a.py", "models/b.py", "notebooks/demo.ipynb",
                                   "configs/bad.json"], models=4)


def test_text_line_has_path_line_column_code_layer_message(mixed_report):
    lines = str(mixed_report).splitlines()
    assert "models/a.py:12:5: SK101 [lstm_1] lstm_1 returns only its last state but feeds lstm_2." in lines
    index = lines.index("models/a.py:12:5: SK101 [lstm_1] lstm_1 returns only its last state but feeds lstm_2.")
    assert lines[index + 1] == "    fix: Set return_sequences=True on lstm_1."


def test_text_notebook_finding_names_the_cell(mixed_report):
    text = str(mixed_report)
    assert "notebooks/demo.ipynb:cell 3:4:9: SK102 [lstm] lstm returns sequences into dense." in text


def test_text_file_finding_without_line_and_live_model_finding(mixed_report):
    lines = str(mixed_report).splitlines()
    assert "configs/bad.json: SK004 not a Keras model config." in lines
    assert any(line.startswith("<sequential>: SK101 [lstm] ") for line in lines)


def test_text_ends_with_summary_counting_severities_files_and_models(mixed_report):
    assert str(mixed_report).splitlines()[-1] == "3 errors, 1 warning, 1 info in 4 files (4 models)"
    assert Report([], files=["a.py"], models=1).summary() == "0 errors, 0 warnings, 0 info in 1 file (1 model)"
    assert Report([], models=2, inputs_read=1).summary() == "0 errors, 0 warnings, 0 info in 2 models"


def test_findings_are_sorted_by_path_cell_line_column_code():
    findings = [
        _finding("SK201", "warning", path="b.py", line=2, column=1),
        _finding("SK101", "error", path="b.py", line=2, column=1),
        _finding("SK101", "error", path="a.ipynb", line=1, column=1, cell=2),
        _finding("SK101", "error", path="a.ipynb", line=9, column=1, cell=1),
        _finding("SK101", "error", path="b.py", line=1, column=7),
    ]
    report = Report(findings, files=["a.ipynb", "b.py"], models=2)
    order = [(f.path, f.cell, f.line, f.column, f.code) for f in report.findings]
    assert order == [
        ("a.ipynb", 1, 9, 1, "SK101"),
        ("a.ipynb", 2, 1, 1, "SK101"),
        ("b.py", None, 1, 7, "SK101"),
        ("b.py", None, 2, 1, "SK101"),
        ("b.py", None, 2, 1, "SK201"),
    ]


def test_colour_marks_codes_by_severity_only_when_asked(mixed_report):
    plain = mixed_report.format_text(color=False)
    coloured = mixed_report.format_text(color=True)
    assert "\033[" not in plain
    assert "\033[31mSK101" in coloured      # errors in red
    assert "\033[33mSK102" in coloured      # warnings in yellow
    assert "\033[36mSK202" in coloured      # info in cyan
    stripped = re.sub(r"\033\[[0-9;]*m", "", coloured)
    assert stripped == plain


def test_counts_and_len(mixed_report):
    assert (mixed_report.errors, mixed_report.warnings, mixed_report.infos) == (3, 1, 1)
    assert len(mixed_report) == 5
    assert [f.code for f in mixed_report][:1] == [mixed_report[0].code]


@pytest.mark.parametrize(
    "severities, fail_on, expected",
    [
        ((), "error", 0),
        (("info",), "error", 0),
        (("info",), "warning", 0),
        (("info",), "info", 1),
        (("warning",), "error", 0),
        (("warning",), "warning", 1),
        (("error",), "error", 1),
        (("error", "info"), "warning", 1),
    ],
)
def test_exit_code_is_1_at_or_above_fail_on(severities, fail_on, expected):
    report = Report([_finding("SK101", s, path="a.py") for s in severities], files=["a.py"], models=1)
    assert report.exit_code(fail_on) == expected


def test_exit_code_uses_the_reports_fail_on_by_default():
    report = Report([_finding("SK201", "warning", path="a.py")], files=["a.py"], models=1, fail_on="warning")
    assert report.exit_code() == 1
    assert report.exit_code("error") == 0


def test_exit_code_is_2_when_nothing_readable_was_given():
    unreadable = Report([_finding("SK004", "error", path="bad.json")], files=["bad.json"], models=0, inputs_read=0)
    assert unreadable.exit_code() == 2
    assert Report([], files=[], inputs_read=0).exit_code() == 2
    # Paths skipped on purpose (the exclude setting) are not a usage error.
    assert Report([], files=[], inputs_read=0, skipped=1).exit_code() == 0


def test_exit_code_rejects_unknown_severity():
    with pytest.raises(ValueError, match="severity must be one of info, warning, error, got 'fatal'"):
        Report([]).exit_code("fatal")


def test_repr_is_short_and_pretty_print_is_the_text(mixed_report):
    assert repr(mixed_report) == "<Report: 3 errors, 1 warning, 1 info in 4 files (4 models)>"

    class Printer:
        def __init__(self):
            self.parts = []

        def text(self, value):
            self.parts.append(value)

    printer = Printer()
    mixed_report._repr_pretty_(printer, cycle=False)
    assert printer.parts == [str(mixed_report)]


def test_html_table_holds_every_finding_escaped(mixed_report):
    report = Report(
        [*mixed_report.findings,
         _finding("SK101", path="x.py", line=1, column=1, message="a <b> & c", layer="l<1>")],
        files=mixed_report.files + ["x.py"], models=5,
    )
    page = report._repr_html_()
    assert page.count("<tr>") == len(report.findings) + 1  # one header row
    for finding in mixed_report.findings:
        assert finding.code in page and html.escape(finding.fix) in page
    assert "a &lt;b&gt; &amp; c" in page and "l&lt;1&gt;" in page
    assert "<b>" not in page.replace("<b>stacked-keras lint</b>", "")
    assert "color:#c62828" in page  # error colour
    assert "notebooks/demo.ipynb:cell 3:4:9" in page
    assert "4 errors, 1 warning, 1 info in 5 files (5 models)" in page


def test_html_of_a_clean_report_says_so():
    page = Report([], files=["a.py"], models=1)._repr_html_()
    assert "<table" not in page
    assert "0 errors, 0 warnings, 0 info in 1 file (1 model)" in page


def test_json_is_a_list_of_findings_with_every_field(mixed_report):
    data = json.loads(mixed_report.to_json())
    assert isinstance(data, list) and len(data) == 5
    fields = {"code", "name", "severity", "message", "fix", "path", "line", "column", "layer", "cell", "model"}
    assert all(set(item) == fields for item in data)
    notebook = next(item for item in data if item["path"] == "notebooks/demo.ipynb")
    assert (notebook["cell"], notebook["line"], notebook["column"]) == (3, 4, 9)
    first = next(item for item in data if item["path"] == "models/a.py")
    assert first == {
        "code": "SK101", "name": "broken-vertical-connection", "severity": "error",
        "message": "lstm_1 returns only its last state but feeds lstm_2.",
        "fix": "Set return_sequences=True on lstm_1.", "path": "models/a.py", "line": 12,
        "column": 5, "layer": "lstm_1", "cell": None, "model": "model",
    }


# -- SARIF ---------------------------------------------------------------------
# The required properties, enumerations and allowed keys below are those of the
# OASIS SARIF 2.1.0 JSON schema (sarif-schema-2.1.0.json): each object's
# "required" list, the "anyOf" of message (text or id) and physicalLocation
# (address or artifactLocation), and "additionalProperties": false.

_REQUIRED = {
    "sarifLog": ("version", "runs"),
    "run": ("tool",),
    "tool": ("driver",),
    "toolComponent": ("name",),
    "reportingDescriptor": ("id",),
    "multiformatMessageString": ("text",),
    "result": ("message",),
}
_ALLOWED = {
    "sarifLog": {"$schema", "version", "runs", "inlineExternalProperties", "properties"},
    "run": {"tool", "invocations", "conversion", "language", "versionControlProvenance",
            "originalUriBaseIds", "artifacts", "logicalLocations", "graphs", "results",
            "automationDetails", "runAggregates", "baselineGuid", "redactionTokens",
            "defaultEncoding", "defaultSourceLanguage", "newlineSequences", "columnKind",
            "externalPropertyFileReferences", "threadFlowLocations", "taxonomies", "addresses",
            "translations", "policies", "webRequests", "webResponses", "specialLocations",
            "properties"},
    "tool": {"driver", "extensions", "properties"},
    "toolComponent": {"guid", "name", "organization", "product", "productSuite",
                      "shortDescription", "fullDescription", "fullName", "version",
                      "semanticVersion", "dottedQuadFileVersion", "releaseDateUtc", "downloadUri",
                      "informationUri", "globalMessageStrings", "notifications", "rules", "taxa",
                      "locations", "language", "contents", "isComprehensive",
                      "localizedDataSemanticVersion", "minimumRequiredLocalizedDataSemanticVersion",
                      "associatedComponent", "translationMetadata", "supportedTaxonomies",
                      "properties"},
    "reportingDescriptor": {"id", "deprecatedIds", "guid", "deprecatedGuids", "name",
                            "deprecatedNames", "shortDescription", "fullDescription",
                            "messageStrings", "defaultConfiguration", "helpUri", "help",
                            "relationships", "properties"},
    "reportingConfiguration": {"enabled", "level", "rank", "parameters", "properties"},
    "multiformatMessageString": {"text", "markdown", "properties"},
    "result": {"ruleId", "ruleIndex", "rule", "kind", "level", "message", "analysisTarget",
               "locations", "guid", "correlationGuid", "occurrenceCount", "partialFingerprints",
               "fingerprints", "stacks", "codeFlows", "graphs", "graphTraversals",
               "relatedLocations", "suppressions", "baselineState", "rank", "attachments",
               "hostedViewerUri", "workItemUris", "provenance", "fixes", "taxa", "webRequest",
               "webResponse", "properties"},
    "message": {"text", "markdown", "id", "arguments", "properties"},
    "location": {"id", "physicalLocation", "logicalLocations", "message", "annotations",
                 "relationships", "properties"},
    "physicalLocation": {"address", "artifactLocation", "region", "contextRegion", "properties"},
    "artifactLocation": {"uri", "uriBaseId", "index", "description", "properties"},
    "region": {"startLine", "startColumn", "endLine", "endColumn", "charOffset", "charLength",
               "byteOffset", "byteLength", "snippet", "message", "sourceLanguage", "properties"},
}
_LEVELS = {"none", "note", "warning", "error"}


def _sarif_problems(log):
    """Every way `log` breaks the SARIF 2.1.0 schema's structural rules we use."""
    problems = []

    def obj(value, kind, where):
        if not isinstance(value, dict):
            problems.append(f"{where}: {kind} must be an object, got {type(value).__name__}")
            return False
        for key in _REQUIRED.get(kind, ()):
            if key not in value:
                problems.append(f"{where}: {kind} lacks required {key!r}")
        extra = set(value) - _ALLOWED.get(kind, set(value))
        if extra:
            problems.append(f"{where}: {kind} has properties the schema forbids: {sorted(extra)}")
        if "properties" in value and not isinstance(value["properties"], dict):
            problems.append(f"{where}.properties must be an object")
        return True

    def string(value, where):
        if not isinstance(value, str):
            problems.append(f"{where} must be a string, got {value!r}")

    def integer(value, where, minimum):
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            problems.append(f"{where} must be an integer >= {minimum}, got {value!r}")

    def mms(value, where):
        if obj(value, "multiformatMessageString", where):
            for key in ("text", "markdown"):
                if key in value:
                    string(value[key], f"{where}.{key}")

    if not obj(log, "sarifLog", "log"):
        return problems
    if log.get("version") != "2.1.0":
        problems.append(f"log.version must be '2.1.0', got {log.get('version')!r}")
    if not isinstance(log.get("runs"), list):
        problems.append("log.runs must be an array")
        return problems
    for r, run in enumerate(log["runs"]):
        where = f"runs[{r}]"
        if not obj(run, "run", where):
            continue
        if "columnKind" in run and run["columnKind"] not in ("utf16CodeUnits", "unicodeCodePoints"):
            problems.append(f"{where}.columnKind is not in the enumeration")
        if obj(run.get("tool"), "tool", f"{where}.tool"):
            driver = run["tool"].get("driver")
            if obj(driver, "toolComponent", f"{where}.tool.driver"):
                string(driver.get("name"), f"{where}.tool.driver.name")
                if "version" in driver:
                    string(driver["version"], f"{where}.tool.driver.version")
                for i, rule in enumerate(driver.get("rules", [])):
                    rw = f"{where}.tool.driver.rules[{i}]"
                    if obj(rule, "reportingDescriptor", rw):
                        string(rule.get("id"), f"{rw}.id")
                        for key in ("shortDescription", "fullDescription", "help"):
                            if key in rule:
                                mms(rule[key], f"{rw}.{key}")
                        config = rule.get("defaultConfiguration")
                        if config is not None and obj(config, "reportingConfiguration", f"{rw}.defaultConfiguration"):
                            if config.get("level", "warning") not in _LEVELS:
                                problems.append(f"{rw}.defaultConfiguration.level is not a SARIF level")
        results = run.get("results", [])
        if not isinstance(results, list):
            problems.append(f"{where}.results must be an array")
            continue
        for i, result in enumerate(results):
            rw = f"{where}.results[{i}]"
            if not obj(result, "result", rw):
                continue
            if "ruleId" in result:
                string(result["ruleId"], f"{rw}.ruleId")
            if "ruleIndex" in result:
                integer(result["ruleIndex"], f"{rw}.ruleIndex", -1)
            if result.get("level", "warning") not in _LEVELS:
                problems.append(f"{rw}.level is not a SARIF level")
            message = result.get("message")
            if obj(message, "message", f"{rw}.message"):
                if "text" not in message and "id" not in message:
                    problems.append(f"{rw}.message needs text or id")
                if "text" in message:
                    string(message["text"], f"{rw}.message.text")
            for j, location in enumerate(result.get("locations", [])):
                lw = f"{rw}.locations[{j}]"
                if not obj(location, "location", lw):
                    continue
                physical = location.get("physicalLocation")
                if physical is None:
                    continue
                if obj(physical, "physicalLocation", f"{lw}.physicalLocation"):
                    if "address" not in physical and "artifactLocation" not in physical:
                        problems.append(f"{lw}.physicalLocation needs address or artifactLocation")
                    artifact = physical.get("artifactLocation")
                    if artifact is not None and obj(artifact, "artifactLocation", f"{lw}.artifactLocation"):
                        string(artifact.get("uri"), f"{lw}.artifactLocation.uri")
                    region = physical.get("region")
                    if region is not None and obj(region, "region", f"{lw}.region"):
                        for key in ("startLine", "startColumn", "endLine", "endColumn"):
                            if key in region:
                                integer(region[key], f"{lw}.region.{key}", 1)
                        # SARIF 2.1.0 erratum (oasis-tcs/sarif-spec#462): a region
                        # needs at least one of startLine, charOffset, byteOffset.
                        if not {"startLine", "charOffset", "byteOffset"} & set(region):
                            problems.append(f"{lw}.region needs startLine, charOffset or byteOffset")
    return problems


def test_sarif_checker_catches_schema_violations():
    broken = {"version": "2.0", "runs": [{"tool": {"driver": {}}, "results": [
        {"level": "fatal", "message": {}, "ruleIndex": -2, "bogus": 1,
         "locations": [{"physicalLocation": {"region": {"startLine": 0}}}]}]}]}
    problems = "\n".join(_sarif_problems(broken))
    for expected in ("version must be '2.1.0'", "toolComponent lacks required 'name'",
                     "level is not a SARIF level", "message needs text or id", "ruleIndex must be",
                     "forbids: ['bogus']", "needs address or artifactLocation", "startLine must be"):
        assert expected in problems
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"] = {"startColumn": 3}
    problems = "\n".join(_sarif_problems(broken))
    for expected in ("region needs startLine, charOffset or byteOffset",):
        assert expected in problems


def test_sarif_has_every_required_field_of_the_2_1_0_schema(mixed_report):
    log = json.loads(mixed_report.to_sarif())
    assert _sarif_problems(log) == []
    assert log["version"] == "2.1.0" and log["$schema"].endswith("sarif-2.1.0.json")
    driver = log["runs"][0]["tool"]["driver"]
    assert driver["name"] == "stacked-keras" and driver["version"]


def test_sarif_rules_carry_the_rule_docs_and_default_levels(mixed_report):
    from stacked_keras.lint.rules import RULES

    log = json.loads(mixed_report.to_sarif())
    rules = {rule["id"]: rule for rule in log["runs"][0]["tool"]["driver"]["rules"]}
    assert set(RULES) <= set(rules)
    sk101 = rules["SK101"]
    assert sk101["name"] == RULES["SK101"].name
    assert sk101["shortDescription"]["text"] == RULES["SK101"].summary
    assert sk101["help"]["markdown"] == RULES["SK101"].doc
    assert sk101["defaultConfiguration"]["level"] == sarif_level(RULES["SK101"].severity)


def test_sarif_results_point_at_rule_file_and_region(mixed_report):
    log = json.loads(mixed_report.to_sarif())
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    results = run["results"]
    assert len(results) == len(mixed_report.findings)
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    levels = {r["ruleId"] + ":" + r["level"] for r in results}
    assert {"SK101:error", "SK102:warning", "SK202:note"} <= levels
    sk101 = next(r for r in results if r["ruleId"] == "SK101" and "locations" in r)
    physical = sk101["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "models/a.py"
    assert physical["region"] == {"startLine": 12, "startColumn": 5}
    assert sk101["message"]["text"] == (
        "lstm_1 returns only its last state but feeds lstm_2. Set return_sequences=True on lstm_1."
    )


def test_sarif_notebook_that_cannot_be_read_keeps_cell_and_line_as_properties_only(mixed_report):
    # notebooks/demo.ipynb does not exist: its line in the file cannot be known, and
    # the line inside the cell is no line of the .ipynb file, so no region at all.
    log = json.loads(mixed_report.to_sarif())
    notebook = next(r for r in log["runs"][0]["results"] if r["ruleId"] == "SK102")
    assert notebook["properties"]["cell"] == 3
    assert notebook["properties"]["cellLine"] == 4 and notebook["properties"]["cellColumn"] == 9
    physical = notebook["locations"][0]["physicalLocation"]
    assert physical["artifactLocation"]["uri"] == "notebooks/demo.ipynb"
    assert "region" not in physical
    assert _sarif_problems(log) == []


NOTEBOOK_CELLS = [
    ("markdown", "# A broken stack\n\nTwo LSTMs, the first one \"forgets\" its sequence."),
    ("code", "import keras\nfrom keras import layers\n"),
    ("code", 'model = keras.Sequential([\n\tlayers.LSTM(8, name="é\\t😀"),\n    layers.LSTM(8),\n])\n'),
]


def _notebook_file(path, *, source_as_list=True, indent=1, ensure_ascii=False, bom=False):
    cells = []
    for kind, text in NOTEBOOK_CELLS:
        source = text.splitlines(keepends=True) if source_as_list else text
        cell = {"cell_type": kind, "metadata": {}, "source": source}
        if kind == "code":
            cell.update(execution_count=None, outputs=[])
        cells.append(cell)
    document = {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    text = json.dumps(document, indent=indent, ensure_ascii=ensure_ascii) + "\n"
    path.write_text(("\ufeff" if bom else "") + text, encoding="utf-8")
    return path


def _region_text(path, region):
    """The text of the file at a SARIF region's line and column."""
    line = path.read_text(encoding="utf-8").splitlines()[region["startLine"] - 1]
    return line[region["startColumn"] - 1:]


@pytest.mark.parametrize("source_as_list, indent, ensure_ascii, bom", [
    (True, 1, False, False), (True, None, False, False), (False, 1, False, False), (True, 1, True, False),
    (True, 1, False, True)],
    ids=["nbformat", "one-line-json", "source-as-string", "ascii-escapes", "byte-order-mark"])
def test_sarif_notebook_region_is_the_line_of_the_ipynb_file(tmp_path, source_as_list, indent, ensure_ascii, bom):
    path = _notebook_file(tmp_path / "train.ipynb", source_as_list=source_as_list, indent=indent,
                          ensure_ascii=ensure_ascii, bom=bom)
    after_emoji = NOTEBOOK_CELLS[2][1].splitlines()[1].index('"),') + 1
    findings = [
        _finding("SK101", path=str(path), cell=3, line=2, column=2, layer="lstm"),   # tab-indented call
        _finding("SK101", path=str(path), cell=3, line=3, column=5, layer="lstm_1"),
        _finding("SK202", "info", path=str(path), cell=3, line=3, column=None, layer="lstm_1"),
        _finding("SK201", "warning", path=str(path), cell=3, line=2, column=after_emoji, layer="x"),
    ]
    log = json.loads(Report(findings, files=[str(path)], models=1).to_sarif(base=tmp_path))
    assert _sarif_problems(log) == []
    # Sorted by cell, line, column: the finding without a column comes first on its line.
    results = log["runs"][0]["results"]
    assert [(r["ruleId"], r["properties"]["layer"]) for r in results] == [
        ("SK101", "lstm"), ("SK201", "x"), ("SK202", "lstm_1"), ("SK101", "lstm_1")]
    regions = [results[0], results[3], results[2], results[1]]
    regions = [r["locations"][0]["physicalLocation"]["region"] for r in regions]
    name = '\\"\\u00e9\\\\t\\ud83d\\ude00\\"' if ensure_ascii else '\\"é\\\\t😀\\"'
    assert _region_text(path, regions[0]).startswith(f"layers.LSTM(8, name={name})")
    assert _region_text(path, regions[3]).startswith('\\"),')
    assert _region_text(path, regions[1]).startswith("layers.LSTM(8),")
    assert "startColumn" not in regions[2] and regions[2]["startLine"] == regions[1]["startLine"]
    if source_as_list and indent == 1:
        text = path.read_text(encoding="utf-8").splitlines()
        assert text[regions[1]["startLine"] - 1].strip() == '"    layers.LSTM(8),\\n",'
    assert [r["properties"]["cellLine"] for r in results] == [2, 2, 3, 3]
    assert [r["properties"].get("cellColumn") for r in results] == [2, after_emoji, None, 5]
    assert [r["properties"]["cell"] for r in results] == [3, 3, 3, 3]


def test_sarif_notebook_of_the_linter_points_at_the_layer_call(tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from stacked_keras.lint import lint

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_markdown_cell(text) if kind == "markdown" else nbformat.v4.new_code_cell(text)
        for kind, text in NOTEBOOK_CELLS
    ]
    path = tmp_path / "train.ipynb"
    nbformat.write(notebook, str(path))  # Jupyter's own writer: one source line per list element
    report = lint(str(path))
    (finding,) = [f for f in report.findings if f.code == "SK101"]
    assert (finding.cell, finding.line) == (3, 2)
    region = json.loads(report.to_sarif(base=tmp_path))["runs"][0]["results"][0]["locations"][0][
        "physicalLocation"]["region"]
    assert _region_text(path, region).startswith("layers.LSTM(8, name=")


def test_sarif_notebook_line_past_the_cell_gives_no_region(tmp_path):
    path = _notebook_file(tmp_path / "train.ipynb")
    log = json.loads(Report([_finding(path=str(path), cell=3, line=40, column=1)]).to_sarif(base=tmp_path))
    result = log["runs"][0]["results"][0]
    assert "region" not in result["locations"][0]["physicalLocation"]
    assert result["properties"]["cellLine"] == 40


def test_sarif_live_model_result_has_no_location(mixed_report):
    results = json.loads(mixed_report.to_sarif())["runs"][0]["results"]
    live = [r for r in results if r.get("properties", {}).get("model") == "sequential"]
    assert len(live) == 1 and "locations" not in live[0]


def test_sarif_uris_are_relative_with_forward_slashes_or_absolute_file_uris(tmp_path):
    inside = os.path.join(str(tmp_path), "sub dir", "m.py")
    outside = os.path.join(os.path.dirname(str(tmp_path)), "elsewhere.py")
    report = Report([_finding(path=inside, line=1, column=1), _finding(path=outside, line=1, column=1)],
                    files=[inside, outside], models=2)
    log = json.loads(report.to_sarif(base=tmp_path))
    assert _sarif_problems(log) == []
    uris = sorted(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
                  for r in log["runs"][0]["results"])
    assert "sub%20dir/m.py" in uris
    assert any(uri.startswith("file:///") and uri.endswith("/elsewhere.py") for uri in uris)

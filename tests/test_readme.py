"""The README's Python examples run as written.

Every ```python block runs, in order, in one namespace per top-level (`## `)
section, inside a temporary working directory. The examples carry their own
assertions; a block that raises fails its section.
"""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks_by_section(text):
    sections = {}
    current = None
    for match in re.finditer(r"^## ([^\n]+)$|^```python\n(.*?)^```$", text, re.MULTILINE | re.DOTALL):
        if match.group(1):
            current = match.group(1).strip()
        elif current is not None:
            sections.setdefault(current, []).append(match.group(2))
    return sections


SECTIONS = python_blocks_by_section(README.read_text(encoding="utf-8"))


def test_the_readme_has_runnable_examples_for_each_task():
    assert {"Build", "Describe", "Export", "Export to ONNX", "Lint your models", "Model zoo"} <= set(SECTIONS)


@pytest.mark.parametrize("section", sorted(SECTIONS))
def test_readme_section_examples_run(section, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    namespace = {"__name__": f"readme_{section}"}
    for number, block in enumerate(SECTIONS[section], 1):
        code = compile(block, f"README.md [{section}, block {number}]", "exec")
        exec(code, namespace)  # noqa: S102 - the README's own examples
    assert os.getcwd() == str(tmp_path)

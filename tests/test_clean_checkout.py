"""The suite fails when it leaves files in the checkout (tests/conftest.py).

The check runs in a throwaway git repository holding this suite's
conftest.py and background.py, with one test that writes into the
repository and one that writes into tmp_path.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def repository(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    root = tmp_path / "checkout"
    (root / "tests").mkdir(parents=True)
    for name in ("conftest.py", "background.py"):
        shutil.copy(TESTS / name, root / "tests" / name)
    (root / ".gitignore").write_text("__pycache__/\n")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    return root


def run_suite(root, test_source):
    (root / "tests" / "test_writes.py").write_text(test_source)
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def test_a_file_left_in_the_checkout_fails_the_run_and_is_named(repository):
    completed = run_suite(
        repository,
        "from pathlib import Path\n"
        "def test_writes_into_the_checkout():\n"
        "    Path(__file__).resolve().parents[1].joinpath('leftover.txt').write_text('x')\n",
    )
    assert completed.returncode == 1, completed.stdout[-2000:]
    assert "1 passed" in completed.stdout
    assert "the test suite left files in the checkout" in completed.stdout
    assert "?? leftover.txt" in completed.stdout


def test_a_suite_that_writes_into_tmp_path_passes(repository):
    completed = run_suite(
        repository,
        "def test_writes_into_tmp_path(tmp_path):\n"
        "    (tmp_path / 'result.txt').write_text('x')\n",
    )
    assert completed.returncode == 0, completed.stdout[-2000:]
    assert "left files" not in completed.stdout

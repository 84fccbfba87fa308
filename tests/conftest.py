"""Shared test settings: quiet TensorFlow, the TensorFlow backend, fixed seeds."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _fixed_seeds():
    """Every test starts from the same random state, so failures reproduce."""
    import random

    import numpy as np

    random.seed(0)
    np.random.seed(0)
    yield


# --- the suite leaves the checkout clean ------------------------------------
# Every test writes into temporary directories. The status of the checkout
# (tracked changes and untracked files that .gitignore does not cover) is
# read before and after the session; anything new fails the run, by name.

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _checkout_status():
    import subprocess

    try:
        completed = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=all"],
            cwd=_ROOT, capture_output=True, text=True, timeout=60,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return set(completed.stdout.splitlines()) if completed.returncode == 0 else None


def pytest_sessionstart(session):
    session.config._checkout_before = _checkout_status()


def pytest_sessionfinish(session, exitstatus):
    before = getattr(session.config, "_checkout_before", None)
    after = _checkout_status()
    if before is None or after is None:
        return  # not a git checkout, or no git: nothing to compare
    new = sorted(after - before)
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        message = "the test suite left files in the checkout (write into tmp_path instead):\n  " + "\n  ".join(new)
        if reporter is not None:
            reporter.write_line(message, red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED

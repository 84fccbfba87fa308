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
    _stop_background_jobs()
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


# --- background checks (tests/background.py) -------------------------------------------


def pytest_collection_finish(session):
    from background import JOBS

    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ()) if name in JOBS}
    for name in sorted(wanted):
        JOBS[name].start()


def _stop_background_jobs():
    from background import JOBS

    for job in JOBS.values():
        job.stop()


@pytest.fixture(scope="session")
def mirrored():
    """The JSON report of tests/run_mirrored_training.py (MirroredStrategy on two CPU devices)."""
    import json

    from background import JOBS

    completed = JOBS["mirrored"].result()
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="session")
def backend_checks():
    """The JSON report of tests/run_backend_checks.py, run with KERAS_BACKEND=jax."""
    import json

    from background import JOBS

    job = JOBS["backend_checks"]
    completed = job.result()
    assert completed.returncode == 0, completed.stderr[-3000:]
    return json.loads((job.workdir / "report.json").read_text())


@pytest.fixture(scope="session")
def notebook_runs():
    """The background job that ran the notebooks (tests/run_notebooks.py)."""
    from background import JOBS

    return JOBS["notebook_runs"]

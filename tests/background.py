"""Long subprocess checks started when collection ends, read by the tests that need them.

Most of the suite is single-threaded Python (the linter), so on CI's two
cores one core sits idle while it runs. The checks that run in a fresh
interpreter anyway (MirroredStrategy training on two logical devices, the
notebooks, the suite's JAX part) start in the background as soon as pytest
knows they are selected (`pytest_collection_finish` in conftest.py), and the
tests that read them wait for their result. Nothing is shared but files in a
temporary directory; each job's output is its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def quiet_environment(**overrides: str) -> dict[str, str]:
    """The environment of a background check: quiet TensorFlow, no GPU, no cluster."""
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow", CUDA_VISIBLE_DEVICES="", MPLBACKEND="Agg")
    env.pop("TF_CONFIG", None)
    env.update(overrides)
    return env


@dataclass
class Job:
    """One background command, started once, waited for by every test that reads it."""

    name: str  # also the fixture through which tests read it: selecting such a test starts the job
    argv: list[str]
    env: dict[str, str] = field(default_factory=quiet_environment)
    timeout: float = 600
    _process: subprocess.Popen | None = None
    _workdir: tempfile.TemporaryDirectory | None = None
    _result: subprocess.CompletedProcess | None = None

    def start(self) -> None:
        if self._process is None:
            self._workdir = tempfile.TemporaryDirectory(prefix=f"sk-{self.name}-")
            workdir = Path(self._workdir.name)
            self._stdout = open(workdir / "stdout", "w+")
            self._stderr = open(workdir / "stderr", "w+")
            argv = [a.replace("{workdir}", str(workdir)) for a in self.argv]
            self._process = subprocess.Popen(argv, cwd=ROOT, env=self.env, stdout=self._stdout,
                                             stderr=self._stderr, text=True)

    @property
    def workdir(self) -> Path:
        self.start()
        return Path(self._workdir.name)

    def result(self) -> subprocess.CompletedProcess:
        """Waits for the job (starting it if it was not) and returns what it printed."""
        if self._result is None:
            self.start()
            try:
                code = self._process.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self._process.kill()
                code = self._process.wait()
            self._stdout.seek(0)
            self._stderr.seek(0)
            self._result = subprocess.CompletedProcess(self.argv, code, self._stdout.read(), self._stderr.read())
        return self._result

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        if self._process is not None:
            self._stdout.close()
            self._stderr.close()
        if self._workdir is not None:
            self._workdir.cleanup()


# The presets whose models differ from the compared deep_lstm stack: a masking
# Embedding, bidirectional layers with a per-timestep head, a two-input
# encoder-decoder with attention. (deep-simple-rnn and forecaster-deep-gru are
# numeric deep_rnn stacks like it; `python tests/run_mirrored_training.py`
# trains all five.)
MIRRORED_PRESETS = ("sentiment-deep-lstm", "tagger-bilstm", "seq2seq-attention")

JOBS = {
    "mirrored": Job(
        "mirrored",
        [sys.executable, str(ROOT / "tests" / "run_mirrored_training.py"), "--epochs", "3",
         "--preset-epochs", "2", "--presets", *MIRRORED_PRESETS],
    ),
    # The suite's JAX part (tests/test_backends.py), on two host devices for
    # the DataParallel check.
    "backend_checks": Job(
        "backend_checks",
        [sys.executable, str(ROOT / "tests" / "run_backend_checks.py"), "--report", "{workdir}/report.json"],
        env=quiet_environment(KERAS_BACKEND="jax", XLA_FLAGS="--xla_force_host_platform_device_count=2"),
    ),
    "notebook_runs": Job(
        "notebook_runs",
        [sys.executable, str(ROOT / "tests" / "run_notebooks.py"), "--report", "{workdir}/report.json"],
        timeout=900,
    ),
}

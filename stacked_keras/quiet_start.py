"""TensorFlow's start-up lines kept off the command line's standard error.

Importing TensorFlow and touching its devices prints 7-9 lines from C++ on
file descriptor 2 (oneDNN notices, "Could not find cuda drivers", "failed
call to cuInit" on a machine without a GPU), whatever `TF_CPP_MIN_LOG_LEVEL`
says: they are written before absl's logging is initialised. Python cannot
catch them on `sys.stderr`, so `import_tensorflow_quietly` points descriptor
2 at a temporary file while TensorFlow loads and finds its devices, then
writes back, to `sys.stderr`, every line that is not known start-up noise.
Real errors (any other `E`/`F` line, Python warnings, tracebacks) still
reach the terminal.

In a notebook the same lines appear as a cell's output (ipykernel forwards
what is written on descriptor 2), and `TF_CPP_MIN_LOG_LEVEL=3` silences only
the C++ lines written after start-up (the CPU-instructions notice, "failed
call to cuInit"). The notebooks' first cell therefore does both:

```python
import os
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
from stacked_keras.quiet_start import import_tensorflow_quietly
import_tensorflow_quietly()
```
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

from stacked_keras.dependencies import import_keras

__all__ = ["import_tensorflow_quietly", "is_start_up_noise", "keep_lines"]

_LOG_LINE = re.compile(r"^[IWEF]\d{4} [\d:.]+\s+\d+ (?P<source>[\w.]+):\d+\] (?P<text>.*)")
_NOISY_ERRORS = ("failed call to cuInit", "Unable to register cu")


def is_start_up_noise(line: str) -> bool:
    """Whether one line of TensorFlow's start-up output is noise to drop.

    Noise is absl's "before InitializeLog" notice, every C++ `I`/`W` log
    line, and the `E` lines about a missing CUDA driver or duplicate CUDA
    plug-in registration. Everything else is kept.
    """
    if line.startswith("WARNING: All log messages before absl::InitializeLog()"):
        return True
    match = _LOG_LINE.match(line)
    if match is None:
        return False
    if line[0] in "IW":
        return True
    return line[0] == "E" and any(text in match["text"] for text in _NOISY_ERRORS)


def keep_lines(text: str) -> str:
    """The lines of `text` that are not start-up noise.

    The second line of the CPU-instructions notice ("To enable the
    following instructions: ...") goes with its first.
    """
    kept: list[str] = []
    after_noise = False
    for line in text.splitlines(keepends=True):
        if is_start_up_noise(line) or (after_noise and line.startswith("To enable the following instructions")):
            after_noise = True
            continue
        after_noise = False
        kept.append(line)
    return "".join(kept)


def import_tensorflow_quietly() -> None:
    """Imports Keras (and TensorFlow, its backend) and finds the devices, without the start-up noise.

    Captures descriptor 2 itself, where TensorFlow's C++ code writes, also
    when `sys.stderr` is something else (a notebook kernel's stream, which
    forwards descriptor 2 to the cell); the kept lines go to `sys.stderr`.
    Does nothing when Keras is already imported, or when descriptor 2 is
    not open (an embedding host). On another Keras backend only Keras is
    imported. An import error is raised after the captured lines are
    written back.
    """
    if "keras" in sys.modules:
        return
    descriptor = 2
    try:
        os.fstat(descriptor)
    except OSError:
        return
    sys.stderr.flush()
    saved = os.dup(descriptor)
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), descriptor)
        try:
            keras = import_keras()
            if keras.backend.backend() == "tensorflow":
                import tensorflow

                tensorflow.config.list_physical_devices()  # cuInit happens here
        finally:
            sys.stderr.flush()
            os.dup2(saved, descriptor)
            os.close(saved)
            captured.seek(0)
            sys.stderr.write(keep_lines(captured.read().decode("utf-8", "replace")))
            sys.stderr.flush()

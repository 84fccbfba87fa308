"""Files from strangers: the linter reads them as data and never runs, imports or extracts anything.

The hostile model is a real Keras model saved by Keras: a `Lambda` layer whose
marshalled code appends to a marker file, a custom layer and a custom
activation registered by a user module that appends to the same marker when
imported. A control proves the file is really hostile: Keras's own
`load_model(..., safe_mode=False)` runs the marshalled Lambda code. Then `stacked-keras
lint` reads the same files (and a Python file and a notebook that would do
the same if run) in a fresh process where the user module is importable, and
the marker stays absent, no user module, TensorFlow or Keras is imported.

Archives: a real deflate bomb (a few hundred kilobytes that inflate to
100 MiB), one that lies about its size, declared sizes beyond the total limit,
too many members, and members whose paths escape the archive. The default
limits of `stacked_keras.lint.from_config` refuse each one with an SK005
finding naming the file, and nothing is ever written to disk.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import struct
import subprocess
import sys
import warnings
import zipfile
from pathlib import Path

import pytest

import stacked_keras
from stacked_keras.lint import from_config

HOSTILE_MODULE = '''
"""A user module with a side effect on import: it leaves a mark."""
with open({marker!r}, "a") as _mark:
    _mark.write("module imported\\n")

import keras


@keras.saving.register_keras_serializable(package="sk_hostile")
class Doubler(keras.layers.Layer):
    def call(self, x):
        return x * 2


@keras.saving.register_keras_serializable(package="sk_hostile")
def hostile_tanh(x):
    return keras.ops.tanh(x)
'''

# What the Lambda layer runs; the marker path is a constant of its code object.
LAMBDA_SOURCE = "lambda x: (open({marker!r}, 'a').write('lambda ran\\n'), x)[1]"

HOSTILE_SOURCE = '''
import os
import sk_hostile_layers_{tag}
open({marker!r}, "a").write("source ran\\n")
os.system("echo shell ran >> {marker}")
__import__("sk_hostile_layers_{tag}")

import keras
from keras import layers

model = keras.Sequential([keras.Input((None, 3)), layers.LSTM(8), layers.LSTM(4)])
'''

HOSTILE_CELLS = [
    "!echo shell ran >> {marker}",
    "%run -i evil.py",
    "import sk_hostile_layers_{tag}\nopen({marker!r}, 'a').write('notebook ran\\n')",
    "import keras\nfrom keras import layers\n"
    "model = keras.Sequential([keras.Input((None, 3)), layers.GRU(8), layers.GRU(4)])",
]

# A user who trusts the file: imports the custom objects' module, then loads unsafely.
CONTROL_SCRIPT = """
import importlib, sys
import keras
importlib.import_module(sys.argv[2])
keras.config.enable_unsafe_deserialization()
keras.saving.load_model(sys.argv[1], safe_mode=False)
"""


def _environment(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", CUDA_VISIBLE_DEVICES="", **extra)
    return env


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """Hostile .keras / .h5 / .json files saved by Keras, a hostile .py and .ipynb."""
    keras = pytest.importorskip("keras")
    folder = tmp_path_factory.mktemp("hostile")
    tag = folder.name.replace("-", "_")  # a module name no other test imports
    module_name = f"sk_hostile_layers_{tag}"
    module_dir = folder / "user_code"
    module_dir.mkdir()
    marker = folder / "side_effects.log"
    (module_dir / f"{module_name}.py").write_text(HOSTILE_MODULE.format(marker=str(marker)))
    spec = importlib.util.spec_from_file_location(module_name, module_dir / f"{module_name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    model = keras.Sequential(
        [
            keras.Input((5, 3), name="x"),
            keras.layers.Lambda(eval(LAMBDA_SOURCE.format(marker=str(marker))), name="spy"),
            module.Doubler(name="doubler"),
            keras.layers.LSTM(4, return_sequences=True, activation=module.hostile_tanh, name="lstm_1"),
            keras.layers.LSTM(2, name="lstm_2"),
        ],
        name="hostile",
    )
    files = {"keras": folder / "hostile.keras", "h5": folder / "hostile.h5", "json": folder / "hostile.json"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(files["keras"])
        model.save(files["h5"])
    files["json"].write_text(model.to_json())
    files["py"] = folder / "hostile_source.py"
    files["py"].write_text(HOSTILE_SOURCE.format(marker=str(marker), tag=tag))
    files["ipynb"] = folder / "hostile.ipynb"
    files["ipynb"].write_text(json.dumps({
        "cells": [{"cell_type": "code", "source": cell.format(marker=str(marker), tag=tag), "metadata": {},
                   "outputs": [], "execution_count": None} for cell in HOSTILE_CELLS],
        "metadata": {"kernelspec": {"language": "python", "name": "python3"}}, "nbformat": 4,
        "nbformat_minor": 5,
    }))
    # Building ran the lambda and importing ran the module: start from a clean slate.
    marker.unlink(missing_ok=True)
    sys.modules.pop(module_name, None)
    return {"files": files, "marker": marker, "module_dir": module_dir, "module": module_name, "folder": folder}


def test_keras_archive_holds_marshalled_lambda_code_and_custom_objects(hostile):
    with zipfile.ZipFile(hostile["files"]["keras"]) as archive:
        config = archive.read("config.json").decode()
    assert '"__lambda__"' in config and '"code"' in config
    assert f'"module": "{hostile["module"]}"' in config
    assert "sk_hostile>Doubler" in config and "sk_hostile>hostile_tanh" in config


def test_keras_itself_runs_the_marshalled_lambda_when_loading_unsafely(hostile, tmp_path):
    # The control: the file is really hostile to a loader that trusts it. (Keras
    # 3.15 itself imports only keras* modules named in a file, so the user module
    # is imported here by the script, as a user registering custom objects would.)
    completed = subprocess.run(
        [sys.executable, "-c", CONTROL_SCRIPT, str(hostile["files"]["keras"]), hostile["module"]],
        capture_output=True, text=True, timeout=300, cwd=tmp_path,
        env=_environment(PYTHONPATH=os.pathsep.join([str(hostile["module_dir"]), os.environ.get("PYTHONPATH", "")])),
    )
    try:
        assert completed.returncode == 0, completed.stderr[-3000:]
        marks = hostile["marker"].read_text().splitlines()
        assert marks[0] == "module imported" and "lambda ran" in marks[1:]
    finally:
        hostile["marker"].unlink(missing_ok=True)


def test_lint_cli_reads_hostile_files_without_running_or_importing_anything(hostile, tmp_path):
    files = hostile["files"]
    paths = [str(files[kind]) for kind in ("keras", "h5", "json", "py", "ipynb")]
    env = _environment(PYTHONPATH=os.pathsep.join([str(hostile["module_dir"]), os.environ.get("PYTHONPATH", "")]))
    completed = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "stacked_keras", "lint", *paths],
        capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env,
    )
    # The source and the notebook break their stacks (SK101): linted, so exit status 1.
    assert completed.returncode == 1, completed.stdout + completed.stderr[-2000:]
    assert re.search(r"in 5 files \(\d+ models\)", completed.stdout), completed.stdout
    assert "SK00" not in completed.stdout
    assert f"{files['py']}:11:" in completed.stdout and "SK101" in completed.stdout
    imported = {line.rsplit("|", 1)[-1].strip() for line in completed.stderr.splitlines()
                if line.startswith("import time:")}
    assert "stacked_keras.lint.from_config" in imported  # the list is real
    assert hostile["module"] not in imported
    assert sorted(name for name in imported if name.split(".")[0] in ("tensorflow", "keras")) == []
    assert not hostile["marker"].exists()
    assert os.listdir(tmp_path) == []


def test_lint_api_reads_the_hostile_configs_as_data(hostile):
    report = stacked_keras.lint([str(hostile["files"][kind]) for kind in ("keras", "h5", "json")])
    assert report.inputs_read == 3 and report.models == 3
    # Read as data: the custom activation is known by name and keeps lstm_1 off cuDNN.
    assert [(f.code, f.layer) for f in report.findings] == [("SK202", "lstm_1")] * 3
    assert not hostile["marker"].exists()
    assert hostile["module"] not in sys.modules


# -- archives --------------------------------------------------------------------------------

VALID_CONFIG = json.dumps({"class_name": "Sequential", "config": {"name": "broken", "layers": [
    {"class_name": "LSTM", "config": {"name": "lstm_1", "units": 4}},
    {"class_name": "LSTM", "config": {"name": "lstm_2", "units": 2}},
]}})


def _patch_sizes(path: Path, sizes: dict[str, int]) -> None:
    """Rewrites the uncompressed sizes the central directory and local headers declare."""
    data = bytearray(path.read_bytes())
    for signature, name_offset, size_offset, name_length_offset in ((b"PK\x01\x02", 46, 24, 28),
                                                                    (b"PK\x03\x04", 30, 22, 26)):
        position = data.find(signature)
        while position != -1:
            length = struct.unpack_from("<H", data, position + name_length_offset)[0]
            name = bytes(data[position + name_offset: position + name_offset + length]).decode()
            if name in sizes:
                struct.pack_into("<I", data, position + size_offset, sizes[name])
            position = data.find(signature, position + 4)
    path.write_bytes(bytes(data))


def _deflate_bomb(path: Path, inflated: int) -> None:
    """A config.json of `inflated` bytes of spaces, then a real config: tiny once deflated."""
    chunk = b" " * 2**20
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        with archive.open("config.json", "w", force_zip64=True) as member:
            for _ in range(inflated // len(chunk)):
                member.write(chunk)
            member.write(VALID_CONFIG.encode())


def _only_finding(report, path, code):
    assert [f.code for f in report.findings] == [code], [f.to_dict() for f in report.findings]
    finding = report.findings[0]
    assert finding.path == str(path)
    assert "bug in stacked-keras" not in finding.message
    return finding.message


def test_deflate_bomb_is_refused_by_its_declared_size_without_inflating(tmp_path):
    path = tmp_path / "bomb.keras"
    _deflate_bomb(path, 100 * 2**20)
    assert path.stat().st_size < 2**20  # under a megabyte on disk...
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("config.json").file_size > from_config.MAX_CONFIG_BYTES  # ...100 MiB inflated
    message = _only_finding(stacked_keras.lint(str(path)), path, "SK005")
    assert "refused without reading it" in message


def test_deflate_bomb_lying_about_its_size_is_cut_short(tmp_path):
    path = tmp_path / "liar.keras"
    _deflate_bomb(path, 100 * 2**20)
    _patch_sizes(path, {"config.json": 1000})
    # Reading stops at the declared 1000 bytes; the checksum then fails: corrupt.
    message = _only_finding(stacked_keras.lint(str(path)), path, "SK005")
    assert "config.json cannot be read" in message


def test_archive_declaring_more_than_the_total_limit_is_refused(tmp_path):
    path = tmp_path / "oversized.keras"
    members = {f"assets/part{i}.bin": b"x" for i in range(5)}
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", VALID_CONFIG)
        for name, data in members.items():
            archive.writestr(name, data)
    _patch_sizes(path, {name: 0xFFFFFFF0 for name in members})  # 5 x 4 GiB declared > 16 GiB
    message = _only_finding(stacked_keras.lint(str(path)), path, "SK005")
    assert "over the limit" in message and "zip bomb" in message


def test_archive_with_more_members_than_the_limit_is_refused(tmp_path):
    path = tmp_path / "crowded.keras"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", VALID_CONFIG)
        for index in range(from_config.MAX_ARCHIVE_MEMBERS):
            archive.writestr(f"assets/{index}", b"")
    message = _only_finding(stacked_keras.lint(str(path)), path, "SK005")
    assert f"{from_config.MAX_ARCHIVE_MEMBERS + 1} members" in message


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_paths_inside_archives_are_never_extracted(tmp_path, monkeypatch):
    escape_target = tmp_path / "escaped.txt"
    path = tmp_path / "archive" / "model.keras"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("config.json", VALID_CONFIG)
        archive.writestr("../escaped.txt", b"written outside the archive")
        archive.writestr(str(escape_target), b"written to an absolute path")
        archive.writestr("assets/../../../escaped.txt", b"written outside the archive")
        link = zipfile.ZipInfo("assets/link")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, str(escape_target))
    workdir = tmp_path / "workdir"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    before = _tree(tmp_path)

    report = stacked_keras.lint(str(path))

    # The config inside was read (its broken stack found), and nothing was written anywhere.
    assert [f.code for f in report.findings] == ["SK101"]
    assert _tree(tmp_path) == before
    assert not escape_target.exists()


# -- files that are not files: devices, pipes, giants ----------------------------------------

LINT_UNDER_A_MEMORY_LIMIT = """
import json, resource, sys
resource.setrlimit(resource.RLIMIT_AS, (2 * 2**30, 2 * 2**30))
import stacked_keras
report = stacked_keras.lint(sys.argv[1:])
print(json.dumps([f.to_dict() for f in report.findings]))
"""


def _lint_in_a_bounded_process(paths, timeout):
    completed = subprocess.run(
        [sys.executable, "-c", LINT_UNDER_A_MEMORY_LIMIT, *map(str, paths)],
        capture_output=True, text=True, timeout=timeout, env=_environment(),
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="needs /dev/zero")
def test_symlinks_to_endless_devices_are_refused_without_reading_them(tmp_path):
    paths = []
    for name in ("zero.py", "zero.ipynb", "zero.keras"):
        (tmp_path / name).symlink_to("/dev/zero")
        paths.append(tmp_path / name)
    findings = _lint_in_a_bounded_process(paths, timeout=120)
    assert sorted(f["path"] for f in findings) == sorted(map(str, paths))
    for finding in findings:
        assert finding["code"] == "SK001"
        assert "bug in stacked-keras" not in finding["message"]


def test_giant_source_file_is_refused_by_a_size_limit(tmp_path):
    giant = tmp_path / "generated_weights.py"
    with open(giant, "wb") as handle:  # sparse: no disk space used
        handle.truncate(3 * 2**30)
    findings = _lint_in_a_bounded_process([giant], timeout=120)
    assert [f["code"] for f in findings] == ["SK001"]
    assert "bug in stacked-keras" not in findings[0]["message"]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
def test_named_pipe_is_refused_without_blocking(tmp_path):
    pipe = tmp_path / "model.py"
    os.mkfifo(pipe)
    findings = _lint_in_a_bounded_process([pipe], timeout=10)
    assert [f["code"] for f in findings] == ["SK001"]

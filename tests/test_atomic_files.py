"""The one atomic-write contract both exports share (stacked_keras.atomic_files)."""

from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from stacked_keras.atomic_files import check_export_flags, write_file_atomically


def test_file_is_written_verified_then_moved_into_place(tmp_path):
    seen = []

    def write(staging):
        staging.write_bytes(b"model")
        seen.append((staging.name, staging.read_bytes(), (tmp_path / "m.onnx").exists()))

    target = write_file_atomically(tmp_path / "m.onnx", write)
    assert target.read_bytes() == b"model"
    assert seen[0][0].startswith(".m.onnx.tmp-") and seen[0][1:] == (b"model", False)
    assert os.listdir(tmp_path) == ["m.onnx"]


def test_a_file_that_appears_while_writing_is_never_replaced_without_overwrite(tmp_path):
    target = tmp_path / "m.onnx"

    def write_while_someone_else_creates_the_target(staging):
        staging.write_bytes(b"mine")
        target.write_bytes(b"theirs")

    with pytest.raises(FileExistsError, match="overwrite=True"):
        write_file_atomically(target, write_while_someone_else_creates_the_target)
    assert target.read_bytes() == b"theirs"
    assert os.listdir(tmp_path) == ["m.onnx"]


def test_a_failed_check_or_full_disk_keeps_the_previous_file_and_no_temporary(tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous")

    def disk_full(staging):
        staging.write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        write_file_atomically(target, disk_full, overwrite=True)
    assert target.read_bytes() == b"previous"
    assert os.listdir(tmp_path) == ["m.onnx"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("yes", True, 1e-5), "overwrite must be True or False, got 'yes'"),
        ((False, 1, 1e-5), "verify must be True or False, got 1"),
        ((False, True, float("nan")), "atol must be a non-negative number, got nan"),
        ((False, True, True), "atol must be a non-negative number, got True"),
    ],
)
def test_export_flags_are_checked_by_name(args, message):
    with pytest.raises(ValueError, match=message):
        check_export_flags(*args)


def test_module_imports_neither_tensorflow_nor_keras():
    script = (
        "import sys, stacked_keras.atomic_files\n"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

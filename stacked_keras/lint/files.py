"""The one file reader of the linter: size limit, regular files only, encodings.

Every front-end and fixer that reads a user's `.py` or `.ipynb` file reads it
here, so the same limits hold everywhere:

- only a regular file is read: a named pipe, a device or a directory called
  `model.py` is refused at once, never opened for a blocking read;
- a file over `MAX_SOURCE_BYTES` is refused without being read;
- the bytes are UTF-8 (a BOM allowed) or, for `.py` files, the encoding a
  PEP 263 coding cookie names.

The contract: every failure is an `UnreadableInput` with code SK001 whose
message names the file, the problem and what to do; no `OSError` or
`UnicodeDecodeError` escapes.

Example:

>>> import os, tempfile
>>> with tempfile.TemporaryDirectory() as folder:
...     name = os.path.join(folder, "model.py")
...     with open(name, "wb") as handle:
...         _ = handle.write(b"import keras\\n")
...     read_text_file(name)
('import keras\\n', 'utf-8', False)
"""

from __future__ import annotations

import io
import os
import stat
import tokenize

from stacked_keras.lint.findings import UnreadableInput

__all__ = ["MAX_SOURCE_BYTES", "read_regular_file", "decode_source_bytes", "read_text_file"]

# Larger .py/.ipynb files are refused unread: model code is never this big, and
# reading a generated multi-gigabyte file would only exhaust memory.
MAX_SOURCE_BYTES = 64 * 2**20


def _too_large(name: str, size: int) -> str:
    return (
        f"{name} is {size:,} bytes, over the {MAX_SOURCE_BYTES:,}-byte limit for source files; "
        "it was not read (exclude it, or lint the module that builds the model)"
    )


def read_regular_file(name: str) -> bytes:
    """The bytes of a regular file, read without ever blocking on a pipe or a device.

    The file is opened non-blocking and checked with `fstat` before it is
    read, so a named pipe or a device called `model.py` is refused at once;
    a file over `MAX_SOURCE_BYTES` is refused without being read.

    Raises:
        UnreadableInput: SK001 when the file cannot be opened or read, or is
            not a regular file, or is larger than `MAX_SOURCE_BYTES`.
    """
    try:
        descriptor = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as error:
        raise UnreadableInput("SK001", f"{name} cannot be read: {error.strerror or error}") from None
    try:
        with os.fdopen(descriptor, "rb") as handle:
            status = os.fstat(handle.fileno())
            if not stat.S_ISREG(status.st_mode):
                raise UnreadableInput(
                    "SK001", f"{name} is not a regular file (a pipe, a device or a directory); lint files only")
            if status.st_size > MAX_SOURCE_BYTES:
                raise UnreadableInput("SK001", _too_large(name, status.st_size))
            data = handle.read(MAX_SOURCE_BYTES + 1)  # bounded, should the file grow meanwhile
            if len(data) > MAX_SOURCE_BYTES:
                raise UnreadableInput("SK001", _too_large(name, len(data)))
            return data
    except OSError as error:
        raise UnreadableInput("SK001", f"{name} cannot be read: {error.strerror or error}") from None


def decode_source_bytes(data: bytes, path: str) -> tuple[str, str, bool]:
    """Decodes a source file: UTF-8 (BOM allowed), or the encoding its coding cookie names.

    Newlines are kept as they are in the file.

    Args:
        data: the file's bytes.
        path: the file's name, for the message and to tell `.py` files (which
            may declare a PEP 263 coding cookie) from notebooks.

    Returns:
        `(text, encoding, had_bom)`: the text without the BOM, the codec that
        decoded it, and whether the file started with a UTF-8 BOM.

    Raises:
        UnreadableInput: SK001 when the bytes do not decode.
    """
    had_bom = data.startswith(b"\xef\xbb\xbf")
    if had_bom:
        data = data[3:]
    try:
        return data.decode("utf-8"), "utf-8", had_bom
    except UnicodeDecodeError as error:
        if not had_bom and path.lower().endswith((".py", ".pyw")):
            try:
                encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
                if encoding not in ("utf-8", "utf-8-sig"):
                    return data.decode(encoding), encoding, False
            except (SyntaxError, LookupError, UnicodeDecodeError):
                pass
        raise UnreadableInput(
            "SK001",
            f"{path} is not valid UTF-8 (byte {error.start}: {error.reason}); save it as UTF-8",
        ) from None


def read_text_file(name: str) -> tuple[str, str, bool]:
    """Reads and decodes a source file: `read_regular_file`, then `decode_source_bytes`.

    Args:
        name: the file, reported back as given.

    Returns:
        `(text, encoding, had_bom)` as `decode_source_bytes` gives them.

    Raises:
        UnreadableInput: SK001 when the file cannot be read, is not a regular
            file, is over `MAX_SOURCE_BYTES`, or does not decode.
    """
    return decode_source_bytes(read_regular_file(name), name)

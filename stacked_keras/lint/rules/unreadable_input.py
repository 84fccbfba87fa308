"""SK001-SK005: the input could not be read.

These codes have no check: the front-ends raise `UnreadableInput` and
`input_finding` turns it into the finding. Their pages sit here, the codes
and their fix sentences in `codes.py`.
"""

from __future__ import annotations

__all__ = ["PAGES"]

_SK001_PAGE = """\
## What it does
Reports a file the linter cannot open or decode: a path that does not exist,
an I/O error, a source file that is not UTF-8, a file of a kind the linter does
not read, or a directory with nothing to lint in it. The other files given are
still linted.

## Why is this bad?
Nothing in that file was checked, so a broken stack in it would go unnoticed.

## Example
```text
$ stacked-keras lint models/missing.py notes.txt
models/missing.py:1:1: SK001 the file does not exist
```

## Use instead
```text
$ stacked-keras lint models/          # .py, .ipynb, .keras, .h5, .hdf5, .json
```
Save source files as UTF-8 and point the linter at files it reads (`.py`,
`.ipynb`, `.keras`, `.h5`, `.hdf5`, a Keras config `.json`) or at a directory
holding some.
"""

_SK002_PAGE = """\
## What it does
Reports Python source, or a notebook code cell, that does not parse. The
finding points at the line and column where the parser stopped.

## Why is this bad?
The linter reads source through Python's `ast` module without running it; a
file that does not parse cannot be read, so none of its models were checked.

## Example
```python
import keras

model = keras.Sequential([
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32)
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
Run `python -m py_compile FILE` to see the same error, fix it and lint again.
"""

_SK003_PAGE = """\
## What it does
Reports a `.ipynb` file that is not a notebook: broken JSON, or JSON without
the notebook's `cells` list.

## Why is this bad?
The linter reads a notebook's code cells as one program; without cells there
is nothing it can read, so none of its models were checked.

## Example
```json
{"metadata": {}, "nbformat": 4, "nbformat_minor": 5
```

## Use instead
```json
{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
```
Open the notebook in Jupyter and save it again (that repairs most damage), or
restore it from version control.
"""

_SK004_PAGE = """\
## What it does
Reports a model config that cannot be read: broken JSON, JSON that is not a
Keras model config (no `class_name`/`config`, no `layers`), layers that are not
objects, or a functional graph whose inbound nodes name unknown layers or form
a cycle.

## Why is this bad?
The linter reads configs as data, never deserializing them; a config it cannot
understand was not checked.

## Example
```json
{"class_name": "Sequential", "config": {"name": "model"}}
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
with open("model.json", "w") as f:
    f.write(model.to_json())
```
Lint the file written by `model.to_json()` or `model.save("model.keras")`, or
the live model itself with `stacked_keras.lint(model)`.
"""

_SK005_PAGE = """\
## What it does
Reports a `.keras` or `.h5` file the linter refuses to read: a corrupt or
truncated archive, one whose members exceed the size limits (a zip bomb is
never inflated), or an HDF5 file that holds no model config (weights only,
as written by `save_weights`).

## Why is this bad?
The model inside was not checked. The size limits protect you when you lint
files from strangers; nothing in a saved file is ever run or imported.

## Example
```python
model.save_weights("model.weights.h5")   # weights only: nothing to lint
```

## Use instead
```python
model.save("model.keras")                # the config travels with the weights
```
Save the whole model again, or lint the code that builds it instead.
"""

PAGES = {
    "SK001": _SK001_PAGE,
    "SK002": _SK002_PAGE,
    "SK003": _SK003_PAGE,
    "SK004": _SK004_PAGE,
    "SK005": _SK005_PAGE,
}

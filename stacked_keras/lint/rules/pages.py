"""The rules' documentation pages, as `stacked-keras rule CODE` prints them.

One page per rule code, with ruff's headings (What it does / Why is this
bad? / Example / Use instead). Plain strings: importing this module runs no
check. The long module is prose, not code.
"""

from __future__ import annotations

__all__ = ["PAGES"]

_SK001_DOC = """\
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

_SK002_DOC = """\
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

_SK003_DOC = """\
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

_SK004_DOC = """\
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

_SK005_DOC = """\
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

_SK006_DOC = """\
## What it does
Reports a model whose layers the linter can list but whose wiring it cannot
see: a subclassed `keras.Model`, linted live (`stacked_keras.lint(model)`,
`LintCallback`) or from its saved file or config. Such a model connects its
layers in `call()`, Python code that the linter never runs, so the rules that
follow the data from layer to layer (SK101, SK102, SK103, SK201, SK203) have
nothing to follow (SK202 still checks each layer's settings). The finding
is info; like every SK0xx code it is reported whatever `select` says, so
that a model that was not really checked never passes for a clean one, and
`ignore = ["SK006"]` silences it.

## Why is this bad?
A broken vertical connection inside `call()` (an LSTM returning its last
state into another LSTM) goes unreported, and a clean report would be
misleading.

## Example
```python
import keras

class Tagger(keras.Model):
    def __init__(self):
        super().__init__()
        self.first = keras.layers.LSTM(64)
        self.second = keras.layers.LSTM(32)

    def call(self, x):
        return self.second(self.first(x))
```

## Use instead
```text
$ stacked-keras lint tagger.py     # the source shows what call() does
```
Or build the model with the functional API, whose graph Keras records:
```python
import keras

inputs = keras.Input(shape=(20, 8))
x = keras.layers.LSTM(64, return_sequences=True)(inputs)
outputs = keras.layers.LSTM(32)(x)
model = keras.Model(inputs, outputs)
```
"""

_SK101_DOC = """\
## What it does
Checks for a recurrent layer that returns only its last state
(`return_sequences=False`, the Keras default) while its output feeds another
recurrent layer, directly or through layers that keep the rank (`Dropout`,
`BatchNormalization`, `LayerNormalization`, `Dense`, `Activation`, ...).

Not reported: a `RepeatVector` between the two layers (the deliberate bridge
of an encoder-decoder), a state handed over as `initial_state` (that is not the
layer's input), a vector merged (`Add`, ...) into a real sequence, and a
recurrent layer inside `TimeDistributed` feeding a recurrent layer outside it:
`TimeDistributed(LSTM(..))` runs over the inner axis (the words of each
sentence) and hands one vector per outer timestep (per sentence) up, which is
the sequence a hierarchical model's upper layer reads. Two recurrent layers
both inside `TimeDistributed` are stacked on the inner axis and checked like
any other stack. When
`return_sequences` is not known statically (a variable, a function argument),
the rule says nothing rather than guess: lint the live model or the saved file
to check it. The finding names the wrapper a Keras summary shows (for
`Bidirectional(LSTM(...))`) and points at the inner layer's call, which is the
one to change.

## Why is this bad?
In a stack, layer L reads the hidden state of layer L-1 at every timestep:
`H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L)`. A layer with
`return_sequences=False` hands up only its last state `H_T^{L-1}`, one vector,
so the vertical connection is broken. Keras refuses to build such a model
("expected ndim=3, found ndim=2") without saying which layer to change; when
the gap is patched with a reshape it builds silently and learns little (see
SK103).

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
`stacked-keras lint --fix` makes this change in source files and
`stacked_keras.fix(model)` in a live model; `stacked_keras.deep_lstm` builds
stacks that are right from the start.
"""

_SK102_DOC = """\
## What it does
Checks for a top recurrent layer that returns its whole sequence
(`return_sequences=True`) while a `Dense` head reads that sequence directly
(only rank-keeping layers in between, no `Flatten` or pooling) and gives a
model output: the model then predicts one output per timestep. That is right
for a tagger or a per-timestep forecaster and wrong for a classifier of
whole sequences, so how sure the rule is depends on what the model says.

With the training target known (a live model linted with data:
`stacked_keras.lint(model, target=y)` or `LintCallback(target=y)`), its shape
per sample is compared with what each reading needs, for the loss compiled:

| loss | one value per timestep | one value per sample |
| --- | --- | --- |
| `sparse_categorical_crossentropy` | `(T,)` or `(T, 1)` | `()` or `(1,)` |
| any other (categorical, binary, regression) | `(T, units)`, or `(T,)` for one unit | `(units,)` or `()` |

Only the per-timestep shape fits: no finding. Only the per-sample shape
fits: warning. Both or neither: info. Without a target, one `sigmoid` unit
trained with `binary_crossentropy` (a label per sequence, as in IMDB
sentiment) is a warning; anything else is info, since it may be a tagger
(`softmax` over several classes), a per-timestep regression (as in the
TensorFlow time-series tutorial) or a language model (as many units as an
`Embedding`'s vocabulary).

Not reported: `TimeDistributed` heads, a `Flatten` or pooling layer before the
head, decoders (a recurrent layer given an `initial_state`, or placed after a
`RepeatVector`, and the layers above them), and a recurrent layer inside
`TimeDistributed` (one output per outer timestep is what it is for).

## Why is this bad?
`Dense` applied to a 3D tensor acts on every timestep, so the model outputs
`(batch, timesteps, units)`. Given one target per sample, a cross-entropy
loss (binary, categorical or sparse categorical) stops `fit` with a shape
error ("Arguments `target` and `output` must have the same rank", or "...
the same shape") that does not name the layer to change; a regression loss
such as `mse` with a one-unit head broadcasts the per-sample target over the
timesteps and trains without complaint, and `predict` returns one
prediction per timestep.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32, return_sequences=True),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1, activation="sigmoid"),
])
model.compile(optimizer="adam", loss="binary_crossentropy")
```
When one prediction per timestep is what you want, say so with
`keras.layers.TimeDistributed(keras.layers.Dense(1))`, or lint with the
target (`LintCallback(target=y_train)`) so the rule can see it.
"""

_SK103_DOC = """\
## What it does
Checks for a recurrent layer's last-state vector (`return_sequences=False`)
turned into a sequence by a reshape (`Reshape`, `expand_dims`, `ops.reshape`)
and fed to another recurrent layer.

Not reported: a reshape at the model's input (flat features cut into
timesteps, like the rows of an MNIST image), a `RepeatVector` (the
encoder-decoder bridge copies the vector to every timestep on purpose), and a
vector that does not come from a recurrent layer (a latent code passed through
`Dense` and reshaped into a sequence is a generator's design, not a broken
connection between stacked layers).

## Why is this bad?
Keras builds the model without complaint, but the layer above no longer reads
the hidden states of the layer below timestep by timestep: it reads one fake
timestep (`expand_dims`) or the units of a single state cut into pieces as if
they were timesteps (`Reshape`). The vertical connection of the stack is gone
and the upper layer learns from noise.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64),
    keras.layers.Reshape((64, 1)),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
"""

_SK201_DOC = """\
## What it does
Checks for two or more `SimpleRNN` layers stacked in one chain (connected
directly or through rank-keeping layers, a `SimpleRNN` inside
`TimeDistributed` under one outside it included: the gradient crosses both).

## Why is this bad?
A SimpleRNN multiplies its gradient by the same recurrent matrix at every
timestep, so gradients vanish or explode over long sequences; stacking more
of them makes it worse. Deep stacks are built from LSTM or GRU layers, whose
gates keep the gradient alive.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.SimpleRNN(64, return_sequences=True),
    keras.layers.SimpleRNN(32),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
"""

_SK202_DOC = """\
## What it does
Checks for `LSTM` and `GRU` layers whose settings keep them off cuDNN's fused
kernel (Keras's `cudnn_ok` conditions): an `activation` other than `tanh`, a
`recurrent_activation` other than `sigmoid`, `unroll=True`, `use_bias=False`,
`recurrent_dropout > 0`, and for GRU `reset_after=False`. It also reports
`RNN(LSTMCell(...))` and `RNN(GRUCell(...))`, which always run the generic
loop. Info by default; a warning when the layer sets `use_cudnn=True`, because
Keras then raises a `ValueError` when the layer runs. A layer with
`use_cudnn=False` chose the generic loop and is left alone, and settings not
known statically are not reported.

## Why is this bad?
On a GPU, Keras runs an eligible LSTM or GRU on the cuDNN kernel and any other
on its generic step-by-step loop, several times slower; a deep stack pays
that for every layer.

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True, recurrent_dropout=0.2),
    keras.layers.LSTM(32, activation="relu"),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True, dropout=0.2),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```
"""

_SK203_DOC = """\
## What it does
Checks for a chain of three or more stacked recurrent layers (a recurrent
layer inside `TimeDistributed` under one outside it counts as one level of a
hierarchical stack) in a model with no regularization anywhere: no `dropout` or `recurrent_dropout` above zero,
no dropout layer (`Dropout`, `SpatialDropout1D`, `GaussianDropout`,
`GaussianNoise`, ...), no `ActivityRegularization` and no kernel, recurrent,
bias or activity regularizer. A setting not known statically counts as
regularization, and so does nothing else: weight decay given to the optimizer
is not in the model, so the finding is only info.

## Why is this bad?
Each recurrent layer adds many parameters; a deep stack fits the training set
easily and, without dropout or regularization, overfits a small dataset
(high training accuracy, poor validation accuracy).

## Example
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(64, return_sequences=True),
    keras.layers.LSTM(32),
    keras.layers.Dense(1),
])
```

## Use instead
```python
import keras

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    keras.layers.LSTM(64, return_sequences=True, dropout=0.2),
    keras.layers.LSTM(64, return_sequences=True, dropout=0.2),
    keras.layers.LSTM(32, dropout=0.2),
    keras.layers.Dense(1),
])
```
"""


PAGES = {
    "SK001": _SK001_DOC,
    "SK002": _SK002_DOC,
    "SK003": _SK003_DOC,
    "SK004": _SK004_DOC,
    "SK005": _SK005_DOC,
    "SK006": _SK006_DOC,
    "SK101": _SK101_DOC,
    "SK102": _SK102_DOC,
    "SK103": _SK103_DOC,
    "SK201": _SK201_DOC,
    "SK202": _SK202_DOC,
    "SK203": _SK203_DOC,
}

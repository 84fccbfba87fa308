"""SK102 reads the training target from `fit` in the source: its shape, when the code shows it.

A top recurrent layer that returns its whole sequence into a plain `Dense`
head is only a hint (info) when nothing says what the model is trained on.
When the source builds the target with NumPy (or `to_categorical`,
`train_test_split`) and passes it to `fit`, a per-sample target makes the
finding a warning that names the `fit` line, and a per-timestep target
silences it. Targets whose shape the code does not show change nothing.
"""

from __future__ import annotations

import json
import textwrap

import pytest

from stacked_keras.lint import lint
from stacked_keras.lint.from_source import graphs_from_python

# A model whose top LSTM returns its sequence into Dense(1): one output per timestep.
SEQUENCE_MODEL = """
import numpy as np
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(20, 8)),
    layers.LSTM(32, return_sequences=True),
    layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
"""


def sk102(tmp_path, source: str, name: str = "train.py") -> list:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return [f for f in lint(str(path), select=["SK102"]).findings if f.code == "SK102"]


def fitted(target_lines: str, fit: str = "model.fit(x, y, epochs=2)") -> str:
    return SEQUENCE_MODEL + "x = np.random.rand(100, 20, 8)\nn = 100\n" + textwrap.dedent(target_lines) + fit + "\n"


def fit_line(source: str) -> int:
    lines = textwrap.dedent(source).splitlines()
    return next(i for i, line in enumerate(lines, 1) if ".fit(" in line)


# -- per-sample targets: a warning that says what was seen and where ----------------------------

PER_SAMPLE_TARGETS = {
    "literal vector": ("y = np.array([0.1, 0.5, 0.2, 0.9])\n", "()"),
    "literal column": ("y = np.array([[0.1], [0.5], [0.2]])\n", "(1,)"),
    "asarray": ("y = np.asarray([[1], [0]])\n", "(1,)"),
    "randint with a count": ("y = np.random.randint(0, 2, 100)\n", "()"),
    "randint with size": ("y = np.random.randint(0, 2, size=(n, 1))\n", "(1,)"),
    "rand": ("y = np.random.rand(n, 1)\n", "(1,)"),
    "random": ("y = np.random.random((n, 1))\n", "(1,)"),
    "normal": ("y = np.random.normal(size=(n, 1))\n", "(1,)"),
    "zeros": ("y = np.zeros((n, 1))\n", "(1,)"),
    "ones": ("y = np.ones(n)\n", "()"),
    "empty": ("y = np.empty((n, 1), dtype='float32')\n", "(1,)"),
    "full": ("y = np.full((n, 1), 0.5)\n", "(1,)"),
    "reshape -1": ("y = np.arange(100).reshape(-1, 1)\n", "(1,)"),
    "reshape tuple": ("y = np.random.rand(n).reshape((n, 1))\n", "(1,)"),
    "np.reshape": ("y = np.reshape(np.random.rand(n), (-1, 1))\n", "(1,)"),
    "expand_dims": ("y = np.expand_dims(np.random.rand(n), -1)\n", "(1,)"),
    "ellipsis None": ("y = np.random.rand(n)[..., None]\n", "(1,)"),
    "newaxis": ("y = np.random.rand(n)[:, np.newaxis]\n", "(1,)"),
    "slice of rows": ("data = np.random.rand(1000, 1)\ny = data[:800]\n", "(1,)"),
    "last timestep": ("series = np.random.rand(n, 21)\ny = series[:, -1]\n", "()"),
    "arithmetic": ("y = (np.random.rand(n, 1) - 0.5) * 2\n", "(1,)"),
    "astype": ("y = np.random.randint(0, 2, (n, 1)).astype('float32')\n", "(1,)"),
}


@pytest.mark.parametrize("target_lines, shape", PER_SAMPLE_TARGETS.values(), ids=PER_SAMPLE_TARGETS.keys())
def test_a_per_sample_target_given_to_fit_makes_sk102_a_warning(tmp_path, target_lines, shape):
    source = fitted(target_lines)
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "warning"
    assert f"the target given to fit (line {fit_line(source)}) has shape {shape} per sample" in finding.message
    assert "return_sequences=False on lstm" in finding.fix
    assert "per-timestep targets, shaped (20, 1) per sample" in finding.fix


def test_without_a_target_the_same_model_is_only_info(tmp_path):
    [finding] = sk102(tmp_path, SEQUENCE_MODEL)
    assert finding.severity == "info"
    assert "fit" not in finding.message


@pytest.mark.parametrize("fit", [
    "model.fit(x=x, y=y)",
    "model.fit(x, y, 32, 2)",
    "history = model.fit(x, y, batch_size=32, epochs=2, verbose=0)",
])
def test_the_target_is_read_positionally_and_by_keyword(tmp_path, fit):
    [finding] = sk102(tmp_path, fitted("y = np.zeros((n, 1))\n", fit))
    assert finding.severity == "warning" and "shape (1,) per sample" in finding.message


@pytest.mark.parametrize("spelling", [
    "from keras.utils import to_categorical\ny = to_categorical(labels, 3)\n",
    "y = keras.utils.to_categorical(labels, num_classes=3)\n",
    "import tensorflow as tf\ny = tf.keras.utils.to_categorical(labels, 3)\n",
    "from tensorflow.keras.utils import to_categorical\ny = to_categorical(labels.reshape(-1, 1), 3)\n",
])
def test_to_categorical_gives_one_row_of_classes_per_sample(tmp_path, spelling):
    source = SEQUENCE_MODEL.replace("layers.Dense(1)", 'layers.Dense(3, activation="softmax")').replace(
        'loss="mse"', 'loss="categorical_crossentropy"')
    source += "x = np.random.rand(100, 20, 8)\nlabels = np.random.randint(0, 3, 100)\n" + spelling
    source += "model.fit(x, y)\n"
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "warning"
    assert "has shape (3,) per sample" in finding.message
    assert "shaped (20, 3) per sample" in finding.fix


def test_train_test_split_passes_the_trailing_shape_through(tmp_path):
    source = fitted("""\
        from sklearn.model_selection import train_test_split
        y = np.random.randint(0, 2, size=(n, 1))
        x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.2, random_state=0)
        """, "model.fit(x_train, y_train, validation_data=(x_test, y_test))")
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "warning" and "shape (1,) per sample" in finding.message


def test_validation_data_alone_shows_the_target(tmp_path):
    source = fitted("""\
        import pandas as pd
        y = pd.read_csv("labels.csv")["label"].values
        x_val, y_val = np.random.rand(10, 20, 8), np.zeros((10, 1))
        """, "model.fit(x, y, epochs=2, validation_data=(x_val, y_val))")
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "warning" and "shape (1,) per sample" in finding.message


# -- per-timestep targets: no finding -------------------------------------------------------------

PER_TIMESTEP_TARGETS = {
    "(n, T, 1)": "y = np.random.rand(n, 20, 1)\n",
    "(n, T) for one unit": "y = np.zeros((n, 20))\n",
    "reshaped series": "y = np.arange(2000.0).reshape(-1, 20, 1)\n",
    "newaxis on a window": "y = np.random.rand(n, 20)[:, :, np.newaxis]\n",
    "split": ("from sklearn.model_selection import train_test_split\n"
              "x_train, x_test, y_train, y = train_test_split(x, np.ones((n, 20, 1)))\n"),
}


@pytest.mark.parametrize("target_lines", PER_TIMESTEP_TARGETS.values(), ids=PER_TIMESTEP_TARGETS.keys())
def test_a_per_timestep_target_silences_sk102(tmp_path, target_lines):
    assert sk102(tmp_path, fitted(target_lines)) == []


def test_sparse_labels_per_timestep_silence_a_tagger(tmp_path):
    source = SEQUENCE_MODEL.replace("layers.Dense(1)", 'layers.Dense(5, activation="softmax")').replace(
        'loss="mse"', 'loss="sparse_categorical_crossentropy"')
    source += "x = np.random.rand(64, 20, 8)\ny = np.random.randint(0, 5, size=(64, 20))\nmodel.fit(x, y)\n"
    assert sk102(tmp_path, source) == []


# -- targets whose shape the code does not show: today's behaviour --------------------------------

UNKNOWN_TARGETS = {
    "DataFrame column": 'import pandas as pd\ndf = pd.read_csv("data.csv")\ny = df["label"]\n',
    "DataFrame values": 'import pandas as pd\ny = pd.read_csv("data.csv")[["a", "b"]].values\n',
    "np.array of a DataFrame": 'import pandas as pd\ny = np.array(pd.read_csv("data.csv")["label"])\n',
    "labels read in a loop": ("labels = []\nfor line in open('labels.txt'):\n    labels.append(float(line))\n"
                              "y = np.array(labels)\n"),
    "loaded": 'y = np.load("y.npy")\n',
    "reshape of unknown data": 'y = np.load("y.npy").reshape(-1, 1)[:, 0]\n',
    "two ranks from two branches": ("import sys\nif sys.argv[1:]:\n    y = np.zeros((n, 1))\n"
                                    "else:\n    y = np.zeros((n, 20, 1))\n"),
}


@pytest.mark.parametrize("target_lines", UNKNOWN_TARGETS.values(), ids=UNKNOWN_TARGETS.keys())
def test_a_target_of_unknown_shape_keeps_the_info_finding(tmp_path, target_lines):
    [without] = sk102(tmp_path, SEQUENCE_MODEL, "without.py")
    [finding] = sk102(tmp_path, fitted(target_lines))
    assert (finding.severity, finding.message, finding.fix) == (without.severity, without.message, without.fix)


def test_fit_calls_that_disagree_on_the_rank_give_no_target(tmp_path):
    source = fitted("y = np.zeros((n, 1))\ny_seq = np.zeros((n, 20, 1))\nmodel.fit(x, y_seq)\n")
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "info"


def test_a_target_is_read_only_for_the_model_fitted(tmp_path):
    source = fitted("y = np.zeros((n, 1))\n", "other = keras.Sequential([layers.Dense(1)])\nother.fit(x, y)")
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "info"


# -- notebooks: shapes cross cells ----------------------------------------------------------------

def notebook(*cells: str) -> str:
    return json.dumps({
        "cells": [{"cell_type": "code", "metadata": {}, "source": textwrap.dedent(c), "outputs": [],
                   "execution_count": None} for c in cells],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })


def test_a_notebook_carries_the_target_shape_across_cells(tmp_path):
    text = notebook(
        "import numpy as np\nimport keras\n",
        "x = np.random.rand(64, 20, 3)\ny = np.random.rand(64, 1)\n",
        """\
        model = keras.Sequential([
            keras.Input((20, 3)),
            keras.layers.LSTM(32, return_sequences=True),
            keras.layers.Dense(1),
        ])
        model.compile(optimizer="adam", loss="mse")
        """,
        "print(model.summary())\nmodel.fit(x, y, epochs=1)\n",
    )
    [finding] = sk102(tmp_path, text, "train.ipynb")
    assert finding.severity == "warning" and finding.cell == 3
    assert "the target given to fit (cell 4, line 2) has shape (1,) per sample" in finding.message


def test_a_notebook_with_a_per_timestep_target_in_another_cell_is_clean(tmp_path):
    text = notebook(
        "import numpy as np\nimport keras\ny = np.zeros((64, 20, 1))\n",
        "model = keras.Sequential([keras.Input((20, 3)), keras.layers.LSTM(8, return_sequences=True),\n"
        "                          keras.layers.Dense(1)])\nmodel.compile(loss='mse')\n",
        "model.fit(np.zeros((64, 20, 3)), y)\n",
    )
    assert sk102(tmp_path, text, "train.ipynb") == []


# -- the graph field the rule reads -----------------------------------------------------------------

def test_the_source_front_end_sets_the_graph_target_and_where_it_was_seen():
    [graph] = graphs_from_python(textwrap.dedent(fitted("y = np.zeros((n, 3, 2))[:, -1]\n")), "t.py")
    assert graph.target_shape == (2,)
    assert graph.target_location.line == fit_line(fitted("")) + 1


def test_a_model_never_fitted_has_no_target():
    [graph] = graphs_from_python(textwrap.dedent(SEQUENCE_MODEL), "t.py")
    assert graph.target_shape is None and graph.target_location is None


# -- well-known tutorials, in their style: no warnings or errors -----------------------------------

TF_TIME_SERIES_TUTORIAL = """
import numpy as np
import pandas as pd
import tensorflow as tf

df = pd.read_csv("jena_climate_2009_2016.csv")
n = len(df)
train_df = df[0:int(n * 0.7)]
val_df = df[int(n * 0.7):int(n * 0.9)]
train_mean = train_df.mean()
train_std = train_df.std()
train_df = (train_df - train_mean) / train_std
val_df = (val_df - train_mean) / train_std


class WindowGenerator:
    def __init__(self, input_width, label_width, shift, train_df=train_df, val_df=val_df, label_columns=None):
        self.train_df = train_df
        self.val_df = val_df
        self.label_columns = label_columns
        self.column_indices = {name: i for i, name in enumerate(train_df.columns)}
        self.input_width = input_width
        self.label_width = label_width
        self.shift = shift
        self.total_window_size = input_width + shift
        self.input_slice = slice(0, input_width)
        self.input_indices = np.arange(self.total_window_size)[self.input_slice]
        self.label_start = self.total_window_size - self.label_width
        self.labels_slice = slice(self.label_start, None)

    def split_window(self, features):
        inputs = features[:, self.input_slice, :]
        labels = features[:, self.labels_slice, :]
        if self.label_columns is not None:
            labels = tf.stack([labels[:, :, self.column_indices[name]] for name in self.label_columns], axis=-1)
        inputs.set_shape([None, self.input_width, None])
        labels.set_shape([None, self.label_width, None])
        return inputs, labels

    def make_dataset(self, data):
        data = np.array(data, dtype=np.float32)
        ds = tf.keras.utils.timeseries_dataset_from_array(
            data=data, targets=None, sequence_length=self.total_window_size,
            sequence_stride=1, shuffle=True, batch_size=32)
        return ds.map(self.split_window)

    @property
    def train(self):
        return self.make_dataset(self.train_df)

    @property
    def val(self):
        return self.make_dataset(self.val_df)


MAX_EPOCHS = 20


def compile_and_fit(model, window, patience=2):
    early_stopping = tf.keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience, mode="min")
    model.compile(loss=tf.keras.losses.MeanSquaredError(), optimizer=tf.keras.optimizers.Adam(),
                  metrics=[tf.keras.metrics.MeanAbsoluteError()])
    history = model.fit(window.train, epochs=MAX_EPOCHS, validation_data=window.val,
                        callbacks=[early_stopping])
    return history


wide_window = WindowGenerator(input_width=24, label_width=24, shift=1, label_columns=["T (degC)"])
lstm_model = tf.keras.models.Sequential([
    tf.keras.layers.LSTM(32, return_sequences=True),
    tf.keras.layers.Dense(units=1),
])
history = compile_and_fit(lstm_model, wide_window)
"""

# Forecasting a whole window at every step, the targets built with NumPy (Hands-On ML, ch. 15 style).
HANDS_ON_ML_SEQUENCE_TO_SEQUENCE = """
import numpy as np
from tensorflow import keras


def generate_time_series(batch_size, n_steps):
    freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)
    return series[..., np.newaxis].astype(np.float32)


n_steps = 50
series = generate_time_series(10000, n_steps + 10)
X_train, X_valid = series[:7000, :n_steps], series[7000:9000, :n_steps]
Y = np.empty((10000, n_steps, 10))
for step_ahead in range(1, 10 + 1):
    Y[..., step_ahead - 1] = series[..., step_ahead:step_ahead + n_steps, 0]
Y_train, Y_valid = Y[:7000], Y[7000:9000]

model = keras.models.Sequential([
    keras.layers.LSTM(20, return_sequences=True, input_shape=[None, 1]),
    keras.layers.LSTM(20, return_sequences=True),
    keras.layers.Dense(10),
])
model.compile(loss="mse", optimizer="adam")
history = model.fit(X_train, Y_train, epochs=20, validation_data=(X_valid, Y_valid))

# forecasting the next value only: the last LSTM returns its last output
y_train = series[:7000, -1]
single = keras.models.Sequential([
    keras.layers.LSTM(20, return_sequences=True, input_shape=[None, 1]),
    keras.layers.LSTM(20),
    keras.layers.Dense(1),
])
single.compile(loss="mse", optimizer="adam")
single.fit(X_train, y_train, epochs=20)
"""

KERAS_TEXT_CLASSIFICATION = """
import numpy as np
import keras
from keras import layers

max_features = 20000
maxlen = 200
inputs = keras.Input(shape=(None,), dtype="int32")
x = layers.Embedding(max_features, 128)(inputs)
x = layers.Bidirectional(layers.LSTM(64, return_sequences=True))(x)
x = layers.Bidirectional(layers.LSTM(64))(x)
outputs = layers.Dense(1, activation="sigmoid")(x)
model = keras.Model(inputs, outputs)

(x_train, y_train), (x_val, y_val) = keras.datasets.imdb.load_data(num_words=max_features)
x_train = keras.utils.pad_sequences(x_train, maxlen=maxlen)
x_val = keras.utils.pad_sequences(x_val, maxlen=maxlen)
y_train = np.asarray(y_train).astype("float32")
model.compile("adam", "binary_crossentropy", metrics=["accuracy"])
model.fit(x_train, y_train, batch_size=32, epochs=2, validation_data=(x_val, y_val))

# the same with labels the code spells out: one per review, and the model gives one per review
texts = np.random.randint(1, max_features, size=(8, maxlen))
labels = np.array([1, 0, 0, 1, 1, 0, 1, 0])
model.fit(texts, labels, epochs=1)
"""

NUMPY_WINDOWED_FORECAST = """
import numpy as np
import keras

series = np.sin(np.arange(24 * 50 + 1) * 0.1).astype("float32")
x = series[:-1].reshape(-1, 24, 1)
y = series[1:].reshape(-1, 24, 1)
model = keras.Sequential([
    keras.Input(shape=(24, 1)),
    keras.layers.GRU(32, return_sequences=True),
    keras.layers.GRU(32, return_sequences=True),
    keras.layers.Dense(1),
])
model.compile(optimizer="adam", loss="mse")
model.fit(x, y, epochs=5, validation_split=0.2)
"""


@pytest.mark.parametrize("source", [
    TF_TIME_SERIES_TUTORIAL, HANDS_ON_ML_SEQUENCE_TO_SEQUENCE, KERAS_TEXT_CLASSIFICATION, NUMPY_WINDOWED_FORECAST,
], ids=["tf time series", "hands-on ml seq2seq", "keras text classification", "numpy windows"])
def test_tutorial_style_code_gives_no_warning_or_error(tmp_path, source):
    path = tmp_path / "tutorial.py"
    path.write_text(source, encoding="utf-8")
    loud = [f for f in lint(str(path)).findings if f.severity in ("warning", "error")]
    assert loud == []


def test_per_timestep_targets_silence_the_hands_on_ml_forecaster(tmp_path):
    assert sk102(tmp_path, HANDS_ON_ML_SEQUENCE_TO_SEQUENCE) == []
    assert sk102(tmp_path, NUMPY_WINDOWED_FORECAST) == []
    [graph, _] = graphs_from_python(HANDS_ON_ML_SEQUENCE_TO_SEQUENCE, "hands_on.py")
    assert graph.target_shape == (50, 10)


# -- Stack Overflow style: windows cut in a loop --------------------------------------------------

WINDOWS_CUT_IN_A_LOOP = """
import numpy as np
from tensorflow.keras.models import Sequential
from tensorflow.keras.layers import LSTM, Dense, Dropout

data = np.sin(np.arange(0, 100, 0.1)).reshape(-1, 1)
X, y = [], []
for i in range(60, 160):
    X.append(data[i - 60:i, 0])
    y.append(data[i, 0])
X, y = np.array(X), np.array(y)
X = np.reshape(X, (X.shape[0], X.shape[1], 1))
model = Sequential()
model.add(LSTM(units=50, return_sequences=True, input_shape=(X.shape[1], 1)))
model.add(Dropout(0.2))
model.add(LSTM(units=50, return_sequences=True))
model.add(Dense(units=1))
model.compile(optimizer='adam', loss='mean_squared_error')
model.fit(X, y, epochs=100, batch_size=32)
"""


def test_windows_cut_in_a_loop_give_the_timesteps_and_the_per_sample_target(tmp_path):
    [finding] = sk102(tmp_path, WINDOWS_CUT_IN_A_LOOP)
    assert finding.severity == "warning" and finding.layer == "lstm_1"
    assert "given to fit (line 19) has shape () per sample" in finding.message
    assert "shaped (60, 1) per sample" in finding.fix


def test_the_same_windows_with_one_target_per_timestep_are_clean(tmp_path):
    per_timestep = WINDOWS_CUT_IN_A_LOOP.replace("y.append(data[i, 0])", "y.append(data[i - 59:i + 1, 0])").replace(
        "model.fit(X, y,", "model.fit(X, y[..., None],")
    assert sk102(tmp_path, per_timestep) == []


def test_the_evaluator_gives_the_hooks_the_slices_of_a_tuple_index():
    import ast

    from stacked_keras.lint.pyeval import UNKNOWN, Evaluator, External, Hooks

    class Seen(Hooks):
        def __init__(self):
            self.indexes = []

        def name_missing(self, name):
            return External()

        def subscript(self, container, index, node):
            self.indexes.append(index)
            return super().subscript(container, index, node)

    hooks = Seen()
    Evaluator(hooks).run([ast.parse("i = 70\ndata[i - 60:i, 0]\ndata[:, unknown:]\n")])
    assert hooks.indexes[0] == (slice(10, 70, None), 0)
    assert hooks.indexes[1][0] == slice(None, None, None) and hooks.indexes[1][1] is UNKNOWN


def test_the_array_module_examples_run():
    import doctest

    from stacked_keras.lint import source_arrays

    failures, attempted = doctest.testmod(source_arrays, verbose=False)
    assert attempted >= 2 and failures == 0


@pytest.mark.parametrize("target_lines, shape", [
    ("y = np.stack([np.zeros(20), np.ones(20)] * 50)[..., None]\n", "(20, 1)"),
    ("y = np.concatenate([np.zeros((60, 1)), np.ones((40, 1))])\n", "(1,)"),
    ("y = np.vstack([np.zeros((60, 20, 1)), np.ones((40, 20, 1))])\n", "(20, 1)"),
], ids=["stack", "concatenate", "vstack"])
def test_stacked_and_concatenated_targets_keep_their_trailing_shape(tmp_path, target_lines, shape):
    [graph] = graphs_from_python(textwrap.dedent(fitted(target_lines)), "t.py")
    assert str(graph.target_shape) == shape


def test_with_a_sparse_loss_the_fix_asks_for_class_indices_per_timestep(tmp_path):
    source = SEQUENCE_MODEL.replace("layers.Dense(1)", 'layers.Dense(5, activation="softmax")').replace(
        'loss="mse"', 'loss="sparse_categorical_crossentropy"')
    source += "x = np.random.rand(64, 20, 8)\ny = np.random.randint(0, 5, size=(64,))\nmodel.fit(x, y)\n"
    [finding] = sk102(tmp_path, source)
    assert finding.severity == "warning" and "has shape () per sample" in finding.message
    assert "per-timestep targets, shaped (20,) of class indices per sample" in finding.fix

"""`RepeatVector(1)` between two recurrent layers fabricates a one-step time axis (SK103).

Like `Reshape((1, units))`, it hands the upper layer one fake timestep made of
the lower layer's last state. `RepeatVector(n)` with n > 1 is the autoencoder
and seq2seq bridge and stays allowed. Each front-end is checked on a real
Keras model: the source that builds it, the model live, and the `.keras`,
`.h5` and `to_json()` files Keras writes for it.
"""

import textwrap
import warnings

import pytest

keras = pytest.importorskip("keras")

from stacked_keras.lint import lint  # noqa: E402

SOURCE = """\
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=(12, 3)),
    layers.LSTM(16, name="encoder"),
    layers.RepeatVector({n}, name="repeat"),
    layers.LSTM(8, name="decoder"{decoder_sequences}),
    {head},
])
"""


def _source(n):
    """The model's source: a one-step RepeatVector into a per-sample head, or the n-step bridge."""
    if n == 1:
        return SOURCE.format(n=1, decoder_sequences="", head='layers.Dense(1, name="head")')
    return SOURCE.format(
        n=n, decoder_sequences=", return_sequences=True",
        head='layers.TimeDistributed(layers.Dense(3), name="head")',
    )


def _model(n):
    """The model the source above builds, built by Keras."""
    namespace = {}
    exec(compile(_source(n), "<model>", "exec"), namespace)  # the very code the source front-end reads
    return namespace["model"]


def _functional(n):
    inputs = keras.Input(shape=(12, 3))
    state = keras.layers.LSTM(16, name="encoder")(inputs)
    repeated = keras.layers.RepeatVector(n, name="repeat")(state)
    decoded = keras.layers.LSTM(8, name="decoder", return_sequences=n > 1)(repeated)
    return keras.Model(inputs, keras.layers.Dense(1, name="head")(decoded))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """For n = 1 and n = 5: the source file, the live model, and its .keras, .h5 and .json files."""
    folder = tmp_path_factory.mktemp("repeat_vector")
    made = {}
    for n in (1, 5):
        source = folder / f"repeat_{n}.py"
        source.write_text(_source(n))
        model = _model(n)
        model.compile(loss="mse")
        files = {"source": source, "live": model}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Keras's "legacy .h5 format" notice
            for suffix in ("keras", "h5"):
                path = folder / f"repeat_{n}.{suffix}"
                model.save(path)
                files[suffix] = path
        path = folder / f"repeat_{n}.json"
        path.write_text(model.to_json())
        files["json"] = path
        made[n] = files
    return made


FRONT_ENDS = ["source", "live", "keras", "h5", "json"]


def _sk1(report):
    return [(f.code, f.layer) for f in report.findings if f.code.startswith("SK1")]


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_repeat_vector_of_one_between_recurrent_layers_is_sk103(inputs, front_end):
    report = lint(inputs[1][front_end])
    assert _sk1(report) == [("SK103", "encoder")]
    finding = report.findings[0]
    assert "repeat turns that vector into a fabricated sequence for decoder" in finding.message
    assert finding.fix == "Set return_sequences=True on encoder and remove repeat."


@pytest.mark.parametrize("front_end", FRONT_ENDS)
def test_repeat_vector_bridge_of_several_steps_does_not_warn(inputs, front_end):
    report = lint(inputs[5][front_end])
    assert report.findings == []


@pytest.mark.parametrize("n, expected", [(1, [("SK103", "encoder")]), (5, [])])
def test_repeat_vector_in_a_functional_model_live_and_as_json(n, expected):
    model = _functional(n)
    assert _sk1(lint(model)) == expected
    assert _sk1(lint(model.to_json())) == expected


def test_repeat_vector_of_unknown_length_stays_quiet(tmp_path):
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent("""\
        import keras
        from keras import layers

        def build(steps):
            return keras.Sequential([
                keras.Input(shape=(12, 3)),
                layers.LSTM(16),
                layers.RepeatVector(steps),
                layers.LSTM(8),
                layers.Dense(1),
            ])
        """))
    assert _sk1(lint(path)) == []

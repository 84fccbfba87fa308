"""describe(model): the stack as a table in the seed's notation (U^L, W^L, B^L)."""

from __future__ import annotations

import warnings

import keras
import pytest

import stacked_keras
from stacked_keras.describe import LEGEND, StackDescription, describe

L = keras.layers


def seed_model():
    """The seed's example: 3 input features -> 3 units -> 2 units."""
    return keras.Sequential(
        [keras.Input((None, 3)), L.SimpleRNN(3, return_sequences=True, name="layer_1"), L.SimpleRNN(2, name="layer_2")],
        name="seed",
    )


def build(*args, **kwargs):
    from stacked_keras.builders import deep_rnn

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the builders' advice is not under test here
        return deep_rnn(*args, compile=False, **kwargs)


def shapes(description):
    return [(row["U"], row["W"], row["B"]) for row in description.rows]


def test_seed_example_shows_the_seeds_weight_shapes():
    description = describe(seed_model())
    assert isinstance(description, StackDescription)
    assert [row["L"] for row in description.rows] == [1, 2]
    assert [row["name"] for row in description.rows] == ["layer_1", "layer_2"]
    assert [row["cell"] for row in description.rows] == ["SimpleRNN", "SimpleRNN"]
    assert [row["units"] for row in description.rows] == [3, 2]
    assert [row["gates"] for row in description.rows] == [1, 1]
    # U^1 3x3 (input 3 -> 3 units), W^1 3x3, U^2 3x2 (3 units -> 2 units), W^2 2x2.
    assert shapes(description) == [("3x3", "3x3", "3"), ("3x2", "2x2", "2")]
    assert [row["params"] for row in description.rows] == [3 * 3 + 3 * 3 + 3, 3 * 2 + 2 * 2 + 2]


def test_lstm_and_gru_show_per_gate_shapes_and_gate_count():
    model = keras.Sequential(
        [
            keras.Input((5, 3)),
            L.LSTM(2, return_sequences=True),
            L.GRU(2, return_sequences=True),  # reset_after=True: two biases per gate
            L.GRU(4, reset_after=False, return_sequences=True),
            L.LSTM(3, use_bias=False),
        ]
    )
    rows = describe(model).rows
    assert [row["gates"] for row in rows] == [4, 3, 3, 4]
    assert shapes(describe(model)) == [
        ("4 x (3x2)", "4 x (2x2)", "4 x (2)"),
        ("3 x (2x2)", "3 x (2x2)", "3 x (2) + 3 x (2)"),
        ("3 x (2x4)", "3 x (4x4)", "3 x (4)"),
        ("4 x (4x3)", "4 x (3x3)", "none"),
    ]
    assert [row["input_dim"] for row in rows] == [3, 2, 2, 4]


def test_params_of_a_pure_recurrent_stack_sum_to_the_model_count():
    model = keras.Sequential(
        [
            keras.Input((None, 4)),
            L.Bidirectional(L.LSTM(3, return_sequences=True)),
            L.GRU(2, return_sequences=True),
            L.RNN([L.SimpleRNNCell(3), L.GRUCell(2, reset_after=False)]),
        ]
    )
    description = describe(model)
    assert description.recurrent_params == sum(row["params"] for row in description.rows)
    assert description.recurrent_params == model.count_params() == description.model_params
    assert description.rows[0]["params"] == 2 * 4 * (4 * 3 + 3 * 3 + 3)  # both directions


def test_return_sequences_column_follows_the_layers():
    assert [row["return_sequences"] for row in describe(build("lstm", [4, 3, 2], input_shape=(None, 3))).rows] == [
        True,
        True,
        False,
    ]
    sequence_output = build("gru", [3, 2], input_shape=(None, 3), output="sequence")
    assert [row["return_sequences"] for row in describe(sequence_output).rows] == [True, True]


def test_builder_model_rows_are_numbered_by_depth_and_look_inside_wrappers():
    model = build(
        ["lstm", "gru", "simple_rnn"],
        [4, 4, 2],
        input_shape=(None, 3),
        bidirectional=[False, True, False],
        layer_norm=True,
        head="binary",
    )
    description = describe(model)
    assert [(row["L"], row["name"], row["cell"]) for row in description.rows] == [
        (1, "lstm_1", "LSTM"),
        (2, "bi_gru_2", "GRU"),
        (3, "simple_rnn_3", "SimpleRNN"),
    ]
    assert [row["direction"] for row in description.rows] == ["forward", "bidirectional (concat)", "forward"]
    # The bidirectional concat doubles the width seen by layer 3: U^3 is 8x2.
    assert description.rows[2]["U"] == "8x2"
    assert description.recurrent_params < description.model_params  # layer norm and head


def test_rnn_over_stacked_cells_gives_one_row_per_cell():
    model = keras.Sequential([keras.Input((None, 3)), L.RNN([L.LSTMCell(2), L.SimpleRNNCell(3)], name="stacked")])
    rows = describe(model).rows
    assert [(row["name"], row["cell"], row["U"], row["return_sequences"]) for row in rows] == [
        ("stacked/cell_0", "LSTM", "4 x (3x2)", True),
        ("stacked/cell_1", "SimpleRNN", "2x3", False),
    ]


def test_go_backwards_layer_is_marked_backward():
    model = keras.Sequential([keras.Input((None, 3)), L.GRU(2, go_backwards=True)])
    assert describe(model).rows[0]["direction"] == "backward"


def test_text_table_has_title_rows_and_footer():
    text = str(describe(seed_model()))
    lines = text.splitlines()
    assert lines[0] == "Stack of model 'seed': input (None, None, 3), depth 2"
    assert "U^L (input)" in lines[2] and "W^L (recurrent)" in lines[2] and "return_sequences" in lines[2]
    assert lines[4].split() == ["1", "layer_1", "SimpleRNN", "forward", "3", "1", "3x3", "3x3", "3", "21", "True"]
    assert lines[5].split() == ["2", "layer_2", "SimpleRNN", "forward", "2", "1", "3x2", "2x2", "2", "12", "False"]
    assert "Recurrent params: 33 of 33 model params (100.0%)" in text
    assert all(line in lines for line in LEGEND)
    assert repr(describe(seed_model())) == text


def test_html_table_contains_the_rows():
    html = describe(seed_model())._repr_html_()
    assert html.startswith("<table") and html.endswith("</table>")
    assert html.count("<tr>") == 1 + 2 + 1  # header, two layers, footer
    assert "<td>layer_1</td>" in html and "<td>3x2</td>" in html and "<td>2x2</td>" in html
    assert "U<sup>L</sup> (input)" in html
    assert "&#x27;seed&#x27;" in html  # the title is escaped


def test_markdown_table_has_one_line_per_layer():
    markdown = describe(seed_model()).to_markdown()
    table = [line for line in markdown.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 2  # header, separator, two layers
    assert table[2] == "| 1 | layer\\_1 | SimpleRNN | forward | 3 | 1 | 3x3 | 3x3 | 3 | 21 | True |"
    assert "Recurrent params: 33 of 33" in markdown


def test_unbuilt_model_asks_for_an_input_shape():
    with pytest.raises(ValueError, match=r"not built.*keras\.Input.*model\.build"):
        describe(keras.Sequential([L.LSTM(2)]))


def test_model_without_recurrent_layers_is_refused():
    with pytest.raises(ValueError, match="no recurrent layer.*Dense"):
        describe(keras.Sequential([keras.Input((3,)), L.Dense(2)]))


def test_non_model_is_refused():
    with pytest.raises(ValueError, match="model must be a keras.Model, got LSTM"):
        describe(L.LSTM(2))


def test_package_describe_is_callable_even_after_importing_the_module():
    # This module imported `stacked_keras.describe` as a module above; the
    # package's `describe` must still describe.
    assert stacked_keras.describe(seed_model()).rows[1]["U"] == "3x2"


# The README's "Describe" example, verbatim, and the table it prints.
README_EXAMPLE = '''
import keras
from stacked_keras import describe

model = keras.Sequential(
    [
        keras.Input((None, 3)),
        keras.layers.SimpleRNN(3, return_sequences=True, name="rnn_1"),
        keras.layers.SimpleRNN(2, name="rnn_2"),
    ],
    name="seed",
)
print(describe(model))
'''

README_TABLE = """\
Stack of model 'seed': input (None, None, 3), depth 2
-  -----  ---------  ---------  -----  -----  -----------  ---------------  ----------  ------  ----------------
L  layer  cell       direction  units  gates  U^L (input)  W^L (recurrent)  B^L (bias)  params  return_sequences
-  -----  ---------  ---------  -----  -----  -----------  ---------------  ----------  ------  ----------------
1  rnn_1  SimpleRNN  forward    3      1      3x3          3x3              3           21      True
2  rnn_2  SimpleRNN  forward    2      1      3x2          2x2              2           12      False
-  -----  ---------  ---------  -----  -----  -----------  ---------------  ----------  ------  ----------------
Recurrent params: 33 of 33 model params (100.0%)
"""


def test_readme_example_prints_the_documented_table(capsys):
    exec(compile(README_EXAMPLE, "README.md", "exec"), {})
    printed = capsys.readouterr().out
    assert printed.startswith(README_TABLE)


def test_recurrent_layer_inside_time_distributed_gets_a_row_saying_so():
    model = keras.Sequential(
        [
            keras.Input((5, 10, 3)),
            L.TimeDistributed(L.LSTM(4, name="word_lstm"), name="per_sentence"),
            L.LSTM(2, name="sentence_lstm"),
            L.Dense(1),
        ],
        name="documents",
    )
    description = describe(model)
    assert [(row["L"], row["name"], row["cell"], row["U"], row["return_sequences"]) for row in description.rows] == [
        (1, "per_sentence", "LSTM", "4 x (3x4)", False),
        (2, "sentence_lstm", "LSTM", "4 x (4x2)", False),
    ]
    assert [row["direction"] for row in description.rows] == ["forward, per outer step", "forward"]
    assert [row["time_distributed"] for row in description.rows] == [True, False]
    assert description.rows[0]["params"] == 4 * (3 * 4 + 4 * 4 + 4)
    text = str(description)
    assert "TimeDistributed: the layer runs over the inner time axis" in text
    assert "TimeDistributed" not in str(describe(seed_model()))  # the note only when it applies


def test_bidirectional_inside_time_distributed_keeps_both_notes():
    model = keras.Sequential(
        [keras.Input((5, 10, 3)), L.TimeDistributed(L.Bidirectional(L.GRU(2)), name="per_sentence"), L.GRU(2)]
    )
    rows = describe(model).rows
    assert rows[0]["direction"] == "bidirectional (concat), per outer step"
    assert rows[1]["U"] == "3 x (4x2)"


# --- several stacks: an encoder-decoder and parallel branches ---------------


def test_seq2seq_is_described_as_two_stacks_each_numbered_from_one():
    from stacked_keras import zoo

    description = describe(zoo.build("seq2seq-attention"))
    assert [(row["stack"], row["L"], row["name"]) for row in description.rows] == [
        (1, 1, "encoder_lstm_1"),
        (2, 1, "decoder_lstm_1"),
        (1, 2, "encoder_lstm_2"),
        (2, 2, "decoder_lstm_2"),
    ]
    assert [(s["name"], s["depth"]) for s in description.stacks] == [("encoder", 2), ("decoder", 2)]
    assert description.depth == 2
    assert description.stacks[1]["header"] == (
        "Stack 2, decoder: L1 reads target_embedding; "
        "initial states from encoder L1 (encoder_lstm_1), encoder L2 (encoder_lstm_2)"
    )
    assert description.links == [
        "initial_state: encoder L1 (encoder_lstm_1) -> decoder L1 (decoder_lstm_1)",
        "initial_state: encoder L2 (encoder_lstm_2) -> decoder L2 (decoder_lstm_2)",
        "attention (attention): decoder L2 (decoder_lstm_2) attends over encoder L2 (encoder_lstm_2)",
    ]
    text = str(description)
    assert text.index("Stack 1, encoder") < text.index("encoder_lstm_2") < text.index("Stack 2, decoder")
    assert "Links between stacks:" in text and "2 stacks: encoder (depth 2), decoder (depth 2)" in text
    for rendered in (description.to_markdown(), description._repr_html_()):
        assert "Stack 2, decoder" in rendered.replace("\\_", "_")
        assert "attends over encoder L2" in rendered


def test_seq2seq_markdown_and_html_give_each_stack_its_own_rows_numbered_from_one():
    from stacked_keras import zoo

    description = describe(zoo.build("seq2seq-attention"))
    markdown = description.to_markdown().replace("\\_", "_")
    encoder, decoder = markdown.split("*Stack 2, decoder")
    encoder = encoder.split("*Stack 1, encoder")[1]
    decoder = decoder.split("Links between stacks")[0]
    assert "| 1 | encoder_lstm_1 |" in encoder and "| 2 | encoder_lstm_2 |" in encoder
    assert "| 1 | decoder_lstm_1 |" in decoder and "| 2 | decoder_lstm_2 |" in decoder
    assert "decoder_lstm" not in encoder and "| encoder_lstm" not in decoder
    html = description._repr_html_()
    order = [
        "Stack 1, encoder", "<td>1</td><td>encoder_lstm_1</td>", "<td>2</td><td>encoder_lstm_2</td>",
        "Stack 2, decoder", "<td>1</td><td>decoder_lstm_1</td>", "<td>2</td><td>decoder_lstm_2</td>",
        "initial_state: encoder L1 (encoder_lstm_1) -&gt; decoder L1 (decoder_lstm_1)",
    ]
    positions = [html.index(part) for part in order]
    assert positions == sorted(positions)


def test_parallel_branches_are_separate_stacks_and_the_join_names_both():
    inputs = keras.Input((6, 3))
    left = L.LSTM(4, return_sequences=True, name="left_lstm")(inputs)
    right = L.GRU(5, return_sequences=True, name="right_gru")(inputs)
    joined = L.Concatenate()([left, right])
    top = L.LSTM(2, name="top_lstm")(joined)
    description = describe(keras.Model(inputs, L.Dense(1)(top)))
    assert [(row["stack"], row["L"]) for row in description.rows] == [(1, 1), (2, 1), (3, 1)]
    assert description.stacks[2]["header"] == (
        "Stack 3, top: L1 reads left L1 (left_lstm), right L1 (right_gru)"
    )
    assert description.links == []


def test_one_stack_keeps_one_table_without_stack_headers():
    description = describe(seed_model())
    assert description.stacks == [] and description.links == []
    assert [row["stack"] for row in description.rows] == [1, 1]
    text = str(description)
    assert text.startswith("Stack of model 'seed': input (None, None, 3), depth 2\n-  ")
    assert "Stack 1," not in text and "Links between stacks" not in text

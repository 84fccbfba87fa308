"""The time x depth grid: stacked_keras.plot_stack."""

import keras
import pytest
from matplotlib.colors import to_hex
from matplotlib.patches import FancyArrowPatch

import stacked_keras
from stacked_keras.graph import UNKNOWN, LayerNode, ModelGraph
from stacked_keras.lint.report import Report
from stacked_keras.plot import BROKEN_COLOR, plot_stack


def broken_stack():
    """The seed's mistake: a middle LSTM returns only its last state (unbuilt)."""
    return keras.Sequential(
        [keras.layers.LSTM(8, name="lower"), keras.layers.LSTM(6, name="middle"),
         keras.layers.LSTM(4, return_sequences=True, name="upper"), keras.layers.Dense(1, name="head")],
        name="broken",
    )


@pytest.fixture(scope="module")
def correct_stack():
    return stacked_keras.deep_lstm([8, 6, 4], input_shape=(None, 3), head="regression")


def gids(figure, prefix):
    ax = figure.axes[0]
    return sorted(
        artist.get_gid() for artist in ax.patches if (artist.get_gid() or "").startswith(prefix)
    )


def texts(figure):
    return [text.get_text() for text in figure.axes[0].texts]


def red_dashed_arrows(figure):
    return [
        patch for patch in figure.axes[0].patches
        if isinstance(patch, FancyArrowPatch)
        and to_hex(patch.get_edgecolor()) == BROKEN_COLOR
        and patch.get_linestyle() == "--"
    ]


# --- the grid -------------------------------------------------------------------------


def test_one_cell_per_timestep_and_layer(correct_stack):
    figure = plot_stack(correct_stack, timesteps=5)
    cells = gids(figure, "cell:")
    assert len(cells) == 5 * 3
    assert "cell:lstm_1:t1" in cells and "cell:lstm_3:t5" in cells
    assert {"$H_{1}^{1}$", "$H_{5}^{3}$", "$x_{1}$", "$y_{5}$"} <= set(texts(figure))


def test_recurrence_arrows_join_consecutive_timesteps(correct_stack):
    figure = plot_stack(correct_stack, timesteps=4)
    assert gids(figure, "recurrence:lstm_2:") == [f"recurrence:lstm_2:t{t}" for t in (2, 3, 4)]


def test_intermediate_layers_send_every_timestep_up(correct_stack):
    figure = plot_stack(correct_stack, timesteps=4)
    assert gids(figure, "link:lstm_1:") == [f"link:lstm_1:t{t}" for t in (1, 2, 3, 4)]
    assert gids(figure, "link:input:") == [f"link:input:t{t}" for t in (1, 2, 3, 4)]


def test_units_are_written_beside_each_row(correct_stack):
    labels = texts(plot_stack(correct_stack))
    assert "lstm_1: 8 units\nreturn_sequences=True" in labels
    assert "lstm_3: 4 units\nreturn_sequences=False" in labels


def test_top_layer_returning_its_last_state_has_one_output(correct_stack):
    figure = plot_stack(correct_stack, timesteps=4)
    assert gids(figure, "output:") == ["output:t4"]
    assert "output: last state only" in texts(figure)


def test_top_layer_returning_sequences_has_an_output_per_timestep():
    tagger = stacked_keras.deep_gru([4, 4], input_shape=(None, 2), output="sequence")
    figure = plot_stack(tagger, timesteps=3)
    assert gids(figure, "output:") == ["output:t1", "output:t2", "output:t3"]


def test_bidirectional_layers_have_arrows_both_ways():
    model = stacked_keras.deep_lstm([4, 4], input_shape=(None, 2), bidirectional=[True, False])
    figure = plot_stack(model, timesteps=3)
    assert gids(figure, "recurrence-backward:bi_lstm_1:") == [
        "recurrence-backward:bi_lstm_1:t2",
        "recurrence-backward:bi_lstm_1:t3",
    ]
    assert gids(figure, "recurrence-backward:lstm_2:") == []
    assert "bi_lstm_1: 2 x 4 units (bidirectional)\nreturn_sequences=True" in texts(figure)


def test_a_known_input_length_shorter_than_timesteps_is_drawn_whole():
    model = stacked_keras.deep_gru([4, 4], input_shape=(2, 3))
    assert len(gids(plot_stack(model, timesteps=6), "cell:gru_1:")) == 2


# --- broken links -----------------------------------------------------------------------


def test_broken_link_is_drawn_red_and_labelled_sk101():
    figure = plot_stack(broken_stack(), timesteps=4)
    labels = texts(figure)
    assert labels.count("SK101") == 2  # lower -> middle and middle -> upper
    red = red_dashed_arrows(figure)
    assert sorted(patch.get_gid() for patch in red) == sorted(
        f"broken:{name}:t{t}" for name in ("lower", "middle") for t in (1, 2, 3)
    )
    # only the last state goes up, in black
    assert gids(figure, "link:lower:") == ["link:lower:t4"]
    assert "broken: SK101 at lower, SK101 at middle" in figure.axes[0].get_title()


def test_correct_model_has_no_red_link(correct_stack):
    figure = plot_stack(correct_stack, timesteps=4)
    assert red_dashed_arrows(figure) == []
    assert not any("SK1" in text for text in texts(figure))


def test_vector_reshaped_into_a_sequence_is_labelled_sk103():
    model = keras.Sequential(
        [keras.Input((10, 3)), keras.layers.LSTM(8, name="encoder"), keras.layers.Reshape((1, 8)),
         keras.layers.LSTM(4, name="reader")]
    )
    figure = plot_stack(model, timesteps=4)
    assert "SK103" in texts(figure)
    assert sorted(p.get_gid() for p in red_dashed_arrows(figure)) == [f"broken:encoder:t{t}" for t in (1, 2, 3)]


def test_repeat_vector_bridge_is_not_broken():
    model = keras.Sequential(
        [keras.Input((5, 2)), keras.layers.GRU(4, name="encoder"), keras.layers.RepeatVector(5),
         keras.layers.GRU(4, return_sequences=True, name="decoder")]
    )
    figure = plot_stack(model, timesteps=4)
    assert red_dashed_arrows(figure) == []
    assert gids(figure, "repeat:encoder:") == ["repeat:encoder:t1", "repeat:encoder:t2", "repeat:encoder:t3"]


def test_report_decides_which_links_are_red():
    model = broken_stack()
    report = stacked_keras.lint(model, select="SK101")
    assert len(red_dashed_arrows(plot_stack(model, report=report))) == 6
    # a report without findings draws no broken link, whatever the model
    assert red_dashed_arrows(plot_stack(model, report=Report([]))) == []


def test_graph_is_accepted_and_unknown_settings_drawn_as_unknown():
    graph = ModelGraph.chain(
        [
            LayerNode("lstm_a", "LSTM", {"units": 8, "return_sequences": UNKNOWN}),
            LayerNode("lstm_b", "LSTM", {"units": 4}),
        ],
        name="from_source",
    )
    figure = plot_stack(graph, timesteps=3)
    assert red_dashed_arrows(figure) == []  # rules never report an error on UNKNOWN
    assert "return_sequences unknown" in texts(figure)
    assert "lstm_a: 8 units\nreturn_sequences=?" in texts(figure)


# --- files and axes ---------------------------------------------------------------------


def test_png_file_is_written(tmp_path):
    path = tmp_path / "grid.png"
    plot_stack(broken_stack(), path=path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_svg_file_keeps_the_broken_link_ids(tmp_path):
    path = tmp_path / "grid.svg"
    plot_stack(broken_stack(), path=str(path))
    svg = path.read_text()
    assert svg.lstrip().startswith("<?xml")
    assert 'id="broken:lower:t1"' in svg
    assert 'id="code:lower"' in svg


def test_draws_into_given_axes():
    from stacked_keras.plot import new_figure

    figure = new_figure()
    ax = figure.add_subplot(1, 2, 2)
    assert plot_stack(broken_stack(), ax=ax) is figure
    assert any(text.get_text() == "SK101" for text in ax.texts)


# --- bad input ----------------------------------------------------------------------------


def test_report_alone_is_refused_with_what_to_pass():
    with pytest.raises(TypeError, match=r"pass the model it came from and the report as plot_stack\(model, report=report\)"):
        plot_stack(Report([]))


def test_other_objects_are_refused():
    with pytest.raises(TypeError, match="model_or_graph must be a keras.Model or a stacked_keras ModelGraph, got int"):
        plot_stack(3)


def test_report_must_be_a_lint_report(correct_stack):
    with pytest.raises(TypeError, match="report must be a stacked_keras lint Report"):
        plot_stack(correct_stack, report=["SK101"])


def test_model_without_recurrent_layers_is_refused():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)], name="flat")
    with pytest.raises(ValueError, match="model 'flat' has no recurrent layer to draw.*Dense"):
        plot_stack(model)


@pytest.mark.parametrize("timesteps", [0, 25, 2.0, True])
def test_timesteps_out_of_range_is_refused(correct_stack, timesteps):
    with pytest.raises(ValueError, match=rf"timesteps must be an integer from 1 to 24 .*got {timesteps!r}"):
        plot_stack(correct_stack, timesteps=timesteps)


def test_unknown_file_format_is_refused(correct_stack, tmp_path):
    with pytest.raises(ValueError, match=r"path must end in .png, .svg or .pdf .*grid.gif"):
        plot_stack(correct_stack, path=tmp_path / "grid.gif")


# --- residual links, layer norm, elision, bidirectional last state, seq2seq ---------


def text_gids(figure):
    return sorted(text.get_gid() for text in figure.axes[0].texts if text.get_gid())


def test_residual_links_and_layer_norm_are_drawn():
    model = stacked_keras.deep_lstm([8, 8, 8], input_shape=(None, 8), residual=True, layer_norm=True)
    figure = plot_stack(model, timesteps=3)
    assert gids(figure, "skip:") == ["skip:residual_1", "skip:residual_2"]
    assert gids(figure, "norm:") == ["norm:lstm_1", "norm:lstm_2"]
    assert "LayerNorm" in texts(figure)
    assert "3 stacked recurrent layers" in figure.axes[0].get_title()  # still one stack


def test_plain_stack_has_no_skip_link_or_norm(correct_stack):
    figure = plot_stack(correct_stack)
    assert gids(figure, "skip:") == [] and gids(figure, "norm:") == []


def test_columns_left_out_of_a_long_sequence_are_marked():
    model = stacked_keras.deep_lstm([6, 4], input_shape=(30, 3), head="regression")
    figure = plot_stack(model, timesteps=4)
    assert "elision" in text_gids(figure)
    assert "t = 30" in texts(figure) and "$H_{30}^{2}$" in texts(figure)
    assert "timesteps 4 to 29 not drawn" in texts(figure)
    assert gids(figure, "output:") == ["output:t30"]


def test_a_short_sequence_drawn_whole_has_no_elision(correct_stack):
    assert "elision" not in text_gids(plot_stack(correct_stack, timesteps=4))


def test_bidirectional_last_state_sends_up_both_halves():
    model = stacked_keras.deep_lstm([6, 4], input_shape=(None, 3), bidirectional=True)
    figure = plot_stack(model, timesteps=4)
    # the forward half ends at t = T, the backward half at t = 1
    assert "link:bi_lstm_2:output:t4" in gids(figure, "link:")
    assert gids(figure, "link-backward:") == ["link-backward:bi_lstm_2:output:t1"]


def test_seq2seq_draws_two_stacks_side_by_side_with_state_and_attention_links():
    from stacked_keras import zoo

    figure = plot_stack(zoo.build("seq2seq-attention"), timesteps=3)
    title = figure.axes[0].get_title()
    assert "2 stacks side by side" in title
    assert {"encoder", "decoder"} <= set(texts(figure))
    assert gids(figure, "state:") == [
        "state:encoder_lstm_1:decoder_lstm_1",
        "state:encoder_lstm_2:decoder_lstm_2",
    ]
    attention = gids(figure, "attention:")
    assert "attention:encoder_lstm_2:t1" in attention and "attention:decoder_lstm_2:t3" in attention
    encoder_cells = [p for p in figure.axes[0].patches if p.get_gid() == "cell:encoder_lstm_1:t1"]
    decoder_cells = [p for p in figure.axes[0].patches if p.get_gid() == "cell:decoder_lstm_1:t1"]
    assert encoder_cells[0].center[1] == decoder_cells[0].center[1] == 1  # both start at L = 1
    assert decoder_cells[0].center[0] > encoder_cells[0].center[0] + 3


def patch_with_gid(figure, gid):
    (patch,) = [p for p in figure.axes[0].patches if p.get_gid() == gid]
    return patch


def arrow_points(figure, gid):
    """The data coordinates an arrow passes through, its head included (first: where it starts)."""
    from matplotlib.path import Path

    path = patch_with_gid(figure, gid).get_path()
    return path.vertices[path.codes != Path.CLOSEPOLY] if path.codes is not None else path.vertices


def test_a_go_backwards_top_layer_returns_its_state_at_t1_and_says_so():
    model = keras.Sequential(
        [keras.Input((None, 3)), keras.layers.LSTM(6, return_sequences=True, name="fwd"),
         keras.layers.LSTM(4, go_backwards=True, name="back")]
    )
    figure = plot_stack(model, timesteps=4)
    assert gids(figure, "output:") == ["output:t1"]
    assert "back: 4 units, go_backwards\nreturn_sequences=False" in texts(figure)
    assert "output: last state only (t = 1)" in texts(figure)


def test_bidirectional_layer_returning_its_last_state_sends_up_both_halves_to_the_layer_above():
    model = keras.Sequential(
        [keras.Input((None, 3)), keras.layers.Bidirectional(keras.layers.LSTM(4), name="bi"),
         keras.layers.RepeatVector(4), keras.layers.LSTM(3, name="top")]
    )
    figure = plot_stack(model, timesteps=4)
    assert "link:bi:t4" in gids(figure, "link:")
    assert gids(figure, "link-backward:") == ["link-backward:bi:t1"]


def test_top_bidirectional_last_state_names_both_timesteps():
    model = stacked_keras.deep_lstm([6, 4], input_shape=(None, 3), bidirectional=True)
    assert "output: last states (forward t = 4,\nbackward t = 1)" in texts(plot_stack(model, timesteps=4))


def test_skip_link_leaves_from_above_the_norm_that_feeds_the_layer_it_bypasses():
    # residual_2 adds layer_norm_1's output (lstm_2's input) to lstm_2's output
    model = stacked_keras.deep_lstm([8, 8, 8], input_shape=(None, 8), residual=True, layer_norm=True)
    figure = plot_stack(model, timesteps=3)
    band = patch_with_gid(figure, "norm:lstm_1")
    assert arrow_points(figure, "skip:residual_2")[0, 1] >= band.get_y() + band.get_height()
    assert arrow_points(figure, "skip:residual_1")[0, 1] < 1  # from the input row


def test_seq2seq_encoder_has_no_outputs_of_its_own_and_attention_joins_the_decoder_output():
    from stacked_keras import zoo

    figure = plot_stack(zoo.build("seq2seq-attention"), timesteps=3)
    # the encoder's top sequence goes to attention only: the outputs are the decoder's
    outputs = [p for p in figure.axes[0].patches if (p.get_gid() or "").startswith("output:")]
    decoder_x = patch_with_gid(figure, "cell:decoder_lstm_2:t1").center[0]
    assert len(outputs) == 3 and all(p.get_x() > decoder_x - 1 for p in outputs)
    assert "output: every timestep, read by attention" in texts(figure)
    assert "attention" in texts(figure)  # the hub, named once (the layer is called attention too)
    for t in (1, 2, 3):
        tip = arrow_points(figure, f"attention:decoder_lstm_2:t{t}")[:, 1].min()
        assert 2 + 0.24 < tip < 3 - 0.15  # on the link from H_t^2 up to y_t, not into the cell


def test_seq2seq_encoder_labels_sit_left_so_the_hand_over_crosses_no_text():
    from stacked_keras import zoo

    figure = plot_stack(zoo.build("seq2seq-attention"), timesteps=3)
    encoder_x = patch_with_gid(figure, "cell:encoder_lstm_1:t1").center[0]
    (label,) = [t for t in figure.axes[0].texts if "encoder_lstm_1: 64 units" in t.get_text()]
    assert label.get_position()[0] < encoder_x and label.get_horizontalalignment() == "right"
    (decoder_label,) = [t for t in figure.axes[0].texts if "decoder_lstm_1: 64 units" in t.get_text()]
    assert decoder_label.get_horizontalalignment() == "left"


def test_one_hidden_timestep_is_named_alone():
    # Five timesteps drawn as t = 1, 2, 3, ..., 5: the note names timestep 4, not "timesteps 4 to 4".
    model = keras.Sequential([keras.Input((5, 3)), keras.layers.LSTM(4, return_sequences=True), keras.layers.LSTM(2)])
    figure = plot_stack(model)
    assert "timestep 4 not drawn" in texts(figure)
    assert "timesteps 4 to 4 not drawn" not in texts(figure)

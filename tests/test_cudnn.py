"""cuDNN eligibility, shared by the builders' warning and rule SK202."""

import pytest

from stacked_keras.cudnn import cudnn_blockers
from stacked_keras.graph import UNKNOWN


def test_default_lstm_and_gru_are_eligible():
    assert cudnn_blockers("LSTM", {}) == []
    assert cudnn_blockers("GRU", {}) == []


@pytest.mark.parametrize(
    "config, reason",
    [
        ({"recurrent_dropout": 0.2}, "recurrent_dropout=0.2"),
        ({"activation": "relu"}, "activation='relu'"),
        ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation='hard_sigmoid'"),
        ({"unroll": True}, "unroll=True"),
        ({"use_bias": False}, "use_bias=False"),
        ({"use_cudnn": False}, "use_cudnn=False"),
        ({"activation": {"class_name": "function", "config": "relu"}}, "activation='relu'"),
    ],
)
def test_each_blocking_setting_is_named(config, reason):
    (found,) = cudnn_blockers("LSTM", config)
    assert found.startswith(reason)


def test_gru_without_reset_after_is_blocked_but_lstm_ignores_the_key():
    assert cudnn_blockers("GRU", {"reset_after": False}) == ["reset_after=False (cuDNN needs True)"]
    assert cudnn_blockers("LSTM", {"reset_after": False}) == []


def test_unknown_values_and_other_cells_report_nothing():
    assert cudnn_blockers("LSTM", {"recurrent_dropout": UNKNOWN, "activation": UNKNOWN}) == []
    assert cudnn_blockers("SimpleRNN", {"unroll": True}) == []


@pytest.mark.parametrize("key, needed", [("activation", "'tanh'"), ("recurrent_activation", "'sigmoid'")])
@pytest.mark.parametrize("value", [None, "linear"])
def test_linear_activation_written_as_none_or_linear_is_blocked(key, value, needed):
    # Keras reads activation=None as the linear activation, which is not tanh.
    (found,) = cudnn_blockers("GRU", {key: value})
    assert found == f"{key}={value!r} (cuDNN needs {needed})"


def test_sk202_reports_activation_none():
    from stacked_keras.graph import LayerNode, ModelGraph
    from stacked_keras.lint.rules import check

    graph = ModelGraph.chain([LayerNode("lstm", "LSTM", {"units": 4, "activation": None})])
    (finding,) = check(graph, select=["SK202"])
    assert "activation=None (cuDNN needs 'tanh')" in finding.message
    assert finding.fix == "Set activation='tanh' on lstm, unless you need that setting."


def test_blockers_are_data_with_key_value_and_needed():
    from stacked_keras.cudnn import CudnnBlocker, cudnn_blocking_settings

    found = cudnn_blocking_settings("LSTM", {"recurrent_dropout": 0.25, "activation": "relu"})
    assert found == [CudnnBlocker("activation", "relu", "tanh"),
                     CudnnBlocker("recurrent_dropout", 0.25, 0)]
    assert [str(b) for b in found] == cudnn_blockers("LSTM", {"recurrent_dropout": 0.25, "activation": "relu"})
    (choice,) = cudnn_blocking_settings("GRU", {"use_cudnn": False})
    assert choice.key == "use_cudnn" and not choice.has_needed and str(choice) == "use_cudnn=False"


def test_rule_module_no_longer_parses_cudnn_sentences():
    import inspect

    from stacked_keras.lint import rules

    assert "cuDNN needs" not in inspect.getsource(rules._cudnn_fix)
    assert not hasattr(rules, "_CUDNN_REASON")

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

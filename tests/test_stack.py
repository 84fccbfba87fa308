"""The return_sequences rule, written once in stack.py."""

import pytest

from stacked_keras.stack import return_sequences_for


def test_intermediate_layers_return_sequences():
    assert return_sequences_for(3) == (True, True, False)


def test_single_layer_returns_last_state_by_default():
    assert return_sequences_for(1) == (False,)


def test_sequence_output_makes_the_top_layer_return_sequences():
    assert return_sequences_for(2, sequence_output=True) == (True, True)


def test_accepts_the_layers_themselves():
    assert return_sequences_for(["lstm_1", "lstm_2"]) == (True, False)


@pytest.mark.parametrize("bad", [0, [], -1])
def test_empty_stack_is_refused(bad):
    with pytest.raises(ValueError, match="at least one recurrent layer"):
        return_sequences_for(bad)


@pytest.mark.parametrize("bad", [True, 2.0, None])
def test_non_depth_is_refused_with_accepted_values(bad):
    with pytest.raises(ValueError, match="depth \\(int >= 1\\) or a sequence"):
        return_sequences_for(bad)

"""The local datasets: deterministic, well-formed, and the tasks they claim to be."""

import re
import socket
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from stacked_keras.zoo import datasets
from stacked_keras.zoo.datasets import (
    DIGITS_VOCABULARY,
    END_ID,
    NUMBER_WORDS_VOCABULARY,
    PHRASE_SENTIMENT_VOCABULARY,
    START_ID,
    TAGGING_TAGS,
    TAGGING_VOCABULARY,
    DatasetUnavailable,
    LocalDataset,
    Vocabulary,
    multi_frequency_series,
    number_in_words,
    number_translation,
    phrase_sentiment,
    tagging,
)

GENERATORS = {
    "phrase_sentiment": lambda seed: phrase_sentiment(200, seed=seed),
    "tagging": lambda seed: tagging(200, seed=seed),
    "multi_frequency_series": lambda seed: multi_frequency_series(200, 16, seed=seed),
    "number_translation": lambda seed: number_translation(200, seed=seed),
}


def _arrays(dataset):
    """Every array of a dataset, flattened out of the multi-input lists."""
    out = []
    for part in (dataset.x_train, dataset.y_train, dataset.x_val, dataset.y_val):
        out += list(part) if isinstance(part, list) else [part]
    return out


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_same_seed_gives_the_same_arrays(name):
    first, second = GENERATORS[name](3), GENERATORS[name](3)
    for a, b in zip(_arrays(first), _arrays(second)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", sorted(GENERATORS))
def test_different_seeds_give_different_arrays(name):
    first, second = GENERATORS[name](0), GENERATORS[name](1)
    assert any(
        a.shape != b.shape or not np.array_equal(a, b)
        for a, b in zip(_arrays(first), _arrays(second))
    )


def test_dataset_unpacks_like_keras_loaders():
    data = phrase_sentiment(50, seed=0, val_fraction=0.2)
    (x_train, y_train), (x_val, y_val) = data
    assert isinstance(data, LocalDataset)
    assert x_train.shape[0] == y_train.shape[0] == 40
    assert x_val.shape[0] == y_val.shape[0] == 10
    assert data[0][0] is data.x_train and len(data) == 2


def test_readme_datasets_example():
    (x_train, y_train), (x_val, y_val) = phrase_sentiment(2000, seed=0)
    # row 2 since the split by review: an earlier row repeats a validation review
    text = PHRASE_SENTIMENT_VOCABULARY.decode(x_train[2])
    assert text == "price is fine but speaker is excellent overall i am happy"
    assert y_train[2, 0] == 1.0


# ---------------------------------------------------------------- sentiment


def _label_by_the_rule(words):
    """The documented rule, written independently: overall clause, else majority."""
    if "overall" in words:
        clause = words[words.index("overall"):]
        return ("happy" in clause) != ("not" in clause)
    votes = 0
    phrase = []
    for word in words + ["and"]:
        if word in ("and", "but"):
            good = any(w in ("good", "great", "fine", "excellent") for w in phrase)
            votes += 1 if good != ("not" in phrase) else -1
            phrase = []
        else:
            phrase.append(word)
    return votes > 0


def test_phrase_sentiment_label_follows_overall_clause_else_phrase_majority():
    data = phrase_sentiment(600, seed=4)
    x = np.concatenate([data.x_train, data.x_val])
    y = np.concatenate([data.y_train, data.y_val])
    for row, label in zip(x, y):
        words = data.vocabulary.decode(row).split()
        assert bool(label[0]) == _label_by_the_rule(words), " ".join(words)


def test_phrase_sentiment_is_not_solvable_from_a_bag_of_words():
    data = phrase_sentiment(2000, seed=0)
    labels_by_bag = defaultdict(set)
    for row, label in zip(data.x_train, data.y_train):
        bag = tuple(np.bincount(row[row > 0], minlength=len(data.vocabulary)))
        labels_by_bag[bag].add(float(label[0]))
    # The same words, in another order or phrase, carry the opposite label.
    assert any(len(labels) == 2 for labels in labels_by_bag.values())


def test_phrase_sentiment_is_balanced_padded_at_the_end_and_uses_its_vocabulary():
    data = phrase_sentiment(1000, seed=0)
    x = data.x_train
    assert x.dtype == np.int32 and data.y_train.dtype == np.float32
    assert 0.4 < data.y_train.mean() < 0.6
    lengths = (x > 0).sum(axis=1)
    for row, length in zip(x, lengths):
        assert (row[:length] > 0).all() and (row[length:] == 0).all()
    assert x.max() < len(PHRASE_SENTIMENT_VOCABULARY)
    assert data.vocabulary is PHRASE_SENTIMENT_VOCABULARY and data.num_classes == 2


def test_phrase_sentiment_reproduces_the_seeds_review_shape():
    data = phrase_sentiment(300, seed=0)
    texts = [data.vocabulary.decode(row) for row in data.x_train]
    pattern = re.compile(r"^\w+ is (not )?\w+( (and|but) \w+ is (not )?\w+)*( overall i am (not )?(happy|unhappy))?$")
    assert all(pattern.match(text) for text in texts)
    assert any("overall" in text for text in texts) and any("overall" not in text for text in texts)


# ------------------------------------------------------------------ tagging


def test_tagging_has_one_tag_per_token_and_zero_on_padding():
    data = tagging(300, seed=0)
    assert data.x_train.shape == data.y_train.shape
    np.testing.assert_array_equal(data.x_train > 0, data.y_train > 0)
    assert data.num_classes == len(TAGGING_TAGS) == 6
    assert data.vocabulary is TAGGING_VOCABULARY and data.target_vocabulary is TAGGING_TAGS


def test_tagging_tags_follow_the_grammar():
    data = tagging(300, seed=2)
    clause = r"DET (ADJ )?NOUN VERB DET (ADJ )?NOUN"
    pattern = re.compile(rf"^{clause}( CONJ {clause})*$")
    for tags in data.y_train:
        assert pattern.match(TAGGING_TAGS.decode(tags))


def test_tagging_ambiguous_words_take_their_tag_from_the_context():
    data = tagging(1000, seed=0)
    tags_of = defaultdict(set)
    for words, tags in zip(data.x_train, data.y_train):
        for word, tag in zip(words, tags):
            tags_of[TAGGING_VOCABULARY.tokens[word]].add(TAGGING_TAGS.tokens[tag])
    assert tags_of["light"] == {"ADJ", "NOUN", "VERB"}
    assert tags_of["watch"] == {"NOUN", "VERB"}
    assert tags_of["dog"] == {"NOUN"}


# -------------------------------------------------------------- time series


def test_series_shapes_follow_timesteps_channels_and_horizon():
    data = multi_frequency_series(50, 12, seed=0, channels=3, horizon=4)
    assert data.x_train.shape == (40, 12, 3) and data.y_train.shape == (40, 4)
    assert data.x_train.dtype == np.float32 and data.num_classes == 4


def test_series_target_is_the_next_value_of_channel_0():
    short = multi_frequency_series(30, 10, seed=5, noise=0.0, horizon=1)
    longer = multi_frequency_series(30, 11, seed=5, noise=0.0, horizon=1)
    np.testing.assert_allclose(short.y_train[:, 0], longer.x_train[:, 10, 0], atol=1e-6)


def test_series_noise_is_added_on_top_of_the_sines():
    clean = multi_frequency_series(100, 16, seed=1, noise=0.0)
    noisy = multi_frequency_series(100, 16, seed=1, noise=0.1)
    difference = noisy.x_train - clean.x_train
    assert 0.07 < difference.std() < 0.13
    assert np.abs(clean.x_train).max() <= 1.0 + 1e-6  # amplitudes sum to 1


# ------------------------------------------------------- number translation


@pytest.mark.parametrize(
    "value, words",
    [
        (0, "zero"),
        (17, "seventeen"),
        (40, "forty"),
        (342, "three hundred forty two"),
        (2005, "two thousand five"),
        (100000, "one hundred thousand"),
    ],
)
def test_number_in_words(value, words):
    assert " ".join(number_in_words(value)) == words


def _words_to_number(words):
    values = {w: i for i, w in enumerate(datasets._ONES)}
    values.update({w: 10 * i for i, w in enumerate(datasets._TENS) if w})
    total = current = 0
    for word in words.split():
        if word == "hundred":
            current *= 100
        elif word == "thousand":
            total, current = (total + current) * 1000, 0
        else:
            current += values[word]
    return total + current


def test_number_translation_targets_are_the_digits_of_the_source_words():
    data = number_translation(300, seed=0, max_value=99999)
    source, decoder_inputs = data.x_train
    for words, target in zip(source, data.y_train):
        digits = DIGITS_VOCABULARY.decode(target).replace(" ", "")
        assert int(digits) == _words_to_number(NUMBER_WORDS_VOCABULARY.decode(words))


def test_number_translation_decoder_input_is_the_target_shifted_right_behind_start():
    data = number_translation(100, seed=0)
    _, decoder_inputs = data.x_train
    targets = data.y_train
    assert (decoder_inputs[:, 0] == START_ID).all()
    for inputs, target in zip(decoder_inputs, targets):
        length = int((target > 0).sum())
        assert target[length - 1] == END_ID
        np.testing.assert_array_equal(inputs[1:length], target[: length - 1])
        assert (inputs[length:] == 0).all() and (target[length:] == 0).all()


def test_number_translation_keeps_training_and_validation_numbers_apart():
    data = number_translation(500, seed=0)
    seen = {tuple(row) for row in data.x_train[0]}
    assert not seen & {tuple(row) for row in data.x_val[0]}


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "call, argument",
    [
        (lambda: phrase_sentiment(0), "n"),
        (lambda: phrase_sentiment(10, max_aspects=11), "max_aspects"),
        (lambda: phrase_sentiment(10, val_fraction=1.0), "val_fraction"),
        (lambda: tagging(10, ambiguity=-0.1), "ambiguity"),
        (lambda: multi_frequency_series(10, 0), "timesteps"),
        (lambda: multi_frequency_series(10, 8, noise=-1), "noise"),
        (lambda: multi_frequency_series(10, 8, horizon=0), "horizon"),
        (lambda: number_translation(10, max_value=10**6), "max_value"),
        (lambda: datasets.load_imdb(num_words=0), "num_words"),
    ],
)
def test_bad_arguments_name_the_argument_and_the_value(call, argument):
    with pytest.raises(ValueError, match=rf"^{argument} must be"):
        call()


def test_vocabulary_rejects_a_missing_pad_and_unknown_tokens():
    with pytest.raises(ValueError, match="tokens\\[0\\] must be '<pad>'"):
        Vocabulary(("a", "b"))
    with pytest.raises(KeyError, match="'zebra' is not in the vocabulary"):
        PHRASE_SENTIMENT_VOCABULARY.encode("audio is zebra")


# --------------------------------------------------------------------- IMDB


def _network_reachable() -> bool:
    try:
        socket.getaddrinfo("storage.googleapis.com", 443)
    except OSError:
        return False
    return True


def test_load_imdb_offline_raises_dataset_unavailable_pointing_to_the_local_task():
    if (Path.home() / ".keras" / "datasets" / "imdb.npz").exists():
        pytest.skip("IMDB is cached here: the offline path cannot be reached")
    if _network_reachable():
        pytest.skip("the network is reachable: the offline path cannot be reached")
    timeout_before = socket.getdefaulttimeout()
    with pytest.raises(DatasetUnavailable, match="IMDB could not be downloaded") as caught:
        datasets.load_imdb(num_words=1000, maxlen=20, timeout=5)
    assert isinstance(caught.value, OSError)
    assert "phrase_sentiment" in str(caught.value)
    assert socket.getdefaulttimeout() == timeout_before  # the timeout was put back


# ------------------------------------------------- splits by the underlying item


def _rows(part):
    """The rows of one side as hashable tuples (the source tokens for seq2seq)."""
    array = part[0] if isinstance(part, list) else part
    return [tuple(np.asarray(row).ravel().tolist()) for row in array]


def test_number_translation_with_repeated_numbers_keeps_every_validation_number_unseen():
    # n=2,000 draws 0-999 with replacement: before the split by number, 305 of
    # the 400 validation rows were numbers that also occur in training
    data = number_translation(2000, seed=0)
    seen = set(_rows(data.x_train))
    val = _rows(data.x_val)
    assert not seen & set(val)
    assert len(val) == 400 and len(_rows(data.x_train)) == 1600


def test_phrase_sentiment_keeps_every_validation_review_out_of_training():
    # one- and two-phrase reviews repeat at this size, so a row split would leak
    data = phrase_sentiment(3000, seed=0, max_aspects=2)
    train, val = _rows(data.x_train), _rows(data.x_val)
    assert len(train) != len(set(train))  # repeats exist, so the test can fail
    assert not set(train) & set(val)
    assert len(train) + len(val) == 3000 and len(val) == 600


def test_tagging_keeps_every_validation_sentence_out_of_training():
    data = tagging(3000, seed=0, max_clauses=1)
    train, val = _rows(data.x_train), _rows(data.x_val)
    assert len(train) != len(set(train))
    assert not set(train) & set(val)
    assert len(train) + len(val) == 3000


def test_multi_frequency_series_keeps_every_validation_series_out_of_training():
    data = multi_frequency_series(400, 16, seed=0)
    train = {row.tobytes() for row in data.x_train}
    assert not train & {row.tobytes() for row in data.x_val}
    assert len(data.x_val) == 80


def test_split_that_cannot_be_disjoint_names_the_problem():
    with pytest.raises(ValueError, match="same item"):
        datasets._split_by_item("demo", [7] * 10, 0.2)

"""Small datasets made locally, so the presets learn something real in seconds.

Nothing here downloads anything: every generator is plain NumPy with a fixed
`seed`, returns the same arrays for the same arguments, and takes well under a
second for a few thousand examples. Each task is built so that depth helps:

- `phrase_sentiment`: the seed's "audio is bad ... display is great ...
  overall i am happy". The label is composed word -> phrase -> sentence, so a
  bag of words cannot solve it perfectly but a stacked LSTM learns it.
- `tagging`: a tag per token that depends on the neighbouring words
  (ambiguous words such as "light" or "watch").
- `multi_frequency_series`: noisy sums of sines; the target is the next
  value(s) of the series.
- `number_translation`: number words to digits ("three hundred forty two" ->
  "3 4 2"), the toy translation task of the encoder-decoder.

Every split is by the underlying item (the number, the review's words, the
sentence, the series): all rows of one item lie on the same side, so the
validation figures are on items the model never saw in training.

Every generator returns a `LocalDataset`, which unpacks like Keras's own
loaders, `(x_train, y_train), (x_val, y_val) = phrase_sentiment(1000)`, and
also carries its vocabularies.

`load_imdb` is the real IMDB loader (through `keras.datasets.imdb`); it needs
the network or a cached copy and says so clearly when it has neither.

(Longer than 600 lines: the four generators share the vocabulary, padding and
the split by item, and each is documented with its task; splitting them apart
would scatter one small API over several modules.)
"""

from __future__ import annotations

import socket
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "PAD",
    "START",
    "END",
    "PAD_ID",
    "START_ID",
    "END_ID",
    "Vocabulary",
    "LocalDataset",
    "DatasetUnavailable",
    "phrase_sentiment",
    "tagging",
    "multi_frequency_series",
    "number_translation",
    "load_imdb",
    "number_in_words",
    "PHRASE_SENTIMENT_VOCABULARY",
    "TAGGING_VOCABULARY",
    "TAGGING_TAGS",
    "NUMBER_WORDS_VOCABULARY",
    "DIGITS_VOCABULARY",
]

PAD = "<pad>"
START = "<start>"
END = "<end>"
PAD_ID = 0
START_ID = 1
END_ID = 2


@dataclass(frozen=True)
class Vocabulary:
    """A fixed list of tokens, id 0 being the padding token.

    Token ids are positions in `tokens`. Id 0 is always `"<pad>"`, so
    `keras.layers.Embedding(..., mask_zero=True)` masks the padding.

    Args:
        tokens: the tokens, in id order; `tokens[0]` must be `"<pad>"`.

    Raises:
        ValueError: if `tokens[0]` is not `"<pad>"` or a token repeats.

    Example:

    >>> vocabulary = Vocabulary(("<pad>", "good", "bad"))
    >>> vocabulary.encode("bad good")
    [2, 1]
    >>> vocabulary.decode([2, 1, 0, 0])
    'bad good'
    """

    tokens: tuple[str, ...]
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        tokens = tuple(self.tokens)
        if not tokens or tokens[0] != PAD:
            raise ValueError(f"tokens[0] must be {PAD!r}, got {tokens[:1]!r}")
        index = {token: position for position, token in enumerate(tokens)}
        if len(index) != len(tokens):
            repeated = sorted({t for t in tokens if tokens.count(t) > 1})
            raise ValueError(f"tokens must be unique, got repeated {repeated}")
        object.__setattr__(self, "tokens", tokens)
        object.__setattr__(self, "_index", index)

    def __len__(self) -> int:
        return len(self.tokens)

    def __contains__(self, token: object) -> bool:
        return token in self._index

    def id_of(self, token: str) -> int:
        """Returns the id of one token.

        Raises:
            KeyError: if the token is not in the vocabulary; the message
                lists the accepted tokens.
        """
        try:
            return self._index[token]
        except KeyError:
            raise KeyError(
                f"token {token!r} is not in the vocabulary; accepted tokens: "
                f"{list(self.tokens)}"
            ) from None

    def encode(self, words: str | Iterable[str]) -> list[int]:
        """Turns words (a space-separated string or a list) into ids."""
        if isinstance(words, str):
            words = words.split()
        return [self.id_of(word) for word in words]

    def decode(self, ids: Iterable[int], *, stop_at_end: bool = True) -> str:
        """Turns ids back into space-separated words.

        Padding, `<start>` and `<end>` are left out; with `stop_at_end=True`
        (the default) nothing after the first `<end>` is read.
        """
        words = []
        for token_id in ids:
            token = self.tokens[int(token_id)]
            if token == END and stop_at_end:
                break
            if token not in (PAD, START, END):
                words.append(token)
        return " ".join(words)


@dataclass(frozen=True, eq=False)
class LocalDataset:
    """A generated dataset: train and validation arrays plus its vocabularies.

    It unpacks like the loaders in `keras.datasets`:
    `(x_train, y_train), (x_val, y_val) = dataset`.

    Args:
        name: the generator that made it (`"phrase_sentiment"`, ...).
        x_train: training inputs (an array, or a list of arrays for a model
            with several inputs).
        y_train: training targets.
        x_val: validation inputs, like `x_train`.
        y_val: validation targets.
        vocabulary: the input tokens, for token-id inputs; `None` for numeric
            series.
        target_vocabulary: the output tokens (tags or target words), when the
            targets are tokens; `None` otherwise.
        num_classes: the number of output classes (tags, target tokens,
            sentiment classes) or output values of a regression.
    """

    name: str
    x_train: Any
    y_train: np.ndarray
    x_val: Any
    y_val: np.ndarray
    vocabulary: Vocabulary | None = None
    target_vocabulary: Vocabulary | None = None
    num_classes: int | None = None

    @property
    def train(self) -> tuple[Any, np.ndarray]:
        """`(x_train, y_train)`."""
        return self.x_train, self.y_train

    @property
    def val(self) -> tuple[Any, np.ndarray]:
        """`(x_val, y_val)`."""
        return self.x_val, self.y_val

    def __iter__(self) -> Iterator[tuple[Any, np.ndarray]]:
        yield self.train
        yield self.val

    def __len__(self) -> int:
        return 2

    def __getitem__(self, position: int) -> tuple[Any, np.ndarray]:
        return (self.train, self.val)[position]


class DatasetUnavailable(OSError):
    """A real dataset could not be downloaded or read (no network, no cache)."""


def _check_count(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_fraction(name: str, value: Any, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value < high:
        raise ValueError(f"{name} must be a number in [{low}, {high}), got {value!r}")
    return float(value)


def _split(n: int, val_fraction: float) -> int:
    """The number of training examples; the rest (at least one) is validation."""
    n_val = max(1, int(round(n * val_fraction))) if val_fraction > 0 else 0
    return n - n_val


def _split_by_item(name: str, items: Sequence[Any], val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Row indices `(train, val)` such that no item occurs on both sides.

    `items[i]` is the underlying item of row `i` (a number, a review's words, a
    sentence): every row of one item goes to the same side, so validation
    measures items the model never saw. Rows are taken for validation from
    the end, whole items at a time, until `round(n * val_fraction)` rows
    (at least one) are reached; when no item repeats this is the plain split
    "the last rows are validation". Both index arrays are in row order.

    Raises:
        ValueError: if the rows hold a single item, so no disjoint split exists.
    """
    n = len(items)
    wanted = n - _split(n, val_fraction)
    if wanted == 0:
        return np.arange(n), np.arange(0)
    rows_of: dict[Any, list[int]] = {}
    for row, item in enumerate(items):
        rows_of.setdefault(item, []).append(row)
    if len(rows_of) < 2:
        raise ValueError(
            f"{name}: all {n} rows are the same item, so training and validation "
            "cannot be kept apart; raise n or draw more varied data"
        )
    chosen: set[Any] = set()
    taken = 0
    for row in range(n - 1, -1, -1):  # from the end, whole items at a time
        item = items[row]
        if item in chosen:
            continue
        size = len(rows_of[item])
        if taken + size <= wanted:
            chosen.add(item)
            taken += size
            if taken == wanted:
                break
    if taken == 0:  # every item is bigger than the validation share: take the smallest
        smallest = min(rows_of, key=lambda item: (len(rows_of[item]), -rows_of[item][-1]))
        chosen.add(smallest)
    in_val = np.fromiter((item in chosen for item in items), dtype=bool, count=n)
    return np.flatnonzero(~in_val), np.flatnonzero(in_val)


def _pad(rows: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Pads id rows with 0 at the end (right padding keeps the cuDNN path)."""
    array = np.zeros((len(rows), length), dtype="int32")
    for position, row in enumerate(rows):
        array[position, : len(row)] = row
    return array


# ---------------------------------------------------------------- sentiment

_ASPECTS = (
    "audio", "display", "battery", "camera", "screen",
    "price", "keyboard", "speaker", "design", "service",
)
_GOOD = ("good", "great", "fine", "excellent")
_BAD = ("bad", "poor", "awful", "terrible")
_CONNECTORS = ("and", "but")

PHRASE_SENTIMENT_VOCABULARY = Vocabulary(
    (PAD, *_ASPECTS, "is", "not", *_GOOD, *_BAD, *_CONNECTORS,
     "overall", "i", "am", "happy", "unhappy")
)


def phrase_sentiment(
    n: int = 2000,
    seed: int = 0,
    *,
    max_aspects: int = 3,
    overall_rate: float = 0.5,
    negation_rate: float = 0.3,
    val_fraction: float = 0.2,
) -> LocalDataset:
    """Reviews whose sentiment is composed word -> phrase -> overall.

    Each review is a few aspect phrases, `"<aspect> is [not] <adjective>"`,
    joined by "and"/"but", sometimes followed by an overall clause
    `"overall i am [not] happy|unhappy"`, as in the seed's
    "audio is bad but display is great overall i am happy". The label is:

    - the polarity of the overall clause when there is one (whatever the
      aspects say), else
    - the majority polarity of the aspect phrases (reviews without an overall
      clause have an odd number of aspects, so there is no tie).

    "not" flips the phrase it sits in, and only that phrase. A bag of words
    sees "not", "bad" and "happy" but not which phrase each belongs to nor
    whether "happy" came in the overall clause, so it cannot be right on
    every review; a model that reads phrases, then the sentence (a stacked
    LSTM), can.

    Args:
        n: number of reviews, training and validation together.
        seed: the random seed; the same seed gives the same arrays.
        max_aspects: the most aspect phrases in one review (1 to 10).
        overall_rate: the share of reviews ending with an overall clause.
        negation_rate: the chance that a phrase carries "not".
        val_fraction: the share of reviews kept for validation; a review
            that occurs several times lies wholly on one side.

    Returns:
        A `LocalDataset`: `x` int32 token ids `(n, maxlen)` padded with 0 at
        the end, `y` float32 labels `(n, 1)` (1 = positive), the vocabulary
        `PHRASE_SENTIMENT_VOCABULARY`, `num_classes=2`.

    Raises:
        ValueError: for an argument out of range (the message names it).

    Example:

    >>> (x_train, y_train), (x_val, y_val) = phrase_sentiment(100, seed=0)
    >>> x_train.shape, y_train.shape
    ((80, 19), (80, 1))
    """
    n = _check_count("n", n, minimum=2)
    max_aspects = _check_count("max_aspects", max_aspects)
    if max_aspects > len(_ASPECTS):
        raise ValueError(
            f"max_aspects must be an integer in [1, {len(_ASPECTS)}], got {max_aspects!r}"
        )
    overall_rate = _check_fraction("overall_rate", overall_rate, high=1.0000001)
    negation_rate = _check_fraction("negation_rate", negation_rate, high=1.0000001)
    val_fraction = _check_fraction("val_fraction", val_fraction)

    rng = np.random.default_rng(seed)
    vocabulary = PHRASE_SENTIMENT_VOCABULARY
    rows, labels = [], []
    for _ in range(n):
        has_overall = rng.random() < overall_rate
        if has_overall:
            count = int(rng.integers(1, max_aspects + 1))
        else:  # odd counts only, so the majority is never a tie
            count = int(rng.choice(np.arange(1, max_aspects + 1, 2)))
        words: list[str] = []
        votes = 0
        for position, aspect in enumerate(rng.choice(_ASPECTS, size=count, replace=False)):
            if position:
                words.append(str(rng.choice(_CONNECTORS)))
            negated = rng.random() < negation_rate
            surface_good = rng.random() < 0.5
            words += [str(aspect), "is"] + (["not"] if negated else [])
            words.append(str(rng.choice(_GOOD if surface_good else _BAD)))
            votes += 1 if surface_good != negated else -1
        label = votes > 0
        if has_overall:
            negated = rng.random() < negation_rate
            surface_happy = rng.random() < 0.5
            words += ["overall", "i", "am"] + (["not"] if negated else [])
            words.append("happy" if surface_happy else "unhappy")
            label = surface_happy != negated
        rows.append(vocabulary.encode(words))
        labels.append(float(label))

    # the longest review: max_aspects phrases of 4 words, connectors, overall clause
    maxlen = 4 * max_aspects + (max_aspects - 1) + 5
    x = _pad(rows, maxlen)
    y = np.asarray(labels, dtype="float32").reshape(-1, 1)
    train, val = _split_by_item("phrase_sentiment", [tuple(row) for row in rows], val_fraction)
    return LocalDataset(
        "phrase_sentiment", x[train], y[train], x[val], y[val],
        vocabulary=vocabulary, num_classes=2,
    )


# ------------------------------------------------------------------ tagging

TAGGING_TAGS = Vocabulary((PAD, "DET", "ADJ", "NOUN", "VERB", "CONJ"))

_DETERMINERS = ("the", "a")
_ADJECTIVES = ("big", "small", "red", "old")
_NOUNS = ("dog", "cat", "bird", "child")
_VERBS = ("sees", "likes", "chases", "finds")
# words that can be several parts of speech: only the neighbours tell which
_AMBIGUOUS = {
    "light": ("ADJ", "NOUN", "VERB"),
    "watch": ("NOUN", "VERB"),
    "fly": ("NOUN", "VERB"),
    "fancy": ("ADJ", "VERB"),
}

TAGGING_VOCABULARY = Vocabulary(
    (PAD, *_DETERMINERS, *_ADJECTIVES, *_NOUNS, *_VERBS, *_AMBIGUOUS, "and")
)


def _word_for(tag: str, rng: np.random.Generator, ambiguity: float) -> str:
    """A word that can carry `tag`; an ambiguous one with probability `ambiguity`."""
    ambiguous = [word for word, tags in _AMBIGUOUS.items() if tag in tags]
    if ambiguous and rng.random() < ambiguity:
        return str(rng.choice(ambiguous))
    plain = {"DET": _DETERMINERS, "ADJ": _ADJECTIVES, "NOUN": _NOUNS, "VERB": _VERBS}[tag]
    return str(rng.choice(plain))


def tagging(
    n: int = 2000,
    seed: int = 0,
    *,
    max_clauses: int = 2,
    ambiguity: float = 0.3,
    val_fraction: float = 0.2,
) -> LocalDataset:
    """Part-of-speech tagging where ambiguous words need their neighbours.

    Sentences follow `DET [ADJ] NOUN VERB DET [ADJ] NOUN`, clauses joined by
    "and". Some words are ambiguous: "light" is an adjective in "the light
    dog", a noun in "the light sees", a verb in "the dog light a cat"; "watch",
    "fly" and "fancy" likewise. The tag of an ambiguous word follows from the
    words around it (left and right), so a per-token model must read context;
    a stacked bidirectional LSTM tagger does.

    Args:
        n: number of sentences, training and validation together.
        seed: the random seed; the same seed gives the same arrays.
        max_clauses: the most clauses in a sentence.
        ambiguity: the chance that a slot is filled with an ambiguous word.
        val_fraction: the share of sentences kept for validation; a sentence
            that occurs several times lies wholly on one side.

    Returns:
        A `LocalDataset`: `x` int32 token ids `(n, maxlen)` padded with 0 at
        the end; `y` int32 tag ids of the same shape (0 on padding, so a
        masked loss ignores it); `vocabulary` the words, `target_vocabulary`
        the tags (`TAGGING_TAGS`), `num_classes` the number of tag ids
        (padding included).

    Raises:
        ValueError: for an argument out of range (the message names it).

    Example:

    >>> data = tagging(50, seed=1)
    >>> data.x_train.shape == data.y_train.shape
    True
    """
    n = _check_count("n", n, minimum=2)
    max_clauses = _check_count("max_clauses", max_clauses)
    ambiguity = _check_fraction("ambiguity", ambiguity, high=1.0000001)
    val_fraction = _check_fraction("val_fraction", val_fraction)

    rng = np.random.default_rng(seed)
    rows, tag_rows = [], []
    for _ in range(n):
        tags: list[str] = []
        for clause in range(int(rng.integers(1, max_clauses + 1))):
            if clause:
                tags.append("CONJ")
            for role in ("subject", "verb", "object"):
                if role == "verb":
                    tags.append("VERB")
                    continue
                tags.append("DET")
                if rng.random() < 0.5:
                    tags.append("ADJ")
                tags.append("NOUN")
        words = ["and" if tag == "CONJ" else _word_for(tag, rng, ambiguity) for tag in tags]
        rows.append(TAGGING_VOCABULARY.encode(words))
        tag_rows.append(TAGGING_TAGS.encode(tags))

    maxlen = 7 * max_clauses + (max_clauses - 1)
    x = _pad(rows, maxlen)
    y = _pad(tag_rows, maxlen)
    train, val = _split_by_item("tagging", [tuple(row) for row in rows], val_fraction)
    return LocalDataset(
        "tagging", x[train], y[train], x[val], y[val],
        vocabulary=TAGGING_VOCABULARY, target_vocabulary=TAGGING_TAGS,
        num_classes=len(TAGGING_TAGS),
    )


# ------------------------------------------------------------- time series


def multi_frequency_series(
    n: int = 1000,
    timesteps: int = 32,
    seed: int = 0,
    *,
    noise: float = 0.1,
    horizon: int = 1,
    channels: int = 1,
    num_frequencies: int = 3,
    val_fraction: float = 0.2,
) -> LocalDataset:
    """Noisy sums of sines with random frequencies; forecast the next values.

    Each series is a sum of `num_frequencies` sines, each with its own random
    frequency (0.02 to 0.2 cycles per step), amplitude and phase, plus
    Gaussian noise of standard deviation `noise`. With `channels > 1` every
    channel sums the same sines with its own phase shifts, so the channels
    carry related information (the seed's 3-feature input, for example).

    The target is the next `horizon` observed values of channel 0 (noise
    included, so the best possible mean squared error is about `noise**2`).

    Args:
        n: number of series, training and validation together.
        timesteps: the length of each input window.
        seed: the random seed; the same seed gives the same arrays.
        noise: standard deviation of the additive noise (>= 0).
        horizon: how many future values to predict.
        channels: features per timestep.
        num_frequencies: sines per series.
        val_fraction: the share of series kept for validation.

    Returns:
        A `LocalDataset`: `x` float32 `(n, timesteps, channels)`, `y` float32
        `(n, horizon)`, `num_classes=horizon` (the regression's outputs).

    Raises:
        ValueError: for an argument out of range (the message names it).

    Example:

    >>> (x_train, y_train), _ = multi_frequency_series(10, 16, horizon=2)
    >>> x_train.shape, y_train.shape
    ((8, 16, 1), (8, 2))
    """
    n = _check_count("n", n, minimum=2)
    timesteps = _check_count("timesteps", timesteps)
    horizon = _check_count("horizon", horizon)
    channels = _check_count("channels", channels)
    num_frequencies = _check_count("num_frequencies", num_frequencies)
    if isinstance(noise, bool) or not isinstance(noise, (int, float)) or noise < 0:
        raise ValueError(f"noise must be a number >= 0, got {noise!r}")
    val_fraction = _check_fraction("val_fraction", val_fraction)

    rng = np.random.default_rng(seed)
    steps = np.arange(timesteps + horizon, dtype="float64")
    frequency = rng.uniform(0.02, 0.2, size=(n, 1, 1, num_frequencies))
    amplitude = rng.uniform(0.5, 1.0, size=(n, 1, 1, num_frequencies))
    amplitude /= amplitude.sum(axis=-1, keepdims=True)
    phase = rng.uniform(0.0, 2 * np.pi, size=(n, 1, 1, num_frequencies))
    shift = rng.uniform(0.0, np.pi, size=(n, 1, channels, num_frequencies))
    shift[:, :, 0, :] = 0.0  # channel 0 is the series being forecast
    angle = 2 * np.pi * frequency * steps[None, :, None, None] + phase + shift
    series = (amplitude * np.sin(angle)).sum(axis=-1)
    series += noise * rng.standard_normal(series.shape)
    x = series[:, :timesteps, :].astype("float32")
    y = series[:, timesteps:, 0].astype("float32")
    # the item is the series: each row is its own draw of frequencies, phases and
    # noise, so a series never sits on both sides (the split still checks it)
    train, val = _split_by_item("multi_frequency_series", [row.tobytes() for row in x], val_fraction)
    return LocalDataset(
        "multi_frequency_series", x[train], y[train], x[val], y[val],
        num_classes=horizon,
    )


# -------------------------------------------------------- number translation

_ONES = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
    "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
    "sixteen", "seventeen", "eighteen", "nineteen",
)
_TENS = ("", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")

NUMBER_WORDS_VOCABULARY = Vocabulary((PAD, *_ONES, *_TENS[2:], "hundred", "thousand"))
DIGITS_VOCABULARY = Vocabulary((PAD, START, END, *"0123456789"))


def _below_thousand_in_words(value: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(value, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_in_words(value: int) -> list[str]:
    """English words for 0 <= value < 1,000,000: 342 -> three hundred forty two."""
    thousands, rest = divmod(value, 1000)
    words = (_below_thousand_in_words(thousands) + ["thousand"]) if thousands else []
    if rest or not words:
        words += _below_thousand_in_words(rest)
    return words


def number_translation(
    n: int = 2000,
    seed: int = 0,
    *,
    max_value: int = 999,
    val_fraction: float = 0.2,
) -> LocalDataset:
    """Number words to digits, the toy translation task of the encoder-decoder.

    "three hundred forty two" -> "3 4 2". Source and target differ in length
    and order ("forty two" -> "4 2", "two thousand five" -> "2 0 0 5"), so the
    decoder has to attend to the right source words. Numbers are drawn
    without repetition while `n <= max_value + 1` and with repetition beyond;
    the split is by number, so every copy of a number lies on one side and
    no validation number occurs in training.

    Inputs follow teacher forcing: the decoder reads the target shifted right
    behind `<start>` (id 1) and learns to emit the target followed by `<end>`
    (id 2). Everything is padded with 0 at the end.

    Args:
        n: number of pairs, training and validation together.
        seed: the random seed; the same seed gives the same arrays.
        max_value: the largest number (1 to 999,999).
        val_fraction: the share of pairs kept for validation (whole numbers
            at a time, so the share is met as closely as the repeats allow).

    Returns:
        A `LocalDataset` whose `x` is a list `[source_tokens, decoder_inputs]`
        (int32, `(n, source_len)` and `(n, target_len)`) and `y` the decoder
        targets (int32, `(n, target_len)`); `vocabulary` the number words
        (`NUMBER_WORDS_VOCABULARY`), `target_vocabulary` the digits with
        `<start>`/`<end>` (`DIGITS_VOCABULARY`), `num_classes` its size.

    Raises:
        ValueError: for an argument out of range (the message names it).

    Example:

    >>> data = number_translation(20, seed=0)
    >>> source, decoder_inputs = data.x_train
    >>> data.vocabulary.decode(source[0]), data.target_vocabulary.decode(data.y_train[0])
    ('nine hundred five', '9 0 5')
    """
    n = _check_count("n", n, minimum=2)
    max_value = _check_count("max_value", max_value)
    if max_value > 999_999:
        raise ValueError(f"max_value must be an integer in [1, 999999], got {max_value!r}")
    val_fraction = _check_fraction("val_fraction", val_fraction)

    rng = np.random.default_rng(seed)
    values = rng.choice(max_value + 1, size=n, replace=n > max_value + 1)
    sources, decoder_inputs, targets = [], [], []
    for value in values:
        digits = DIGITS_VOCABULARY.encode(list(str(int(value))))
        sources.append(NUMBER_WORDS_VOCABULARY.encode(number_in_words(int(value))))
        decoder_inputs.append([START_ID, *digits])
        targets.append([*digits, END_ID])

    source_len = _longest_spelling(max_value)
    target_len = len(str(max_value)) + 1
    source = _pad(sources, source_len)
    decoder_input = _pad(decoder_inputs, target_len)
    target = _pad(targets, target_len)
    train, val = _split_by_item("number_translation", [int(v) for v in values], val_fraction)
    return LocalDataset(
        "number_translation",
        [source[train], decoder_input[train]], target[train],
        [source[val], decoder_input[val]], target[val],
        vocabulary=NUMBER_WORDS_VOCABULARY, target_vocabulary=DIGITS_VOCABULARY,
        num_classes=len(DIGITS_VOCABULARY),
    )


def _longest_spelling(max_value: int) -> int:
    """The number of words of the longest spelling of 0..max_value."""
    below = [len(_below_thousand_in_words(v)) for v in range(1000)]
    if max_value < 1000:
        return max(below[: max_value + 1])
    top, rest = divmod(max_value, 1000)
    longest = max(below)  # numbers below a thousand
    for thousands in range(1, top):
        longest = max(longest, below[thousands] + 1 + max(below[1:]))
    longest = max(longest, below[top] + 1 + (max(below[1 : rest + 1]) if rest else 0))
    return longest


# --------------------------------------------------------------------- IMDB


def load_imdb(
    num_words: int = 10000,
    maxlen: int = 200,
    *,
    timeout: float = 10.0,
) -> LocalDataset:
    """Loads the real IMDB reviews through `keras.datasets.imdb`.

    The first call downloads the data (about 17 MB) into Keras's cache
    (`~/.keras/datasets`); later calls read the cache. Reviews are cut or
    padded (at the end, with 0) to `maxlen` tokens.

    Args:
        num_words: keep the `num_words` most frequent words; the others
            become the out-of-vocabulary id.
        maxlen: the length every review is cut or padded to.
        timeout: seconds to wait for the network before giving up.

    Returns:
        A `LocalDataset` named `"imdb"`: `x` int32 `(25000, maxlen)`, `y`
        float32 `(25000, 1)` for training and the same for validation (the
        official test split), `num_classes=2`; `vocabulary` is `None` (use
        `keras.datasets.imdb.get_word_index()` to read the words).

    Raises:
        DatasetUnavailable: (an `OSError`) when the data is neither cached
            nor downloadable, for example offline. The message points to
            `phrase_sentiment`, the local sentiment task.
        ValueError: if `num_words` or `maxlen` is not a positive integer.

    Example:

    ```python
    try:
        (x_train, y_train), (x_val, y_val) = load_imdb(num_words=5000, maxlen=100)
    except DatasetUnavailable:
        (x_train, y_train), (x_val, y_val) = phrase_sentiment(5000)
    ```
    """
    num_words = _check_count("num_words", num_words)
    maxlen = _check_count("maxlen", maxlen)
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
        raise ValueError(f"timeout must be a number of seconds > 0, got {timeout!r}")

    import keras

    previous_timeout = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        (x_train, y_train), (x_test, y_test) = keras.datasets.imdb.load_data(
            num_words=num_words
        )
    except Exception as error:  # Keras wraps network errors in a bare Exception
        raise DatasetUnavailable(
            "IMDB could not be downloaded (no network?): use "
            "stacked_keras.zoo.datasets.phrase_sentiment for a local task. "
            f"Cause: {error}"
        ) from error
    finally:
        socket.setdefaulttimeout(previous_timeout)

    def pad(reviews: Any) -> np.ndarray:
        return keras.utils.pad_sequences(
            reviews, maxlen=maxlen, padding="post", truncating="post", dtype="int32"
        )

    return LocalDataset(
        "imdb",
        pad(x_train), np.asarray(y_train, "float32").reshape(-1, 1),
        pad(x_test), np.asarray(y_test, "float32").reshape(-1, 1),
        num_classes=2,
    )

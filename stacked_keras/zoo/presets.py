"""Named, ready-to-train deep recurrent models: the zoo's presets.

Each preset is a spec (see `stacked_keras.zoo.specs`) built by the shared
builders (`stacked_keras.builders.deep_rnn` or
`stacked_keras.zoo.seq2seq.seq2seq`), so the return_sequences rule lives in
one place, plus the local dataset it is sized for. Its defaults match that
dataset (vocabulary sizes, features, classes), so
`build(name)` and `preset_data(name)` go together out of the box.
"""

from __future__ import annotations

import builtins
import difflib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from stacked_keras.zoo import datasets
from stacked_keras.zoo.specs import (
    BUILDER_ARGUMENTS,
    SPEC_FORMAT,
    build_from_spec,
    normalize_spec,
)

__all__ = [
    "PRESETS",
    "Preset",
    "PresetInfo",
    "PresetList",
    "build",
    "list_presets",
    "preset_data",
    "preset_spec",
]


@dataclass(frozen=True)
class PresetInfo:
    """What a preset is: its name, its task and a one-line description.

    Args:
        name: the preset's name, as `build` takes it (`"tagger-bilstm"`).
        task: the kind of task (`"binary classification"`, `"tagging"`, ...).
        description: one line on the architecture and its data.
    """

    name: str
    task: str
    description: str


class PresetList(builtins.list):
    """The list `list_presets` returns: `PresetInfo`s that print as a table."""

    def to_markdown(self) -> str:
        """The presets as a Markdown table (name, task, description)."""
        lines = ["| name | task | description |", "| --- | --- | --- |"]
        lines += [f"| `{p.name}` | {p.task} | {p.description} |" for p in self]
        return "\n".join(lines)

    def __str__(self) -> str:
        rows = [("name", "task", "description")] + [(p.name, p.task, p.description) for p in self]
        widths = [max(len(row[column]) for row in rows) for column in range(2)]
        lines = [f"{n:<{widths[0]}}  {t:<{widths[1]}}  {d}" for n, t, d in rows]
        lines.insert(1, f"{'-' * widths[0]}  {'-' * widths[1]}  {'-' * len(rows[0][2])}")
        return "\n".join(lines)

    def _repr_markdown_(self) -> str:
        return self.to_markdown()


@dataclass(frozen=True)
class Preset:
    """A preset: its `PresetInfo`, builder, arguments and matching dataset.

    Args:
        info: name, task and description.
        builder: `"deep_rnn"` or `"seq2seq"`.
        args: the builder's keyword arguments (read-only).
        dataset: a function `(n, seed, **kwargs) -> LocalDataset` making the
            local data the preset is sized for.
        dataset_size: the default `n` of `preset_data`.
    """

    info: PresetInfo
    builder: str
    args: Mapping[str, Any]
    dataset: Callable[..., datasets.LocalDataset]
    dataset_size: int = 2000


def _series_3_features(n: int, seed: int = 0, **kwargs: Any) -> datasets.LocalDataset:
    kwargs.setdefault("timesteps", 16)
    kwargs.setdefault("channels", 3)
    return datasets.multi_frequency_series(n, seed=seed, **kwargs)


def _series_1_feature(n: int, seed: int = 0, **kwargs: Any) -> datasets.LocalDataset:
    kwargs.setdefault("timesteps", 32)
    return datasets.multi_frequency_series(n, seed=seed, **kwargs)


def _preset(
    preset_name: str, task: str, description: str, builder: str, dataset: Callable, **args: Any
) -> Preset:
    return Preset(PresetInfo(preset_name, task, description), builder, MappingProxyType(args), dataset)


PRESETS: Mapping[str, Preset] = MappingProxyType(
    {
        preset.info.name: preset
        for preset in (
            _preset(
                "deep-simple-rnn",
                "regression",
                "The seed's example: SimpleRNN 3 units under SimpleRNN 2 units on "
                "3 features, next value of a 3-channel series.",
                "deep_rnn",
                _series_3_features,
                cell="simple_rnn",
                units=[3, 2],
                input_shape=[None, 3],
                head="regression",
                name="deep_simple_rnn",
            ),
            _preset(
                "sentiment-deep-lstm",
                "binary classification",
                "Embedding + 3 stacked LSTM + sigmoid head: word -> phrase -> "
                "overall sentiment (phrase_sentiment).",
                "deep_rnn",
                datasets.phrase_sentiment,
                cell="lstm",
                units=[32, 32, 32],
                vocab_size=len(datasets.PHRASE_SENTIMENT_VOCABULARY),
                embedding_dim=16,
                dropout=0.1,
                head="binary",
                name="sentiment_deep_lstm",
            ),
            _preset(
                "tagger-bilstm",
                "tagging",
                "Embedding + 2 stacked bidirectional LSTM + per-token softmax "
                "(tagging).",
                "deep_rnn",
                datasets.tagging,
                cell="lstm",
                units=[32, 32],
                vocab_size=len(datasets.TAGGING_VOCABULARY),
                embedding_dim=16,
                bidirectional=True,
                head="tagger",
                num_classes=len(datasets.TAGGING_TAGS),
                name="tagger_bilstm",
            ),
            _preset(
                "forecaster-deep-gru",
                "forecasting",
                "2 stacked GRU over a numeric series, linear head predicting the "
                "next value(s) (multi_frequency_series; set num_classes to the horizon).",
                "deep_rnn",
                _series_1_feature,
                cell="gru",
                units=[32, 32],
                input_shape=[None, 1],
                head="regression",
                name="forecaster_deep_gru",
            ),
            _preset(
                "seq2seq-attention",
                "translation",
                "Stacked LSTM encoder, stacked LSTM decoder started from the "
                "encoder states layer by layer, Luong attention (number words -> digits).",
                "seq2seq",
                datasets.number_translation,
                cell="lstm",
                units=[64, 64],
                source_vocab=len(datasets.NUMBER_WORDS_VOCABULARY),
                target_vocab=len(datasets.DIGITS_VOCABULARY),
                embedding_dim=32,
                attention="luong",
                name="seq2seq_attention",
            ),
        )
    }
)


def _preset_named(name: Any) -> Preset:
    if isinstance(name, str) and name in PRESETS:
        return PRESETS[name]
    close = difflib.get_close_matches(str(name), builtins.list(PRESETS), n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"unknown preset {name!r}{hint}; presets: {', '.join(PRESETS)}"
    )


def list_presets() -> PresetList:
    """Lists the presets: name, task and a one-line description.

    Returns:
        A `PresetList` (a list of `PresetInfo`) that prints as a table.

    Example:

    >>> [preset.name for preset in list_presets()][:2]
    ['deep-simple-rnn', 'sentiment-deep-lstm']
    """
    return PresetList(preset.info for preset in PRESETS.values())


def preset_spec(name: str) -> dict[str, Any]:
    """The spec of a preset, as a plain JSON-able dict.

    Save it with `json.dump` (or `save_spec`) and `build_from_spec` builds the
    same architecture again.

    Args:
        name: the preset's name (see `list_presets`).

    Returns:
        `{"format": 1, "preset": name, "builder": ..., "args": {...}}` with
        every builder argument written out.

    Raises:
        ValueError: for an unknown preset, listing the presets.

    Example:

    >>> spec = preset_spec("deep-simple-rnn")
    >>> spec["builder"], spec["args"]["cell"], spec["args"]["units"]
    ('deep_rnn', 'simple_rnn', [3, 2])
    """
    preset = _preset_named(name)
    canonical = normalize_spec(
        {"format": SPEC_FORMAT, "builder": preset.builder, "args": dict(preset.args)}
    )
    return {"format": SPEC_FORMAT, "preset": name, **{k: canonical[k] for k in ("builder", "args")}}


def build(name: str, **overrides: Any) -> Any:
    """Builds a preset, optionally with some builder arguments changed.

    Args:
        name: the preset's name (see `list_presets`).
        **overrides: builder arguments that replace the preset's, e.g.
            `units=[16, 8]`, `vocab_size=500`, `dropout=0.2`, `compile=False`.

    Returns:
        A Keras model (compiled when it has a head, unless `compile=False`).

    Raises:
        ValueError: for an unknown preset (listing the presets), an unknown
            override (listing the accepted keys), or a value the builder
            refuses.

    Example:

    >>> model = build("forecaster-deep-gru", units=[8, 8], num_classes=3)
    >>> model.output_shape
    (None, 3)
    """
    preset = _preset_named(name)
    accepted = BUILDER_ARGUMENTS[preset.builder]
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise ValueError(
            f"preset {name!r} ({preset.builder}) has no argument(s) {unknown}; "
            f"accepted overrides: {', '.join(accepted)}"
        )
    spec = {
        "format": SPEC_FORMAT,
        "preset": name,
        "builder": preset.builder,
        "args": {**preset.args, **overrides},
    }
    return build_from_spec(spec)


def preset_data(name: str, n: int | None = None, seed: int = 0, **kwargs: Any) -> datasets.LocalDataset:
    """Makes the local dataset a preset is sized for.

    `deep-simple-rnn`: `multi_frequency_series` with 3 channels and 16
    timesteps; `sentiment-deep-lstm`: `phrase_sentiment`; `tagger-bilstm`:
    `tagging`; `forecaster-deep-gru`: `multi_frequency_series` with 32
    timesteps; `seq2seq-attention`: `number_translation`.

    Args:
        name: the preset's name.
        n: the number of examples, training and validation together.
            Defaults to 2000.
        seed: the random seed.
        **kwargs: more arguments for the generator (e.g. `horizon=3`).

    Returns:
        A `LocalDataset` (unpacks as `(x_train, y_train), (x_val, y_val)`).

    Raises:
        ValueError: for an unknown preset or a bad generator argument.

    Example:

    >>> (x_train, y_train), _ = preset_data("deep-simple-rnn", n=50)
    >>> x_train.shape
    (40, 16, 3)
    """
    preset = _preset_named(name)
    return preset.dataset(preset.dataset_size if n is None else n, seed=seed, **kwargs)

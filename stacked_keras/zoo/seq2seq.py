"""A stacked encoder-decoder with attention, the seed's model for translation.

The encoder is a stack of L LSTM (or GRU) layers over the source tokens; every
layer returns its whole sequence (the attention reads the top layer's
sequence) and its final states. The decoder is a stack of the same depth whose
layer l starts from encoder layer l's final states (`initial_state=`), layer
by layer. An attention layer (Luong's dot product, `keras.layers.Attention`,
or Bahdanau's additive score, `keras.layers.AdditiveAttention`) lets each
decoder step look at the encoder sequence; its context vector is joined to the
decoder output and a per-timestep softmax predicts the next target token.

Training uses teacher forcing: the decoder reads the target shifted right
behind a `<start>` token. Inference (`decode`) is greedy, one token at a time,
through an encoder model and a one-step decoder model built from the very
layer objects of the training model, so they share its weights.

The `return_sequences` flags of both stacks come from
`stacked_keras.stack.return_sequences_for`. Layers are named after their role:
`source_embedding`, `encoder_lstm_1` ... `encoder_lstm_L`,
`target_embedding`, `decoder_lstm_1` ... `decoder_lstm_L`, `attention`,
`context_concat` and `head`; the inputs are `source_tokens` and
`target_tokens`. `spec_of` recognises a model by these names, so a model
reloaded from a `.keras` file decodes and describes itself as well.

Token ids follow the convention of `stacked_keras.zoo.datasets`: 0 is
padding (masked), 1 is `<start>`, 2 is `<end>`.
"""

# Size: one model (encoder, decoder, attention, greedy decode) whose parts share the layer wiring; kept whole.

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from stacked_keras.stack import return_sequences_for
from stacked_keras.zoo.datasets import END_ID, PAD_ID, START_ID

__all__ = [
    "ATTENTIONS",
    "CELLS",
    "Seq2Seq",
    "Seq2SeqSpec",
    "decode",
    "normalize_seq2seq_arguments",
    "seq2seq",
    "seq2seq_spec_of",
]

CELLS = ("lstm", "gru")
ATTENTIONS = ("luong", "bahdanau")

_KERAS_CELL = {"lstm": "LSTM", "gru": "GRU"}
_KERAS_ATTENTION = {"luong": "Attention", "bahdanau": "AdditiveAttention"}


def _is_integer(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class Seq2SeqSpec:
    """A validated description of a stacked encoder-decoder with attention.

    Made by `normalize_seq2seq_arguments`; plain data, no Keras.

    Args:
        cell: `"lstm"` or `"gru"`, for both stacks.
        units: unit count of each layer, bottom to top; decoder layer l has
            the units of encoder layer l (it starts from its states).
        source_vocab: number of source token ids (0 is padding).
        target_vocab: number of target token ids (0 padding, 1 `<start>`,
            2 `<end>`).
        embedding_dim: width of both embeddings.
        attention: `"luong"` (dot product) or `"bahdanau"` (additive).
        dropout: the recurrent layers' input `dropout` rate.
        compile: whether the training model is compiled.
        name: the training model's name.
    """

    cell: str
    units: tuple[int, ...]
    source_vocab: int
    target_vocab: int
    embedding_dim: int
    attention: str
    dropout: float
    compile: bool
    name: str

    @property
    def depth(self) -> int:
        """The number of layers in each stack."""
        return len(self.units)

    @property
    def return_sequences(self) -> tuple[bool, ...]:
        """`return_sequences` of each layer of either stack.

        Attention reads the encoder's whole top sequence and the head
        predicts at every decoder step, so both stacks output sequences.
        """
        return return_sequences_for(self.depth, sequence_output=True)

    @property
    def encoder_layer_names(self) -> tuple[str, ...]:
        """`encoder_{cell}_{l}`, l from 1."""
        return tuple(f"encoder_{self.cell}_{l}" for l in range(1, self.depth + 1))

    @property
    def decoder_layer_names(self) -> tuple[str, ...]:
        """`decoder_{cell}_{l}`, l from 1."""
        return tuple(f"decoder_{self.cell}_{l}" for l in range(1, self.depth + 1))

    @property
    def states_per_layer(self) -> int:
        """2 for an LSTM (h and c), 1 for a GRU (h)."""
        return 2 if self.cell == "lstm" else 1

    def as_arguments(self) -> dict[str, Any]:
        """The `seq2seq` keyword arguments that rebuild this model (JSON-able).

        Example:

        >>> spec = normalize_seq2seq_arguments(units=[8], source_vocab=30, target_vocab=13)
        >>> spec.as_arguments()["units"]
        [8]
        """
        return {
            "cell": self.cell,
            "units": list(self.units),
            "source_vocab": self.source_vocab,
            "target_vocab": self.target_vocab,
            "embedding_dim": self.embedding_dim,
            "attention": self.attention,
            "dropout": self.dropout,
            "compile": self.compile,
            "name": self.name,
        }


def normalize_seq2seq_arguments(
    cell: str = "lstm",
    units: int | Sequence[int] = (64, 64),
    *,
    source_vocab: int,
    target_vocab: int,
    embedding_dim: int | None = None,
    attention: str = "luong",
    dropout: float = 0.0,
    compile: bool = True,
    name: str | None = None,
) -> Seq2SeqSpec:
    """Validates the arguments of `seq2seq` into a `Seq2SeqSpec`.

    Pure Python: no Keras is imported and no layer made, so bad arguments
    fail before any work. The arguments mean what they mean for `seq2seq`.

    Returns:
        A frozen `Seq2SeqSpec`.

    Raises:
        ValueError: naming the argument, the value received and what is
            accepted.

    Example:

    >>> spec = normalize_seq2seq_arguments("gru", [16, 16], source_vocab=30, target_vocab=13)
    >>> spec.encoder_layer_names, spec.return_sequences
    (('encoder_gru_1', 'encoder_gru_2'), (True, True))
    """
    if not isinstance(cell, str) or cell.lower() not in CELLS:
        raise ValueError(f"cell must be one of {', '.join(map(repr, CELLS))}, got {cell!r}")
    cell = cell.lower()
    if _is_integer(units):
        units = [units]
    if isinstance(units, (str, bytes)) or not isinstance(units, Sequence) or len(units) == 0:
        raise ValueError(
            "units must be a positive integer or a non-empty list of positive "
            f"integers (one per layer of each stack), got {units!r}"
        )
    for position, count in enumerate(units):
        if not _is_integer(count) or count < 1:
            raise ValueError(f"units[{position}] must be a positive integer, got {count!r}")
    for argument, value, minimum in (
        ("source_vocab", source_vocab, 2),
        ("target_vocab", target_vocab, 4),
    ):
        if not _is_integer(value) or value < minimum:
            raise ValueError(
                f"{argument} must be an integer >= {minimum} (the number of token "
                f"ids, 0 being padding"
                + (", 1 <start>, 2 <end>" if argument == "target_vocab" else "")
                + f"), got {value!r}"
            )
    if embedding_dim is None:
        embedding_dim = int(units[0])
    elif not _is_integer(embedding_dim) or embedding_dim < 1:
        raise ValueError(f"embedding_dim must be a positive integer or None, got {embedding_dim!r}")
    if attention not in ATTENTIONS:
        raise ValueError(
            f"attention must be one of {', '.join(map(repr, ATTENTIONS))} "
            f"(Luong dot product or Bahdanau additive), got {attention!r}"
        )
    if (
        isinstance(dropout, bool)
        or not isinstance(dropout, numbers.Real)
        or not 0 <= dropout < 1
    ):
        raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
    if not isinstance(compile, bool):
        raise ValueError(f"compile must be True or False, got {compile!r}")
    if name is None:
        name = "seq2seq_attention"
    elif not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string or None, got {name!r}")
    return Seq2SeqSpec(
        cell=cell,
        units=tuple(int(u) for u in units),
        source_vocab=int(source_vocab),
        target_vocab=int(target_vocab),
        embedding_dim=int(embedding_dim),
        attention=attention,
        dropout=float(dropout),
        compile=compile,
        name=name,
    )


def seq2seq_spec_of(model: Any) -> Seq2SeqSpec:
    """Reads the `Seq2SeqSpec` of an encoder-decoder from its layers.

    Works on the model `seq2seq` returns and on the same model reloaded from
    a `.keras` file: it reads layer names, classes and configs only.

    Args:
        model: a Keras model.

    Returns:
        The `Seq2SeqSpec` that rebuilds the same architecture (with
        `compile=True`).

    Raises:
        ValueError: if the model is not a `seq2seq` model, saying which layer
            is missing or different.
    """
    layers = {layer.name: layer for layer in getattr(model, "layers", [])}

    def need(name: str, classes: tuple[str, ...]) -> Any:
        layer = layers.get(name)
        if layer is None:
            raise ValueError(
                f"model {getattr(model, 'name', '?')!r} is not a stacked_keras "
                f"seq2seq model: it has no layer named {name!r}"
            )
        if type(layer).__name__ not in classes:
            raise ValueError(
                f"model {model.name!r} is not a stacked_keras seq2seq model: layer "
                f"{name!r} is a {type(layer).__name__}, expected {' or '.join(classes)}"
            )
        return layer

    source_embedding = need("source_embedding", ("Embedding",))
    target_embedding = need("target_embedding", ("Embedding",))
    attention_layer = need("attention", tuple(_KERAS_ATTENTION.values()))
    head = need("head", ("TimeDistributed",))
    cell = next(
        (c for c in CELLS if f"encoder_{c}_1" in layers),
        None,
    )
    if cell is None:
        raise ValueError(
            f"model {model.name!r} is not a stacked_keras seq2seq model: it has no "
            "layer named encoder_lstm_1 or encoder_gru_1"
        )
    units = []
    dropout = None
    for depth in range(1, len(layers) + 1):
        name = f"encoder_{cell}_{depth}"
        if name not in layers:
            break
        encoder_layer = need(name, (_KERAS_CELL[cell],))
        decoder_layer = need(f"decoder_{cell}_{depth}", (_KERAS_CELL[cell],))
        for recurrent in (encoder_layer, decoder_layer):
            if not (recurrent.return_sequences and recurrent.return_state):
                raise ValueError(
                    f"model {model.name!r} is not a stacked_keras seq2seq model: "
                    f"{recurrent.name} must return its sequence and its states "
                    f"(return_sequences=True, return_state=True), got "
                    f"return_sequences={recurrent.return_sequences}, "
                    f"return_state={recurrent.return_state}"
                )
        if encoder_layer.units != decoder_layer.units:
            raise ValueError(
                f"model {model.name!r}: decoder_{cell}_{depth} has "
                f"{decoder_layer.units} units but encoder_{cell}_{depth} has "
                f"{encoder_layer.units}; a decoder layer must match the encoder "
                "layer whose states it starts from"
            )
        units.append(encoder_layer.units)
        dropout = encoder_layer.dropout if dropout is None else dropout
    if source_embedding.output_dim != target_embedding.output_dim:
        raise ValueError(
            f"model {model.name!r}: the source and target embeddings have "
            f"different widths ({source_embedding.output_dim} and "
            f"{target_embedding.output_dim}); seq2seq uses one embedding_dim"
        )
    attention = next(k for k, v in _KERAS_ATTENTION.items() if v == type(attention_layer).__name__)
    target_vocab = head.layer.units
    return normalize_seq2seq_arguments(
        cell,
        units,
        source_vocab=int(source_embedding.input_dim),
        target_vocab=int(target_vocab),
        embedding_dim=int(source_embedding.output_dim),
        attention=attention,
        dropout=float(dropout),
        name=model.name,
    )


class Seq2Seq:
    """A stacked encoder-decoder with attention: training model and decoder.

    Building one makes the layers and wires the training model (`.model`,
    teacher forcing). `decode` runs greedy inference with an encoder model and
    a one-step decoder model made from the same layer objects, so training
    the model trains them too. `Seq2Seq.from_model` does the same for a model
    built earlier (for example reloaded from a `.keras` file).

    Args:
        cell: `"lstm"` or `"gru"`, the cell of both stacks. Defaults to
            `"lstm"`.
        units: unit count of each layer, bottom to top, for the encoder and
            the decoder alike (decoder layer l starts from encoder layer l's
            final states, so their widths match). Defaults to `(64, 64)`.
        source_vocab: the number of source token ids (0 is padding).
        target_vocab: the number of target token ids (0 padding, 1
            `<start>`, 2 `<end>`).
        embedding_dim: width of the source and target embeddings. Defaults to
            the first layer's units.
        attention: `"luong"` (`keras.layers.Attention`, dot-product score) or
            `"bahdanau"` (`keras.layers.AdditiveAttention`). Defaults to
            `"luong"`.
        dropout: the `dropout` rate of every recurrent layer (their input
            units, during training). Defaults to `0.0`.
        compile: whether to compile the training model with Adam and a
            sparse categorical cross-entropy (padding masked out). Defaults
            to `True`.
        name: the training model's name. Defaults to `"seq2seq_attention"`.

    Raises:
        ValueError: for a bad argument, naming it.

    Example:

    ```python
    from stacked_keras.zoo import datasets
    from stacked_keras.zoo.seq2seq import Seq2Seq

    data = datasets.number_translation(200)
    translator = Seq2Seq(units=[16, 16], source_vocab=len(data.vocabulary),
                         target_vocab=len(data.target_vocabulary))
    translator.model.fit(data.x_train, data.y_train, epochs=1, verbose=0)
    tokens = translator.decode(data.x_val[0], max_len=4)
    ```
    """

    def __init__(
        self,
        cell: str = "lstm",
        units: int | Sequence[int] = (64, 64),
        *,
        source_vocab: int,
        target_vocab: int,
        embedding_dim: int | None = None,
        attention: str = "luong",
        dropout: float = 0.0,
        compile: bool = True,
        name: str | None = None,
    ) -> None:
        spec = normalize_seq2seq_arguments(
            cell,
            units,
            source_vocab=source_vocab,
            target_vocab=target_vocab,
            embedding_dim=embedding_dim,
            attention=attention,
            dropout=dropout,
            compile=compile,
            name=name,
        )
        self._setup(spec, _make_layers(spec))
        self.model = self._training_model()
        if spec.compile:
            import keras

            self.model.compile(
                optimizer=keras.optimizers.Adam(),
                loss="sparse_categorical_crossentropy",
                metrics=["accuracy"],
            )

    def _setup(self, spec: Seq2SeqSpec, layers: dict[str, Any]) -> None:
        self.spec = spec
        self._layers = layers
        self._encoder_model = None
        self._decoder_step_model = None

    @classmethod
    def from_model(cls, model: Any) -> "Seq2Seq":
        """Wraps a model built by `seq2seq` (or reloaded) to decode with it.

        Args:
            model: a training model made by `seq2seq` / `Seq2Seq`, possibly
                reloaded with `keras.models.load_model`.

        Returns:
            A `Seq2Seq` whose `.model` is `model` and whose inference models
            share its layers.

        Raises:
            ValueError: if `model` is not a seq2seq model (see
                `seq2seq_spec_of`).
        """
        spec = seq2seq_spec_of(model)
        instance = cls.__new__(cls)
        names = ["source_embedding", "target_embedding", "attention", "context_concat", "head"]
        names += list(spec.encoder_layer_names) + list(spec.decoder_layer_names)
        layers = {}
        for name in names:
            try:
                layers[name] = model.get_layer(name)
            except ValueError:
                raise ValueError(
                    f"model {model.name!r} is not a stacked_keras seq2seq model: "
                    f"it has no layer named {name!r}"
                ) from None
        instance._setup(spec, layers)
        instance.model = model
        return instance

    def _training_model(self) -> Any:
        import keras

        spec, layer = self.spec, self._layers
        source = keras.Input(shape=(None,), dtype="int32", name="source_tokens")
        target = keras.Input(shape=(None,), dtype="int32", name="target_tokens")
        x = layer["source_embedding"](source)
        states = []
        for name in spec.encoder_layer_names:
            x, *layer_states = layer[name](x)
            states.append(layer_states)
        encoder_sequence = x
        y = layer["target_embedding"](target)
        for name, initial_state in zip(spec.decoder_layer_names, states):
            y, *_ = layer[name](y, initial_state=initial_state)
        # Always ask for the scores: Keras cannot later reuse a layer first
        # called with one output for a call with two (the decoder-step model).
        context, _ = layer["attention"]([y, encoder_sequence], return_attention_scores=True)
        joined = layer["context_concat"]([y, context])
        return keras.Model([source, target], layer["head"](joined), name=spec.name)

    @property
    def encoder_model(self) -> Any:
        """Source tokens -> (encoder top sequence, then each layer's final states)."""
        if self._encoder_model is None:
            import keras

            source = keras.Input(shape=(None,), dtype="int32", name="source_tokens")
            x = self._layers["source_embedding"](source)
            outputs = []
            for name in self.spec.encoder_layer_names:
                x, *layer_states = self._layers[name](x)
                outputs += layer_states
            self._encoder_model = keras.Model(
                source, [x, *outputs], name=f"{self.spec.name}_encoder"
            )
        return self._encoder_model

    @property
    def decoder_step_model(self) -> Any:
        """One decoder step.

        Inputs: the previous token `(batch, 1)`, the encoder sequence, the
        source mask (True on real tokens) and the states of every decoder
        layer. Outputs: next-token probabilities `(batch, 1, target_vocab)`,
        attention weights `(batch, 1, source_len)` and the new states.
        """
        if self._decoder_step_model is None:
            import keras

            spec, layer = self.spec, self._layers
            token = keras.Input(shape=(1,), dtype="int32", name="previous_token")
            width = spec.units[-1]
            encoder_sequence = keras.Input(shape=(None, width), name="encoder_sequence")
            source_mask = keras.Input(shape=(None,), dtype="bool", name="source_mask")
            state_inputs = [
                [
                    keras.Input(shape=(units,), name=f"state_{l}_{k}")
                    for k in range(spec.states_per_layer)
                ]
                for l, units in enumerate(spec.units, 1)
            ]
            y = layer["target_embedding"](token)
            new_states = []
            for name, initial_state in zip(spec.decoder_layer_names, state_inputs):
                y, *layer_states = layer[name](y, initial_state=initial_state)
                new_states += layer_states
            context, scores = layer["attention"](
                [y, encoder_sequence], mask=[None, source_mask], return_attention_scores=True
            )
            probabilities = layer["head"](layer["context_concat"]([y, context]))
            flat_states = [s for states in state_inputs for s in states]
            self._decoder_step_model = keras.Model(
                [token, encoder_sequence, source_mask, *flat_states],
                [probabilities, scores, *new_states],
                name=f"{spec.name}_decoder_step",
            )
        return self._decoder_step_model

    def decode(
        self,
        source_tokens: Any,
        max_len: int,
        *,
        start_token: int = START_ID,
        end_token: int = END_ID,
        return_attention: bool = False,
    ) -> Any:
        """Translates source token ids greedily; see `decode`."""
        if not _is_integer(max_len) or max_len < 1:
            raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
        for argument, value in (("start_token", start_token), ("end_token", end_token)):
            if not _is_integer(value) or not 0 < value < self.spec.target_vocab:
                raise ValueError(
                    f"{argument} must be a token id in [1, {self.spec.target_vocab - 1}], "
                    f"got {value!r}"
                )
        source = np.asarray(source_tokens)
        single = source.ndim == 1
        if single:
            source = source[None, :]
        if source.ndim != 2 or source.shape[1] == 0 or not np.issubdtype(source.dtype, np.integer):
            raise ValueError(
                "source_tokens must be integer token ids of shape (batch, length) "
                f"or (length,), got an array of shape {source.shape} and dtype {source.dtype}"
            )
        if source.min() < 0 or source.max() >= self.spec.source_vocab:
            raise ValueError(
                f"source_tokens must be ids in [0, {self.spec.source_vocab - 1}], got "
                f"values from {source.min()} to {source.max()}"
            )
        source = source.astype("int32")
        import keras

        def numpy(values: Any) -> list[np.ndarray]:
            return [keras.ops.convert_to_numpy(v) for v in values]

        encoder_sequence, *states = numpy(self.encoder_model(source, training=False))
        source_mask = source != PAD_ID
        batch = source.shape[0]
        tokens = np.full((batch, max_len), PAD_ID, dtype="int32")
        weights = np.zeros((batch, max_len, source.shape[1]), dtype="float32")
        finished = np.zeros(batch, dtype=bool)
        previous = np.full((batch, 1), start_token, dtype="int32")
        for step in range(max_len):
            probabilities, scores, *states = numpy(
                self.decoder_step_model(
                    [previous, encoder_sequence, source_mask, *states], training=False
                )
            )
            scores_now = probabilities[:, 0, :].copy()
            scores_now[:, [PAD_ID, start_token]] = -np.inf  # never emit padding or <start>
            chosen = scores_now.argmax(axis=-1).astype("int32")
            tokens[:, step] = np.where(finished, PAD_ID, chosen)
            weights[:, step, :] = np.where(finished[:, None], 0.0, scores[:, 0, :])
            finished |= chosen == end_token
            if finished.all():
                break
            previous = np.where(finished, end_token, chosen)[:, None].astype("int32")
        if single:
            tokens, weights = tokens[0], weights[0]
        return (tokens, weights) if return_attention else tokens


def _make_layers(spec: Seq2SeqSpec) -> dict[str, Any]:
    """Creates every layer of the model, named by role."""
    import keras

    from stacked_keras.time_distributed import TimeDistributed

    layers = keras.layers
    recurrent = {"lstm": layers.LSTM, "gru": layers.GRU}[spec.cell]
    made: dict[str, Any] = {
        "source_embedding": layers.Embedding(
            spec.source_vocab, spec.embedding_dim, mask_zero=True, name="source_embedding"
        ),
        "target_embedding": layers.Embedding(
            spec.target_vocab, spec.embedding_dim, mask_zero=True, name="target_embedding"
        ),
    }
    for names in (spec.encoder_layer_names, spec.decoder_layer_names):
        for name, units, sequences in zip(names, spec.units, spec.return_sequences):
            made[name] = recurrent(
                units,
                return_sequences=sequences,
                return_state=True,
                dropout=spec.dropout,
                name=name,
            )
    if spec.attention == "luong":
        made["attention"] = layers.Attention(score_mode="dot", name="attention")
    else:
        made["attention"] = layers.AdditiveAttention(name="attention")
    made["context_concat"] = layers.Concatenate(name="context_concat")
    made["head"] = TimeDistributed(
        layers.Dense(spec.target_vocab, activation="softmax", name="head_dense"), name="head"
    )
    return made


def seq2seq(
    cell: str = "lstm",
    units: int | Sequence[int] = (64, 64),
    *,
    source_vocab: int,
    target_vocab: int,
    embedding_dim: int | None = None,
    attention: str = "luong",
    dropout: float = 0.0,
    compile: bool = True,
    name: str | None = None,
) -> Any:
    """Builds the training model of a stacked encoder-decoder with attention.

    The builder behind `{"builder": "seq2seq", ...}` specs and the
    `seq2seq-attention` preset. See `Seq2Seq` for the architecture and the
    arguments.

    Returns:
        A functional `keras.Model` with inputs `[source_tokens,
        target_tokens]` (the decoder input: the target shifted right behind
        `<start>`) and output the per-timestep probabilities over the target
        vocabulary, `(batch, target_len, target_vocab)`. Decode it with
        `decode(model, ...)`.

    Raises:
        ValueError: for a bad argument, naming it.

    Example:

    >>> model = seq2seq("lstm", [8, 8], source_vocab=30, target_vocab=13, compile=False)
    >>> [layer.name for layer in model.layers if "lstm" in layer.name]
    ['encoder_lstm_1', 'decoder_lstm_1', 'encoder_lstm_2', 'decoder_lstm_2']
    """
    return Seq2Seq(
        cell,
        units,
        source_vocab=source_vocab,
        target_vocab=target_vocab,
        embedding_dim=embedding_dim,
        attention=attention,
        dropout=dropout,
        compile=compile,
        name=name,
    ).model


def decode(
    model_or_seq2seq: Any,
    source_tokens: Any,
    max_len: int,
    *,
    start_token: int = START_ID,
    end_token: int = END_ID,
    return_attention: bool = False,
) -> Any:
    """Translates source token ids greedily, one target token at a time.

    The encoder reads the source once; then, from `<start>`, the decoder
    step model predicts the most likely next token (padding and `<start>`
    excluded), feeds it back, and stops a row at `<end>`. Positions after a
    row's `<end>` hold padding (0).

    Args:
        model_or_seq2seq: a `Seq2Seq`, or a model made by `seq2seq` (also
            after saving and reloading); its layers are reused, not copied.
        source_tokens: int token ids, `(batch, source_len)` or
            `(source_len,)`, padded with 0.
        max_len: the most target tokens to produce, `<end>` included.
        start_token: the id the decoder starts from. Defaults to 1.
        end_token: the id that ends a row. Defaults to 2.
        return_attention: also return the attention weights.

    Returns:
        Token ids, int32 `(batch, max_len)` (or `(max_len,)` for one
        sequence); with `return_attention=True`, a tuple `(tokens, weights)`
        where `weights[b, t, s]` is how much output step t attended to source
        position s, `(batch, max_len, source_len)`; each row of a produced
        step sums to 1 over the real (unpadded) source tokens.

    Raises:
        ValueError: if the model is not a seq2seq model, or for a bad
            argument (the message names it).

    Example:

    ```python
    tokens, weights = decode(model, data.x_val[0][:5], max_len=4, return_attention=True)
    data.target_vocabulary.decode(tokens[0])
    ```
    """
    if isinstance(model_or_seq2seq, Seq2Seq):
        translator = model_or_seq2seq
    else:
        translator = Seq2Seq.from_model(model_or_seq2seq)
    return translator.decode(
        source_tokens,
        max_len,
        start_token=start_token,
        end_token=end_token,
        return_attention=return_attention,
    )

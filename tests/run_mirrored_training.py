"""Trains stacked-keras models under `tf.distribute.MirroredStrategy` on two CPU devices.

Run by `tests/test_distributed.py` in a fresh interpreter, because the two
logical CPU devices must be configured before TensorFlow initializes its
devices, which cannot be undone inside a pytest process that already ran
TensorFlow. Not a test module itself (pytest collects only `test_*.py`).

What it does:

1. Splits the one physical CPU into two logical devices
   (`tf.config.set_logical_device_configuration`).
2. Trains a `deep_lstm` regression stack twice, from the same initial weights
   on the same data with the same global batch and no shuffling: once with
   no strategy (one device), once built inside a `MirroredStrategy` scope
   over both devices. Records both loss curves and the largest weight
   difference after training.
3. Builds every zoo preset inside the strategy scope (shrunk to a few units)
   and trains it with `fit` on its own local data.

Prints one JSON object on the last line of stdout:

    {"devices": [...], "replicas": 2, "mirrored_variables": true,
     "single_loss": [...], "mirrored_loss": [...],
     "max_weight_difference": ..., "fused": {the same for the fused stack,
     and "max_difference_from_unfused"}, "fused_training_data": {the fused
     comparison with the mirrored model fed by `training_data`}, "presets": {name: [loss per epoch]}}

Usage: `python tests/run_mirrored_training.py [--epochs N] [--preset-epochs N]
[--presets NAME ...]`.
"""

from __future__ import annotations

import argparse
import json
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

# Must run before anything asks TensorFlow for its devices.
_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402

from stacked_keras import training_data, zoo  # noqa: E402
from stacked_keras.builders import deep_lstm  # noqa: E402

GLOBAL_BATCH = 16
LEARNING_RATE = 0.01

# Each preset shrunk to a few units, with the data size used to train it.
PRESET_OVERRIDES = {
    "deep-simple-rnn": {"units": [3, 2]},
    "sentiment-deep-lstm": {"units": [4, 4], "embedding_dim": 4},
    "tagger-bilstm": {"units": [4, 4], "embedding_dim": 4},
    "forecaster-deep-gru": {"units": [4, 4]},
    "seq2seq-attention": {"units": [8, 8], "embedding_dim": 8},
}
PRESET_EXAMPLES = 64


def regression_data(n: int = 64, timesteps: int = 6, features: int = 3):
    """A toy regression: the target is the mean of the last two timesteps."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, timesteps, features)).astype("float32")
    y = x[:, -2:, :].mean(axis=(1, 2))[:, None].astype("float32")
    return x, y


def regression_stack(initial_weights=None, fused=False):
    """The compared model: two LSTM layers (or one LSTMStack) and a linear head, Adam at 0.01."""
    keras.utils.set_random_seed(0)
    model = deep_lstm([6, 4], input_shape=(6, 3), head="regression", compile=False, fused=fused)
    if initial_weights is not None:
        model.set_weights(initial_weights)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse")
    return model


def train(model, x, y, epochs: int, pipeline: bool = False) -> list[float]:
    """Trains with `fit` in a fixed batch order; returns the loss of each epoch.

    `pipeline=True` feeds `stacked_keras.training_data(x, y, shuffle=False)`
    instead of the arrays: the same batches through the tf.data pipeline.
    """
    if pipeline:
        data = training_data(x, y, batch_size=GLOBAL_BATCH, shuffle=False)
        history = model.fit(data, epochs=epochs, shuffle=False, verbose=0)
        return [float(v) for v in history.history["loss"]]
    history = model.fit(
        x, y, batch_size=GLOBAL_BATCH, epochs=epochs, shuffle=False, verbose=0
    )
    return [float(v) for v in history.history["loss"]]


def is_mirrored(model) -> bool:
    """Whether every weight of the model is a per-replica (mirrored) variable."""
    return all(
        isinstance(weight.value, tf.distribute.DistributedValues) for weight in model.weights
    )


def _largest_difference(a, b) -> float:
    return max(float(np.max(np.abs(u - v))) for u, v in zip(a.get_weights(), b.get_weights()))


def compare_single_and_mirrored(strategy, epochs: int, fused: bool = False, pipeline: bool = False) -> dict:
    """Trains the same stack on one device and mirrored over the strategy's devices.

    With `fused=True` the stack is the builder's one `LSTMStack` layer, started
    from the weights the unfused stack starts from (same layout), and the
    report adds how far its single-device training ends from the unfused one's.
    """
    x, y = regression_data()
    unfused = regression_stack()
    initial = unfused.get_weights()
    single = regression_stack(initial, fused=fused)
    single_loss = train(single, x, y, epochs)

    with strategy.scope():
        mirrored = regression_stack(initial, fused=fused)
    mirrored_loss = train(mirrored, x, y, epochs, pipeline=pipeline)

    result = {
        "single_loss": single_loss,
        "mirrored_loss": mirrored_loss,
        "max_weight_difference": _largest_difference(single, mirrored),
        "mirrored_variables": is_mirrored(mirrored),
    }
    if fused:
        train(unfused, x, y, epochs)
        result["max_difference_from_unfused"] = _largest_difference(single, unfused)
    return result


def train_presets(strategy, names: list[str], epochs: int) -> dict[str, list[float]]:
    """Builds each preset inside the strategy's scope and trains it on its own local data."""
    losses = {}
    for name in names:
        overrides = PRESET_OVERRIDES[name]
        keras.utils.set_random_seed(0)
        with strategy.scope():
            model = zoo.build(name, **overrides, compile=False)
            model.compile(
                optimizer=keras.optimizers.Adam(LEARNING_RATE),
                loss=_loss_for(name),
            )
        (x_train, y_train), _ = zoo.preset_data(name, n=PRESET_EXAMPLES)
        losses[name] = train(model, x_train, y_train, epochs)
    return losses


def _loss_for(name: str) -> str:
    """The loss the preset's builder would compile with."""
    task = zoo.PRESETS[name].info.task
    if task == "binary classification":
        return "binary_crossentropy"
    if task in ("tagging", "translation"):
        return "sparse_categorical_crossentropy"
    return "mse"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3,
                        help="epochs of the single/mirrored comparison")
    parser.add_argument("--preset-epochs", type=int, default=2,
                        help="epochs of each preset")
    parser.add_argument("--presets", nargs="*", default=list(PRESET_OVERRIDES),
                        choices=list(PRESET_OVERRIDES), metavar="PRESET",
                        help=f"the presets to train, among {', '.join(PRESET_OVERRIDES)} (default: all)")
    args = parser.parse_args()

    devices = [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices)
    result = {"devices": devices, "replicas": strategy.num_replicas_in_sync}
    result.update(compare_single_and_mirrored(strategy, args.epochs))
    result["fused"] = compare_single_and_mirrored(strategy, args.epochs, fused=True)
    # The mirrored fused stack fed by training_data, against one device fed the arrays.
    result["fused_training_data"] = compare_single_and_mirrored(strategy, args.epochs, fused=True, pipeline=True)
    result["presets"] = train_presets(strategy, args.presets, args.preset_epochs)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

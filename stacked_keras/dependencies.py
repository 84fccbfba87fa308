"""What each part of stacked-keras needs installed, and the error when it is missing.

A plain `pip install stacked-keras` brings Keras, NumPy and h5py and no Keras
backend: enough for the linter. The parts that run models need a backend,
chosen with an extra (`stacked-keras[tensorflow]`, `stacked-keras[jax]`) or
installed by the user; SavedModel export and the serving functions need
TensorFlow itself. When one is missing, the part raises
`MissingDependencyError` with one sentence naming what to install, instead
of the traceback of an import deep inside Keras.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = [
    "BACKEND_EXTRAS",
    "MissingDependencyError",
    "import_keras",
    "import_tensorflow",
    "missing_backend_message",
    "translate",
]

# Keras backend -> (the package Keras imports for it, the extra that installs it).
BACKEND_EXTRAS: dict[str, tuple[str, str]] = {
    "tensorflow": ("tensorflow", 'pip install "stacked-keras[tensorflow]"'),
    "jax": ("jax", 'pip install "stacked-keras[jax]"'),
    "torch": ("torch", "pip install torch"),
}

# Top-level module whose absence means a backend is missing -> that backend.
_BACKEND_OF_MODULE = {"tensorflow": "tensorflow", "jax": "jax", "jaxlib": "jax", "torch": "torch"}


class MissingDependencyError(ImportError):
    """An optional dependency that a part of stacked-keras needs is not installed.

    The message is one sentence naming the package and the `pip install`
    command (the extra) that brings it.
    """


def _missing_package(error: ModuleNotFoundError) -> str:
    return (error.name or "").partition(".")[0]


def missing_backend_message(package: str) -> str:
    """The sentence for a Keras backend package that is not installed.

    Args:
        package: the top-level module that failed to import (`"tensorflow"`,
            `"jax"`, `"jaxlib"` or `"torch"`).

    Returns:
        One sentence naming the backend, where Keras read it from, and the
        install command.
    """
    backend = _BACKEND_OF_MODULE[package]
    install = BACKEND_EXTRAS[backend][1]
    source = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "~/.keras/keras.json or Keras's default"
    other = "tensorflow" if backend == "jax" else "jax"
    return (
        f"building or running a model needs a Keras backend, and Keras's backend {backend!r} "
        f"(from {source}) is not installed: {install}, or {BACKEND_EXTRAS[other][1]} and set "
        f"KERAS_BACKEND={other}"
    )


def translate(error: ModuleNotFoundError) -> ImportError:
    """The clear error for a failed import of Keras or one of its backends.

    Args:
        error: the `ModuleNotFoundError` an import raised.

    Returns:
        A `MissingDependencyError` when the missing module is Keras or a
        Keras backend package, else `error` itself.
    """
    package = _missing_package(error)
    if package == "keras":
        return MissingDependencyError("Keras is not installed: pip install stacked-keras (it depends on keras>=3.5)")
    if package in _BACKEND_OF_MODULE:
        return MissingDependencyError(missing_backend_message(package))
    return error


def import_keras() -> Any:
    """Imports Keras, or says which backend to install when its backend is missing.

    Returns:
        The `keras` module.

    Raises:
        MissingDependencyError: when Keras, or the package of the backend
            Keras is set to, is not installed.
    """
    try:
        import keras
    except ModuleNotFoundError as error:
        clear = translate(error)
        if clear is error:
            raise
        raise clear from None
    return keras


def import_tensorflow(purpose: str) -> Any:
    """Imports TensorFlow for a part that needs it, or says how to install it.

    Args:
        purpose: what needs TensorFlow, as the start of a sentence
            (`"SavedModel export"`).

    Returns:
        The `tensorflow` module.

    Raises:
        MissingDependencyError: when TensorFlow is not installed.
    """
    try:
        import tensorflow
    except ModuleNotFoundError as error:
        if _missing_package(error) != "tensorflow":
            raise
        raise MissingDependencyError(
            f'{purpose} needs TensorFlow, which is not installed: pip install "stacked-keras[tensorflow]"'
        ) from None
    return tensorflow

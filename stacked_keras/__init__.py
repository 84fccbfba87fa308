"""stacked-keras: deep (stacked) recurrent networks for Keras 3.

Builders that set `return_sequences` right for every layer of a stack, a model
zoo, a linter that finds broken vertical connections in hand-written models,
and SavedModel export.

Importing this package imports neither TensorFlow nor Keras: each name below
loads its module on first use, so the static linter stays fast and light.
"""

from __future__ import annotations

import importlib
from typing import Any

from stacked_keras._version import __version__

# A submodule import (`import stacked_keras.describe`) rebinds the package
# attribute of the same name to the module, so functions that share their
# module's name are bound eagerly here, where the module is loaded once.
# These modules import Keras only inside their functions.
from stacked_keras.describe import describe

# public name -> (module, attribute); attribute None means the module itself.
_EXPORTS: dict[str, tuple[str, str | None]] = {
    "return_sequences_for": ("stacked_keras.stack", "return_sequences_for"),
    "deep_rnn": ("stacked_keras.builders", "deep_rnn"),
    "deep_lstm": ("stacked_keras.builders", "deep_lstm"),
    "deep_gru": ("stacked_keras.builders", "deep_gru"),
    "deep_simple_rnn": ("stacked_keras.builders", "deep_simple_rnn"),
    "LSTMStack": ("stacked_keras.grid_layers", "LSTMStack"),
    "GRUStack": ("stacked_keras.grid_layers", "GRUStack"),
    "reference_forward": ("stacked_keras.reference", "forward"),
    "export_saved_model": ("stacked_keras.export", "export_saved_model"),
    "export_onnx": ("stacked_keras.onnx_export", "export_onnx"),
    "fast_predict": ("stacked_keras.serving", "fast_predict"),
    "training_data": ("stacked_keras.fit_data", "training_data"),
    "onnx_session": ("stacked_keras.onnx_serving", "onnx_session"),
    "serving_function": ("stacked_keras.serving", "serving_function"),
    # The lint package is itself callable as `lint(obj)` (see its __init__),
    # so `stacked_keras.lint(model)` and `stacked_keras.lint.rules` both work.
    "lint": ("stacked_keras.lint", None),
    "fix": ("stacked_keras.lint", "fix"),
    "Report": ("stacked_keras.lint", "Report"),
    "Finding": ("stacked_keras.lint.findings", "Finding"),
    "LintCallback": ("stacked_keras.lint", "LintCallback"),
    "LintError": ("stacked_keras.lint", "LintError"),
    "ModelGraph": ("stacked_keras.graph", "ModelGraph"),
    "plot_stack": ("stacked_keras.plot", "plot_stack"),
    "build_from_spec": ("stacked_keras.zoo", "build_from_spec"),
    "spec_of": ("stacked_keras.zoo", "spec_of"),
    "zoo": ("stacked_keras.zoo", None),
    "experiments": ("stacked_keras.experiments", None),
    "depth_sweep": ("stacked_keras.experiments", "depth_sweep"),
}

__all__ = ["__version__", "describe", *_EXPORTS]


def __getattr__(name: str) -> Any:
    try:
        module_name, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'stacked_keras' has no attribute {name!r}") from None
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        from stacked_keras.dependencies import translate

        clear = translate(error)
        if clear is error:
            raise
        raise clear from None
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """`%load_ext stacked_keras`: lint each notebook cell that builds a Keras model.

    See `stacked_keras.notebook_extension`; loading imports neither
    TensorFlow nor Keras.
    """
    from stacked_keras.notebook_extension import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """`%unload_ext stacked_keras`: stop linting cells."""
    from stacked_keras.notebook_extension import unload_ipython_extension as unload

    unload(ipython)

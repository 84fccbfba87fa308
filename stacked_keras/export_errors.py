"""The error every export raises when the written file does not match the model.

Its own module so that the SavedModel export (TensorFlow) and the ONNX export
(any backend) share one class without importing each other.
"""

from __future__ import annotations

__all__ = ["ExportVerificationError"]


class ExportVerificationError(RuntimeError):
    """The exported model does not behave like the model it came from.

    Raised when the reloaded SavedModel signature or the ONNX file run in
    onnxruntime disagrees with the live model by more than the tolerance,
    returns other shapes, or when a SavedModel graph holds cuDNN-only
    (`Cudnn*`) ops that cannot run on a CPU.
    """

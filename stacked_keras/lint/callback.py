"""`LintCallback`: lint a model when `fit` starts, with the real training target.

Some broken stacks build and train without a word: a sequence output read
by a per-sample `Dense` head (SK102) broadcasts against a per-sample target
and the loss goes down anyway; a `Reshape` that fabricates a time axis
(SK103) builds fine. The callback runs the linter on `self.model` in
`on_train_begin`, before the first batch, and, given the training target,
compares the model's per-timestep output with a per-sample target.

A model whose recurrent layer returns one vector into another (SK101)
cannot be built, so Keras raises its own shape error inside `fit` before
any callback runs; lint such a model with `stacked_keras.lint(model)` or
repair it with `stacked_keras.fix(model)`.

This module imports Keras (the callback subclasses
`keras.callbacks.Callback`); `stacked_keras.lint` loads it only on first use
of `LintCallback`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import keras

from stacked_keras.lint.findings import SEVERITIES, Finding, severity_rank

__all__ = ["LintCallback", "LintError", "target_shape_of"]


class LintError(Exception):
    """Raised by `LintCallback` when findings reach its `fail_on` severity.

    Args:
        report: the report text (one line per finding and a summary).
        findings: the findings that were found, all severities.
    """

    def __init__(self, report: str, findings: list[Finding]) -> None:
        super().__init__(report)
        self.report = report
        self.findings = findings


def target_shape_of(target: Any) -> tuple[int | None, ...] | None:
    """The per-sample shape of a training target (its shape without the batch axis).

    Args:
        target: the target passed to `fit` (a NumPy array, a tensor, a
            nested list of numbers), a sample batch of it, a
            `tf.data.Dataset` yielding `(x, y)` pairs, or a one-element list
            or dict holding one of these (a single-output model).

    Returns:
        The shape without its first axis, such as `(1,)` or `(20, 1)`, or
        None when the target holds several outputs or cannot be read.

    Raises:
        ValueError: if `target` is a scalar, which has no batch axis.

    Example:

    >>> import numpy as np
    >>> target_shape_of(np.zeros((32, 20, 1)))
    (20, 1)
    """
    if target is None:
        return None
    if isinstance(target, Mapping):
        values = list(target.values())
        return target_shape_of(values[0]) if len(values) == 1 else None
    spec = getattr(target, "element_spec", None)
    if spec is not None:  # a tf.data.Dataset of (x, y) or (x, y, sample_weight)
        if isinstance(spec, tuple) and len(spec) >= 2:
            return target_shape_of(spec[1])
        return None
    shape = getattr(target, "shape", None)
    if shape is None and isinstance(target, (list, tuple)):
        if len(target) == 1 and getattr(target[0], "shape", None) is not None:
            return target_shape_of(target[0])
        import numpy as np

        try:
            shape = np.asarray(target, dtype=float).shape
        except (ValueError, TypeError):
            return None  # ragged, or several targets of different shapes
    if shape is None:
        return None
    dims = tuple(None if d is None else int(d) for d in tuple(shape))
    if not dims:
        raise ValueError(
            "target must have a batch axis (the training target or a sample batch of it), "
            f"got a scalar: {target!r}"
        )
    return dims[1:]


class LintCallback(keras.callbacks.Callback):
    """Lints the model when training starts, using the training target.

    In `on_train_begin` the callback reads `self.model` into the linter's
    graph (without calling it), sets the target's per-sample shape when it
    knows it, and runs the rules. Findings at or above `fail_on` stop
    training before the first batch with a `LintError` holding the report;
    the others are printed (when `verbose`) and kept in `self.findings`.

    With the target known, the SK102 rule can tell a per-timestep model (a
    target shaped `(timesteps, units)`, or `(timesteps,)` of class indices
    for a tagger trained with `sparse_categorical_crossentropy`) from a
    sequence output wrongly fed to a per-sample head (a target shaped
    `(units,)`, or `()` for one label per sample).

    Args:
        target: the training target (`y` as passed to `fit`, or a sample
            batch of it, or a `tf.data.Dataset` of `(x, y)`), or None.
            Defaults to None (the target shape stays unknown).
        target_shape: the target's per-sample shape, as a tuple, instead of
            `target`. Defaults to None.
        select: rule codes or prefixes to run (`["SK1"]`). Defaults to None:
            every rule.
        ignore: rule codes or prefixes not to run. Defaults to None.
        fail_on: `"error"`, `"warning"` or `"info"`: the lowest severity that
            stops training; None never stops it. Defaults to `"error"`.
        verbose: whether to print the findings that do not stop training.
            Defaults to True.

    Raises:
        ValueError: for a `fail_on` outside the accepted values, a
            `target_shape` that is not a tuple of ints, both `target` and
            `target_shape`, or a `select` or `ignore` that is not rule codes
            or prefixes (a `select` naming no rule included).

    Example:

    ```python
    callback = stacked_keras.LintCallback(target=y_train, fail_on="warning")
    model.fit(x_train, y_train, epochs=1, callbacks=[callback])
    ```
    """

    def __init__(
        self,
        target: Any = None,
        *,
        target_shape: Iterable[int | None] | None = None,
        select: Any = None,
        ignore: Any = None,
        fail_on: str | None = "error",
        verbose: bool = True,
    ) -> None:
        super().__init__()
        if fail_on is not None and fail_on not in SEVERITIES:
            raise ValueError(
                f"fail_on must be one of {', '.join(map(repr, SEVERITIES))} or None, got {fail_on!r}"
            )
        if target is not None and target_shape is not None:
            raise ValueError("give either target or target_shape, not both")
        from stacked_keras.lint.rules import selected_rules

        try:
            selected_rules(select, ignore)  # a bad code is an error now, not when fit starts
        except TypeError as error:
            raise ValueError(str(error)) from None
        if target_shape is not None:
            shape = tuple(target_shape)
            if not all(d is None or (isinstance(d, int) and not isinstance(d, bool) and d >= 0) for d in shape):
                raise ValueError(
                    "target_shape must be a tuple of non-negative ints or None (the per-sample "
                    f"shape, without the batch axis), got {target_shape!r}"
                )
            self.target_shape: tuple[int | None, ...] | None = shape
        else:
            self.target_shape = target_shape_of(target)
        self.select = select
        self.ignore = ignore
        self.fail_on = fail_on
        self.verbose = bool(verbose)
        self.findings: list[Finding] = []
        self.report: Any = None

    def lint(self) -> list[Finding]:
        """Lints `self.model` now; returns the findings (also kept in `self.findings`)."""
        from stacked_keras.lint.from_model import graph_from_model
        from stacked_keras.lint.report import Report
        from stacked_keras.lint.rules import check

        graph = graph_from_model(self.model)
        if self.target_shape is not None:
            graph.target_shape = self.target_shape
        self.findings = check(graph, select=self.select, ignore=self.ignore)
        self.report = Report(self.findings, models=1, inputs_read=1, fail_on=self.fail_on or "error")
        return self.findings

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        findings = self.lint()
        if self.fail_on is not None:
            threshold = severity_rank(self.fail_on)
            if any(severity_rank(f.severity) >= threshold for f in findings):
                raise LintError(
                    f"stacked-keras found problems in model {self.model.name!r} before training "
                    f"(fail_on={self.fail_on!r}):\n{self.report}",
                    findings,
                )
        if findings and self.verbose:
            print(f"stacked-keras lint of model {self.model.name!r}:\n{self.report}")

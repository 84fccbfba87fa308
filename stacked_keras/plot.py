"""The seed's time x depth grid of a stacked recurrent model, drawn with matplotlib.

A stack of recurrent layers unrolled over time is a grid: one cell H_t^L per
timestep t and layer L. Horizontal arrows H_{t-1}^L -> H_t^L are the
recurrence of layer L; vertical arrows H_t^{L-1} -> H_t^L are the connection
from one layer to the next. `plot_stack` draws that grid for a model:

- the inputs x_1 .. x_T at the bottom, one row of cells per recurrent layer,
  the outputs at the top (every timestep when the top layer returns its
  sequence, the last one only otherwise);
- each layer's name and units on the right of its row (a stack layer,
  `LSTMStack([64, 32])`, draws as its layers: rows `lstm_stack (layer 1 of
  2)` and `lstm_stack (layer 2 of 2)`);
- a layer that returns only its last state sends up one arrow, from H_T^L;
  when the linter reports the connection above it as broken (rule SK101, or
  SK103 when a Reshape fabricates a sequence from that vector), the arrows
  that are missing are drawn red and dashed, labelled with the rule code.

The broken links come from the linter's own rules (`stacked_keras.lint.rules`)
run on the model's graph, or from a lint `Report` you pass, so the picture
and the linter never disagree.

This module reads the model and lays the stacks out; `stacked_keras.plot_grid`
draws each grid (residual skip links, layer normalization, elided columns,
both halves of a bidirectional layer) and the links between stacks.

matplotlib is imported only when a grid is drawn, and never through
`pyplot`: the figure is a plain `matplotlib.figure.Figure` on the Agg canvas,
so drawing changes no global matplotlib state.
"""

from __future__ import annotations

import numbers
import os
from typing import Any

from stacked_keras.graph import ModelGraph, expand_stack_layers
from stacked_keras.plot_grid import (
    BROKEN_COLOR,
    STACK_GAP,
    SIDE_WIDTH,
    GridPainter,
    Row,
    columns_drawn,
    draw_cross_links,
    draw_grid,
    feeds_model_output,
    has_skips,
)
from stacked_keras.stacks import find_stacks

__all__ = ["BROKEN_LINK_CODES", "BROKEN_COLOR", "new_figure", "plot_stack"]

# The rules whose findings mean "the vertical connection above this layer is broken".
BROKEN_LINK_CODES = ("SK101", "SK103")
_MAX_TIMESTEPS = 24
_SAVE_FORMATS = ("png", "svg", "pdf")


def new_figure(**kwargs: Any) -> Any:
    """Makes a matplotlib Figure on the Agg canvas, without pyplot.

    A figure made this way is not registered with pyplot: it changes no
    global matplotlib state, is freed like any object, and still saves with
    `savefig` and shows as a cell's value in a notebook.

    Args:
        **kwargs: arguments of `matplotlib.figure.Figure` (`figsize`,
            `layout`, ...).

    Returns:
        A `matplotlib.figure.Figure`.

    Raises:
        ImportError: if matplotlib is not installed.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plotting needs matplotlib: pip install 'stacked-keras[plot]'") from None
    figure = Figure(**kwargs)
    FigureCanvasAgg(figure)
    return figure


def _graph_of(model_or_graph: Any) -> ModelGraph:
    """The graph to draw, from a keras.Model or a ModelGraph."""
    if isinstance(model_or_graph, ModelGraph):
        return model_or_graph
    from stacked_keras.lint.report import Report

    if isinstance(model_or_graph, Report):
        raise TypeError(
            "model_or_graph must be a keras.Model or a ModelGraph; a lint Report holds "
            "findings, not layers: pass the model it came from and the report as "
            "plot_stack(model, report=report)"
        )
    module = type(model_or_graph).__module__ or ""
    if module.startswith("keras") or module.startswith("tf_keras") or hasattr(model_or_graph, "layers"):
        from stacked_keras.lint.from_model import graph_from_model

        return graph_from_model(model_or_graph)
    raise TypeError(
        "model_or_graph must be a keras.Model or a stacked_keras ModelGraph, got "
        f"{type(model_or_graph).__name__}: {model_or_graph!r:.80}"
    )


def _broken_links(graph: ModelGraph, report: Any) -> dict[str, str]:
    """Layer name -> rule code, for the layers whose upward connection is broken."""
    if report is None:
        from stacked_keras.lint import rules

        findings = rules.check(graph, select=list(BROKEN_LINK_CODES))
    else:
        findings = getattr(report, "findings", None)
        if not isinstance(findings, list):
            raise TypeError(
                "report must be a stacked_keras lint Report (from stacked_keras.lint), got "
                f"{type(report).__name__}"
            )
    # A finding on a stack layer (`lstm_stack`) is on its top layer, the one
    # whose return_sequences is the stack's: its row is `lstm_stack (layer 2 of 2)`.
    tops = {node.name: node.display_name for node in graph if node.part is not None and node.part.is_top}
    broken: dict[str, str] = {}
    for finding in findings:
        if finding.code in BROKEN_LINK_CODES and finding.layer:
            broken.setdefault(tops.get(finding.layer, finding.layer), finding.code)
    return broken


def _known_timesteps(graph: ModelGraph) -> int | None:
    """The input length, when the model has one input of known length."""
    inputs = [graph.node(i) for i in graph.inputs] or [n for n in graph if n.kind == "input"]
    if len(inputs) != 1:
        return None
    for key in ("batch_shape", "batch_input_shape"):
        shape = inputs[0].config.get(key)
        if isinstance(shape, (list, tuple)) and len(shape) >= 2:
            length = shape[1]
            if isinstance(length, numbers.Integral) and length >= 1:
                return int(length)
            return None
    return None


def _check_timesteps(timesteps: Any) -> int:
    if (
        not isinstance(timesteps, numbers.Integral)
        or isinstance(timesteps, bool)
        or not 1 <= timesteps <= _MAX_TIMESTEPS
    ):
        raise ValueError(
            f"timesteps must be an integer from 1 to {_MAX_TIMESTEPS} (the columns "
            f"drawn), got {timesteps!r}"
        )
    return int(timesteps)


def _check_path(path: Any) -> str | None:
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"path must be a file path ending in .png, .svg or .pdf, got {path!r}")
    text = os.fspath(path)
    extension = os.path.splitext(text)[1].lower().lstrip(".")
    if extension not in _SAVE_FORMATS:
        raise ValueError(
            f"path must end in .png, .svg or .pdf (the format is read from the "
            f"extension), got {text!r}"
        )
    return text


def plot_stack(
    model_or_graph: Any,
    timesteps: int = 4,
    *,
    report: Any = None,
    path: str | os.PathLike | None = None,
    ax: Any = None,
) -> Any:
    """Draws a stacked recurrent model as the seed's time x depth grid.

    One circle per hidden state H_t^L (t = 1..timesteps across, L = 1..depth
    upwards), horizontal arrows for the recurrence H_{t-1}^L -> H_t^L (both
    ways for a bidirectional layer), vertical arrows for the connection
    H_t^{L-1} -> H_t^L, the inputs x_t at the bottom and the outputs at the
    top: at every timestep when the top layer returns its sequence, at the
    last one only otherwise. Each row is labelled on the right with the
    layer's name, units and `return_sequences`.

    A layer that returns only its last state sends one arrow up, from
    H_T^L. When that starves a recurrent layer above it (lint rule SK101; or
    SK103 when a Reshape fabricates a sequence from the vector), the other
    timesteps' arrows are drawn red and dashed, labelled with the rule code.
    The broken links are the linter's findings: the rules are run on the
    model's graph, or the findings of `report` are used when given. A last
    state copied to every timestep by a RepeatVector (the encoder-decoder
    bridge) is drawn as grey arrows fanning out from H_T^L.

    Also drawn: residual additions as green skip links on the left, ending
    in a "+" above the layer they bypass; `LayerNormalization` between two
    layers as a band across the links; both halves of a bidirectional layer
    that returns its last state (forward from t = T, backward from t = 1);
    and, when the input is longer than the columns, the first columns and
    the last (t = T) with an elision marker between. A model of several
    stacks (an encoder-decoder, see `stacked_keras.stacks`) is drawn as
    grids side by side, each from L = 1, with the `initial_state`
    hand-overs and the attention links between them: an encoder whose top
    sequence only feeds attention has no outputs of its own, the attention
    context joins the decoder's outputs, and with two stacks the first
    one's labels sit on its left, so the links cross no text.

    Every arrow and cell carries a gid (`"link:lstm_1:t1"`, `"broken:lstm_1:t1"`,
    `"recurrence:lstm_1:t2"`, `"cell:lstm_1:t1"`, `"output:t4"`...), which SVG
    files keep as element ids.

    Args:
        model_or_graph: a `keras.Model` (read with
            `stacked_keras.lint.from_model.graph_from_model`, so an unbuilt
            broken `Sequential` works too) or a `ModelGraph`.
        timesteps: how many columns to draw, 1 to 24. When the model's
            input length is known and shorter, that length is drawn instead;
            when it is longer, the last column is t = T. Defaults to 4.
        report: a lint `Report` (from `stacked_keras.lint`) whose SK101/SK103
            findings mark the broken links, matched by layer name. Defaults
            to `None`: the rules are run on the model.
        path: where to save the figure; the format follows the extension
            (`.png`, `.svg` or `.pdf`). Defaults to `None` (not saved).
        ax: a matplotlib Axes to draw into. Defaults to `None`: a new figure.

    Returns:
        The matplotlib `Figure` (in a notebook it shows as the cell's value).

    Raises:
        TypeError: if `model_or_graph` is neither a Keras model nor a
            `ModelGraph` (a `Report` alone has no layers to draw), or `report`
            is not a lint `Report`.
        ValueError: if the model has no recurrent layer, or `timesteps` or
            `path` is out of range.
        ImportError: if matplotlib is not installed.

    Example:

    ```python
    import keras
    from stacked_keras import plot_stack

    broken = keras.Sequential([
        keras.Input((10, 3)),
        keras.layers.LSTM(8),
        keras.layers.Reshape((1, 8)),
        keras.layers.LSTM(4),
    ])
    figure = plot_stack(broken, timesteps=4, path="broken.png")  # SK103 in red
    ```
    """
    timesteps = _check_timesteps(timesteps)
    path = _check_path(path)
    graph = expand_stack_layers(_graph_of(model_or_graph))  # a stack layer draws as its rows
    broken = _broken_links(graph, report)
    recurrent = [node for node in graph if node.is_recurrent]
    if not recurrent:
        classes = sorted({node.cls for node in graph if node.kind != "input"})
        raise ValueError(
            f"model {graph.name!r} has no recurrent layer to draw (SimpleRNN, LSTM, GRU, RNN, "
            f"or Bidirectional of one); its layers are: {', '.join(classes) or 'none'}"
        )
    times = columns_drawn(timesteps, _known_timesteps(graph))
    stacks, links = find_stacks(graph) if graph.opaque is None else ([], [])
    if len(stacks) < 2:  # one stack (or wiring unknown): every recurrent layer in one column
        grids = [[Row(node, level) for level, node in enumerate(recurrent, 1)]]
    else:
        grids = [[Row(node, level) for level, node in enumerate(stack.layers, 1)] for stack in stacks]
    names = {row.name for grid in grids for row in grid}
    # Findings on layers that are not rows of the grid have no link to mark.
    broken = {name: code for name, code in broken.items() if name in names}

    depth = max(len(grid) for grid in grids)
    # Two stacks side by side: the first one's labels go on its left, so
    # the links between the stacks cross no text, and the gap between the
    # stacks holds only those links.
    labels_left = len(grids) == 2
    if labels_left:
        left, step = 1 - SIDE_WIDTH, len(times) + 2.4
    else:
        left = -1.3 if any(has_skips(graph, grid) for grid in grids) else -0.4
        step = len(times) + SIDE_WIDTH + STACK_GAP
    right = (len(grids) - 1) * step + len(times) + SIDE_WIDTH
    if ax is None:
        figure = new_figure(figsize=(1.1 + 1.25 * (right - left), 1.2 + 1.05 * (depth + 2)))
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    attended = {link.source for link in links if link.kind == "attention"}
    painters = []
    for index, grid in enumerate(grids):
        painter = GridPainter(ax, times, x0=index * step, labels_left=labels_left and index == 0)
        label = stacks[index].name if len(grids) > 1 else None
        top = (index + 1, len(grid))
        draw_grid(painter, graph, grid, broken, stack_name=label,
                  attended=top in attended and not feeds_model_output(graph, grid[-1].node))
        painters.append(painter)
    if len(grids) > 1:
        draw_cross_links(painters, grids, links)

    count = sum(len(grid) for grid in grids)
    if len(grids) > 1:
        title = f"{graph.name}: {len(grids)} stacks side by side ({count} recurrent layers)"
    else:
        title = f"{graph.name}: {depth} stacked recurrent layer{'s' if depth > 1 else ''}"
    if broken:
        title += f" (broken: {', '.join(f'{code} at {name}' for name, code in broken.items())})"
    ax.set_title(title, fontsize=11, color=BROKEN_COLOR if broken else "black")
    ax.set_xlim(left, right)
    ax.set_ylim(-0.85, depth + 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure



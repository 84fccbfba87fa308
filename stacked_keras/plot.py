"""The seed's time x depth grid of a stacked recurrent model, drawn with matplotlib.

A stack of recurrent layers unrolled over time is a grid: one cell H_t^L per
timestep t and layer L. Horizontal arrows H_{t-1}^L -> H_t^L are the
recurrence of layer L; vertical arrows H_t^{L-1} -> H_t^L are the connection
from one layer to the next. `plot_stack` draws that grid for a model:

- the inputs x_1 .. x_T at the bottom, one row of cells per recurrent layer,
  the outputs at the top (every timestep when the top layer returns its
  sequence, the last one only otherwise);
- each layer's name and units on the right of its row;
- a layer that returns only its last state sends up one arrow, from H_T^L;
  when the linter reports the connection above it as broken (rule SK101, or
  SK103 when a Reshape fabricates a sequence from that vector), the arrows
  that are missing are drawn red and dashed, labelled with the rule code.

The broken links come from the linter's own rules (`stacked_keras.lint.rules`)
run on the model's graph, or from a lint `Report` you pass, so the picture
and the linter never disagree.

matplotlib is imported only when a grid is drawn, and never through
`pyplot`: the figure is a plain `matplotlib.figure.Figure` on the Agg canvas,
so drawing changes no global matplotlib state.
"""

from __future__ import annotations

import numbers
import os
from dataclasses import dataclass
from typing import Any

from stacked_keras.graph import TIME_FABRICATING, UNKNOWN, LayerNode, ModelGraph

__all__ = ["BROKEN_LINK_CODES", "BROKEN_COLOR", "new_figure", "plot_stack"]

# The rules whose findings mean "the vertical connection above this layer is broken".
BROKEN_LINK_CODES = ("SK101", "SK103")
BROKEN_COLOR = "#d62728"
_LINK_COLOR = "#222222"
_RECURRENCE_COLOR = "#1f77b4"
_BACKWARD_COLOR = "#ff7f0e"
_MUTED_COLOR = "#999999"
_CELL_FACE = "#e8f0fb"
_MAX_TIMESTEPS = 24
_SAVE_FORMATS = ("png", "svg", "pdf")
_RADIUS = 0.24


@dataclass(frozen=True)
class _Row:
    """One recurrent layer of the grid."""

    node: LayerNode
    level: int  # 1 for the bottom layer

    @property
    def name(self) -> str:
        return self.node.name

    @property
    def return_sequences(self) -> Any:
        return self.node.return_sequences

    @property
    def bidirectional(self) -> bool:
        return "Bidirectional" in self.node.wrappers

    @property
    def backwards(self) -> bool:
        return self.node.core.get("go_backwards", False) is True

    def side_label(self) -> str:
        config = self.node.cell_config
        units = config.get("units")
        if units is None and config.get("filters") is not None:
            size = f"{config.get('filters')} filters"
        elif isinstance(units, numbers.Integral):
            size = f"{units} units"
        else:
            size = "? units"
        if self.bidirectional:
            size = f"2 x {size} (bidirectional)"
        sequences = self.return_sequences
        returns = (
            "return_sequences=?" if sequences is UNKNOWN else f"return_sequences={sequences}"
        )
        return f"{self.name}: {size}\n{returns}"


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
    broken: dict[str, str] = {}
    for finding in findings:
        if finding.code in BROKEN_LINK_CODES and finding.layer:
            broken.setdefault(finding.layer, finding.code)
    return broken


def _link_kind(graph: ModelGraph, lower: LayerNode, upper: LayerNode) -> str | None:
    """How `lower`'s output reaches `upper`: "direct", "repeat", "reshape" or None.

    Follows input edges from `lower` through non-recurrent layers. "repeat"
    when the path crosses a RepeatVector (the last state copied to every
    timestep), "reshape" when it crosses another layer or op that can make a
    sequence from a vector, None when `lower` does not feed `upper`.
    """
    found: list[set[str]] = []
    stack: list[tuple[int, frozenset[str]]] = [(lower.id, frozenset())]
    seen: set[tuple[int, frozenset[str]]] = set()
    while stack:
        current, crossed = stack.pop()
        for nxt in graph.successors(current):
            if nxt.id == upper.id:
                found.append(set(crossed))
                continue
            if nxt.is_recurrent or nxt.kind == "input":
                continue
            state = (nxt.id, crossed | {nxt.cls})
            if state in seen:
                continue
            seen.add(state)
            stack.append(state)
    if not found:
        return None
    crossed = set().union(*found)
    if "RepeatVector" in crossed:
        return "repeat"
    if crossed & (TIME_FABRICATING - {"RepeatVector"}):
        return "reshape"
    return "direct"


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


class _GridPainter:
    """Draws the grid on one matplotlib Axes."""

    def __init__(self, ax: Any, timesteps: int) -> None:
        from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

        self.ax = ax
        self.timesteps = timesteps
        self._circle = Circle
        self._arrow = FancyArrowPatch
        self._box = FancyBboxPatch

    def arrow(self, start: tuple[float, float], end: tuple[float, float], *, color: str,
              gid: str, style: str = "-", width: float = 1.4) -> None:
        patch = self._arrow(
            start,
            end,
            arrowstyle="-|>",
            mutation_scale=11,
            color=color,
            linestyle=style,
            linewidth=width,
            shrinkA=0,
            shrinkB=0,
            zorder=2,
        )
        patch.set_gid(gid)
        self.ax.add_patch(patch)

    def cell(self, t: int, level: int, text: str, *, gid: str) -> None:
        circle = self._circle((t, level), _RADIUS, facecolor=_CELL_FACE, edgecolor=_LINK_COLOR,
                              linewidth=1.0, zorder=3)
        circle.set_gid(gid)
        self.ax.add_patch(circle)
        self.ax.text(t, level, text, ha="center", va="center", fontsize=10, zorder=4)

    def box(self, t: int, y: float, text: str, *, gid: str) -> None:
        box = self._box((t - 0.2, y - 0.15), 0.4, 0.3, boxstyle="round,pad=0.02",
                        facecolor="white", edgecolor=_LINK_COLOR, linewidth=1.0, zorder=3)
        box.set_gid(gid)
        self.ax.add_patch(box)
        self.ax.text(t, y, text, ha="center", va="center", fontsize=10, zorder=4)

    def vertical(self, t: float, y_from: float, y_to: float, *, color: str, gid: str,
                 style: str = "-", from_t: float | None = None) -> None:
        start_t = t if from_t is None else from_t
        self.arrow((start_t, y_from + _RADIUS), (t, y_to - _RADIUS), color=color, gid=gid,
                   style=style)


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

    Every arrow and cell carries a gid (`"link:lstm_1:t1"`, `"broken:lstm_1:t1"`,
    `"recurrence:lstm_1:t2"`, `"cell:lstm_1:t1"`, `"output:t4"`...), which SVG
    files keep as element ids.

    Args:
        model_or_graph: a `keras.Model` (read with
            `stacked_keras.lint.from_model.graph_from_model`, so an unbuilt
            broken `Sequential` works too) or a `ModelGraph`.
        timesteps: how many timesteps to draw, 1 to 24. When the model's
            input length is known and shorter, that length is drawn instead.
            Defaults to 4.
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
    graph = _graph_of(model_or_graph)
    broken = _broken_links(graph, report)
    recurrent = [node for node in graph if node.is_recurrent]
    if not recurrent:
        classes = sorted({node.cls for node in graph if node.kind != "input"})
        raise ValueError(
            f"model {graph.name!r} has no recurrent layer to draw (SimpleRNN, LSTM, GRU, RNN, "
            f"or Bidirectional of one); its layers are: {', '.join(classes) or 'none'}"
        )
    known = _known_timesteps(graph)
    if known is not None:
        timesteps = min(timesteps, known)
    rows = [_Row(node, level) for level, node in enumerate(recurrent, 1)]
    # Findings on layers that are not rows of the grid have no link to mark.
    broken = {name: code for name, code in broken.items() if name in {row.name for row in rows}}

    depth = len(rows)
    if ax is None:
        figure = new_figure(figsize=(2.0 + 1.25 * timesteps + 2.8, 1.2 + 1.05 * (depth + 2)))
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    painter = _GridPainter(ax, timesteps)
    last = timesteps
    columns = range(1, timesteps + 1)

    # Inputs x_t and their arrows into layer 1.
    for t in columns:
        painter.box(t, 0, f"$x_{{{t}}}$", gid=f"input:t{t}")
        painter.arrow((t, 0.15), (t, 1 - _RADIUS), color=_LINK_COLOR, gid=f"link:input:t{t}")

    for row in rows:
        level = row.level
        for t in columns:
            painter.cell(t, level, f"$H_{{{t}}}^{{{level}}}$", gid=f"cell:{row.name}:t{t}")
        for t in range(2, timesteps + 1):
            start, end = (t - 1 + _RADIUS, level), (t - _RADIUS, level)
            if row.backwards:
                start, end = end, start
            offset = 0.07 if row.bidirectional else 0.0
            painter.arrow((start[0], level + offset), (end[0], level + offset),
                          color=_RECURRENCE_COLOR, gid=f"recurrence:{row.name}:t{t}")
            if row.bidirectional:
                painter.arrow((end[0], level - offset), (start[0], level - offset),
                              color=_BACKWARD_COLOR, gid=f"recurrence-backward:{row.name}:t{t}")
        ax.text(timesteps + 0.45, level, row.side_label(), ha="left", va="center", fontsize=9)

    for lower, upper in zip(rows, rows[1:]):
        _draw_link(painter, graph, lower, upper, broken.get(lower.name), last)

    # Outputs at the top.
    top = rows[-1]
    out_level = depth + 1
    sequences = top.return_sequences
    shown = list(columns) if sequences is True or sequences is UNKNOWN else [last]
    for t in shown:
        painter.box(t, out_level, f"$y_{{{t}}}$", gid=f"output:t{t}")
        style = ":" if sequences is UNKNOWN else "-"
        color = _MUTED_COLOR if sequences is UNKNOWN else _LINK_COLOR
        painter.arrow((t, depth + _RADIUS), (t, out_level - 0.15), color=color,
                      gid=f"link:{top.name}:output:t{t}", style=style)
    what = "every timestep" if sequences is True else ("?" if sequences is UNKNOWN else "last state only")
    ax.text(timesteps + 0.45, out_level, f"output: {what}", ha="left", va="center", fontsize=9)

    for t in columns:
        ax.text(t, -0.55, f"t = {t}", ha="center", va="center", fontsize=9, color="#555555")
    ax.text(0.35, 0, "input", ha="right", va="center", fontsize=9)
    for row in rows:
        ax.text(0.35, row.level, f"L = {row.level}", ha="right", va="center", fontsize=9)
    ax.text(0.35, out_level, "output", ha="right", va="center", fontsize=9)

    title = f"{graph.name}: {depth} stacked recurrent layer{'s' if depth > 1 else ''}"
    if broken:
        title += f" (broken: {', '.join(f'{code} at {name}' for name, code in broken.items())})"
    ax.set_title(title, fontsize=11, color=BROKEN_COLOR if broken else "black")
    ax.set_xlim(-0.4, timesteps + 3.2)
    ax.set_ylim(-0.85, out_level + 0.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


def _draw_link(painter: _GridPainter, graph: ModelGraph, lower: _Row, upper: _Row,
               code: str | None, last: int) -> None:
    """The vertical arrows from row `lower` to row `upper`."""
    ax = painter.ax
    kind = _link_kind(graph, lower.node, upper.node)
    y_from, y_to = lower.level, upper.level
    columns = range(1, last + 1)
    sequences = lower.return_sequences
    if kind is None and code is None:
        ax.text(painter.timesteps + 0.45, (y_from + y_to) / 2, f"({upper.name} reads another input)",
                ha="left", va="center", fontsize=8, color=_MUTED_COLOR)
        return
    if sequences is UNKNOWN:
        for t in columns:
            painter.vertical(t, y_from, y_to, color=_MUTED_COLOR, style=":",
                             gid=f"link:{lower.name}:t{t}")
        ax.text((1 + last) / 2, (y_from + y_to) / 2, "return_sequences unknown", ha="center",
                va="center", fontsize=8, color=_MUTED_COLOR,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        return
    if sequences is True:
        for t in columns:
            painter.vertical(t, y_from, y_to, color=_LINK_COLOR, gid=f"link:{lower.name}:t{t}")
        return
    # The lower layer returns only its last state: one arrow goes up, from H_T.
    painter.vertical(last, y_from, y_to, color=_LINK_COLOR, gid=f"link:{lower.name}:t{last}")
    if code is not None:
        for t in range(1, last):
            painter.vertical(t, y_from, y_to, color=BROKEN_COLOR, style="--",
                             gid=f"broken:{lower.name}:t{t}")
        middle = (1 + max(1, last - 1)) / 2
        ax.text(middle, (y_from + y_to) / 2, code, ha="center", va="center", fontsize=10,
                fontweight="bold", color=BROKEN_COLOR, gid=f"code:{lower.name}",
                bbox={"facecolor": "white", "edgecolor": BROKEN_COLOR, "pad": 2}, zorder=5)
        if code == "SK103":
            note = f"{code}: {lower.name} returns its last state;\na reshape fabricates the sequence"
        else:
            note = f"{code}: broken link,\n{lower.name} returns its last state only"
        ax.text(painter.timesteps + 0.45, (y_from + y_to) / 2, note, ha="left", va="center",
                fontsize=8, color=BROKEN_COLOR)
    elif kind == "repeat":
        for t in range(1, last):
            painter.vertical(t, y_from, y_to, color=_MUTED_COLOR, from_t=last,
                             gid=f"repeat:{lower.name}:t{t}")
        ax.text(painter.timesteps + 0.45, (y_from + y_to) / 2,
                "RepeatVector: H_T copied\nto every timestep", ha="left", va="center",
                fontsize=8, color=_MUTED_COLOR)

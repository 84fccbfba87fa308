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
from stacked_keras.stacks import find_stacks

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
    """Draws one stack's grid on a matplotlib Axes, `x0` to the right of the origin.

    `times[c - 1]` is the timestep drawn in column c: 1..T, or, when the
    model's length is longer than the columns, 1..k-1 then T (the columns
    in between are left out, and an elision marker says so).
    """

    def __init__(self, ax: Any, times: list[int], x0: float = 0.0) -> None:
        from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

        self.ax = ax
        self.times = times
        self.timesteps = len(times)
        self.x0 = x0
        self._circle = Circle
        self._arrow = FancyArrowPatch
        self._box = FancyBboxPatch

    @property
    def elided(self) -> bool:
        return self.times[-1] != self.timesteps

    def text(self, x: float, y: float, text: str, **kwargs: Any) -> Any:
        return self.ax.text(self.x0 + x, y, text, **kwargs)

    def arrow(self, start: tuple[float, float], end: tuple[float, float], *, color: str,
              gid: str, style: str = "-", width: float = 1.4, bend: float = 0.0) -> None:
        patch = self._arrow(
            (self.x0 + start[0], start[1]),
            (self.x0 + end[0], end[1]),
            arrowstyle="-|>",
            mutation_scale=11,
            color=color,
            linestyle=style,
            linewidth=width,
            shrinkA=0,
            shrinkB=0,
            zorder=2,
            connectionstyle=f"arc3,rad={bend}",
        )
        patch.set_gid(gid)
        self.ax.add_patch(patch)

    def cell(self, column: int, level: int, text: str, *, gid: str) -> None:
        circle = self._circle((self.x0 + column, level), _RADIUS, facecolor=_CELL_FACE,
                              edgecolor=_LINK_COLOR, linewidth=1.0, zorder=3)
        circle.set_gid(gid)
        self.ax.add_patch(circle)
        self.text(column, level, text, ha="center", va="center", fontsize=10, zorder=4)

    def box(self, column: float, y: float, text: str, *, gid: str, width: float = 0.4,
            color: str = _LINK_COLOR) -> None:
        box = self._box((self.x0 + column - width / 2, y - 0.15), width, 0.3, boxstyle="round,pad=0.02",
                        facecolor="white", edgecolor=color, linewidth=1.0, zorder=3)
        box.set_gid(gid)
        self.ax.add_patch(box)
        self.text(column, y, text, ha="center", va="center", fontsize=10 if width <= 0.4 else 8,
                  zorder=4, color=color)

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

    Also drawn: residual additions as green skip links on the left, ending
    in a "+" above the layer they bypass; `LayerNormalization` between two
    layers as a band across the links; both halves of a bidirectional layer
    that returns its last state (forward from t = T, backward from t = 1);
    and, when the input is longer than the columns, the first columns and
    the last (t = T) with an elision marker between. A model of several
    stacks (an encoder-decoder, see `stacked_keras.stacks`) is drawn as
    grids side by side, each from L = 1, with the `initial_state`
    hand-overs and the attention links between them.

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
    graph = _graph_of(model_or_graph)
    broken = _broken_links(graph, report)
    recurrent = [node for node in graph if node.is_recurrent]
    if not recurrent:
        classes = sorted({node.cls for node in graph if node.kind != "input"})
        raise ValueError(
            f"model {graph.name!r} has no recurrent layer to draw (SimpleRNN, LSTM, GRU, RNN, "
            f"or Bidirectional of one); its layers are: {', '.join(classes) or 'none'}"
        )
    times = _columns(timesteps, _known_timesteps(graph))
    stacks, links = find_stacks(graph) if graph.opaque is None else ([], [])
    if len(stacks) < 2:  # one stack (or wiring unknown): every recurrent layer in one column
        grids = [[_Row(node, level) for level, node in enumerate(recurrent, 1)]]
    else:
        grids = [[_Row(node, level) for level, node in enumerate(stack.layers, 1)] for stack in stacks]
    names = {row.name for grid in grids for row in grid}
    # Findings on layers that are not rows of the grid have no link to mark.
    broken = {name: code for name, code in broken.items() if name in names}

    depth = max(len(grid) for grid in grids)
    width = len(times) + _SIDE_WIDTH
    if ax is None:
        figure = new_figure(figsize=(2.0 + 1.25 * width * len(grids) - 0.4, 1.2 + 1.05 * (depth + 2)))
        ax = figure.add_subplot()
    else:
        figure = ax.figure
    painters = []
    for index, grid in enumerate(grids):
        painter = _GridPainter(ax, times, x0=index * (width + _STACK_GAP))
        label = stacks[index].name if len(grids) > 1 else None
        _draw_grid(painter, graph, grid, broken, stack_name=label)
        painters.append(painter)
    if len(grids) > 1:
        _draw_cross_links(painters, grids, links)

    count = sum(len(grid) for grid in grids)
    if len(grids) > 1:
        title = f"{graph.name}: {len(grids)} stacks side by side ({count} recurrent layers)"
    else:
        title = f"{graph.name}: {depth} stacked recurrent layer{'s' if depth > 1 else ''}"
    if broken:
        title += f" (broken: {', '.join(f'{code} at {name}' for name, code in broken.items())})"
    ax.set_title(title, fontsize=11, color=BROKEN_COLOR if broken else "black")
    left = -1.3 if any(_skips(graph, grid) for grid in grids) else -0.4
    ax.set_xlim(left, painters[-1].x0 + len(times) + 3.2)
    ax.set_ylim(-0.85, depth + 1.5)
    ax.set_aspect("equal")
    ax.axis("off")
    if path is not None:
        figure.savefig(path, dpi=120, bbox_inches="tight")
    return figure


_SIDE_WIDTH = 3.2  # the room right of a grid for the row labels
_STACK_GAP = 0.6
_SKIP_COLOR = "#2ca02c"
_STATE_COLOR = "#2ca02c"
_ATTENTION_COLOR = "#9467bd"
_NORM_FACE = "#fff2cc"


def _columns(timesteps: int, known: int | None) -> list[int]:
    """The timestep drawn in each column: all of them, or the first ones and the last."""
    if known is None or known <= timesteps:
        return list(range(1, (known or timesteps) + 1))
    return list(range(1, timesteps)) + [known]


def _final_column(row: _Row, last: int) -> int:
    """The column of the state a layer returns when it returns only its last state.

    A layer with `go_backwards=True` reads the sequence from the end, so its
    last state is the one at t = 1.
    """
    return 1 if row.backwards and not row.bidirectional else last


def _draw_grid(painter: _GridPainter, graph: ModelGraph, rows: list[_Row], broken: dict[str, str],
               *, stack_name: str | None = None) -> None:
    """One stack's grid: inputs, cells, recurrence, links between rows, outputs, labels."""
    times = painter.times
    last = len(times)
    columns = range(1, last + 1)
    depth = len(rows)

    for column, t in zip(columns, times):
        painter.box(column, 0, f"$x_{{{t}}}$", gid=f"input:t{t}")
        painter.arrow((column, 0.15), (column, 1 - _RADIUS), color=_LINK_COLOR, gid=f"link:input:t{t}")

    for row in rows:
        level = row.level
        for column, t in zip(columns, times):
            painter.cell(column, level, f"$H_{{{t}}}^{{{level}}}$", gid=f"cell:{row.name}:t{t}")
        for column in range(2, last + 1):
            t = times[column - 1]
            start, end = (column - 1 + _RADIUS, level), (column - _RADIUS, level)
            if row.backwards:
                start, end = end, start
            offset = 0.07 if row.bidirectional else 0.0
            elided = painter.elided and column == last
            painter.arrow((start[0], level + offset), (end[0], level + offset),
                          color=_MUTED_COLOR if elided else _RECURRENCE_COLOR, style=":" if elided else "-",
                          gid=f"recurrence:{row.name}:t{t}")
            if row.bidirectional:
                painter.arrow((end[0], level - offset), (start[0], level - offset),
                              color=_MUTED_COLOR if elided else _BACKWARD_COLOR, style=":" if elided else "-",
                              gid=f"recurrence-backward:{row.name}:t{t}")
        label = row.side_label()
        if stack_name is not None:
            label = f"L = {level}  {label}"
        painter.text(last + 0.45, level, label, ha="left", va="center", fontsize=9)

    for lower, upper in zip(rows, rows[1:]):
        _draw_link(painter, graph, lower, upper, broken.get(lower.name), last)
    _draw_skips_and_norms(painter, graph, rows)

    # Outputs at the top.
    top = rows[-1]
    out_level = depth + 1
    sequences = top.return_sequences
    final = _final_column(top, last)
    shown = list(columns) if sequences is True or sequences is UNKNOWN else [final]
    for column in shown:
        t = times[column - 1]
        painter.box(column, out_level, f"$y_{{{t}}}$", gid=f"output:t{t}")
        style = ":" if sequences is UNKNOWN else "-"
        color = _MUTED_COLOR if sequences is UNKNOWN else _LINK_COLOR
        painter.arrow((column, depth + _RADIUS), (column, out_level - 0.15), color=color,
                      gid=f"link:{top.name}:output:t{t}", style=style)
    if sequences is False and top.bidirectional:
        # The backward half's last state is the one at t = 1: it goes to the output too.
        painter.arrow((1, depth + _RADIUS), (last, out_level - 0.15), color=_BACKWARD_COLOR,
                      gid=f"link-backward:{top.name}:output:t{times[0]}")
    what = "every timestep" if sequences is True else ("?" if sequences is UNKNOWN else "last state only")
    painter.text(last + 0.45, out_level, f"output: {what}", ha="left", va="center", fontsize=9)

    for column, t in zip(columns, times):
        painter.text(column, -0.55, f"t = {t}", ha="center", va="center", fontsize=9, color="#555555")
    if painter.elided:
        marker = painter.text(last - 0.5, -0.55, "\u22ef", ha="center", va="center", fontsize=12,
                              color="#555555", gid="elision")
        marker.set_gid("elision")
        painter.text((1 + last) / 2, -0.8, f"timesteps {times[-2] + 1} to {times[-1] - 1} not drawn",
                     ha="center", va="center", fontsize=8, color="#555555")
    if stack_name is not None:
        painter.text((1 + last) / 2, out_level + 0.42, stack_name, ha="center", va="center",
                     fontsize=10, fontweight="bold")
        return
    painter.text(0.35, 0, "input", ha="right", va="center", fontsize=9)
    for row in rows:
        painter.text(0.35, row.level, f"L = {row.level}", ha="right", va="center", fontsize=9)
    painter.text(0.35, out_level, "output", ha="right", va="center", fontsize=9)


def _behind(graph: ModelGraph, node: LayerNode) -> tuple[set[int], set[str]]:
    """The recurrent layers (ids) behind one node, and the classes crossed to reach them.

    An input layer counts as id -1: the model input.
    """
    found: set[int] = set()
    crossed: set[str] = set()
    frontier, seen = [node], set()
    while frontier:
        current = frontier.pop()
        if current.id in seen:
            continue
        seen.add(current.id)
        if current is not node and current.is_recurrent:
            found.add(current.id)
            continue
        if current.kind == "input":
            found.add(-1)
            continue
        if current is not node:
            crossed.add(current.cls)
        frontier.extend(graph.predecessors(current))
    return found, crossed


def _skips(graph: ModelGraph, rows: list[_Row]) -> list[tuple[int, int, str]]:
    """Residual additions as (level skipped from, level whose output it joins, Add node name).

    Level 0 is the input row.
    """
    level_of = {row.node.id: row.level for row in rows}
    level_of[-1] = 0
    skips = []
    for node in graph:
        if node.cls != "Add":
            continue
        levels = set()
        for source in graph.predecessors(node):
            # Each addend comes from the highest row behind it.
            behind = {source.id} if source.id in level_of else _behind(graph, source)[0]
            known = [level_of[i] for i in behind if i in level_of]
            if known:
                levels.add(max(known))
        if len(levels) == 2:
            low, high = sorted(levels)
            skips.append((low, high, node.name))
    return skips


def _draw_skips_and_norms(painter: _GridPainter, graph: ModelGraph, rows: list[_Row]) -> None:
    """Residual skip links (on the left) and layer normalization between rows."""
    for low, high, name in _skips(graph, rows):
        y_join = high + 0.3  # the Add sits right above the layer it bypasses
        painter.arrow((0.62, low + 0.12), (0.62, y_join - 0.09), color=_SKIP_COLOR, gid=f"skip:{name}",
                      bend=-0.45, width=1.6)
        painter.text(0.62, y_join, "+", ha="center", va="center", fontsize=11, color=_SKIP_COLOR,
                     fontweight="bold",
                     bbox={"boxstyle": "circle,pad=0.1", "facecolor": "white", "edgecolor": _SKIP_COLOR})
    from matplotlib.patches import Rectangle

    for lower, upper in zip(rows, rows[1:]):
        crossed = _behind(graph, upper.node)[1]
        if "LayerNormalization" not in crossed:
            continue
        y = lower.level + 0.62
        band = Rectangle((painter.x0 + 0.7, y - 0.07), painter.timesteps - 0.4, 0.14, facecolor=_NORM_FACE,
                         edgecolor="#b8860b", linewidth=0.8, zorder=1)
        band.set_gid(f"norm:{lower.name}")
        painter.ax.add_patch(band)
        painter.text(painter.timesteps + 0.45, y, "LayerNorm", ha="left", va="center", fontsize=7,
                     color="#8a6d00")


def _draw_cross_links(painters: list[_GridPainter], grids: list[list[_Row]], links: list[Any]) -> None:
    """Initial-state hand-overs and attention between stacks drawn side by side."""
    ax = painters[0].ax
    for link in links:
        (src_stack, src_level), (dst_stack, dst_level) = link.source, link.target
        source, target = painters[src_stack - 1], painters[dst_stack - 1]
        src_row, dst_row = grids[src_stack - 1][src_level - 1], grids[dst_stack - 1][dst_level - 1]
        last = source.timesteps
        if link.kind == "initial_state":
            start = (source.x0 + _final_column(src_row, last) + _RADIUS, src_level + 0.12)
            end = (target.x0 + 1 - _RADIUS, dst_level + 0.12)
            patch = source._arrow(start, end, arrowstyle="-|>", mutation_scale=11, color=_STATE_COLOR,
                                  linewidth=1.6, shrinkA=0, shrinkB=0, zorder=2,
                                  connectionstyle="arc3,rad=-0.12")
            patch.set_gid(f"state:{src_row.name}:{dst_row.name}")
            ax.add_patch(patch)
            ax.text((start[0] + end[0]) / 2, src_level + 0.56, "initial_state", ha="center", va="center",
                    fontsize=7, color=_STATE_COLOR)
        else:
            y = max(src_level, dst_level) + 0.8
            hub = ((source.x0 + last + target.x0 + 1) / 2, y)
            for column in range(1, last + 1):
                line = source._arrow((source.x0 + column, src_level + _RADIUS), hub, arrowstyle="-",
                                     color=_ATTENTION_COLOR, linewidth=0.8, linestyle=":", zorder=1)
                line.set_gid(f"attention:{src_row.name}:t{source.times[column - 1]}")
                ax.add_patch(line)
                into = target._arrow(hub, (target.x0 + column, dst_level + _RADIUS), arrowstyle="-|>",
                                     mutation_scale=8, color=_ATTENTION_COLOR, linewidth=0.8, linestyle=":",
                                     zorder=1)
                into.set_gid(f"attention:{dst_row.name}:t{target.times[column - 1]}")
                ax.add_patch(into)
            ax.text(hub[0], hub[1], f"attention ({link.via})", ha="center", va="center", fontsize=8,
                    color=_ATTENTION_COLOR, bbox={"facecolor": "white", "edgecolor": _ATTENTION_COLOR, "pad": 2},
                    zorder=5)


def _draw_link(painter: _GridPainter, graph: ModelGraph, lower: _Row, upper: _Row,
               code: str | None, last: int) -> None:
    """The vertical arrows from row `lower` to row `upper`."""
    kind = _link_kind(graph, lower.node, upper.node)
    y_from, y_to = lower.level, upper.level
    times = painter.times
    columns = range(1, last + 1)
    sequences = lower.return_sequences
    if kind is None and code is None:
        painter.text(last + 0.45, (y_from + y_to) / 2, f"({upper.name} reads another input)",
                     ha="left", va="center", fontsize=8, color=_MUTED_COLOR)
        return
    if sequences is UNKNOWN:
        for column in columns:
            painter.vertical(column, y_from, y_to, color=_MUTED_COLOR, style=":",
                             gid=f"link:{lower.name}:t{times[column - 1]}")
        painter.text((1 + last) / 2, (y_from + y_to) / 2, "return_sequences unknown", ha="center",
                     va="center", fontsize=8, color=_MUTED_COLOR,
                     bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
        return
    if sequences is True:
        for column in columns:
            painter.vertical(column, y_from, y_to, color=_LINK_COLOR, gid=f"link:{lower.name}:t{times[column - 1]}")
        return
    # The lower layer returns only its last state: one arrow goes up, from
    # H_T (from H_1 for go_backwards); a bidirectional layer's backward half
    # ends at t = 1, so a second arrow comes from there.
    final = _final_column(lower, last)
    painter.vertical(last, y_from, y_to, color=_LINK_COLOR, from_t=final,
                     gid=f"link:{lower.name}:t{times[final - 1]}")
    if lower.bidirectional:
        painter.vertical(last, y_from, y_to, color=_BACKWARD_COLOR, from_t=1,
                         gid=f"link-backward:{lower.name}:t{times[0]}")
    if code is not None:
        for column in range(1, last):
            painter.vertical(column, y_from, y_to, color=BROKEN_COLOR, style="--",
                             gid=f"broken:{lower.name}:t{times[column - 1]}")
        middle = (1 + max(1, last - 1)) / 2
        painter.text(middle, (y_from + y_to) / 2, code, ha="center", va="center", fontsize=10,
                     fontweight="bold", color=BROKEN_COLOR, gid=f"code:{lower.name}",
                     bbox={"facecolor": "white", "edgecolor": BROKEN_COLOR, "pad": 2}, zorder=5)
        if code == "SK103":
            note = f"{code}: {lower.name} returns its last state;\na reshape fabricates the sequence"
        else:
            note = f"{code}: broken link,\n{lower.name} returns its last state only"
        painter.text(last + 0.45, (y_from + y_to) / 2, note, ha="left", va="center",
                     fontsize=8, color=BROKEN_COLOR)
    elif kind == "repeat":
        for column in range(1, last):
            painter.vertical(column, y_from, y_to, color=_MUTED_COLOR, from_t=final,
                             gid=f"repeat:{lower.name}:t{times[column - 1]}")
        painter.text(last + 0.45, (y_from + y_to) / 2,
                     "RepeatVector: H_T copied\nto every timestep", ha="left", va="center",
                     fontsize=8, color=_MUTED_COLOR)

"""Drawing one stack's time x depth grid, and the links between stacks: `plot_stack`'s painter.

`stacked_keras.plot.plot_stack` reads the model, the linter's findings and
the stacks (`stacked_keras.stacks.find_stacks`), and hands each stack's rows
to `draw_grid` here: inputs, cells, recurrence, the links between rows
(broken ones red, with their rule code), residual skip links, layer
normalization, outputs and labels. `draw_cross_links` draws the
`initial_state` hand-overs and the attention links between stacks drawn
side by side. matplotlib is imported only when a painter is made.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass
from typing import Any

from stacked_keras.graph import TIME_FABRICATING, UNKNOWN, LayerNode, ModelGraph
from stacked_keras.stacks import ATTENTION_LAYERS

__all__ = ["BROKEN_COLOR", "SIDE_WIDTH", "STACK_GAP", "GridPainter", "Row", "columns_drawn", "draw_cross_links", "draw_grid", "feeds_model_output",
           "has_skips"]

BROKEN_COLOR = "#d62728"
_LINK_COLOR = "#222222"
_RECURRENCE_COLOR = "#1f77b4"
_BACKWARD_COLOR = "#ff7f0e"
_MUTED_COLOR = "#999999"
_CELL_FACE = "#e8f0fb"
_RADIUS = 0.24
SIDE_WIDTH = 3.2  # the room right of a grid for the row labels
STACK_GAP = 0.6
_SKIP_COLOR = "#2ca02c"
_STATE_COLOR = "#2ca02c"
_ATTENTION_COLOR = "#9467bd"
_NORM_FACE = "#fff2cc"


@dataclass(frozen=True)
class Row:
    """One recurrent layer of the grid."""

    node: LayerNode
    level: int  # 1 for the bottom layer

    @property
    def name(self) -> str:
        """The layer's name; `lstm_stack (layer 1 of 2)` for a layer of a stack layer."""
        return self.node.display_name

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
        elif self.backwards:
            size = f"{size}, go_backwards"
        sequences = self.return_sequences
        returns = (
            "return_sequences=?" if sequences is UNKNOWN else f"return_sequences={sequences}"
        )
        return f"{self.name}: {size}\n{returns}"


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



class GridPainter:
    """Draws one stack's grid on a matplotlib Axes, `x0` to the right of the origin.

    The row labels go right of the grid, or left of it with `labels_left`
    (the first of two stacks side by side, so the links between them cross
    no text).

    `times[c - 1]` is the timestep drawn in column c: 1..T, or, when the
    model's length is longer than the columns, 1..k-1 then T (the columns
    in between are left out, and an elision marker says so).
    """

    def __init__(self, ax: Any, times: list[int], x0: float = 0.0, *, labels_left: bool = False) -> None:
        from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch

        self.ax = ax
        self.times = times
        self.timesteps = len(times)
        self.x0 = x0
        self.labels_left = labels_left
        self._circle = Circle
        self._arrow = FancyArrowPatch
        self._box = FancyBboxPatch

    @property
    def elided(self) -> bool:
        return self.times[-1] != self.timesteps

    def text(self, x: float, y: float, text: str, **kwargs: Any) -> Any:
        return self.ax.text(self.x0 + x, y, text, **kwargs)

    def side_text(self, y: float, text: str, **kwargs: Any) -> Any:
        """A label beside the grid: right of the last column, or left of the first."""
        if self.labels_left:
            return self.text(1 - 0.45, y, text, ha="right", va="center", **kwargs)
        return self.text(self.timesteps + 0.45, y, text, ha="left", va="center", **kwargs)

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



def columns_drawn(timesteps: int, known: int | None) -> list[int]:
    """The timestep drawn in each column: all of them, or the first ones and the last."""
    if known is None or known <= timesteps:
        return list(range(1, (known or timesteps) + 1))
    return list(range(1, timesteps)) + [known]


def _final_column(row: Row, last: int) -> int:
    """The column of the state a layer returns when it returns only its last state.

    A layer with `go_backwards=True` reads the sequence from the end, so its
    last state is the one at t = 1.
    """
    return 1 if row.backwards and not row.bidirectional else last


def draw_grid(painter: GridPainter, graph: ModelGraph, rows: list[Row], broken: dict[str, str],
              *, stack_name: str | None = None, attended: bool = False) -> None:
    """One stack's grid: inputs, cells, recurrence, links between rows, outputs, labels.

    `attended`: the top layer's sequence goes only to an attention layer
    (an encoder's), so no outputs are drawn above it; the attention links
    start from its cells.
    """
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
        painter.side_text(level, label, fontsize=9)

    for lower, upper in zip(rows, rows[1:]):
        _draw_link(painter, graph, lower, upper, broken.get(lower.name), last)
    _draw_skips_and_norms(painter, graph, rows)

    # Outputs at the top.
    top = rows[-1]
    out_level = depth + 1
    sequences = top.return_sequences
    final = _final_column(top, last)
    shown = list(columns) if sequences is True or sequences is UNKNOWN else [final]
    for column in [] if attended else shown:
        t = times[column - 1]
        painter.box(column, out_level, f"$y_{{{t}}}$", gid=f"output:t{t}")
        style = ":" if sequences is UNKNOWN else "-"
        color = _MUTED_COLOR if sequences is UNKNOWN else _LINK_COLOR
        painter.arrow((column, depth + _RADIUS), (column, out_level - 0.15), color=color,
                      gid=f"link:{top.name}:output:t{t}", style=style)
    if sequences is False and top.bidirectional:
        # The backward half's last state is the one at t = 1: it goes to the output too
        # (its head lands beside the forward half's, not on it).
        painter.arrow((1, depth + _RADIUS), (last - 0.12, out_level - 0.15), color=_BACKWARD_COLOR,
                      gid=f"link-backward:{top.name}:output:t{times[0]}")
    if attended:
        what = "every timestep, read by attention"
    elif sequences is True:
        what = "every timestep"
    elif sequences is UNKNOWN:
        what = "?"
    elif top.bidirectional:
        what = f"last states (forward t = {times[-1]},\nbackward t = {times[0]})"
    else:
        what = f"last state only (t = {times[final - 1]})" if top.backwards else "last state only"
    painter.side_text(depth + 0.55 if attended else out_level, f"output: {what}", fontsize=9)

    for column, t in zip(columns, times):
        painter.text(column, -0.55, f"t = {t}", ha="center", va="center", fontsize=9, color="#555555")
    if painter.elided:
        marker = painter.text(last - 0.5, -0.55, "\u22ef", ha="center", va="center", fontsize=12,
                              color="#555555", gid="elision")
        marker.set_gid("elision")
        hidden_from, hidden_to = times[-2] + 1, times[-1] - 1
        hidden = f"timestep {hidden_from}" if hidden_from == hidden_to else f"timesteps {hidden_from} to {hidden_to}"
        painter.text((1 + last) / 2, -0.8, f"{hidden} not drawn", ha="center", va="center", fontsize=8,
                     color="#555555")
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


def _skips(graph: ModelGraph, rows: list[Row]) -> list[tuple[int, int, str]]:
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


def _norm_levels(graph: ModelGraph, rows: list[Row]) -> list[int]:
    """The rows with a LayerNormalization between them and the row above."""
    return [
        lower.level for lower, upper in zip(rows, rows[1:])
        if "LayerNormalization" in _behind(graph, upper.node)[1]
    ]


def _draw_skips_and_norms(painter: GridPainter, graph: ModelGraph, rows: list[Row]) -> None:
    """Residual skip links (on the left) and layer normalization between rows.

    A skip link carries the input of the layer it bypasses: it leaves from
    above whatever that input went through (an earlier addition, the norm).
    """
    skips, norms = _skips(graph, rows), _norm_levels(graph, rows)
    joins = {high for _, high, _ in skips}
    for low, high, name in skips:
        y_join = high + 0.3  # the Add sits right above the layer it bypasses
        if low in norms:
            y_start = low + 0.62 + 0.1  # above the norm band
        elif low in joins:
            y_start = low + 0.3 + 0.12  # above the previous addition
        else:
            y_start = low + 0.12
        painter.arrow((0.62, y_start), (0.62, y_join - 0.09), color=_SKIP_COLOR, gid=f"skip:{name}",
                      bend=-0.45 if y_join - y_start > 0.9 else -0.3, width=1.6)
        painter.text(0.62, y_join, "+", ha="center", va="center", fontsize=11, color=_SKIP_COLOR,
                     fontweight="bold",
                     bbox={"boxstyle": "circle,pad=0.1", "facecolor": "white", "edgecolor": _SKIP_COLOR})
    from matplotlib.patches import Rectangle

    for lower in rows:
        if lower.level not in norms:
            continue
        y = lower.level + 0.62
        band = Rectangle((painter.x0 + 0.7, y - 0.07), painter.timesteps - 0.4, 0.14, facecolor=_NORM_FACE,
                         edgecolor="#b8860b", linewidth=0.8, zorder=1)
        band.set_gid(f"norm:{lower.name}")
        painter.ax.add_patch(band)
        painter.side_text(y, "LayerNorm", fontsize=7, color="#8a6d00")


def draw_cross_links(painters: list[GridPainter], grids: list[list[Row]], links: list[Any]) -> None:
    """Initial-state hand-overs and attention between stacks drawn side by side.

    An `initial_state` link runs from the source layer's last state to the
    target layer's first cell. An attention link gathers the source layer's
    states at every timestep into one hub and goes on to the link above each
    target cell: the context joins the target layer's output there (the
    query is that output itself).
    """
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
                into = target._arrow(hub, (target.x0 + column - 0.02, dst_level + 0.55), arrowstyle="-|>",
                                     mutation_scale=8, color=_ATTENTION_COLOR, linewidth=0.8, linestyle=":",
                                     zorder=1)
                into.set_gid(f"attention:{dst_row.name}:t{target.times[column - 1]}")
                ax.add_patch(into)
            name = "attention" if link.via in (None, "attention") else f"attention ({link.via})"
            ax.text(hub[0], hub[1], name, ha="center", va="center", fontsize=8,
                    color=_ATTENTION_COLOR, bbox={"facecolor": "white", "edgecolor": _ATTENTION_COLOR, "pad": 2},
                    zorder=5)


def _draw_link(painter: GridPainter, graph: ModelGraph, lower: Row, upper: Row,
               code: str | None, last: int) -> None:
    """The vertical arrows from row `lower` to row `upper`."""
    kind = _link_kind(graph, lower.node, upper.node)
    y_from, y_to = lower.level, upper.level
    times = painter.times
    columns = range(1, last + 1)
    sequences = lower.return_sequences
    if kind is None and code is None:
        painter.side_text((y_from + y_to) / 2, f"({upper.name} reads another input)", fontsize=8,
                          color=_MUTED_COLOR)
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
        painter.side_text((y_from + y_to) / 2, note, fontsize=8, color=BROKEN_COLOR)
    elif kind == "repeat":
        for column in range(1, last):
            painter.vertical(column, y_from, y_to, color=_MUTED_COLOR, from_t=final,
                             gid=f"repeat:{lower.name}:t{times[column - 1]}")
        painter.side_text((y_from + y_to) / 2, "RepeatVector: H_T copied\nto every timestep", fontsize=8,
                          color=_MUTED_COLOR)


def has_skips(graph: ModelGraph, rows: list[Row]) -> bool:
    """Whether the grid of `rows` has residual skip links (drawn left of the grid)."""
    return bool(_skips(graph, rows))


def feeds_model_output(graph: ModelGraph, node: LayerNode) -> bool:
    """Whether `node`'s output reaches a model output other than as the values of an attention layer.

    An encoder's top layer feeds attention only as the sequence attended
    over: its states reach the output through the context, not as outputs
    of their own. True when the graph does not know its outputs.
    """
    if not graph.outputs:
        return True
    frontier, seen = [node.id], set()
    while frontier:
        current = frontier.pop()
        if graph.is_output(current):
            return True
        if current in seen:
            continue
        seen.add(current)
        for edge in graph.edges:
            if edge.src != current or edge.role != "input":
                continue
            reader = graph.node(edge.dst)
            if reader.is_recurrent or (reader.cls in ATTENTION_LAYERS and edge.index > 0):
                continue
            frontier.append(reader.id)
    return False

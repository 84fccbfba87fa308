"""A table of a recurrent stack in the seed's notation.

The seed names the hidden state of layer L at time t `H_t^L` and writes its
equation `H_t^L = tanh(W^L H_{t-1}^L + U^L H_t^{L-1} + B^L)`: `U^L` carries the
vertical input from the layer below, `W^L` the recurrent (horizontal) input
from the previous timestep, `B^L` is the bias. `describe(model)` lists one row
per recurrent layer L = 1..depth with the shapes of these three weights, so a
model reads like the seed's figures: for input 3 -> 3 units -> 2 units,
`U^1` is 3x3, `W^1` 3x3, `U^2` 3x2, `W^2` 2x2.

LSTM and GRU layers keep one `U`, `W` and `B` per gate, which Keras stores
side by side (`kernel` has shape `(input_dim, gates * units)`). The table shows
them per gate: `4 x (3x2)` is four gates, each a 3x2 matrix.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

from stacked_keras.keras_catalogue import layer_stack_class

__all__ = ["describe", "StackDescription", "COLUMNS", "LEGEND", "TIME_DISTRIBUTED_NOTE"]

# (row key, text header, HTML header) for each column of the table.
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("L", "L", "L"),
    ("name", "layer", "layer"),
    ("cell", "cell", "cell"),
    ("direction", "direction", "direction"),
    ("units", "units", "units"),
    ("gates", "gates", "gates"),
    ("U", "U^L (input)", "U<sup>L</sup> (input)"),
    ("W", "W^L (recurrent)", "W<sup>L</sup> (recurrent)"),
    ("B", "B^L (bias)", "B<sup>L</sup> (bias)"),
    ("params", "params", "params"),
    ("return_sequences", "return_sequences", "return_sequences"),
)

# The table's legend, one line per sentence.
LEGEND: tuple[str, ...] = (
    "U^L: weights of the vertical input H_t^{L-1} (input_dim x units); "
    "W^L: recurrent weights of H_{t-1}^L (units x units); B^L: bias.",
    "g x (a x b): g gates stored side by side by Keras (LSTM 4: i, f, c, o; "
    "GRU 3: z, r, h), each an a x b matrix.",
    "GRU with reset_after=True: two biases per gate, input + recurrent.",
    "Bidirectional: shapes per direction, params of both directions.",
)

# The legend's extra line when a recurrent layer runs inside TimeDistributed.
TIME_DISTRIBUTED_NOTE = (
    "TimeDistributed: the layer runs over the inner time axis (the words of each sentence), "
    "once per outer timestep, and hands the layer above one output per outer timestep."
)

_GATES = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}
_CELL_OF = {"SimpleRNNCell": "SimpleRNN", "LSTMCell": "LSTM", "GRUCell": "GRU"}


def _gated(gates: int, shape: str) -> str:
    """`3x2` for one gate, `4 x (3x2)` for four gates side by side."""
    return shape if gates == 1 else f"{gates} x ({shape})"


def _weight_count(weights: Any) -> int:
    total = 0
    for w in weights:
        size = 1
        for dim in w.shape:
            size *= int(dim)
        total += size
    return total


def _cell_rows(layer: Any, cell: Any, where: str) -> list[dict[str, Any]]:
    """The rows of one Keras cell (several for a StackedRNNCells)."""
    import keras

    if isinstance(cell, keras.layers.StackedRNNCells):
        rows = []
        for i, inner in enumerate(cell.cells):
            rows.extend(_cell_rows(layer, inner, f"{where}/cell_{i}"))
        # Inside one step, each cell hands its output to the next one at the
        # same timestep: a sequence for every cell but the last.
        for row in rows[:-1]:
            row["return_sequences"] = True
        return rows
    # A subclass of a Keras cell keeps its parent's weights: read it as such.
    cell_name = next((_CELL_OF[k.__name__] for k in type(cell).__mro__ if k.__name__ in _CELL_OF), None)
    if cell_name is None:
        raise ValueError(
            f"{where} runs a {type(cell).__name__}, whose weights describe cannot "
            f"read; it knows the cells {', '.join(_CELL_OF)} (and lists of them)"
        )
    if not getattr(cell, "built", False) or getattr(cell, "kernel", None) is None:
        raise _not_built(where)
    has_bias = getattr(cell, "use_bias", True) and getattr(cell, "bias", None) is not None
    return [
        _row(
            where,
            cell_name,
            units=int(cell.units),
            input_dim=int(cell.kernel.shape[0]),
            bias=has_bias,
            reset_after=bool(getattr(cell, "reset_after", False)),
            params=_weight_count(cell.weights),
            return_sequences=bool(layer.return_sequences),
            direction="backward" if getattr(layer, "go_backwards", False) else "forward",
        )
    ]


def _row(
    name: str,
    cell_name: str,
    *,
    units: int,
    input_dim: int,
    bias: bool,
    reset_after: bool,
    params: int,
    return_sequences: bool,
    direction: str = "forward",
) -> dict[str, Any]:
    """One row of the table: a recurrent layer (or cell, or layer of a stack layer)."""
    gates = _GATES.get(cell_name, 1)
    if not bias:
        bias_text = "none"
    elif cell_name == "GRU" and reset_after:
        bias_text = f"{_gated(gates, str(units))} + {_gated(gates, str(units))}"
    else:
        bias_text = _gated(gates, str(units))
    return {
        "L": None,
        "name": name,
        "cell": cell_name,
        "direction": direction,
        "units": units,
        "gates": gates,
        "input_dim": input_dim,
        "U": _gated(gates, f"{input_dim}x{units}"),
        "W": _gated(gates, f"{units}x{units}"),
        "B": bias_text,
        "params": params,
        "return_sequences": return_sequences,
        "time_distributed": False,
    }


def _stack_layer_rows(layer: Any) -> list[dict[str, Any]]:
    """An `LSTMStack`/`GRUStack`: one row per layer it holds, `{stack}/layer_{i}`, bottom to top."""
    if not layer.built:
        raise _not_built(layer.name)
    rows = []
    for index, units in enumerate(layer.units):
        weights = layer.layer_weights(index)
        rows.append(
            _row(
                f"{layer.name}/layer_{index}",
                layer.CELL,
                units=int(units),
                input_dim=int(weights[0].shape[0]),
                bias=True,
                reset_after=True,  # a GRUStack's cells are Keras's default GRU cells
                params=_weight_count(weights),
                return_sequences=layer.layer_return_sequences(index),
            )
        )
    return rows


def _not_built(where: str) -> ValueError:
    return ValueError(
        f"{where} is not built, so its input size (the shape of U^L) is unknown: "
        "give the model an input shape (keras.Input(shape=(timesteps, features)) "
        "as its first layer) or call model.build((None, timesteps, features)) "
        "before describe(model)"
    )


def _layer_rows(layer: Any) -> list[dict[str, Any]]:
    """The rows of a recurrent layer; an empty list for any other layer."""
    import keras

    if isinstance(layer, keras.layers.Bidirectional):
        forward_rows = _cell_rows(layer.forward_layer, layer.forward_layer.cell, layer.name)
        backward_rows = _cell_rows(layer.backward_layer, layer.backward_layer.cell, layer.name)
        merge = layer.merge_mode
        for row, back in zip(forward_rows, backward_rows):
            for key in ("cell", "units", "U", "W", "B"):
                if row[key] != back[key]:
                    row[key] = f"{row[key]} / {back[key]}"
            row["direction"] = f"bidirectional ({merge})" if merge else "bidirectional (None: 2 outputs)"
            row["params"] += back["params"]
            row["return_sequences"] = bool(layer.return_sequences)
        return forward_rows
    if isinstance(layer, keras.layers.TimeDistributed):
        # The wrapped recurrent layer runs once per outer timestep: its rows,
        # under the name a summary shows, marked as such.
        rows = _layer_rows(layer.layer)
        inner_name = layer.layer.name
        for row in rows:
            # "lstm" -> "time_distributed", "rnn/cell_0" -> "time_distributed/cell_0"
            suffix = row["name"][len(inner_name):] if row["name"].startswith(inner_name) else ""
            row["name"] = layer.name + suffix
            if not row["time_distributed"]:
                row["direction"] += ", per outer step"
            row["time_distributed"] = True
        return rows
    if isinstance(layer, keras.layers.RNN):
        return _cell_rows(layer, layer.cell, layer.name)
    if layer_stack_class(type(layer)) is not None:
        return _stack_layer_rows(layer)
    if isinstance(layer, keras.Model):
        return [row for inner in layer.layers for row in _layer_rows(inner)]
    return []


def _format_shape(shape: Any) -> str:
    return "(" + ", ".join("None" if d is None else str(d) for d in shape) + ")"


@dataclass
class StackDescription:
    """The recurrent stack of a model, one row per layer L.

    Returned by `describe(model)`. `str()` gives a fixed-width text table,
    `to_markdown()` a Markdown table, and notebooks show the HTML table from
    `_repr_html_()`.

    Attributes:
        model_name: the model's name.
        input_shapes: the shapes of the model's inputs, batch axis included.
        rows: one dict per recurrent layer, bottom (L = 1) to top, with keys
            `L`, `name`, `cell` (`"SimpleRNN"`, `"LSTM"`, `"GRU"`),
            `direction` (`"forward"`, `"backward"`, `"bidirectional (concat)"`...),
            `units`, `gates` (1, 4 or 3), `input_dim`, `U`, `W`, `B` (the
            shapes as text, per gate), `params` (counted from the layer's
            weights), `return_sequences` and `time_distributed` (True for a
            layer inside `TimeDistributed`, which runs over the inner time
            axis once per outer timestep; its `direction` then ends with
            `", per outer step"`).
            Each row also has `stack`, the 1-based stack it belongs to;
            in a model of several stacks (an encoder-decoder) `L` counts
            from 1 in each stack.
        model_params: `model.count_params()`.
        stacks: empty for a model of one stack; otherwise one dict per
            stack (`index`, `name`, `depth`, `header`: what its bottom layer
            reads and where its initial states come from), see
            `stacked_keras.stacks.find_stacks`.
        links: the links between stacks as sentences (`initial_state`,
            attention), empty for a model of one stack.
    """

    model_name: str
    input_shapes: list[tuple[Any, ...]]
    rows: list[dict[str, Any]] = field(default_factory=list)
    model_params: int = 0
    stacks: list[dict[str, Any]] = field(default_factory=list)
    links: list[str] = field(default_factory=list)

    @property
    def depth(self) -> int:
        """The number of recurrent layers in the stack (in the deepest one, for several stacks)."""
        if self.stacks:
            return max(stack["depth"] for stack in self.stacks)
        return len(self.rows)

    @property
    def recurrent_params(self) -> int:
        """The parameters of the recurrent layers, summed."""
        return sum(row["params"] for row in self.rows)

    @property
    def title(self) -> str:
        shapes = ", ".join(_format_shape(s) for s in self.input_shapes)
        if self.stacks:
            each = ", ".join(f"{stack['name']} (depth {stack['depth']})" for stack in self.stacks)
            return f"Stacks of model '{self.model_name}': input {shapes}; {len(self.stacks)} stacks: {each}"
        return f"Stack of model '{self.model_name}': input {shapes}, depth {self.depth}"

    def _groups(self) -> list[tuple[str | None, list[list[str]]]]:
        """(stack header or None, rows as text) per stack, in order."""
        cells = self._cells()
        if not self.stacks:
            return [(None, cells)]
        return [
            (stack["header"], [c for c, row in zip(cells, self.rows) if row["stack"] == stack["index"]])
            for stack in self.stacks
        ]

    @property
    def legend(self) -> tuple[str, ...]:
        """The legend lines: `LEGEND`, plus `TIME_DISTRIBUTED_NOTE` when a row needs it."""
        if any(row.get("time_distributed") for row in self.rows):
            return LEGEND + (TIME_DISTRIBUTED_NOTE,)
        return LEGEND

    @property
    def footer(self) -> str:
        share = 100.0 * self.recurrent_params / self.model_params if self.model_params else 0.0
        return (
            f"Recurrent params: {self.recurrent_params:,} of {self.model_params:,} "
            f"model params ({share:.1f}%)"
        )

    def _cells(self) -> list[list[str]]:
        return [[_cell_text(row[key]) for key, _, _ in COLUMNS] for row in self.rows]

    def __str__(self) -> str:
        headers = [text for _, text, _ in COLUMNS]
        body = self._cells()
        widths = [max(len(h), *(len(r[i]) for r in body)) if body else len(h) for i, h in enumerate(headers)]
        line = "  ".join("-" * w for w in widths)
        header = "  ".join(h.ljust(w) for h, w in zip(headers, widths)).rstrip()
        lines = [self.title]
        for stack_header, group in self._groups():
            if stack_header is not None:
                lines.append(stack_header)
            lines += [line, header, line]
            for r in group:
                lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
            lines.append(line)
        if self.links:
            lines += ["Links between stacks:", *(f"  {link}" for link in self.links)]
        lines += [self.footer, *self.legend]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def to_markdown(self) -> str:
        """The table in Markdown, with the title above and the footer below."""
        headers = [text.replace("^L", "<sup>L</sup>") for _, text, _ in COLUMNS]
        numeric = ("L", "units", "gates", "params")
        rule = "|" + "|".join("---:" if key in numeric else "---" for key, _, _ in COLUMNS) + "|"
        lines = [f"**{self.title}**", ""]
        for stack_header, group in self._groups():
            if stack_header is not None:
                lines += [f"*{_markdown_escape(stack_header)}*", ""]
            lines += ["| " + " | ".join(headers) + " |", rule]
            lines += ["| " + " | ".join(_markdown_escape(c) for c in r) + " |" for r in group]
            lines.append("")
        if self.links:
            lines += ["Links between stacks:", ""] + [f"- {_markdown_escape(link)}" for link in self.links] + [""]
        lines += [self.footer, ""] + [f"- {_markdown_escape(text)}" for text in self.legend]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The table in HTML, for notebooks."""
        head = "".join(f"<th>{h}</th>" for _, _, h in COLUMNS)
        body = ""
        for stack_header, group in self._groups():
            if stack_header is not None:
                body += f'<tr><th colspan="{len(COLUMNS)}" style="text-align:left">{html.escape(stack_header)}</th></tr>'
            body += "".join(
                "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in r) + "</tr>" for r in group
            )
        notes = "".join(f"<br><small>{html.escape(text)}</small>" for text in self.links + list(self.legend))
        return (
            '<table class="stacked-keras-describe">'
            f"<caption>{html.escape(self.title)}</caption>"
            f"<thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody>"
            f'<tfoot><tr><td colspan="{len(COLUMNS)}">{html.escape(self.footer)}{notes}</td></tr></tfoot>'
            "</table>"
        )


def _markdown_escape(text: str) -> str:
    for char in ("\\", "_", "*", "|"):
        text = text.replace(char, "\\" + char)
    return text


def _cell_text(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def describe(model: Any) -> StackDescription:
    """Describes a model's recurrent stack in the seed's notation.

    Lists one row per recurrent layer L = 1..depth, bottom to top, in the
    order of `model.layers` (looking inside `Bidirectional` and
    `TimeDistributed` wrappers, `RNN` layers over cells, one row per cell of
    an `RNN` over a list of cells, one row per layer of an `LSTMStack` or
    `GRUStack`, named `{stack}/layer_{i}`, and nested models): the cell type, the
    number of units and gates, the
    shapes of `U^L` (vertical input), `W^L` (recurrent) and `B^L` (bias),
    the parameter count and `return_sequences`.

    Args:
        model: a built `keras.Model` (its input shape must be known, since
            the shape of `U^1` depends on it).

    Returns:
        A `StackDescription`: print it for a text table, or read `.rows`.

    Raises:
        ValueError: if `model` is not a Keras model, is not built (no known
            input shape), or has no recurrent layer.

    Example:

    >>> import keras
    >>> model = keras.Sequential([keras.Input((None, 3)),
    ...                           keras.layers.SimpleRNN(3, return_sequences=True),
    ...                           keras.layers.SimpleRNN(2)])
    >>> [(r["U"], r["W"]) for r in describe(model).rows]
    [('3x3', '3x3'), ('3x2', '2x2')]
    """
    import keras

    if not isinstance(model, keras.Model):
        raise ValueError(f"model must be a keras.Model, got {type(model).__name__}")
    if not model.built:
        raise _not_built(f"model {model.name!r}")
    rows = [row for layer in model.layers for row in _layer_rows(layer)]
    if not rows:
        classes = sorted({type(layer).__name__ for layer in model.layers})
        raise ValueError(
            f"model {model.name!r} has no recurrent layer (SimpleRNN, LSTM, GRU, RNN, LSTMStack, "
            f"GRUStack, or Bidirectional or TimeDistributed of one); its layers are: {', '.join(classes) or 'none'}"
        )
    for depth, row in enumerate(rows, start=1):
        row["L"] = depth
        row["stack"] = 1
    stacks, links = _split_into_stacks(model, rows)
    try:
        input_shapes = [tuple(t.shape) for t in model.inputs]
    except (AttributeError, ValueError):
        input_shapes = []
    return StackDescription(
        model_name=model.name,
        input_shapes=input_shapes,
        rows=rows,
        model_params=int(model.count_params()),
        stacks=stacks,
        links=links,
    )


def _split_into_stacks(model: Any, rows: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], list[str]]:
    """Numbers the rows per stack when the model holds several (an encoder-decoder).

    Reads the model's graph (`stacked_keras.stacks.find_stacks`). Leaves the
    rows as one stack, and returns `([], [])`, when the graph shows one
    stack, hides its wiring (a subclassed model), or when a row cannot be
    matched to a node of the graph.
    """
    from stacked_keras.lint.from_model import graph_from_model
    from stacked_keras.stacks import find_stacks

    graph = graph_from_model(model)
    if graph.opaque:  # a subclassed model: its wiring is in Python code, not in the graph
        return [], []
    found, cross = find_stacks(graph)
    if len(found) < 2:
        return [], []
    position = {node.name: (stack.index, level) for stack in found for level, node in enumerate(stack.layers, 1)}
    owners = []
    for row in rows:
        name = row["name"]
        owner = position.get(name) or position.get(name.split("/")[0])
        if owner is None:
            return [], []
        owners.append(owner)
    first_row: dict[tuple[int, int], int] = {}  # (stack, level) -> L of its first row
    count: dict[int, int] = {}
    for row, owner in zip(rows, owners):
        count[owner[0]] = count.get(owner[0], 0) + 1
        row["stack"], row["L"] = owner[0], count[owner[0]]
        first_row.setdefault(owner, row["L"])

    def named(where: tuple[int, int]) -> str:
        stack = found[where[0] - 1]
        return f"{stack.name} L{first_row[where]} ({stack.layers[where[1] - 1].name})"

    links = []
    for link in cross:
        if link.kind == "initial_state":
            links.append(f"initial_state: {named(link.source)} -> {named(link.target)}")
        else:
            links.append(f"attention ({link.via}): {named(link.target)} attends over {named(link.source)}")
    stacks = []
    for stack in found:
        parts = [f"L1 reads {', '.join(named(w) for w in stack.reads) or stack.reads_from or 'the input'}"]
        states = [named(link.source) for link in cross if link.kind == "initial_state" and link.target[0] == stack.index]
        if states:
            parts.append(f"initial states from {', '.join(states)}")
        stacks.append({
            "index": stack.index,
            "name": stack.name,
            "depth": count.get(stack.index, 0),
            "header": f"Stack {stack.index}, {stack.name}: " + "; ".join(parts),
        })
    return stacks, links

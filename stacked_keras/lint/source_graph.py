"""`SourceFrontEnd`: the hooks that turn a Python program's evaluated Keras calls into `ModelGraph`s.

The Python evaluator (`stacked_keras.lint.pyeval`) runs the program; this
front-end is its `Hooks`. It reads module paths as Keras names
(`tf.keras.layers.LSTM` is `keras.layers.LSTM`; `from keras.layers import *`
makes `LSTM` one), builds layers, tensors and models from the calls of those
names (`source_calls.py`), remembers where each recurrent layer's
`return_sequences` was written (`source_origins.py`), keeps the models'
state through the evaluator's branches and loops, and finally emits one
`ModelGraph` per model. All Keras knowledge comes from
`stacked_keras.keras_catalogue`.
"""

from __future__ import annotations

import ast
import bisect
from typing import Any

from stacked_keras.graph import UNKNOWN, LayerNode, Location, ModelGraph
from stacked_keras.keras_catalogue import RANK_KEEPING, RECURRENT_LAYERS, STACK_LAYERS, WRAPPERS
from stacked_keras.lint.pyeval import PLAIN, ClassValue, Evaluator, Hooks, MethodRef, ModuleRef, ObjectValue
from stacked_keras.lint.source_assumed import AssumedNamesMixin
from stacked_keras.lint.source_arrays import (
    ArrayValue,
    array_attribute,
    array_binary,
    array_items,
    array_subscript,
    array_unary,
    join_arrays,
    target_of,
)
from stacked_keras.lint.source_calls import KerasCallsMixin
from stacked_keras.lint.source_origins import LayerCall, OriginsMixin
from stacked_keras.lint.source_partial import PartialsMixin
from stacked_keras.lint.source_values import (
    LAYER,
    LAYER_BASE,
    MODEL,
    SEQUENTIAL,
    DagNode,
    LayerChoice,
    LayerValue,
    ModelRecord,
    TensorValue,
    canonical_path,
    copy_template,
    keras_kind,
    snake_case,
)

__all__ = ["SourceFrontEnd", "LayerCall"]


class _Loop:
    """A loop of unknown length as the front-end follows it: its first dag node, and its last run's."""

    __slots__ = ("first_node", "last_run")

    def __init__(self, first_node: int) -> None:
        self.first_node = first_node
        self.last_run = first_node


class SourceFrontEnd(AssumedNamesMixin, PartialsMixin, KerasCallsMixin, OriginsMixin, Hooks):
    """Runs a module's statements abstractly and collects the Keras models it builds.

    One instance reads one program (a `.py` module, or the code cells of one
    notebook). `run` returns the graphs; `layer_calls` then maps each
    recurrent layer constructor call to the `LayerCall` the fixer edits.

    Args:
        lines: the program's lines, used to turn the `ast` module's UTF-8 byte
            columns into character columns.
        path: the file as the user gave it, copied into every `Location`.
        origin: `"source"` or `"notebook"`, copied into `ModelGraph.origin`.
        cell_starts: for notebooks, `(first_line, cell_number)` per cell in
            the joined program, sorted by line; None for `.py` files.

    Example:

    >>> front_end = SourceFrontEnd(["import keras", "m = keras.Sequential([keras.layers.LSTM(4)])"])
    >>> graphs = front_end.run([ast.parse("import keras\\nm = keras.Sequential([keras.layers.LSTM(4)])")])
    >>> graphs[0].nodes[0].cls
    'LSTM'
    """

    def __init__(self, lines: list[str], path: str | None = None, origin: str = "source",
                 cell_starts: list[tuple[int, int]] | None = None) -> None:
        self.lines = lines
        self._ascii = all(map(str.isascii, lines))
        self.path = path
        self.origin = origin
        self.cell_starts = cell_starts
        self._cell_lines = [start for start, _ in cell_starts] if cell_starts else None
        self.layer_calls: dict[tuple[int | None, int, int], LayerCall] = {}
        self.dag: list[DagNode] = []
        self.records: list[ModelRecord] = []
        self.sequentials: list[ModelRecord] = []
        # Templates located by `_parameter_origin` (ids).
        self._traced: set[int] = set()
        self._init_assumed()
        # The targets each model's `fit` calls were given: (shape, where) (see `source_arrays.py`).
        self.fit_targets: dict[ModelRecord, list[tuple[tuple, Location]]] = {}
        self.evaluator = Evaluator(self)

    def run(self, modules: list[ast.Module]) -> list[ModelGraph]:
        """Runs the modules' statements in order and returns the models built.

        Functions and model classes that the program never calls are then
        analysed on their own (see `Evaluator.run`), so that a model built
        inside `def build_model(): ...` or a `keras.Model` subclass is found
        too.

        Args:
            modules: parsed modules (one per notebook cell, or a single one).

        Returns:
            One `ModelGraph` per model, in the order they were written; an
            empty list when the program's own statements are too many to
            analyse (more than `MAX_STEPS` statements and calls, loops
            unrolled).
        """
        self._program.extend(modules)
        self._foreign_star = None
        try:
            if not self.evaluator.run(modules):
                return []
            return self._emit()
        finally:
            # The evaluator and its hooks point at each other; letting go here means no reference
            # cycle keeps the dag and the program's values alive until the garbage collector runs.
            self.evaluator.hooks = None
            vars(self).pop("call_module", None)  # the marking hook `_assumed_name` set: a cycle too

    # -- positions -------------------------------------------------------------------
    def _char_column(self, line: int, byte_column: int) -> int:
        if not self._ascii and 0 < line <= len(self.lines):
            text = self.lines[line - 1]
            if not text.isascii():
                return len(text.encode("utf-8")[:byte_column].decode("utf-8", errors="ignore"))
        return byte_column

    def cell_position(self, line: int) -> tuple[int | None, int]:
        """`(cell, line in cell)` for a line of the joined program; `(None, line)` for `.py`."""
        if self._cell_lines is None:
            return None, line
        index = bisect.bisect_right(self._cell_lines, line) - 1
        if index < 0:
            return None, line
        start, cell = self.cell_starts[index]
        return cell, line - start + 1

    def location(self, node: ast.AST) -> Location:
        """The `Location` of an `ast` node: 1-based character columns, cell-relative lines."""
        line = node.lineno
        end_line = getattr(node, "end_lineno", None) or line
        end_offset = getattr(node, "end_col_offset", None) or 0
        if self._ascii:  # byte columns are character columns (the common case, on the hot path)
            column, end_column = node.col_offset + 1, end_offset + 1
        else:
            column = self._char_column(line, node.col_offset) + 1
            end_column = self._char_column(end_line, end_offset) + 1
        if self._cell_lines is None:
            return Location(self.path, line, column, None, end_line, end_column)
        cell, line = self.cell_position(line)
        _, end_line = self.cell_position(end_line)
        return Location(self.path, line, column, cell, end_line, end_column)

    # -- bookkeeping -----------------------------------------------------------------
    def _new_node(self, template: LayerNode, inputs: list[tuple[int, str, int]]) -> int:
        self.dag.append(DagNode(template, inputs, self.evaluator.iteration_branches > 0))
        return len(self.dag) - 1

    def _new_record(self, kind: str, node: ast.AST | None) -> ModelRecord:
        record = ModelRecord(kind, self.location(node) if node is not None else None, self.evaluator.frame.function)
        self.records.append(record)
        if kind == SEQUENTIAL:
            self.sequentials.append(record)
        return record

    # -- names and classes (Hooks) -----------------------------------------------------------
    # Keras's import spellings made one: `tf.keras.layers.LSTM` -> `keras.layers.LSTM` (cached, called directly).
    resolve_module = staticmethod(canonical_path)

    def name_missing(self, name: str) -> Any:
        """A Keras name that a `from keras.layers import *` brought in, or one the program never binds.

        An unbound public Keras name (`LSTM` in a snippet without imports) is
        read as Keras's, and remembered as assumed (`source_assumed.py`).
        """
        for module in self.evaluator.star_imports:
            if keras_kind(f"{module}.{name}") is not None:
                return ModuleRef(canonical_path(f"{module}.{name}"))
        return self._assumed_name(name)

    def bound(self, name: str, value: Any) -> None:
        """A model is named after the first name (or attribute) it is bound to."""
        if isinstance(value, ModelRecord) and value.name is None:
            value.name = name

    def class_kind(self, bases: list[Any]) -> str:
        """`"model"` for a `keras.Model` subclass, `"layer"` for a `keras.layers.Layer` one, else `PLAIN`."""
        kind = PLAIN
        for base in bases:
            if isinstance(base, ModuleRef):
                found = keras_kind(base.path)
                if found is not None and found[0] in (MODEL, SEQUENTIAL):
                    kind = "model"
                elif found is not None and found[0] in (LAYER_BASE, LAYER) and kind == PLAIN:
                    kind = "layer"
            elif isinstance(base, ClassValue) and base.kind != PLAIN:
                kind = base.kind if kind == PLAIN else kind
        return kind

    # -- values the front-end owns (Hooks) -------------------------------------------------------
    def attribute(self, owner: Any, name: str, node: ast.Attribute) -> Any:
        """`model.output(s)`/`model.input(s)`, other model attributes as methods, a layer's setting."""
        if isinstance(owner, ModelRecord):
            if name in ("output", "outputs"):
                return TensorValue(tuple(owner.frontier if owner.kind == SEQUENTIAL else owner.outputs))
            if name in ("input", "inputs"):
                inputs = owner.inputs if owner.kind != SEQUENTIAL else [
                    m for m in owner.members[:1] if self.dag[m].template.kind == "input"]
                return TensorValue(tuple(inputs))
            return MethodRef(owner, name)
        if isinstance(owner, LayerValue):
            if name in owner.template.config:
                return owner.template.config[name]
        if isinstance(owner, ArrayValue):
            return array_attribute(owner, name)
        return UNKNOWN

    def binary(self, op: ast.operator, left: Any, right: Any, node: ast.AST) -> Any:
        """An operator on tensors is an op node (`x + y` is `add`)."""
        if isinstance(left, TensorValue) or isinstance(right, TensorValue):
            inputs = self._tensor_inputs([left, right])
            template = LayerNode(name="", cls=_BINARY_OP_NAMES.get(type(op), "binary_op"), config={},
                                 location=self.location(node), kind="op")
            return TensorValue((self._new_node(template, self._edges(inputs, "input")),))
        return array_binary(op, left, right)

    def unary(self, op: ast.unaryop, operand: Any, node: ast.UnaryOp) -> Any:
        if isinstance(operand, TensorValue):
            template = LayerNode(name="", cls="negative", config={}, location=self.location(node), kind="op")
            return TensorValue((self._new_node(template, self._edges([operand.producers], "input")),))
        return array_unary(operand) if isinstance(operand, ArrayValue) else UNKNOWN

    def subscript(self, container: Any, index: Any, node: ast.Subscript) -> Any:
        """An item of a layer's list of outputs (`return_state=True`), or a `getitem` op on a tensor."""
        if isinstance(container, TensorValue):
            if container.multi and isinstance(index, int):
                return TensorValue(container.producers)
            template = LayerNode(name="", cls="getitem", config={}, location=self.location(node), kind="op")
            return TensorValue((self._new_node(template, self._edges([container.producers], "input")),))
        if isinstance(container, ArrayValue):
            return array_subscript(container, index, node)
        return UNKNOWN

    def unpack(self, value: Any, count: int) -> list[Any] | None:
        """`output, h, c = LSTM(4, return_state=True)(x)`: each name is that tensor."""
        if isinstance(value, ArrayValue):
            return array_items(value, count)
        return [value] * count if isinstance(value, TensorValue) else None

    def join(self, values: list[Any]) -> Any:
        """Tensors join into one with every producer; layers into a `LayerChoice`."""
        if all(isinstance(v, TensorValue) for v in values):
            producers: list[int] = []
            for v in values:
                producers.extend(p for p in v.producers if p not in producers)
            return TensorValue(tuple(producers), any(v.multi for v in values))
        if all(self._is_layer_like(v) for v in values):
            options: list[Any] = []
            for v in values:
                for option in (v.options if isinstance(v, LayerChoice) else [v]):
                    if not any(option is seen for seen in options):
                        options.append(option)
            return LayerChoice(options)
        if all(isinstance(v, ArrayValue) for v in values):
            return join_arrays(values)
        return UNKNOWN

    @staticmethod
    def _is_layer_like(value: Any) -> bool:
        return isinstance(value, (LayerValue, LayerChoice)) or (
            isinstance(value, ObjectValue) and value.cls.kind in ("model", "layer"))

    # -- state through branches and loops (Hooks): the `Sequential` frontiers -----------------------
    def mark(self) -> int:
        return len(self.sequentials)

    def save(self, mark: int) -> list[tuple[int, ...]]:
        return [record.frontier for record in self.sequentials[:mark]]

    def restore(self, saved: list[tuple[int, ...]]) -> None:
        for record, frontier in zip(self.sequentials, saved):
            record.frontier = frontier

    def join_saved(self, states: list[list[tuple[int, ...]]]) -> None:
        for index, record in enumerate(self.sequentials[:len(states[0])]):
            joined: list[int] = []
            for frontiers in states:
                for producer in frontiers[index]:
                    if producer not in joined:
                        joined.append(producer)
            record.frontier = tuple(joined)

    def unit_started(self) -> tuple[int, int]:
        return len(self.records), len(self.sequentials)

    def unit_finished(self, mark: tuple[int, int], abandoned: bool) -> None:
        """A unit over budget is abandoned with the models it had started; `Sequential` frontiers are forgotten."""
        records, sequentials = mark
        if abandoned:
            del self.records[records:]
        del self.sequentials[sequentials:]

    # -- loops of unknown length (Hooks) -------------------------------------------------------------
    def loop_started(self, node: ast.AST, target: ast.AST | None, trip_count: int | None) -> _Loop:
        return _Loop(len(self.dag))

    def loop_run(self, loop: _Loop, index: int, names: set[str]) -> None:
        """Before each run but the first, keeps the paths of iteration branches that go on."""
        if index:
            self._keep_alternatives(loop.first_node, names, continuing=True)
        loop.last_run = len(self.dag)

    def loop_finished(self, loop: _Loop, names: set[str]) -> None:
        """Leaving the loop, keeps the paths of iteration branches that end it."""
        self._keep_alternatives(loop.first_node, names, continuing=False, last_run=loop.last_run)

    def _keep_alternatives(self, first_node: int, names: set[str], continuing: bool,
                           last_run: int | None = None) -> None:
        """Keeps, of the parallel paths an iteration-dependent branch made, those that go on.

        A branch that tests the loop's variables (`if i < n - 1:` ... `else:`)
        cannot be told apart per iteration. When its alternatives disagree on
        `return_sequences`, the ones returning a sequence are taken as the
        iterations followed by another, and the ones returning a vector as
        the last. `continuing=True` (before the next run of a loop) keeps the
        paths whose recurrent layer returns a sequence; `continuing=False`
        (leaving the loop) keeps those whose recurrent layer returns a
        vector. Applies to the `Sequential` frontiers and to the tensors bound
        to the names the loop changes; only when both kinds are present.
        Leaving the loop, a `Sequential` also drops the layers of the last
        run's paths that would only have fed a further run (`last_run`: the
        first dag node of that run).
        """
        for record in self.sequentials:
            record.frontier = self._alternatives(record.frontier, first_node, continuing)
            if last_run is not None:
                self._drop_unfinished(record, last_run)
        variables = self.evaluator.scope.vars
        for name in names:
            value = variables.get(name)
            if isinstance(value, TensorValue) and len(value.producers) > 1:
                kept = self._alternatives(value.producers, first_node, continuing)
                if kept != value.producers:
                    variables[name] = TensorValue(kept, value.multi)

    def _drop_unfinished(self, record: ModelRecord, last_run: int) -> None:
        """Removes from a `Sequential` the layers of a loop's last run that lead nowhere.

        They are the paths of an iteration that a further one would have
        followed (dropped from the loop's exit by `_keep_alternatives` or by
        an iteration-dependent `break`): no later layer reads them.
        """
        if not record.members or record.members[-1] < last_run:
            return
        frontier = set(record.frontier)
        while True:
            read = {src for member in record.members for src, _, _ in self.dag[member].inputs}
            unfinished = {m for m in record.members if m >= last_run and m not in frontier and m not in read}
            if not unfinished:
                return
            record.members = [m for m in record.members if m not in unfinished]

    def _alternatives(self, producers: tuple[int, ...], first_node: int, continuing: bool) -> tuple[int, ...]:
        if len(producers) < 2:
            return producers
        kinds = [self._branch_returns_sequences(p, first_node) for p in producers]
        if True not in kinds or False not in kinds:
            return producers
        return tuple(p for p, kind in zip(producers, kinds) if kind is None or kind is continuing)

    def _branch_returns_sequences(self, producer: int, first_node: int) -> bool | None:
        """True/False: `return_sequences` of the recurrent layer an iteration-dependent branch ends with.

        Follows rank-keeping layers (Dropout, normalization...) back to it;
        None for anything else.
        """
        for _ in range(16):
            if producer < first_node:
                return None
            dag_node = self.dag[producer]
            if not dag_node.branch:
                return None
            template = dag_node.template
            core = template
            while core.cls in WRAPPERS and core.wrapped is not None:
                core = core.wrapped
            if core.cls in RECURRENT_LAYERS or core.cls in STACK_LAYERS:
                value = core.config.get("return_sequences", False)
                return value if isinstance(value, bool) else None
            if template.cls not in RANK_KEEPING or len(dag_node.inputs) != 1:
                return None
            producer = dag_node.inputs[0][0]
        return None

    # -- graphs ------------------------------------------------------------------------
    def _emit(self) -> list[ModelGraph]:
        """One graph per model built; a model that a loop's runs built twice, the same, is one graph."""
        graphs = []
        located: dict[Location, list[tuple]] = {}
        for record in self.records:
            if record.nested or not record.members:
                continue
            if record.kind == "subclass" and not any(self.dag[m].template.kind == "layer" for m in record.members):
                continue  # a custom layer written with ops only (no Keras layer inside)
            graph = self._graph_of(record)
            if record.location is not None:
                signature = _graph_signature(graph)
                seen = located.setdefault(record.location, [])
                if signature in seen:
                    continue
                seen.append(signature)
            graphs.append(graph)
        return graphs

    def _graph_of(self, record: ModelRecord) -> ModelGraph:
        default = "sequential" if record.kind == SEQUENTIAL else "model"
        name = record.name or record.keras_name or record.function_name or default
        graph = ModelGraph(name=name, path=self.path, location=record.location, origin=self.origin,
                           loss=record.loss)
        members = sorted(set(record.members))
        graph.assumed = self._assumptions_of(record, members)
        position = {node_id: index for index, node_id in enumerate(members)}
        names: dict[int, str] = {}
        counts: dict[str, int] = {}
        for node_id in members:
            template = self.dag[node_id].template
            node = copy_template(template)
            if not node.name:
                key = id(template)
                if key not in names:
                    base = template.cls if template.kind == "op" else snake_case(template.cls.rsplit(">", 1)[-1])
                    count = counts.get(base, 0)
                    counts[base] = count + 1
                    names[key] = base if count == 0 else f"{base}_{count}"
                node.name = names[key]
            graph.add(node)
        seen_edges = set()
        for node_id in members:
            for src, role, index in self.dag[node_id].inputs:
                if src in position and (src, node_id, role, index) not in seen_edges:
                    seen_edges.add((src, node_id, role, index))
                    graph.connect(position[src], position[node_id], role, index)
        if record.kind == SEQUENTIAL:
            graph.inputs = [0] if graph.nodes and graph.nodes[0].kind == "input" else []
            outputs = record.frontier
        else:
            graph.inputs = [position[i] for i in dict.fromkeys(record.inputs) if i in position]
            outputs = tuple(record.outputs)
        graph.outputs = [position[o] for o in dict.fromkeys(outputs) if o in position]
        if record in self.fit_targets and len(graph.outputs) == 1:
            graph.target_shape, graph.target_location = target_of(self.fit_targets[record])
        return graph


def _graph_signature(graph: ModelGraph) -> tuple:
    """What tells two graphs built by one call apart: names, layers, settings, wiring."""
    return (
        graph.name, graph.loss,
        tuple((n.name, n.cls, n.kind, repr(n.config), n.location, n.wrapped and repr(n.wrapped)) for n in graph.nodes),
        tuple(graph.edges), tuple(graph.inputs), tuple(graph.outputs),
    )


# Op names for operators written on tensors.
_BINARY_OP_NAMES = {
    ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide",
    ast.FloorDiv: "floor_divide", ast.Mod: "mod", ast.Pow: "power", ast.MatMult: "matmul",
}

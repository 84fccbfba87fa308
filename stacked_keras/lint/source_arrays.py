"""Array shapes in linted source: the training targets a `fit` call is given.

The source front-end (`SourceFrontEnd`) evaluates a program without running
it; this module gives it the shapes of the NumPy arrays the program builds,
so that rule SK102 can compare a model's per-timestep output with the
target passed to `fit` (`model.fit(x, y)`, `fit(x=..., y=...)`,
`validation_data=(x_val, y_val)`). Shapes are tracked as the evaluator
tracks other values: an `ArrayValue` holds a shape whose sizes may be
unknown (`None`), and any array whose rank cannot be known (data read from
a file, a DataFrame, a dataset from `keras.datasets`) stays `UNKNOWN`, so
that it never gives a target shape.

What is read:

- `np.array([...])` / `np.asarray(...)` of nested literals or of arrays;
- `np.stack`, `np.concatenate`/`np.vstack` along the first axis;
- `np.zeros`, `np.ones`, `np.empty`, `np.full` (and their `_like` forms),
  `np.arange`, `np.linspace`, elementwise functions (`np.sin(x)`, ...);
- `np.random.rand/randn(*dims)`, `np.random.random/randint/normal/uniform/
  choice/binomial/poisson(..., size=...)`;
- `keras.utils.to_categorical(labels, k)` (and `tf.keras.utils...`,
  `to_categorical` imported by name);
- `.reshape(...)` (with `-1` when the size is known), `np.reshape`,
  `np.expand_dims`, `.squeeze`, `.flatten`, `.T`, indexing with ints,
  slices, `None`/`np.newaxis` and `...` (`y[:800]`, `y[:, -1]`,
  `y[..., None]`);
- `sklearn.model_selection.train_test_split(x, y, ...)`: each part keeps
  its trailing sizes (the first one becomes unknown);
- operators between arrays and numbers (`y * 2`, `-y`).
"""

from __future__ import annotations

import ast
import math
from typing import Any

from stacked_keras.lint.pyeval import UNKNOWN, CallArgs, External, MethodRef, ModuleRef, UnknownLengthList

__all__ = ["ArrayValue", "array_call", "array_attribute", "array_items", "array_method", "array_subscript",
           "array_binary", "array_unary", "join_arrays", "fit_targets", "target_of"]

Shape = tuple[Any, ...]  # sizes: int, or None when not known

# Highest rank an array may have here (deeper literals are not worth reading).
_MAX_RANK = 8


class ArrayValue(External):
    r"""A NumPy array of the linted program, known by its shape.

    Args:
        shape: one size per axis: an int, or None when that size is not known.

    Example:

    >>> import ast
    >>> from stacked_keras.lint.source_graph import SourceFrontEnd
    >>> code = "import numpy as np\ny = np.random.rand(100, 1)[:80]\nz = y.reshape(-1)[..., None]"
    >>> front_end = SourceFrontEnd(code.splitlines())
    >>> _ = front_end.run([ast.parse(code)])
    >>> front_end.evaluator.scope.vars["y"], front_end.evaluator.scope.vars["z"]
    (ArrayValue((80, 1)), ArrayValue((80, 1)))
    """

    __slots__ = ("shape",)
    truth = None  # `if y:` is ambiguous for an array

    def __init__(self, shape: Shape) -> None:
        self.shape = tuple(shape)

    def __repr__(self) -> str:
        return f"ArrayValue({self.shape})"


# ---------------------------------------------------------------------------
# shapes from values
# ---------------------------------------------------------------------------


# Sizes above this are read as not known (no real array is that large; `len(range(...))` stays defined).
_MAX_SIZE = 1 << 48


def _size(value: Any) -> int | None:
    """A known non-negative size, else None."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= _MAX_SIZE:
        return value
    return None


def _shape_argument(value: Any) -> Shape | None:
    """A shape as `np.zeros` and `size=` take it: an int or a sequence of ints (unknown sizes as None)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return (_size(value),)
    if value is UNKNOWN:
        return None
    if isinstance(value, (list, tuple)) and not isinstance(value, UnknownLengthList) and len(value) <= _MAX_RANK:
        if any(isinstance(d, (list, tuple, dict, str, External)) for d in value):
            return None
        return tuple(_size(d) for d in value)
    return None


def shape_of(value: Any, depth: int = 0) -> Shape | None:
    """The shape of an array-like value: an `ArrayValue`, a number, or nested lists and tuples of them.

    Returns None when the rank cannot be known (anything `UNKNOWN` inside,
    ragged nesting, strings of lists...).
    """
    if isinstance(value, ArrayValue):
        return value.shape
    if isinstance(value, (bool, int, float, complex, str, bytes)):
        return ()
    if depth >= _MAX_RANK or not isinstance(value, (list, tuple)):
        return None
    items = list(value)
    if not items:
        return None if isinstance(value, UnknownLengthList) else (0,)
    shapes = [shape_of(item, depth + 1) for item in items]
    if any(s is None for s in shapes):
        return None
    first = shapes[0]
    if any(len(s) != len(first) for s in shapes):
        return None
    inner = tuple(d if all(s[i] == d for s in shapes) else None for i, d in enumerate(first))
    return (None if isinstance(value, UnknownLengthList) else len(items),) + inner


def _count(shape: Shape) -> int | None:
    if any(d is None for d in shape):
        return None
    return math.prod(shape)


def _reshaped(shape: Shape, new: Shape | None) -> ArrayValue | Any:
    """`a.reshape(new)`: one -1 is worked out when every other size is known."""
    if new is None:
        return UNKNOWN
    wanted = list(new)
    unknown_at = [i for i, d in enumerate(wanted) if d is None]
    if len(unknown_at) == 1:
        total = _count(shape)
        rest = _count(tuple(d for i, d in enumerate(wanted) if i != unknown_at[0]))
        if total is not None and rest:
            wanted[unknown_at[0]] = total // rest
    return ArrayValue(tuple(wanted))


def _reshape_sizes(args: list[Any]) -> Shape | None:
    """The new shape of `a.reshape(2, -1)` or `a.reshape((2, -1))`; -1 (and unknown sizes) as None."""
    value = args[0] if len(args) == 1 else tuple(args)
    shape = _shape_argument(value)
    if shape is None:
        return None
    if isinstance(value, int):
        value = (value,)
    # `_shape_argument` reads -1 as None already; anything else below zero is an error in the program
    if any(isinstance(d, int) and d < -1 for d in value):
        return None
    return shape


def _expand(shape: Shape, axis: Any) -> ArrayValue | Any:
    if not isinstance(axis, int) or isinstance(axis, bool):
        return UNKNOWN
    rank = len(shape) + 1
    if not -rank <= axis < rank:
        return UNKNOWN
    axis %= rank
    return ArrayValue(shape[:axis] + (1,) + shape[axis:])


def _squeezed(shape: Shape, axis: Any = None) -> ArrayValue | Any:
    if axis is None:
        if any(d is None for d in shape):
            return UNKNOWN  # an unknown size may be 1
        return ArrayValue(tuple(d for d in shape if d != 1))
    if isinstance(axis, int) and not isinstance(axis, bool) and -len(shape) <= axis < len(shape):
        axis %= len(shape)
        return ArrayValue(shape[:axis] + shape[axis + 1:])
    return UNKNOWN


def _broadcast(a: Shape, b: Shape) -> Shape:
    """The shape NumPy broadcasting gives two shapes (sizes it cannot tell as None)."""
    rank = max(len(a), len(b))
    a = (1,) * (rank - len(a)) + tuple(a)
    b = (1,) * (rank - len(b)) + tuple(b)
    result = []
    for x, y in zip(a, b):
        if x == y or y == 1:
            result.append(x)
        elif x == 1:
            result.append(y)
        else:
            result.append(None)
    return tuple(result)


def join_arrays(values: list[Any]) -> ArrayValue | Any:
    """Arrays met from several branches: one shape, with sizes that differ unknown; UNKNOWN if ranks differ."""
    shapes = [v.shape for v in values]
    if any(len(s) != len(shapes[0]) for s in shapes):
        return UNKNOWN
    return ArrayValue(tuple(d if all(s[i] == d for s in shapes) else None for i, d in enumerate(shapes[0])))


# ---------------------------------------------------------------------------
# calls of NumPy, Keras and scikit-learn names
# ---------------------------------------------------------------------------

# `np.random.X(..., size)`: where `size` goes when written positionally.
_RANDOM_SIZE_AT = {
    "random": 0, "random_sample": 0, "ranf": 0, "sample": 0, "standard_normal": 0,
    "randint": 2, "uniform": 2, "normal": 2, "binomial": 2, "beta": 2, "gamma": 2, "lognormal": 2,
    "poisson": 1, "choice": 1, "exponential": 1,
}
_ELEMENTWISE = frozenset({
    "sin", "cos", "tan", "exp", "log", "log1p", "sqrt", "abs", "absolute", "tanh", "round", "rint",
    "floor", "ceil", "clip", "sign", "square", "float32", "float64", "int32", "int64",
    "copy", "nan_to_num", "negative",
})
_FILLED = frozenset({"zeros", "ones", "empty", "full"})
_CONVERT = frozenset({"array", "asarray", "asanyarray", "ascontiguousarray"})


def _argument(arguments: CallArgs, index: int, name: str, default: Any = None) -> Any:
    if len(arguments.args) > index:
        return arguments.args[index]
    return arguments.kwargs.get(name, default)


def array_call(path: str, arguments: CallArgs) -> Any:
    """The value of a call of a NumPy, Keras or scikit-learn name that makes arrays; None when not one of those.

    Args:
        path: the callee's canonical module path (`"numpy.zeros"`,
            `"keras.utils.to_categorical"`).
        arguments: the evaluated arguments.

    Returns:
        An `ArrayValue`, a tuple of them (`train_test_split`), `UNKNOWN`
        when the call makes an array of unknown rank, or None when `path`
        is none of the calls read here (the caller then treats it as before).

    Example:

    >>> from stacked_keras.lint.pyeval import CallArgs
    >>> arguments = CallArgs()
    >>> arguments.args = [ArrayValue((100,)), 3]
    >>> array_call("keras.utils.to_categorical", arguments)
    ArrayValue((100, 3))
    """
    if arguments.star_unknown or arguments.kw_unknown:
        return UNKNOWN if _handled(path) else None
    last = path.rsplit(".", 1)[-1]
    if path.startswith("numpy."):
        return _numpy_call(path[6:], last, arguments)
    if last == "to_categorical" and path.startswith("keras."):
        return _to_categorical(arguments)
    if last == "train_test_split" and path.startswith("sklearn."):
        return _train_test_split(arguments)
    return None


def _handled(path: str) -> bool:
    last = path.rsplit(".", 1)[-1]
    return path.startswith("numpy.") or (last == "to_categorical" and path.startswith("keras.")) or (
        last == "train_test_split" and path.startswith("sklearn."))


def _numpy_call(name: str, last: str, arguments: CallArgs) -> Any:
    args = arguments.args
    first = _argument(arguments, 0, "a", UNKNOWN)
    if name in _CONVERT:
        shape = shape_of(_argument(arguments, 0, "object", UNKNOWN))
        return ArrayValue(shape) if shape is not None else UNKNOWN
    if name in ("stack", "concatenate", "vstack") and _argument(arguments, 1, "axis", 0) == 0:
        return _joined(name, _argument(arguments, 0, "arrays", UNKNOWN))
    if name in _FILLED:
        shape = _shape_argument(_argument(arguments, 0, "shape", UNKNOWN))
        return ArrayValue(shape) if shape is not None else UNKNOWN
    if name.endswith("_like") and name[:-5] in _FILLED:
        shape = shape_of(first)
        return ArrayValue(shape) if shape is not None else UNKNOWN
    if name in ("random.rand", "random.randn"):
        shape = _shape_argument(tuple(args))
        return ArrayValue(shape) if shape is not None and args else UNKNOWN
    if name.startswith("random.") and last in _RANDOM_SIZE_AT:
        size = _argument(arguments, _RANDOM_SIZE_AT[last], "size", None)
        shape = _shape_argument(size)
        return ArrayValue(shape) if shape is not None else UNKNOWN
    if name == "arange":
        return ArrayValue((_arange_length(args),))
    if name == "linspace":
        count = _argument(arguments, 2, "num", 50)
        return ArrayValue((_size(count),))
    if name == "reshape":
        shape = shape_of(first)
        return _reshaped(shape, _reshape_sizes([_argument(arguments, 1, "newshape", UNKNOWN)])) \
            if shape is not None else UNKNOWN
    if name == "expand_dims":
        shape = shape_of(first)
        return _expand(shape, _argument(arguments, 1, "axis", UNKNOWN)) if shape is not None else UNKNOWN
    if name == "squeeze":
        shape = shape_of(first)
        return _squeezed(shape, _argument(arguments, 1, "axis", None)) if shape is not None else UNKNOWN
    if name in _ELEMENTWISE:
        shape = shape_of(_argument(arguments, 0, "x", UNKNOWN))
        return ArrayValue(shape) if shape is not None else UNKNOWN
    return UNKNOWN


def _joined(name: str, arrays: Any) -> Any:
    """`np.stack(arrays)` (a new first axis), `np.concatenate(arrays)`/`np.vstack(arrays)` (along the first axis)."""
    if not isinstance(arrays, (list, tuple)):
        return UNKNOWN
    if name == "stack":
        shape = shape_of(arrays)
        return ArrayValue(shape) if shape is not None and len(shape) > 1 else UNKNOWN
    shapes = [shape_of(a) for a in arrays] if not isinstance(arrays, UnknownLengthList) else []
    if name == "vstack":
        shapes = [s if s is None or len(s) != 1 else (1,) + s for s in shapes]
    if not shapes or any(s is None or not s for s in shapes):
        return UNKNOWN
    rest = join_arrays([ArrayValue(s[1:]) for s in shapes])
    if not isinstance(rest, ArrayValue):
        return UNKNOWN
    firsts = [s[0] for s in shapes]
    return ArrayValue((None if None in firsts else sum(firsts),) + rest.shape)


def _arange_length(args: list[Any]) -> int | None:
    """`len(np.arange(*args))` for int or float bounds (NumPy's `ceil((stop - start) / step)`); None if unknown."""
    if not 1 <= len(args) <= 3 or not all(isinstance(a, (int, float)) and not isinstance(a, bool) for a in args):
        return None
    start, stop, step = (0, args[0], 1) if len(args) == 1 else (args[0], args[1], args[2] if len(args) > 2 else 1)
    if step == 0 or not all(map(math.isfinite, (start, stop, step))):
        return None
    try:
        return _size(max(0, math.ceil((stop - start) / step)))
    except OverflowError:
        return None


def _to_categorical(arguments: CallArgs) -> Any:
    """`to_categorical(labels, k)`: the labels' shape (a last size of 1 dropped) plus `k` classes."""
    shape = shape_of(_argument(arguments, 0, "x", UNKNOWN))
    if shape is None:
        return UNKNOWN
    if len(shape) > 1 and shape[-1] == 1:
        shape = shape[:-1]
    classes = _argument(arguments, 1, "num_classes", None)
    return ArrayValue(shape + (_size(classes),))


def _train_test_split(arguments: CallArgs) -> Any:
    """`train_test_split(*arrays, ...)`: two parts of each array, each with its first size unknown."""
    parts: list[Any] = []
    for value in arguments.args:
        shape = shape_of(value) if isinstance(value, (ArrayValue, list, tuple)) else None
        part = ArrayValue((None,) + shape[1:]) if shape else UNKNOWN
        parts.extend([part, part])
    return tuple(parts) if parts else UNKNOWN


# ---------------------------------------------------------------------------
# attributes, methods, indexing and operators of arrays
# ---------------------------------------------------------------------------

_ARRAY_METHODS = frozenset({"reshape", "astype", "copy", "squeeze", "flatten", "ravel", "transpose", "round",
                            "clip"})


def array_attribute(array: ArrayValue, name: str) -> Any:
    """`y.shape`, `y.ndim`, `y.size`, `y.T`, or a method of the array (`y.reshape`)."""
    shape = array.shape
    if name == "shape":
        return tuple(UNKNOWN if d is None else d for d in shape)
    if name == "ndim":
        return len(shape)
    if name == "size":
        count = _count(shape)
        return UNKNOWN if count is None else count
    if name == "T":
        return ArrayValue(tuple(reversed(shape)))
    if name in _ARRAY_METHODS:
        return MethodRef(array, name)
    return UNKNOWN


def array_method(method: MethodRef, arguments: CallArgs) -> Any:
    """A method of an array called: `y.reshape(-1, 1)`, `y.astype("float32")`, ..."""
    shape = method.receiver.shape
    name = method.name
    args = arguments.args
    if arguments.star_unknown or arguments.kw_unknown:
        return UNKNOWN
    if name == "reshape":
        sizes = _reshape_sizes(args) if args else _reshape_sizes([arguments.kwargs.get("shape", UNKNOWN)])
        return _reshaped(shape, sizes)
    if name in ("astype", "copy", "round", "clip"):
        return ArrayValue(shape)
    if name == "squeeze":
        return _squeezed(shape, _argument(arguments, 0, "axis", None))
    if name in ("flatten", "ravel"):
        return ArrayValue((_count(shape),))
    if name == "transpose" and not args:
        return ArrayValue(tuple(reversed(shape)))
    return UNKNOWN


def array_subscript(array: ArrayValue, index: Any, node: ast.Subscript) -> Any:
    """`y[...]` with ints, slices, `None`/`np.newaxis`, `...` or a 1-D index array; UNKNOWN otherwise."""
    if isinstance(node.slice, ast.Tuple):
        items = list(index) if isinstance(index, tuple) and len(index) == len(node.slice.elts) else None
        if items is None:
            return UNKNOWN
        # A slice whose bounds are not known keeps its axis, of unknown length.
        items = [_SOME_SLICE if isinstance(elt, ast.Slice) and not isinstance(item, slice) else item
                 for elt, item in zip(node.slice.elts, items)]
    elif isinstance(node.slice, ast.Slice) and not isinstance(index, slice):
        items = [_SOME_SLICE]  # `y[:split]` with `split` not known
    else:
        items = [index]
    shape = list(array.shape)
    result: list[Any] = []
    position = 0
    explicit = sum(1 for item in items if not _is_new_axis(item) and item is not Ellipsis)
    for item in items:
        if _is_new_axis(item):
            result.append(1)
            continue
        if item is Ellipsis:
            skipped = len(shape) - explicit
            if skipped < 0:
                return UNKNOWN
            result.extend(shape[position:position + skipped])
            position += skipped
            continue
        if position >= len(shape):
            return UNKNOWN
        size = shape[position]
        position += 1
        if isinstance(item, bool):
            return UNKNOWN
        if isinstance(item, int):
            continue  # an int drops its axis
        if isinstance(item, slice):
            if item.step == 0:
                return UNKNOWN
            result.append(len(range(size)[item]) if size is not None else _slice_length(item))
            continue
        if isinstance(item, _SomeSlice):
            result.append(None)
            continue
        if isinstance(item, ArrayValue) and len(item.shape) == 1:
            result.append(None)  # a mask or index array: a number of items not known here
            continue
        return UNKNOWN  # an index whose kind is not known: an int, an array, a slice...
    return ArrayValue(tuple(result) + tuple(shape[position:]))


class _SomeSlice:
    """A slice whose bounds are not known: it keeps its axis, of unknown length."""


_SOME_SLICE = _SomeSlice()


def _slice_length(item: slice) -> int | None:
    """The length of `a[start:stop]` on an axis of unknown size, taken to hold the slice (`data[i:i + 60]`).

    Only for bounds counted from the front (non-negative) and a positive step.
    """
    start = 0 if item.start is None else item.start
    step = 1 if item.step is None else item.step
    if item.stop is None or start < 0 or item.stop < 0 or step < 1:
        return None
    return _size(max(0, (item.stop - start + step - 1) // step))


def _is_new_axis(item: Any) -> bool:
    return item is None or (isinstance(item, ModuleRef) and item.path == "numpy.newaxis")


def array_binary(op: ast.operator, left: Any, right: Any) -> Any:
    """An elementwise operator between an array and a number or another array: the broadcast shape."""
    if isinstance(op, ast.MatMult):
        return UNKNOWN
    shapes = []
    for side in (left, right):
        if isinstance(side, ArrayValue):
            shapes.append(side.shape)
        elif isinstance(side, (bool, int, float)):
            shapes.append(())
        else:
            return UNKNOWN
    return ArrayValue(_broadcast(shapes[0], shapes[1]))


def array_items(array: ArrayValue, count: int) -> list[ArrayValue] | None:
    """`a, b = array`: the rows along the first axis, when there may be `count` of them."""
    if not array.shape or array.shape[0] not in (count, None):
        return None
    return [ArrayValue(array.shape[1:]) for _ in range(count)]


def array_unary(operand: ArrayValue) -> ArrayValue:
    return ArrayValue(operand.shape)


# ---------------------------------------------------------------------------
# the targets of `fit`
# ---------------------------------------------------------------------------

# `fit(x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, ...)`
_VALIDATION_DATA_AT = 7


def fit_targets(arguments: CallArgs) -> list[Shape]:
    """The shapes of the targets a `model.fit(...)` call is given, whole (batch axis first).

    Reads `y` (positional or keyword) and the target of
    `validation_data=(x_val, y_val[, weights])`; a target of unknown shape,
    or one with no batch axis, gives nothing.
    """
    found = []
    target = _argument(arguments, 1, "y", None)
    validation = _argument(arguments, _VALIDATION_DATA_AT, "validation_data", None)
    candidates = [target]
    if isinstance(validation, (list, tuple)) and not isinstance(validation, UnknownLengthList) \
            and len(validation) in (2, 3):
        candidates.append(validation[1])
    for candidate in candidates:
        if isinstance(candidate, ArrayValue) and candidate.shape:
            found.append(candidate.shape)
    return found


def target_of(seen: list[tuple[Shape, Any]]) -> tuple[Shape | None, Any]:
    """One model's training target, per sample, from every target its `fit` calls were given.

    Args:
        seen: `(shape, location)` per target given (batch axis first), in
            the order the program gave them.

    Returns:
        `(shape without the batch axis, location of the first fit call)`;
        sizes that differ between the targets are None, and targets of
        different ranks give `(None, None)`: no target shape is known.
    """
    if not seen:
        return None, None
    joined = join_arrays([ArrayValue(shape[1:]) for shape, _ in seen])
    if not isinstance(joined, ArrayValue):
        return None, None
    return joined.shape, seen[0][1]

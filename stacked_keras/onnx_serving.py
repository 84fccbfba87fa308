"""Serving an exported `.onnx` file on CPU with onnxruntime or OpenVINO.

`onnx_session` opens a file written by `stacked_keras.export_onnx` and
returns a callable that takes the model's inputs as NumPy arrays and returns
its outputs. Neither TensorFlow nor Keras is imported. bf16 is opt-in
(OpenVINO's `INFERENCE_PRECISION_HINT`), refused where the CPU lacks bf16,
and `OnnxSession.deviation_from_fp32(inputs)` reports how far it strays.
Also reachable as `stacked_keras.serving.onnx_session`.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
from typing import Any

import numpy as np

__all__ = ["OnnxSession", "onnx_session"]

RUNTIMES = ("auto", "openvino", "onnxruntime")
PRECISIONS = ("fp32", "bf16")


def _import(runtime: str) -> Any:
    try:
        if runtime == "openvino":
            import openvino

            return openvino
        import onnxruntime

        return onnxruntime
    except ImportError as error:
        extra = "openvino" if runtime == "openvino" else "onnx"
        raise ImportError(
            f"runtime={runtime!r} needs the {runtime} package ({error}); install it with "
            f'pip install "stacked-keras[{extra}]"'
        ) from error


def _resolve_runtime(runtime: str, precision: str) -> str:
    """`"auto"`: OpenVINO when it is installed (the faster of the two here), else onnxruntime."""
    if runtime != "auto":
        return runtime
    try:
        import openvino  # noqa: F401
    except ImportError as error:
        if precision == "bf16":
            raise ImportError(
                f"precision='bf16' is served by OpenVINO, which is not installed ({error}); "
                'install it with pip install "stacked-keras[openvino]"'
            ) from error
        return "onnxruntime"
    return "openvino"


class OnnxSession:
    """A compiled ONNX model: call it with the model's inputs.

    Args:
        path: the `.onnx` file.
        runtime: `"openvino"` or `"onnxruntime"` (`"auto"` is resolved by
            `onnx_session`).
        precision: `"fp32"` or `"bf16"` (OpenVINO only).
        threads: CPU threads for inference; `None` means every core.
    """

    def __init__(self, path: pathlib.Path, runtime: str, precision: str, threads: int | None) -> None:
        self.path, self.runtime, self.precision, self.threads = path, runtime, precision, threads
        module = _import(runtime)
        if runtime == "onnxruntime":
            self._runner: Any = _OnnxRuntimeRunner(module, path, threads)
        else:
            self._runner = _OpenVinoRunner(module, path, precision, threads)
        self.input_names, self.output_names = self._runner.input_names, self._runner.output_names

    def __call__(self, *inputs: Any) -> Any:
        """Runs the model: one NumPy array per input; one array, or a list for several outputs."""
        if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
            inputs = tuple(inputs[0])
        if len(inputs) != len(self.input_names):
            raise ValueError(
                f"the model takes {len(self.input_names)} input(s) {self.input_names}, got {len(inputs)}"
            )
        outputs = self._runner([np.ascontiguousarray(x) for x in inputs])
        return outputs[0] if len(outputs) == 1 else outputs

    def deviation_from_fp32(self, *inputs: Any) -> float:
        """The largest |difference| between this session and an fp32 one on `inputs`."""
        reference = OnnxSession(self.path, self.runtime, "fp32", self.threads)
        mine, theirs = self(*inputs), reference(*inputs)
        mine = mine if isinstance(mine, list) else [mine]
        theirs = theirs if isinstance(theirs, list) else [theirs]
        return max(float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0)) for a, b in zip(mine, theirs))


def _workers(threads: int | None) -> int:
    """How many parts a batch is split into: one per thread, at most 4."""
    return max(1, min(threads or os.cpu_count() or 1, 4))


def _split_count(arrays: list[np.ndarray], workers: int, divides: bool) -> int:
    """`workers` when every input shares a batch that can be split so, else 1."""
    batch = arrays[0].shape[0] if arrays[0].ndim else 0
    if workers < 2 or batch < workers or any(not a.ndim or a.shape[0] != batch for a in arrays):
        return 1
    return 1 if divides and batch % workers else workers


class _OnnxRuntimeRunner:
    """onnxruntime inference with each batch split across threads.

    A recurrent node is a chain of small matrix products, one per timestep,
    so onnxruntime's intra-op threads synchronise at every step of every
    layer. Splitting the batch instead (one part per thread, up to 4 parts,
    each run by its own call at the same time; onnxruntime releases the GIL
    while it runs) needs no synchronisation between the parts. With more
    than 4 threads each part gets a session with its share of them; with
    at most 4 the parts share one single-threaded session. Batches too
    small to split run on a session with every thread. Every sample is
    computed on its own, so the split changes a result by float rounding
    at most.
    """

    def __init__(self, module: Any, path: pathlib.Path, threads: int | None) -> None:
        self._module, self._path = module, path
        self._threads = threads or os.cpu_count() or 1
        self.workers = _workers(self._threads)
        share = self._threads // self.workers
        first = self._session(share)
        self._parts = [first] * self.workers if share == 1 else [first] + [
            self._session(share) for _ in range(self.workers - 1)
        ]
        self.input_names = [i.name for i in first.get_inputs()]
        self.output_names = [o.name for o in first.get_outputs()]
        self._whole: Any = first if self.workers == 1 else None
        self._pool: Any = None

    def _session(self, threads: int) -> Any:
        options = self._module.SessionOptions()
        options.graph_optimization_level = self._module.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        return self._module.InferenceSession(str(self._path), options, providers=["CPUExecutionProvider"])

    def _run(self, session: Any, arrays: list[np.ndarray]) -> list[np.ndarray]:
        return session.run(self.output_names, dict(zip(self.input_names, arrays)))

    def __call__(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        split = _split_count(arrays, self.workers, divides=False)
        if split == 1:
            if self._whole is None:
                self._whole = self._session(self._threads)
            return self._run(self._whole, arrays)
        if self._pool is None:
            self._pool = concurrent.futures.ThreadPoolExecutor(self.workers, "onnxruntime-part")
        parts = [np.array_split(a, split) for a in arrays]
        futures = [
            self._pool.submit(self._run, session, [np.ascontiguousarray(p[index]) for p in parts])
            for index, session in enumerate(self._parts)
        ]
        results = [future.result() for future in futures]
        return [np.concatenate([r[i] for r in results]) for i in range(len(self.output_names))]


class _OpenVinoRunner:
    """OpenVINO inference that compiles for the shapes it is given.

    OpenVINO runs recurrent nodes faster on static shapes than on dynamic
    ones, and a batch split across CPU streams (one infer request per
    stream, run at once) faster than one request using every thread. So the
    first `MAX_SPECIALISED` distinct input shapes each get a compilation of
    their own, with the batch split evenly across `streams` requests (a
    batch that does not divide is topped up with copies of its last sample,
    whose outputs are dropped); later shapes run on one dynamic-shape
    compilation. Splitting a batch changes no result: every sample is
    computed on its own.
    """

    MAX_SPECIALISED = 8

    def __init__(self, module: Any, path: pathlib.Path, precision: str, threads: int | None) -> None:
        self._core = module.Core()
        if precision == "bf16":
            capabilities = self._core.get_property("CPU", "OPTIMIZATION_CAPABILITIES")
            if "BF16" not in capabilities:
                raise RuntimeError(
                    f"precision='bf16' needs a CPU with bf16 support, and this one offers "
                    f"{list(capabilities)}; use precision='fp32'"
                )
        self._path = path
        self._precision = {"INFERENCE_PRECISION_HINT": "bf16" if precision == "bf16" else "f32"}
        self._threads = threads or os.cpu_count() or 1
        self.streams = _workers(self._threads)
        dynamic = self._compile(None, streams=1)
        self.input_names = [i.get_any_name() for i in dynamic.inputs]
        self.output_names = [o.get_any_name() for o in dynamic.outputs]
        self._dynamic = [dynamic.create_infer_request()]
        self._specialised: dict[tuple, list[Any]] = {}

    def _compile(self, shapes: list[tuple[int, ...]] | None, streams: int) -> Any:
        model = self._core.read_model(str(self._path))
        if shapes is not None:
            model.reshape({port.get_any_name(): list(shape) for port, shape in zip(model.inputs, shapes)})
        config: dict[str, Any] = {**self._precision, "INFERENCE_NUM_THREADS": self._threads}
        if streams > 1:
            config.update(PERFORMANCE_HINT="THROUGHPUT", NUM_STREAMS=streams)
        else:
            config["PERFORMANCE_HINT"] = "LATENCY"
        return self._core.compile_model(model, "CPU", config)

    def _requests_for(self, arrays: list[np.ndarray]) -> tuple[list[Any], int]:
        split = _split_count(arrays, self.streams, divides=True)
        key = tuple((a.shape[0] // split, *a.shape[1:]) if a.ndim else () for a in arrays) + (split,)
        requests = self._specialised.get(key)
        if requests is None:
            if len(self._specialised) >= self.MAX_SPECIALISED:
                return self._dynamic, 1
            compiled = self._compile([shape for shape in key[:-1]], streams=split)
            requests = self._specialised[key] = [compiled.create_infer_request() for _ in range(split)]
        return requests, split

    def __call__(self, arrays: list[np.ndarray]) -> list[np.ndarray]:
        batch = arrays[0].shape[0] if arrays[0].ndim else 0
        padding = -batch % _split_count(arrays, self.streams, divides=False)
        if padding:  # copies of the last sample make the batch divide; their outputs are dropped
            arrays = [np.concatenate([a, np.repeat(a[-1:], padding, axis=0)]) for a in arrays]
        requests, split = self._requests_for(arrays)
        count = len(self.output_names)
        if split == 1:
            requests[0].infer(arrays)
            outputs = [np.array(requests[0].get_output_tensor(i).data) for i in range(count)]
        else:
            parts = [np.split(a, split) for a in arrays]
            for index, request in enumerate(requests):
                request.start_async([np.ascontiguousarray(p[index]) for p in parts])
            for request in requests:
                request.wait()
            outputs = [np.concatenate([np.array(r.get_output_tensor(i).data) for r in requests])
                       for i in range(count)]
        return [output[:batch] for output in outputs] if padding else outputs


def onnx_session(
    path: str | os.PathLike,
    *,
    runtime: str = "auto",
    precision: str = "fp32",
    threads: int | None = None,
) -> OnnxSession:
    """Opens an exported ONNX file for fast CPU inference.

    Args:
        path: the `.onnx` file (from `stacked_keras.export_onnx`).
        runtime: `"auto"` (default): OpenVINO when it is installed, else
            onnxruntime. OpenVINO computes about a fifth more samples per
            CPU second than onnxruntime on the LSTM and GRU stacks of this
            project's benchmark. Or `"openvino"` or
            `"onnxruntime"` explicitly.
        precision: `"fp32"` (default) or `"bf16"`: OpenVINO computes in
            bfloat16 where the CPU supports it (about 3 significant digits;
            check `deviation_from_fp32`).
        threads: CPU threads; `None` (default): every core.

    Both runtimes split a batch into one part per thread (up to 4), run at
    the same time: a recurrent node is a chain of small per-timestep matrix
    products, and threads sharing one part would synchronise at every step.
    A batch of fewer samples than parts runs whole, on every thread.
    OpenVINO runs the parts on CPU streams (topping a batch that does not
    divide up with copies of its last sample, dropped from the outputs),
    and the first call at each new input shape compiles the model for that
    shape (about 0.3 s for the 3 x 128 benchmark stack here), up to 8
    shapes; later shapes run on a dynamic-shape compilation. Samples are
    computed independently, so none of this changes a result beyond float
    rounding.

    Returns:
        An `OnnxSession`, called as `session(x)` with NumPy arrays.

    Raises:
        ValueError: for an unknown runtime or precision, bf16 with
            onnxruntime, or bad `threads`.
        FileNotFoundError: if `path` is not a file.
        RuntimeError: for bf16 on a CPU without bf16 support.
        ImportError: naming the extra to install.

    Example:

    >>> import keras, numpy as np, pathlib, tempfile
    >>> from stacked_keras.onnx_export import export_onnx
    >>> model = keras.Sequential([keras.Input((None, 3)), keras.layers.LSTM(4)])
    >>> file = pathlib.Path(tempfile.mkdtemp()) / "m.onnx"
    >>> _ = export_onnx(model, file)
    >>> onnx_session(file, runtime="onnxruntime")(np.zeros((2, 5, 3), "float32")).shape
    (2, 4)
    """
    if runtime not in RUNTIMES:
        raise ValueError(f"runtime must be one of {RUNTIMES}, got {runtime!r}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision == "bf16" and runtime == "onnxruntime":
        raise ValueError("precision='bf16' is served by runtime='openvino' only; use runtime='openvino'")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    if not isinstance(path, (str, os.PathLike)) or not pathlib.Path(path).is_file():
        raise FileNotFoundError(f"path {path!r} is not an ONNX file; export one with export_onnx first")
    return OnnxSession(pathlib.Path(path), _resolve_runtime(runtime, precision), precision, threads)

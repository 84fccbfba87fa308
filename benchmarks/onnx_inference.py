"""Inference rows of `python -m benchmarks.rnn`: the exported ONNX file against PyTorch.

The zoo stack is exported with `stacked_keras.export_onnx` (one native
LSTM/GRU node per layer) and served with `stacked_keras.serving.onnx_session`
in onnxruntime, OpenVINO fp32 and OpenVINO bf16, side by side with PyTorch
`nn.LSTM`/`nn.GRU(num_layers=...)` in fp32 and under bf16 autocast, and
onnxruntime and OpenVINO fp32 once more as one session (request) on every
thread, without the batch split `onnx_session` makes (what the split gains). Every runtime gets the
same thread count (`--threads`). Rounds are interleaved and
medians reported; ratios are what to read on a loaded machine.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any, Callable


def _torch_runners(cell: str, shape: Any, threads: int) -> dict[str, Callable[[Any], Any]]:
    try:
        import torch
    except ImportError:
        return {}
    torch.set_num_threads(threads)
    layer = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell]
    rnn = layer(shape.features, shape.units, num_layers=shape.layers, batch_first=True).eval()
    head = torch.nn.Linear(shape.units, 1).eval()

    def forward(x: Any) -> Any:
        out, _ = rnn(x)
        return head(out[:, -1])

    def fp32(x: Any) -> Any:
        with torch.inference_mode():
            return forward(torch.from_numpy(x)).numpy()

    def bf16(x: Any) -> Any:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return forward(torch.from_numpy(x)).float().numpy()

    return {"PyTorch fp32": fp32, "PyTorch bf16 autocast": bf16}


def _onnxruntime_unsplit(path: Path, threads: int) -> Callable[[Any], Any]:
    """The file in one onnxruntime session on every thread, without the batch split of `onnx_session`."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads, options.inter_op_num_threads = threads, 1
    session = onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return lambda x: session.run(None, {name: x})[0]


def _openvino_unsplit(path: Path, threads: int) -> Callable[[Any], Any]:
    """The file in OpenVINO fp32 as one latency-mode request on every thread, without the split."""
    import numpy as np
    import openvino

    core = openvino.Core()
    compiled = core.compile_model(core.read_model(str(path)), "CPU", {
        "INFERENCE_PRECISION_HINT": "f32", "INFERENCE_NUM_THREADS": threads, "PERFORMANCE_HINT": "LATENCY"})
    request = compiled.create_infer_request()

    def run(x: Any) -> Any:
        request.infer([x])
        return np.array(request.get_output_tensor(0).data)

    return run


def bench_onnx_inference(cell: str, shape: Any, repeats: int, threads: int, gate: Any) -> dict:
    """ONNX (onnxruntime, OpenVINO fp32/bf16) and PyTorch inference for one cell and shape."""
    import numpy as np

    from benchmarks.rnn import zoo_model
    from stacked_keras.onnx_export import export_onnx
    from stacked_keras.onnx_serving import onnx_session

    rng = np.random.default_rng(0)
    batches = [rng.standard_normal((shape.batch, shape.timesteps, shape.features)).astype("float32")
               for _ in range(shape.batches)]
    runners: dict[str, Callable[[Any], Any]] = {}
    notes: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="sk-onnx-bench-") as tmp:
        path = Path(tmp) / "stack.onnx"
        exported = export_onnx(zoo_model(cell, shape), path)
        notes["export_seconds"] = exported.seconds
        runners["ONNX in onnxruntime"] = onnx_session(path, runtime="onnxruntime", threads=threads)
        runners["ONNX in onnxruntime, batch not split"] = _onnxruntime_unsplit(path, threads)
        try:
            runners["ONNX in OpenVINO fp32"] = onnx_session(path, runtime="openvino", threads=threads)
            runners["ONNX in OpenVINO fp32, batch not split"] = _openvino_unsplit(path, threads)
            bf16 = onnx_session(path, runtime="openvino", precision="bf16", threads=threads)
            runners["ONNX in OpenVINO bf16"] = bf16
            notes["bf16_max_abs_deviation_from_fp32"] = bf16.deviation_from_fp32(batches[0])
        except (ImportError, RuntimeError) as error:
            notes["openvino"] = str(error)
        runners.update(_torch_runners(cell, shape, threads))
        for run in runners.values():  # warm-up
            run(batches[0])
        seconds: dict[str, list[float]] = {name: [] for name in runners}
        for _ in range(repeats):
            for name, run in runners.items():
                gate.wait()
                start = time.perf_counter()
                for batch in batches:
                    run(batch)
                seconds[name].append(time.perf_counter() - start)
    samples = shape.batch * shape.batches
    rates = {name: samples / statistics.median(runs) for name, runs in seconds.items()}
    return {"cell": cell, "shape": shape.name, "threads": threads, "samples_per_s": rates, **notes}


def onnx_markdown_table(result: dict) -> str:
    """The inference rows, with ratios to PyTorch fp32 and bf16 autocast."""
    rates = result["samples_per_s"]
    fp32, bf16 = rates.get("PyTorch fp32"), rates.get("PyTorch bf16 autocast")
    lines = [f"**{result['cell'].upper()} inference, {result['shape']} shape, {result['threads']} threads "
             "for every runtime**", "",
             "| path | samples/s | vs PyTorch fp32 | vs PyTorch bf16 autocast |", "|---|---:|---:|---:|"]
    for name, rate in rates.items():
        ratio = f"{rate / fp32:.2f}x" if fp32 else "n/a"
        ratio_bf16 = f"{rate / bf16:.2f}x" if bf16 else "n/a"
        lines.append(f"| {name} | {rate:.0f} | {ratio} | {ratio_bf16} |")
    if "bf16_max_abs_deviation_from_fp32" in result:
        lines += ["", f"OpenVINO bf16 largest |deviation| from fp32: "
                  f"{result['bf16_max_abs_deviation_from_fp32']:.2e}"]
    if "openvino" in result:
        lines += ["", f"OpenVINO rows skipped: {result['openvino']}"]
    return "\n".join(lines)

"""PyTorch engine: eager under inference_mode, torch.compile, TorchScript (legacy), and
the exports (parity.child.export): to ONNX run in onnxruntime, fp32 or quantised to
dynamic int8, and to LiteRT through litert-torch in its own environment."""

from __future__ import annotations

import os
import subprocess
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from parity.child.export import (
    Exported,
    ExportedCalls,
    ExportError,
    first_line,
    package_versions,
    quantise_onnx,
    require,
    timed_export,
)
from parity.vocabulary import LITERT_TORCH_PYTHON

FLOP_METHOD = (
    "torch.utils.flop_counter.FlopCounterMode over one eager batch-1 forward "
    "(matmul, conv, attention; 2 per multiply-add; elementwise ops not counted)"
)


class TorchScriptError(RuntimeError):
    pass


class DeviceError(RuntimeError):
    pass


def _modules_of(forward: Callable) -> list[torch.nn.Module]:
    """The nn.Modules a source's forward closes over (or is bound to), so a traced
    wrapper holds their parameters as attributes that torch.jit.freeze can fold."""
    found = []
    owner = getattr(forward, "__self__", None)
    if isinstance(owner, torch.nn.Module):
        found.append(owner)
    for cell in getattr(forward, "__closure__", None) or ():
        try:
            value = cell.cell_contents
        except ValueError:  # an empty cell
            continue
        if isinstance(value, torch.nn.Module) and value not in found:
            found.append(value)
    return found


class _DictForward(torch.nn.Module):
    """A module over the source's dict-input forward, for torch.jit.trace."""

    def __init__(self, forward: Callable) -> None:
        super().__init__()
        self._call = forward
        self.models = torch.nn.ModuleList(_modules_of(forward))

    def forward(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        return self._call(inputs)


def torchscript(forward: Callable, example: dict[str, Any]) -> Callable:
    """Legacy TorchScript: trace at the example's shapes (strict=False: dict inputs and
    dict-like outputs inside the model are allowed), then freeze, which inlines the
    weights and folds e.g. conv + batch norm. optimize_for_inference is not applied: it
    swaps in MKL-DNN layouts that change the numbers and is not the default path."""
    wrapper = _DictForward(forward).eval()
    try:
        with torch.no_grad():
            traced = torch.jit.trace(wrapper, (example,), strict=False, check_trace=False)
            return torch.jit.freeze(traced)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TorchScriptError(
            f"torch.jit.trace could not trace this model ({type(error).__name__}: {first}); "
            "run it without TorchScript, e.g. --modes torch=eager,compile"
        ) from None


class _PositionalForward(torch.nn.Module):
    """A module over the source's dict-input forward taking its tensors positionally, so
    the exported graph's inputs carry the input names."""

    def __init__(self, forward: Callable, names: list[str]) -> None:
        super().__init__()
        self._call = forward
        self._names = names
        self.models = torch.nn.ModuleList(_modules_of(forward))

    def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
        return self._call(dict(zip(self._names, tensors, strict=True)))


def export_onnx(forward: Callable, example: dict[str, Any], path: Path) -> Exported:
    """torch.onnx.export with the weights inside the file and a dynamic batch axis: the
    dynamo exporter first, the TorchScript-based one (dynamo=False) where it fails; the
    one that worked is recorded, with the other's message."""
    names = list(example)
    module = _PositionalForward(forward, names).eval()
    args = tuple(example[name] for name in names)
    batch = len(args[0])
    versions = {"torch": torch.__version__, **package_versions("onnx", "onnxscript", "onnxruntime")}
    failed: list[str] = []
    dim = getattr(torch.export.Dim, "DYNAMIC", None) or torch.export.Dim("batch")
    attempts = (
        (
            "torch.onnx.export(dynamo=True)",
            {
                "dynamo": True,
                "external_data": False,
                "dynamic_shapes": {"tensors": tuple({0: dim} for _ in names)},
            },
        ),
        (
            "torch.onnx.export(dynamo=False)",
            {
                "dynamo": False,
                "dynamic_axes": {name: {0: "batch"} for name in [*names, "output"]},
            },
        ),
    )
    for exporter, options in attempts:

        def run(options=options) -> None:
            with torch.inference_mode(False), torch.no_grad(), warnings.catch_warnings():
                warnings.simplefilter("ignore")  # dynamo=False's deprecation warning
                torch.onnx.export(
                    module, args, str(path), input_names=names, output_names=["output"], **options
                )

        try:
            return timed_export(run, path, exporter, "onnxruntime", versions, batch, failed)
        except ExportError as error:
            failed.append(str(error))
    raise ExportError("; ".join(failed))


LITERT_TORCH_TIMEOUT_S = 1800.0
LITERT_TORCH_MISSING = (
    "PyTorch -> LiteRT needs litert-torch, which pins typing-extensions<4.13 and so lives "
    "in its own environment: create a venv with torch {torch} and litert-torch, then set "
    f"{LITERT_TORCH_PYTHON} to its python"
)


def export_litert(forward: Callable, example: dict[str, Any], path: Path) -> Exported:
    """torch.export here (a dynamic batch axis), saved as a .pt2 with its example inputs;
    litert-torch converts it in its own environment's python ($PARITY_LITERT_TORCH_PYTHON,
    parity.child.litert_torch); the .tflite file runs here in ai_edge_litert."""
    python = os.environ.get(LITERT_TORCH_PYTHON)
    if not python:
        raise ExportError(LITERT_TORCH_MISSING.format(torch=torch.__version__))
    require("ai_edge_litert.interpreter", "ai-edge-litert")  # the runtime, in this environment
    names = list(example)
    module = _PositionalForward(forward, names).eval()
    # torch.export specialises a batch of 1 to a constant (its 0/1 rule), so a dynamic
    # batch axis is traced at two rows: the example's, repeated.
    args = tuple(
        torch.cat([example[name]] * 2) if len(example[name]) == 1 else example[name]
        for name in names
    )
    program_path = path.with_suffix(".pt2")
    dim = getattr(torch.export.Dim, "DYNAMIC", None) or torch.export.Dim("batch")

    def run() -> None:
        with torch.inference_mode(False), torch.no_grad():
            program = torch.export.export(
                module, args, dynamic_shapes={"tensors": tuple({0: dim} for _ in names)}
            )
        torch.export.save(program, str(program_path))
        np.savez(path.with_suffix(".npz"), *[t.detach().cpu().numpy() for t in args])
        try:
            done = subprocess.run(
                [python, "-m", "parity.child.litert_torch", str(program_path), str(path)],
                capture_output=True,
                text=True,
                timeout=LITERT_TORCH_TIMEOUT_S,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[3])},
            )
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ExportError(f"litert-torch ({python}) did not run: {first_line(error)}") from None
        if done.returncode != 0:
            lines = [line for line in done.stderr.strip().splitlines() if line.strip()]
            raise ExportError(f"litert-torch failed: {lines[-1] if lines else done.returncode}")
        program_path.unlink()
        path.with_suffix(".npz").unlink()

    versions = {"torch": torch.__version__, **package_versions("ai-edge-litert")}
    return timed_export(
        run, path, f"litert_torch.convert ({python})", "LiteRT", versions, len(args[0])
    )


EXPORTERS: dict[str, Callable[[Callable, dict[str, Any], Path], Exported]] = {
    "onnx": export_onnx,
    "onnx-int8": lambda forward, example, path: quantise_onnx(
        lambda fp32_path: export_onnx(forward, example, fp32_path), path
    ),
    "litert": export_litert,
}


def _traced_on_first_call(forward: Callable) -> Callable:
    """Trace lazily, as torch.compile and tf.function do, so the first call's time
    includes tracing and freezing (the compile cost) in every mode alike."""
    traced: list[Callable] = []

    def call(inputs: dict[str, Any]):
        if not traced:
            with torch.inference_mode(False):  # tracing needs ordinary tensors
                traced.append(torchscript(forward, inputs))
        return traced[0](inputs)

    return call


class TorchEngine:
    name = "torch"

    def __init__(self) -> None:
        self.exports = ExportedCalls()
        self.threads = 1

    def configure_threads(self, threads: int) -> dict[str, Any]:
        self.threads = threads
        torch.set_num_threads(threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:  # only settable before any parallel work started
            pass
        return {
            "intra_op": torch.get_num_threads(),
            "inter_op": torch.get_num_interop_threads(),
        }

    device = torch.device("cpu")

    def use_device(self, device: str) -> dict[str, Any]:
        """Run on `device` ("cpu" or "cuda"). On a GPU, TF32 is turned off so float32 means
        float32 on both sides (PyTorch allows TF32 in cuDNN convolutions by default)."""
        if device == "cpu":
            return {"device": "cpu"}
        if device != "cuda" or not torch.cuda.is_available():
            raise DeviceError(
                f"PyTorch sees no CUDA device (torch {torch.__version__}, built for CUDA "
                f"{torch.version.cuda}); install a CUDA build of torch, or run with --device cpu"
            )
        torch.backends.cuda.matmul.allow_tf32 = False
        torch.backends.cudnn.allow_tf32 = False
        torch.set_float32_matmul_precision("highest")
        self.device = torch.device("cuda:0")
        return {
            "device": "cuda:0",
            "name": torch.cuda.get_device_name(0),
            "tf32": False,
            "cuda": torch.version.cuda,
        }

    def place(self, forward: Callable) -> None:
        """Move the modules the source's forward closes over to the device, in place."""
        if self.device.type != "cpu":
            for module in _modules_of(forward):
                module.to(self.device)

    def reset_device_peak(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()

    def device_peak_mib(self) -> float | None:
        """Peak memory allocated on the GPU since the last reset (torch's allocator)."""
        if self.device.type != "cuda":
            return None
        torch.cuda.synchronize()
        return torch.cuda.max_memory_allocated() / 2**20

    def versions(self) -> dict[str, str]:
        return {"torch": torch.__version__, "mkldnn": str(torch.backends.mkldnn.is_available())}

    def to_tensor(self, array: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def to_numpy(self, value: Any) -> np.ndarray:
        if isinstance(value, np.ndarray):  # an export mode's runtime output
            return value
        return value.detach().cpu().numpy()

    def compile(self, forward: Callable, mode: str, example: dict[str, Any]) -> Callable:
        if mode in EXPORTERS:
            if self.device.type != "cpu":
                raise ExportError("export modes run on the CPU (onnxruntime, LiteRT)")
            if mode.startswith("onnx"):
                require("onnxruntime", "onnxruntime")  # before any export: a clear failure
            exporter = EXPORTERS[mode]
            return self.exports.call(
                (id(forward), mode),
                mode,
                lambda inputs, path: exporter(forward, inputs, path),
                self.threads,
            )
        if mode == "eager":
            target = forward
        elif mode == "compile":
            target = torch.compile(forward, dynamic=False)
        elif mode == "torchscript":
            target = _traced_on_first_call(forward)
        else:
            raise ValueError(f"torch has no mode {mode!r}")

        def run(inputs: dict[str, Any]):
            with torch.inference_mode():
                return target(inputs)

        return run

    def block(self, value: Any) -> None:
        if isinstance(value, torch.Tensor) and value.is_cuda:
            torch.cuda.synchronize()

    def count_flops(self, forward: Callable, example: dict[str, Any]) -> dict[str, Any]:
        """FLOPs of one eager forward of a batch-1 example, by PyTorch's own counter."""
        from torch.utils.flop_counter import FlopCounterMode, sdpa_flop_count

        batch = len(next(iter(example.values())))
        # PyTorch's table misses the CPU flash-attention kernel that scaled_dot_product_
        # attention dispatches to here, so attention would count as zero.
        extra = {}
        cpu_attention = getattr(torch.ops.aten, "_scaled_dot_product_flash_attention_for_cpu", None)
        if cpu_attention is not None:

            def attention(query, key, value, *args, out_shape=None, **kwargs) -> int:
                return sdpa_flop_count(query, key, value)

            extra[cpu_attention] = attention
        counter = FlopCounterMode(display=False, custom_mapping=extra)
        with torch.inference_mode(), counter:
            forward(example)
        total = counter.get_total_flops()
        return {"per_sample": total / batch, "method": FLOP_METHOD}


ENGINE = TorchEngine()

"""Export modes (parity.vocabulary.EXPORT_MODES): a side's model exported to a file, then
run in another runtime, as a cell's mode like any other.

The engines hold the exporters (torch -> ONNX; tensorflow -> ONNX and LiteRT); this
module holds what they share: the runtimes (onnxruntime, LiteRT's Interpreter), the
optional packages' import with the message that names the extra, onnxruntime's dynamic
int8 quantisation of an exported file (the `onnx-int8` modes), and `ExportedCalls`,
which exports at a call's first inputs and reuses the file for every batch size when its
batch axis is dynamic (else exports again at the new batch size, at a fixed batch).
Every export is recorded (exporter, versions, batch, time, file size) for the cell's
metrics. An export that fails raises ExportError with the exporter's own message: the
cell fails with it and the run goes on.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from parity.vocabulary import QUANTISED_MODES

EXTRA_HINT = "install the export extra: pip install 'zoo-parity[export]'"


class ExportError(RuntimeError):
    """An export, or opening its file in the runtime, failed."""


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return f"{type(error).__name__}: {text.splitlines()[0] if text else ''}".rstrip(": ")


def require(module: str, package: str):
    """Import an optional package of the export extra, or fail the cell saying which."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ExportError(f"{package} is not installed ({error}); {EXTRA_HINT}") from None


def package_versions(*packages: str) -> dict[str, str]:
    found = {}
    for package in packages:
        try:
            found[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            found[package] = "not installed"
    return found


def batch_of(inputs: dict[str, Any]) -> int:
    return int(np.shape(next(iter(inputs.values())))[0])


@dataclass
class Exported:
    """One exported file, as the cell's metrics report it."""

    path: Path
    exporter: str  # e.g. "torch.onnx.export(dynamo=True)"
    runtime: str  # "onnxruntime" or "LiteRT"
    versions: dict[str, str]
    batch: int  # the batch size of the example it was exported at
    export_s: float
    failed_attempts: list[str] = field(default_factory=list)  # exporters tried first
    dynamic_batch: bool | None = None  # set once the runtime has opened the file
    quantisation: str | None = None  # e.g. "dynamic int8 (onnxruntime quantize_dynamic, QInt8)"
    unquantised_bytes: int | None = None  # the float32 file it was quantised from

    def report(self) -> dict[str, Any]:
        return {
            "exporter": self.exporter,
            "runtime": self.runtime,
            "versions": self.versions,
            "batch": self.batch,
            "dynamic_batch": self.dynamic_batch,
            "export_s": self.export_s,
            "file_bytes": self.path.stat().st_size if self.path.is_file() else None,
            "file": self.path.name,
            "failed_attempts": self.failed_attempts,
            "quantisation": self.quantisation,
            "unquantised_bytes": self.unquantised_bytes,
        }


def _match(runtime_names: list[str], keys: list[str]) -> list[tuple[str, str]]:
    """(runtime input name, our input name) pairs: by name, ignoring a ":0" tensor suffix.
    An exporter may drop an input the model never reads (token types, say)."""
    by_name = {name.split(":")[0]: name for name in runtime_names}
    if set(by_name) <= set(keys):
        return [(by_name[key], key) for key in keys if key in by_name]
    raise ExportError(
        f"the exported file's inputs {sorted(runtime_names)} do not match the model's "
        f"inputs {sorted(keys)}"
    )


class OnnxRuntime:
    """An .onnx file in onnxruntime's CPU provider, with the run's thread count."""

    name = "onnxruntime"

    def __init__(self, path: Path, threads: int) -> None:
        ort = require("onnxruntime", "onnxruntime")
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # No spinning: by default onnxruntime's intra-op threads spin after each call and
        # burn a core while the worker waits, which lands in the other side's duel round
        # (docs/measurement.md rule 6b; the contention check then refuses the round).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self.session = ort.InferenceSession(
                str(path), options, providers=["CPUExecutionProvider"]
            )
        except Exception as error:  # an op the runtime lacks, say
            why = first_line(error)
            raise ExportError(f"onnxruntime could not open {path.name}: {why}") from None
        inputs = self.session.get_inputs()
        # A dynamic axis reads as a name or None; a fixed one as its size.
        self.dynamic_batch = all(not isinstance(i.shape[0], int) for i in inputs)
        self.input_names = [i.name for i in inputs]

    def prepare(self, example: dict[str, Any]) -> Callable[[dict[str, Any]], np.ndarray]:
        pairs = _match(self.input_names, list(example))
        session = self.session

        def run(inputs: dict[str, Any]) -> np.ndarray:
            return session.run(None, {name: np.asarray(inputs[key]) for name, key in pairs})[0]

        return run


class LiteRtRuntime:
    """A .tflite file in ai_edge_litert's Interpreter (its default op resolver), resized
    once per batch size so no call allocates."""

    name = "LiteRT"

    def __init__(self, path: Path, threads: int) -> None:
        self.interpreter_class = require("ai_edge_litert.interpreter", "ai-edge-litert").Interpreter
        self.path, self.threads = path, threads
        # The signature's tensors, read once: a signature runner holds the interpreter's
        # buffers, so the interpreters that run (and resize) never make one.
        runner = self._open().get_signature_runner()
        self.inputs, self.outputs = runner.get_input_details(), runner.get_output_details()
        if len(self.outputs) != 1:
            raise ExportError(f"the LiteRT file has {len(self.outputs)} outputs; one was expected")
        self.dynamic_batch = all(d["shape_signature"][0] == -1 for d in self.inputs.values())

    def _open(self):
        try:
            return self.interpreter_class(model_path=str(self.path), num_threads=self.threads)
        except Exception as error:
            why = first_line(error)
            raise ExportError(f"LiteRT could not open {self.path.name}: {why}") from None

    def prepare(self, example: dict[str, Any]) -> Callable[[dict[str, Any]], np.ndarray]:
        interpreter = self._open()
        inputs = self.inputs
        pairs = [(inputs[name]["index"], key) for name, key in _match(list(inputs), list(example))]
        for index, key in pairs:
            interpreter.resize_tensor_input(index, list(np.shape(example[key])))
        interpreter.allocate_tensors()
        output = next(iter(self.outputs.values()))["index"]

        def run(values: dict[str, Any]) -> np.ndarray:
            for index, key in pairs:
                interpreter.set_tensor(index, np.asarray(values[key]))
            interpreter.invoke()
            return interpreter.get_tensor(output)

        return run


RUNTIMES: dict[str, type] = {"onnx": OnnxRuntime, "litert": LiteRtRuntime}
SUFFIXES = {"onnx": ".onnx", "litert": ".tflite"}


def file_format(mode: str) -> str:
    """The file a mode runs: "onnx" or "litert" (a quantised mode's is its fp32 mode's)."""
    return QUANTISED_MODES.get(mode, mode)


ONNX_QUANTISATION = (
    "dynamic int8 (onnxruntime.quantization.quantize_dynamic, int8 per-channel weights)"
)


def quantise_onnx(export_fp32: Callable[[Path], Exported], path: Path) -> Exported:
    """The fp32 export, then onnxruntime's dynamic quantisation of its file: int8 weights
    with a scale per output channel (as LiteRT's converter quantises convolutions),
    activations quantised per call, every op type quantize_dynamic supports. Its time is
    added to the export's."""
    quantization = require("onnxruntime.quantization", "onnxruntime")
    fp32_path = path.with_name(f"{path.stem}-fp32{path.suffix}")
    fp32 = export_fp32(fp32_path)
    t0 = time.perf_counter()
    try:
        quantization.quantize_dynamic(
            str(fp32_path), str(path), weight_type=quantization.QuantType.QInt8, per_channel=True
        )
    except Exception as error:
        raise ExportError(f"onnxruntime quantize_dynamic failed: {first_line(error)}") from None
    unquantised = fp32_path.stat().st_size
    fp32_path.unlink()  # only the file that runs is kept
    return Exported(
        path,
        f"{fp32.exporter} + quantize_dynamic",
        fp32.runtime,
        {**fp32.versions, **package_versions("onnxruntime")},
        fp32.batch,
        fp32.export_s + time.perf_counter() - t0,
        fp32.failed_attempts,
        quantisation=ONNX_QUANTISATION,
        unquantised_bytes=unquantised,
    )


# export(example, path) -> Exported: one engine's exporter for one mode and model.
Exporter = Callable[[dict[str, Any], Path], Exported]


class ExportedCalls:
    """The exported files of one worker. The first call of a compiled export mode exports
    (so its first-call time holds the export, as torch.compile's holds compiling); later
    compiles at other batch sizes reuse the file when its batch axis is dynamic."""

    def __init__(self) -> None:
        self.directory: Path | None = None  # the worker sets its cell folder's
        self.made: list[Exported] = []
        self._latest: dict[tuple, tuple[Exported, Any]] = {}
        self._scratch: tempfile.TemporaryDirectory | None = None

    def _path(self, mode: str, batch: int) -> Path:
        if self.directory is None:  # a duel worker: files only for the process's life
            self._scratch = self._scratch or tempfile.TemporaryDirectory(prefix="parity-export-")
            self.directory = Path(self._scratch.name)
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"model-{mode}-b{batch}{SUFFIXES[file_format(mode)]}"

    def call(self, key: tuple, mode: str, export: Exporter, threads: int) -> Callable:
        """A call that exports (or reuses an export) at its first inputs, then runs the
        file in the mode's runtime. `key` names the model and mode within the worker."""
        prepared: list[Callable] = []

        def run(inputs: dict[str, Any]) -> np.ndarray:
            if not prepared:
                batch = batch_of(inputs)
                found = self._latest.get(key)
                if found is None or not (found[0].dynamic_batch or found[0].batch == batch):
                    exported = export(inputs, self._path(mode, batch))
                    runtime = RUNTIMES[file_format(mode)](exported.path, threads)
                    exported.dynamic_batch = runtime.dynamic_batch
                    self.made.append(exported)
                    found = self._latest[key] = (exported, runtime)
                prepared.append(found[1].prepare(inputs))
            return prepared[0](inputs)

        return run

    def report(self) -> list[dict[str, Any]]:
        return [exported.report() for exported in self.made]


def timed_export(
    run_exporter: Callable[[], None],
    path: Path,
    exporter: str,
    runtime: str,
    versions: dict[str, str],
    batch: int,
    failed_attempts: list[str] | None = None,
    quantisation: str | None = None,
) -> Exported:
    """Run one exporter, timed; its failure becomes an ExportError with its message."""
    t0 = time.perf_counter()
    try:
        run_exporter()
    except ExportError:
        raise
    except Exception as error:
        raise ExportError(f"{exporter} failed: {first_line(error)}") from None
    return Exported(
        path,
        exporter,
        runtime,
        versions,
        batch,
        time.perf_counter() - t0,
        failed_attempts or [],
        quantisation=quantisation,
    )

"""The words every part of the project shares: the two sides, their execution modes, cell
statuses and the worker protocol's version. Defined once here; imports no framework."""

from __future__ import annotations

from zoo.catalog import SIDES

SIDE_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow"}

# Modes each framework offers, in the order reports list them. A test plugin's engine
# adds its own through parity.child.engines.register_engine.
MODES: dict[str, tuple[str, ...]] = {
    "torch": ("eager", "compile", "torchscript", "onnx", "onnx-int8", "litert"),
    "tensorflow": ("eager", "function", "xla", "onnx", "onnx-int8", "litert", "litert-int8"),
}
# Export modes: the model exported to a file and run in another runtime (parity.child.export).
# They need the `export` extra and are opt-in: a run without --modes (or a suite entry
# without modes) runs the framework modes only. Their latency is kept out of the native
# comparison; ONNX on both sides is compared on its own, in one runtime.
ONNX, LITERT = "onnx", "litert"
# Quantised export modes: the fp32 export of their base mode, then dynamic int8 (int8
# weights, activations quantised at run time). Judged by their predictions against the
# fp32 eager output (top-1/top-5 agreement), not by the size of the difference.
QUANTISED_MODES = {"onnx-int8": ONNX, "litert-int8": LITERT}  # mode -> its fp32 mode
EXPORT_MODES = frozenset({ONNX, LITERT, *QUANTISED_MODES})
RUNTIMES = {
    ONNX: "onnxruntime",
    LITERT: "LiteRT",
    "onnx-int8": "onnxruntime",
    "litert-int8": "LiteRT",
}
# PyTorch -> LiteRT goes through litert-torch, which pins typing-extensions<4.13 and so
# lives in its own environment: this variable names that environment's python.
LITERT_TORCH_PYTHON = "PARITY_LITERT_TORCH_PYTHON"
MODE_DESCRIPTIONS = {
    ("torch", "eager"): "eager under torch.inference_mode",
    ("torch", "compile"): "torch.compile (inductor, static shapes) under inference_mode",
    ("torch", "torchscript"): "TorchScript (legacy): torch.jit.trace at fixed shapes, then "
    "torch.jit.freeze, under inference_mode",
    ("tensorflow", "eager"): "Keras called eagerly",
    ("tensorflow", "function"): "tf.function with a fixed input_signature",
    ("tensorflow", "xla"): "tf.function(jit_compile=True) with a fixed input_signature",
    ("torch", "onnx"): "exported by torch.onnx.export (dynamo, else the TorchScript-based "
    "exporter) at the evaluation batch size with a dynamic batch axis, run in onnxruntime "
    "(CPU provider)",
    ("torch", "onnx-int8"): "the onnx mode's file quantised by onnxruntime's "
    "quantize_dynamic (int8 weights, activations quantised per call), run in onnxruntime",
    ("torch", "litert"): "torch.export with a dynamic batch axis, converted by litert-torch "
    f"in its own environment (${LITERT_TORCH_PYTHON}), float32, run in ai_edge_litert's "
    "Interpreter",
    ("tensorflow", "onnx"): "the tf.function exported through tf2onnx (what Keras' "
    "model.export(format='onnx') uses) with a dynamic batch axis, run in onnxruntime (CPU "
    "provider)",
    ("tensorflow", "onnx-int8"): "the onnx mode's file quantised by onnxruntime's "
    "quantize_dynamic (int8 weights, activations quantised per call), run in onnxruntime",
    ("tensorflow", "litert"): "the tf.function saved as a SavedModel, converted by "
    "tf.lite.TFLiteConverter.from_saved_model (float32, no quantisation) with a dynamic "
    "batch axis, run in ai_edge_litert's Interpreter",
    ("tensorflow", "litert-int8"): "as litert, converted with optimizations=[Optimize.DEFAULT] "
    "and no representative data: dynamic-range quantisation (int8 weights)",
}
EAGER = "eager"  # each side's reference mode: agreement, memory and divergence use it
# Tasks whose workers run only some of those modes by default (any other task runs them
# all): a causal LM's decoder runs eager or compiled (torch.compile; tf.function, XLA) in
# parity/child/generation.py; TorchScript and the export modes do not trace its decoding
# loop. A mode asked for by name is still run, and fails its cell with the reason.
TASK_MODES: dict[str, tuple[str, ...]] = {
    "text-generation": (EAGER, "compile", "function", "xla"),
}


def default_modes(framework: str, wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The modes a run measures on a side: those asked for, or else every framework mode
    (export modes only when asked for)."""
    offered = MODES.get(framework, (EAGER,))
    if wanted is None:
        return tuple(m for m in offered if m not in EXPORT_MODES)
    return tuple(m for m in offered if m in wanted)


def task_modes(task: str, framework: str, wanted: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """The modes a run measures on a side for a task: those asked for by name, or else the
    framework's default modes that the task runs (TASK_MODES)."""
    found = default_modes(framework, wanted)
    allowed = TASK_MODES.get(task)
    if wanted is not None or allowed is None:
        return found
    return tuple(m for m in found if m in allowed)


# A run's weights: published ones, or seeded random ones (latency, memory, agreement only).
PRETRAINED, SEEDED = "pretrained", "seeded"

# A cell's status.
OK, FAILED, UNAVAILABLE = "ok", "failed", "unavailable"

# The version of the spec/metrics files between the runner and its workers.
PROTOCOL = 1

__all__ = [
    "EAGER",
    "EXPORT_MODES",
    "FAILED",
    "LITERT",
    "LITERT_TORCH_PYTHON",
    "MODES",
    "MODE_DESCRIPTIONS",
    "OK",
    "ONNX",
    "PRETRAINED",
    "PROTOCOL",
    "QUANTISED_MODES",
    "RUNTIMES",
    "SEEDED",
    "SIDES",
    "SIDE_NAMES",
    "TASK_MODES",
    "UNAVAILABLE",
    "default_modes",
    "task_modes",
]

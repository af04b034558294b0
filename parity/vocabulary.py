"""The words every part of the project shares: the two sides, their execution modes, cell
statuses and the worker protocol's version. Defined once here; imports no framework."""

from __future__ import annotations

from zoo.catalog import SIDES

SIDE_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow"}

# Modes each framework offers, in the order reports list them. A test plugin's engine
# adds its own through parity.child.engines.register_engine.
MODES: dict[str, tuple[str, ...]] = {
    "torch": ("eager", "compile", "torchscript"),
    "tensorflow": ("eager", "function", "xla"),
}
MODE_DESCRIPTIONS = {
    ("torch", "eager"): "eager under torch.inference_mode",
    ("torch", "compile"): "torch.compile (inductor, static shapes) under inference_mode",
    ("torch", "torchscript"): "TorchScript (legacy): torch.jit.trace at fixed shapes, then "
    "torch.jit.freeze, under inference_mode",
    ("tensorflow", "eager"): "Keras called eagerly",
    ("tensorflow", "function"): "tf.function with a fixed input_signature",
    ("tensorflow", "xla"): "tf.function(jit_compile=True) with a fixed input_signature",
}
EAGER = "eager"  # each side's reference mode: agreement, memory and divergence use it
# Tasks whose workers run only some of those modes so far (any other task runs them all):
# a causal LM's decoding loop is driven eagerly on each side (parity/child/generation.py).
TASK_MODES: dict[str, tuple[str, ...]] = {"text-generation": (EAGER,)}

# A run's weights: published ones, or seeded random ones (latency, memory, agreement only).
PRETRAINED, SEEDED = "pretrained", "seeded"

# A cell's status.
OK, FAILED, UNAVAILABLE = "ok", "failed", "unavailable"

# The version of the spec/metrics files between the runner and its workers.
PROTOCOL = 1

__all__ = [
    "EAGER",
    "FAILED",
    "MODES",
    "MODE_DESCRIPTIONS",
    "OK",
    "PRETRAINED",
    "PROTOCOL",
    "SEEDED",
    "SIDES",
    "SIDE_NAMES",
    "TASK_MODES",
    "UNAVAILABLE",
]

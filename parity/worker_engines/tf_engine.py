"""TensorFlow engine: Keras eager, tf.function, and tf.function with XLA."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


class TensorFlowEngine:
    name = "tensorflow"

    def configure_threads(self, threads: int) -> dict[str, Any]:
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 builds)"),
        }

    def versions(self) -> dict[str, str]:
        import keras

        found = {"tensorflow": tf.__version__, "keras": keras.__version__}
        try:
            import keras_hub

            found["keras_hub"] = keras_hub.__version__
        except ImportError:
            pass
        return found

    def to_tensor(self, array: np.ndarray) -> Any:
        return tf.constant(array)

    def to_numpy(self, value: Any) -> np.ndarray:
        return np.asarray(value)

    def compile(self, forward: Callable, mode: str, example: dict[str, Any]) -> Callable:
        if mode == "eager":
            return forward
        if mode not in ("function", "xla"):
            raise ValueError(f"tensorflow has no mode {mode!r}")
        # A fixed signature: one trace, no retracing inside the timed loop.
        signature = [
            {name: tf.TensorSpec(t.shape, t.dtype, name=name) for name, t in example.items()}
        ]
        return tf.function(forward, input_signature=signature, jit_compile=(mode == "xla"))

    def block(self, value: Any) -> None:
        # CPU kernels have finished when the call returns; on a GPU, copying a scalar
        # back waits for the stream.
        if "GPU" in getattr(value, "device", ""):
            tf.reduce_sum(value).numpy()


ENGINE = TensorFlowEngine()

"""TensorFlow engine: Keras eager, tf.function, tf.function with XLA, and the exports to
ONNX (onnxruntime) and LiteRT (parity.child.export), each also quantised to dynamic int8;
FLOPs counted from the traced graph."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from parity.child.export import (  # noqa: E402
    Exported,
    ExportedCalls,
    ExportError,
    package_versions,
    quantise_onnx,
    require,
    timed_export,
)

# Ops whose count is comparable with torch.utils.flop_counter's (matmul and convolution
# family); elementwise ops TF also counts (Add, Mul, BiasAdd...) are kept apart.
MATMUL_CONV_OPS = frozenset(
    {
        "MatMul",
        "BatchMatMul",
        "BatchMatMulV2",
        "BatchMatMulV3",
        "Conv2D",
        "Conv3D",
        "DepthwiseConv2dNative",
        "Einsum",
    }
)
FLOP_METHOD = (
    "TF's flops statistics (those tf.profiler's float_operation sums) over the frozen "
    "batch-1 tf.function graph, MatMul/BatchMatMul/Conv/DepthwiseConv plus Einsum counted "
    "from its shapes; 2 per multiply-add"
)


def _einsum_flops(op) -> int | None:
    """2 x the product of every index's extent: each output element sums over the rest."""
    equation = op.get_attr("equation").decode()
    inputs, _, _ = equation.partition("->")
    extents: dict[str, int] = {}
    for spec, tensor in zip(inputs.split(","), op.inputs, strict=False):
        dims = tensor.shape.as_list() if tensor.shape.rank is not None else None
        if dims is None or "." in spec or len(spec) != len(dims) or None in dims:
            return None
        extents.update(zip(spec, dims, strict=True))
    return 2 * int(np.prod(list(extents.values()), dtype=np.int64))


def count_graph_flops(graph) -> dict[str, Any]:
    """Per op type, the flops TF's registered statistics give (Einsum from its shapes)."""
    from tensorflow.python.framework import ops as tf_ops

    by_type: dict[str, int] = {}
    unknown: dict[str, int] = {}
    for op in graph.get_operations():
        if op.type == "Einsum":
            value = _einsum_flops(op)
        else:
            try:
                value = tf_ops.get_stats_for_node_def(graph, op.node_def, "flops").value
            except (ValueError, TypeError):  # a shape unknown in the graph
                value = None
        if value is None:
            if op.type in MATMUL_CONV_OPS:
                unknown[op.type] = unknown.get(op.type, 0) + 1
            continue
        by_type[op.type] = by_type.get(op.type, 0) + int(value)
    return {"by_type": by_type, "uncounted": unknown}


class DeviceError(RuntimeError):
    pass


def _signature(example: dict[str, Any]) -> list[dict[str, Any]]:
    """The example's input signature with a dynamic batch axis."""
    return [
        {
            name: tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=name)
            for name, t in example.items()
        }
    ]


def _trackables(value: Any, depth: int = 3) -> list[Any]:
    """The Keras models, layers, hub objects and variables a source's forward closes over,
    reads as globals or is bound to, so a SavedModel of the forward tracks them."""
    trackable = getattr(tf.__internal__.tracking, "Trackable", tf.Module)
    found: list[Any] = []
    owner = getattr(value, "__self__", None)
    candidates = [owner] if owner is not None else []
    for cell in getattr(value, "__closure__", None) or ():
        try:
            candidates.append(cell.cell_contents)
        except ValueError:  # an empty cell
            continue
    # A function defined at a module's top level reads its model as a global.
    code, names = getattr(value, "__code__", None), getattr(value, "__globals__", {})
    candidates += [names[name] for name in (code.co_names if code else ()) if name in names]
    for candidate in candidates:
        if hasattr(candidate, "graph") and hasattr(candidate, "variables"):
            found += list(candidate.variables)  # a SavedModel's signature (tfhub)
        elif isinstance(candidate, trackable | tf.Variable):
            found.append(candidate)
        elif callable(candidate) and depth > 0:
            found += _trackables(candidate, depth - 1)
    return found


def export_onnx(forward: Callable, example: dict[str, Any], path: Path) -> Exported:
    """The forward as a tf.function with a dynamic batch axis, through tf2onnx's
    from_function (what Keras' model.export(format="onnx") calls on this backend; every
    source's forward exports alike, tfhub SavedModels included)."""
    tf2onnx = require("tf2onnx", "tf2onnx")
    # tf2onnx 1.16 still calls numpy 1's np.cast and np.object; Keras' own ONNX export
    # patches it the same way before converting (keras.src.export.tf2onnx_lib).
    from keras.src.export.tf2onnx_lib import patch_tf2onnx

    patch_tf2onnx()
    signature = _signature(example)
    function = tf.function(forward, input_signature=signature)

    def run() -> None:
        tf2onnx.convert.from_function(function, input_signature=signature, output_path=str(path))

    versions = {"tensorflow": tf.__version__, **package_versions("tf2onnx", "onnx", "onnxruntime")}
    batch = int(next(iter(example.values())).shape[0])
    return timed_export(run, path, "tf2onnx.convert.from_function", "onnxruntime", versions, batch)


LITERT_QUANTISATION = (
    "dynamic-range int8 (TFLiteConverter optimizations=[Optimize.DEFAULT], no representative "
    "data: int8 weights)"
)


def export_litert(
    forward: Callable, example: dict[str, Any], path: Path, quantise: bool = False
) -> Exported:
    """The forward saved as a SavedModel by keras.export.ExportArchive (a dynamic batch
    axis), converted by tf.lite.TFLiteConverter.from_saved_model, built-in ops only:
    float32, or with `quantise` dynamic-range int8.
    from_keras_model fails on dict-input models (keras-hub's), from_saved_model does not."""
    require("ai_edge_litert.interpreter", "ai-edge-litert")  # before a conversion it could not run
    import keras

    saved = path.with_suffix(".savedmodel")

    def run() -> None:
        # Keras' own LiteRT export path (ExportArchive -> SavedModel -> from_saved_model):
        # a plain tf.Module tracking the model wrote a file that computed NaNs.
        archive = keras.export.ExportArchive()
        for trackable in _trackables(forward):
            archive.track(trackable)
        archive.add_endpoint("serving_default", forward, input_signature=_signature(example))
        archive.write_out(str(saved), verbose=False)
        converter = tf.lite.TFLiteConverter.from_saved_model(str(saved))
        if quantise:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        path.write_bytes(converter.convert())
        shutil.rmtree(saved)  # the weights again: only the .tflite file is kept

    versions = {"tensorflow": tf.__version__, **package_versions("ai-edge-litert")}
    batch = int(next(iter(example.values())).shape[0])
    exporter = "tf.lite.TFLiteConverter.from_saved_model" + (
        "(optimizations=[DEFAULT])" if quantise else ""
    )
    return timed_export(
        run,
        path,
        exporter,
        "LiteRT",
        versions,
        batch,
        quantisation=LITERT_QUANTISATION if quantise else None,
    )


EXPORTERS: dict[str, Callable[[Callable, dict[str, Any], Path], Exported]] = {
    "onnx": export_onnx,
    "onnx-int8": lambda forward, example, path: quantise_onnx(
        lambda fp32_path: export_onnx(forward, example, fp32_path), path
    ),
    "litert": export_litert,
    "litert-int8": lambda forward, example, path: export_litert(
        forward, example, path, quantise=True
    ),
}


class TensorFlowEngine:
    name = "tensorflow"

    def __init__(self) -> None:
        self.exports = ExportedCalls()
        self.threads = 1

    def configure_threads(self, threads: int) -> dict[str, Any]:
        self.threads = threads
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        return {
            "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
            "inter_op": tf.config.threading.get_inter_op_parallelism_threads(),
            "onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default (on for x86 builds)"),
        }

    device = "cpu"

    def use_device(self, device: str) -> dict[str, Any]:
        """Run on `device` ("cpu" or "cuda"). On a GPU, TensorFloat-32 is turned off (TF
        enables it on Ampere and later by default) so float32 means float32 on both sides.
        With device cpu the runner hides every GPU (CUDA_VISIBLE_DEVICES is empty)."""
        if device == "cpu":
            return {"device": "cpu"}
        gpus = tf.config.list_physical_devices("GPU")
        if device != "cuda" or not gpus:
            raise DeviceError(
                f"TensorFlow {tf.__version__} sees no GPU (built with CUDA: "
                f"{tf.test.is_built_with_cuda()}); install tensorflow[and-cuda], or run with "
                "--device cpu"
            )
        tf.config.experimental.enable_tensor_float_32_execution(False)
        # Grow GPU memory as needed, so the peak below is what the model used, not the
        # whole card TF would otherwise reserve at start.
        tf.config.experimental.set_memory_growth(gpus[0], True)
        self.device = "GPU:0"
        details = tf.config.experimental.get_device_details(gpus[0])
        return {"device": "GPU:0", "name": details.get("device_name"), "tf32": False}

    def place(self, forward: Callable) -> None:
        """Nothing to move: with a GPU visible, TF creates variables and runs ops there."""

    def reset_device_peak(self) -> None:
        if self.device != "cpu":
            tf.config.experimental.reset_memory_stats(self.device)

    def device_peak_mib(self) -> float | None:
        if self.device == "cpu":
            return None
        return tf.config.experimental.get_memory_info(self.device)["peak"] / 2**20

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
        if mode in EXPORTERS:
            if self.device != "cpu":
                raise ExportError("export modes run on the CPU (onnxruntime, LiteRT)")
            exporter = EXPORTERS[mode]
            return self.exports.call(
                (id(forward), mode),
                mode,
                lambda inputs, path: exporter(forward, inputs, path),
                self.threads,
            )
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

    def count_flops(self, forward: Callable, example: dict[str, Any]) -> dict[str, Any]:
        """FLOPs of one batch-1 call: trace forward with a fixed signature, freeze the
        variables into constants (which also inlines nested functions), and sum TF's flops
        statistics over the frozen graph's ops."""
        from tensorflow.python.framework.convert_to_constants import (
            convert_variables_to_constants_v2_as_graph,
        )

        batch = int(next(iter(example.values())).shape[0])
        signature = [
            {name: tf.TensorSpec(t.shape, t.dtype, name=name) for name, t in example.items()}
        ]
        concrete = tf.function(forward, input_signature=signature).get_concrete_function()
        frozen, _ = convert_variables_to_constants_v2_as_graph(concrete)
        counted = count_graph_flops(frozen.graph)
        matmul_conv = sum(v for k, v in counted["by_type"].items() if k in MATMUL_CONV_OPS)
        if counted["uncounted"]:
            missing = ", ".join(f"{n} {k}" for k, n in counted["uncounted"].items())
            raise ValueError(f"flops unknown for ops of unknown shape: {missing}")
        return {
            "per_sample": matmul_conv / batch,
            "per_sample_all_ops": sum(counted["by_type"].values()) / batch,
            "method": FLOP_METHOD,
        }


ENGINE = TensorFlowEngine()

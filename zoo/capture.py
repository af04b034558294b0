"""Intermediate activations by layer name, for divergence localisation.

Runs only inside a worker child (each function imports its own framework). Every
capture returns numpy arrays in one layout, channels last (NHWC for images), so the
parent compares the two sides without knowing which framework wrote what.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np


def channels_last(array: np.ndarray) -> np.ndarray:
    """PyTorch feature maps are NCHW; Keras's are NHWC."""
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)) if array.ndim == 4 else array


def _unknown(names: list[str], kind: str, model: Any) -> ValueError:
    shown = ", ".join(repr(n) for n in names[:3]) + (" ..." if len(names) > 3 else "")
    return ValueError(
        f"no {kind} named {shown} in {type(model).__name__}: the layer map does not fit "
        "this model (check zoo/layer_maps.py against the model's layer names)"
    )


def torch_module_outputs(model, run: Callable[[], Any], names: list[str]) -> dict[str, np.ndarray]:
    """Forward hooks on the named modules, then one call of `run()` in inference mode."""
    import torch

    modules = dict(model.named_modules())
    missing = [name for name in names if name not in modules]
    if missing:
        raise _unknown(missing, "module", model)
    found: dict[str, np.ndarray] = {}

    def hook_for(name: str):
        def hook(module, args, output):
            # Copied at once: an in-place ReLU after this module would overwrite the tensor.
            # The first call only, should a module run twice in one forward.
            if name not in found:
                found[name] = channels_last(output.detach().float().cpu().numpy().copy())

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    try:
        with torch.inference_mode():
            run()
    finally:
        for handle in handles:
            handle.remove()
    return found


def keras_layer_outputs(model, inputs: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Outputs of named layers of a Keras functional model or of its `backbone`.

    A keras-hub task model holds its backbone as one nested layer, so the backbone's
    inner layers are reached through a second model over the backbone's own graph (the
    backbone takes the task's input unchanged when the task is called directly)."""
    import keras

    backbone = getattr(model, "backbone", None)
    top_names = {layer.name for layer in model.layers}
    inner_names = {layer.name for layer in backbone.layers} if backbone is not None else set()
    missing = [name for name in names if name not in top_names | inner_names]
    if missing:
        raise _unknown(missing, "layer", model)
    found: dict[str, np.ndarray] = {}
    for owner, wanted in (
        (model, [n for n in names if n in top_names]),
        (backbone, [n for n in names if n not in top_names]),
    ):
        if not wanted:
            continue
        probe = keras.Model(owner.inputs, [owner.get_layer(n).output for n in wanted])
        outputs = probe(inputs, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for name, value in zip(wanted, outputs, strict=True):
            found[name] = np.asarray(value, dtype=np.float32)
    return found

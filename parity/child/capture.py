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


def zero_padding(found: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Token activations (batch, seq, hidden) with padded positions set to 0.

    Both sides get the same attention mask, so padded positions then compare equal and
    the per-layer error covers real tokens only, as the final-output agreement does
    (what a model writes at a padded position is used by nothing downstream)."""
    keep = np.asarray(mask) != 0
    out = {}
    for name, array in found.items():
        if array.ndim == 3 and array.shape[:2] == keep.shape:
            array = np.where(keep[:, :, None], array, np.float32(0))
        out[name] = array
    return out


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
            # Modules that return a tuple (older transformers layers) lead with the tensor.
            if isinstance(output, (tuple, list)):
                output = output[0]
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


def _sublayer(layer, path: list[str]):
    """The layer reached from `layer` by nested layer names (ViTEncoder's blocks, say)."""
    for part in path:
        found = next((sub for sub in layer._flatten_layers(False, False) if sub.name == part), None)
        if found is None:
            return None
        layer = found
    return layer


def _recorded_calls(model, inputs: Any, layers: dict[str, Any]) -> dict[str, np.ndarray]:
    """One eager call of `model`, recording what each of `layers` returns: the Keras
    counterpart of a forward hook, for layers nested inside another layer's `call`, which
    a functional graph does not expose."""
    found: dict[str, np.ndarray] = {}
    saved = {}
    for name, layer in layers.items():
        saved[name] = layer.__dict__.get("call")
        original = layer.call

        def call(*args, _original=original, _name=name, **kwargs):
            output = _original(*args, **kwargs)
            if _name not in found:  # the first call only, as the torch hooks do
                found[_name] = np.asarray(output, dtype=np.float32)
            return output

        object.__setattr__(layer, "call", call)
    try:
        model(inputs, training=False)
    finally:
        for name, layer in layers.items():
            if saved[name] is None:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", saved[name])
    return found


def keras_layer_outputs(model, inputs: Any, names: list[str]) -> dict[str, np.ndarray]:
    """Outputs of named layers of a Keras functional model or of its `backbone`.

    A keras-hub task model holds its backbone as one nested layer, so the backbone's
    inner layers are reached through a second model over the backbone's own graph (the
    backbone takes the task's input unchanged when the task is called directly).
    A name "outer/inner" is a layer inside the functional layer "outer" (keras-hub's
    ViTEncoder keeps its blocks so); those are recorded during one eager call."""
    import keras

    backbone = getattr(model, "backbone", None)
    top_names = {layer.name for layer in model.layers}
    inner_names = {layer.name for layer in backbone.layers} if backbone is not None else set()
    nested = {}
    for name in names:
        if "/" in name:
            outer, *path = name.split("/")
            owner = model if outer in top_names else backbone if outer in inner_names else None
            layer = _sublayer(owner.get_layer(outer), path) if owner is not None else None
            if layer is not None:
                nested[name] = layer
    missing = [name for name in names if name not in top_names | inner_names | set(nested)]
    if missing:
        raise _unknown(missing, "layer", model)
    found: dict[str, np.ndarray] = {}
    for owner, wanted in (
        (model, [n for n in names if n in top_names]),
        (backbone, [n for n in names if n in inner_names and n not in top_names]),
    ):
        if not wanted:
            continue
        # owner.input keeps the inputs' structure (a dict for a text backbone).
        probe = keras.Model(owner.input, [owner.get_layer(n).output for n in wanted])
        outputs = probe(inputs, training=False)
        outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
        for name, value in zip(wanted, outputs, strict=True):
            found[name] = np.asarray(value, dtype=np.float32)
    if nested:
        found.update(_recorded_calls(model, inputs, nested))
    return found

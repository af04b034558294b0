"""Intermediate activations by layer name, for divergence localisation.

Runs only inside a worker child (each function imports its own framework). Every
capture returns numpy arrays in one layout, channels last (NHWC for images), so the
parent compares the two sides without knowing which framework wrote what.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from zoo.layer_maps import MAP_RECORD

# An automatic capture (names None) also saves what the parent needs to build the layer map
# (zoo/layer_maps.py, automatic_groups), as JSON in the activations' .npz entry MAP_RECORD:
# PyTorch, each state-dict tensor's fingerprint, each module's class and the modules in the
# order their forward ended; Keras, which checkpoint tensors filled each variable of which
# layer while keras-hub's converter ran, and the parameter-free layers after each layer.
FINGERPRINT_SAMPLES = 256
SUCCESSOR_STEPS = 2  # parameter-free layers followed after a layer (BatchNorm -> ReLU, ...)


def channels_last(array: np.ndarray) -> np.ndarray:
    """PyTorch feature maps are NCHW; Keras's are NHWC."""
    return np.ascontiguousarray(array.transpose(0, 2, 3, 1)) if array.ndim == 4 else array


def zero_padding(found: dict[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    """Token activations (batch, seq, ...: hidden, or heads and their width) with padded
    positions set to 0.

    Both sides get the same attention mask, so padded positions then compare equal and
    the per-layer error covers real tokens only, as the final-output agreement does
    (what a model writes at a padded position is used by nothing downstream)."""
    keep = np.asarray(mask) != 0
    out = {}
    for name, array in found.items():
        if array.ndim >= 3 and array.shape[:2] == keep.shape:
            where = keep.reshape(keep.shape + (1,) * (array.ndim - 2))
            array = np.where(where, array, np.float32(0))
        out[name] = array
    return out


def fingerprint(samples: np.ndarray, shape: tuple[int, ...]) -> str:
    """A tensor's identity across the two sides: its shape and a hash of up to
    FINGERPRINT_SAMPLES evenly spaced values (every sample_step-th of the flattened tensor),
    as float32; a whole-tensor hash would add seconds to a large model's load."""
    digest = hashlib.blake2b(np.asarray(samples, np.float32).tobytes(), digest_size=8)
    return f"{'x'.join(str(int(d)) for d in shape)}:{digest.hexdigest()}"


def sample_step(size: int) -> int:
    return max(1, size // FINGERPRINT_SAMPLES)


def numpy_fingerprint(array: Any) -> str:
    array = np.asarray(array)
    flat = array.reshape(-1)[:: sample_step(array.size)][:FINGERPRINT_SAMPLES]
    return fingerprint(flat.astype(np.float32), array.shape)


def _torch_fingerprint(tensor) -> str:
    flat = tensor.detach().reshape(-1)[:: sample_step(tensor.numel())][:FINGERPRINT_SAMPLES]
    return fingerprint(flat.float().cpu().numpy(), tuple(tensor.shape))


def record_entry(record: dict) -> np.ndarray:
    return np.array(json.dumps(record))


def _unknown(names: list[str], kind: str, model: Any) -> ValueError:
    shown = ", ".join(repr(n) for n in names[:3]) + (" ..." if len(names) > 3 else "")
    return ValueError(
        f"no {kind} named {shown} in {type(model).__name__}: the layer map does not fit "
        "this model (check zoo/layer_maps.py against the model's layer names)"
    )


def _first_tensor(output, is_tensor: Callable[[Any], bool]):
    """A layer's main output: itself, or the first element of a tuple or list (attention
    layers return (output, weights), older transformers layers a tuple); None if neither."""
    if isinstance(output, (tuple, list)) and output:
        output = output[0]
    return output if is_tensor(output) else None


def torch_module_outputs(
    model, run: Callable[[], Any], names: list[str] | None, output_name: str | None = None
) -> dict[str, np.ndarray]:
    """Forward hooks on the named modules, then one call of `run()` in inference mode.

    names None: an automatic capture, for a map derived from a conversion: every module
    that holds a parameter or buffer, plus the record (MAP_RECORD) of the state dict's
    fingerprints, the modules' classes and the order their forwards ended. output_name:
    what `run()` returns is kept too, under this name (a causal LM's logits: its head,
    tied to the embeddings, holds no converted tensor of its own to be matched by)."""
    import torch

    modules = dict(model.named_modules())
    automatic = names is None
    if automatic:
        # every module: those holding tensors, and the parameter-free ones (activations)
        # that may follow them
        names = [name for name in modules if name]
        parameter_free = {
            name
            for name in names
            if next(modules[name].parameters(), None) is None
            and next(modules[name].buffers(), None) is None
        }
    missing = [name for name in names if name not in modules]
    if missing:
        raise _unknown(missing, "module", model)
    found: dict[str, np.ndarray] = {}
    order: list[str] = []

    def hook_for(name: str):
        def hook(module, args, output):
            # Copied at once: an in-place ReLU after this module would overwrite the tensor.
            # The first call only, should a module run twice in one forward.
            output = _first_tensor(output, torch.is_tensor)
            if name not in found and output is not None:
                found[name] = channels_last(output.detach().float().cpu().numpy().copy())
                order.append(name)

        return hook

    handles = [modules[name].register_forward_hook(hook_for(name)) for name in names]
    try:
        with torch.inference_mode():
            output = _first_tensor(run(), torch.is_tensor)
    finally:
        for handle in handles:
            handle.remove()
    if output_name is not None and output is not None:
        found[output_name] = channels_last(output.detach().float().cpu().numpy())
    if automatic:
        successors = {
            name: chain
            for name in order
            if name not in parameter_free
            and (chain := _successors(name, order, parameter_free, separator="."))
        }
        kept = {name for chain in successors.values() for name in chain}
        for name in parameter_free - kept:
            found.pop(name, None)  # captured to find the order, but a successor of nothing
        order = [name for name in order if name in found]
        found[MAP_RECORD] = record_entry(
            {
                "side": "torch",
                "keys": {k: _torch_fingerprint(v) for k, v in model.state_dict().items()},
                "types": {name: type(modules[name]).__name__ for name in order},
                "order": order,
                "successors": successors,
            }
        )
    return found


def _sublayer(layer, path: list[str]):
    """The layer reached from `layer` by nested layer names (ViTEncoder's blocks, say)."""
    for part in path:
        found = next((sub for sub in layer._flatten_layers(False, False) if sub.name == part), None)
        if found is None:
            return None
        layer = found
    return layer


def _recorded_calls(
    model,
    inputs: Any,
    layers: dict[str, Any],
    order: list[str] | None = None,
    output_name: str | None = None,
) -> dict[str, np.ndarray]:
    """One eager call of `model`, recording what each of `layers` returns: the Keras
    counterpart of a forward hook, for layers nested inside another layer's `call`, which
    a functional graph does not expose. A layer that returns a tuple gives its first
    element; one that returns no tensor (a dict, a cache) is left out. `order`, if given,
    receives the names in the order their calls ended; output_name, if given, gets the
    model's own output."""
    found: dict[str, np.ndarray] = {}
    saved = {}

    def is_array(value) -> bool:
        return hasattr(value, "shape") and hasattr(value, "dtype")

    for name, layer in layers.items():
        saved[name] = layer.__dict__.get("call")
        original = layer.call

        def call(*args, _original=original, _name=name, **kwargs):
            output = _original(*args, **kwargs)
            first = _first_tensor(output, is_array)
            if _name not in found and first is not None:  # the first call only, as in torch
                found[_name] = np.asarray(first, dtype=np.float32)
                if order is not None:
                    order.append(_name)
            return output

        object.__setattr__(layer, "call", call)
    try:
        output = _first_tensor(model(inputs, training=False), is_array)
    finally:
        for name, layer in layers.items():
            if saved[name] is None:
                object.__delattr__(layer, "call")
            else:
                object.__setattr__(layer, "call", saved[name])
    if output_name is not None and output is not None:
        found[output_name] = np.asarray(output, dtype=np.float32)
    return found


# --- automatic layer maps: what keras-hub's conversion filled from which tensor ----------

# model -> its conversion's record, kept from loading to capture without touching the model
_CONVERSIONS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


@contextlib.contextmanager
def recording_conversion() -> Iterator[list[dict]]:
    """While keras-hub converts a timm or transformers checkpoint: which checkpoint tensors
    filled each Keras variable. Both converter families read through keras-hub's
    SafetensorLoader (keras_hub/src/utils/transformers/safetensor_utils.py): its
    get_tensor notes each tensor it reads (full key, fingerprint), and the next
    Variable.assign takes the notes. port_weight starts afresh, so a converter's probe
    read (which naming does this checkpoint use?) is not counted against a variable."""
    from keras.src.backend.common.variables import Variable
    from keras_hub.src.utils.transformers.safetensor_utils import SafetensorLoader

    filled: list[dict] = []
    pending: list[tuple[str, str]] = []
    get_tensor, port_weight, assign = (
        SafetensorLoader.get_tensor,
        SafetensorLoader.port_weight,
        Variable.assign,
    )
    file_keys: dict[int, set[str]] = {}

    def full_key(loader, key: str) -> str:
        """The key as the file spells it (the loader adds a prefix such as "bert.")."""
        for handle in loader.safetensor_files.values():
            names = file_keys.setdefault(id(handle), set(handle.keys()))
            if key in names:
                return key
            if loader.prefix and loader.prefix + key in names:
                return loader.prefix + key
        return key

    def recording_get_tensor(self, hf_weight_key):
        tensor = get_tensor(self, hf_weight_key)
        pending.append((full_key(self, hf_weight_key), numpy_fingerprint(tensor)))
        return tensor

    def recording_port_weight(self, *args, **kwargs):
        pending.clear()
        return port_weight(self, *args, **kwargs)

    def recording_assign(self, value):
        if pending:
            filled.append(
                {
                    "variable": self,
                    "keys": [key for key, _ in pending],
                    "fingerprints": [print_ for _, print_ in pending],
                }
            )
            pending.clear()
        return assign(self, value)

    SafetensorLoader.get_tensor = recording_get_tensor
    SafetensorLoader.port_weight = recording_port_weight
    Variable.assign = recording_assign
    try:
        yield filled
    finally:
        SafetensorLoader.get_tensor = get_tensor
        SafetensorLoader.port_weight = port_weight
        Variable.assign = assign


def remember_conversion(model, filled: list[dict]) -> None:
    """Keep a loaded model's conversion record for an automatic capture later."""
    _CONVERSIONS[model] = filled


def _layer_paths(model) -> dict[str, Any]:
    """Every layer below `model` by its path of names ("backbone/block_1/attention")."""
    paths: dict[str, Any] = {}
    seen: set[int] = set()

    def walk(layer, prefix: str) -> None:
        for sub in layer._flatten_layers(include_self=False, recursive=False):
            if id(sub) in seen:
                continue
            seen.add(id(sub))
            paths[prefix + sub.name] = sub
            walk(sub, prefix + sub.name + "/")

    walk(model, "")
    return paths


def _successors(
    path: str, order: list[str], parameter_free: set[str], separator: str = "/"
) -> list[str]:
    """The parameter-free layers (modules) called right after `path`, inside the same
    parent, one after another (a BatchNormalization's ReLU, in a functional graph or in a
    layer's own `call`; timm's SiLU after an SE block's conv): where the other side's
    layer that holds its activation (timm's BatchNormAct2d, a Keras Conv2D with
    activation="swish") has the same tensor."""
    if path not in order:
        return []
    parent = path.rpartition(separator)[0]
    chain: list[str] = []
    for after in order[order.index(path) + 1 :][:SUCCESSOR_STEPS]:
        if after not in parameter_free or after.rpartition(separator)[0] != parent:
            break
        chain.append(after)
    return chain


def keras_conversion_outputs(
    model, inputs: Any, output_name: str | None = None
) -> dict[str, np.ndarray]:
    """An automatic capture: the outputs of every layer that holds a converted variable
    (and of its parameter-free successors), with the record (MAP_RECORD) of which
    checkpoint tensors filled which layer's variables; and the model's own output under
    output_name, if given (as torch_module_outputs)."""
    filled = _CONVERSIONS.get(model)
    if filled is None:
        raise ValueError(
            f"no conversion was recorded for {type(model).__name__}: an automatic layer map "
            "needs the model loaded inside recording_conversion()"
        )
    if not filled:
        raise ValueError(
            f"keras-hub filled no variable of {type(model).__name__} from a timm or "
            "transformers checkpoint (a preset of its own?): no conversion to map layers by"
        )
    paths = _layer_paths(model)
    owner = {}
    for path, layer in paths.items():
        for variable in layer._trainable_variables + layer._non_trainable_variables:
            owner.setdefault(id(variable), path)
    variables = [
        {
            "layer": owner[id(entry["variable"])],
            "keys": entry["keys"],
            "fingerprints": entry["fingerprints"],
        }
        for entry in filled
        if id(entry["variable"]) in owner
    ]
    wanted: set[str] = set()
    for entry in variables:  # the owning layer and every layer that contains it
        parts = entry["layer"].split("/")
        wanted.update("/".join(parts[: i + 1]) for i in range(len(parts)))
    # and the parameter-free layers beside them (activations, paddings): successors
    parents = {path.rpartition("/")[0] for path in wanted}
    parameter_free = {
        path
        for path, layer in paths.items()
        if path.rpartition("/")[0] in parents and not layer.weights
    }
    order: list[str] = []
    found = _recorded_calls(
        model,
        inputs,
        {path: paths[path] for path in sorted(wanted | parameter_free)},
        order,
        output_name,
    )
    successors = {path: _successors(path, order, parameter_free) for path in sorted(wanted)}
    for path in parameter_free - {name for chain in successors.values() for name in chain}:
        found.pop(path, None)  # captured to find the order, but a successor of nothing
    found[MAP_RECORD] = record_entry(
        {
            "side": "keras",
            "variables": variables,
            "successors": {k: v for k, v in successors.items() if v},
        }
    )
    return found


def keras_layer_outputs(model, inputs: Any, names: list[str] | None) -> dict[str, np.ndarray]:
    """Outputs of named layers of a Keras functional model or of its `backbone`; names
    None: an automatic capture (keras_conversion_outputs).

    A keras-hub task model holds its backbone as one nested layer, so the backbone's
    inner layers are reached through a second model over the backbone's own graph (the
    backbone takes the task's input unchanged when the task is called directly).
    A name "outer/inner" is a layer inside the functional layer "outer" (keras-hub's
    ViTEncoder keeps its blocks so); those are recorded during one eager call."""
    import keras

    if names is None:
        return keras_conversion_outputs(model, inputs)
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

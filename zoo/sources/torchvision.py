"""`torchvision:` TorchVision classification models, PyTorch side.

    torchvision:resnet50                    the DEFAULT weights (download or torch hub cache)
    torchvision:resnet50.IMAGENET1K_V1      a named Weights enum member
    torchvision:resnet50@/path/model.pth    a local state dict (loaded with weights_only=True)

Published acc@1/acc@5, parameters, GFLOPS and file size are read from the Weights
enum inside the worker and recorded as published, beside what this run measures.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from zoo.sources import (
    CACHED,
    LOCAL,
    NETWORK,
    LoadedModel,
    Location,
    Source,
    nchw,
    register_source,
    unavailable,
)
from zoo.sources.files import locate_checkpoint


def torch_hub_checkpoints() -> Path:
    """torch.hub's download folder, honouring TORCH_HOME as torch does."""
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "torch"
    )
    return Path(torch_home) / "hub" / "checkpoints"


def parse(name: str) -> tuple[str, str | None, str | None]:
    """resnet50.IMAGENET1K_V1 -> (arch, weights, None); resnet50@/x.pth -> (arch, None, path)."""
    arch, at, path = name.partition("@")
    arch, dot, weights = arch.partition(".")
    return arch, (weights or None), (path if at else None)


def load_state_dict_file(path: str) -> dict:
    """A state dict from disk, refusing pickled code (weights_only) with a clear message."""
    import torch

    file = Path(path)
    if not file.is_file() or file.stat().st_size == 0:
        raise ValueError(f"weights file {path} is missing or empty")
    try:
        state = torch.load(file, map_location="cpu", weights_only=True)
    except Exception as error:  # unpickling errors have many types; say which file and why
        if "Weights only load failed" in str(error):
            # torch's own text suggests weights_only=False; this tool never offers that.
            raise ValueError(
                f"{path} holds pickled objects that are not tensors (possibly code), which "
                "torch.load(weights_only=True) refuses; zoo-parity never unpickles them: "
                "save a plain state dict of tensors, or .safetensors"
            ) from None
        raise ValueError(
            f"cannot load {path} as a state dict ({type(error).__name__}: "
            f"{str(error).strip().splitlines()[0] if str(error).strip() else 'no detail'}); "
            "it may be truncated, or hold pickled code, which weights_only=True refuses"
        ) from None
    if not isinstance(state, dict):
        raise ValueError(f"{path} holds a {type(state).__name__}, not a state dict")
    return state


def state_dict_misfit(error: Exception) -> str:
    """load_state_dict's many-line error as one line: its first problem, and how many more.
    ("Error(s) in loading state_dict for ResNet:" alone says nothing.)"""
    problems = [line.strip() for line in str(error).strip().splitlines()[1:] if line.strip()]
    if not problems:
        return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return problems[0].replace("torch.Size(", "(") + more


@register_source
class TorchVision(Source):
    prefix = "torchvision"
    framework = "torch"
    description = "TorchVision classification models with their Weights enums"
    tasks = ("image-classifier",)
    names_library = "torchvision"

    def listed_name(self, name: str) -> tuple[str, str | None]:
        arch, weights, _ = parse(name)
        return arch, weights

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        arch, _, path = parse(name)
        if path is not None:
            return locate_checkpoint(handle, path)
        checkpoints = torch_hub_checkpoints()
        found = sorted(checkpoints.glob(f"{arch}-*.pth")) + sorted(
            checkpoints.glob(f"{arch}_*.pth")
        )
        if found:
            return Location(handle, CACHED, path=str(found[-1]), hub_id=name)
        return Location(
            handle,
            NETWORK,
            hub_id=name,
            note=f"needs download.pytorch.org (or its cache at {checkpoints}, set by TORCH_HOME)",
        )

    def load(
        self,
        location: Location,
        task: str,
        options: dict[str, Any],
        weights: str = "pretrained",
        seed: int = 0,
    ) -> LoadedModel:
        import torch
        from torchvision.models import get_model, get_model_weights

        arch, weights_name, _ = parse(location.handle.split(":", 1)[1])
        details: dict[str, Any] = {"arch": arch}
        if weights == "seeded":
            torch.manual_seed(seed)
            model = get_model(arch, weights=None, **options)
            details["weights"] = f"seeded({seed})"
        elif location.availability == LOCAL:
            model = get_model(arch, weights=None, **options)
            state = load_state_dict_file(location.path)
            try:
                model.load_state_dict(state, strict=True)
            except RuntimeError as error:
                raise ValueError(
                    f"{location.path} does not fit torchvision {arch}: {state_dict_misfit(error)}"
                ) from None
            details["weights"] = location.path
        else:
            enum = get_model_weights(arch)
            member = enum[weights_name] if weights_name else enum.DEFAULT
            try:
                model = get_model(arch, weights=member, **options)
            except (OSError, RuntimeError) as error:  # urllib errors are OSErrors
                raise unavailable(location, error) from error
            metrics = member.meta.get("_metrics", {}).get("ImageNet-1K", {})
            details.update(
                weights=str(member),
                published={
                    "acc@1": metrics.get("acc@1"),
                    "acc@5": metrics.get("acc@5"),
                    "parameters": member.meta.get("num_params"),
                    "gflops": member.meta.get("_ops"),
                    "file_size_mb": member.meta.get("_file_size"),
                    "where": f"torchvision {member} Weights.meta",
                },
            )
        model.eval()
        weights_bytes = Path(location.path).stat().st_size if location.path else None

        def forward(inputs: dict[str, Any]):
            return model(inputs["pixel_values"])

        return LoadedModel(
            forward=forward,
            parameters=sum(p.numel() for p in model.parameters()),
            weights_bytes=weights_bytes,
            dtype=str(next(model.parameters()).dtype).replace("torch.", ""),
            details=details,
            adapt_inputs=nchw,
        )

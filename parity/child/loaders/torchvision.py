"""The `torchvision:` loader: TorchVision classification models (zoo/sources/torchvision.py).

Published acc@1/acc@5, parameters, GFLOPS and file size are read from the Weights enum
and recorded as published, beside what the run measures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parity.child.loaders import (
    LoadedModel,
    fetch_failed,
    nchw,
    register_loader,
    unavailable,
    unknown_architecture,
)
from zoo.sources import LOCAL, Location
from zoo.sources.torchvision import parse


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


@register_loader("torchvision")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    import torch
    from torchvision.models import get_model, get_model_weights, list_models

    arch, weights_name, _ = parse(location.handle.split(":", 1)[1])
    # torchvision looks names up in lower case.
    if arch.lower() not in list_models():
        raise unknown_architecture(
            location, arch, list_models(), "torchvision.models.list_models()"
        )
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
        if weights_name and weights_name not in enum.__members__:
            raise unknown_architecture(
                location,
                f"{arch}.{weights_name}",
                (f"{arch}.{m}" for m in enum.__members__),
                f"torchvision's {enum.__name__}",
            )
        member = enum[weights_name] if weights_name else enum.DEFAULT
        try:
            model = get_model(arch, weights=member, **options)
        except Exception as error:  # urllib's errors are OSErrors; anything else is no download
            if fetch_failed(error):
                raise unavailable(location, error) from error
            raise
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

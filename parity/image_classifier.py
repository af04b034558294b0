"""The image-classifier task: photos preprocessed per side, then top-1/top-5 accuracy
and agreement of logits (same weights) or of predictions (independently trained).

Each side gets its own published preprocessing (accuracy track A); sides with the same
recipe share byte-identical tensors. Logits from 1001-class models are aligned to
1000 classes by dropping background (index 0) before any comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity import checks
from parity.datasets import DatasetError, cache_key
from parity.files import load_npy, save_npy
from zoo.catalog import SAME_WEIGHTS, SIDES, Pair
from zoo.preprocessing import TORCHVISION_IMAGENET


@dataclass
class PreparedImages:
    paths: dict[str, dict[str, str]]  # side -> {"pixel_values": path}
    recipes: dict[str, dict]  # side -> preprocessing as data
    shared: bool  # both sides got identical tensors
    labels: np.ndarray
    also: tuple[tuple[int, ...], ...]
    name: str
    sources: tuple[str, ...]

    def paths_for(self, side: str) -> dict[str, str]:
        return self.paths[side]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "images": int(len(self.labels)),
            "sources": list(self.sources),
            "preprocessing": self.recipes,
            "identical_inputs": self.shared,
        }


def _load_images(dataset: str, limit: int | None):
    from parity import photos

    if dataset == "photos":
        found = photos.load_photo_set()
    elif dataset.startswith("photos:"):
        # A manifest of one's own, in the bundled one's format (rows name package files).
        found = photos.load_photo_set(dataset.split(":", 1)[1])
    else:
        raise DatasetError(f"unknown image dataset {dataset!r}: use photos or photos:MANIFEST.tsv")
    count = len(found.labels) if limit is None else min(limit, len(found.labels))
    if count < 1:
        raise DatasetError("the photo set is empty")
    return found, count


def prepare(pair: Pair, config, work_dir: Path) -> PreparedImages:
    found, count = _load_images(config.dataset or pair.dataset, config.limit)
    images = [np.asarray(image) for image in found.images[:count]]
    paths: dict[str, dict[str, str]] = {}
    recipes: dict[str, dict] = {}
    for side in SIDES:
        recipe = pair.side(side).preprocessing or TORCHVISION_IMAGENET
        folder = work_dir / "inputs" / cache_key(found.name, count, recipe.key())
        path = folder / "pixel_values.npy"
        if not path.exists():
            save_npy(path, np.stack([recipe.apply(image) for image in images]))
        paths[side] = {"pixel_values": str(path)}
        recipes[side] = recipe.to_dict()
    return PreparedImages(
        paths=paths,
        recipes=recipes,
        shared=paths["torch"] == paths["tensorflow"],
        labels=np.asarray(found.labels[:count]),
        also=tuple(tuple(a) for a in found.also[:count]),
        name=found.name,
        sources=tuple(found.sources[:count]),
    )


def _logits(pair: Pair, cell: dict) -> np.ndarray:
    return checks.align_label_space(load_npy(cell["output_path"]), pair.side(cell["side"]).classes)


def accuracy(pair: Pair, prepared: PreparedImages, cell: dict) -> dict[str, Any]:
    return checks.classification_accuracy(_logits(pair, cell), prepared.labels, prepared.also)


def agreement(pair: Pair, prepared: PreparedImages, a: dict, b: dict) -> dict[str, Any]:
    # Numbers are comparable for two modes of one side (same model, same tensors), or for
    # same-weights sides fed identical tensors; otherwise only predictions are.
    same_side = a["side"] == b["side"]
    if same_side or (pair.relation == SAME_WEIGHTS and prepared.shared):
        return checks.logits_agreement(_logits(pair, a), _logits(pair, b), atol=pair.atol)
    found = checks.prediction_agreement(_logits(pair, a), _logits(pair, b))
    found["note"] = (
        "independently trained: only predictions are compared"
        if pair.relation != SAME_WEIGHTS
        else "the sides' preprocessing differs, so their inputs differ: predictions compared"
    )
    return found

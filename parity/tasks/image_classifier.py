"""The image-classifier task: photos preprocessed per side, then top-1/top-5 accuracy
and agreement of logits (same weights) or of predictions (independently trained).

Each side gets its own published preprocessing (accuracy track A); sides with the same
recipe share byte-identical tensors. Track B feeds both sides the PyTorch side's tensors
(parity.evaluate.tracks). Logits from 1001-class models are aligned to 1000 classes by dropping
background (index 0) before any comparison.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from parity.datasets.images import load_images
from parity.datasets.sentences import cache_key
from parity.evaluate import checks, tracks
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
    track_plan: tracks.TrackPlan
    subset: dict[str, Any] | None = None  # the seeded --limit subset, if one was taken

    def paths_for(self, side: str) -> dict[str, str]:
        return self.paths[side]

    def extra_inputs_for(self, side: str) -> dict[str, dict[str, str]]:
        """Input sets a side's worker evaluates besides its own (track B), by name."""
        return self.track_plan.extra_inputs.get(side, {})

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "images": int(len(self.labels)),
            "sources": list(self.sources),
            "preprocessing": self.recipes,
            "identical_inputs": self.shared,
            "subset": self.subset,
            "track_b": {
                "status": self.track_plan.status,
                "reference_side": tracks.REFERENCE_SIDE,
                "note": self.track_plan.note,
            },
        }


def prepare(pair: Pair, config, work_dir: Path) -> PreparedImages:
    found, subset = load_images(
        config.dataset or pair.dataset,
        config.limit,
        config.seed,
        work_dir,
        config.offline,
        threads=config.threads,
        memory_limit_mib=config.memory_limit_mib,
    )
    images = [np.asarray(image) for image in found.images]
    paths: dict[str, dict[str, str]] = {}
    recipes: dict[str, Any] = {}
    for side in SIDES:
        recipe = pair.side(side).preprocessing or TORCHVISION_IMAGENET
        # The sources pin the images: two subsets of one folder never share a cache entry.
        folder = work_dir / "inputs" / cache_key(found.name, found.sources, recipe.key())
        path = folder / "pixel_values.npy"
        if not path.exists():
            save_npy(path, np.stack([recipe.apply(image) for image in images]))
        paths[side] = {"pixel_values": str(path)}
        recipes[side] = recipe
    return PreparedImages(
        paths=paths,
        recipes={side: recipe.to_dict() for side, recipe in recipes.items()},
        shared=paths["torch"] == paths["tensorflow"],
        labels=np.asarray(found.labels),
        also=tuple(tuple(a) for a in found.also),
        name=found.name,
        sources=tuple(found.sources),
        track_plan=tracks.plan(recipes, paths, seeded=config.weights == "seeded"),
        subset=subset,
    )


def _logits(pair: Pair, cell: dict, path: str | None = None) -> np.ndarray:
    return checks.align_label_space(
        load_npy(path or cell["output_path"]), pair.side(cell["side"]).classes
    )


def _track_b(pair: Pair, prepared: PreparedImages, cell: dict, track_a: dict) -> dict | None:
    status = prepared.track_plan.status
    if status == tracks.IDENTICAL or (
        status == tracks.MEASURED and cell["side"] == tracks.REFERENCE_SIDE
    ):
        why = "same recipe on both sides" if status == tracks.IDENTICAL else "the reference side"
        figures = {k: track_a[k] for k in ("top1", "top5", "top1_acceptable", "images")}
        return {**figures, "basis": f"this side's track-A inputs ({why})"}
    path = (cell.get("extra_output_paths") or {}).get(tracks.TRACK_B)
    if status != tracks.MEASURED:
        return None
    if not path:
        return {"error": "the worker wrote no track-B output"}
    try:
        found = checks.classification_accuracy(
            _logits(pair, cell, path), prepared.labels, prepared.also
        )
    except (ValueError, OSError) as error:
        return {"error": str(error)}
    return {**found, "basis": "evaluated on the reference side's tensors"}


def accuracy(pair: Pair, prepared: PreparedImages, cell: dict) -> dict[str, Any]:
    """Track A's figures at the top level (as before tracks existed), track B under track_b."""
    found = checks.classification_accuracy(_logits(pair, cell), prepared.labels, prepared.also)
    track_b = _track_b(pair, prepared, cell, found)
    return {**found, tracks.TRACK_B: track_b} if track_b else found


def _track_b_agreement(pair: Pair, summary: dict, cells: list[dict]) -> dict:
    """PyTorch's and TensorFlow's outputs on the identical track-B tensors: numbers for a
    same-weights pair, predictions for an independent one."""
    by_id = {c["cell_id"]: c for c in cells}
    torch_cell = by_id[summary["sides"]["torch"]["cell"]]
    tf_cell = by_id[summary["sides"]["tensorflow"]["cell"]]
    tf_path = (tf_cell.get("extra_output_paths") or {}).get(tracks.TRACK_B)
    if not tf_path:
        return {"error": "the TensorFlow cell wrote no track-B output"}
    try:
        a, b = _logits(pair, torch_cell), _logits(pair, tf_cell, tf_path)
        if pair.relation == SAME_WEIGHTS:
            return {**checks.logits_agreement(a, b, atol=pair.atol), "compared_rows": len(a)}
        return checks.prediction_agreement(a, b)
    except (ValueError, OSError) as error:
        return {"error": str(error)}


def summarize_tracks(pair: Pair, prepared: PreparedImages, cells: list[dict], accuracy) -> dict:
    summary = tracks.summarize(prepared.track_plan, cells, accuracy)
    if prepared.track_plan.status == tracks.MEASURED and all(summary["sides"].values()):
        summary["agreement_b"] = _track_b_agreement(pair, summary, cells)
    return summary


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


def predictions(pair: Pair, prepared: PreparedImages, cell: dict) -> np.ndarray:
    """What a quantised mode is judged by: the logits, in the shared label space."""
    return _logits(pair, cell)

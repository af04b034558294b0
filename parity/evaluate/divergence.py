"""Divergence localisation for same-weights pairs: where do the two sides part?

Both sides' eager workers capture named intermediate activations of the first few
evaluation inputs (parity/worker.py, zoo/capture.py); zoo/layer_maps.py says which
PyTorch module matches which Keras layer. Here, in the parent (no framework), each
matched layer gets its max abs difference and its max relative difference (to the
largest |activation| on the PyTorch side), and the first layer over tolerance is named
by two criteria: abs > atol, and relative > rtol. Relative error is the fairer one deep
in a network, where activations grow; the abs criterion is the one logits are judged by.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.catalog import SAME_WEIGHTS, Pair
from zoo.layer_maps import LayerMatch, layer_map_for

DEFAULT_ROWS = 2  # inputs captured per side: enough to localise, a few MB per layer at most
DEFAULT_RTOL = 1e-4
EAGER = "eager"


def layer_map(pair: Pair):
    return layer_map_for(pair.torch.handle, pair.tensorflow.handle)


def capture_request(cell, enabled: bool | None, cell_dir: Path) -> dict | None:
    """The worker spec's "capture" entry for a cell, or None. enabled None means on for
    same-weights pairs with a layer map; only the eager cells of the main sides capture."""
    if enabled is False or cell.mode != EAGER or cell.diagnostic:
        return None
    if cell.pair.relation != SAME_WEIGHTS:
        return None
    matches = layer_map(cell.pair)
    if not matches:
        return None
    return {
        "layers": [m.name_for(cell.side) for m in matches],
        "rows": DEFAULT_ROWS,
        "path": str(cell_dir / "activations.npz"),
    }


def align(torch_act: np.ndarray, tf_act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two activations in one layout: equal shapes as they are; a 4-D NCHW PyTorch
    array against an NHWC Keras one is transposed. Anything else is an error."""
    if torch_act.shape == tf_act.shape:
        return torch_act, tf_act
    if torch_act.ndim == 4 and torch_act.transpose(0, 2, 3, 1).shape == tf_act.shape:
        return torch_act.transpose(0, 2, 3, 1), tf_act
    raise ValueError(f"shapes differ: torch {list(torch_act.shape)} vs tf {list(tf_act.shape)}")


def layer_errors(torch_act: np.ndarray, tf_act: np.ndarray) -> dict[str, Any]:
    a, b = align(np.asarray(torch_act, np.float64), np.asarray(tf_act, np.float64))
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("non-finite activations")
    max_abs = float(np.abs(a - b).max()) if a.size else 0.0
    scale = float(np.abs(a).max()) if a.size else 0.0
    if scale > 0:
        max_rel: float | None = max_abs / scale
    else:  # an all-zero PyTorch activation: relative error is 0 if equal, else undefined
        max_rel = 0.0 if max_abs == 0 else None
    return {
        "shape": list(a.shape),
        "max_abs_diff": max_abs,
        "max_rel_diff": max_rel,
        "torch_max_abs": scale,
    }


def _first(layers: list[dict], key: str, limit: float) -> dict | None:
    for index, layer in enumerate(layers):
        value = layer.get(key)
        if value is not None and value > limit:
            before = next(
                (p for p in reversed(layers[:index]) if p.get("max_abs_diff") is not None), None
            )
            return {
                "index": index,
                "label": layer["label"],
                "torch": layer["torch"],
                "tensorflow": layer["tensorflow"],
                "max_abs_diff": layer["max_abs_diff"],
                "max_rel_diff": layer["max_rel_diff"],
                # The step into this layer: a jump from a tiny value, or a gradual climb.
                "previous_label": before["label"] if before else None,
                "previous_max_abs_diff": before["max_abs_diff"] if before else None,
            }
    return None


def localise(
    matches: Sequence[LayerMatch],
    torch_acts: Mapping[str, np.ndarray],
    tf_acts: Mapping[str, np.ndarray],
    atol: float = 1e-4,
    rtol: float = DEFAULT_RTOL,
) -> dict[str, Any]:
    """The per-layer error curve in forward order, and the first layer over tolerance."""
    layers = []
    for match in matches:
        entry: dict[str, Any] = {
            "label": match.label,
            "torch": match.torch,
            "tensorflow": match.tensorflow,
        }
        missing = [
            name
            for name, acts in ((match.torch, torch_acts), (match.tensorflow, tf_acts))
            if name not in acts
        ]
        if missing:
            entry["error"] = "not captured: " + ", ".join(missing)
        else:
            try:
                entry.update(layer_errors(torch_acts[match.torch], tf_acts[match.tensorflow]))
            except ValueError as error:
                entry["error"] = str(error)
        layers.append(entry)
    measured = [layer for layer in layers if "max_abs_diff" in layer]
    if not measured:
        raise ValueError("no matched layer could be compared")
    worst = max(measured, key=lambda layer: layer["max_abs_diff"])
    return {
        "atol": atol,
        "rtol": rtol,
        "layers": layers,
        "first_over_atol": _first(layers, "max_abs_diff", atol),
        "first_over_rtol": _first(layers, "max_rel_diff", rtol),
        "largest": {"label": worst["label"], "max_abs_diff": worst["max_abs_diff"]},
        "errors": sum("error" in layer for layer in layers),
    }


def _captured(cell: dict) -> dict | None:
    return (cell.get("metrics") or {}).get("capture")


def pair_divergence(
    pair: Pair, reference: Mapping[str, dict | None], shared_inputs: bool, enabled: bool | None
) -> dict | None:
    """evaluation["divergence"] for a pair whose eager cells were asked to capture; None
    where nothing was asked (another relation, no layer map, --no-divergence)."""
    if enabled is False:
        return None
    matches = layer_map(pair)
    if pair.relation != SAME_WEIGHTS or not matches:
        if enabled:
            return {
                "error": f"no layer map for {pair.torch.handle} -> {pair.tensorflow.handle}: "
                "add one in zoo/layer_maps.py"
            }
        return None
    torch_cell, tf_cell = reference.get("torch"), reference.get("tensorflow")
    if not (torch_cell and tf_cell):
        return {"error": "an eager cell of one side did not complete: nothing to compare"}
    if not shared_inputs:
        return {"error": "the sides' inputs differ, so their activations are not comparable"}
    captures = {"torch": _captured(torch_cell), "tensorflow": _captured(tf_cell)}
    for side, capture in captures.items():
        if not capture:
            return {"error": f"the {side} eager cell captured nothing"}
        if "error" in capture:
            return {"error": f"{side} capture failed: {capture['error']}"}
    try:
        with np.load(captures["torch"]["path"]) as t, np.load(captures["tensorflow"]["path"]) as k:
            found = localise(matches, dict(t), dict(k), atol=pair.atol)
    except (OSError, ValueError) as error:
        return {"error": f"activations could not be compared: {error}"}
    found["rows"] = min(captures["torch"]["rows"], captures["tensorflow"]["rows"])
    return found

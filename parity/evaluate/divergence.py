"""Divergence localisation for same-weights pairs: where do the two sides part?

Both sides' eager workers capture intermediate activations of the first few evaluation
inputs (parity/child/worker.py, parity/child/capture.py). Which PyTorch module matches
which Keras layer: where keras-hub converts the PyTorch side's checkpoint, the map is
derived from that conversion (automatic_map: every candidate is captured, with a record
of which tensor filled which layer); elsewhere zoo/layer_maps.py holds a hand-written
map and only its names are captured. Here, in the parent (no framework), each
matched layer gets its max abs difference and its max relative difference (to the
largest |activation| on the PyTorch side), and the first layer over tolerance is named
by two criteria: abs > atol, and relative > rtol. Relative error is the fairer one deep
in a network, where activations grow; the abs criterion is the one logits are judged by.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from zoo.catalog import SAME_WEIGHTS, Pair
from zoo.layer_maps import (
    MAP_RECORD,
    MODEL_LOGITS,
    LayerMatch,
    automatic_groups,
    automatic_pair,
    layer_map_for,
)

DEFAULT_ROWS = 2  # inputs captured per side: enough to localise, a few MB per layer at most
DEFAULT_RTOL = 1e-4
# A best pair this many times over rtol that the next point contradicts held different
# tensors, not a divergence (automatic_map)
OTHER_TENSOR = 100
EAGER = "eager"


def layer_map(pair: Pair):
    return layer_map_for(pair.torch.handle, pair.tensorflow.handle)


# The tasks whose workers capture activations (a causal LM's: a full forward over its
# first prompts, after its generation is evaluated and timed)
CAPTURING_TASKS = ("text-encoder", "image-classifier", "text-generation")


def is_automatic(pair: Pair) -> bool:
    """A same-weights pair with no hand-written map whose map comes from its conversion."""
    return (
        pair.task in CAPTURING_TASKS
        and not layer_map(pair)
        and automatic_pair(pair.torch.handle, pair.tensorflow.handle)
    )


def read_capture(path: str | Path) -> tuple[dict[str, np.ndarray], dict | None]:
    """A capture's activations, and the map record an automatic capture saved with them."""
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    entry = arrays.pop(MAP_RECORD, None)
    return arrays, None if entry is None else json.loads(str(entry))


def automatic_map(
    torch_record: dict,
    keras_record: dict,
    torch_acts: Mapping[str, np.ndarray],
    tf_acts: Mapping[str, np.ndarray],
    rtol: float = DEFAULT_RTOL,
) -> tuple[LayerMatch, ...]:
    """The layer map of a keras-hub conversion, in PyTorch's execution order: for each
    group of candidates holding the same converted tensors (zoo/layer_maps.py,
    automatic_groups), the PyTorch module and Keras layer whose outputs have equal shapes
    and agree best. Best, not first: the candidates differ in what they include (an
    activation, say), and only the pair that computes the same tensor is comparable; a
    group where even the best pair disagrees is where the conversion diverges. Of pairs
    that agree within rtol, the one with fewer followers (activations after the layers
    holding the weights) is taken: the point nearest the weights.

    Unless a group's best pair differs grossly (over OTHER_TENSOR times rtol) and the next
    point agrees again (within rtol): then its candidates compute different tensors from
    the same inputs (Gemma's embedding module scales by sqrt(hidden_size), keras-hub's
    Embedding does not, its backbone scales after), and the group is left out. A real
    divergence carries on downstream; a small one (an epsilon) may fade and return.

    A causal LM's logits, which both sides capture as the model's output (MODEL_LOGITS),
    are the last point: its head is often tied to the embeddings, and then no group
    holds it apart from them."""
    order = {name: index for index, name in enumerate(torch_record.get("order", []))}
    types = torch_record.get("types", {})
    groups = automatic_groups(torch_record, keras_record, set(torch_acts), set(tf_acts))
    matches: list[tuple[float, LayerMatch]] = []
    for group in groups:
        best = None
        for module in group.torch:
            for layer in group.tensorflow:
                try:
                    rel = layer_errors(torch_acts[module], tf_acts[layer])["max_rel_diff"]
                except ValueError:  # shapes differ, or non-finite: not this pair
                    continue
                rel = float("inf") if rel is None else rel
                # within rtol: the fewest followers first; beyond it: the smallest error
                detour = (module in group.followers) + (layer in group.followers)
                rank = (False, detour, rel) if rel <= rtol else (True, 0, rel)
                if best is None or rank < best[0]:
                    best = (rank, module, layer)
        if best is not None:
            (_, _, rel), module, layer = best
            # Labelled by what PyTorch runs there: "Conv2d blocks.3.1.conv_pwl"
            label = f"{types[module]} {module}" if module in types else module
            matches.append((rel, LayerMatch(label, module, layer)))
    matches.sort(key=lambda match: order.get(match[1].torch, len(order)))
    kept = [
        match
        for match, after in zip(matches, [*matches[1:], None], strict=True)
        if match[0] <= OTHER_TENSOR * rtol or after is None or after[0] > rtol
    ]
    found = tuple(match for _, match in kept)
    if MODEL_LOGITS in torch_acts and MODEL_LOGITS in tf_acts:
        found += (LayerMatch("logits", MODEL_LOGITS, MODEL_LOGITS),)
    return found


def capture_request(cell, enabled: bool | None, cell_dir: Path) -> dict | None:
    """The worker spec's "capture" entry for a cell, or None. enabled None means on for
    same-weights pairs with a layer map or a keras-hub conversion; only the eager cells of
    the main sides capture."""
    if enabled is False or cell.mode != EAGER or cell.diagnostic:
        return None
    if cell.pair.relation != SAME_WEIGHTS:
        return None
    matches = layer_map(cell.pair)
    if not matches and not is_automatic(cell.pair):
        return None
    return {
        # None: an automatic capture, whose map the parent derives from the conversion
        "layers": [m.name_for(cell.side) for m in matches] if matches else None,
        "rows": DEFAULT_ROWS,
        "path": str(cell_dir / "activations.npz"),
    }


def align(torch_act: np.ndarray, tf_act: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The two activations in one layout: equal shapes as they are; a 4-D NCHW PyTorch
    array against an NHWC Keras one is transposed; a Keras (batch, tokens, heads, dim)
    against a PyTorch (batch, tokens, heads * dim) has its heads merged (keras-hub's
    EinsumDense projections against a Linear). Anything else is an error."""
    if torch_act.shape == tf_act.shape:
        return torch_act, tf_act
    if torch_act.ndim == 4 and torch_act.transpose(0, 2, 3, 1).shape == tf_act.shape:
        return torch_act.transpose(0, 2, 3, 1), tf_act
    if (
        torch_act.ndim == 3
        and tf_act.ndim == 4
        and tf_act.shape[:2] == torch_act.shape[:2]
        and tf_act.shape[2] * tf_act.shape[3] == torch_act.shape[2]
    ):
        return torch_act, tf_act.reshape(torch_act.shape)
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
    if pair.relation != SAME_WEIGHTS or not (matches or is_automatic(pair)):
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
        (torch_acts, torch_record), (tf_acts, tf_record) = (
            read_capture(captures["torch"]["path"]),
            read_capture(captures["tensorflow"]["path"]),
        )
        if not matches:
            if not (torch_record and tf_record):
                raise ValueError("an automatic capture saved no map record")
            matches = automatic_map(torch_record, tf_record, torch_acts, tf_acts, DEFAULT_RTOL)
            if not matches:
                raise ValueError("no PyTorch module and Keras layer hold the same tensors")
        found = localise(matches, torch_acts, tf_acts, atol=pair.atol)
        found["automatic"] = not layer_map(pair)
    except (OSError, ValueError, KeyError) as error:
        return {"error": f"activations could not be compared: {error}"}
    found["rows"] = min(captures["torch"]["rows"], captures["tensorflow"]["rows"])
    return found

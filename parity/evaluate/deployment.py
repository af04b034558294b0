"""Export cells (parity.vocabulary.EXPORT_MODES) judged beside the native ones.

`judge` says whether an exported model still computes its side's function: an fp32 export
by its largest difference over the eager output's scale (checks.mode_consistency), a
quantised one (dynamic int8) by its predictions against the fp32 eager output's
(checks.prediction_consistency), its differences reported only. `export_latency` sets
each export's median against its side's fastest native mode and, for a quantised mode,
against its fp32 export in the same runtime: single-process medians, which describe
that run (the replicated comparison is the ONNX duel's, in evaluation.onnx_latency).
"""

from __future__ import annotations

from typing import Any

from parity.evaluate import checks
from parity.vocabulary import EXPORT_MODES, QUANTISED_MODES

NO_PREDICTIONS = "this task has no predictions to judge a quantised mode by"
QUANTISED_NOTE = (
    "quantised: judged by top-1 agreement (at least {min:.0%}), not by the difference's size"
)


def _predictions(handler, pair, prepared, reference: dict, cell: dict) -> dict[str, Any]:
    scores = getattr(handler, "predictions", None)
    if scores is None:
        return {"error": NO_PREDICTIONS}
    try:
        return checks.prediction_consistency(
            scores(pair, prepared, reference), scores(pair, prepared, cell)
        )
    except ValueError as error:  # NaN outputs, say: reported, not raised
        return {"error": str(error)}


def judge(
    handler, pair, prepared, reference: dict, cell: dict, values: dict[str, Any]
) -> dict[str, Any]:
    """A compiled or exported cell against its side's eager cell, from their agreement
    dict (`values`, the task's agreement)."""
    if cell["mode"] not in QUANTISED_MODES:
        return checks.mode_consistency(values)
    predictions = _predictions(handler, pair, prepared, reference, cell)
    return checks.quantised_consistency(values, predictions)


def judge_other_side(
    handler, pair, prepared, ordered: tuple[dict, dict], cell: dict, values: dict[str, Any]
) -> dict[str, Any]:
    """An exported cell against the other side's eager cell (`ordered`: torch first); a
    quantised one judged by its predictions, as against its own side."""
    found = {"torch_cell": ordered[0]["cell_id"], "tensorflow_cell": ordered[1]["cell_id"]}
    if cell["mode"] not in QUANTISED_MODES:
        return {**found, **values}
    other = ordered[0] if ordered[1] is cell else ordered[1]
    predictions = _predictions(handler, pair, prepared, other, cell)
    if "error" in predictions:
        return {**found, **values, "passed": None, "error": predictions["error"]}
    shown = {k: predictions[k] for k in ("top1_agreement", "top5_agreement", "top5_overlap")}
    note = QUANTISED_NOTE.format(min=predictions["min_top1"])
    return {**found, **values, **shown, "passed": predictions["passed"], "note": note}


def export_latency(cells: list[dict]) -> dict[str, dict[str, Any]]:
    """Per export cell that timed something, per batch size: its median, the side's
    fastest native mode's, and (a quantised mode) its fp32 mode's, with the ratios."""
    found: dict[str, dict[str, Any]] = {}

    def median(cell: dict, batch: str) -> float | None:
        return ((cell.get("latency_stats") or {}).get(batch) or {}).get("median")

    for cell in cells:
        if cell["mode"] not in EXPORT_MODES or not cell.get("latency_stats"):
            continue
        side = [c for c in cells if c["side"] == cell["side"]]
        batches = {}
        for batch in cell["latency_stats"]:
            mine = median(cell, batch)
            entry: dict[str, Any] = {"median_ms": mine}
            natives = [c for c in side if c["mode"] not in EXPORT_MODES and median(c, batch)]
            if natives and mine:
                best = min(natives, key=lambda c: median(c, batch))
                entry.update(
                    native_mode=best["mode"],
                    native_median_ms=median(best, batch),
                    over_native=mine / median(best, batch),
                )
            fp32 = next((c for c in side if c["mode"] == QUANTISED_MODES.get(cell["mode"])), None)
            if fp32 is not None and median(fp32, batch) and mine:
                entry.update(
                    fp32_mode=fp32["mode"],
                    fp32_median_ms=median(fp32, batch),
                    over_fp32=mine / median(fp32, batch),
                )
            batches[batch] = entry
        found[cell["cell_id"]] = {"batches": batches}
    return found


__all__ = ["export_latency", "judge", "judge_other_side"]

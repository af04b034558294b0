"""Accuracy in two tracks (docs/architecture.md, "The questions").

- Track A: each side gets its own published preprocessing (the catalog's Side.preprocessing).
- Track B: both sides get the same tensors: the PyTorch side's published preprocessing, the
  reference. PyTorch's track-B inputs are therefore its track-A inputs; only the TensorFlow
  side evaluates a second input set, in the same worker (no second model load).

A minus B, per side, is the effect of that side's preprocessing; B alone (PyTorch minus
TensorFlow on identical tensors) is the effect of framework and weights. When both recipes
are identical, track B is track A by construction and nothing more is evaluated. Track B
needs one input size for both sides; when the recipes' crop sizes differ it is not measured,
and the record says why. Framework-free: numbers in, numbers out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

REFERENCE_SIDE = "torch"
TRACK_B = "track_b"  # the name of the extra input set the worker evaluates
MEASURED, IDENTICAL, NOT_MEASURED = "measured", "identical", "not measured"
FIGURES = ("top1", "top5")


@dataclass(frozen=True)
class TrackPlan:
    status: str  # MEASURED, IDENTICAL or NOT_MEASURED
    note: str
    reference_recipe: dict[str, Any]
    # side -> the input set that side evaluates as track B, when that differs from track A
    extra_inputs: dict[str, dict[str, str]] = field(default_factory=dict)


def plan(
    recipes: dict[str, Any], paths: dict[str, dict[str, str]], seeded: bool = False
) -> TrackPlan:
    """recipes: side -> Preprocessing; paths: side -> track-A input files."""
    reference = recipes[REFERENCE_SIDE]
    others = [s for s in recipes if s != REFERENCE_SIDE]
    if seeded:
        return TrackPlan(
            NOT_MEASURED, "seeded weights have no accuracy to compare", reference.to_dict()
        )
    if all(recipes[s].key() == reference.key() for s in others):
        return TrackPlan(
            IDENTICAL,
            "both sides' published recipes are identical, so both get the same tensors in "
            "track A: track B is track A by construction",
            reference.to_dict(),
        )
    sizes = {s: recipes[s].size for s in recipes}
    if len(set(sizes.values())) > 1:
        return TrackPlan(
            NOT_MEASURED,
            f"the sides take different input sizes ({sizes}); no tensor fits both",
            reference.to_dict(),
        )
    return TrackPlan(
        MEASURED,
        "the TensorFlow side also evaluated the PyTorch side's tensors, in the same worker",
        reference.to_dict(),
        {s: {TRACK_B: dict(paths[REFERENCE_SIDE])} for s in others},
    )


def _figures(found: dict | None) -> dict[str, float] | None:
    if not found or "error" in found or not all(k in found for k in FIGURES):
        return None
    return {k: float(found[k]) for k in FIGURES}


def _minus(a: dict | None, b: dict | None) -> dict[str, float] | None:
    if a is None or b is None:
        return None
    return {k: a[k] - b[k] for k in FIGURES}


def summarize(track_plan: TrackPlan, cells: list[dict], accuracy: dict[str, dict]) -> dict:
    """Per side (its eager cell, else its first completed cell): top-1/top-5 in both tracks,
    A minus B; and PyTorch minus TensorFlow in each track. Fractions, not percents."""
    sides: dict[str, Any] = {}
    for side in (REFERENCE_SIDE, "tensorflow"):
        own = [c for c in cells if c["side"] == side and c.get("status", "ok") == "ok"]
        cell = next((c for c in own if c["mode"] == "eager"), own[0] if own else None)
        if cell is None:
            sides[side] = None
            continue
        found = accuracy.get(cell["cell_id"], {})
        a, b = _figures(found), _figures(found.get(TRACK_B))
        sides[side] = {"cell": cell["cell_id"], "a": a, "b": b, "a_minus_b": _minus(a, b)}

    def across(track: str) -> dict[str, float] | None:
        got = [sides[s][track] if sides[s] else None for s in (REFERENCE_SIDE, "tensorflow")]
        return _minus(*got)

    return {
        "reference_side": REFERENCE_SIDE,
        "reference_recipe": track_plan.reference_recipe.get("origin", ""),
        "track_b": track_plan.status,
        "note": track_plan.note,
        "sides": sides,
        "torch_minus_tf": {"a": across("a"), "b": across("b")},
    }


def _points(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{100 * value:+.1f}" if signed else f"{100 * value:.1f}"


def table_rows(tracks: dict) -> tuple[list[str], list[list[str]]]:
    """The tracks as a table: one row per side and one for PyTorch minus TensorFlow.
    Values in percent (points for differences)."""
    head = ["", "A top-1 %", "A top-5 %", "B top-1 %", "B top-5 %", "A−B top-1", "A−B top-5"]
    names = {"torch": "PyTorch", "tensorflow": "TensorFlow"}
    rows = []
    for side, found in tracks["sides"].items():
        found = found or {}
        a, b, d = found.get("a") or {}, found.get("b") or {}, found.get("a_minus_b") or {}
        rows.append(
            [names.get(side, side)]
            + [_points(a.get(k)) for k in FIGURES]
            + [_points(b.get(k)) for k in FIGURES]
            + [_points(d.get(k), signed=True) for k in FIGURES]
        )
    gap = tracks["torch_minus_tf"]
    a, b = gap.get("a") or {}, gap.get("b") or {}
    rows.append(
        ["PyTorch − TensorFlow"]
        + [_points(a.get(k), signed=True) for k in FIGURES]
        + [_points(b.get(k), signed=True) for k in FIGURES]
        + ["", ""]
    )
    return head, rows


def agreement_b_text(found: dict | None) -> str | None:
    """The two sides' outputs on the identical track-B tensors, in one line."""
    if not found:
        return None
    if "error" in found:
        return f"Outputs on the track-B tensors could not be compared: {found['error']}"
    text = f"On the identical track-B tensors: top-1 agreement {found['top1_agreement']:.0%}"
    if "max_abs_diff" in found:
        verdict = "pass" if found["passed"] else "FAIL"
        text += (
            f", max abs logit difference {found['max_abs_diff']:.3g} "
            f"(atol {found['atol']:g}: {verdict})"
        )
    else:
        text += f", top-5 overlap {found['top5_overlap']:.0%}"
    return text + f" over {found['compared_rows']} inputs."


def sentence(tracks: dict) -> str:
    return (
        "Track A: each side with its own published preprocessing. Track B: both sides fed "
        f"identical tensors, the PyTorch side's ({tracks['reference_recipe'] or 'its recipe'}); "
        f"here {tracks['track_b']}: {tracks['note']}. A−B is a side's preprocessing effect; "
        "PyTorch − TensorFlow in track B is the framework-and-weights effect. Differences in "
        "percentage points."
    )

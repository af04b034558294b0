"""The time-budget planner (parity.run.budget) on the default suite."""

import pytest

from parity.run.budget import (
    KNOWN_FLOPS,
    MIN_REPLICATES,
    expected_half_width,
    flops_for,
    plan_budget,
    previous_flops,
    suite_work,
)
from zoo.catalog import PAIRS, get_suite

FAST_PEAK = 473.0  # the published run's machine (AVX-512)
SLOW_PEAK = FAST_PEAK / 6  # issue 11: a machine of the same kind about 6x slower


def _accounted(plan, work):
    """Every planned cell and comparison is in the plan or named by a change."""
    dropped = " ".join(c.what for c in plan.changes if c.kind == "dropped")
    kept = {(c.pair_id, c.side, c.mode) for c in plan.cells}
    for w in work:
        for side, modes in w.modes.items():
            for mode in modes:
                if (w.pair_id, side, mode) not in kept:
                    assert w.pair_id in dropped, f"{w.pair_id}/{side}/{mode} skipped silently"


@pytest.mark.parametrize("peak", [FAST_PEAK, SLOW_PEAK])
def test_default_suite_fits_fifteen_minutes(peak):
    work = suite_work(get_suite("default"))
    plan = plan_budget(work, peak, budget_s=15 * 60)
    assert plan.fits and plan.estimated_s <= 15 * 60
    assert plan.comparisons, "the headline comparisons are what the budget is for"
    assert all(c.replicates >= MIN_REPLICATES for c in plan.comparisons)
    _accounted(plan, work)
    assert set(plan.flops_sources) == {w.pair_id for w in work}


def test_the_slow_machine_plan_says_what_it_shortened_and_dropped():
    work = suite_work(get_suite("default"))
    fast = plan_budget(work, FAST_PEAK, 15 * 60)
    slow = plan_budget(work, SLOW_PEAK, 15 * 60)
    assert len(slow.changes) > len(fast.changes)
    assert {c.kind for c in slow.changes} == {"shortened", "dropped"}
    assert len(slow.cells) < len(fast.cells)
    text = "\n".join(slow.lines())
    assert "shortened: duel replicates" in text and "half-width" in text
    assert "dropped:" in text and "saves" in text
    for change in slow.changes:
        assert change.saved_s > 0 and change.precision


def test_an_unbounded_budget_changes_nothing():
    work = suite_work(get_suite("default"))
    plan = plan_budget(work, FAST_PEAK, budget_s=1e9)
    assert plan.changes == [] and "nothing shortened or dropped" in plan.lines()[1]
    standard = [c for c in plan.comparisons if c.pair_id == "all-MiniLM-L6-v2"]
    assert {c.replicates for c in standard} == {5}


def test_a_budget_too_small_says_it_does_not_fit():
    plan = plan_budget(suite_work(get_suite("default")), SLOW_PEAK, budget_s=30)
    assert not plan.fits and "does NOT fit" in plan.lines()[0]


def test_flops_say_where_they_come_from():
    assert set(KNOWN_FLOPS) == set(PAIRS)  # every catalog pair has a figure
    assert flops_for("resnet50-timm")[1].startswith("counted by torch.utils.flop_counter")
    assert flops_for("resnet50-timm", {"resnet50-timm": 1e9}) == (1e9, "counted in a previous run")
    flops, source = flops_for("mine", parameters=1_000_000)
    assert flops == 2e6 * 512 and source.startswith("fallback")
    record = {"pairs": [{"id": "p", "cells": [{"metrics": {"flops": {"per_sample": 5.0}}}]}]}
    assert previous_flops(record) == {"p": 5.0}


def test_more_replicates_narrow_the_expected_interval():
    assert expected_half_width(3, 6) > expected_half_width(5, 6) > expected_half_width(10, 6)
    assert expected_half_width(5, 4) > expected_half_width(5, 10)


def test_peak_is_required():
    with pytest.raises(ValueError, match="calibrate"):
        plan_budget(suite_work(get_suite("default")), 0.0)


def test_a_last_planned_run_on_this_machine_corrects_the_estimates():
    from parity.run.budget import correction_from, plan_budget, suite_work
    from zoo.catalog import get_suite

    machine = {
        "cpu": "X",
        "vector_extensions": ["avx2"],
        "cores_usable": 2,
        "gemm_peak": {"gflops_per_s": 200.0},
    }
    last = {"machine": machine, "wall_s": 1200.0, "budget": {"estimated_s": 800.0}}
    assert correction_from(last, machine) == 1.5
    other = {**machine, "vector_extensions": ["avx2", "avx512f"]}
    assert correction_from(last, other) == 1.0  # another machine: nothing to learn
    faster = {**machine, "gemm_peak": {"gflops_per_s": 400.0}}
    assert correction_from(last, faster) == 1.0
    assert correction_from({**last, "wall_s": 80000.0}, machine) == 3.0  # clipped
    # A run planned with x1.5 that took its (corrected) estimate confirms x1.5, not x1.
    confirmed = {**last, "budget": {"estimated_s": 1200.0, "correction": 1.5}}
    assert correction_from(confirmed, machine) == 1.5
    # ... and one that took half of it learns x0.75 of the model's estimate.
    assert correction_from({**confirmed, "wall_s": 600.0}, machine) == 0.75
    work = suite_work(get_suite("default"))
    plain, corrected = plan_budget(work, 200.0, 900.0), plan_budget(work, 200.0, 900.0, 1.5)
    assert corrected.estimated_s <= 900.0
    assert len(corrected.changes) >= len(plain.changes)
    assert len(corrected.cells) + len(corrected.comparisons) < len(plain.cells) + len(
        plain.comparisons
    )


def test_pairs_without_exports_go_before_the_export_cells():
    """The suite lists export cells for its real-weights pairs: a short budget drops the
    later pairs without exports before it drops those (issue 14), and every pair with
    exports only after the export cells themselves."""
    from parity.run.budget import plan_budget, suite_work
    from zoo.catalog import get_suite

    work = suite_work(get_suite("default"))
    exporting = {w.pair_id for w in work if any("onnx" in m for m in w.modes.values())}
    for peak in (40.0, 237.0, 473.0):
        order = [c.what for c in plan_budget(work, peak, 900.0).changes if c.kind == "dropped"]
        exports_at = next((i for i, what in enumerate(order) if "export cells" in what), None)
        for i, what in enumerate(order):
            pair = what.removeprefix("pair ")
            if what.startswith("pair ") and pair not in exporting:
                assert exports_at is None or i < exports_at, order
            if what.startswith("pair ") and pair in exporting:
                assert exports_at is not None and i > exports_at, order
    middle = plan_budget(work, 237.0, 900.0, 0.88)
    dropped = " ".join(c.what for c in middle.changes)
    assert "pair vit_b_16" in dropped and "export cells" not in dropped

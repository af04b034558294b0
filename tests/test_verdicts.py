"""Verdict evidence is computed from the record: check it on a hand-built record."""

from parity.evaluate.replicates import compare
from parity.publish import plots
from parity.publish.verdicts import CLAIMS, claim_evidence
from parity.results.record import RunRecord


def _cell(side, mode, medians, first_call_s=1.0):
    return {
        "cell_id": f"p/{side}/{mode}",
        "side": side,
        "mode": mode,
        "diagnostic": None,
        "status": "ok",
        "handle": f"{side}:m",
        "location": {"availability": "shipped"},
        "latency_stats": {b: {"median": m} for b, m in medians.items()},
        "metrics": {
            "model": {"parameters": 1000},
            "eval": {"batch": 8},
            "timings": {"eval_first_call_s": first_call_s},
        },
    }


def _replicated(ratio, spread=0.002, cpu_share=0.98):
    """A replicated comparison of 4 process pairs, 6 rounds each, at `ratio`."""
    a = [[ratio * (1 + spread * ((i + j) % 3 - 1)) for j in range(6)] for i in range(4)]
    b = [[1.0] * 6 for _ in range(4)]
    shares = [[cpu_share] * 12 for _ in range(4)]
    found = compare(a, b, shares).to_dict()
    return {**found, "modes": {"torch": "compile", "tensorflow": "xla"}, "plan": {}}


def _record(verdict="TensorFlow faster", ratio=2.0, replicated=None):
    cells = [
        _cell("torch", "eager", {"1": 10.0, "8": 80.0}),
        _cell("torch", "compile", {"1": 12.5, "8": 40.0}, first_call_s=9.04),
        _cell("tensorflow", "eager", {"1": 50.0, "8": 120.0}),
        _cell("tensorflow", "xla", {"1": 5.0, "8": 40.0}, first_call_s=0.54),
    ]
    latency = {
        "8": {
            "torch": {"best_mode": "compile", "median_ms": 40.0},
            "tensorflow": {"best_mode": "xla", "median_ms": 20.0},
            "torch_over_tf": {
                "ratio": ratio,
                "ci_low": ratio * 0.95,
                "ci_high": ratio * 1.05,
                "verdict": verdict,
            },
            **({"replicated": replicated} if replicated else {}),
        },
    }
    evaluation = {
        "latency": latency,
        "diagnostics": [],
        "agreement": {"max_abs_diff": 0.0045, "atol": 1e-4, "passed": False},
    }
    return RunRecord.from_dict(
        {
            "pairs": [
                {"id": "p", "relation": "same-weights", "cells": cells, "evaluation": evaluation}
            ]
        }
    )


def _evidence(record, row):
    return next(dict(found)["p"] for claim, found in claim_evidence(record) if claim.row == row)


def test_every_claim_is_stated_once_with_the_evidence_of_every_pair_under_it():
    found = claim_evidence(_record())
    assert [claim.row for claim, _ in found] == [c.row for c in CLAIMS]
    assert all(claim.source.startswith("table ") for claim, _ in found)
    assert "Tie: Both high-performance" in found[1][0].text()
    assert all([pair for pair, _ in evidence] == ["p"] for _, evidence in found)


def test_performance_names_the_faster_side_from_the_replicated_comparison():
    text = _evidence(_record(replicated=_replicated(2.0)), "Performance")
    assert text.startswith("batch 8 (PyTorch compile vs TensorFlow xla): TensorFlow 2.00x faster")
    assert "over 4 process pairs, between-process spread" in text
    assert "lies above the tie band" in text
    tie = _evidence(_record(replicated=_replicated(1.005)), "Performance")
    assert "tie (ratio 1.00)" in tie and "inside the tie band" in tie


def test_performance_gives_no_verdict_when_busy_or_not_replicated():
    busy = _evidence(_record(replicated=_replicated(2.0, cpu_share=0.5)), "Performance")
    assert "no verdict" in busy and "machine busy: rerun on an idle machine" in busy
    assert "faster" not in busy.split(":")[1]
    # An older record: the single-process ratio is shown, and no side is called faster.
    single = _evidence(_record(), "Performance")
    assert single.startswith("batch 8 (PyTorch compile vs TensorFlow xla): no verdict")
    assert "PyTorch compile 40.00 ms vs TensorFlow xla 20.00 ms" in single
    assert "2.000 [1.900, 2.100]" in single and "not replicated" in single
    assert "2.00x faster" not in single


def test_optimization_and_style_come_from_eager_versus_the_best_graph_mode():
    optimization = _evidence(_record(), "Performance Optimization")
    # compile is slower than eager at batch 1 (12.5 vs 10) and 2x faster at batch 8.
    assert (
        "PyTorch compile, speed-up over eager: 0.80x at batch 1, 2.00x at batch 8" in optimization
    )
    assert "first-call cost 9.0 s" in optimization  # 9.04 s first call minus 0.04 s median
    assert (
        "TensorFlow xla, speed-up over eager: 10.00x at batch 1, 3.00x at batch 8" in optimization
    )
    style = _evidence(_record(), "Development Style")
    assert "TensorFlow eager takes 10.00x at batch 1, 3.00x at batch 8" in style


def test_model_zoo_reports_loading_and_agreement():
    text = _evidence(_record(), "Model Zoo & Pre-trained Models")
    assert "PyTorch torch:m loaded (shipped, 1,000 parameters)" in text
    assert "outputs differ by at most 0.0045, outside atol 0.0001" in text


def test_nice_ticks_cover_the_range_with_round_steps():
    assert plots.nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    ticks = plots.nice_ticks(11.2, 13.9)
    assert ticks[0] <= 11.2 and ticks[-1] >= 13.9
    assert plots.distribution([], "t", "ms") == "" and plots.lines({}, "t", "x", "y") == ""

"""Verdict evidence is computed from the record: check it on a hand-built record."""

from parity.publish import plots
from parity.publish.verdicts import CLAIMS, verdict_rows
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


def _record(verdict="TensorFlow faster", ratio=2.0):
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
    return next(r["evidence"] for r in verdict_rows(record) if r["row"] == row)


def test_every_claim_is_restated_for_every_pair_with_its_source():
    rows = verdict_rows(_record())
    assert [r["row"] for r in rows] == [c.row for c in CLAIMS]
    assert all(r["source"].startswith("table ") for r in rows)
    assert "Tie: Both high-performance" in rows[1]["claim"]


def test_performance_names_the_faster_side_with_its_interval():
    text = _evidence(_record(), "Performance")
    assert "batch 8: TensorFlow 2.00x faster" in text and "1.900-2.100" in text
    assert "PyTorch compile 40.00 ms vs TensorFlow xla 20.00 ms" in text
    tie = _evidence(_record("tie", 1.01), "Performance")
    assert tie.startswith("batch 8: tie (ratio 1.01)")


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

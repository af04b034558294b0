"""The harness benchmark's arithmetic, and its bare loop through a real (fake-engine) worker."""

from __future__ import annotations

import pytest
from synthetic_runs import synthetic_run

from parity import bench
from parity.results.record import LatencySamples
from parity.run.runner import run


def test_overhead_and_spread_arithmetic():
    check = {"bare_ms": [10.0, 10.2, 9.9], "harness_ms": [10.1, 10.3, 10.0]}
    assert bench.overhead(LatencySamples(harness_check=check)) == pytest.approx(0.01)
    check["harness_samples_ms"] = [9.8, 9.9, 9.9, 20.0]
    assert bench.median_bias(LatencySamples(harness_check=check)) == pytest.approx(-0.01)
    check["bookkeeping_ns"] = 500.0
    entry = LatencySamples(harness_check=check, samples_ms=[1.0])
    assert bench.bookkeeping_share(entry) == 5e-4
    assert bench.overhead(LatencySamples(samples_ms=[1.0])) is None
    assert bench.spread([10.0, 10.5, 9.5]) == pytest.approx(0.1)


def test_bench_rows_come_from_repeated_runs_with_bare_loops(fake_pair, quick_config, capsys):
    records = [
        run([fake_pair()], quick_config(harness_check=True, out_dir=quick_config().out_dir / s))
        for s in ("a", "b")
    ]
    rows = bench.collect(records)
    # Two sides x two modes x two batch sizes, each seen in both runs.
    assert len(rows) == 8
    for row in rows:
        assert len(row["medians"]) == 2 and row["spread"] is not None
        assert all(o is not None for o in row["overheads"])
        assert all(0 <= b < 0.5 for b in row["bookkeeping"]), row["bookkeeping"]
    text = bench.render(rows, 2)
    assert "harness overhead" in text and "spread of medians over 2 runs" in text


def test_cover_counts_ordered_pairs_of_runs():
    ratios = [1.00, 1.02, 1.10]
    intervals = [(0.98, 1.03), (1.00, 1.05), (1.05, 1.15)]
    # Run 0 covers run 1 only; run 1 covers run 0; run 2 covers neither: 2 of 6.
    assert bench.cover(ratios, intervals) == pytest.approx(2 / 6)
    assert bench.cover([1.0], [(0.9, 1.1)]) is None


def test_headline_figures_from_three_runs_replicated_comparisons():
    records = [synthetic_run(seed, between=0.01) for seed in (1, 2, 3)]
    rows = bench.headline_rows(records)
    lite = next(r for r in rows if (r["pair"], r["batch"]) == ("efficientnet-lite0", "1"))
    ratios = [r["pairs"][1]["evaluation"]["latency"]["1"]["replicated"]["ratio"] for r in records]
    assert lite["ratios"] == ratios and lite["R"] == [5, 5, 5]
    assert lite["spread"] == pytest.approx((max(ratios) - min(ratios)) / sorted(ratios)[1])
    assert 0 <= lite["cover"] <= 1
    text = bench.render_headlines(rows, 3)
    assert "spread of each headline ratio over 3 fresh runs: largest" in text
    assert "the 3% target" in text and "of the ordered pairs of runs" in text
    assert "the 90% target" in text
    older = [synthetic_run(seed, replicated=False) for seed in (1, 2)]
    assert bench.headline_rows(older) == []
    assert "none of the 2 runs wrote a replicated comparison" in bench.render_headlines([], 2)

"""The harness benchmark's arithmetic, and its bare loop through a real (fake-engine) worker."""

from __future__ import annotations

import pytest

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

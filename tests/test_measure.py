import numpy as np
import pytest

from parity.evaluate.statistics import (
    FASTER_THAN_PEAK,
    compile_cost_s,
    efficiency,
    median_ratio,
    summarize,
)


def test_summary_of_known_samples():
    stats = summarize([1.0, 2.0, 3.0, 4.0, 5.0])
    assert stats.n == 5
    assert stats.median == 3.0
    assert stats.iqr == pytest.approx(2.0)  # numpy's linear percentiles: 4 - 2
    assert stats.min == 1.0 and stats.mean == 3.0
    assert stats.std == pytest.approx(np.std([1, 2, 3, 4, 5], ddof=1))


def test_percentiles_only_where_n_allows():
    assert summarize(np.ones(63)).p90 is None
    assert summarize(np.ones(64)).p90 == 1.0
    assert summarize(np.ones(661)).p99 is None
    assert summarize(np.ones(662)).p99 == 1.0


def test_unstable_when_iqr_over_median_exceeds_a_tenth():
    assert not summarize([10.0, 10.2, 10.4, 10.6, 10.8]).unstable
    assert summarize([10.0, 12.0, 14.0, 16.0, 18.0]).unstable


def test_nan_samples_are_refused_not_averaged():
    with pytest.raises(ValueError, match="NaN or Inf"):
        summarize([1.0, float("nan"), 2.0])
    with pytest.raises(ValueError, match="non-empty"):
        summarize([])


def test_ratio_names_the_faster_side_only_when_clear():
    rng = np.random.default_rng(0)
    slow = 20 + rng.normal(0, 0.2, 200)
    fast = 10 + rng.normal(0, 0.1, 200)
    found = median_ratio(slow, fast, name_a="PyTorch", name_b="TensorFlow")
    assert found.ratio == pytest.approx(2.0, rel=0.02)
    assert found.ci_low < found.ratio < found.ci_high
    assert found.verdict == "TensorFlow faster"
    assert (
        median_ratio(fast, slow, name_a="PyTorch", name_b="TensorFlow").verdict == "PyTorch faster"
    )


def test_ratio_within_two_percent_is_a_tie_even_when_the_interval_excludes_one():
    rng = np.random.default_rng(1)
    a = 10.1 + rng.normal(0, 0.001, 500)
    b = 10.0 + rng.normal(0, 0.001, 500)
    found = median_ratio(a, b)
    assert found.ci_low > 1.0  # clearly different...
    assert found.verdict == "tie"  # ...but by 1%, which is no verdict


def test_ratio_of_overlapping_samples_is_a_tie():
    rng = np.random.default_rng(2)
    found = median_ratio(10 + rng.normal(0, 2, 30), 10 + rng.normal(0, 2, 30))
    assert found.ci_low < 1.0 < found.ci_high
    assert found.verdict == "tie"


def test_achieved_gflops_and_share_of_peak():
    # 8e9 flops per sample, batch 8 in 400 ms: 160 GFLOP/s, 80% of a 200 GFLOP/s peak.
    found = efficiency(8e9, 8, 400.0, 200.0)
    assert found["gflops_per_s"] == pytest.approx(160.0)
    assert found["percent_of_peak"] == pytest.approx(80.0)
    assert found["flag"] is None


def test_a_cell_faster_than_the_peak_is_a_measurement_error():
    found = efficiency(8e9, 1, 10.0, 200.0)  # 800 GFLOP/s on a 200 GFLOP/s machine
    assert found["percent_of_peak"] == pytest.approx(400.0)
    assert found["flag"] == FASTER_THAN_PEAK
    assert efficiency(8e9, 1, 40.0, 200.0)["flag"] is None  # exactly the peak is possible


def test_no_count_or_no_peak_gives_no_figure_rather_than_a_guess():
    assert efficiency(None, 8, 400.0, 200.0) == {
        "gflops_per_s": None,
        "percent_of_peak": None,
        "flag": None,
    }
    no_peak = efficiency(8e9, 8, 400.0, None)
    assert no_peak["gflops_per_s"] == pytest.approx(160.0)
    assert no_peak["percent_of_peak"] is None and no_peak["flag"] is None


def test_compile_cost_is_first_call_minus_steady_median():
    assert compile_cost_s(2.5, 500.0) == pytest.approx(2.0)
    assert compile_cost_s(0.01, 20.0) == 0.0  # a first call faster than the median costs 0
    assert compile_cost_s(None, 20.0) is None

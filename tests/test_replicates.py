"""Replicated comparisons (parity.evaluate.replicates) on simulated process pairs."""

import numpy as np
import pytest

from parity.evaluate.replicates import (
    CONTENDED,
    FASTER,
    INCONCLUSIVE,
    RERUN,
    TIE,
    compare,
    hierarchical_interval,
    judge,
)
from parity.evaluate.statistics import median_ratio


def simulated_run(rng, replicates, true_ratio=1.10, rounds=8, calls=5, between=0.03):
    """One run as the machine behaves: each process carries its own offset (sd `between`
    on the log scale, so two processes' ratios differ by 3-7%), the machine drifts over
    the rounds (on both sides, as they alternate), rounds and calls add noise. Returns
    each replicate's round medians per side, and the first replicate's raw samples."""
    a, b, first = [], [], None
    for index in range(replicates):
        offset_a, offset_b = np.exp(rng.normal(0, between, size=2))
        drift = np.exp(np.cumsum(rng.normal(0, 0.01, rounds)))
        a_rounds, b_rounds, a_samples, b_samples = [], [], [], []
        for j in range(rounds):
            xa = true_ratio * offset_a * drift[j] * np.exp(rng.normal(0, 0.01, 1))
            xa = xa * np.exp(rng.normal(0, 0.05, calls))
            xb = (
                offset_b
                * drift[j]
                * np.exp(rng.normal(0, 0.01, 1))
                * np.exp(rng.normal(0, 0.05, calls))
            )
            a_rounds.append(float(np.median(xa)))
            b_rounds.append(float(np.median(xb)))
            a_samples += list(xa)
            b_samples += list(xb)
        a.append(a_rounds)
        b.append(b_rounds)
        if index == 0:
            first = (a_samples, b_samples)
    return a, b, first


def rerun_cover(replicates, trials, interval="confidence", seed=1):
    """How often one run's interval contains an independent run's ratio, and the same for
    the interval of one process's samples (today's method)."""
    rng = np.random.default_rng(seed)
    covered = single_covered = 0
    for _ in range(trials):
        a1, b1, one1 = simulated_run(rng, replicates)
        a2, b2, one2 = simulated_run(rng, replicates)
        _, low, high = hierarchical_interval(a1, b1, resamples=1000, interval=interval)
        covered += low <= hierarchical_interval(a2, b2, resamples=200)[0] <= high
        single = median_ratio(*one1, resamples=500)
        single_covered += single.ci_low <= median_ratio(*one2, resamples=10).ratio <= single.ci_high
    return covered / trials, single_covered / trials


def test_interval_covers_an_independent_run_where_one_process_does_not():
    cover, single = rerun_cover(replicates=3, trials=150)
    assert cover >= 0.90
    assert single <= 0.60  # one process's interval: narrow, and a rerun lands outside


def test_rerun_interval_keeps_covering_with_many_replicates():
    cover, _ = rerun_cover(replicates=10, trials=100, interval=RERUN, seed=2)
    assert cover >= 0.90


def _duel(ratio, replicates=4, rounds=6, spread=0.002, seed=0):
    rng = np.random.default_rng(seed)
    a = [list(ratio * np.exp(rng.normal(0, spread, rounds))) for _ in range(replicates)]
    b = [list(np.exp(rng.normal(0, spread, rounds))) for _ in range(replicates)]
    return a, b


def test_clear_difference_is_faster():
    found = compare(*_duel(1.30))
    assert found.status == FASTER and found.verdict == "TensorFlow faster"
    assert found.ci_low > 1.02 and found.ci_low < found.ratio < found.ci_high
    assert found.replicates == 4 and found.rounds == (6, 6, 6, 6)
    assert found.between_cv is not None and found.between_cv < 0.01
    slower_b = compare(*_duel(0.7))
    assert slower_b.verdict == "PyTorch faster"


def test_equal_sides_are_a_tie():
    found = compare(*_duel(1.0))
    assert found.status == TIE and found.verdict == "tie"
    assert 1 / 1.02 <= found.ci_low and found.ci_high <= 1.02


def test_wide_interval_is_inconclusive_and_says_why():
    found = compare(*_duel(1.03, replicates=3, spread=0.05))
    assert found.status == INCONCLUSIVE and found.verdict == "inconclusive"
    assert "tie band" in found.why and "more process pairs" in found.why


def test_one_contended_round_means_no_verdict():
    a, b = _duel(1.30)
    shares = [[0.99] * 12 for _ in a]
    shares[2][5] = 0.62
    found = compare(a, b, shares)
    assert found.status == CONTENDED and found.verdict == "no verdict"
    assert "machine busy: rerun on an idle machine" in found.why and "62%" in found.why
    assert found.contended_rounds == 1 and found.total_rounds == 48
    assert found.ratio is not None  # the figure is still shown, without a verdict


def test_one_replicate_gives_no_interval():
    a, b = _duel(1.30, replicates=1)
    found = compare(a, b)
    assert found.status == INCONCLUSIVE and found.ci_low is None
    assert "single process" in found.why


def test_unpaired_rounds_are_refused():
    with pytest.raises(ValueError, match="paired"):
        compare([[1.0, 1.1]], [[1.0]])
    with pytest.raises(ValueError, match="replicates"):
        compare([[1.0]], [[1.0], [1.0]])
    with pytest.raises(ValueError, match="positive"):
        compare([[1.0], [0.0]], [[1.0], [1.0]])


@pytest.mark.parametrize(
    ("low", "high", "status", "leaning"),
    [
        (0.90, 0.97, FASTER, "PyTorch faster"),
        (1.03, 1.10, FASTER, "TensorFlow faster"),
        (0.99, 1.01, TIE, "tie"),
        (0.95, 1.01, INCONCLUSIVE, "leans to PyTorch faster"),
        (0.99, 1.06, INCONCLUSIVE, "leans to TensorFlow faster"),
        (0.95, 1.06, INCONCLUSIVE, "spans both sides"),
    ],
)
def test_judge_against_the_tie_band(low, high, status, leaning):
    found_status, verdict, why = judge(low, high, "PyTorch", "TensorFlow")
    assert found_status == status
    assert leaning in (verdict if status != INCONCLUSIVE else why)

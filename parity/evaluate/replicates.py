"""Replicated comparisons: the ratio of two sides' medians over R independent process pairs,
with a 95% interval from the hierarchy (docs/measurement.md rule 6 and 6b).

The data come from a duel (parity.run.duel): R process pairs (replicates), each with
rounds in which the two sides took turns. One process is one observation: processes differ
by a few percent from one another for reasons no number of samples inside one of them
reveals (memory layout, thread placement, frequency), so an interval built from one
process's samples is too narrow, and a rerun lands outside it.

Estimate. Each replicate's ratio is the median of side a's round medians over the median
of side b's; the comparison's ratio is the geometric mean of the replicates' ratios.

Interval. A two-level bootstrap (Kalibera & Jones, "Rigorous benchmarking in reasonable
time", 2013; the same many-process design as pyperf): resample the replicates with
replacement, then each chosen replicate's rounds with replacement (a round of a and the
round of b beside it stay together, as they ran side by side in time), and recompute the
ratio. With a handful of replicates the percentiles of that distribution cannot reach
beyond the replicates seen (three replicates give at most three distinct values), so the
interval is the bootstrap's standard error on the log scale, corrected for the few groups
(x sqrt(R / (R - 1))), times Student's t quantile with R - 1 degrees of freedom. On
simulated processes that each carry their own offset, this interval from one run contains
an independent run's ratio in about 90% of runs at R = 3 (tests/test_replicates.py).

Verdict. "<side> faster" only when the interval lies wholly outside the tie band (a ratio
within 2% of 1: [1/1.02, 1.02]); "tie" when it lies wholly inside; otherwise
"inconclusive", with why. Any contended round (CPU share under 0.90) gives no verdict.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats

from parity.contention import CONTENDED_BELOW, MACHINE_BUSY, is_contended
from parity.evaluate.statistics import TIE_MARGIN

FASTER, TIE, INCONCLUSIVE, CONTENDED = "faster", "tie", "inconclusive", "contended"
NO_VERDICT = "no verdict"
# CONFIDENCE: a 95% interval for the ratio itself. RERUN: a 95% interval for the ratio an
# independent run with as many process pairs would give (wider by sqrt 2): it keeps covering
# the next run however many replicates there are, where a confidence interval's cover of
# the next run falls from about 97% at R = 3 to about 84% at R = 10 (simulated).
CONFIDENCE, RERUN = "confidence", "rerun"
MIN_REPLICATES = 2  # below this there is no between-process spread to judge
METHOD = (
    "ratio: geometric mean over process pairs of each pair's ratio of round medians; "
    "95% interval: two-level bootstrap (process pairs, then paired rounds) standard error "
    "on the log scale x sqrt(R/(R-1)) x Student's t(R-1)"
)


@dataclass(frozen=True)
class Comparison:
    """Side a against side b over R process pairs; ratio = a's latency over b's, so a
    ratio above 1 means b is faster."""

    ratio: float | None
    ci_low: float | None
    ci_high: float | None
    replicates: int  # R: process pairs that finished
    rounds: tuple[int, ...]  # rounds per replicate (per side)
    replicate_ratios: tuple[float, ...]
    between_cv: float | None  # std / mean of the replicates' ratios (R >= 2)
    within_cv: float | None  # median over replicates of the std / mean of its round ratios
    status: str  # FASTER, TIE, INCONCLUSIVE or CONTENDED
    verdict: str  # "PyTorch faster", "tie", "inconclusive" or "no verdict"
    why: str  # one sentence: what the interval shows, or why there is no verdict
    contended_rounds: int
    total_rounds: int
    min_cpu_share: float | None
    tie_margin: float = TIE_MARGIN
    interval: str = CONFIDENCE  # which interval ci_low..ci_high is: CONFIDENCE or RERUN
    method: str = METHOD

    def to_dict(self) -> dict:
        found = asdict(self)
        found["rounds"] = list(self.rounds)
        found["replicate_ratios"] = list(self.replicate_ratios)
        return found


def replicate_ratio(a_rounds: Sequence[float], b_rounds: Sequence[float]) -> float:
    return float(np.median(a_rounds) / np.median(b_rounds))


def _check(a: Sequence[Sequence[float]], b: Sequence[Sequence[float]]) -> None:
    if len(a) != len(b):
        raise ValueError(f"{len(a)} replicates of side a but {len(b)} of side b")
    for index, (ra, rb) in enumerate(zip(a, b, strict=True)):
        if len(ra) == 0 or len(ra) != len(rb):
            raise ValueError(
                f"replicate {index}: {len(ra)} rounds of side a and {len(rb)} of side b; "
                "rounds are paired, so both need the same (non-zero) count"
            )
        values = np.asarray([*ra, *rb], dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values <= 0):
            raise ValueError(f"replicate {index}: round medians must be positive and finite")


def hierarchical_interval(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    *,
    resamples: int = 4000,
    seed: int = 0,
    confidence: float = 0.95,
    interval: str = CONFIDENCE,
) -> tuple[float, float, float]:
    """(ratio, low, high) of a over b from per-replicate round medians (see the module's
    docstring for the method). Needs at least two replicates."""
    _check(a, b)
    count = len(a)
    if count < MIN_REPLICATES:
        raise ValueError(f"an interval over process pairs needs {MIN_REPLICATES}, got {count}")
    # On the log scale the median of logs is the log of the median, and the mean of the
    # replicates' log ratios is the log of their geometric mean: the module's estimate.
    a_logs = [np.log(np.asarray(ra, float)) for ra in a]
    b_logs = [np.log(np.asarray(rb, float)) for rb in b]
    estimate = float(
        np.mean([np.median(x) - np.median(y) for x, y in zip(a_logs, b_logs, strict=True)])
    )
    rng = np.random.default_rng(seed)
    # Outer level: each draw picks R replicates with replacement. Inner level: each pick
    # resamples that replicate's rounds (paired: the same rounds on both sides), so a
    # replicate picked twice in one draw gets two independent inner draws.
    chosen = rng.integers(0, count, size=(resamples, count))
    inner = np.zeros((resamples, count))
    for index, (xa, xb) in enumerate(zip(a_logs, b_logs, strict=True)):
        picks = np.nonzero(chosen == index)
        rounds = rng.integers(0, len(xa), size=(len(picks[0]), len(xa)))
        inner[picks] = np.median(xa[rounds], axis=1) - np.median(xb[rounds], axis=1)
    boot = inner.mean(axis=1)
    se = float(np.std(boot, ddof=1)) * math.sqrt(count / (count - 1))
    if interval == RERUN:  # the difference of two independent runs: twice the variance
        se *= math.sqrt(2.0)
    elif interval != CONFIDENCE:
        raise ValueError(f"interval must be {CONFIDENCE!r} or {RERUN!r}, not {interval!r}")
    half = float(stats.t.ppf(0.5 + confidence / 2, count - 1)) * se
    return math.exp(estimate), math.exp(estimate - half), math.exp(estimate + half)


def _cv(values: Sequence[float]) -> float | None:
    values = np.asarray(values, dtype=np.float64)
    if values.size < 2:
        return None
    return float(np.std(values, ddof=1) / np.mean(values))


def judge(
    low: float, high: float, name_a: str, name_b: str, tie_margin: float = TIE_MARGIN
) -> tuple[str, str, str]:
    """(status, verdict, why) for an interval of a over b against the tie band."""
    band_low, band_high = 1.0 / (1.0 + tie_margin), 1.0 + tie_margin
    shown = f"95% interval [{low:.3f}, {high:.3f}]"
    band = f"the tie band [{band_low:.3f}, {band_high:.3f}]"
    if high < band_low:
        return FASTER, f"{name_a} faster", f"{shown} lies below {band}"
    if low > band_high:
        return FASTER, f"{name_b} faster", f"{shown} lies above {band}"
    if band_low <= low and high <= band_high:
        return TIE, TIE, f"{shown} lies inside {band}"
    if high <= band_high:  # reaches from inside the band down, beyond it
        leaning = f"leans to {name_a} faster"
    elif low >= band_low:
        leaning = f"leans to {name_b} faster"
    else:
        leaning = "spans both sides of the tie band"
    return (
        INCONCLUSIVE,
        INCONCLUSIVE,
        f"{shown} {leaning} but overlaps {band}; more process pairs would narrow it",
    )


def compare(
    a: Sequence[Sequence[float]],
    b: Sequence[Sequence[float]],
    cpu_shares: Sequence[Sequence[float | None]] | None = None,
    *,
    name_a: str = "PyTorch",
    name_b: str = "TensorFlow",
    tie_margin: float = TIE_MARGIN,
    resamples: int = 4000,
    seed: int = 0,
    interval: str = CONFIDENCE,
) -> Comparison:
    """The comparison of a against b from a duel: a[i][j] and b[i][j] are the medians of
    replicate i's round j on each side; cpu_shares[i] lists replicate i's rounds' CPU
    shares (both sides, any order; None where a round's share is unknown)."""
    _check(a, b)
    shares = [s for rep in (cpu_shares or []) for s in rep]
    known = [s for s in shares if s is not None]
    contended = sum(1 for s in shares if is_contended(s))
    ratios = tuple(replicate_ratio(ra, rb) for ra, rb in zip(a, b, strict=True))
    within = [
        _cv(np.asarray(ra, float) / np.asarray(rb, float)) for ra, rb in zip(a, b, strict=True)
    ]
    within = [w for w in within if w is not None]
    common = dict(
        replicates=len(a),
        rounds=tuple(len(ra) for ra in a),
        replicate_ratios=ratios,
        between_cv=_cv(ratios),
        within_cv=float(np.median(within)) if within else None,
        contended_rounds=contended,
        total_rounds=len(shares),
        min_cpu_share=min(known) if known else None,
        tie_margin=tie_margin,
        interval=interval,
    )
    if len(a) < MIN_REPLICATES:
        ratio = ratios[0] if ratios else None
        why = (
            f"{len(a)} process pair(s): a single process's interval is too narrow to trust; "
            f"at least {MIN_REPLICATES} are needed"
        )
        low = high = None
        status, verdict = INCONCLUSIVE, INCONCLUSIVE
    else:
        ratio, low, high = hierarchical_interval(
            a, b, resamples=resamples, seed=seed, interval=interval
        )
        status, verdict, why = judge(low, high, name_a, name_b, tie_margin)
    if contended:
        status, verdict = CONTENDED, NO_VERDICT
        why = (
            f"{MACHINE_BUSY} ({contended} of {len(shares)} timed rounds got less than "
            f"{CONTENDED_BELOW:.0%} of the CPU their threads asked for; least "
            f"{min(known):.0%})"
        )
    return Comparison(
        ratio=ratio, ci_low=low, ci_high=high, status=status, verdict=verdict, why=why, **common
    )

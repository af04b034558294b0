"""Latency statistics from raw samples: plain numpy, no framework imports.

Rules (docs/measurement.md rule 5 and 6): report n, median, IQR, p90 only when
n >= 64, p99 only when n >= 662, min, mean, std; a measurement is unstable when
IQR/median > 0.10. Two sides are compared by the ratio of their medians with a
bootstrap 95% interval, and called "faster" only when the interval excludes 1 and
the ratio differs from 1 by more than 2%.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

UNSTABLE_IQR_OVER_MEDIAN = 0.10
P90_MIN_N = 64
P99_MIN_N = 662
TIE_MARGIN = 0.02


@dataclass(frozen=True)
class SampleStats:
    n: int
    median: float
    iqr: float
    min: float
    mean: float
    std: float
    p90: float | None
    p99: float | None
    unstable: bool

    def to_dict(self) -> dict:
        return asdict(self)


def summarize(samples) -> SampleStats:
    values = np.asarray(samples, dtype=np.float64)
    if values.ndim != 1 or values.size == 0:
        raise ValueError("summarize() needs a non-empty 1-D sequence of samples")
    if not np.all(np.isfinite(values)):
        raise ValueError("latency samples contain NaN or Inf; refusing to average them")
    q25, median, q75 = np.percentile(values, [25, 50, 75])
    iqr = float(q75 - q25)
    n = int(values.size)
    return SampleStats(
        n=n,
        median=float(median),
        iqr=iqr,
        min=float(values.min()),
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if n > 1 else 0.0,
        p90=float(np.percentile(values, 90)) if n >= P90_MIN_N else None,
        p99=float(np.percentile(values, 99)) if n >= P99_MIN_N else None,
        unstable=bool(median > 0 and iqr / median > UNSTABLE_IQR_OVER_MEDIAN),
    )


@dataclass(frozen=True)
class RatioEstimate:
    """ratio = median(a) / median(b); above 1 means b is faster than a."""

    ratio: float
    ci_low: float
    ci_high: float
    verdict: str  # "tie", or "<name of the faster side> faster"

    def to_dict(self) -> dict:
        return asdict(self)


def median_ratio(
    a,
    b,
    *,
    name_a: str = "a",
    name_b: str = "b",
    resamples: int = 2000,
    seed: int = 0,
) -> RatioEstimate:
    """Ratio of medians of two independent sample sets, with a percentile bootstrap 95% CI."""
    xa = np.asarray(a, dtype=np.float64)
    xb = np.asarray(b, dtype=np.float64)
    if xa.size == 0 or xb.size == 0:
        raise ValueError("median_ratio() needs samples on both sides")
    rng = np.random.default_rng(seed)
    boot_a = np.median(rng.choice(xa, size=(resamples, xa.size), replace=True), axis=1)
    boot_b = np.median(rng.choice(xb, size=(resamples, xb.size), replace=True), axis=1)
    boot = boot_a / boot_b
    low, high = np.percentile(boot, [2.5, 97.5])
    ratio = float(np.median(xa) / np.median(xb))
    excludes_one = low > 1.0 or high < 1.0
    if excludes_one and abs(ratio - 1.0) > TIE_MARGIN:
        verdict = f"{name_b} faster" if ratio > 1.0 else f"{name_a} faster"
    else:
        verdict = "tie"
    return RatioEstimate(ratio=ratio, ci_low=float(low), ci_high=float(high), verdict=verdict)


# ---- How near the machine's limit (docs/measurement.md rule 9) ----

FASTER_THAN_PEAK = "faster than the machine's peak: measurement error"


def compile_cost_s(first_call_s: float | None, median_ms: float | None) -> float | None:
    """What the first call cost beyond a steady call: tracing, compiling, allocating."""
    if first_call_s is None or median_ms is None:
        return None
    return max(first_call_s - median_ms / 1000.0, 0.0)


def efficiency(
    flops_per_sample: float | None,
    batch: int,
    median_ms: float,
    peak_gflops: float | None,
) -> dict:
    """Achieved GFLOP/s of one timed loop and its share of the measured GEMM peak.

    A call cannot do more arithmetic per second than the machine's peak; a cell that
    appears to is a measurement error (a timer that missed the work, a count too high),
    never a result, and is flagged so.
    """
    found: dict = {"gflops_per_s": None, "percent_of_peak": None, "flag": None}
    if not flops_per_sample or flops_per_sample <= 0 or not median_ms or median_ms <= 0:
        return found
    achieved = flops_per_sample * batch / (median_ms / 1000.0) / 1e9
    found["gflops_per_s"] = achieved
    if peak_gflops and peak_gflops > 0:
        found["percent_of_peak"] = 100.0 * achieved / peak_gflops
        if found["percent_of_peak"] > 100.0:
            found["flag"] = FASTER_THAN_PEAK
    return found

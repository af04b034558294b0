"""Latency statistics from raw samples: plain numpy, no framework imports.

Rules (DESIGN.md, measurement rules 5 and 6): report n, median, IQR, p90 only when
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

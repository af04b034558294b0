"""How much a latency moves between runs of the same code: the interval of new/old that
`--fail-on median:+N%` judges (issue 11), and whether two runs' machines can be compared.

One process is one observation. Processes of the same code differ by a few percent from
one another (memory layout, thread placement, frequency) however many samples each takes,
so an interval of new/old built from two processes' samples alone is far too narrow: the
reruns behind issue 11 moved 3-7% while such intervals were 2% wide. So:

- A replicated comparison (evaluation.latency[batch].replicated) has R process pairs per
  run. Its per-replicate ratios (PyTorch over TensorFlow) are the observations: new/old of
  the pair's ratio gets a Welch interval on the log scale over the two runs' replicates
  (t quantile, Welch-Satterthwaite degrees of freedom). This is the precise figure: the
  sides alternated in time, so drift common to both cancels.
- A plain cell has one process per run. Its interval combines the samples' own
  uncertainty (the distribution-free order-statistic interval of the median or p90: the
  ranks n q +- 1.96 sqrt(n q (1 - q)), read as a standard error on the log scale) with a
  between-process floor added once per run: se^2 = se_a^2 + se_b^2 + 2 s_p^2. s_p is
  the larger of the two runs' measured between-process spread (the median of their
  replicated comparisons' between_cv: the spread of one process pair's ratio, which
  bounds one side's process spread as drift cancels in it) and, where a run measured
  none, DEFAULT_BETWEEN_PROCESS_CV.

DEFAULT_BETWEEN_PROCESS_CV = 5%: the three fresh reruns of issue 11 spread a ratio's
median over 1.310-1.405 (efficientnet-lite0) and 1.182-1.256 (mobilenet_v2), standard
deviations of 3.5% and 3.4% of the mean, and `nox -s bench` saw single cells' medians move
more; 5% covers those on the machines this project runs on. With it, a plain cell's 95%
interval of new/old is about +-14% wide: only a change beyond N% by more than that is
certain from one process per run. The replicated comparisons resolve changes a few
percent wide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from parity.results.record import RunRecord

DEFAULT_BETWEEN_PROCESS_CV = 0.05
Z95 = 1.959963984540054
# Machines are the same kind when their calibrated peaks differ by at most this much
# (issue 11: two "AMD EPYC" machines of the same size calibrated 473 and 72.9 GFLOP/s;
# one machine's calibrations agree within a few percent).
PEAK_TOLERANCE = 0.25


@dataclass(frozen=True)
class Change:
    """new / old of a latency figure, with its 95% interval and how that was made."""

    ratio: float
    low: float
    high: float
    basis: str

    def beyond(self, limit: float) -> bool:
        """The whole interval lies beyond a growth of `limit` (a fraction)."""
        return self.low > 1 + limit

    def text(self) -> str:
        return f"{self.ratio - 1:+.1%} [{self.low - 1:+.1%}, {self.high - 1:+.1%}], {self.basis}"


def quantile_log_se(samples: Sequence[float], q: float = 0.5) -> float | None:
    """Standard error of log(quantile q) from the order-statistic 95% interval; None
    with too few samples to have one."""
    values = np.sort(np.asarray(samples, dtype=np.float64))
    n = values.size
    if n < 5 or np.any(values <= 0):
        return None
    half = Z95 * math.sqrt(n * q * (1 - q))
    low = max(0, int(math.floor(n * q - half)) - 1)
    high = min(n - 1, int(math.ceil(n * q + half)) - 1)
    return float((math.log(values[high]) - math.log(values[low])) / (2 * Z95))


def measured_spread(record: RunRecord) -> float | None:
    """The run's between-process spread: the median between_cv of its replicated
    comparisons; None when it replicated none."""
    found = [
        entry.replicated.between_cv
        for pair in record.pairs
        for entry in pair.evaluation.latency.values()
        if entry.replicated is not None and entry.replicated.between_cv is not None
    ]
    return float(np.median(found)) if found else None


def process_floor(a: RunRecord | None, b: RunRecord | None) -> tuple[float, str]:
    """(s_p, where it comes from) for two runs' plain cells: see the module's docstring."""
    measured = [m for m in (measured_spread(r) for r in (a, b) if r is not None) if m]
    if len(measured) == 2:
        return max(measured), f"measured between-process spread {max(measured):.1%}"
    if measured:
        value = max(measured[0], DEFAULT_BETWEEN_PROCESS_CV)
        return value, f"between-process spread {value:.1%} (one run measured {measured[0]:.1%})"
    return DEFAULT_BETWEEN_PROCESS_CV, (
        f"default between-process spread {DEFAULT_BETWEEN_PROCESS_CV:.0%} (no replicated "
        "comparison in these runs)"
    )


def cell_change(
    old: float,
    new: float,
    floor: float,
    floor_source: str,
    old_samples: Sequence[float] | None = None,
    new_samples: Sequence[float] | None = None,
    q: float = 0.5,
) -> Change:
    """new / old of one cell's quantile q (one process per run)."""
    variance = 2 * floor**2
    within = [quantile_log_se(s, q) if s is not None else None for s in (old_samples, new_samples)]
    variance += sum(se**2 for se in within if se is not None)
    samples = "samples' interval + " if any(se is not None for se in within) else ""
    half = Z95 * math.sqrt(variance)
    ratio = new / old
    return Change(
        ratio,
        ratio * math.exp(-half),
        ratio * math.exp(half),
        f"one process per run: {samples}{floor_source}",
    )


def replicated_change(old: Sequence[float], new: Sequence[float]) -> Change | None:
    """new / old of a pair's PyTorch/TensorFlow ratio from each run's per-replicate
    ratios (Welch on the log scale); None with fewer than two replicates in a run."""
    xa, xb = np.log(np.asarray(old, float)), np.log(np.asarray(new, float))
    if xa.size < 2 or xb.size < 2:
        return None
    va, vb = xa.var(ddof=1) / xa.size, xb.var(ddof=1) / xb.size
    se = math.sqrt(va + vb)
    if se == 0:
        df = float(xa.size + xb.size - 2)
    else:
        df = (va + vb) ** 2 / (va**2 / (xa.size - 1) + vb**2 / (xb.size - 1))
    half = float(stats.t.ppf(0.975, df)) * se
    estimate = float(xb.mean() - xa.mean())
    return Change(
        math.exp(estimate),
        math.exp(estimate - half),
        math.exp(estimate + half),
        f"{xa.size} and {xb.size} process pairs",
    )


def machine_differences(a: RunRecord, b: RunRecord) -> list[str]:
    """What makes two runs' machines different kinds, so that their latencies measure the
    machines: CPU model, vector extensions, calibrated peak (beyond PEAK_TOLERANCE),
    threads. Empty when they are alike or the records do not say."""
    found = []
    ma, mb = a.machine, b.machine
    if ma.cpu and mb.cpu and ma.cpu != mb.cpu:
        found.append(f"CPU {ma.cpu} vs {mb.cpu}")
    if ma.vector_extensions is not None and mb.vector_extensions is not None:
        only_a = sorted(set(ma.vector_extensions) - set(mb.vector_extensions))
        only_b = sorted(set(mb.vector_extensions) - set(ma.vector_extensions))
        parts = [f"{', '.join(x)} only in {run}" for x, run in ((only_a, "A"), (only_b, "B")) if x]
        if parts:
            found.append("vector extensions: " + "; ".join(parts))
    peak_a = ma.gemm_peak.gflops_per_s if ma.gemm_peak else None
    peak_b = mb.gemm_peak.gflops_per_s if mb.gemm_peak else None
    if peak_a and peak_b and max(peak_a, peak_b) / min(peak_a, peak_b) > 1 + PEAK_TOLERANCE:
        found.append(
            f"calibrated peak {peak_a:.1f} vs {peak_b:.1f} GFLOP/s "
            f"({max(peak_a, peak_b) / min(peak_a, peak_b):.2f}x apart, more than "
            f"{PEAK_TOLERANCE:.0%})"
        )
    ta, tb = a.settings.threads, b.settings.threads
    if ta and tb and ta != tb:
        found.append(f"threads {ta} vs {tb}")
    return found

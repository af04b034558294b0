"""The headline comparison of a pair at one batch size, as every part of the report shows
it: the forest plot, the answer table, the summary table and the "Performance" evidence.

A replicated comparison (evaluation.latency[batch].replicated, from R process pairs:
parity.evaluate.replicates) carries the verdict. A record from before replication has
only the ratio of two single processes' medians with a bootstrap interval over their
samples; such an interval describes one process and a rerun lands outside it (issue 11:
reruns moved 3-7% while those intervals were 2% wide), so it is shown, marked not
replicated, and gives no verdict.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.evaluate.replicates import CONTENDED, FASTER, INCONCLUSIVE, NO_VERDICT, TIE
from parity.evaluate.statistics import TIE_MARGIN
from parity.results.record import PairRecord, SideLatency
from parity.vocabulary import SIDE_NAMES, SIDES

NOT_REPLICATED = "not replicated"
NOT_REPLICATED_WHY = (
    "not replicated: one process per side, so the interval covers that process's samples "
    "only (reruns moved 3-7% while such intervals were 2% wide); no side is called faster "
    "from it"
)
NOT_REPLICATED_SHORT = "not replicated: one process per side"
STATUSES = (FASTER, TIE, INCONCLUSIVE, CONTENDED, NOT_REPLICATED)
# What a headline's ratio is a ratio of: a call's latency, or for a causal LM, a whole
# generation's decode time or time to first token (parity.run.comparisons).
LATENCY, DECODE, TTFT = "latency", "decode time", "time to first token"


@dataclass(frozen=True)
class Headline:
    """PyTorch's latency over TensorFlow's at one batch size (above 1: TensorFlow faster)."""

    batch: str
    ratio: float | None
    low: float | None
    high: float | None
    status: str  # one of STATUSES
    verdict: str  # "PyTorch faster", "TensorFlow faster", "tie", "inconclusive", "no verdict"
    why: str
    modes: dict[str, str]  # side -> mode compared
    replicates: int | None  # R; None when not replicated
    between_cv: float | None  # spread of the replicates' ratios (std / mean)
    tie_margin: float = TIE_MARGIN
    measure: str = LATENCY  # LATENCY, DECODE or TTFT

    @property
    def batch_text(self) -> str:
        """ "1", or for a causal LM's generation "1, decode time"."""
        return self.batch if self.measure == LATENCY else f"{self.batch}, {self.measure}"

    @property
    def replicated(self) -> bool:
        return self.status != NOT_REPLICATED

    @property
    def modes_text(self) -> str:
        return " vs ".join(f"{SIDE_NAMES[side]} {self.modes.get(side, '?')}" for side in SIDES)

    def interval_text(self) -> str:
        if self.ratio is None:
            return "–"
        if self.low is None or self.high is None:
            return f"{self.ratio:.3f}"
        return f"{self.ratio:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def speedup_text(self) -> str:
        """ "TensorFlow 1.36x faster", for a faster verdict."""
        side = self.verdict.removesuffix(" faster")
        factor = self.ratio if self.ratio >= 1 else 1 / self.ratio
        return f"{side} {factor:.2f}x faster"


def _replicated(batch: str, found, modes: dict[str, str], measure: str = LATENCY) -> Headline:
    """A headline from a replicated comparison's block (its ratio, interval, verdict)."""
    return Headline(
        batch=batch,
        ratio=found.ratio,
        low=found.ci_low,
        high=found.ci_high,
        status=found.status,
        verdict=found.verdict or NO_VERDICT,
        why=found.why or "",
        modes=dict(modes),
        replicates=found.replicates,
        between_cv=found.between_cv,
        tie_margin=found.tie_margin or TIE_MARGIN,
        measure=measure,
    )


def headline(batch: str, entry: SideLatency) -> Headline | None:
    found = entry.replicated
    if found is not None and found.status:
        return _replicated(batch, found, found.modes)
    single = entry.torch_over_tf
    if single is None or single.ratio is None:
        return None
    return Headline(
        batch=batch,
        ratio=single.ratio,
        low=single.ci_low,
        high=single.ci_high,
        status=NOT_REPLICATED,
        verdict=NO_VERDICT,
        why=NOT_REPLICATED_SHORT,
        modes={side: best.best_mode for side in SIDES if (best := entry.best(side))},
        replicates=None,
        between_cv=None,
    )


def headlines(pair: PairRecord) -> list[Headline]:
    """The pair's headline comparisons, by batch size; a causal LM's after them."""
    found = []
    for batch in sorted(pair.evaluation.latency, key=lambda b: (len(b), b)):
        if (one := headline(batch, pair.evaluation.latency[batch])) is not None:
            found.append(one)
    return found + generation_headlines(pair)


def generation_headlines(pair: PairRecord) -> list[Headline]:
    """A causal LM's replicated comparisons (evaluation.generation_comparisons()), as two
    headlines per batch size: decode time (tokens/s is its inverse) and time to first
    token. Only replicated ones: a single process's cells give no verdict, and their
    figures are in the generation table."""
    lines = []
    for batch, found in pair.evaluation.generation_comparisons().items():
        for measure, one in ((DECODE, found.decode), (TTFT, found.ttft)):
            if one is None or not one.status:
                continue
            lines.append(_replicated(batch, one, found.modes, measure))
    return lines

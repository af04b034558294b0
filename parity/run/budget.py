"""Plan a run to a time budget (docs/measurement.md rule 6c).

    work = suite_work(get_suite("default"))
    plan = plan_budget(work, peak_gflops=473.0, budget_s=900.0)
    for line in plan.lines(): print(line)

Before anything is measured, each cell (pair, side, mode) and each headline comparison
(a duel: pair, batch size, R process pairs of alternating rounds) gets an estimated
duration from the machine's calibrated peak and the model's FLOPs per sample. When the
sum passes the budget, the plan gives up precision step by step, cheapest loss first,
and records each step with the seconds it saved and what it cost:

  1. fewer rounds per duel replicate (down to MIN_ROUNDS),
  2. shorter timed loops in the cells (the quick profile, then MIN_LOOP): the headline
     comparison comes from the duel, so only the per-cell figures lose samples,
  3. fewer replicates (down to MIN_REPLICATES, 3),
  4. the legacy TorchScript cells dropped,
  5. the largest batch size of a pair dropped (cells and duel), last pair first,
  6. whole pairs without export cells dropped, last first (never the first),
  7. the export cells dropped, with their one-runtime (ONNX) duels,
  8. the remaining pairs dropped, last first (never the first).

Deployment (the export cells) outranks a suite's later pairs: the export cells are what
a run adds beyond native timing for the pairs a suite lists them for, and a later pair
of the same kind adds less than the first ones' deployment figures (issue 14).

Nothing is skipped silently: every cell and comparison of the work is either in the plan
or named in a change. The duel's precision is given as the expected half-width of its 95%
interval, t(R-1) x sqrt(s_b^2 / R + s_w^2 / (R k)) on the log scale, with the between-
process spread s_b and the within-process round spread s_w assumed below.

A causal LM's cells and duels time whole generations, not calls, at each batch size (B
copies of one prompt): a generation is NEW_TOKENS model calls, each a per-step overhead
(LM_STEP_FLOOR_S, the same at any batch size) plus its share of B generations' FLOPs; a
compiled decoder compiles three functions at batch 1 (two in a duel's worker), and two
more at each larger batch size.

The estimates are models, not measurements, and the plan says so: FLOPs per sample come
from a previous run's counts, else from the table below (each figure says where it is
from), else from a conservative rule on the parameter count; a call's latency is a fixed
floor per mode plus FLOPs / (peak x PLANNING_EFFICIENCY); fixed costs (process start,
import, load, compile) were measured on the reference machine and scale with the square
root of its peak over this one's.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from scipy import stats

from parity.run.comparisons import GENERATION_ROUND_MIN_COUNT
from parity.run.profiles import Profile, default_batches, get_profile
from parity.tasks.text_generation import NEW_TOKENS
from parity.vocabulary import EXPORT_MODES, ONNX

GENERATION_TASK = "text-generation"

# The machine the fixed costs below were seen on: the published run (reports/results.json,
# 2 threads, AMD EPYC with AVX-512), calibrated at 473 GFLOP/s.
REFERENCE_PEAK_GFLOPS = 473.0
# Fixed costs scale with sqrt(reference peak / peak): in issue 11 a machine 6.5x slower at
# GEMM ran the whole suite 2.7x slower (sqrt 6.5 = 2.55), as start, import and compiling
# are mostly scalar work that the GEMM peak overstates.
FIXED_COST_EXPONENT = 0.5
# Share of the peak a call's arithmetic is assumed to reach. The published run's timed
# loops reached a median of 31% of the peak (a quarter under 12%, mostly small models
# whose calls are dominated by per-operation overhead, which CALL_FLOOR_S covers).
PLANNING_EFFICIENCY = 0.25
# Per-call overhead by mode at the reference machine, in s: the published run's slowest
# small-model calls (Keras eager efficientnet_b0 137 ms, XLA efficientnet-lite0 77 ms).
CALL_FLOOR_S = {
    "eager": 0.02,
    "compile": 0.01,
    "torchscript": 0.015,
    "function": 0.015,
    "onnx": 0.005,
    "litert": 0.005,
    "onnx-int8": 0.005,
    "litert-int8": 0.005,
}
CALL_FLOOR_S_TF = {"eager": 0.15, "xla": 0.08}
# Process start, framework import and model load at the reference machine, in s.
PROCESS_S = {"torch": 3.5, "tensorflow": 4.5}
PROCESS_S_OTHER = 2.0
# A cold first call's cost beyond a steady call, per mode and input shape, in s (typical
# of the published run: torch.compile took 11-26 s per shape); a duel replicate after the
# first may reuse the compile cache.
COMPILE_S = {
    "eager": 0.5,
    "compile": 15.0,
    "torchscript": 1.0,
    "function": 1.5,
    "xla": 2.5,
    # Export modes: the export itself, once per cell (a dynamic batch axis serves every
    # batch size); counted per batch size here, so the plan errs long.
    "onnx": 10.0,
    "litert": 15.0,
    # The fp32 export again, then the quantisation (seconds for these models).
    "onnx-int8": 15.0,
    "litert-int8": 20.0,
}
WARM_COMPILE_SHARE = 0.5  # of COMPILE_S, for duel replicates after the first
RUN_OVERHEAD_S = 45.0  # inputs, calibration (cached), agreement, report

# Rows each task's default data set evaluates outside the timed loops (sts-smoke: 240
# sentences; the bundled photos: 5, rounded up; lm-prompts: 8 prompts).
EVAL_SAMPLES = {"text-encoder": 240, "image-classifier": 8, "text-generation": 8}
# Duels per profile: (replicates, rounds per replicate per side).
ROUND_MIN_COUNT = 3
MIN_REPLICATES = 3
MIN_ROUNDS = 4
# Loops of the cells when shortened: the quick profile, then this.
MIN_LOOP = Profile(
    "minimal", warmup=10, min_count=10, min_time_s=0.5, max_count=2000, max_time_s=15.0
)
# Assumed spreads of log ratios: between process pairs (issue 11: three reruns of
# efficientnet-lite0 at batch 1 spread 1.310-1.405, a CV of 3.5%) and between the rounds
# of one process pair.
BETWEEN_PROCESS_SD = 0.035
WITHIN_ROUND_SD = 0.02
# FLOPs per sample (2 per multiply-add) of the catalog's pairs at their input size; text
# encoders at 128 tokens.
COUNTED = "counted by torch.utils.flop_counter in the published run (reports/results.json)"
PUBLISHED = "the architecture's published multiply-adds x 2 (torchvision / timm model cards)"
# Pairs added after that run: the same counter on the timm model, one sample at its input
# size (it gives Lite0 the 7.704e8 the published run counted).
COUNTED_TIMM = "counted by torch.utils.flop_counter on the timm model, one sample"
KNOWN_FLOPS: dict[str, tuple[float, str]] = {
    "all-MiniLM-L6-v2": (2.869e9, COUNTED),
    "efficientnet-lite0": (7.704e8, COUNTED),
    "efficientnet-lite1": (1.200e9, COUNTED_TIMM),
    "efficientnet-lite2": (1.719e9, COUNTED_TIMM),
    "resnet50-timm": (8.178e9, COUNTED),
    "mobilenet_v2": (6.015e8, COUNTED),
    "efficientnet_b0": (7.716e8, COUNTED),
    "vit_b_16": (3.513e10, COUNTED),
    "resnet50": (8.18e9, PUBLISHED),
    "densenet121-timm": (5.74e9, PUBLISHED),
    "densenet121": (5.74e9, PUBLISHED),
    "mobilenet_v3_large": (4.4e8, PUBLISHED),
    "inception_v3": (1.146e10, PUBLISHED),
    "vgg16": (3.095e10, PUBLISHED),
    "convnext_tiny": (8.94e9, PUBLISHED),
    "mobilenet_v2-tfhub": (6.02e8, PUBLISHED),
    "bert-base-uncased": (2.24e10, "2 x parameters x 128 tokens (BERT-base, 110M)"),
    "distilbert-base-uncased": (1.12e10, "2 x parameters x 128 tokens (DistilBERT, 66M)"),
    # Causal LMs, per generation: a prompt of about 12 tokens, then 32 new ones.
    "gpt2": (1.09e10, "2 x parameters x 44 positions (GPT-2 small, 124M)"),
    "tinyllama": (9.7e10, "2 x parameters x 44 positions (TinyLlama, 1.1B)"),
    "smollm-135m": (1.19e10, "2 x parameters x 44 positions (SmolLM, 135M)"),
    "qwen2.5-0.5b": (4.35e10, "2 x parameters x 44 positions (Qwen2.5, 494M)"),
    "gemma-2b": (2.2e11, "2 x parameters x 44 positions (Gemma 2B, 2.5B)"),
}
# A seeded causal LM is a reduced checkpoint (zoo.seeding: 2 layers, width 64, a 512-entry
# vocabulary, about 1.5e5 parameters): 2 x parameters x 44 positions per generation, which
# its per-step overhead dwarfs.
SEEDED_LM_FLOPS = (1.3e7, "2 x 1.5e5 parameters x 44 positions (seeded reduced LM)")
# A causal LM's cells time whole generations (parity.child.generation): each a prefill and
# NEW_TOKENS - 1 decode steps, one model call each; the cell evaluates every prompt (a full
# forward and a generation) and makes LM_WARMUP_GENERATIONS untimed generations (as
# parity.child.generation.WARMUP_GENERATIONS) after the first. Per-step overhead by side
# and mode at the reference machine, in s: a seeded reduced LM's decode step (smollm, 2
# threads) on a 2-core machine of about half the reference's peak, while other processes
# kept it busy (Keras eager 92 ms, tf.function 3.4 ms, XLA 0.85 ms; torch eager 2.5 ms,
# torch.compile 0.35 ms; gpt2's torch steps 4-13 ms), rounded up: the plan errs long.
LM_STEP_FLOOR_S = {
    "torch": {"eager": 0.01, "compile": 0.005},
    "tensorflow": {"eager": 0.06, "function": 0.004, "xla": 0.002},
}
LM_STEP_FLOOR_OTHER_S = 0.03
LM_WARMUP_GENERATIONS = 2
# A compiled decoder compiles three functions (full forward, prefill, step); a duel's
# worker, or a cell at a batch size above 1, two (the full forward runs at batch 1 only).
LM_COMPILED_GRAPHS, LM_DUEL_GRAPHS = 3, 2
# The fallback: 2 FLOPs per parameter per position, 512 positions; above what any
# catalog model does per parameter (ViT-B/16 about 400), so the plan errs long.
FALLBACK_POSITIONS = 512
FALLBACK_FLOPS = 1e11  # no count and no parameter count: a large model's FLOPs


@dataclass(frozen=True)
class PairWork:
    """What a suite entry asks to measure."""

    pair_id: str
    frameworks: dict[str, str]  # side -> framework
    modes: dict[str, tuple[str, ...]]  # side -> modes to run
    batches: tuple[int, ...]
    profile: Profile
    flops_per_sample: float  # a causal LM's: per generation
    flops_source: str
    eval_samples: int = 64  # rows evaluated outside the timed loops (see EVAL_SAMPLES)
    task: str | None = None  # "text-generation": cells time generations, not calls


@dataclass(frozen=True)
class CellPlan:
    pair_id: str
    side: str
    mode: str
    batches: tuple[int, ...]
    loop: Profile
    estimated_s: float


@dataclass(frozen=True)
class ComparisonPlan:
    """One duel: a pair at one batch size, each side in the mode assumed for it."""

    pair_id: str
    batch: int
    modes: dict[str, str]  # side -> mode (planned as the side's costliest; the run uses its best)
    replicates: int
    rounds: int
    round_min_time_s: float
    round_min_count: int
    estimated_s: float
    expected_half_width: float  # of the 95% interval, as a fraction of the ratio


@dataclass(frozen=True)
class Change:
    kind: str  # "shortened" or "dropped"
    what: str
    saved_s: float
    precision: str  # what it cost


@dataclass
class BudgetPlan:
    budget_s: float
    peak_gflops: float
    estimated_s: float
    fits: bool
    cells: list[CellPlan]
    comparisons: list[ComparisonPlan]
    changes: list[Change]
    flops_sources: dict[str, str]  # pair -> where its FLOPs per sample came from
    assumptions: list[str] = field(default_factory=list)
    # The factor every estimate was multiplied by (see correction_from); estimated_s
    # includes it, so the model's own estimate is estimated_s / correction.
    correction: float = 1.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def lines(self) -> list[str]:
        found = [
            f"budget {self.budget_s / 60:.1f} min at a peak of {self.peak_gflops:.0f} GFLOP/s: "
            f"estimated {self.estimated_s / 60:.1f} min, {len(self.cells)} cells, "
            f"{len(self.comparisons)} replicated comparisons"
            + ("" if self.fits else " - does NOT fit, even with every change below")
        ]
        for change in self.changes:
            found.append(
                f"  {change.kind}: {change.what} (saves {change.saved_s:.0f} s; {change.precision})"
            )
        if not self.changes:
            found.append("  nothing shortened or dropped")
        return found


def flops_for(
    pair_id: str,
    previous: dict[str, float] | None = None,
    parameters: int | None = None,
    seeded_lm: bool = False,
) -> tuple[float, str]:
    """FLOPs per sample and where the figure comes from: a previous run's count, the
    table, or the conservative rule on the parameter count; a seeded causal LM's reduced
    checkpoint has its own figure."""
    if seeded_lm:
        return SEEDED_LM_FLOPS
    if previous and previous.get(pair_id):
        return float(previous[pair_id]), "counted in a previous run"
    if pair_id in KNOWN_FLOPS:
        return KNOWN_FLOPS[pair_id]
    if parameters:
        return (
            2.0 * parameters * FALLBACK_POSITIONS,
            f"fallback: 2 x {parameters} parameters x {FALLBACK_POSITIONS} positions",
        )
    return FALLBACK_FLOPS, f"fallback: no count known, assumed {FALLBACK_FLOPS:.0e}"


def previous_flops(record: dict[str, Any]) -> dict[str, float]:
    """Each pair's FLOPs per sample as a previous run's workers counted them."""
    found: dict[str, float] = {}
    for pair in record.get("pairs", []):
        for cell in pair.get("cells", []):
            flops = ((cell.get("metrics") or {}).get("flops") or {}).get("per_sample")
            if flops:
                found.setdefault(pair["id"], float(flops))
    return found


def suite_work(
    entries, base_profile: str = "standard", previous: dict[str, float] | None = None
) -> list[PairWork]:
    """PairWork for each (Pair, SuiteEntry) of zoo.catalog.get_suite(...)."""
    return [
        _work(
            pair,
            dict(entry.modes) if entry.modes else {},
            tuple(entry.batch_sizes or default_batches(pair.task)),
            get_profile(entry.profile or base_profile),
            previous,
            entry.weights == "seeded",
        )
        for pair, entry in entries
    ]


def run_work(planned, previous: dict[str, float] | None = None) -> list[PairWork]:
    """PairWork for each (Pair, RunConfig) a run is about to measure."""
    return [
        _work(
            pair,
            dict(c.modes or {}),
            tuple(c.latency_batches),
            c.profile,
            previous,
            c.weights == "seeded",
        )
        for pair, c in planned
    ]


def _work(
    pair, wanted: dict, batches: tuple[int, ...], profile: Profile, previous, seeded: bool
) -> PairWork:
    from parity.vocabulary import task_modes
    from zoo.catalog import SIDES
    from zoo.sources import get_source

    frameworks = {side: get_source(pair.side(side).handle)[0].framework for side in SIDES}
    modes = {side: task_modes(pair.task, fw, wanted.get(side)) for side, fw in frameworks.items()}
    lm = pair.task == GENERATION_TASK
    flops, source = flops_for(pair.id, previous, seeded_lm=lm and seeded)
    return PairWork(
        pair.id,
        frameworks,
        modes,
        batches,
        profile,
        flops,
        source,
        EVAL_SAMPLES.get(pair.task, 64),
        pair.task,
    )


def apply_plan(planned, plan: BudgetPlan):
    """The run's (Pair, RunConfig) list with the plan's changes made: each pair's modes,
    batch sizes, loop lengths and duel replicates/rounds as planned; dropped pairs left out
    (the plan's changes name them)."""
    kept = []
    for pair, config in planned:
        cells = [c for c in plan.cells if c.pair_id == pair.id]
        if not cells:
            continue
        duels = [c for c in plan.comparisons if c.pair_id == pair.id]
        modes = {
            side: tuple(c.mode for c in cells if c.side == side) for side in ("torch", "tensorflow")
        }
        loop = cells[0].loop
        profile = replace(
            config.profile,
            warmup=loop.warmup,
            min_count=loop.min_count,
            min_time_s=loop.min_time_s,
            max_count=loop.max_count,
            max_time_s=loop.max_time_s,
            replicates=min((c.replicates for c in duels), default=config.profile.replicates),
            rounds=min((c.rounds for c in duels), default=config.profile.rounds),
        )
        batches = cells[0].batches
        kept.append(
            (
                pair,
                config.with_overrides(
                    {"modes": modes, "latency_batches": batches, "profile": profile}
                ),
            )
        )
    return kept


class _Costs:
    def __init__(self, peak_gflops: float):
        self.peak = peak_gflops
        self.scale = max((REFERENCE_PEAK_GFLOPS / peak_gflops) ** FIXED_COST_EXPONENT, 0.5)

    def latency_s(self, work: PairWork, side: str, mode: str, batch: int) -> float:
        floors = CALL_FLOOR_S_TF if work.frameworks[side] == "tensorflow" else {}
        floor = floors.get(mode, CALL_FLOOR_S.get(mode, 0.02))
        compute = work.flops_per_sample * batch / (self.peak * 1e9 * PLANNING_EFFICIENCY)
        return self.scale * floor + compute

    def process_s(self, work: PairWork, side: str) -> float:
        return self.scale * PROCESS_S.get(work.frameworks[side], PROCESS_S_OTHER)

    def compile_s(self, mode: str) -> float:
        return self.scale * COMPILE_S.get(mode, 1.0)

    @staticmethod
    def loop_s(profile: Profile, latency: float) -> float:
        return min(max(profile.min_time_s, profile.min_count * latency), profile.max_time_s)

    def generation_s(self, work: PairWork, side: str, mode: str, batch: int = 1) -> float:
        """One generation of `batch` rows: NEW_TOKENS model calls' overhead plus the
        FLOPs of `batch` generations."""
        floors = LM_STEP_FLOOR_S.get(work.frameworks[side], {})
        floor = floors.get(mode, LM_STEP_FLOOR_OTHER_S)
        compute = batch * work.flops_per_sample / (self.peak * 1e9 * PLANNING_EFFICIENCY)
        return self.scale * NEW_TOKENS * floor + compute

    def lm_cell_s(self, work: PairWork, side: str, mode: str, batches, loop: Profile) -> float:
        """A causal LM's cell: start, compile its functions, evaluate every prompt (a full
        forward and a generation each, batch 1); then at each batch size its compiling
        (above batch 1), the first and warm-up generations and the timed loop."""
        graphs = 1 if mode == "eager" else LM_COMPILED_GRAPHS
        total = self.process_s(work, side) + graphs * self.compile_s(mode)
        total += work.eval_samples * self.generation_s(work, side, mode) * (1 + 1 / NEW_TOKENS)
        for batch in batches:
            generation = self.generation_s(work, side, mode, batch)
            if batch != 1 and mode != "eager":
                total += LM_DUEL_GRAPHS * self.compile_s(mode)
            total += (1 + LM_WARMUP_GENERATIONS) * generation + self.loop_s(loop, generation)
        return total

    def cell_s(self, work: PairWork, side: str, mode: str, batches, loop: Profile) -> float:
        if work.task == GENERATION_TASK:
            return self.lm_cell_s(work, side, mode, batches, loop)
        total = self.process_s(work, side)
        total += work.eval_samples * work.flops_per_sample / (self.peak * 1e9 * PLANNING_EFFICIENCY)
        for batch in batches:
            latency = self.latency_s(work, side, mode, batch)
            total += self.compile_s(mode) + (1 + loop.warmup) * latency
            total += self.loop_s(loop, latency)
        return total + self.latency_s(work, side, mode, 1)  # the FLOP count

    def comparison_s(
        self, work: PairWork, batch: int, modes: dict[str, str], replicates: int, rounds: int
    ) -> float:
        if work.task == GENERATION_TASK:
            return self.lm_comparison_s(work, batch, modes, replicates, rounds)
        total = 0.0
        for index in range(replicates):
            # Both workers start, load and compile at once: the slower one sets the pace.
            # An export mode's worker exports afresh each time: no cache serves it.
            total += max(
                self.process_s(work, side)
                + (1.0 if index == 0 or mode in EXPORT_MODES else WARM_COMPILE_SHARE)
                * self.compile_s(mode)
                for side, mode in modes.items()
            )
            for side, mode in modes.items():
                latency = self.latency_s(work, side, mode, batch)
                total += 10 * latency + rounds * max(
                    work.profile.round_min_time_s, ROUND_MIN_COUNT * latency
                )
        return total

    def lm_comparison_s(
        self, work: PairWork, batch: int, modes: dict[str, str], replicates: int, rounds: int
    ) -> float:
        """A causal LM's duel at one batch size: per replicate both workers start and
        compile (prefill and step), make their first and warm-up generations, then take
        turns in rounds of whole generations."""
        total = 0.0
        for index in range(replicates):
            share = 1.0 if index == 0 else WARM_COMPILE_SHARE
            total += max(
                self.process_s(work, side)
                + (0.0 if mode == "eager" else share * LM_DUEL_GRAPHS * self.compile_s(mode))
                + (1 + LM_WARMUP_GENERATIONS) * self.generation_s(work, side, mode, batch)
                for side, mode in modes.items()
            )
            for side, mode in modes.items():
                generation = self.generation_s(work, side, mode, batch)
                total += rounds * max(
                    work.profile.round_min_time_s, GENERATION_ROUND_MIN_COUNT * generation
                )
        return total


def expected_half_width(replicates: int, rounds: int) -> float:
    """Expected half-width of the duel's 95% interval, as a fraction of the ratio."""
    spread = math.sqrt(
        BETWEEN_PROCESS_SD**2 / replicates + WITHIN_ROUND_SD**2 / (replicates * rounds)
    )
    return math.expm1(float(stats.t.ppf(0.975, replicates - 1)) * spread)


def _costliest_mode(modes: tuple[str, ...]) -> str:
    return max(modes, key=lambda mode: COMPILE_S.get(mode, 1.0))


def plan_budget(
    work: list[PairWork], peak_gflops: float, budget_s: float = 900.0, correction: float = 1.0
) -> BudgetPlan:
    """Fit the work to the budget; see the module's docstring for the order of changes.

    correction: what the model missed on this machine last time (that run's wall time over
    its plan's estimate, see `correction_from`); every estimate is multiplied by it."""
    if peak_gflops is None or peak_gflops <= 0:
        raise ValueError(
            "plan_budget needs the calibrated peak (GFLOP/s > 0): run `parity calibrate`"
        )
    costs = _Costs(peak_gflops)
    pairs = {w.pair_id: w for w in work}
    cells: list[CellPlan] = []
    comparisons: list[ComparisonPlan] = []
    for w in work:
        for side, modes in w.modes.items():
            for mode in modes:
                s = costs.cell_s(w, side, mode, w.batches, w.profile)
                cells.append(CellPlan(w.pair_id, side, mode, w.batches, w.profile, s))
        replicates, rounds = w.profile.replicates, w.profile.rounds
        native = {
            side: tuple(m for m in modes if m not in EXPORT_MODES)
            for side, modes in w.modes.items()
        }
        duel_modes = {side: _costliest_mode(modes) for side, modes in native.items() if modes}
        duels = [duel_modes] if len(duel_modes) == 2 else []
        # Both sides exported to ONNX: their comparison in one runtime is a second duel.
        if all(ONNX in modes for modes in w.modes.values()) and len(w.modes) == 2:
            duels.append({side: ONNX for side in w.modes})
        for modes in duels:
            for batch in w.batches:
                comparisons.append(_comparison(costs, w, batch, modes, replicates, rounds))
    changes: list[Change] = []

    def total() -> float:
        return correction * (
            RUN_OVERHEAD_S
            + sum(c.estimated_s for c in cells)
            + sum(c.estimated_s for c in comparisons)
        )

    def fits() -> bool:
        return total() <= budget_s

    # 1. Fewer rounds per replicate.
    if not fits():
        before, widths = total(), _widths(comparisons)
        for i, c in enumerate(comparisons):
            if c.rounds > MIN_ROUNDS:
                comparisons[i] = _comparison(
                    costs, pairs[c.pair_id], c.batch, c.modes, c.replicates, MIN_ROUNDS
                )
        if total() < before:
            changes.append(
                Change(
                    "shortened",
                    f"duel rounds per replicate cut to {MIN_ROUNDS}",
                    before - total(),
                    _precision(widths, comparisons),
                )
            )
    # 2. Shorter cell loops: the quick profile, then the minimal loop.
    for loop in (get_profile("quick"), MIN_LOOP):
        if fits():
            break
        before = total()
        shortened = []
        for i, c in enumerate(cells):
            if c.loop.min_time_s > loop.min_time_s or c.loop.min_count > loop.min_count:
                s = costs.cell_s(pairs[c.pair_id], c.side, c.mode, c.batches, loop)
                shortened.append(f"{c.loop.min_count}->{loop.min_count}")
                cells[i] = replace(c, loop=loop, estimated_s=s)
        if shortened:
            changes.append(
                Change(
                    "shortened",
                    f"cell timed loops to {loop.min_count} calls / {loop.min_time_s:g} s "
                    f"({len(shortened)} cells)",
                    before - total(),
                    f"per-cell medians from fewer samples (at least {loop.min_count}); the "
                    "headline comparisons come from the duels and keep their precision",
                )
            )
    # 3. Fewer replicates, the most replicated first.
    while not fits():
        widest = max(comparisons, key=lambda c: c.replicates, default=None)
        if widest is None or widest.replicates <= MIN_REPLICATES:
            break
        before, widths = total(), _widths(comparisons)
        for i, c in enumerate(comparisons):
            if c.replicates == widest.replicates:
                comparisons[i] = _comparison(
                    costs, pairs[c.pair_id], c.batch, c.modes, c.replicates - 1, c.rounds
                )
        changes.append(
            Change(
                "shortened",
                f"duel replicates {widest.replicates} -> {widest.replicates - 1}",
                before - total(),
                _precision(widths, comparisons),
            )
        )
    # 4. The legacy TorchScript cells.
    if not fits():
        legacy = [c for c in cells if c.mode == "torchscript"]
        if legacy:
            before = total()
            cells = [c for c in cells if c.mode != "torchscript"]
            changes.append(
                Change(
                    "dropped",
                    "TorchScript (legacy) cells of " + ", ".join(c.pair_id for c in legacy),
                    before - total(),
                    "no TorchScript latency or agreement for those pairs",
                )
            )
    # 5. The largest batch size of a pair, last pair first.
    for w in reversed(work):
        if fits():
            break
        while len(w.batches) > 1 and not fits():
            batch = max(w.batches)
            before = total()
            w = replace(w, batches=tuple(b for b in w.batches if b != batch))
            pairs[w.pair_id] = w
            cells = [
                replace(
                    c,
                    batches=w.batches,
                    estimated_s=costs.cell_s(w, c.side, c.mode, w.batches, c.loop),
                )
                if c.pair_id == w.pair_id
                else c
                for c in cells
            ]
            comparisons = [
                c for c in comparisons if not (c.pair_id == w.pair_id and c.batch == batch)
            ]
            changes.append(
                Change(
                    "dropped",
                    f"{w.pair_id} at batch {batch} (cells and comparison)",
                    before - total(),
                    f"no figure for {w.pair_id} at batch {batch}",
                )
            )

    def drop_pair(pair_id: str) -> None:
        nonlocal cells, comparisons
        before = total()
        cells = [c for c in cells if c.pair_id != pair_id]
        comparisons = [c for c in comparisons if c.pair_id != pair_id]
        changes.append(
            Change("dropped", f"pair {pair_id}", before - total(), f"no figures for {pair_id}")
        )

    exporting = {c.pair_id for c in cells if c.mode in EXPORT_MODES}
    # 6. Whole pairs without export cells, last first (never the first).
    for w in reversed(work[1:]):
        if fits():
            break
        if w.pair_id not in exporting:
            drop_pair(w.pair_id)
    # 7. The export cells, and the one-runtime (ONNX) duels they feed.
    if not fits():
        exported = [c for c in cells if c.mode in EXPORT_MODES]
        if exported:
            before = total()
            cells = [c for c in cells if c.mode not in EXPORT_MODES]
            comparisons = [c for c in comparisons if set(c.modes.values()) != {ONNX}]
            changes.append(
                Change(
                    "dropped",
                    "export cells of " + ", ".join(sorted({c.pair_id for c in exported})),
                    before - total(),
                    "no export agreement, export latency or one-runtime comparison for them",
                )
            )
    # 8. The remaining pairs, last first (never the first).
    for w in reversed(work[1:]):
        if fits():
            break
        if w.pair_id in exporting:
            drop_pair(w.pair_id)
    return BudgetPlan(
        budget_s=budget_s,
        peak_gflops=peak_gflops,
        estimated_s=total(),
        fits=fits(),
        cells=cells,
        comparisons=comparisons,
        changes=changes,
        flops_sources={w.pair_id: w.flops_source for w in work},
        assumptions=[
            f"latency = per-mode floor + FLOPs / (peak x {PLANNING_EFFICIENCY:g})",
            f"fixed costs measured at {REFERENCE_PEAK_GFLOPS:g} GFLOP/s, scaled by "
            f"(reference / peak)^{FIXED_COST_EXPONENT:g} = {costs.scale:.2f}",
            "duel modes planned as each side's costliest to compile; the run uses the best",
            f"every estimate x {correction:.2f}: this machine's last planned run took that "
            "share of its estimate"
            if correction != 1.0
            else "no earlier planned run on this machine to correct the model with",
            f"interval half-widths assume a between-process spread of "
            f"{BETWEEN_PROCESS_SD:.1%} and a round spread of {WITHIN_ROUND_SD:.1%}",
        ],
        correction=correction,
    )


# A correction outside these bounds says the last run was not like this one (a busy
# machine, another suite): it is clipped rather than trusted.
CORRECTION_BOUNDS = (0.5, 3.0)


def correction_from(previous: dict[str, Any] | None, machine: dict[str, Any]) -> float:
    """The last planned run's wall time over the model's estimate for it, when it ran on
    this machine (same CPU, vector extensions, usable cores and peak within 25%); else 1.

    The model's estimate is the plan's estimate before that plan's own correction: were
    the corrected figure used, a correction would undo itself the run after (x1.5 one run,
    then x1/1.5 the next, however right the first one was)."""
    if not previous or not isinstance(previous.get("budget"), dict):
        return 1.0
    plan = previous["budget"]
    estimated, wall = plan.get("estimated_s"), previous.get("wall_s")
    if estimated:
        estimated /= plan.get("correction") or 1.0
    then = previous.get("machine") or {}
    same = all(then.get(k) == machine.get(k) for k in ("cpu", "vector_extensions", "cores_usable"))
    peaks = [(m.get("gemm_peak") or {}).get("gflops_per_s") for m in (then, machine)]
    if not (estimated and wall and same and all(peaks)) or abs(peaks[0] / peaks[1] - 1) > 0.25:
        return 1.0
    low, high = CORRECTION_BOUNDS
    return min(high, max(low, wall / estimated))


def _comparison(
    costs: _Costs, work: PairWork, batch: int, modes: dict[str, str], replicates: int, rounds: int
) -> ComparisonPlan:
    return ComparisonPlan(
        work.pair_id,
        batch,
        modes,
        replicates,
        rounds,
        work.profile.round_min_time_s,
        ROUND_MIN_COUNT,
        costs.comparison_s(work, batch, modes, replicates, rounds),
        expected_half_width(replicates, rounds),
    )


def _widths(comparisons: list[ComparisonPlan]) -> str:
    widths = sorted({round(c.expected_half_width, 4) for c in comparisons})
    return "/".join(f"{w:.1%}" for w in widths) or "none"


def _precision(before: str, comparisons: list[ComparisonPlan]) -> str:
    """What a change cost the duels: their expected 95% half-widths, before -> after."""
    return f"expected 95% interval half-width +/-{before} -> +/-{_widths(comparisons)}"

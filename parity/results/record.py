"""The results record, typed: what one run measured, as results.json holds it.

RunRecord -> pairs (PairRecord) -> cells (CellRecord), with the run's settings, machine,
libraries and commit, and per pair its evaluation (agreement, accuracy, latency ratios,
divergence). Readers use attributes and the helpers here (`PairRecord.eager_cell`,
`RunRecord.batches`, ...), never string keys.

The runner still builds plain dicts; `RunRecord.from_dict` converts at the boundary and
`to_dict` gives the same dict back: keys this code does not know are kept in `extra`,
and the original key order and which keys were present are kept too, so
`RunRecord.from_dict(d).to_dict() == d` for every record ever published. Versions and
migrations stay in parity.results.store, which gives these records from `load`.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar

from parity.vocabulary import EAGER, EXPORT_MODES, OK, SEEDED, SIDE_NAMES, SIDES

B = TypeVar("B", bound="Block")


@dataclass(frozen=True, kw_only=True)
class Block:
    """One JSON object of the record. Subclasses declare the keys they know as fields;
    NESTED names the fields that hold other blocks: a Block subclass, or ("map", cls) for
    an object of them (by batch size, by cell id), or ("list", cls)."""

    NESTED: ClassVar[dict[str, Any]] = {}

    extra: dict[str, Any] = field(default_factory=dict, repr=False)  # keys not declared here
    present: tuple[str, ...] | None = field(default=None, repr=False)  # the dict's key order

    @classmethod
    def _known(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls) if f.name not in ("extra", "present"))

    @classmethod
    def from_dict(cls: type[B], data: Mapping[str, Any]) -> B:
        return cls._build(data)

    @classmethod
    def _build(cls: type[B], data: Mapping[str, Any]) -> B:
        known = cls._known()
        values = {name: _read(cls.NESTED.get(name), data[name]) for name in known if name in data}
        extra = {key: value for key, value in data.items() if key not in known}
        return cls(**values, extra=extra, present=tuple(data))

    @classmethod
    def shape_error(cls, data: Any, where: str = "the record") -> str | None:
        """Where `data` breaks the declared nesting (a block that is not an object, a list
        of blocks that is not a list, a required block that is null), or None. Readers of
        results files check this once, so code that walks the record never meets a
        string where it expects cells."""
        if not isinstance(data, Mapping):
            return f"{where} should be an object, not {type(data).__name__}"
        declared = {f.name: f for f in fields(cls)}
        for name, kind in cls.NESTED.items():
            if name not in data:
                continue
            value, at = data[name], f"{where}.{name}"
            if value is None:
                if declared[name].default is not None:  # a required block
                    return f"{at} should be an object, not null"
                continue
            if isinstance(value, str) and "str" in str(declared[name].type):
                continue  # a block or its name (Settings.profile)
            if not isinstance(kind, tuple):
                problem = kind.shape_error(value, at)
            elif kind[0] == "list":
                if not isinstance(value, list):
                    return f"{at} should be a list, not {type(value).__name__}"
                problem = next(
                    (p for i, v in enumerate(value) if (p := kind[1].shape_error(v, f"{at}[{i}]"))),
                    None,
                )
            else:
                if not isinstance(value, Mapping):
                    return f"{at} should be an object, not {type(value).__name__}"
                problem = next(
                    (p for k, v in value.items() if (p := kind[1].shape_error(v, f"{at}[{k!r}]"))),
                    None,
                )
            if problem:
                return problem
        return None

    def to_dict(self) -> dict[str, Any]:
        known = self._known()
        if self.present is None:  # built in code: every declared key, then the extras
            order = known + tuple(self.extra)
        else:
            order = self.present
        found: dict[str, Any] = {}
        for key in order:
            if key in known:
                found[key] = _write(getattr(self, key))
            elif key in self.extra:
                found[key] = _write(self.extra[key])
        for key, value in self.extra.items():  # extras added after reading
            found.setdefault(key, _write(value))
        return found


def _read(kind: Any, value: Any) -> Any:
    """A JSON value as the declared kind; anything of another shape is kept as it is."""
    if kind is None:
        return value
    if isinstance(kind, tuple):
        container, inner = kind
        if container == "map" and isinstance(value, Mapping):
            return {key: _read(inner, item) for key, item in value.items()}
        if container == "list" and isinstance(value, list):
            return [_read(inner, item) for item in value]
        return value
    return kind.from_dict(value) if isinstance(value, Mapping) else value


def _write(value: Any) -> Any:
    if isinstance(value, Block):
        return value.to_dict()
    if isinstance(value, dict):
        return {key: _write(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_write(item) for item in value]
    return value


# --- the run ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Profile(Block):
    name: str | None = None
    warmup: int | None = None
    min_count: int | None = None
    min_time_s: float | None = None
    max_count: int | None = None
    max_time_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Settings(Block):
    """The run's settings; a suite entry's pair carries the ones it overrides."""

    NESTED: ClassVar[dict[str, Any]] = {"profile": Profile}

    threads: int | None = None
    device: str | None = None
    profile: Profile | str | None = None  # the run's profile; a pair names it only
    seq_len: int | None = None
    latency_batches: list[int] = field(default_factory=list)
    eval_batch: int | None = None
    timeout_s: float | None = None
    weights: str | None = None
    seed: int | None = None
    jobs: int | None = None
    latency_concurrent: bool | None = None
    memory_limit_mib: int | None = None
    modes: Any = None

    @property
    def profile_name(self) -> str | None:
        return self.profile.name if isinstance(self.profile, Profile) else self.profile

    @property
    def seeded(self) -> bool:
        return self.weights == SEEDED


@dataclass(frozen=True, kw_only=True)
class GemmPeak(Block):
    """The machine's measured fp32 GEMM rate that every % of peak refers to."""

    gflops_per_s: float | None = None
    error: str | None = None
    cached: bool | None = None
    measured_utc: str | None = None
    method: str | None = None
    key: dict[str, Any] = field(default_factory=dict)
    warning: str | None = None


@dataclass(frozen=True, kw_only=True)
class Machine(Block):
    NESTED: ClassVar[dict[str, Any]] = {"gemm_peak": GemmPeak}

    hostname: str | None = None
    system: str | None = None
    machine: str | None = None
    cpu: str | None = None
    cores_usable: int | None = None
    cores_logical: int | None = None
    memory_gib: float | None = None
    python: str | None = None
    gpu: Any = None
    gemm_peak: GemmPeak | None = None  # absent in records from before calibration
    vector_extensions: list[str] | None = None  # e.g. ["avx2", "avx512f", "fma"]; absent before


@dataclass(frozen=True, kw_only=True)
class Commit(Block):
    sha: str | None = None
    dirty: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Workers(Block):
    jobs: int | None = None
    max_alive: int | None = None


# --- a cell: one side, one mode, one process ---------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Location(Block):
    handle: str | None = None
    availability: str | None = None
    path: str | None = None
    hub_id: str | None = None
    note: str | None = None

    @property
    def where(self) -> str | None:
        return self.path or self.hub_id


@dataclass(frozen=True, kw_only=True)
class Timings(Block):
    import_s: float | None = None
    load_s: float | None = None
    eval_first_call_s: float | None = None
    eval_s: float | None = None


@dataclass(frozen=True, kw_only=True)
class Memory(Block):
    rss_start_mib: float | None = None
    rss_after_import_mib: float | None = None
    rss_after_load_mib: float | None = None
    peak_load_mib: float | None = None
    peak_infer_mib: float | None = None
    device_peak_load_mib: float | None = None
    device_peak_infer_mib: float | None = None


@dataclass(frozen=True, kw_only=True)
class ModelInfo(Block):
    parameters: int | None = None
    weights_bytes: int | None = None
    dtype: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class EvalInfo(Block):
    rows: int | None = None
    batch: int | None = None
    output_shape: list[int] = field(default_factory=list)
    nonfinite: int | None = None


@dataclass(frozen=True, kw_only=True)
class LatencySamples(Block):
    """One batch size's timed loop: every sample kept, and how the loop went."""

    samples_ms: list[float] = field(default_factory=list)
    first_call_s: float | None = None
    warmup_calls: int | None = None
    stopped: str | None = None
    harness_check: dict[str, Any] | None = None  # `nox -s bench` only
    cpu_share: float | None = None  # CPU time over wall time x threads (parity.contention)
    contended: bool | None = None  # cpu_share below parity.contention.CONTENDED_BELOW


@dataclass(frozen=True, kw_only=True)
class Flops(Block):
    per_sample: float | None = None
    method: str | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class ExportInfo(Block):
    """One file an export mode wrote (parity.child.export.Exported.report)."""

    exporter: str | None = None  # e.g. "torch.onnx.export(dynamo=True)"
    runtime: str | None = None  # "onnxruntime" or "LiteRT"
    versions: dict[str, str] = field(default_factory=dict)
    batch: int | None = None  # the batch size it was exported at
    dynamic_batch: bool | None = None  # whether one file served every batch size
    export_s: float | None = None
    file_bytes: int | None = None
    file: str | None = None
    failed_attempts: list[str] = field(default_factory=list)  # exporters that failed first
    quantisation: str | None = None  # a quantised mode's: e.g. "dynamic int8 (...)"
    unquantised_bytes: int | None = None  # the float32 file it was quantised from


@dataclass(frozen=True, kw_only=True)
class CellMetrics(Block):
    """What the worker reported."""

    NESTED: ClassVar[dict[str, Any]] = {
        "timings": Timings,
        "memory": Memory,
        "model": ModelInfo,
        "eval": EvalInfo,
        "latency": ("map", LatencySamples),
        "flops": Flops,
        "exports": ("list", ExportInfo),
    }

    protocol: int | None = None
    versions: dict[str, str] = field(default_factory=dict)
    threads: dict[str, Any] = field(default_factory=dict)
    device: dict[str, Any] = field(default_factory=dict)
    timings: Timings = field(default_factory=Timings)
    memory: Memory = field(default_factory=Memory)
    model: ModelInfo = field(default_factory=ModelInfo)
    eval: EvalInfo = field(default_factory=EvalInfo)
    latency: dict[str, LatencySamples] = field(default_factory=dict)  # by batch size
    latency_skipped: dict[str, str] = field(default_factory=dict)  # batch size -> why
    flops: Flops | None = None
    exports: list[ExportInfo] = field(default_factory=list)  # an export mode's files


@dataclass(frozen=True, kw_only=True)
class LatencyStats(Block):
    """Statistics of one timed loop, in ms."""

    n: int | None = None
    median: float | None = None
    iqr: float | None = None
    min: float | None = None
    mean: float | None = None
    std: float | None = None
    p90: float | None = None
    p99: float | None = None
    unstable: bool | None = None


@dataclass(frozen=True, kw_only=True)
class Efficiency(Block):
    gflops_per_s: float | None = None
    percent_of_peak: float | None = None
    flag: str | None = None


@dataclass(frozen=True, kw_only=True)
class CellRecord(Block):
    NESTED: ClassVar[dict[str, Any]] = {
        "location": Location,
        "metrics": CellMetrics,
        "latency_stats": ("map", LatencyStats),
        "efficiency": ("map", Efficiency),
    }

    cell_id: str = ""
    side: str = ""
    mode: str = ""
    diagnostic: str | None = None  # the diagnostic's name; None for a main cell
    framework: str | None = None
    handle: str | None = None
    load_options: dict[str, Any] = field(default_factory=dict)
    location: Location = field(default_factory=Location)
    status: str = ""
    reason: str | None = None
    stderr_tail: str | None = None
    wall_s: float | None = None
    metrics: CellMetrics | None = None  # None when the cell did not complete
    latency_stats: dict[str, LatencyStats] = field(default_factory=dict)  # by batch size
    efficiency: dict[str, Efficiency] = field(default_factory=dict)  # by batch size

    @property
    def ok(self) -> bool:
        return self.status == OK

    @property
    def label(self) -> str:
        """ "PyTorch eager": how reports name a cell within its pair."""
        return f"{SIDE_NAMES.get(self.side, self.side)} {self.mode}"

    def median(self, batch: str) -> float | None:
        stats = self.latency_stats.get(batch)
        return stats.median if stats else None


# --- a pair's evaluation -----------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class Agreement(Block):
    """One side's output against the other's. Same-weights pairs carry differences and a
    tolerance verdict; independently trained pairs carry prediction overlap only."""

    torch_cell: str | None = None
    tensorflow_cell: str | None = None
    max_abs_diff: float | None = None
    mean_abs_diff: float | None = None
    max_abs_diff_over_scale: float | None = None
    min_embedding_cosine: float | None = None
    min_logit_cosine: float | None = None
    similarity_spearman: float | None = None
    max_similarity_diff: float | None = None
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    top5_overlap: float | None = None
    compared_values: int | None = None
    compared_rows: int | None = None
    note: str | None = None
    atol: float | None = None
    passed: bool | None = None
    error: str | None = None
    # Causal LMs (parity.evaluate.generation): greedy decoding compared, and each side's
    # distribution check (near-uniform logits, one repeated token).
    greedy: dict[str, Any] | None = None
    distribution: dict[str, Any] | None = None

    @property
    def has_differences(self) -> bool:
        return self.max_abs_diff is not None


@dataclass(frozen=True, kw_only=True)
class Accuracy(Block):
    """One cell's accuracy: Spearman for sentence pairs, top-k for images."""

    spearman: float | None = None
    pairs: int | None = None
    top1: float | None = None
    top5: float | None = None
    top1_acceptable: float | None = None
    images: int | None = None
    predicted: Any = None
    track_b: dict[str, Any] | None = None
    perplexity: float | None = None  # causal LMs, on the prompts' own tokens
    tokens: int | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Consistency(Block):
    """A compiled or exported mode against its own side's eager output, judged against
    a tolerance scaled to that output's magnitude (records before it: no verdict)."""

    against: str | None = None
    max_abs_diff: float | None = None
    max_abs_diff_over_scale: float | None = None
    rtol: float | None = None  # None for a quantised mode: judged by its predictions
    # A quantised mode's predictions against the eager (fp32) output's.
    top1_agreement: float | None = None
    top5_agreement: float | None = None
    top5_overlap: float | None = None
    compared_rows: int | None = None
    min_top1: float | None = None
    passed: bool | None = None
    error: str | None = None

    @property
    def by_predictions(self) -> bool:
        return self.min_top1 is not None


@dataclass(frozen=True, kw_only=True)
class VersusNative(Block):
    """An export's median at one batch size against its side's fastest native mode's and,
    for a quantised mode, its fp32 export's (single-process medians)."""

    median_ms: float | None = None
    native_mode: str | None = None
    native_median_ms: float | None = None
    over_native: float | None = None
    fp32_mode: str | None = None
    fp32_median_ms: float | None = None
    over_fp32: float | None = None


@dataclass(frozen=True, kw_only=True)
class ExportLatency(Block):
    NESTED: ClassVar[dict[str, Any]] = {"batches": ("map", VersusNative)}

    batches: dict[str, VersusNative] = field(default_factory=dict)  # by batch size


@dataclass(frozen=True, kw_only=True)
class Diagnostic(Block):
    NESTED: ClassVar[dict[str, Any]] = {"agreement": Agreement}

    name: str = ""
    side: str = ""
    question: str = ""
    load_options: dict[str, Any] = field(default_factory=dict)
    agreement: Agreement | None = None


@dataclass(frozen=True, kw_only=True)
class BestMode(Block):
    best_mode: str | None = None
    median_ms: float | None = None


@dataclass(frozen=True, kw_only=True)
class Ratio(Block):
    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    verdict: str | None = None


@dataclass(frozen=True, kw_only=True)
class Replicated(Block):
    """The headline comparison over R process pairs (parity.evaluate.replicates.Comparison
    .to_dict()), with the modes it compared and the duel's plan. ratio = PyTorch's latency
    over TensorFlow's."""

    ratio: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    replicates: int | None = None
    rounds: list[int] = field(default_factory=list)
    replicate_ratios: list[float] = field(default_factory=list)
    between_cv: float | None = None
    within_cv: float | None = None
    status: str | None = None  # faster, tie, inconclusive or contended
    verdict: str | None = None  # "PyTorch faster", "tie", "inconclusive" or "no verdict"
    why: str | None = None
    contended_rounds: int | None = None
    total_rounds: int | None = None
    min_cpu_share: float | None = None
    tie_margin: float | None = None
    interval: str | None = None
    method: str | None = None
    modes: dict[str, str] = field(default_factory=dict)  # side -> mode
    plan: dict[str, Any] = field(default_factory=dict)  # replicates, rounds, round_min_time_s...


@dataclass(frozen=True, kw_only=True)
class SideLatency(Block):
    """One batch size: each side's fastest mode and the ratio of their medians (one
    process each), and, where the run replicated it, the headline comparison."""

    NESTED: ClassVar[dict[str, Any]] = {
        "torch": BestMode,
        "tensorflow": BestMode,
        "torch_over_tf": Ratio,
        "replicated": Replicated,
    }

    torch: BestMode | None = None
    tensorflow: BestMode | None = None
    torch_over_tf: Ratio | None = None
    replicated: Replicated | None = None  # absent in records from before replication

    def best(self, side: str) -> BestMode | None:
        return getattr(self, side, None) if side in SIDES else None


@dataclass(frozen=True, kw_only=True)
class GenerationSpeed(Block):
    """A causal LM's timed cell at one batch size (parity.evaluate.generation.speeds):
    medians over its generations of `batch` copies of the longest prompt."""

    side: str = ""
    mode: str = ""
    batch: int | None = None  # absent in records from before batch sizes: batch 1
    prompt: int | None = None  # which prompt was timed (0-based); absent in older records
    prompt_tokens: int | None = None
    new_tokens: int | None = None
    samples: int | None = None  # generations timed
    ttft_ms: float | None = None  # time to first token: the prefill
    ttft_iqr_ms: float | None = None
    decode_ms: float | None = None  # the new tokens after the first
    tokens_per_s: float | None = None
    first_generation_s: float | None = None  # the cold one: tracing and compiling in it
    contended: bool | None = None
    # The key-value cache's own bytes after a generation (None: kv_cache_why says why),
    # and the cell's peak resident memory up to this batch's end; absent in older records.
    kv_cache_bytes: int | None = None
    kv_cache_why: str | None = None
    peak_rss_mib: float | None = None

    @property
    def batch_size(self) -> int:
        return self.batch or 1


@dataclass(frozen=True, kw_only=True)
class GenerationComparison(Block):
    """A causal LM's headline comparison (parity.run.comparisons.replicate_generation):
    each side's fastest decoding mode, R process pairs of alternating rounds of whole
    generations; `decode` and `ttft` are each a replicated comparison of PyTorch's time
    over TensorFlow's (the block of parity.evaluate.replicates.Comparison)."""

    NESTED: ClassVar[dict[str, Any]] = {"decode": Replicated, "ttft": Replicated}

    modes: dict[str, str] = field(default_factory=dict)  # side -> mode
    plan: dict[str, Any] = field(default_factory=dict)
    wall_s: float | None = None
    error: str | None = None  # why the duel stopped early; finished replicates stand
    stderr_tail: str | None = None
    decode: Replicated | None = None
    ttft: Replicated | None = None
    replicate_medians_ms: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True)
class LayerDiff(Block):
    label: str = ""
    torch: str | None = None
    tensorflow: str | None = None
    shape: list[int] = field(default_factory=list)
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class FirstOver(Block):
    """The first layer over a criterion, and the step into it."""

    index: int = 0
    label: str = ""
    torch: str | None = None
    tensorflow: str | None = None
    max_abs_diff: float | None = None
    max_rel_diff: float | None = None
    previous_label: str | None = None
    previous_max_abs_diff: float | None = None


@dataclass(frozen=True, kw_only=True)
class Largest(Block):
    label: str = ""
    max_abs_diff: float | None = None


@dataclass(frozen=True, kw_only=True)
class Divergence(Block):
    """Where the sides part, layer by layer (eager cells)."""

    NESTED: ClassVar[dict[str, Any]] = {
        "layers": ("list", LayerDiff),
        "first_over_atol": FirstOver,
        "first_over_rtol": FirstOver,
        "largest": Largest,
    }

    atol: float | None = None
    rtol: float | None = None
    layers: list[LayerDiff] | None = None  # None when it could not be localised
    first_over_atol: FirstOver | None = None
    first_over_rtol: FirstOver | None = None
    largest: Largest | None = None
    errors: int | None = None
    rows: int | None = None
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class Evaluation(Block):
    NESTED: ClassVar[dict[str, Any]] = {
        "accuracy": ("map", Accuracy),
        "agreement": Agreement,
        "mode_consistency": ("map", Consistency),
        "diagnostics": ("list", Diagnostic),
        "latency": ("map", SideLatency),
        "divergence": Divergence,
        "export_agreement": ("map", Agreement),
        "onnx_latency": ("map", SideLatency),
        "export_latency": ("map", ExportLatency),
        "generation": ("list", GenerationSpeed),
        "generation_replicated": GenerationComparison,
        "generation_replicated_by_batch": ("map", GenerationComparison),
    }

    accuracy: dict[str, Accuracy] = field(default_factory=dict)  # by cell id
    agreement: Agreement | None = None  # eager against eager
    mode_consistency: dict[str, Consistency] = field(default_factory=dict)  # by cell id
    diagnostics: list[Diagnostic] = field(default_factory=list)
    latency: dict[str, SideLatency] = field(default_factory=dict)  # by batch size; native
    divergence: Divergence | None = None
    # An exported cell against the other side's eager output (same-weights pairs), by cell id.
    export_agreement: dict[str, Agreement] = field(default_factory=dict)
    # Both sides exported to ONNX and run in onnxruntime, by batch size, as `latency`.
    onnx_latency: dict[str, SideLatency] = field(default_factory=dict)
    # Each export cell's latency against its side's native modes, by cell id.
    export_latency: dict[str, ExportLatency] = field(default_factory=dict)
    tracks: dict[str, Any] | None = None  # parity.evaluate.tracks reads it
    # Causal LMs: each timed cell's time to first token and tokens/s
    # (parity.evaluate.generation.speeds), and the replicated comparison of the sides'
    # fastest decoding modes.
    generation: list[GenerationSpeed] | None = None
    # By batch size; records from before batch sizes hold one comparison, at batch 1, as
    # generation_replicated. Read both through generation_comparisons().
    generation_replicated_by_batch: dict[str, GenerationComparison] = field(default_factory=dict)
    generation_replicated: GenerationComparison | None = None

    def generation_comparisons(self) -> dict[str, GenerationComparison]:
        """A causal LM's replicated comparisons by batch size, smallest first, from a
        record of either shape."""
        found = dict(self.generation_replicated_by_batch)
        if self.generation_replicated is not None:
            found.setdefault("1", self.generation_replicated)
        return {batch: found[batch] for batch in sorted(found, key=int)}


# --- a pair ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SideRef(Block):
    handle: str = ""


@dataclass(frozen=True, kw_only=True)
class Published(Block):
    """A figure the model's publisher states (quoted, not measured)."""

    side: str = ""
    metric: str = ""
    value: float = 0.0
    where: str = ""


@dataclass(frozen=True, kw_only=True)
class Dataset(Block):
    """The evaluation data: sentence pairs (text) or images."""

    name: str | None = None
    origin: str | None = None
    pairs: int | None = None
    sentences: int | None = None
    tokenizer: str | None = None
    seq_len: int | None = None
    truncated_sentences: int | None = None
    images: int | None = None
    preprocessing: dict[str, dict[str, Any]] = field(default_factory=dict)  # by side
    identical_inputs: bool | None = None
    subset: dict[str, Any] | None = None
    prompts: int | None = None  # causal LMs: prompts, their token counts, tokens generated
    prompt_tokens: list[int] | None = None
    new_tokens: int | None = None


@dataclass(frozen=True, kw_only=True)
class PairRecord(Block):
    NESTED: ClassVar[dict[str, Any]] = {
        "sides": ("map", SideRef),
        "published": ("list", Published),
        "settings": Settings,
        "dataset": Dataset,
        "cells": ("list", CellRecord),
        "evaluation": Evaluation,
    }

    id: str = ""
    task: str | None = None
    relation: str = ""
    description: str = ""
    atol: float | None = None
    sides: dict[str, SideRef] = field(default_factory=dict)
    published: list[Published] = field(default_factory=list)
    settings: Settings | None = None  # a suite entry's own settings
    dataset: Dataset | None = None
    cells: list[CellRecord] = field(default_factory=list)  # empty: the pair was not run
    evaluation: Evaluation = field(default_factory=Evaluation)
    status: str | None = None
    reason: str | None = None  # why it was not run

    @property
    def was_run(self) -> bool:
        return bool(self.cells)

    def handle(self, side: str) -> str:
        return self.sides[side].handle

    def main_cells(self) -> list[CellRecord]:
        """The cells of the comparison proper, diagnostics left out."""
        return [cell for cell in self.cells if not cell.diagnostic]

    def ok_cells(self) -> list[CellRecord]:
        return [cell for cell in self.main_cells() if cell.ok]

    def failed_cells(self) -> list[CellRecord]:
        """Every cell that did not complete, diagnostics included."""
        return [cell for cell in self.cells if not cell.ok]

    def export_cells(self) -> list[CellRecord]:
        """The cells of export modes (parity.vocabulary.EXPORT_MODES), failed ones too."""
        return [cell for cell in self.main_cells() if cell.mode in EXPORT_MODES]

    def eager_cell(self, side: str) -> CellRecord | None:
        """The side's reference cell: agreement, memory and divergence use it."""
        return next(
            (c for c in self.ok_cells() if c.side == side and c.mode == EAGER),
            None,
        )


@dataclass(frozen=True, kw_only=True)
class LoadCheck(Block):
    """The machine's load before the run started (parity.run.load)."""

    busy_share: float | None = None
    busy: bool | None = None
    warning: str | None = None
    loadavg_1m: float | None = None


@dataclass(frozen=True, kw_only=True)
class RunRecord(Block):
    NESTED: ClassVar[dict[str, Any]] = {
        "machine": Machine,
        "commit": Commit,
        "settings": Settings,
        "pairs": ("list", PairRecord),
        "workers": Workers,
        "load_check": LoadCheck,
    }

    schema_version: int | None = None
    run_id: str = ""
    started_utc: str | None = None
    finished_utc: str | None = None
    wall_s: float | None = None
    machine: Machine = field(default_factory=Machine)
    libraries: dict[str, str | None] = field(default_factory=dict)
    commit: Commit = field(default_factory=Commit)
    settings: Settings = field(default_factory=Settings)
    pairs: list[PairRecord] = field(default_factory=list)
    parent_framework_modules: list[str] = field(default_factory=list)
    workers: Workers | None = None
    load_check: LoadCheck | None = None  # absent in records from before the check
    budget: dict[str, Any] | None = None  # parity.run.budget.BudgetPlan.to_dict(), with lines

    @property
    def budget_lines(self) -> list[str]:
        """What the time budget shortened or dropped, as the plan says it."""
        return list((self.budget or {}).get("lines") or [])

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunRecord:
        # A copy: the record must not change when the dict it came from does.
        return cls._build(copy.deepcopy(dict(data)))

    @classmethod
    def coerce(cls, record: RunRecord | Mapping[str, Any]) -> RunRecord:
        """The typed record, from a runner's dict or as it is."""
        return record if isinstance(record, RunRecord) else cls.from_dict(record)

    def settings_for(self, pair: PairRecord) -> Settings:
        """The settings a pair ran under: its own (a suite entry's), else the run's."""
        if pair.settings is None:
            return self.settings
        return Settings.from_dict({**self.settings.to_dict(), **pair.settings.to_dict()})

    def batches(self, pair: PairRecord | None = None) -> list[str]:
        """A pair's latency batch sizes; without a pair, every batch size in the run."""
        pairs = [pair] if pair is not None else self.pairs or [PairRecord()]
        found = {int(b) for p in pairs for b in self.settings_for(p).latency_batches}
        return [str(b) for b in sorted(found)]

    def cells(self) -> list[CellRecord]:
        return [cell for pair in self.pairs for cell in pair.cells]

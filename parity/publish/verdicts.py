"""The seed comparison tables' claims, restated per pair beside this run's evidence.

The claims are quoted from the two PyTorch-vs-TensorFlow tables the project grew from
("PyTorch vs TensorFlow: Main Differences", which has no verdict column, and "1.2 PyTorch
VS TensorFlow", which does). The evidence is computed from a results record
(parity.results.record) only.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.evaluate.replicates import CONTENDED, FASTER, NO_VERDICT, TIE
from parity.evaluate.statistics import compile_cost_s
from parity.publish import exports
from parity.publish.headline import NOT_REPLICATED_WHY, headlines
from parity.results.record import Agreement, CellRecord, PairRecord, RunRecord
from parity.vocabulary import (
    EAGER,
    EXPORT_MODES,
    LITERT,
    LITERT_TORCH_PYTHON,
    ONNX,
    QUANTISED_MODES,
    SIDE_NAMES,
    SIDES,
)

MAIN_DIFFERENCES = 'table "PyTorch vs TensorFlow: Main Differences"'
PT_VS_TF = 'table "1.2 PyTorch VS TensorFlow"'


@dataclass(frozen=True)
class Claim:
    row: str
    source: str
    pytorch: str
    tensorflow: str
    verdict: str | None  # the table's own verdict, where it has one

    def text(self) -> str:
        said = f"PyTorch: {self.pytorch} TensorFlow: {self.tensorflow}"
        return f"{said} Verdict: {self.verdict}" if self.verdict else said


CLAIMS = (
    Claim(
        "Model Zoo & Pre-trained Models",
        PT_VS_TF,
        "Access via TorchVision, Hugging Face; strong sharing community for models.",
        "TF Hub offers wide range; extensive community models.",
        "Tie: Both offer extensive pre-trained models; choose based on specific needs.",
    ),
    Claim(
        "Performance",
        PT_VS_TF,
        "Competitive; dynamic graphs may introduce overhead; optimized with TorchScript/JIT.",
        "Optimized via static graphs, XLA compiler; efficient for large-scale models.",
        "Tie: Both high-performance; differences negligible in practice.",
    ),
    Claim(
        "Performance Optimization",
        MAIN_DIFFERENCES,
        "Manual tuning often needed.",
        "XLA compiler, Graph optimizations, AutoGraph.",
        None,
    ),
    Claim(
        "Development Style",
        MAIN_DIFFERENCES,
        "Dynamic computation graph (eager execution).",
        "Static computation graph by default (TF1), eager execution enabled in TF2.",
        None,
    ),
    Claim(
        "Model Deployment",
        MAIN_DIFFERENCES,
        "TorchScript, ONNX, or via Python",
        "TensorFlow Serving, TF Lite, TF.js, TF Hub",
        None,
    ),
    Claim(
        "Mobile & Edge",
        MAIN_DIFFERENCES,
        "Limited support via Torch Mobile",
        "Strong support: TF Lite, Coral, EdgeTPU",
        None,
    ),
    Claim(
        "Interoperability",
        PT_VS_TF,
        "Seamless Python integration; supports exporting models to ONNX format.",
        "Interoperates via TensorFlow Hub/SavedModel/ONNX (some limits).",
        "PyTorch Wins: Better integration with Python ecosystem.",
    ),
)
NO_EXPORTS = (
    "no export mode was run (ask for them: --modes torch=onnx --modes tensorflow=onnx,litert)"
)


def model_zoo(pair: PairRecord) -> str:
    parts = []
    seeded = pair.settings is not None and pair.settings.seeded
    for side in SIDES:
        cells = [c for c in pair.main_cells() if c.side == side]
        if not cells:
            parts.append(f"{SIDE_NAMES[side]}: not run")
            continue
        where = cells[0].location.availability
        ok = [c for c in cells if c.ok]
        if ok and seeded:
            params = ok[0].metrics.model.parameters
            parts.append(
                f"{SIDE_NAMES[side]} {pair.handle(side)} built with seeded weights "
                f"({params:,} parameters; the pretrained ones were not loaded)"
            )
        elif ok:
            params = ok[0].metrics.model.parameters
            parts.append(
                f"{SIDE_NAMES[side]} {cells[0].handle} loaded ({where}, {params:,} parameters)"
            )
        else:
            parts.append(f"{SIDE_NAMES[side]} {cells[0].handle} did not load: {cells[0].reason}")
    agreement = pair.evaluation.agreement or Agreement()
    if agreement.top1_agreement is not None and not agreement.has_differences:
        parts.append(
            f"{pair.relation}: top-1 predictions agree on {agreement.top1_agreement:.0%} "
            f"of {agreement.compared_rows} inputs"
        )
    if agreement.has_differences:
        outcome = "within" if agreement.passed else "outside"
        parts.append(
            f"{pair.relation}: outputs differ by at most {agreement.max_abs_diff:.3g}, "
            f"{outcome} atol {agreement.atol:g}"
        )
        for diag in pair.evaluation.diagnostics:
            if diag.agreement and diag.agreement.has_differences:
                parts.append(f"with {diag.name}: {diag.agreement.max_abs_diff:.3g}")
    return "; ".join(parts)


def performance(pair: PairRecord) -> str:
    """Per batch size, the headline comparison (parity.publish.headline): a replicated
    verdict with its interval, R and between-process spread, or why there is none."""
    parts = []
    for one in headlines(pair):
        head = f"batch {one.batch_text} ({one.modes_text})"
        if not one.replicated:
            entry = pair.evaluation.latency[one.batch]
            pt, tf = entry.torch, entry.tensorflow
            parts.append(
                f"{head}: no verdict; one process per side gave PyTorch/TensorFlow "
                f"{one.interval_text()} (PyTorch {pt.best_mode} {pt.median_ms:.2f} ms vs "
                f"TensorFlow {tf.best_mode} {tf.median_ms:.2f} ms), {NOT_REPLICATED_WHY}"
            )
            continue
        spread = (
            f", between-process spread {one.between_cv:.1%}" if one.between_cv is not None else ""
        )
        basis = f"over {one.replicates} process pairs{spread}"
        if one.status == FASTER:
            said = one.speedup_text()
        elif one.status == TIE:
            said = f"tie (ratio {one.ratio:.2f})"
        elif one.status == CONTENDED:
            said = NO_VERDICT
        else:
            said = one.verdict
        parts.append(f"{head}: {said}; PyTorch/TensorFlow {one.interval_text()} {basis}: {one.why}")
    return "; ".join(parts) or "no latency measured on both sides"


def _eager_versus_best(
    pair: PairRecord, side: str
) -> list[tuple[str, float, CellRecord, CellRecord]]:
    """Per batch: (batch, eager median / best other mode's median, eager cell, best cell)."""
    eager = pair.eager_cell(side)
    others = [c for c in pair.ok_cells() if c.side == side and c.mode not in (EAGER, *EXPORT_MODES)]
    found = []
    if not eager or not others:
        return found
    for batch in eager.latency_stats:
        timed = [c for c in others if c.median(batch)]
        if timed:
            best = min(timed, key=lambda c: c.median(batch))
            found.append((batch, eager.median(batch) / best.median(batch), eager, best))
    return found


def _compile_cost_s(cell: CellRecord) -> float | None:
    """First call at the evaluation batch size minus that size's steady median."""
    metrics = cell.metrics
    median = cell.median(str(metrics.eval.batch))
    return compile_cost_s(metrics.timings.eval_first_call_s, median)


def optimization(pair: PairRecord) -> str:
    parts = []
    for side in SIDES:
        by_mode: dict[str, list[str]] = {}
        best_cells: dict[str, CellRecord] = {}
        for batch, speedup, _, best in _eager_versus_best(pair, side):
            by_mode.setdefault(best.mode, []).append(f"{speedup:.2f}x at batch {batch}")
            best_cells[best.mode] = best
        for mode, speeds in by_mode.items():
            cost = _compile_cost_s(best_cells[mode])
            cost_text = f"; first-call cost {cost:.1f} s" if cost is not None else ""
            parts.append(
                f"{SIDE_NAMES[side]} {mode}, speed-up over eager: {', '.join(speeds)}{cost_text}"
            )
    return "; ".join(parts) or "needs an eager and a compiled mode on a side"


def development_style(pair: PairRecord) -> str:
    parts = []
    for side in SIDES:
        found = _eager_versus_best(pair, side)
        if found:
            costs = ", ".join(f"{ratio:.2f}x at batch {batch}" for batch, ratio, _, _ in found)
            parts.append(
                f"{SIDE_NAMES[side]} eager takes {costs} the time of its fastest graph mode"
            )
    if parts:
        parts.append("both run eagerly by default; graph modes are opt-in on both sides")
    return "; ".join(parts) or "needs an eager and a graph mode on a side"


def deployment(pair: PairRecord) -> str:
    """Every export cell: exported or not (the exporter's message), the same function as
    eager or not, and its latency against the side's fastest native mode; TorchScript's
    agreement with eager where it ran."""
    parts = [exports.export_sentence(pair, cell) for cell in pair.export_cells()]
    for cell in pair.ok_cells():
        if cell.mode == "torchscript":
            found = pair.evaluation.mode_consistency.get(cell.cell_id)
            parts.append(f"PyTorch torchscript {exports.consistency_words(found)}")
    return "; ".join(parts) if pair.export_cells() else NO_EXPORTS


def mobile_edge(pair: PairRecord) -> str:
    """The LiteRT exports (the mobile runtime): TensorFlow's converter, float32 and dynamic
    int8, and PyTorch's through litert-torch where its own environment is configured."""
    litert = [
        cell for cell in pair.export_cells() if QUANTISED_MODES.get(cell.mode, cell.mode) == LITERT
    ]
    if not litert:
        return "no LiteRT export was run (ask for it: --modes tensorflow=litert,litert-int8)"
    parts = [exports.export_sentence(pair, cell) for cell in litert]
    if not any(cell.side == "torch" for cell in litert):
        parts.append(
            "PyTorch: no LiteRT export run (torch=litert converts through litert-torch, "
            f"which needs its own environment: set {LITERT_TORCH_PYTHON} to its python)"
        )
    return "; ".join(parts)


def interoperability(pair: PairRecord) -> str:
    """Both sides to ONNX: which exported, whether each file computes its framework's
    function, and both files in the same runtime."""
    onnx = [
        cell for cell in pair.export_cells() if QUANTISED_MODES.get(cell.mode, cell.mode) == ONNX
    ]
    if not onnx:
        return NO_EXPORTS
    parts = [exports.export_sentence(pair, cell) for cell in onnx]
    return "; ".join(parts + exports.onnx_sentences(pair))


EVIDENCE = {
    "Model Zoo & Pre-trained Models": model_zoo,
    "Performance": performance,
    "Performance Optimization": optimization,
    "Development Style": development_style,
    "Model Deployment": deployment,
    "Mobile & Edge": mobile_edge,
    "Interoperability": interoperability,
}


def claim_evidence(record: RunRecord) -> list[tuple[Claim, list[tuple[str, str]]]]:
    """Each claim once, with (pair id, this run's evidence) for every pair under it."""
    return [
        (
            claim,
            [
                (
                    pair.id,
                    EVIDENCE[claim.row](pair) if pair.was_run else f"not measured: {pair.reason}",
                )
                for pair in record.pairs
            ],
        )
        for claim in CLAIMS
    ]

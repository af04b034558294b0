"""The report's tables, built from the typed record as plain-text cells (parity.publish
.document.Table), so every rendering shows the same strings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from parity.evaluate import tracks
from parity.evaluate.statistics import compile_cost_s
from parity.publish import numbers
from parity.publish.document import Table
from parity.publish.headline import headlines
from parity.publish.numbers import fixed, full, mib, ms, percent, sig
from parity.publish.sentences import (
    accuracy_of,
    agreement_summary,
    ratio_text,
    verdict_word,
)
from parity.results.record import Agreement, Divergence, Evaluation, Flops, PairRecord, RunRecord
from parity.vocabulary import SIDE_NAMES, SIDES


def summary_table(record: RunRecord) -> Table:
    batches = record.batches()
    head = ["pair", "relation", "agreement (eager vs eager)", "accuracy PyTorch", "accuracy TF"]
    for batch in batches:
        head += [
            f"b{batch} best PyTorch ms",
            f"b{batch} best TF ms",
            f"b{batch} ratio PT/TF [95% CI]",
        ]
    head += ["peak MiB PyTorch (load / infer)", "peak MiB TF (load / infer)"]
    rows = []
    for pair in record.pairs:
        if not pair.was_run:
            rows.append(
                [pair.id, pair.relation, f"not run: {pair.reason}"]
                + [numbers.MISSING] * (len(head) - 3)
            )
            continue
        seeded = " (seeded weights)" if record.settings_for(pair).seeded else ""
        row = [
            pair.id,
            pair.relation + seeded,
            agreement_summary(pair.evaluation),
            *(accuracy_of(pair, side) for side in SIDES),
        ]
        for batch in batches:
            entry = pair.evaluation.latency.get(batch)
            for side in SIDES:
                best = entry.best(side) if entry else None
                row.append(f"{ms(best.median_ms)} ({best.best_mode})" if best else numbers.MISSING)
            row.append(ratio_text(batch, entry) if entry else numbers.MISSING)
        for side in SIDES:
            cell = pair.eager_cell(side)
            if cell:
                memory = cell.metrics.memory
                row.append(f"{mib(memory.peak_load_mib)} / {mib(memory.peak_infer_mib)}")
            else:
                row.append(numbers.MISSING)
        rows.append(row)
    return Table(head, rows)


def answer_table(record: RunRecord) -> Table:
    """Every pair and batch size's headline comparison: the forest plot as a table."""
    rows = []
    for pair in record.pairs:
        for one in headlines(pair):
            rows.append(
                [
                    pair.id,
                    one.batch_text,
                    one.modes_text,
                    one.interval_text(),
                    str(one.replicates) if one.replicated else "1 (not replicated)",
                    numbers.MISSING if one.between_cv is None else f"{one.between_cv:.1%}",
                    one.verdict,
                    one.why,
                ]
            )
    head = [
        "pair",
        "batch",
        "modes",
        "PyTorch/TensorFlow [95% interval]",
        "R",
        "between-process spread",
        "verdict",
        "why",
    ]
    return Table(head, rows)


def claim_table(evidence: list[tuple[str, str]]) -> Table:
    """One claim's evidence, pair by pair."""
    return Table(["pair", "this run's evidence"], [[pair, text] for pair, text in evidence])


def cell_table(pair: PairRecord, batches: list[str]) -> Table:
    head = ["side", "mode", "status", "import s", "load s", "first call s"]
    for batch in batches:
        head += [
            f"b{batch} first call s",
            f"b{batch} n",
            f"b{batch} median ms",
            f"b{batch} IQR ms",
            f"b{batch} p90 ms",
            f"b{batch} min ms",
        ]
    head += ["RSS after load MiB", "peak load MiB", "peak infer MiB"]
    on_gpu = any(
        c.metrics is not None and c.metrics.memory.device_peak_infer_mib is not None
        for c in pair.main_cells()
    )
    if on_gpu:
        head += ["GPU peak load MiB", "GPU peak infer MiB"]
    rows = []
    for cell in pair.main_cells():
        row = [SIDE_NAMES[cell.side], cell.mode, cell.status]
        metrics = cell.metrics
        if not metrics:
            rows.append(row + [numbers.MISSING] * (len(head) - 3))
            continue
        timings, memory = metrics.timings, metrics.memory
        row += [
            fixed(timings.import_s, 1),
            fixed(timings.load_s, 2),
            fixed(timings.eval_first_call_s, 2),
        ]
        for batch in batches:
            stats = cell.latency_stats.get(batch)
            if not stats:
                row += [numbers.MISSING] * 6
                continue
            flag = " ⚠ unstable" if stats.unstable else ""
            row += [
                fixed(metrics.latency[batch].first_call_s, 2),
                str(stats.n),
                ms(stats.median) + flag,
                ms(stats.iqr),
                ms(stats.p90),
                ms(stats.min),
            ]
        row += [
            mib(memory.rss_after_load_mib),
            mib(memory.peak_load_mib),
            mib(memory.peak_infer_mib),
        ]
        if on_gpu:
            row += [mib(memory.device_peak_load_mib), mib(memory.device_peak_infer_mib)]
        rows.append(row)
    return Table(head, rows)


def _flops_text(flops: Flops | None) -> str:
    if not flops:
        return numbers.MISSING
    if flops.per_sample is None:
        return f"not counted: {flops.error or 'no count'}"
    return f"{flops.per_sample / 1e9:.4g}"


def compute_table(pair: PairRecord, batches: list[str]) -> Table:
    """Per mode: FLOPs per sample; the compile cost (the very first call, at the
    evaluation batch size, minus that size's steady median: the cold trace or compile);
    and per batch the achieved GFLOP/s and its share of the machine's measured peak."""
    head = ["side", "mode", "GFLOPs per sample", "compile s (first call − median)"]
    for batch in batches:
        head += [f"b{batch} GFLOP/s", f"b{batch} % of peak"]
    rows = []
    for cell in pair.main_cells():
        metrics = cell.metrics
        if not metrics:
            continue
        cost = compile_cost_s(
            metrics.timings.eval_first_call_s, cell.median(str(metrics.eval.batch))
        )
        row = [SIDE_NAMES[cell.side], cell.mode, _flops_text(metrics.flops), fixed(cost, 2)]
        for batch in batches:
            found = cell.efficiency.get(batch)
            flag = f" ⚠ {found.flag}" if found and found.flag else ""
            row += [
                fixed(found.gflops_per_s if found else None, 1),
                fixed(found.percent_of_peak if found else None, 1) + flag,
            ]
        rows.append(row)
    return Table(head, rows)


AGREEMENT_ROWS: tuple[tuple[str, str, Callable[[Any], str]], ...] = (
    ("max_abs_diff", "max abs difference (masked hidden states, or logits)", sig),
    ("mean_abs_diff", "mean abs difference", sig),
    ("max_abs_diff_over_scale", "max abs difference / largest abs value", sig),
    ("min_embedding_cosine", "min cosine of mean-pooled embeddings", lambda v: f"{v:.7f}"),
    ("min_logit_cosine", "min cosine of logit vectors", lambda v: f"{v:.7f}"),
    ("similarity_spearman", "Spearman of the two sides' pair similarities", lambda v: f"{v:.5f}"),
    ("max_similarity_diff", "max difference of a pair similarity", sig),
    ("top1_agreement", "top-1 agreement", percent),
    ("top5_agreement", "top-5 sets identical", percent),
    ("top5_overlap", "top-5 overlap", percent),
    ("compared_values", "values compared", lambda v: f"{v:,}"),
    ("compared_rows", "inputs compared", lambda v: f"{v:,}"),
    ("note", "note", str),
)


def agreement_table(found: Agreement) -> Table:
    rows = [
        [label, fmt(getattr(found, name))]
        for name, label, fmt in AGREEMENT_ROWS
        if getattr(found, name) is not None
    ]
    if found.passed is not None:
        rows.append(["tolerance (atol)", f"{sig(found.atol)} → {verdict_word(found.passed)}"])
    return Table(["measure", "value"], rows)


def tracks_table(evaluation: Evaluation) -> Table | None:
    """Accuracy tracks A and B per side, A minus B, and PyTorch minus TensorFlow."""
    if not evaluation.tracks:
        return None
    return Table(*tracks.table_rows(evaluation.tracks))


def divergence_rows(found: Divergence, every: int | None = None) -> list[int]:
    """The curve in a few rows: every Nth layer, the step into each first-over layer, the
    largest, and the last; all rows when every is 1."""
    layers = found.layers
    every = every or max(1, len(layers) // 12)
    keep = set(range(0, len(layers), every)) | {len(layers) - 1}
    for first in (found.first_over_atol, found.first_over_rtol):
        if first:
            keep |= {max(0, first.index - 1), first.index, min(len(layers) - 1, first.index + 1)}
    keep |= {i for i, layer in enumerate(layers) if layer.label == found.largest.label}
    return sorted(keep)


def divergence_table(found: Divergence, every: int | None = None) -> Table:
    rows = []
    for index in divergence_rows(found, every):
        layer = found.layers[index]
        rows.append(
            [
                str(index),
                layer.label,
                f"`{layer.torch}`",
                f"`{layer.tensorflow}`",
                "x".join(map(str, layer.shape)) or numbers.MISSING,
                sig(layer.max_abs_diff),
                sig(layer.max_rel_diff),
                layer.error or "",
            ]
        )
    head = ["#", "layer", "PyTorch module", "Keras layer", "shape (channels last)", "max abs diff"]
    return Table(head + ["max rel diff", "note"], rows)


def stats_table(pair: PairRecord) -> Table:
    """Every timed loop's full statistics."""
    head = [
        "cell",
        "batch",
        "n",
        "median ms",
        "IQR ms",
        "min ms",
        "mean ms",
        "std ms",
        "p90 ms",
        "p99 ms",
        "unstable",
        "first call s",
        "warm-up calls",
        "loop ended by",
        "throughput samples/s",
    ]
    rows = []
    for cell in pair.main_cells():
        for batch, stats in cell.latency_stats.items():
            entry = cell.metrics.latency[batch]
            rows.append(
                [cell.label, batch, str(stats.n)]
                + [
                    full(value)
                    for value in (
                        stats.median,
                        stats.iqr,
                        stats.min,
                        stats.mean,
                        stats.std,
                        stats.p90,
                        stats.p99,
                    )
                ]
                + [
                    "yes" if stats.unstable else "no",
                    full(entry.first_call_s),
                    str(entry.warmup_calls),
                    str(entry.stopped),
                    f"{int(batch) / stats.median * 1000:.1f}",
                ]
            )
    return Table(head, rows)


def _figures(found: dict[str, Any]) -> str:
    return "; ".join(f"{k} {full(v)}" for k, v in found.items() if not isinstance(v, dict))


def details_table(pair: PairRecord) -> Table:
    """Every other per-cell figure: memory, timings, threads, model, where it came from."""
    head = ["cell", "memory (MiB)", "timings (s)", "threads", "model", "location"]
    rows = []
    for cell in pair.cells:
        metrics = cell.metrics
        wall = f"; worker wall {cell.wall_s:.1f}" if cell.wall_s is not None else ""
        if metrics:
            model = metrics.model.to_dict()
            threads = metrics.threads
            row = [
                _figures(metrics.memory.to_dict()),
                _figures(metrics.timings.to_dict()) + wall,
                _figures(threads) + "; env " + _figures(threads.get("env", {}))
                if threads
                else numbers.MISSING,
                _figures(model) + "; " + _figures(model.get("details", {})),
            ]
        else:
            row = ["", wall, numbers.MISSING, numbers.MISSING]
        location = cell.location
        rows.append(
            [cell.cell_id.split("/", 1)[1], *row, f"{location.availability}: {location.where}"]
        )
    return Table(head, rows)

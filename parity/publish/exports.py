"""The export cells of a pair (parity.vocabulary.EXPORT_MODES), as the report shows them:
their table, the quantised variants' table, what each says in a sentence, and the
one-runtime (ONNX) comparison, which the answer section shows beside the native one. The
verdict rows "Model Deployment", "Mobile & Edge" and "Interoperability" quote these.

Everything here reads the record (parity.evaluate.deployment computed the judgements and
the latency against native); nothing is measured or recomputed.
"""

from __future__ import annotations

from parity.publish import numbers
from parity.publish.document import Table
from parity.publish.headline import Headline, headline, headlines
from parity.publish.numbers import fixed, mib, percent, sig
from parity.publish.sentences import accuracy_text, ratio_text
from parity.results.record import (
    CellRecord,
    Consistency,
    ExportInfo,
    PairRecord,
    RunRecord,
)
from parity.vocabulary import QUANTISED_MODES, RUNTIMES, SIDE_NAMES

SAME_RUNTIME_TITLE = "Same runtime: both sides exported to ONNX, run in onnxruntime"
SAME_RUNTIME_TEXT = (
    "Each side's model exported to ONNX and run in the same onnxruntime (CPU provider, the "
    "run's threads): what remains is the exported graph, not the framework that runs it. "
    "Measured like the native comparison above, over R fresh process pairs taking turns; "
    "each worker exports its model before it is timed."
)


def _consistency(pair: PairRecord, cell: CellRecord) -> Consistency | None:
    return pair.evaluation.mode_consistency.get(cell.cell_id)


def _first_export(cell: CellRecord) -> ExportInfo | None:
    files = cell.metrics.exports if cell.metrics else []
    return files[0] if files else None


def consistency_words(found: Consistency | None) -> str:
    """'matches its eager output (max abs difference 3e-06, 2e-07 of its scale, within
    1e-04)', a quantised mode's prediction agreement, or why there is no figure."""
    if found is None:
        return "no eager output to compare with"
    if found.error:
        return f"not compared: {found.error}"
    if found.by_predictions:
        verdict = "keeps" if found.passed else "CHANGES"
        return (
            f"{verdict} its fp32 eager predictions (top-1 agreement "
            f"{percent(found.top1_agreement)} of {found.compared_rows}, at least "
            f"{percent(found.min_top1)} asked; top-5 sets identical "
            f"{percent(found.top5_agreement)}; max abs difference {sig(found.max_abs_diff)}, "
            f"{sig(found.max_abs_diff_over_scale)} of its scale, not judged)"
        )
    if found.passed is None:
        return f"max abs difference {sig(found.max_abs_diff)} from its eager output"
    verdict = "matches" if found.passed else "DIFFERS FROM"
    side = "within" if found.passed else "over"
    return (
        f"{verdict} its eager output (max abs difference {sig(found.max_abs_diff)}, "
        f"{sig(found.max_abs_diff_over_scale)} of its scale, {side} {found.rtol:g})"
    )


def against_native(pair: PairRecord, cell: CellRecord) -> str:
    """Per batch: the export's median over its side's fastest native mode's (and a
    quantised mode's over its fp32 export's)."""
    found = pair.evaluation.export_latency.get(cell.cell_id)
    parts = []
    for batch, entry in (found.batches if found else {}).items():
        if entry.over_native is not None:
            text = f"{entry.over_native:.3g}x {entry.native_mode} at batch {batch}"
            if entry.over_fp32 is not None:
                text += f" ({entry.over_fp32:.3g}x its fp32 {entry.fp32_mode})"
            parts.append(text)
    return ", ".join(parts) or "no native latency to compare with"


def _name(cell: CellRecord) -> str:
    return f"{SIDE_NAMES[cell.side]} → {cell.mode} ({RUNTIMES.get(cell.mode, cell.mode)})"


def export_sentence(pair: PairRecord, cell: CellRecord) -> str:
    """One export cell: did it export, is it the same function, how fast against native."""
    if not cell.ok:
        return f"{_name(cell)}: {cell.status}: {cell.reason}"
    made = _first_export(cell)
    how = (
        f"exported by {made.exporter} in {fixed(made.export_s, 1)} s, {_size(made.file_bytes)}"
        if made
        else "exported"
    )
    text = f"{_name(cell)}: {how}; {consistency_words(_consistency(pair, cell))}"
    other = pair.evaluation.export_agreement.get(cell.cell_id)
    if other is not None:
        text += f"; against the other side's eager output {_other_cell(other)}"
    return f"{text}; latency {against_native(pair, cell)}"


def _consistency_cell(found: Consistency | None) -> str:
    if found is None or found.error:
        return numbers.MISSING if found is None else found.error
    if found.by_predictions:
        verdict = "pass" if found.passed else "FAIL"
        return (
            f"top-1 {percent(found.top1_agreement)}, top-5 {percent(found.top5_agreement)} "
            f"({verdict}; max abs {sig(found.max_abs_diff)})"
        )
    verdict = "" if found.passed is None else ", within" if found.passed else ", OVER"
    return f"{sig(found.max_abs_diff)} ({sig(found.max_abs_diff_over_scale)}{verdict})"


def _other_cell(found) -> str:
    if found.error:
        return found.error
    text = sig(found.max_abs_diff)
    if found.top1_agreement is not None:
        text += f", top-1 agreement {percent(found.top1_agreement)}"
    return text


def _accuracy(pair: PairRecord, cell: CellRecord | None) -> str:
    found = pair.evaluation.accuracy.get(cell.cell_id) if cell else None
    return numbers.MISSING if found is None else accuracy_text(found, short=True)


def _size(file_bytes: int | None) -> str:
    return numbers.MISSING if file_bytes is None else f"{file_bytes / 2**20:.1f} MiB"


def _versions(made: ExportInfo) -> str:
    return ", ".join(f"{name} {version}" for name, version in made.versions.items())


def _memory(cell: CellRecord) -> str:
    memory = cell.metrics.memory
    return f"{mib(memory.peak_load_mib)} / {mib(memory.peak_infer_mib)}"


def onnx_headlines(pair: PairRecord) -> list[Headline]:
    """Both sides' ONNX files in one onnxruntime: PyTorch's over TensorFlow's latency, per
    batch size, replicated like the native headline (evaluation.onnx_latency)."""
    found = []
    for batch in sorted(pair.evaluation.onnx_latency, key=lambda b: (len(b), b)):
        if (one := headline(batch, pair.evaluation.onnx_latency[batch])) is not None:
            found.append(one)
    return found


def onnx_sentences(pair: PairRecord) -> list[str]:
    """The same-runtime comparison in words, per batch size."""
    return [
        f"batch {batch}: PyTorch→ONNX / TensorFlow→ONNX in onnxruntime {ratio_text(batch, entry)}"
        for batch, entry in pair.evaluation.onnx_latency.items()
        if entry.torch_over_tf is not None
    ]


def same_runtime_table(record: RunRecord) -> Table | None:
    """Every pair's same-runtime (onnxruntime) headline, as the answer table shows the
    native one; None when no pair ran ONNX on both sides."""
    rows = []
    for pair in record.pairs:
        native = {h.batch: h for h in headlines(pair)}
        for one in onnx_headlines(pair):
            beside = native.get(one.batch)
            rows.append(
                [
                    pair.id,
                    one.batch,
                    one.interval_text(),
                    str(one.replicates) if one.replicated else "1 (not replicated)",
                    numbers.MISSING if one.between_cv is None else f"{one.between_cv:.1%}",
                    one.verdict,
                    one.why,
                    f"{beside.interval_text()} ({beside.modes_text})" if beside else "–",
                ]
            )
    if not rows:
        return None
    head = [
        "pair",
        "batch",
        "PyTorch→ONNX / TensorFlow→ONNX [95% interval]",
        "R",
        "between-process spread",
        "verdict",
        "why",
        "native ratio, for comparison",
    ]
    return Table(head, rows)


def export_table(pair: PairRecord) -> Table:
    """Every export cell of a pair: exporter and versions, export time, file size,
    agreement with its own eager output and the other side's, latency against native,
    peak memory."""
    head = [
        "cell",
        "status",
        "exporter",
        "versions",
        "exported at batch",
        "dynamic batch",
        "export s",
        "file",
        "vs own eager",
        "vs other side's eager",
        "latency vs fastest native",
        # The export runs at the first call, so the second peak holds the exporter's too.
        "peak MiB (load / export and inference)",
    ]
    rows = []
    for cell in pair.export_cells():
        if not cell.ok:
            rows.append(
                [cell.label, cell.status, cell.reason or ""] + [numbers.MISSING] * (len(head) - 3)
            )
            continue
        files = cell.metrics.exports
        made = _first_export(cell)
        other = pair.evaluation.export_agreement.get(cell.cell_id)
        rows.append(
            [
                cell.label,
                cell.status,
                made.exporter if made else numbers.MISSING,
                _versions(made) if made else numbers.MISSING,
                ", ".join(str(f.batch) for f in files) or numbers.MISSING,
                numbers.MISSING if made is None else ("yes" if made.dynamic_batch else "no"),
                ", ".join(fixed(f.export_s, 1) for f in files) or numbers.MISSING,
                _size(made.file_bytes) if made else numbers.MISSING,
                _consistency_cell(_consistency(pair, cell)),
                _other_cell(other) if other is not None else numbers.MISSING,
                against_native(pair, cell),
                _memory(cell),
            ]
        )
    return Table(head, rows)


def quantised_table(pair: PairRecord) -> Table | None:
    """The quantised (dynamic int8) cells against fp32: predictions kept, accuracy where
    there are labels, latency and file size beside the fp32 export's."""
    cells = [c for c in pair.export_cells() if c.ok and c.mode in QUANTISED_MODES]
    if not cells:
        return None
    rows = []
    for cell in cells:
        found = _consistency(pair, cell)
        made = _first_export(cell)
        eager = pair.eager_cell(cell.side)
        fp32_latency = pair.evaluation.export_latency.get(cell.cell_id)
        beside = [
            f"{e.over_fp32:.3g}x at batch {b}"
            for b, e in (fp32_latency.batches if fp32_latency else {}).items()
            if e.over_fp32 is not None
        ]
        rows.append(
            [
                cell.label,
                made.quantisation if made and made.quantisation else numbers.MISSING,
                numbers.MISSING if found is None else percent(found.top1_agreement),
                numbers.MISSING if found is None else percent(found.top5_agreement),
                numbers.MISSING if found is None else sig(found.max_abs_diff_over_scale),
                _accuracy(pair, cell),
                _accuracy(pair, eager),
                ", ".join(beside) or numbers.MISSING,
                _size(made.file_bytes if made else None)
                + (
                    f" (fp32 {_size(made.unquantised_bytes)})"
                    if made and made.unquantised_bytes
                    else ""
                ),
            ]
        )
    head = [
        "cell",
        "quantisation",
        "top-1 agreement with fp32 eager",
        "top-5 sets identical",
        "max abs difference (of scale; not judged)",
        "accuracy",
        "accuracy of fp32 eager",
        "latency vs its fp32 export",
        "file",
    ]
    return Table(head, rows)

"""The export cells of a pair (parity.vocabulary.EXPORT_MODES), as the report shows them:
their table, what each says in a sentence, and the one-runtime (ONNX) comparison. The
verdict rows "Model Deployment", "Mobile & Edge" and "Interoperability" quote these."""

from __future__ import annotations

from parity.publish import numbers
from parity.publish.document import Table
from parity.publish.numbers import fixed, sig
from parity.publish.sentences import ratio_text
from parity.results.record import CellRecord, Consistency, PairRecord
from parity.vocabulary import EXPORT_MODES, RUNTIMES, SIDE_NAMES


def _consistency(pair: PairRecord, cell: CellRecord) -> Consistency | None:
    return pair.evaluation.mode_consistency.get(cell.cell_id)


def consistency_words(found: Consistency | None) -> str:
    """'matches its eager output (max abs difference 3e-06, 2e-07 of its scale, within
    1e-04)', or why there is no figure."""
    if found is None:
        return "no eager output to compare with"
    if found.error:
        return f"not compared: {found.error}"
    if found.passed is None:
        return f"max abs difference {sig(found.max_abs_diff)} from its eager output"
    verdict = "matches" if found.passed else "DIFFERS FROM"
    side = "within" if found.passed else "over"
    return (
        f"{verdict} its eager output (max abs difference {sig(found.max_abs_diff)}, "
        f"{sig(found.max_abs_diff_over_scale)} of its scale, {side} {found.rtol:g})"
    )


def native_best(pair: PairRecord, cell: CellRecord, batch: str) -> CellRecord | None:
    """The side's fastest framework mode at `batch`: what an export is measured against."""
    timed = [
        c
        for c in pair.ok_cells()
        if c.side == cell.side and c.mode not in EXPORT_MODES and c.median(batch)
    ]
    return min(timed, key=lambda c: c.median(batch)) if timed else None


def against_native(pair: PairRecord, cell: CellRecord) -> str:
    """Per batch: the export's median over its side's fastest native mode's."""
    parts = []
    for batch in cell.latency_stats:
        best = native_best(pair, cell, batch)
        if best is not None and cell.median(batch):
            parts.append(
                f"{cell.median(batch) / best.median(batch):.3g}x {best.mode} at batch {batch}"
            )
    return ", ".join(parts) or "no native latency to compare with"


def export_sentence(pair: PairRecord, cell: CellRecord) -> str:
    """One export cell: did it export, is it the same function, how fast against native."""
    name = f"{SIDE_NAMES[cell.side]} → {cell.mode} ({RUNTIMES.get(cell.mode, cell.mode)})"
    if not cell.ok:
        return f"{name}: {cell.status}: {cell.reason}"
    files = cell.metrics.exports
    made = files[0] if files else None
    how = (
        f"exported by {made.exporter} in {fixed(made.export_s, 1)} s, {_size(made.file_bytes)}"
        if made
        else "exported"
    )
    text = f"{name}: {how}; {consistency_words(_consistency(pair, cell))}"
    other = pair.evaluation.export_agreement.get(cell.cell_id)
    if other is not None and other.has_differences:
        text += f"; against the other side's eager output {sig(other.max_abs_diff)}"
    return f"{text}; latency {against_native(pair, cell)}"


def _consistency_cell(found: Consistency | None) -> str:
    if found is None or found.error:
        return numbers.MISSING if found is None else found.error
    verdict = "" if found.passed is None else ", within" if found.passed else ", OVER"
    return f"{sig(found.max_abs_diff)} ({sig(found.max_abs_diff_over_scale)}{verdict})"


def _size(file_bytes: int | None) -> str:
    return numbers.MISSING if file_bytes is None else f"{file_bytes / 2**20:.1f} MiB"


def onnx_sentences(pair: PairRecord) -> list[str]:
    """Both sides exported to ONNX, run in the same onnxruntime: PyTorch's over
    TensorFlow's latency, per batch size."""
    return [
        f"batch {batch}: PyTorch→ONNX / TensorFlow→ONNX in onnxruntime {ratio_text(batch, entry)}"
        for batch, entry in pair.evaluation.onnx_latency.items()
        if entry.torch_over_tf is not None
    ]


def export_table(pair: PairRecord) -> Table:
    head = [
        "cell",
        "status",
        "exporter",
        "exported at batch",
        "dynamic batch",
        "export s",
        "file",
        "vs own eager (of scale)",
        "vs other side's eager",
        "latency vs fastest native",
    ]
    rows = []
    for cell in pair.export_cells():
        if not cell.ok:
            rows.append([cell.label, cell.status, cell.reason or ""] + [numbers.MISSING] * 7)
            continue
        files = cell.metrics.exports
        made = files[0] if files else None
        consistency = _consistency(pair, cell)
        other = pair.evaluation.export_agreement.get(cell.cell_id)
        rows.append(
            [
                cell.label,
                cell.status,
                made.exporter if made else numbers.MISSING,
                ", ".join(str(f.batch) for f in files) or numbers.MISSING,
                numbers.MISSING if made is None else ("yes" if made.dynamic_batch else "no"),
                ", ".join(fixed(f.export_s, 1) for f in files) or numbers.MISSING,
                _size(made.file_bytes) if made else numbers.MISSING,
                _consistency_cell(consistency),
                sig(other.max_abs_diff) if other is not None else numbers.MISSING,
                against_native(pair, cell),
            ]
        )
    return Table(head, rows)

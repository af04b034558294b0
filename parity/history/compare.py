"""Lining two runs up: `flatten` names every comparable figure of a run, `compare` puts
two runs side by side key by key, `format_rows` prints that cell by cell. Standard
library only."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any, NamedTuple

from parity.results.record import Accuracy, Agreement, CellRecord, RunRecord
from parity.vocabulary import SIDES

Value = float | str | None
Run = RunRecord | Mapping[str, Any]  # a record, a runner's dict, or a `flatten` result


def as_number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def _batch_order(batch: Any) -> tuple[int, Any]:
    text = str(batch)
    return (int(text), "") if text.isdigit() else (1 << 30, text)


def _put_number(found: dict[str, Value], key: str, value: Any) -> None:
    number = as_number(value)
    if number is not None:
        found[key] = number


def _flatten_agreement(found: dict[str, Value], base: str, agreement: Any) -> None:
    if not isinstance(agreement, Agreement):
        return
    if agreement.error:
        found[f"{base}/error"] = str(agreement.error)
    for name in ("max_abs_diff", "mean_abs_diff", "min_embedding_cosine", "similarity_spearman"):
        _put_number(found, f"{base}/{name}", getattr(agreement, name))
    if agreement.passed is not None:
        found[f"{base}/passed"] = 1.0 if agreement.passed else 0.0


def _flatten_cell(found: dict[str, Value], cell: CellRecord) -> None:
    cell_id = cell.cell_id or f"{cell.side}/{cell.mode}"
    found[f"{cell_id}/status"] = str(cell.status)
    latency = cell.metrics.latency if cell.metrics else {}
    for batch in sorted(cell.latency_stats, key=_batch_order):
        stats = cell.latency_stats[batch]
        if stats is not None:
            _put_number(found, f"{cell_id}/b{batch}/median_ms", stats.median)
            _put_number(found, f"{cell_id}/b{batch}/p90_ms", stats.p90)
        entry = latency.get(batch)
        _put_number(found, f"{cell_id}/b{batch}/first_call_s", entry and entry.first_call_s)
    if cell.metrics:
        memory = cell.metrics.memory
        _put_number(found, f"{cell_id}/peak_load_mib", memory.peak_load_mib)
        _put_number(found, f"{cell_id}/peak_infer_mib", memory.peak_infer_mib)
        _put_number(found, f"{cell_id}/load_s", cell.metrics.timings.load_s)


def flatten(record: RunRecord | Mapping[str, Any]) -> dict[str, Value]:
    """One key per comparable figure of a run, in a stable order.

    Cells are keyed by their cell id (`<pair>/<side>/<mode>`, or
    `<pair>/<side>/diagnostic:<name>`):

        <cell>/status                      text: ok, failed or unavailable
        <cell>/b<batch>/median_ms          latency median (also p90_ms, first_call_s)
        <cell>/peak_infer_mib              peak resident memory (also peak_load_mib, load_s)
        <cell>/vs_eager/max_abs_diff       a compiled mode against its side's eager output
        <cell>/agreement/...               a diagnostic cell against the other side
        <pair>/status                      text
        <pair>/agreement/max_abs_diff      also mean_abs_diff, min_embedding_cosine, ...
        <pair>/agreement/passed            1.0 or 0.0 (absent when not computed)
        <pair>/agreement/error             text, when it could not be computed
        <pair>/accuracy/<side>/<mode>/spearman   (text; images: top1, top5, track_b/top1...)
        <pair>/latency/b<batch>/torch_over_tf      one process per side
        <pair>/latency/b<batch>/replicated_ratio   over R process pairs (also verdict, text)
        <pair>/divergence/first_over_atol  text: the first layer over tolerance
        <pair>/divergence/largest_max_abs_diff
    """
    record = RunRecord.coerce(record)
    found: dict[str, Value] = {}
    for pair in record.pairs:
        pair_id = pair.id or "?"
        if pair.status is not None:
            found[f"{pair_id}/status"] = str(pair.status)
        for cell in pair.cells:
            _flatten_cell(found, cell)
        evaluation = pair.evaluation
        for cell_id, consistency in evaluation.mode_consistency.items():
            if consistency is None:
                continue
            _put_number(found, f"{cell_id}/vs_eager/max_abs_diff", consistency.max_abs_diff)
            if consistency.error:
                found[f"{cell_id}/vs_eager/error"] = str(consistency.error)
        for diag in evaluation.diagnostics:
            cell_id = f"{pair_id}/{diag.side}/diagnostic:{diag.name}"
            _flatten_agreement(found, f"{cell_id}/agreement", diag.agreement)
        _flatten_agreement(found, f"{pair_id}/agreement", evaluation.agreement)
        for cell_id, accuracy in evaluation.accuracy.items():
            if not isinstance(accuracy, Accuracy):
                continue
            base = f"{pair_id}/accuracy/{cell_id.removeprefix(f'{pair_id}/')}"
            if accuracy.error:
                found[f"{base}/error"] = str(accuracy.error)
            for name in ("spearman", "top1", "top5"):
                _put_number(found, f"{base}/{name}", getattr(accuracy, name))
            if isinstance(accuracy.track_b, Mapping):
                for name in ("top1", "top5"):
                    _put_number(found, f"{base}/track_b/{name}", accuracy.track_b.get(name))
        divergence = evaluation.divergence
        if divergence is not None and divergence.layers is not None:
            first = divergence.first_over_atol
            found[f"{pair_id}/divergence/first_over_atol"] = (
                str(first.label) if first is not None else "none"
            )
            _put_number(
                found,
                f"{pair_id}/divergence/largest_max_abs_diff",
                divergence.largest.max_abs_diff if divergence.largest else None,
            )
        for batch in sorted(evaluation.latency, key=_batch_order):
            entry = evaluation.latency[batch]
            ratio = entry.torch_over_tf if entry else None
            _put_number(found, f"{pair_id}/latency/b{batch}/torch_over_tf", ratio and ratio.ratio)
            replicated = entry.replicated if entry else None
            if replicated is not None:
                base = f"{pair_id}/latency/b{batch}"
                _put_number(found, f"{base}/replicated_ratio", replicated.ratio)
                if replicated.verdict:
                    found[f"{base}/verdict"] = str(replicated.verdict)
    return found


MISSING = object()  # a key one run does not have


class Row(NamedTuple):
    key: str
    a: Value  # None: not in A
    b: Value  # None: not in B
    change: str  # "" when the value is the same on both sides

    @property
    def changed(self) -> bool:
        return bool(self.change)


def flat(run: Run) -> dict[str, Value]:
    """A record, or what `flatten` made of one (its keys all contain a slash)."""
    return flatten(run) if isinstance(run, RunRecord) or "pairs" in run else dict(run)


def _same(a: Value, b: Value) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def _is_absolute(key: str) -> bool:
    """Figures whose change is read as a difference, not a percentage."""
    return (
        key.endswith(("spearman", "cosine", "top1", "top5"))
        or "/agreement/" in key
        or "/vs_eager/" in key
    )


def format_value(key: str, value: Value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if key.endswith("/passed"):
            return "pass" if value == 1.0 else "fail"
        return f"{value:.6g}"
    return str(value)


def _change(key: str, a: Any, b: Any) -> str:
    if a is MISSING:
        return "only in B"
    if b is MISSING:
        return "only in A"
    if _same(a, b):
        return ""
    if isinstance(a, float) and isinstance(b, float):
        if key.endswith("/passed"):
            return "now passes" if b == 1.0 else "now fails"
        if math.isnan(a) or math.isnan(b) or a == 0 or _is_absolute(key):
            return f"{b - a:+.4g}"
        return f"{(b - a) / abs(a):+.1%}"
    return f"{format_value(key, a)} -> {format_value(key, b)}"


def natural(key: str) -> list[Any]:
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", key)
    ]


def compare(a: Run, b: Run) -> list[Row]:
    """Every key of either run, with its value in A and in B and the change between them.

    a and b are records (or `flatten` results). Rows come sorted, cell by cell.
    """
    flat_a, flat_b = flat(a), flat(b)
    rows = []
    for key in sorted(flat_a.keys() | flat_b.keys(), key=natural):
        va, vb = flat_a.get(key, MISSING), flat_b.get(key, MISSING)
        rows.append(
            Row(
                key,
                None if va is MISSING else va,
                None if vb is MISSING else vb,
                _change(key, va, vb),
            )
        )
    return rows


# --- text -------------------------------------------------------------------------------


def _group(key: str) -> tuple[str, str]:
    """(cell or pair, rest of the key), for printing cell by cell."""
    parts = key.split("/")
    if len(parts) >= 4 and parts[1] in SIDES:
        return "/".join(parts[:3]), "/".join(parts[3:])
    return parts[0], "/".join(parts[1:])


def format_rows(rows: list[Row], all_rows: bool = False) -> str:
    shown = [row for row in rows if all_rows or row.changed]
    if not shown:
        return "no differences" if rows else "nothing to compare: neither run has measurements"
    table = []
    for row in shown:
        group, rest = _group(row.key)
        table.append(
            (group, rest, format_value(row.key, row.a), format_value(row.key, row.b), row.change)
        )
    head = ("", "A", "B", "change")
    widths = [
        max(len(head[0]), *(len(r[1]) + 2 for r in table)),
        *(max(len(head[i]), *(len(r[i + 1]) for r in table)) for i in range(1, 4)),
    ]
    lines = [f"{head[0]:<{widths[0]}}  {head[1]:>{widths[1]}}  {head[2]:>{widths[2]}}  {head[3]}"]
    current = None
    for group, rest, va, vb, change in table:
        if group != current:
            lines.append(group)
            current = group
        label = f"  {rest}"
        lines.append(
            f"{label:<{widths[0]}}  {va:>{widths[1]}}  {vb:>{widths[2]}}  {change}".rstrip()
        )
    if not all_rows:
        lines.append(f"({len(shown)} of {len(rows)} figures differ; --all shows every one)")
    return "\n".join(lines)

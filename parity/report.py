"""Renderers over a results record. Markdown for now: a summary table per run, then
one section per pair. Every figure comes from the record; nothing is computed here
that the record does not hold, apart from formatting.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parity.files import write_atomic
from parity.worker_engines import MODE_DESCRIPTIONS

SIDE_NAMES = {"torch": "PyTorch", "tensorflow": "TensorFlow"}


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        if value != value:  # NaN
            return "NaN"
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.2e}"
        return f"{value:.{digits}f}"
    return str(value)


def _sig(value: float | None) -> str:
    """Differences and tolerances: three significant digits, whatever their size."""
    return "–" if value is None else f"{value:.3g}"


def _ms(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def _mib(value: float | None) -> str:
    return "–" if value is None else f"{value:,.0f}"


def _cells(pair: dict, diagnostic: bool = False) -> list[dict]:
    return [c for c in pair.get("cells", []) if bool(c.get("diagnostic")) == diagnostic]


def _eager(pair: dict, side: str) -> dict | None:
    return next(
        (
            c
            for c in _cells(pair)
            if c["side"] == side and c["mode"] == "eager" and c["status"] == "ok"
        ),
        None,
    )


def _agreement_summary(evaluation: dict) -> str:
    found = evaluation.get("agreement")
    if not found:
        return "not measured"
    if "error" in found:
        return f"error: {found['error']}"
    verdict = "pass" if found["passed"] else "**fail**"
    text = f"{verdict}: max abs {_sig(found['max_abs_diff'])} (atol {_sig(found['atol'])})"
    for diag in evaluation.get("diagnostics", []):
        checked = diag.get("agreement") or {}
        if "max_abs_diff" in checked:
            text += (
                f"; diagnostic {diag['name']}: {_sig(checked['max_abs_diff'])}"
                f" ({'pass' if checked['passed'] else 'fail'})"
            )
    return text


def _accuracy_of(pair: dict, side: str) -> str:
    cell = _eager(pair, side)
    if not cell:
        return "–"
    found = pair["evaluation"]["accuracy"].get(cell["cell_id"], {})
    return f"error: {found['error']}" if "error" in found else _num(found.get("spearman"), 4)


def _ratio_text(entry: dict) -> str:
    ratio = entry.get("torch_over_tf")
    if not ratio:
        return "–"
    return (
        f"{ratio['ratio']:.2f} [{ratio['ci_low']:.2f}, {ratio['ci_high']:.2f}] → {ratio['verdict']}"
    )


def _summary(record: dict) -> list[str]:
    batches = [str(b) for b in record["settings"]["latency_batches"]]
    head = ["pair", "relation", "agreement (eager vs eager)", "Spearman PyTorch", "Spearman TF"]
    for batch in batches:
        head += [
            f"b{batch} best PyTorch ms",
            f"b{batch} best TF ms",
            f"b{batch} ratio PT/TF [95% CI]",
        ]
    head += ["peak MiB PyTorch (load / infer)", "peak MiB TF (load / infer)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for pair in record["pairs"]:
        if pair.get("status") == "failed" and not pair.get("cells"):
            lines.append(
                f"| {pair['id']} | {pair['relation']} | failed: {pair.get('reason')} |"
                + " |" * (len(head) - 3)
            )
            continue
        evaluation = pair["evaluation"]
        row = [
            pair["id"],
            pair["relation"],
            _agreement_summary(evaluation),
            _accuracy_of(pair, "torch"),
            _accuracy_of(pair, "tensorflow"),
        ]
        for batch in batches:
            entry = evaluation["latency"].get(batch, {})
            for side in ("torch", "tensorflow"):
                best = entry.get(side)
                row.append(f"{_ms(best['median_ms'])} ({best['best_mode']})" if best else "–")
            row.append(_ratio_text(entry))
        for side in ("torch", "tensorflow"):
            cell = _eager(pair, side)
            memory = cell["metrics"]["memory"] if cell else {}
            row.append(
                f"{_mib(memory.get('peak_load_mib'))} / {_mib(memory.get('peak_infer_mib'))}"
                if cell
                else "–"
            )
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _cell_table(pair: dict, batches: list[str]) -> list[str]:
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
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for cell in _cells(pair):
        row = [SIDE_NAMES[cell["side"]], cell["mode"], cell["status"]]
        metrics = cell.get("metrics")
        if not metrics:
            lines.append("| " + " | ".join(row) + " |" + " – |" * (len(head) - 3))
            continue
        timings, memory = metrics["timings"], metrics["memory"]
        row += [
            _num(timings["import_s"], 1),
            _num(timings["load_s"], 2),
            _num(timings["eval_first_call_s"], 2),
        ]
        for batch in batches:
            stats = cell["latency_stats"].get(batch)
            entry = metrics["latency"].get(batch)
            if not stats:
                row += ["–"] * 6
                continue
            flag = " ⚠ unstable" if stats["unstable"] else ""
            row += [
                _num(entry["first_call_s"], 2),
                str(stats["n"]),
                _ms(stats["median"]) + flag,
                _ms(stats["iqr"]),
                _ms(stats["p90"]),
                _ms(stats["min"]),
            ]
        row += [
            _mib(memory.get("rss_after_load_mib")),
            _mib(memory.get("peak_load_mib")),
            _mib(memory.get("peak_infer_mib")),
        ]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _agreement_block(found: dict | None) -> list[str]:
    if not found:
        return ["Not measured: a side has no successful eager cell."]
    if "error" in found:
        return [f"Could not be computed: {found['error']}"]
    return [
        "| measure | value |",
        "|---|---|",
        f"| max abs difference, masked hidden states | {_sig(found['max_abs_diff'])} |",
        f"| mean abs difference | {_sig(found['mean_abs_diff'])} |",
        f"| max abs difference / largest abs value | {_sig(found['max_abs_diff_over_scale'])} |",
        f"| min cosine of mean-pooled embeddings | {found['min_embedding_cosine']:.7f} |",
        f"| Spearman of the two sides' pair similarities | {found['similarity_spearman']:.5f} |",
        f"| max difference of a pair similarity | {_sig(found['max_similarity_diff'])} |",
        f"| tolerance (atol) | {_sig(found['atol'])} → {'pass' if found['passed'] else 'fail'} |",
        f"| values compared | {found['compared_values']:,} |",
    ]


def _pair_section(pair: dict, record: dict) -> list[str]:
    batches = [str(b) for b in record["settings"]["latency_batches"]]
    lines = [f"## {pair['id']}", "", pair.get("description", ""), ""]
    lines.append(f"- PyTorch: `{pair['sides']['torch']['handle']}`")
    lines.append(f"- TensorFlow: `{pair['sides']['tensorflow']['handle']}`")
    lines.append(f"- relation: {pair['relation']}")
    if pair.get("dataset"):
        data = pair["dataset"]
        lines.append(
            f"- data: {data['name']}, {data['pairs']} sentence pairs "
            f"({data['sentences']} distinct sentences), tokenized once by "
            f"`{data['tokenizer']}` to length {data['seq_len']} "
            f"({data['truncated_sentences']} truncated); both sides get the same ids"
        )
    lines.append("")
    if not pair.get("cells"):
        return lines + [f"**Not run:** {pair.get('reason')}", ""]
    evaluation = pair["evaluation"]
    lines += ["### Agreement (same weights: PyTorch eager vs TensorFlow eager)", ""]
    lines += _agreement_block(evaluation.get("agreement")) + [""]
    if evaluation.get("mode_consistency"):
        lines += ["Compiled modes against their own side's eager output:", ""]
        for cell_id, found in evaluation["mode_consistency"].items():
            value = found.get("error") or _sig(found["max_abs_diff"])
            lines.append(f"- `{cell_id}`: max abs difference {value}")
        lines.append("")
    for diag in evaluation.get("diagnostics", []):
        lines += [
            f"### Diagnostic: {diag['name']}",
            "",
            diag["question"],
            "",
            f"{SIDE_NAMES[diag['side']]} loaded with `{diag['load_options']}`, "
            "compared with the other side's eager output:",
            "",
        ]
        lines += _agreement_block(diag.get("agreement")) + [""]
    lines += [
        "### Accuracy",
        "",
        "Spearman correlation between each cell's cosine similarities and the gold scores.",
        "",
    ]
    for cell_id, found in evaluation["accuracy"].items():
        value = found.get("error") or f"{found['spearman']:.4f} over {found['pairs']} pairs"
        lines.append(f"- `{cell_id}`: {value}")
    lines += ["", "### Latency and memory", ""]
    lines += _cell_table(pair, batches) + [""]
    for batch, entry in evaluation["latency"].items():
        if "torch_over_tf" in entry:
            lines.append(
                f"- batch {batch}: fastest PyTorch mode `{entry['torch']['best_mode']}`, fastest "
                f"TensorFlow mode `{entry['tensorflow']['best_mode']}`; ratio of medians PyTorch/"
                f"TensorFlow {_ratio_text(entry)} (bootstrap 95% interval; above 1 means "
                "TensorFlow is faster)"
            )
    lines.append("")
    modes = sorted({(c["framework"], c["mode"]) for c in _cells(pair)})
    lines += [
        "Modes: "
        + "; ".join(
            f"{SIDE_NAMES.get(fw, fw)} {m} = {MODE_DESCRIPTIONS.get((fw, m), m)}" for fw, m in modes
        ),
        "",
    ]
    model_lines = []
    for side in ("torch", "tensorflow"):
        cell = _eager(pair, side)
        if cell:
            model = cell["metrics"]["model"]
            size = (
                f", weights file {model['weights_bytes'] / 2**20:.1f} MiB"
                if model.get("weights_bytes")
                else ""
            )
            model_lines.append(
                f"- {SIDE_NAMES[side]}: {model['parameters']:,} parameters, "
                f"{model['dtype']}{size}; {cell['metrics']['versions']}"
            )
    lines += model_lines + [""]
    failures = [c for c in pair["cells"] if c["status"] != "ok"]
    if failures:
        lines += ["### Cells that did not complete", ""]
        for cell in failures:
            lines.append(f"- `{cell['cell_id']}` **{cell['status']}**: {cell.get('reason')}")
            if cell.get("stderr_tail"):
                tail = cell["stderr_tail"].strip().splitlines()[-15:]
                lines += ["  <details><summary>stderr (last lines)</summary>", "", "  ```"]
                lines += [f"  {line}" for line in tail] + ["  ```", "  </details>"]
        lines.append("")
    return lines


def render_markdown(record: dict) -> str:
    settings, machine = record["settings"], record["machine"]
    commit = record.get("commit") or {}
    lines = [
        "# Model zoo parity report",
        "",
        f"Run `{record['run_id']}`, {record['started_utc']}, {record.get('wall_s', 0):.0f} s. "
        f"Machine: {machine['cpu']}, {machine['cores_usable']} usable cores, "
        f"{machine['memory_gib']} GiB, Python {machine['python']}, no GPU used. "
        f"Commit {str(commit.get('sha'))[:10]}{' (dirty)' if commit.get('dirty') else ''}.",
        "",
        f"Each cell is one fresh process with {settings['threads']} intra-op threads and 1 "
        f"inter-op thread on both sides. Profile `{settings['profile']['name']}`: "
        f"{settings['profile']['warmup']} warm-up calls, then timed calls until at least "
        f"{settings['profile']['min_count']} calls and {settings['profile']['min_time_s']:g} s. "
        'Latency is wall time per call in ms; "⚠ unstable" marks IQR/median > 0.10. A side is '
        "called faster only when the 95% interval of the ratio excludes 1 and the ratio differs "
        "from 1 by more than 2%.",
        "",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in record["libraries"].items() if v) + ".",
        "",
        "## Summary",
        "",
        *_summary(record),
        "",
    ]
    for pair in record["pairs"]:
        lines += _pair_section(pair, record)
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(record: dict, path: str | Path) -> None:
    write_atomic(path, render_markdown(record).encode())


def publish(record: dict, out_dir: str | Path) -> list[Path]:
    """Write every rendering of a results record into out_dir; returns the paths."""
    out_dir = Path(out_dir)
    written = [out_dir / "report.md"]
    write_markdown(record, written[0])
    return written

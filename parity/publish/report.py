"""Renderers over a results record: Markdown (report.md) and HTML (index.html, in
parity.publish.html). Both draw on the table builders here, which return plain-text cells, so
the two pages always show the same figures. Nothing is measured or recomputed here
beyond formatting; verdict evidence comes from parity.publish.verdicts over the same record.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parity.evaluate import tracks
from parity.evaluate.statistics import compile_cost_s
from parity.files import write_atomic
from parity.publish.verdicts import verdict_rows
from parity.vocabulary import MODE_DESCRIPTIONS, SIDE_NAMES


@dataclass
class Table:
    head: list[str]
    rows: list[list[str]]


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


def settings_of(record: dict, pair: dict) -> dict:
    """The settings a pair ran under: its own (a suite entry's), else the run's."""
    return {**record["settings"], **(pair.get("settings") or {})}


def batches_of(record: dict, pair: dict | None = None) -> list[str]:
    """A pair's latency batch sizes; without a pair, every batch size in the run."""
    pairs = [pair] if pair is not None else record.get("pairs") or [{}]
    found = {int(b) for p in pairs for b in settings_of(record, p)["latency_batches"]}
    return [str(b) for b in sorted(found)]


def is_seeded(record: dict, pair: dict) -> bool:
    return settings_of(record, pair).get("weights") == "seeded"


def main_cells(pair: dict) -> list[dict]:
    return [c for c in pair.get("cells", []) if not c.get("diagnostic")]


def eager_cell(pair: dict, side: str) -> dict | None:
    return next(
        (
            c
            for c in main_cells(pair)
            if c["side"] == side and c["mode"] == "eager" and c["status"] == "ok"
        ),
        None,
    )


def cell_label(cell: dict) -> str:
    return f"{SIDE_NAMES.get(cell['side'], cell['side'])} {cell['mode']}"


def agreement_summary(evaluation: dict) -> str:
    found = evaluation.get("agreement")
    if not found:
        return "not measured"
    if "error" in found:
        return f"error: {found['error']}"
    if "max_abs_diff" not in found:  # independently trained: predictions only
        return (
            f"predictions: top-1 agree on {found['top1_agreement']:.0%}, "
            f"top-5 overlap {found['top5_overlap']:.0%} ({found['compared_rows']} inputs)"
        )
    verdict = "pass" if found["passed"] else "FAIL"
    text = f"{verdict}: max abs {_sig(found['max_abs_diff'])} (atol {_sig(found['atol'])})"
    for diag in evaluation.get("diagnostics", []):
        checked = diag.get("agreement") or {}
        if "max_abs_diff" in checked:
            text += (
                f"; diagnostic {diag['name']}: {_sig(checked['max_abs_diff'])}"
                f" ({'pass' if checked['passed'] else 'FAIL'})"
            )
    return text


def accuracy_text(found: dict, short: bool = False) -> str:
    """One accuracy record, whatever the task: Spearman for sentence pairs, top-k for images."""
    if "error" in found:
        if short and "seeded" in found["error"]:
            return "– (seeded weights)"
        return f"error: {found['error']}"
    if "spearman" in found:
        value = _num(found["spearman"], 4)
        return f"Spearman {value}" if short else f"Spearman {value} over {found['pairs']} pairs"
    correct = round(found["top1"] * found["images"])
    head = f"top-1 {found['top1']:.0%} ({correct}/{found['images']})"
    if short:
        return head
    track_b = found.get(tracks.TRACK_B) or {}
    if "top1" in track_b:
        head += f" (track A); track B top-1 {track_b['top1']:.0%}, top-5 {track_b['top5']:.0%}"
    elif "error" in track_b:
        head += f" (track A); track B error: {track_b['error']}"
    return (
        f"{head}; track A top-5 {found['top5']:.0%}, top-1 counting acceptable classes "
        f"{found['top1_acceptable']:.0%}; predicted classes {found['predicted']}"
    )


def tracks_table(evaluation: dict) -> Table | None:
    """Accuracy tracks A and B per side, A minus B, and PyTorch minus TensorFlow."""
    found = evaluation.get("tracks")
    if not found:
        return None
    return Table(*tracks.table_rows(found))


def _accuracy_of(pair: dict, side: str) -> str:
    cell = eager_cell(pair, side)
    if not cell:
        return "–"
    return accuracy_text(pair["evaluation"]["accuracy"].get(cell["cell_id"], {}), short=True)


def ratio_text(entry: dict) -> str:
    ratio = entry.get("torch_over_tf")
    if not ratio:
        return "–"
    return (
        f"{ratio['ratio']:.3f} [{ratio['ci_low']:.3f}, {ratio['ci_high']:.3f}] → {ratio['verdict']}"
    )


def summary_table(record: dict) -> Table:
    batches = batches_of(record)
    head = ["pair", "relation", "agreement (eager vs eager)", "accuracy PyTorch", "accuracy TF"]
    for batch in batches:
        head += [
            f"b{batch} best PyTorch ms",
            f"b{batch} best TF ms",
            f"b{batch} ratio PT/TF [95% CI]",
        ]
    head += ["peak MiB PyTorch (load / infer)", "peak MiB TF (load / infer)"]
    rows = []
    for pair in record["pairs"]:
        if not pair.get("cells"):
            rows.append(
                [pair["id"], pair["relation"], f"not run: {pair.get('reason')}"]
                + ["–"] * (len(head) - 3)
            )
            continue
        evaluation = pair["evaluation"]
        seeded = " (seeded weights)" if is_seeded(record, pair) else ""
        row = [
            pair["id"],
            pair["relation"] + seeded,
            agreement_summary(evaluation),
            _accuracy_of(pair, "torch"),
            _accuracy_of(pair, "tensorflow"),
        ]
        for batch in batches:
            entry = evaluation["latency"].get(batch, {})
            for side in ("torch", "tensorflow"):
                best = entry.get(side)
                row.append(f"{_ms(best['median_ms'])} ({best['best_mode']})" if best else "–")
            row.append(ratio_text(entry))
        for side in ("torch", "tensorflow"):
            cell = eager_cell(pair, side)
            memory = cell["metrics"]["memory"] if cell else {}
            row.append(
                f"{_mib(memory.get('peak_load_mib'))} / {_mib(memory.get('peak_infer_mib'))}"
                if cell
                else "–"
            )
        rows.append(row)
    return Table(head, rows)


def verdict_table(record: dict) -> Table:
    rows = [
        [r["row"], f"{r['claim']} ({r['source']})", r["pair"], r["evidence"]]
        for r in verdict_rows(record)
    ]
    return Table(["row", "the table's claim", "pair", "this run's evidence"], rows)


def cell_table(pair: dict, batches: list[str]) -> Table:
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
        ((c.get("metrics") or {}).get("memory") or {}).get("device_peak_infer_mib") is not None
        for c in main_cells(pair)
    )
    if on_gpu:
        head += ["GPU peak load MiB", "GPU peak infer MiB"]
    rows = []
    for cell in main_cells(pair):
        row = [SIDE_NAMES[cell["side"]], cell["mode"], cell["status"]]
        metrics = cell.get("metrics")
        if not metrics:
            rows.append(row + ["–"] * (len(head) - 3))
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
        if on_gpu:
            row += [
                _mib(memory.get("device_peak_load_mib")),
                _mib(memory.get("device_peak_infer_mib")),
            ]
        rows.append(row)
    return Table(head, rows)


def _flops_text(flops: dict | None) -> str:
    if not flops:
        return "–"
    if flops.get("per_sample") is None:
        return f"not counted: {flops.get('error', 'no count')}"
    return f"{flops['per_sample'] / 1e9:.4g}"


def compute_table(pair: dict, batches: list[str]) -> Table:
    """Per mode: FLOPs per sample; the compile cost (the very first call, at the
    evaluation batch size, minus that size's steady median: the cold trace or compile);
    and per batch the achieved GFLOP/s and its share of the machine's measured peak."""
    head = ["side", "mode", "GFLOPs per sample", "compile s (first call − median)"]
    for batch in batches:
        head += [f"b{batch} GFLOP/s", f"b{batch} % of peak"]
    rows = []
    for cell in main_cells(pair):
        metrics = cell.get("metrics")
        if not metrics:
            continue
        eval_stats = cell.get("latency_stats", {}).get(str(metrics["eval"]["batch"]))
        cost = compile_cost_s(
            metrics["timings"]["eval_first_call_s"], eval_stats and eval_stats["median"]
        )
        row = [
            SIDE_NAMES[cell["side"]],
            cell["mode"],
            _flops_text(metrics.get("flops")),
            _num(cost, 2),
        ]
        for batch in batches:
            found = (cell.get("efficiency") or {}).get(batch) or {}
            flag = f" ⚠ {found['flag']}" if found.get("flag") else ""
            row += [
                _num(found.get("gflops_per_s"), 1),
                _num(found.get("percent_of_peak"), 1) + flag,
            ]
        rows.append(row)
    return Table(head, rows)


def peak_sentence(record: dict) -> str | None:
    """The machine's measured limit that every % of peak refers to."""
    peak = record["machine"].get("gemm_peak")
    if peak is None:  # a record from before calibration existed
        return None
    if peak.get("gflops_per_s") is None:
        return f"Machine peak: not measured ({peak.get('error')}), so no % of peak is shown."
    origin = "read from the cache" if peak.get("cached") else "measured for this run"
    return (
        f"Machine peak: {peak['gflops_per_s']:.1f} GFLOP/s fp32 GEMM with "
        f"{peak.get('key', {}).get('threads', '?')} threads ({origin}; measured "
        f"{peak.get('measured_utc')}; {peak.get('method')}). Achieved GFLOP/s = FLOPs per "
        "sample x batch / median latency; % of peak is its share of this figure, and a cell "
        "above 100% is flagged as a measurement error, not a result (of the cell, or of the "
        "peak: `parity calibrate --force` measures it again)."
        + (f" Warning: {peak['warning']}." if peak.get("warning") else "")
    )


AGREEMENT_ROWS = (
    ("max_abs_diff", "max abs difference (masked hidden states, or logits)", _sig),
    ("mean_abs_diff", "mean abs difference", _sig),
    ("max_abs_diff_over_scale", "max abs difference / largest abs value", _sig),
    ("min_embedding_cosine", "min cosine of mean-pooled embeddings", lambda v: f"{v:.7f}"),
    ("min_logit_cosine", "min cosine of logit vectors", lambda v: f"{v:.7f}"),
    ("similarity_spearman", "Spearman of the two sides' pair similarities", lambda v: f"{v:.5f}"),
    ("max_similarity_diff", "max difference of a pair similarity", _sig),
    ("top1_agreement", "top-1 agreement", lambda v: f"{v:.0%}"),
    ("top5_agreement", "top-5 sets identical", lambda v: f"{v:.0%}"),
    ("top5_overlap", "top-5 overlap", lambda v: f"{v:.0%}"),
    ("compared_values", "values compared", lambda v: f"{v:,}"),
    ("compared_rows", "inputs compared", lambda v: f"{v:,}"),
    ("note", "note", str),
)


def agreement_table(found: dict) -> Table:
    rows = [[label, fmt(found[key])] for key, label, fmt in AGREEMENT_ROWS if key in found]
    if "passed" in found:
        verdict = "pass" if found["passed"] else "FAIL"
        rows.append(["tolerance (atol)", f"{_sig(found['atol'])} → {verdict}"])
    return Table(["measure", "value"], rows)


def agreement_unavailable(found: dict | None) -> str | None:
    if not found:
        return "Not measured: a side has no successful eager cell."
    if "error" in found:
        return f"Could not be computed: {found['error']}"
    return None


def latency_sentences(pair: dict) -> list[str]:
    found = [
        f"batch {batch}: fastest PyTorch mode {entry['torch']['best_mode']}, fastest TensorFlow "
        f"mode {entry['tensorflow']['best_mode']}; ratio of medians PyTorch/TensorFlow "
        f"{ratio_text(entry)} (bootstrap 95% interval; above 1 means TensorFlow is faster)"
        for batch, entry in pair["evaluation"]["latency"].items()
        if "torch_over_tf" in entry
    ]
    for cell in main_cells(pair):
        for batch, why in ((cell.get("metrics") or {}).get("latency_skipped") or {}).items():
            found.append(f"{cell_label(cell)}, batch {batch}: {why}")
    return found


def mode_sentence(pair: dict) -> str:
    modes = sorted({(c["framework"], c["mode"]) for c in main_cells(pair)})
    return "Modes: " + "; ".join(
        f"{SIDE_NAMES.get(fw, fw)} {m} = {MODE_DESCRIPTIONS.get((fw, m), m)}" for fw, m in modes
    )


def model_sentences(pair: dict) -> list[str]:
    found = []
    for side in ("torch", "tensorflow"):
        cell = eager_cell(pair, side)
        if cell:
            model = cell["metrics"]["model"]
            size = (
                f", weights file {model['weights_bytes'] / 2**20:.1f} MiB"
                if model.get("weights_bytes")
                else ""
            )
            versions = ", ".join(f"{k} {v}" for k, v in cell["metrics"]["versions"].items())
            found.append(
                f"{SIDE_NAMES[side]}: {model['parameters']:,} parameters, {model['dtype']}"
                f"{size}; {versions}"
            )
    return found


def dataset_sentence(pair: dict) -> str | None:
    data = pair.get("dataset")
    if not data:
        return None
    if "images" in data:
        recipes = "; ".join(
            f"{SIDE_NAMES[side]} preprocessing: {recipe['origin']} (resize {recipe['resize']}, "
            f"crop {recipe['size']}, {recipe['interpolation']}, {recipe['channel_order']})"
            for side, recipe in data["preprocessing"].items()
        )
        same = "identical inputs" if data["identical_inputs"] else "each side its own inputs"
        subset = data.get("subset")
        if subset:
            same += (
                f"; a seeded random subset of {subset['limit']} of {subset['of']} images "
                f"(seed {subset['seed']})"
            )
        return f"data: {data['name']}, {data['images']} images; {recipes}; {same}"
    return (
        f"data: {data['name']}, {data['pairs']} sentence pairs ({data['sentences']} distinct "
        f"sentences), tokenized once by {data['tokenizer']} to length {data['seq_len']} "
        f"({data['truncated_sentences']} truncated); both sides get the same ids"
    )


def consistency_text(found: dict) -> str:
    """A compiled mode against its own side's eager output."""
    return found.get("error") or _sig(found.get("max_abs_diff"))


def _first_text(first: dict | None, criterion: str) -> str:
    if first is None:
        return f"no layer exceeds {criterion}"
    step = (
        "at the first compared layer (its input, the shared tensor, is identical)"
        if first["previous_label"] is None
        else f"up from {_sig(first['previous_max_abs_diff'])} at {first['previous_label']}"
    )
    return (
        f"first over {criterion}: {first['label']} (PyTorch `{first['torch']}`, Keras "
        f"`{first['tensorflow']}`), max abs difference {_sig(first['max_abs_diff'])}, "
        f"relative {_sig(first['max_rel_diff'])}, {step}"
    )


def divergence_sentences(found: dict) -> list[str]:
    """Where the sides part: the first layer over each criterion, and the largest gap."""
    if "error" in found:
        return [f"Not localised: {found['error']}"]
    measured = [layer for layer in found["layers"] if "max_abs_diff" in layer]
    over = sum(layer["max_abs_diff"] > found["atol"] for layer in measured)
    lines = [
        _first_text(found["first_over_atol"], f"atol {found['atol']:g}"),
        _first_text(found["first_over_rtol"], f"relative {found['rtol']:g}"),
        f"{over} of {len(measured)} compared layers exceed atol {found['atol']:g}; the largest "
        f"difference is {_sig(found['largest']['max_abs_diff'])} at {found['largest']['label']}",
    ]
    if found.get("errors"):
        lines.append(f"{found['errors']} matched layers could not be compared (see the table)")
    return lines


def divergence_rows(found: dict, every: int | None = None) -> list[int]:
    """The curve in a few rows: every Nth layer, the step into each first-over layer, the
    largest, and the last; all rows when every is 1."""
    layers = found["layers"]
    every = every or max(1, len(layers) // 12)
    keep = set(range(0, len(layers), every)) | {len(layers) - 1}
    for key in ("first_over_atol", "first_over_rtol"):
        if found.get(key):
            index = found[key]["index"]
            keep |= {max(0, index - 1), index, min(len(layers) - 1, index + 1)}
    keep |= {i for i, layer in enumerate(layers) if layer["label"] == found["largest"]["label"]}
    return sorted(keep)


def divergence_table(found: dict, every: int | None = None) -> Table:
    rows = []
    for index in divergence_rows(found, every):
        layer = found["layers"][index]
        rows.append(
            [
                str(index),
                layer["label"],
                f"`{layer['torch']}`",
                f"`{layer['tensorflow']}`",
                "x".join(map(str, layer.get("shape", []))) or "–",
                _sig(layer.get("max_abs_diff")),
                _sig(layer.get("max_rel_diff")),
                layer.get("error", ""),
            ]
        )
    head = ["#", "layer", "PyTorch module", "Keras layer", "shape (channels last)", "max abs diff"]
    return Table(head + ["max rel diff", "note"], rows)


def published_sentences(pair: dict) -> list[str]:
    return [
        f"{SIDE_NAMES[p['side']]} {p['metric']} {p['value']:g}, as published by "
        f"{p['where']} (not measured here)"
        for p in pair.get("published", [])
    ]


def settings_sentence(record: dict, pair: dict) -> str:
    settings = settings_of(record, pair)
    weights = (
        "seeded random weights (seed "
        f"{record['settings'].get('seed', 0)}): latency, memory and agreement only, no accuracy"
        if settings.get("weights") == "seeded"
        else "pretrained weights"
    )
    profile = settings["profile"]
    profile = profile["name"] if isinstance(profile, dict) else profile
    batches = ", ".join(str(b) for b in settings["latency_batches"])
    return f"run with {weights}; profile {profile}; batch sizes {batches}"


def concurrency_note(record: dict) -> str | None:
    """With --jobs > 1 workers shared the cores: say so wherever latency is shown."""
    jobs = record["settings"].get("jobs", 1)
    if jobs <= 1:
        return None
    seen = (record.get("workers") or {}).get("max_alive")
    most = f", at most {seen} seen" if seen is not None else ""
    return (
        f"⚠ Latency measured concurrently: up to {jobs} workers ran at once (--jobs {jobs}"
        f"{most}), sharing the machine's cores. These are not solo timings; rerun with "
        "--jobs 1 before comparing sides."
    )


def device_text(record: dict) -> str:
    """Where the models ran: the CPU (GPUs hidden from both sides), or the GPU each side
    reported, with TF32 off."""
    if record["settings"].get("device", "cpu") == "cpu":
        return "models on the CPU (any GPU hidden from both sides)"
    names = sorted(
        {
            str(((c.get("metrics") or {}).get("device") or {}).get("name"))
            for p in record.get("pairs", [])
            for c in p.get("cells", [])
            if c.get("metrics")
        }
    )
    return (
        f"models on the GPU ({', '.join(names) or 'no cell reported one'}; TF32 off on both "
        "sides, timings synchronised with the device)"
    )


def run_preamble(record: dict) -> list[str]:
    """The paragraphs that say how the run was made, shared by both renderers."""
    settings, machine = record["settings"], record["machine"]
    commit = record.get("commit") or {}
    profile = settings["profile"]
    dirty = " (with uncommitted changes)" if commit.get("dirty") else ""
    found = [
        f"Run {record['run_id']}, {record['started_utc']}, {record.get('wall_s', 0):.0f} s. "
        f"Machine: {machine['cpu']}, {machine['cores_usable']} usable cores, "
        f"{machine['memory_gib']} GiB, Python {machine['python']}, {device_text(record)}. "
        f"Commit {str(commit.get('sha'))[:10]}{dirty}.",
        f"Each cell is one fresh process with {settings['threads']} intra-op threads and 1 "
        f"inter-op thread on both sides. Profile {profile['name']}: {profile['warmup']} warm-up "
        f"calls, then timed calls until at least {profile['min_count']} calls and "
        f'{profile["min_time_s"]:g} s. Latency is wall time per call in ms; "⚠ unstable" '
        "marks IQR/median > 0.10. A side is called faster only when the 95% interval of the "
        'ratio excludes 1 and the ratio differs from 1 by more than 2%. "first call s" is '
        "the very first call (it includes tracing or compiling for the first shape).",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in record["libraries"].items() if v) + ".",
    ]
    return found + [text for text in (peak_sentence(record), concurrency_note(record)) if text]


# ---- Markdown ----


def _md_table(table: Table) -> list[str]:
    def clean(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(clean(h) for h in table.head) + " |"]
    lines.append("|" + "---|" * len(table.head))
    lines += ["| " + " | ".join(clean(c) for c in row) + " |" for row in table.rows]
    return lines


def _md_divergence(found: dict) -> list[str]:
    lines = ["### Divergence: where the sides part (eager, layer by layer)", ""]
    lines += [f"- {text}" for text in divergence_sentences(found)] + [""]
    if "layers" in found:
        lines.append(
            f"Per-layer error on the first {found.get('rows', '?')} inputs (every few layers, "
            "and each side of the first layer over tolerance; the HTML report has all):"
        )
        lines += [""] + _md_table(divergence_table(found)) + [""]
    return lines


def _md_pair(pair: dict, record: dict) -> list[str]:
    lines = [f"## {pair['id']}", "", pair.get("description", ""), ""]
    lines.append(f"- PyTorch: `{pair['sides']['torch']['handle']}`")
    lines.append(f"- TensorFlow: `{pair['sides']['tensorflow']['handle']}`")
    lines.append(f"- relation: {pair['relation']}")
    lines.append(f"- {settings_sentence(record, pair)}")
    if dataset_sentence(pair):
        lines.append(f"- {dataset_sentence(pair)}")
    lines.append("")
    if not pair.get("cells"):
        return lines + [f"**Not run:** {pair.get('reason')}", ""]
    evaluation = pair["evaluation"]
    lines += [f"- {text}" for text in published_sentences(pair)]
    lines += ["", f"### Agreement ({pair['relation']}: PyTorch eager vs TensorFlow eager)", ""]
    found = evaluation.get("agreement")
    lines += (
        [agreement_unavailable(found)]
        if agreement_unavailable(found)
        else _md_table(agreement_table(found))
    )
    lines.append("")
    if evaluation.get("mode_consistency"):
        lines += ["Compiled modes against their own side's eager output:", ""]
        for cell_id, consistency in evaluation["mode_consistency"].items():
            value = consistency_text(consistency)
            lines.append(f"- `{cell_id}`: max abs difference {value}")
        lines.append("")
    if evaluation.get("divergence"):
        lines += _md_divergence(evaluation["divergence"])
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
        checked = diag.get("agreement")
        lines += (
            [agreement_unavailable(checked)]
            if agreement_unavailable(checked)
            else (_md_table(agreement_table(checked)))
        )
        lines.append("")
    lines += [
        "### Accuracy",
        "",
    ]
    if tracks_table(evaluation):
        lines += [tracks.sentence(evaluation["tracks"]), ""]
        lines += _md_table(tracks_table(evaluation)) + [""]
        if tracks.agreement_b_text(evaluation["tracks"].get("agreement_b")):
            lines += [tracks.agreement_b_text(evaluation["tracks"]["agreement_b"]), ""]
    for cell_id, accuracy in evaluation["accuracy"].items():
        lines.append(f"- `{cell_id}`: {accuracy_text(accuracy)}")
    lines += ["", "### Latency and memory", ""]
    if note := concurrency_note(record):
        lines += [note, ""]
    lines += _md_table(cell_table(pair, batches_of(record, pair))) + [""]
    lines += _md_table(compute_table(pair, batches_of(record, pair))) + [""]
    lines += [f"- {s}" for s in latency_sentences(pair)] + ["", mode_sentence(pair), ""]
    lines += [f"- {s}" for s in model_sentences(pair)] + [""]
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
    lines = ["# Model zoo parity report", ""]
    for paragraph in run_preamble(record):
        lines += [paragraph, ""]
    lines += ["## Summary", "", *_md_table(summary_table(record)), ""]
    lines += [
        "## The comparison tables' claims, measured",
        "",
        *_md_table(verdict_table(record)),
        "",
    ]
    for pair in record["pairs"]:
        lines += _md_pair(pair, record)
    return "\n".join(lines).rstrip() + "\n"


def write_markdown(record: dict, path: str | Path) -> None:
    write_atomic(path, render_markdown(record).encode())


def publish(record: dict, out_dir: str | Path) -> list[Path]:
    """Write every rendering of a results record into out_dir; returns the paths."""
    from parity.publish import html  # the HTML renderer builds on the tables above

    out_dir = Path(out_dir)
    written = [out_dir / "report.md", out_dir / "index.html"]
    write_markdown(record, written[0])
    write_atomic(written[1], html.render_html(record).encode())
    return written

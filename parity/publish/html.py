"""index.html: one self-contained page (inline CSS and SVG, no scripts, nothing fetched)
that shows every figure of a results record: the tables of report.md, plots, the full
statistics of every timed loop, memory and timings per cell, and the raw samples.
"""

from __future__ import annotations

from html import escape

from parity.evaluate.tracks import agreement_b_text
from parity.evaluate.tracks import sentence as tracks_sentence
from parity.publish import plots
from parity.publish.report import (
    SIDE_NAMES,
    Table,
    accuracy_text,
    agreement_table,
    agreement_unavailable,
    batches_of,
    cell_label,
    cell_table,
    compute_table,
    consistency_text,
    dataset_sentence,
    divergence_sentences,
    divergence_table,
    latency_sentences,
    main_cells,
    mode_sentence,
    model_sentences,
    published_sentences,
    run_preamble,
    settings_sentence,
    summary_table,
    tracks_table,
    verdict_table,
)

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px;
       padding: 0 1rem; color: #1b1b1b; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.85rem; display: block;
        overflow-x: auto; }
th, td { border: 1px solid #d5d5d5; padding: 0.25rem 0.5rem; text-align: left;
         vertical-align: top; }
th { background: #f3f3f3; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.plot { width: 100%; max-width: 760px; display: block; margin: 0.8rem 0; }
.fail { color: #b00020; font-weight: 600; } .pass { color: #1b7f3b; font-weight: 600; }
pre { background: #f6f6f6; padding: 0.6rem; overflow-x: auto; font-size: 0.8rem; }
details { margin: 0.4rem 0; } summary { cursor: pointer; }
.samples { font-family: ui-monospace, monospace; font-size: 0.75rem; word-break: break-all; }
"""


def _cell_html(text: str) -> str:
    safe = escape(text)
    for word, css in (("FAIL", "fail"), ("pass", "pass")):
        if safe.startswith(word):
            safe = f'<span class="{css}">{word}</span>{safe[len(word) :]}'
    return safe


def _table(table: Table) -> str:
    def cell(value: str) -> str:
        numeric = value.replace(",", "").replace(".", "", 1).lstrip("-").isdigit()
        return (
            f'<td class="num">{escape(value)}</td>' if numeric else f"<td>{_cell_html(value)}</td>"
        )

    head = "".join(f"<th>{escape(h)}</th>" for h in table.head)
    rows = "".join("<tr>" + "".join(cell(v) for v in row) + "</tr>" for row in table.rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def _list(items: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>" if items else ""


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _stats_table(pair: dict) -> Table:
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
    for cell in main_cells(pair):
        for batch, stats in cell.get("latency_stats", {}).items():
            entry = cell["metrics"]["latency"][batch]
            rows.append(
                [cell_label(cell), batch, str(stats["n"])]
                + [_fmt(stats[k]) for k in ("median", "iqr", "min", "mean", "std", "p90", "p99")]
                + [
                    "yes" if stats["unstable"] else "no",
                    _fmt(entry["first_call_s"]),
                    str(entry["warmup_calls"]),
                    entry["stopped"],
                    f"{int(batch) / stats['median'] * 1000:.1f}",
                ]
            )
    return Table(head, rows)


def _details_table(pair: dict) -> Table:
    """Every other per-cell figure: memory, timings, threads, model, where it came from."""
    head = ["cell", "memory (MiB)", "timings (s)", "threads", "model", "location"]
    rows = []
    for cell in pair.get("cells", []):
        metrics = cell.get("metrics") or {}
        label = cell["cell_id"].split("/", 1)[1]

        def pairs(d: dict) -> str:
            return "; ".join(f"{k} {_fmt(v)}" for k, v in d.items() if not isinstance(v, dict))

        threads = metrics.get("threads", {})
        rows.append(
            [
                label,
                pairs(metrics.get("memory", {})),
                pairs(metrics.get("timings", {}))
                + (f"; worker wall {cell['wall_s']:.1f}" if "wall_s" in cell else ""),
                pairs(threads) + "; env " + pairs(threads.get("env", {})) if threads else "–",
                pairs(metrics.get("model", {}))
                + "; "
                + pairs(metrics.get("model", {}).get("details", {}))
                if metrics
                else "–",
                "{}: {}".format(
                    cell["location"]["availability"],
                    cell["location"].get("path") or cell["location"].get("hub_id"),
                ),
            ]
        )
    return Table(head, rows)


def _plots(pair: dict, record: dict) -> str:
    cells = [c for c in main_cells(pair) if c["status"] == "ok"]
    parts = []
    for batch in batches_of(record, pair):
        rows = [
            (cell_label(c), c["metrics"]["latency"][batch]["samples_ms"])
            for c in cells
            if batch in c["metrics"]["latency"]
        ]
        parts.append(
            plots.distribution(
                rows, f"{pair['id']}: latency per call, batch {batch}", "ms per call"
            )
        )
    throughput = {
        cell_label(c): [
            (int(b), int(b) / s["median"] * 1000) for b, s in c["latency_stats"].items()
        ]
        for c in cells
    }
    parts.append(
        plots.lines(
            throughput,
            f"{pair['id']}: throughput (from median latency)",
            "batch size",
            "samples / s",
        )
    )
    memory_keys = (
        ("rss_after_import_mib", "RSS after import"),
        ("peak_load_mib", "peak during load"),
        ("peak_infer_mib", "peak during inference"),
    )
    parts.append(
        plots.bars(
            [cell_label(c) for c in cells],
            {name: [c["metrics"]["memory"].get(key) for c in cells] for key, name in memory_keys},
            f"{pair['id']}: resident memory per worker",
            "MiB",
        )
    )
    return "".join(p for p in parts if p)


def _agreement(found: dict | None) -> str:
    missing = agreement_unavailable(found)
    return f"<p>{escape(missing)}</p>" if missing else _table(agreement_table(found))


def _divergence(pair: dict, found: dict) -> str:
    out = [
        "<h3>Divergence: where the sides part (eager, layer by layer)</h3>",
        _list(divergence_sentences(found)),
    ]
    if "layers" not in found:
        return "".join(out)
    labels = [layer["label"] for layer in found["layers"]]
    out.append(
        plots.log_curve(
            {
                "max abs diff": [layer.get("max_abs_diff") for layer in found["layers"]],
                "max rel diff": [layer.get("max_rel_diff") for layer in found["layers"]],
            },
            labels,
            f"{pair['id']}: PyTorch vs TensorFlow per layer (dashed: atol {found['atol']:g})",
            "difference (log scale)",
            threshold=found["atol"],
        )
    )
    out.append("<p>Exact zeros are drawn on the bottom line; hover a point for its value.</p>")
    out.append(
        f"<details><summary>All {len(labels)} matched layers, on the first "
        f"{found.get('rows', '?')} inputs</summary>{_table(divergence_table(found, every=1))}"
        "</details>"
    )
    return "".join(out)


def _pair(pair: dict, record: dict) -> str:
    out = [
        f'<h2 id="{escape(pair["id"])}">{escape(pair["id"])}</h2>',
        f"<p>{escape(pair.get('description', ''))}</p>",
    ]
    facts = [
        f"PyTorch: {pair['sides']['torch']['handle']}",
        f"TensorFlow: {pair['sides']['tensorflow']['handle']}",
        f"relation: {pair['relation']}",
        settings_sentence(record, pair),
    ]
    if dataset_sentence(pair):
        facts.append(dataset_sentence(pair))
    out.append(_list(facts))
    if not pair.get("cells"):
        out.append(f"<p class='fail'>Not run: {escape(str(pair.get('reason')))}</p>")
        return "".join(out)
    evaluation = pair["evaluation"]
    out.append(_list(published_sentences(pair)))
    out += [
        f"<h3>Agreement ({escape(pair['relation'])}: PyTorch eager vs TensorFlow eager)</h3>",
        _agreement(evaluation.get("agreement")),
    ]
    if evaluation.get("mode_consistency"):
        out.append("<p>Compiled modes against their own side's eager output:</p>")
        out.append(
            _list(
                [
                    f"{cid}: max abs difference " + consistency_text(found)
                    for cid, found in evaluation["mode_consistency"].items()
                ]
            )
        )
    if evaluation.get("divergence"):
        out.append(_divergence(pair, evaluation["divergence"]))
    for diag in evaluation.get("diagnostics", []):
        out += [
            f"<h3>Diagnostic: {escape(diag['name'])}</h3>",
            f"<p>{escape(diag['question'])}</p>",
            f"<p>{SIDE_NAMES[diag['side']]} loaded with <code>{escape(str(diag['load_options']))}"
            "</code>, compared with the other side's eager output:</p>",
            _agreement(diag.get("agreement")),
        ]
    out.append("<h3>Accuracy</h3>")
    if tracks_table(evaluation):
        out += [
            f"<p>{escape(tracks_sentence(evaluation['tracks']))}</p>",
            _table(tracks_table(evaluation)),
            f"<p>{escape(agreement_b_text(evaluation['tracks'].get('agreement_b')) or '')}</p>",
        ]
    out += [
        _list([f"{cid}: {accuracy_text(found)}" for cid, found in evaluation["accuracy"].items()]),
    ]
    out += [
        "<h3>Latency, throughput and memory</h3>",
        _plots(pair, record),
        _list(latency_sentences(pair)),
        _table(cell_table(pair, batches_of(record, pair))),
        _table(compute_table(pair, batches_of(record, pair))),
        f"<p>{escape(mode_sentence(pair))}</p>",
        _list(model_sentences(pair)),
        "<h4>Every timed loop</h4>",
        _table(_stats_table(pair)),
        "<h4>Every cell: memory, timings, threads, model, location</h4>",
        _table(_details_table(pair)),
    ]
    failures = [c for c in pair["cells"] if c["status"] != "ok"]
    if failures:
        out.append("<h3>Cells that did not complete</h3>")
        for cell in failures:
            out.append(
                f"<p><b>{escape(cell['cell_id'])}</b> <span class='fail'>"
                f"{escape(cell['status'])}</span>: {escape(str(cell.get('reason')))}</p>"
            )
            if cell.get("stderr_tail"):
                out.append(
                    "<details><summary>stderr (last lines)</summary><pre>"
                    f"{escape(cell['stderr_tail'])}</pre></details>"
                )
    out.append("<h4>Raw latency samples (ms)</h4>")
    for cell in main_cells(pair):
        for batch, entry in (cell.get("metrics") or {}).get("latency", {}).items():
            values = ", ".join(f"{v:.4f}" for v in entry["samples_ms"])
            out.append(
                f"<details><summary>{escape(cell_label(cell))}, batch {batch}: "
                f"{len(entry['samples_ms'])} samples</summary>"
                f"<p class='samples'>{values}</p></details>"
            )
    return "".join(out)


def render_html(record: dict) -> str:
    settings = "; ".join(f"{k} {v}" for k, v in record["settings"].items())
    machine = "; ".join(f"{k} {v}" for k, v in record["machine"].items() if not isinstance(v, dict))
    body = ["<h1>Model zoo parity report</h1>"]
    body += [f"<p>{escape(p)}</p>" for p in run_preamble(record)]
    body += [
        f"<p>Settings: {escape(settings)}</p>",
        f"<p>Machine: {escape(machine)}</p>",
        "<h2>Summary</h2>",
        _table(summary_table(record)),
        "<h2>The comparison tables' claims, measured</h2>",
        _table(verdict_table(record)),
    ]
    body += [_pair(pair, record) for pair in record["pairs"]]
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Model zoo parity report {escape(record['run_id'])}</title>"
        f"<style>{STYLE}</style></head><body>{''.join(body)}</body></html>\n"
    )

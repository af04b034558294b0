"""The report, built once from a results record as a Document (parity.publish.document);
parity.publish.markdown and parity.publish.html render it. A new section goes here, once."""

from __future__ import annotations

from parity.publish import exports, generation, plots
from parity.publish.document import (
    Alert,
    Block,
    Bullets,
    Code,
    Details,
    Document,
    Paragraph,
    Plot,
    Preformatted,
    Section,
    TableBlock,
    Text,
    plain,
)
from parity.publish.headline import LATENCY, Headline, headlines
from parity.publish.sentences import (
    accuracy_text,
    agreement_unavailable,
    concurrency_note,
    consistency_text,
    dataset_sentence,
    diagnosed_cause,
    divergence_sentences,
    greedy_sentences,
    latency_sentences,
    load_warning,
    machine_identity,
    machine_line,
    mode_sentence,
    model_sentences,
    published_sentences,
    run_preamble,
    settings_line,
    settings_sentence,
    tracks_sentences,
)
from parity.publish.tables import (
    agreement_table,
    answer_table,
    cell_table,
    claim_table,
    compute_table,
    details_table,
    divergence_table,
    stats_table,
    summary_table,
    tracks_table,
)
from parity.publish.verdicts import claim_evidence
from parity.results.record import Agreement, Divergence, PairRecord, RunRecord
from parity.vocabulary import SIDE_NAMES, SIDES

TITLE = "Model zoo parity report"
STDERR_LINES = 15  # the Markdown report shows a failed cell's last stderr lines


def build(record: RunRecord) -> Document:
    sections = [
        Section(
            TITLE, 1, [Paragraph(plain(f"Run {record.run_id} on {machine_identity(record)}."))]
        ),
        answer_section(record),
        Section(
            "How this run was made",
            2,
            [Paragraph(plain(text)) for text in run_preamble(record)]
            + [
                Paragraph(plain(f"Settings: {settings_line(record)}"), only="html"),
                Paragraph(plain(f"Machine: {machine_line(record)}"), only="html"),
            ],
        ),
        Section("Summary", 2, [TableBlock(summary_table(record))]),
        *claim_sections(record),
    ]
    for pair in record.pairs:
        sections += pair_sections(record, pair)
    return Document(TITLE, sections, f"{TITLE} {record.run_id}")


ANSWER_TITLE = "PyTorch or TensorFlow: which is faster on this machine"
CLAIMS_TITLE = "The comparison tables' claims, measured"


def _forest_point(pair: PairRecord, one: Headline) -> plots.ForestPoint:
    basis = f"R={one.replicates}" if one.replicated else "one process"
    return plots.ForestPoint(
        label=f"{pair.id} b{one.batch_text} ({one.modes.get('torch', '?')}/"
        f"{one.modes.get('tensorflow', '?')})",
        ratio=one.ratio,
        low=one.low,
        high=one.high,
        status=one.status,
        detail=f"{pair.id}, batch {one.batch_text}, {one.modes_text}: {one.interval_text()} "
        f"({basis}) → {one.verdict}: {one.why}",
    )


def answer_section(record: RunRecord) -> Section:
    """The question the report answers, first: every pair and batch size's headline
    comparison, as a forest plot (HTML) and a table, on the machine that measured it."""
    machine = machine_identity(record)
    found = [(pair, one) for pair in record.pairs for one in headlines(pair)]
    # The same-runtime (ONNX) comparisons, beside the native ones on the plot.
    found += [(pair, one) for pair in record.pairs for one in exports.onnx_headlines(pair)]
    blocks: list[Block] = []
    if warning := load_warning(record):
        blocks.append(Paragraph((Alert("Machine busy before the run:"), f" {warning}")))
    blocks.append(
        Paragraph(
            plain(
                f"Measured on {machine}. Each row is PyTorch's latency over TensorFlow's at "
                "each side's fastest mode (above 1: TensorFlow is faster), with its 95% "
                "interval over R fresh process pairs; a side is called faster only when that "
                "interval lies wholly outside the tie band (within 2% of 1). These verdicts "
                "hold for this machine: another CPU, vector extensions or thread count can "
                "reverse them."
            )
        )
    )
    if any(one.measure != LATENCY for _, one in found):
        blocks.append(Paragraph(plain(generation.ANSWER_NOTE)))
    if found:
        title = "PyTorch/TensorFlow latency ratio per pair and batch size"
        svg = plots.forest(
            [_forest_point(pair, one) for pair, one in found],
            title,
            machine,
            found[0][1].tie_margin,
        )
        blocks += [Plot(svg, title), TableBlock(answer_table(record))]
        blocks += same_runtime_blocks(record)
    else:
        blocks.append(Paragraph(plain("No pair was timed on both sides.")))
    if not any(one.replicated for _, one in found) and found:
        blocks.append(
            Paragraph(
                plain(
                    "This run did not replicate its comparisons: each ratio comes from one "
                    "process per side, whose interval describes that process's samples only "
                    "(reruns moved 3-7% while such intervals were 2% wide), so no side is "
                    "called faster. Rerun with this version of parity for verdicts."
                )
            )
        )
    if lines := record.budget_lines:
        blocks += [
            Paragraph(plain(f"Time budget: {lines[0]}")),
            _bullets([line.strip() for line in lines[1:]]),
        ]
    return Section(ANSWER_TITLE, 2, blocks)


def same_runtime_blocks(record: RunRecord) -> list[Block]:
    """The same-runtime (onnxruntime) headline of every pair that exported both sides to
    ONNX, with its interval, beside the native one."""
    table = exports.same_runtime_table(record)
    if table is None:
        return []
    return [
        Paragraph(plain(f"{exports.SAME_RUNTIME_TITLE}. {exports.SAME_RUNTIME_TEXT}")),
        TableBlock(table),
    ]


def claim_sections(record: RunRecord) -> list[Section]:
    """Each claim of the comparison tables once, with the evidence per pair under it."""
    found = [
        Section(
            CLAIMS_TITLE,
            2,
            [
                Paragraph(
                    plain(
                        f"Measured on {machine_identity(record)}. Each claim is quoted from "
                        "its table; under it, what this run measured, pair by pair."
                    )
                )
            ],
        )
    ]
    for claim, evidence in claim_evidence(record):
        found.append(
            Section(
                claim.row,
                3,
                [
                    Paragraph(plain(f"The claim ({claim.source}): {claim.text()}")),
                    TableBlock(claim_table(evidence)),
                ],
            )
        )
    return found


def _bullets(texts: list[str]) -> Bullets:
    return Bullets([plain(text) for text in texts])


def _agreement(found: Agreement | None) -> Block:
    missing = agreement_unavailable(found)
    return Paragraph(plain(missing)) if missing else TableBlock(agreement_table(found))


def pair_sections(record: RunRecord, pair: PairRecord) -> list[Section]:
    facts: list[Text] = [(f"{SIDE_NAMES[side]}: ", Code(pair.handle(side))) for side in SIDES]
    facts += [plain(f"relation: {pair.relation}"), plain(settings_sentence(record, pair))]
    if data := dataset_sentence(pair):
        facts.append(plain(data))
    head = Section(pair.id, 2, [Paragraph(plain(pair.description)), Bullets(facts)], pair.id)
    if not pair.was_run:
        head.blocks.append(Paragraph((Alert("Not run:"), f" {pair.reason}")))
        return [head]
    head.blocks.append(_bullets(published_sentences(pair)))
    evaluation = pair.evaluation
    found = [
        Section(
            f"Agreement ({pair.relation}: PyTorch eager vs TensorFlow eager)",
            3,
            [_agreement(evaluation.agreement)],
        )
    ]
    if cause := diagnosed_cause(evaluation):
        found[-1].blocks.append(_bullets(cause))
    if evaluation.agreement and (greedy := greedy_sentences(evaluation.agreement)):
        found[-1].blocks.append(_bullets(greedy))
    if evaluation.mode_consistency:
        found[-1].blocks += [
            Paragraph(plain("Compiled and exported modes against their own side's eager output:")),
            Bullets(
                [
                    (Code(cell_id), f": max abs difference {consistency_text(consistency)}")
                    for cell_id, consistency in evaluation.mode_consistency.items()
                ]
            ),
        ]
    if speed := generation.generation_section(pair, record.settings_for(pair).seeded):
        found.append(speed)
    if pair.export_cells():
        found.append(export_section(pair))
    if evaluation.divergence:
        found.append(divergence_section(pair, evaluation.divergence))
    for diag in evaluation.diagnostics:
        found.append(
            Section(
                f"Diagnostic: {diag.name}",
                3,
                [
                    Paragraph(plain(diag.question)),
                    Paragraph(
                        (
                            f"{SIDE_NAMES[diag.side]} loaded with ",
                            Code(str(diag.load_options)),
                            ", compared with the other side's eager output:",
                        )
                    ),
                    _agreement(diag.agreement),
                ],
            )
        )
    found.append(accuracy_section(pair))
    found += latency_sections(record, pair)
    if failures := pair.failed_cells():
        blocks: list[Block] = []
        for cell in failures:
            blocks.append(
                Paragraph((Code(cell.cell_id), " ", Alert(cell.status), f": {cell.reason}"))
            )
            if cell.stderr_tail:
                blocks.append(
                    Details(
                        "stderr (last lines)",
                        [Preformatted(cell.stderr_tail, last_lines=STDERR_LINES)],
                    )
                )
        found.append(Section("Cells that did not complete", 3, blocks))
    return [head, *found]


def export_section(pair: PairRecord) -> Section:
    """The export cells: exported or not, the same function or not, and how fast."""
    blocks: list[Block] = [
        Paragraph(
            plain(
                "Each side exported and run in another runtime, in its own worker like every "
                "cell; a file with a dynamic batch axis serves every batch size (else it is "
                "exported again at each). Agreement is with the side's own eager output, "
                "scaled to that output's largest magnitude; latency is against the side's "
                "fastest framework mode."
            )
        ),
        TableBlock(exports.export_table(pair)),
    ]
    if quantised := exports.quantised_table(pair):
        blocks += [
            Paragraph(
                plain(
                    "Quantised variants (dynamic int8) against float32: judged by how many "
                    "top-1 predictions they keep (a text encoder's: each sentence's nearest "
                    "neighbour among the others), not by the size of the difference; "
                    "latency beside the float32 export in the same runtime."
                )
            ),
            TableBlock(quantised),
        ]
    if onnx := exports.onnx_sentences(pair):
        blocks.append(_bullets(onnx))
    return Section("Exported models (ONNX, LiteRT)", 3, blocks)


def divergence_section(pair: PairRecord, found: Divergence) -> Section:
    section = Section(
        "Divergence: where the sides part (eager, layer by layer)",
        3,
        [_bullets(divergence_sentences(found))],
    )
    if found.layers is None:
        return section
    labels = [layer.label for layer in found.layers]
    title = f"{pair.id}: PyTorch vs TensorFlow per layer (dashed: atol {found.atol:g})"
    rows = found.rows if found.rows is not None else "?"
    section.blocks += [
        Paragraph(
            plain(
                f"Per-layer error on the first {rows} inputs (every few layers, and each side "
                "of the first layer over tolerance; the HTML report has all):"
            ),
            only="markdown",
        ),
        TableBlock(divergence_table(found), only="markdown"),
        Plot(
            plots.log_curve(
                {
                    "max abs diff": [layer.max_abs_diff for layer in found.layers],
                    "max rel diff": [layer.max_rel_diff for layer in found.layers],
                },
                labels,
                title,
                "difference (log scale)",
                threshold=found.atol,
            ),
            title,
        ),
        Paragraph(
            plain("Exact zeros are drawn on the bottom line; hover a point for its value."),
            only="html",
        ),
        Details(
            f"All {len(labels)} matched layers, on the first {rows} inputs",
            [TableBlock(divergence_table(found, every=1))],
            only="html",
        ),
    ]
    return section


def accuracy_section(pair: PairRecord) -> Section:
    evaluation = pair.evaluation
    blocks: list[Block] = []
    if table := tracks_table(evaluation):
        sentence, *agreement_b = tracks_sentences(evaluation)
        blocks += [Paragraph(plain(sentence)), TableBlock(table)]
        blocks += [Paragraph(plain(text)) for text in agreement_b]
    blocks.append(
        Bullets(
            [
                (Code(cell_id), f": {accuracy_text(accuracy)}")
                for cell_id, accuracy in evaluation.accuracy.items()
            ]
        )
    )
    return Section("Accuracy", 3, blocks)


def _plots(record: RunRecord, pair: PairRecord) -> list[Plot]:
    cells = pair.ok_cells()
    found = []
    for batch in record.batches(pair):
        title = f"{pair.id}: latency per call, batch {batch}"
        rows = [
            (c.label, c.metrics.latency[batch].samples_ms)
            for c in cells
            if batch in c.metrics.latency
        ]
        found.append(Plot(plots.distribution(rows, title, "ms per call"), title))
    title = f"{pair.id}: throughput (from median latency)"
    throughput = {
        c.label: [(int(b), int(b) / s.median * 1000) for b, s in c.latency_stats.items()]
        for c in cells
    }
    found.append(Plot(plots.lines(throughput, title, "batch size", "samples / s"), title))
    title = f"{pair.id}: resident memory per worker"
    memory_figures = (
        ("rss_after_import_mib", "RSS after import"),
        ("peak_load_mib", "peak during load"),
        ("peak_infer_mib", "peak during inference"),
    )
    found.append(
        Plot(
            plots.bars(
                [c.label for c in cells],
                {
                    name: [getattr(c.metrics.memory, key) for c in cells]
                    for key, name in memory_figures
                },
                title,
                "MiB",
            ),
            title,
        )
    )
    return [plot for plot in found if plot.svg]


def latency_sections(record: RunRecord, pair: PairRecord) -> list[Section]:
    batches = record.batches(pair)
    blocks: list[Block] = []
    if note := concurrency_note(record):
        blocks.append(Paragraph(plain(note)))
    blocks += _plots(record, pair)
    blocks += [
        _bullets(latency_sentences(pair)),
        TableBlock(cell_table(pair, batches)),
        TableBlock(compute_table(pair, batches)),
        Paragraph(plain(mode_sentence(pair))),
        _bullets(model_sentences(pair)),
    ]
    samples: list[Block] = []
    for cell in pair.main_cells():
        for batch, entry in (cell.metrics.latency if cell.metrics else {}).items():
            values = ", ".join(f"{v:.4f}" for v in entry.samples_ms)
            samples.append(
                Details(
                    f"{cell.label}, batch {batch}: {len(entry.samples_ms)} samples",
                    [Paragraph(plain(values), samples=True)],
                    only="html",
                )
            )
    return [
        Section("Latency, throughput and memory", 3, blocks),
        Section("Every timed loop", 4, [TableBlock(stats_table(pair), only="html")]),
        Section(
            "Every cell: memory, timings, threads, model, location",
            4,
            [TableBlock(details_table(pair), only="html")],
        ),
        Section("Raw latency samples (ms)", 4, samples),
    ]

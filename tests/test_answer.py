"""The report's first screen answers the question: a forest plot and table of every pair and
batch size's headline comparison, naming the machine; synthetic records in the runner's
replicated format (tests/plugins/synthetic_runs.py)."""

from __future__ import annotations

import re

from synthetic_runs import GOLDEN, synthetic_run

from parity.publish import sections
from parity.publish.html import render_html
from parity.publish.markdown import render_markdown
from parity.results import store
from parity.results.record import RunRecord

MACHINE = "AMD EPYC (avx2, avx512f, fma), 2 threads, calibrated peak 473 GFLOP/s fp32 GEMM"
BUDGET = [
    "budget 15.0 min at a peak of 73 GFLOP/s: estimated 14.6 min, 30 cells, 9 comparisons",
    "  dropped: torchscript cells (saves 200 s; TorchScript is not shown)",
]


def _run(**options) -> dict:
    return synthetic_run(3, contended_pairs=("vit_b_16",), **options)


def test_html_opens_with_the_forest_plot_of_every_comparison():
    record = _run()
    page = render_html(record)
    headings = re.findall(r"<h2[^>]*>([^<]*)</h2>", page)
    assert headings[0] == sections.ANSWER_TITLE
    first = page.split("<h2")[1]  # the answer section, before any other part
    forest = first[first.index("<svg") : first.index("</svg>")]
    assert "<script" not in page
    assert MACHINE in forest  # the plot names its machine
    assert "tie band: within 2% of 1" in forest  # the shaded band
    for pair in record["pairs"]:
        for batch, latency in pair["evaluation"]["latency"].items():
            modes = latency["replicated"]["modes"]
            assert f"{pair['id']} b{batch} ({modes['torch']}/{modes['tensorflow']})" in forest
    # Contended points are crosses in red; inconclusive ones hollow circles.
    assert forest.count('stroke="#b00020"') == 1 + 1  # vit_b_16's point, and the legend's
    statuses = [
        latency["replicated"]["status"]
        for pair in record["pairs"]
        for latency in pair["evaluation"]["latency"].values()
    ]
    assert forest.count('fill="#fff" stroke="#555"') == statuses.count("inconclusive") + 1


def test_markdown_gives_the_same_as_a_table_with_r_spread_and_why():
    record = _run()
    text = render_markdown(record)
    answer = text.split(f"## {sections.ANSWER_TITLE}")[1].split("\n## ")[0]
    assert MACHINE in answer
    assert (
        "| pair | batch | modes | PyTorch/TensorFlow [95% interval] | R | between-process "
        "spread | verdict | why |" in answer
    )
    vit = next(line for line in answer.splitlines() if line.startswith("| vit_b_16 | 1 |"))
    assert "| no verdict | machine busy: rerun on an idle machine" in vit
    lite = record["pairs"][1]["evaluation"]["latency"]["1"]["replicated"]
    row = next(line for line in answer.splitlines() if line.startswith("| efficientnet-lite0 | 1"))
    assert f"{lite['ratio']:.3f} [{lite['ci_low']:.3f}, {lite['ci_high']:.3f}]" in row
    assert f"| 5 | {lite['between_cv']:.1%} | {lite['verdict']} |" in row


def test_budget_lines_and_the_load_warning_are_shown():
    warning = "other processes used 40% of the 2 usable cores over 0.5 s"
    text = render_markdown(_run(budget_lines=BUDGET, load_warning=warning))
    answer = text.split(f"## {sections.ANSWER_TITLE}")[1].split("\n## ")[0]
    assert f"**Machine busy before the run:** {warning}" in answer
    assert f"Time budget: {BUDGET[0]}" in answer
    assert "- dropped: torchscript cells (saves 200 s; TorchScript is not shown)" in answer
    assert "Time budget" not in render_markdown(_run())


def test_claims_are_stated_once_and_name_the_machine():
    text = render_markdown(_run())
    claims = text.split("## The comparison tables' claims, measured")[1].split("\n## ")[0]
    assert f"Measured on {MACHINE}" in claims
    assert claims.count("Tie: Both high-performance") == 1
    performance = claims.split("### Performance\n")[1].split("\n### ")[0]
    assert performance.count("| efficientnet-lite0 |") == 1
    assert "over 5 process pairs, between-process spread" in performance


def test_an_older_record_says_plainly_it_was_not_replicated():
    record = store.load_dict(GOLDEN)
    text = render_markdown(record)
    answer = text.split(f"## {sections.ANSWER_TITLE}")[1].split("\n## ")[0]
    assert "This run did not replicate its comparisons" in answer
    assert "faster |" not in answer  # no verdict column says faster
    assert answer.count("| 1 (not replicated) | – | no verdict |") == sum(
        len(p["evaluation"]["latency"]) for p in record["pairs"]
    )
    assert "vector extensions not recorded" in answer
    summary = text.split("## Summary")[1].split("\n## ")[0]
    assert "→ no verdict (one process)" in summary and "TensorFlow faster" not in summary
    # Typed, the same record gives the same document.
    assert render_markdown(RunRecord.from_dict(record)) == text

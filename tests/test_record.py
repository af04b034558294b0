"""The typed results record: the golden results.json from before the move loads forever and
round-trips losslessly, and report.md and index.html render the same document from it."""

from __future__ import annotations

import collections
import html
import json
import re
from pathlib import Path

from parity.publish import html as html_page
from parity.publish import markdown, sections
from parity.results import store
from parity.results.record import RunRecord
from parity.vocabulary import EAGER, SIDES

GOLDEN = Path(__file__).parent / "golden" / "results_v1.json"


def test_golden_record_loads_typed_and_round_trips_losslessly():
    raw = json.loads(GOLDEN.read_text())
    record = store.load(GOLDEN)
    assert isinstance(record, RunRecord)
    assert record.to_dict() == raw
    # Key order too, so a record written back is the same file.
    assert json.dumps(record.to_dict()) == json.dumps(raw)
    assert record.run_id == raw["run_id"] and len(record.pairs) == len(raw["pairs"])
    assert record.machine.gemm_peak.gflops_per_s == raw["machine"]["gemm_peak"]["gflops_per_s"]


def test_unknown_keys_are_kept_and_the_source_dict_is_not_shared():
    raw = json.loads(GOLDEN.read_text())
    raw["pairs"][0]["cells"][0]["from_the_future"] = {"x": [1, 2]}
    raw["from_the_future"] = 7
    record = RunRecord.from_dict(raw)
    assert record.pairs[0].cells[0].extra["from_the_future"] == {"x": [1, 2]}
    assert record.to_dict() == raw
    raw["pairs"][0]["cells"][0]["from_the_future"]["x"].append(3)
    assert record.pairs[0].cells[0].extra["from_the_future"] == {"x": [1, 2]}


def test_pair_helpers_find_the_eager_cells_and_batches():
    record = store.load(GOLDEN)
    raw = json.loads(GOLDEN.read_text())
    for pair, raw_pair in zip(record.pairs, raw["pairs"], strict=True):
        for side in SIDES:
            expected = [
                c["cell_id"]
                for c in raw_pair["cells"]
                if c["side"] == side
                and c["mode"] == EAGER
                and c["status"] == "ok"
                and not c.get("diagnostic")
            ]
            cell = pair.eager_cell(side)
            assert (cell.cell_id if cell else None) == (expected[0] if expected else None)
        assert all(not c.diagnostic for c in pair.main_cells())
    # A pair's own settings override the run's (the golden run asked for 32 too).
    per_pair = [
        {**raw["settings"], **(p.get("settings") or {})}["latency_batches"] for p in raw["pairs"]
    ]
    assert record.batches() == [str(b) for b in sorted({b for found in per_pair for b in found})]
    assert record.batches(record.pairs[0]) == [str(b) for b in per_pair[0]]


def _figures(text: str) -> collections.Counter:
    return collections.Counter(re.findall(r"-?\d[\d,]*(?:\.\d+)?(?:e[+-]\d+)?%?", text))


def _html_text(page: str) -> str:
    page = re.sub(r"<svg.*?</svg>", " ", page, flags=re.S)  # plot ticks are not figures
    page = re.sub(r"<details><summary>[^<]*batch \d+: \d+ samples.*?</details>", " ", page)
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def test_markdown_and_html_render_the_same_sections_and_figures():
    document = sections.build(store.load(GOLDEN))
    report, page = markdown.render(document), html_page.render(document)
    md_titles = [line.lstrip("#").strip() for line in report.splitlines() if line.startswith("#")]
    html_titles = [html.unescape(t) for t in re.findall(r"<h\d[^>]*>(.*?)</h\d>", page)]
    assert md_titles == html_titles == document.titles()
    # Every figure report.md shows, index.html shows as often (it shows more besides).
    md_figures, html_figures = _figures(report), _figures(_html_text(page))
    page_text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert not md_figures - html_figures, md_figures - html_figures
    # The figures of the shared tables are the same strings in both.
    for section in document.sections:
        for block in section.blocks:
            if getattr(block, "only", None) is None and hasattr(block, "table"):
                for row in block.table.rows:
                    for value in row:
                        assert value.replace("|", "\\|") in report
                        assert value in page_text

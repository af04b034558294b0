"""The published report is rendered from results.json alone, by the current code."""

from pathlib import Path

import pytest

from parity.publish.markdown import render_markdown
from parity.results import store as results

PUBLISHED = Path(__file__).parent.parent / "reports" / "results.json"


@pytest.mark.skipif(not PUBLISHED.is_file(), reason="no published results.json yet")
def test_published_results_load_and_render_every_cell():
    record = results.load(PUBLISHED)
    assert record.parent_framework_modules == []
    text = render_markdown(record)
    for pair in record.pairs:
        assert f"## {pair.id}" in text
        for cell in pair.cells:
            assert cell.status in ("ok", "failed", "unavailable")
            for batch, stats in cell.latency_stats.items():
                samples = cell.metrics.latency[batch].samples_ms
                assert stats.n == len(samples)  # statistics derive from kept samples
                assert f"{stats.median:.2f}" in text

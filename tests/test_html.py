"""index.html: self-contained, shows every figure, and renders in headless Chromium."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from parity.publish.html import render_html
from parity.run.runner import run

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser")) if p), None)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="Debian's chromium is not installed (apt-get install chromium; "
    "`nox -s tests` installs it when CI is set)",
)


@pytest.fixture(scope="module")
def published(tmp_path_factory, word_tokenizer):
    """A run with one healthy pair and one whose TensorFlow side fails, as the runner writes it."""
    from parity.run.profiles import Profile
    from parity.run.runner import RunConfig
    from zoo.catalog import SAME_WEIGHTS, Pair, Side

    def pair(tf_handle: str) -> Pair:
        return Pair(
            id=f"fake-{tf_handle.split(':')[1]}",
            task="text-encoder",
            relation=SAME_WEIGHTS,
            torch=Side("fake:ok"),
            tensorflow=Side(tf_handle),
            tokenizer=f"hf:{word_tokenizer}",
            dataset="sts-smoke",
        )

    out = tmp_path_factory.mktemp("published")
    config = RunConfig(
        out_dir=out,
        threads=1,
        seq_len=16,
        latency_batches=(1, 4),
        eval_batch=4,
        profile=Profile(
            "t", warmup=1, min_count=3, min_time_s=0.0, max_count=20, max_time_s=5.0, replicates=0
        ),
        calibrate=False,
    )
    record = run([pair("fake:ok"), pair("fake:raise")], config)
    return record, out


def test_page_is_self_contained(published):
    _, out = published
    page = (out / "index.html").read_text()
    assert page.startswith("<!doctype html>")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page), "fetches something"
    assert "<script" not in page and "<link" not in page and "@import" not in page
    assert page.count("<svg") >= 4  # two latency distributions, throughput, memory per pair


def test_page_shows_every_figure_of_the_record(published):
    record, out = published
    page = (out / "index.html").read_text()
    for pair in record["pairs"]:
        assert f'id="{pair["id"]}"' in page
        for cell in pair["cells"]:
            if cell["status"] != "ok":
                assert cell["reason"] in page or cell["reason"].replace("'", "&#x27;") in page
                continue
            for key, value in cell["metrics"]["memory"].items():
                if isinstance(value, float):
                    assert f"{value:.6g}" in page, key
            for batch, entry in cell["metrics"]["latency"].items():
                stats = cell["latency_stats"][batch]
                for name in ("median", "iqr", "min", "mean", "std"):
                    assert f"{stats[name]:.6g}" in page, (cell["cell_id"], batch, name)
                for sample in entry["samples_ms"]:
                    assert f"{sample:.4f}" in page
    assert "claims, measured" in page
    assert "Tie: Both high-performance" in page


def _chromium(url: str, tmp_path: Path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--enable-logging=stderr",
            "--v=0",
            *extra,
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _console_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if ":CONSOLE" in line]


@needs_chromium
def test_page_renders_in_chromium_without_console_messages(published, tmp_path):
    _, out = published
    screenshot = out / "index.png"
    done = _chromium(
        (out / "index.html").as_uri(),
        tmp_path,
        "--window-size=1280,3000",
        f"--screenshot={screenshot}",
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert _console_lines(done.stderr) == []
    assert screenshot.stat().st_size > 20_000  # a real page, not a blank one
    dom = _chromium((out / "index.html").as_uri(), tmp_path, "--dump-dom")
    assert "<h2>Summary</h2>" in dom.stdout and 'id="fake-raise"' in dom.stdout


@needs_chromium
def test_console_check_catches_a_broken_page(tmp_path):
    page = tmp_path / "broken.html"
    page.write_text("<!doctype html><p>x</p><script>throw new Error('planted')</script>")
    done = _chromium(page.as_uri(), tmp_path, f"--screenshot={tmp_path / 'b.png'}")
    assert any("planted" in line for line in _console_lines(done.stderr))


def test_render_html_escapes_text():
    from parity.publish.document import Table
    from parity.publish.html import table

    html = table(Table(["<h>"], [["<script>alert(1)</script>"]]))
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert render_html  # the module's entry point exists for publish()

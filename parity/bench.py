"""The harness's own benchmark (`nox -s bench`): whether a headline verdict survives a
rerun, how much the measuring costs, and how much a median moves between runs. It prints
figures; it asserts nothing about time.

- The two figures that matter (issue 11), from each run's replicated comparisons
  (evaluation.latency[batch].replicated): the spread of each headline PyTorch/TensorFlow
  ratio over the fresh runs, (largest - smallest) / their median (target: at most 3%),
  and how often one run's 95% interval contains another run's ratio, over every ordered
  pair of runs (target: at least 90%).
- Harness overhead: in each cell, after its timed loops, alternating runs of the same call:
  bare (back-to-back) and as the timed loop makes them (a clock read pair and a list
  append per call), each run timed as a whole. Alternating keeps the machine's drift out
  of the comparison. Target: at most 1%. Also shown: the harness's per-call median
  against the bare runs' mean time per call (a median sits below a mean when a few calls
  are slow).
- Spread of medians: the same cells run `repeats` times, each time in fresh processes;
  (largest median - smallest) / their median. Target: at most 5% on a quiet machine.

    python -m parity.bench [--pair efficientnet-lite0] [--repeats 3] [--profile standard]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from parity.results.record import LatencySamples, RunRecord
from parity.results.store import usable_cores
from parity.run.profiles import PROFILES, get_profile

OVERHEAD_TARGET = 0.01
SPREAD_TARGET = 0.05
HEADLINE_SPREAD_TARGET = 0.03
COVER_TARGET = 0.90
DEFAULT_PAIR = "efficientnet-lite0"
DEFAULT_MODES = {"torch": ("eager",), "tensorflow": ("function",)}


def overhead(entry: LatencySamples) -> float | None:
    """The harness's runs over the bare runs, each the median of its ms per call timed
    as a whole, minus 1: what timing each call and keeping its sample adds."""
    check = entry.harness_check
    if not check:
        return None
    return float(np.median(check["harness_ms"]) / np.median(check["bare_ms"]) - 1.0)


def bookkeeping_share(entry: LatencySamples) -> float | None:
    """timed_loop's own cost per call (measured around a call that does nothing) over the
    cell's median: the harness overhead without the machine's noise in it."""
    check = entry.harness_check
    if not check or check.get("bookkeeping_ns") is None:
        return None
    return float(check["bookkeeping_ns"] / 1e6 / np.median(entry.samples_ms))


def median_bias(entry: LatencySamples) -> float | None:
    """The harness's per-call median over the bare runs' median per-call time, minus 1:
    how the reported statistic (a median) sits against the plain mean cost of a call."""
    check = entry.harness_check
    if not check:
        return None
    return float(np.median(check["harness_samples_ms"]) / np.median(check["bare_ms"]) - 1.0)


def spread(medians: list[float]) -> float:
    values = np.asarray(medians, dtype=np.float64)
    return float((values.max() - values.min()) / np.median(values))


def collect(records: list[RunRecord | dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (cell, batch): each run's median and overhead, then the spread."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in map(RunRecord.coerce, records):
        for pair in record.pairs:
            for cell in pair.ok_cells():
                for batch, entry in cell.metrics.latency.items():
                    row = rows.setdefault(
                        (cell.cell_id, batch),
                        {
                            "cell": cell.cell_id,
                            "batch": batch,
                            "medians": [],
                            "overheads": [],
                            "median_biases": [],
                            "bookkeeping": [],
                        },
                    )
                    row["bookkeeping"].append(bookkeeping_share(entry))
                    row["medians"].append(float(np.median(entry.samples_ms)))
                    row["overheads"].append(overhead(entry))
                    row["median_biases"].append(median_bias(entry))
    for row in rows.values():
        row["spread"] = spread(row["medians"]) if len(row["medians"]) > 1 else None
    return list(rows.values())


def cover(ratios: list[float], intervals: list[tuple[float, float]]) -> float | None:
    """The share of ordered pairs of runs (i, j), i != j, where run i's interval contains
    run j's ratio; None with fewer than two runs."""
    checks = [
        low <= ratios[j] <= high
        for i, (low, high) in enumerate(intervals)
        for j in range(len(ratios))
        if j != i
    ]
    return sum(checks) / len(checks) if checks else None


def headline_rows(records: list[RunRecord | dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per (pair, batch) with a replicated comparison: each run's ratio and
    interval, their spread, and how often one run's interval covers another's ratio."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in map(RunRecord.coerce, records):
        for pair in record.pairs:
            for batch, entry in pair.evaluation.latency.items():
                found = entry.replicated
                if found is None or found.ratio is None:
                    continue
                row = rows.setdefault(
                    (pair.id, batch),
                    {"pair": pair.id, "batch": batch, "ratios": [], "intervals": [], "R": []},
                )
                row["ratios"].append(found.ratio)
                row["R"].append(found.replicates)
                if found.ci_low is not None and found.ci_high is not None:
                    row["intervals"].append((found.ci_low, found.ci_high))
    for row in rows.values():
        row["spread"] = spread(row["ratios"]) if len(row["ratios"]) > 1 else None
        complete = len(row["intervals"]) == len(row["ratios"])
        row["cover"] = cover(row["ratios"], row["intervals"]) if complete else None
    return list(rows.values())


def render_headlines(rows: list[dict[str, Any]], repeats: int) -> str:
    if not rows:
        return (
            f"headline ratios: none of the {repeats} runs wrote a replicated comparison "
            "(evaluation.latency[batch].replicated), so neither figure can be given"
        )
    lines = [f"{'pair':28} {'batch':>5}  {'PyTorch/TensorFlow [95% interval] (each run)'}"]
    for row in rows:
        shown = []
        for index, ratio in enumerate(row["ratios"]):
            interval = row["intervals"][index] if index < len(row["intervals"]) else None
            bounds = f" [{interval[0]:.3f}, {interval[1]:.3f}]" if interval else ""
            shown.append(f"{ratio:.3f}{bounds} R={row['R'][index]}")
        lines.append(f"{row['pair']:28} {row['batch']:>5}  " + "; ".join(shown))
    spreads = [r["spread"] for r in rows if r["spread"] is not None]
    covers = [r["cover"] for r in rows if r["cover"] is not None]
    if spreads:
        worst = max(spreads)
        verdict = "within" if worst <= HEADLINE_SPREAD_TARGET else "OVER"
        lines.append(
            f"spread of each headline ratio over {repeats} fresh runs: largest "
            f"{100 * worst:.2f}% ({verdict} the {100 * HEADLINE_SPREAD_TARGET:.0f}% target)"
        )
    if covers:
        share = float(np.mean(covers))
        verdict = "meets" if share >= COVER_TARGET else "BELOW"
        lines.append(
            f"one run's interval contains another run's ratio: {100 * share:.0f}% of the "
            f"ordered pairs of runs ({verdict} the {100 * COVER_TARGET:.0f}% target)"
        )
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.2f}%"


def render(rows: list[dict[str, Any]], repeats: int) -> str:
    lines = [
        f"{'cell':40} {'batch':>5} {'medians ms (each run)':>26} {'spread':>7} "
        f"{'overhead (each run)':>26} {'median vs mean (each run)':>28}"
    ]
    for row in rows:
        medians = " ".join(f"{m:.3f}" for m in row["medians"])
        overheads = " ".join(_percent(o) for o in row["overheads"])
        biases = " ".join(_percent(o) for o in row["median_biases"])
        lines.append(
            f"{row['cell']:40} {row['batch']:>5} {medians:>26} "
            f"{_percent(row['spread']).lstrip('+'):>7} {overheads:>26} {biases:>28}"
        )
    spreads = [r["spread"] for r in rows if r["spread"] is not None]
    overheads = [abs(o) for r in rows for o in r["overheads"] if o is not None]
    bookkeeping = [b for r in rows for b in r["bookkeeping"] if b is not None]
    if bookkeeping:
        worst = max(bookkeeping)
        verdict = "within" if worst <= OVERHEAD_TARGET else "OVER"
        lines.append(
            f"harness overhead: timed_loop's own cost per call is at most {100 * worst:.4f}% "
            f"of a cell's median ({verdict} the {100 * OVERHEAD_TARGET:.0f}% target)"
        )
    if overheads:
        lines.append(
            f"the same, measured on the models in alternating runs: largest |overhead| "
            f"{100 * max(overheads):.2f}% (this includes the machine's drift between runs)"
        )
    if spreads:
        worst = max(spreads)
        verdict = "within" if worst <= SPREAD_TARGET else "OVER"
        lines.append(
            f"spread of medians over {repeats} runs: largest {100 * worst:.2f}% "
            f"({verdict} the {100 * SPREAD_TARGET:.0f}% target)"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    from parity.run.catalog import find_pair
    from parity.run.runner import RunConfig, run

    parser = argparse.ArgumentParser(prog="python -m parity.bench", description=__doc__)
    parser.add_argument("--pair", action="append", help=f"pair id (default: {DEFAULT_PAIR})")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each cell (default 3)")
    parser.add_argument("--profile", choices=list(PROFILES), default="standard")
    parser.add_argument("--batch-sizes", default="1", help="(default 1)")
    parser.add_argument("--threads", type=int, default=usable_cores())
    parser.add_argument("--out", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 to measure a spread")
    pairs = [find_pair(pair_id) for pair_id in args.pair or [DEFAULT_PAIR]]
    records = []
    with tempfile.TemporaryDirectory(prefix="parity-bench-") as scratch:
        for repeat in range(args.repeats):
            print(f"run {repeat + 1} of {args.repeats}", file=sys.stderr, flush=True)
            config = RunConfig(
                out_dir=Path(scratch) / f"run{repeat}",
                threads=args.threads,
                profile=get_profile(args.profile),
                latency_batches=tuple(int(b) for b in args.batch_sizes.split(",")),
                modes=DEFAULT_MODES,
                diagnostics=False,
                offline=True,
                harness_check=True,
            )
            records.append(run(pairs, config))
    headlines = headline_rows(records)
    rows = collect(records)
    print(render_headlines(headlines, args.repeats))
    print()
    print(render(rows, args.repeats))
    if args.out:
        found = {"headlines": headlines, "cells": rows}
        Path(args.out).write_text(json.dumps(found, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The harness's own benchmark (`nox -s bench`): how much the measuring costs, and how
much a median moves between runs. It prints figures; it asserts nothing about time.

- Harness overhead: in each cell, the timed loop's median (one clock read pair and a list
  append per call) against a bare loop of the same call timed in runs of back-to-back
  calls. Target: at most 1%.
- Spread of medians: the same cells run `repeats` times, each time in fresh processes;
  (largest median - smallest) / their median. Target: at most 5% on a quiet machine.

    python -m parity.bench [--pair all-MiniLM-L6-v2] [--repeats 3] [--profile standard]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from parity.profiles import PROFILES, get_profile
from parity.results import usable_cores

OVERHEAD_TARGET = 0.01
SPREAD_TARGET = 0.05
DEFAULT_MODES = {"torch": ("eager",), "tensorflow": ("function",)}


def overhead(entry: dict[str, Any]) -> float | None:
    """Harness median over the bare loop's median per-call time, minus 1."""
    bare = entry.get("bare_loop_ms")
    if not bare:
        return None
    return float(np.median(entry["samples_ms"]) / np.median(bare) - 1.0)


def spread(medians: list[float]) -> float:
    values = np.asarray(medians, dtype=np.float64)
    return float((values.max() - values.min()) / np.median(values))


def collect(records: list[dict]) -> list[dict[str, Any]]:
    """One row per (cell, batch): each run's median and overhead, then the spread."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        for pair in record["pairs"]:
            for cell in pair.get("cells", []):
                if cell["status"] != "ok" or cell.get("diagnostic"):
                    continue
                for batch, entry in cell["metrics"]["latency"].items():
                    row = rows.setdefault(
                        (cell["cell_id"], batch),
                        {"cell": cell["cell_id"], "batch": batch, "medians": [], "overheads": []},
                    )
                    row["medians"].append(float(np.median(entry["samples_ms"])))
                    row["overheads"].append(overhead(entry))
    for row in rows.values():
        row["spread"] = spread(row["medians"]) if len(row["medians"]) > 1 else None
    return list(rows.values())


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:+.2f}%"


def render(rows: list[dict[str, Any]], repeats: int) -> str:
    lines = [
        f"{'cell':44} {'batch':>5} {'medians ms (each run)':>28} {'spread':>8} "
        f"{'overhead (each run)':>28}"
    ]
    for row in rows:
        medians = " ".join(f"{m:.3f}" for m in row["medians"])
        overheads = " ".join(_percent(o) for o in row["overheads"])
        lines.append(
            f"{row['cell']:44} {row['batch']:>5} {medians:>28} "
            f"{_percent(row['spread']).lstrip('+'):>8} {overheads:>28}"
        )
    spreads = [r["spread"] for r in rows if r["spread"] is not None]
    overheads = [abs(o) for r in rows for o in r["overheads"] if o is not None]
    if overheads:
        worst = max(overheads)
        verdict = "within" if worst <= OVERHEAD_TARGET else "OVER"
        lines.append(
            f"harness overhead: largest |overhead| {100 * worst:.2f}% "
            f"({verdict} the {100 * OVERHEAD_TARGET:.0f}% target)"
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
    from parity.runner import RunConfig, run
    from zoo.catalog import get_pair

    parser = argparse.ArgumentParser(prog="python -m parity.bench", description=__doc__)
    parser.add_argument("--pair", action="append", help="pair id (default: all-MiniLM-L6-v2)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each cell (default 3)")
    parser.add_argument("--profile", choices=list(PROFILES), default="standard")
    parser.add_argument("--batch-sizes", default="1,8", help="(default 1,8)")
    parser.add_argument("--threads", type=int, default=usable_cores())
    parser.add_argument("--out", help="also write the rows as JSON here")
    args = parser.parse_args(argv)
    if args.repeats < 2:
        parser.error("--repeats must be at least 2 to measure a spread")
    pairs = [get_pair(pair_id) for pair_id in args.pair or ["all-MiniLM-L6-v2"]]
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
    rows = collect(records)
    print(render(rows, args.repeats))
    if args.out:
        Path(args.out).write_text(json.dumps(rows, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

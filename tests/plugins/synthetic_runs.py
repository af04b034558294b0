"""Synthetic run records in the format the runner writes with replication (issue 11), made
from tests/golden/results_v1.json with realistic noise between processes.

Every cell is one fresh process: its samples are the golden ones times a process offset
(log-normal, sd `between`), times the machine's speed, times a planted slowdown where one
is asked for. Each pair and batch size gets a replicated comparison
(parity.evaluate.replicates.compare) from `replicates` simulated process pairs of
alternating rounds: each process its own offset, a drift shared by both sides, round noise.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from parity.evaluate import replicates
from parity.evaluate.statistics import median_ratio, summarize

GOLDEN = Path(__file__).resolve().parent.parent / "golden" / "results_v1.json"
FAST_MACHINE = {"vector_extensions": ["avx2", "avx512f", "fma"]}
SLOW_MACHINE = {
    "cpu": "AMD EPYC",
    "vector_extensions": ["avx2", "fma"],
    "gemm_peak": {"gflops_per_s": 72.9},
}


def _golden() -> dict[str, Any]:
    return json.loads(GOLDEN.read_text())


def _rounds(rng, level_a, level_b, replicate_count, rounds, between):
    a, b = [], []
    for _ in range(replicate_count):
        offset_a, offset_b = np.exp(rng.normal(0, between, size=2))
        drift = np.exp(np.cumsum(rng.normal(0, 0.005, rounds)))
        a.append(list(level_a * offset_a * drift * np.exp(rng.normal(0, 0.01, rounds))))
        b.append(list(level_b * offset_b * drift * np.exp(rng.normal(0, 0.01, rounds))))
    return a, b


def synthetic_run(
    seed: int,
    *,
    between: float = 0.03,
    slowdown: dict[str, float] | None = None,
    speed: dict[str, float] | float = 1.0,
    machine: dict[str, Any] | None = None,
    replicate_count: int = 5,
    rounds: int = 8,
    contended_pairs: tuple[str, ...] = (),
    replicated: bool = True,
    budget_lines: list[str] | None = None,
    load_warning: str | None = None,
) -> dict[str, Any]:
    """One run's record. slowdown: cell id -> factor on its latency (a planted
    regression); speed: the machine's factor on every latency (a float, or per pair and
    batch as "pair/b<batch>" -> factor, to make a verdict flip between machines)."""
    rng = np.random.default_rng(seed)
    record = _golden()
    record["run_id"] = f"synthetic-{seed}"
    record["started_utc"] = f"2026-12-01T00:{seed % 60:02d}:00+00:00"
    found_machine = {**record["machine"], **FAST_MACHINE}
    for key, value in (machine or {}).items():
        if isinstance(value, dict):
            found_machine[key] = {**found_machine.get(key, {}), **value}
        else:
            found_machine[key] = value
    record["machine"] = found_machine
    record["load_check"] = {
        "busy_share": 0.3 if load_warning else 0.02,
        "busy": bool(load_warning),
        "warning": load_warning,
        "loadavg_1m": 0.1,
    }
    if budget_lines is not None:
        record["budget"] = {"budget_s": 900.0, "lines": budget_lines}
    slowdown = slowdown or {}

    def factor(pair_id: str, batch: str, cell_id: str | None) -> float:
        machine_speed = speed if isinstance(speed, float) else speed.get(f"{pair_id}/b{batch}", 1)
        return machine_speed * slowdown.get(cell_id, 1.0)

    for pair in record["pairs"]:
        cells = {c["cell_id"]: c for c in pair["cells"] if c["status"] == "ok"}
        for cell in cells.values():
            offset = float(np.exp(rng.normal(0, between)))  # one process, one offset
            for batch, entry in cell["metrics"]["latency"].items():
                scale = offset * factor(pair["id"], batch, cell["cell_id"])
                entry["samples_ms"] = [s * scale for s in entry["samples_ms"]]
                contended = pair["id"] in contended_pairs
                entry["cpu_share"] = 0.55 if contended else float(rng.uniform(0.96, 1.0))
                entry["contended"] = contended
                cell["latency_stats"][batch] = summarize(entry["samples_ms"]).to_dict()
        for batch, latency in pair["evaluation"]["latency"].items():
            chosen = {}
            for side in ("torch", "tensorflow"):
                mode = latency[side]["best_mode"]
                cell = cells[f"{pair['id']}/{side}/{mode}"]
                chosen[side] = cell
                latency[side]["median_ms"] = cell["latency_stats"][batch]["median"]
            single = median_ratio(
                chosen["torch"]["metrics"]["latency"][batch]["samples_ms"],
                chosen["tensorflow"]["metrics"]["latency"][batch]["samples_ms"],
                name_a="PyTorch",
                name_b="TensorFlow",
                resamples=200,
            )
            latency["torch_over_tf"] = single.to_dict()
            if not replicated:
                continue
            a, b = _rounds(
                rng,
                _golden_level(pair["id"], batch, "torch")
                * factor(pair["id"], batch, chosen["torch"]["cell_id"]),
                _golden_level(pair["id"], batch, "tensorflow")
                * factor(pair["id"], batch, chosen["tensorflow"]["cell_id"]),
                replicate_count,
                rounds,
                between,
            )
            share = 0.55 if pair["id"] in contended_pairs else 0.98
            shares = [[share] * (2 * rounds) for _ in range(replicate_count)]
            comparison = replicates.compare(a, b, shares, resamples=500, seed=seed)
            latency["replicated"] = {
                **comparison.to_dict(),
                "modes": {side: latency[side]["best_mode"] for side in chosen},
                "plan": {
                    "replicates": replicate_count,
                    "rounds": rounds,
                    "round_min_time_s": 0.25,
                },
            }
    return record


_GOLDEN_LEVELS: dict[tuple[str, str, str], float] = {}


def _golden_level(pair_id: str, batch: str, side: str) -> float:
    """The golden record's median of a side's best mode: the duel's noise-free level."""
    if not _GOLDEN_LEVELS:
        for pair in _golden()["pairs"]:
            for found_batch, latency in pair["evaluation"]["latency"].items():
                for found_side in ("torch", "tensorflow"):
                    _GOLDEN_LEVELS[(pair["id"], found_batch, found_side)] = latency[found_side][
                        "median_ms"
                    ]
    return _GOLDEN_LEVELS[(pair_id, batch, side)]

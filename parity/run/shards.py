"""A cell's evaluation split into shards, evaluated by workers of their own, and merged
exactly. Imports no framework.

A cell whose evaluation set has more rows than the executor's shard_rows (--shard-rows;
on a Ray cluster 1000 by default) is split: shard 1 is the cell's own worker, given the
first rows (it also times, captures and counts FLOPs, as before, on those rows); shards
2..n are untimed workers that only evaluate their rows (no latency loop, no capture), and
may run on any node at once. Each shard is a whole number of evaluation batches, so every
batch a shard computes is the very batch one worker would have computed (the same rows,
the same padding of the last one): the merged outputs, and so every top-1 count and
agreement figure, are those of the unsharded cell.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np

from parity.files import load_npy, save_npy, write_json
from parity.vocabulary import OK

FOLDER = "shards"
# Tasks whose evaluation is one output row per input row (a causal LM's is not).
TASKS = ("image-classifier", "text-encoder")


def bounds(rows: int, shard_rows: int, eval_batch: int) -> list[tuple[int, int]]:
    """[start, stop) of each shard: about shard_rows rows, a multiple of eval_batch."""
    size = max(1, round(shard_rows / eval_batch)) * eval_batch
    return [(start, min(start + size, rows)) for start in range(0, rows, size)]


def rows_of(paths: dict[str, str]) -> int:
    return len(np.load(next(iter(paths.values())), mmap_mode="r"))


def _slice(paths: dict[str, str], start: int, stop: int, folder: Path) -> dict[str, str]:
    folder.mkdir(parents=True, exist_ok=True)
    found = {}
    for name, path in paths.items():
        target = folder / f"{name}.npy"
        save_npy(target, np.load(path, mmap_mode="r")[start:stop])
        found[name] = str(target)
    return found


def split(spec: dict[str, Any], cell_dir: Path, spans: list[tuple[int, int]]) -> list[dict]:
    """One worker spec per shard: the first is the cell's own spec on the first rows (its
    outputs where the cell's always are); the others evaluate only, in folders of their
    own. Writes each shard's input slices and cell.json."""
    root = cell_dir / FOLDER
    shutil.rmtree(root, ignore_errors=True)  # an earlier attempt's shards
    specs = []
    for number, (start, stop) in enumerate(spans):
        folder = root / str(number)
        inputs = _slice(spec["inputs"], start, stop, folder / "inputs")
        extra = {
            track: _slice(paths, start, stop, folder / "inputs" / track)
            for track, paths in (spec.get("extra_inputs") or {}).items()
        }
        shard = {**spec, "inputs": inputs, "extra_inputs": extra}
        if number:
            shard.update(
                shard=[number, len(spans)],
                latency_batches=[],
                capture=None,
                harness_check=False,
                output_path=str(folder / "output.npy"),
                metrics_path=str(folder / "metrics.json"),
                error_path=str(folder / "error.json"),
                extra_output_paths={t: str(folder / f"output_{t}.npy") for t in extra},
            )
            write_json(folder / "cell.json", shard)
        specs.append(shard)
    return specs


def merge(records: list[dict], specs: list[dict], spans: list[tuple[int, int]]) -> dict:
    """The cell's record from its shards' (records[0] is the cell's own worker): failed
    if any shard failed, naming it; else the outputs concatenated in row order into the
    cell's own output files, and the metrics' evaluation counts summed."""
    count = len(records)
    for number, found in enumerate(records):
        if found["status"] != OK:
            if number == 0:
                return records[0]
            kept = {k: v for k, v in records[0].items() if k != "metrics"}
            return {
                **kept,
                "status": found["status"],
                "reason": f"evaluation shard {number + 1}/{count}: {found.get('reason')}",
                "stderr_tail": found.get("stderr_tail"),
            }
    merged = dict(records[0])
    metrics = dict(merged["metrics"])
    output = np.concatenate([load_npy(s["output_path"]) for s in specs])
    save_npy(specs[0]["output_path"], output)
    evaluation = {
        **metrics["eval"],
        "rows": int(len(output)),
        "output_shape": list(output.shape),
        "nonfinite": int((~np.isfinite(output)).sum()),
    }
    for track in specs[0].get("extra_output_paths") or {}:
        extra = np.concatenate([load_npy(s["extra_output_paths"][track]) for s in specs])
        save_npy(specs[0]["extra_output_paths"][track], extra)
        evaluation.setdefault("extra", {})[track] = {
            "rows": int(len(extra)),
            "nonfinite": int((~np.isfinite(extra)).sum()),
        }
    metrics["eval"] = evaluation
    metrics["shards"] = [
        {
            "rows": [start, stop],
            "wall_s": found.get("wall_s"),
            "eval_s": (found["metrics"].get("timings") or {}).get("eval_s"),
            "pid": found["metrics"].get("pid"),
            **({"node": found["node"]} if found.get("node") else {}),
        }
        for (start, stop), found in zip(spans, records, strict=True)
    ]
    write_json(specs[0]["metrics_path"], metrics)
    merged["metrics"] = metrics
    return merged

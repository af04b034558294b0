"""The machine's limit: fp32 GEMM GFLOP/s (BLAS and oneDNN kernels), measured once per
machine in a worker child.

    parity calibrate [--threads N] [--force]

The parent imports no framework: the kernels run in a child (`python -m
parity.child.peak_kernels THREADS`) started as every child is (parity.spawn: thread
environment, timeout, memory limit, death with the parent), and the figure is cached in
$XDG_CACHE_HOME/zoo-parity/peak.json (default ~/.cache), keyed by CPU model, usable cores,
threads, torch version and calibration version, so it is measured once per machine. Each
cell's achieved GFLOP/s is then set against it (docs/measurement.md rule 9).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import spawn
from parity.evaluate.statistics import efficiency
from parity.files import write_json
from parity.results import store as results
from parity.run.scheduler import default_memory_limit_mib

CALIBRATION_TIMEOUT_S = 300.0
CHILD_MODULE = "parity.child.peak_kernels"
# Part of the cache key: raise it when the kernels (parity/child/peak_kernels.py) change,
# so old figures are not reused.
CALIBRATION_VERSION = 2
# A busy machine gives the benchmark less CPU than its threads ask for, and a peak
# measured so would be cached far too low: below this share it is used but not cached.
MIN_CPU_SHARE = 0.8


def cache_path() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zoo-parity" / "peak.json"


def machine_key(threads: int) -> dict[str, Any]:
    try:
        torch_version = metadata.version("torch")
    except metadata.PackageNotFoundError:
        torch_version = None
    return {
        "cpu": results.machine_info()["cpu"],
        "cores_usable": results.usable_cores(),
        "threads": threads,
        "torch": torch_version,
        "calibration": CALIBRATION_VERSION,
    }


def _key_text(key: dict[str, Any]) -> str:
    return "|".join(f"{k}={key[k]}" for k in sorted(key))


def _read_cache(path: Path) -> dict[str, Any]:
    try:
        found = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):  # absent or damaged: measure again
        return {}
    return found if isinstance(found, dict) else {}


def machine_peak(
    threads: int,
    force: bool = False,
    timeout_s: float = CALIBRATION_TIMEOUT_S,
    memory_limit_mib: float | None = None,
):
    """The cached peak for this machine and thread count, or a fresh measurement (its
    child's memory limit: memory_limit_mib, else the default share of RAM).

    Returns {"gflops_per_s", "method", "measured_utc", "cached", "key", "per_size"}, or
    {"gflops_per_s": None, "error": ...} when it could not be measured (never a guess).
    """
    key = machine_key(threads)
    path = cache_path()
    entries = _read_cache(path)
    if not force and _key_text(key) in entries:
        return {**entries[_key_text(key)], "cached": True, "cache_file": str(path)}
    if key["torch"] is None:
        return {"gflops_per_s": None, "error": "torch is not installed: install it to calibrate"}
    print(
        f"measuring the machine's fp32 GEMM peak with {threads} threads (once; cached in {path})",
        file=sys.stderr,
        flush=True,
    )
    if memory_limit_mib is None:
        memory_limit_mib = default_memory_limit_mib(1)
    found = _measure_in_child(threads, timeout_s, memory_limit_mib)
    if found.get("gflops_per_s") is None:
        return found
    share = found.get("cpu_share")
    if share is not None and share < MIN_CPU_SHARE:
        found["warning"] = (
            f"the calibration got {share:.0%} of its {threads} threads' CPU time: the machine "
            "was busy, so this peak is too low and was not cached; run `parity calibrate "
            "--force` on an idle machine"
        )
        print(f"parity: {found['warning']}", file=sys.stderr, flush=True)
        return {**found, "key": key, "cached": False, "cache_file": None}
    entry = {**found, "key": key}
    entries[_key_text(key)] = entry
    try:
        write_json(path, entries)
    except OSError as error:  # a read-only home still gets its figure, just not cached
        entry["cache_error"] = str(error)
    return {**entry, "cached": False, "cache_file": str(path)}


def _measure_in_child(
    threads: int, timeout_s: float, memory_limit_mib: float | None
) -> dict[str, Any]:
    started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
    outcome = spawn.run_child(
        CHILD_MODULE,
        [str(threads)],
        env=spawn.child_environment(threads, "torch"),
        timeout_s=timeout_s,
        memory_limit_mib=memory_limit_mib,
    )
    if not outcome.ok:
        return {"gflops_per_s": None, "error": f"GEMM calibration {outcome.reason()}"}
    measured = json.loads(outcome.stdout.strip().splitlines()[-1])
    return {**measured, "measured_utc": started}


def attach_efficiency(record: dict[str, Any]) -> None:
    """Per timed cell and batch: achieved GFLOP/s, % of the measured peak, and the
    measurement-error flag, from the cell's FLOPs count and median latency. On a Ray
    cluster each cell is set against the peak of the node it ran on (machine.nodes)."""
    machine = record.get("machine") or {}
    nodes = machine.get("nodes") or {}
    for pair in record.get("pairs", []):
        for cell in pair.get("cells", []):
            flops = ((cell.get("metrics") or {}).get("flops") or {}).get("per_sample")
            if not cell.get("latency_stats"):
                continue
            node = nodes.get((cell.get("node") or {}).get("id")) or {}
            measured = node.get("gemm_peak") or machine.get("gemm_peak") or {}
            peak = measured.get("gflops_per_s")
            cell["efficiency"] = {
                batch: efficiency(flops, int(batch), stats["median"], peak)
                for batch, stats in cell["latency_stats"].items()
            }
            for found in cell["efficiency"].values():
                if found["flag"] and measured.get("warning"):
                    found["flag"] += " (or of the peak, measured on a busy machine)"

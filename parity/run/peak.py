"""The machine's limit: fp32 GEMM GFLOP/s (BLAS and oneDNN kernels), measured once per
machine in a worker child.

    parity calibrate [--threads N] [--force]

The parent imports no framework: the benchmark runs in a child (`python -m parity.run.peak
THREADS`) started as every child is (parity.spawn: thread environment, timeout, memory
limit, death with the parent), and
the figure is cached in $XDG_CACHE_HOME/zoo-parity/peak.json (default ~/.cache), keyed
by CPU model, usable cores, threads, torch version and calibration version, so it is
measured once per machine. Each cell's achieved GFLOP/s is then set against it
(DESIGN.md, measurement rule 9).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import spawn
from parity.evaluate.statistics import efficiency
from parity.files import write_json
from parity.results import store as results
from parity.run.scheduler import default_memory_limit_mib

SIZES = (512, 1024, 2048)
ROUND_S = 0.2  # one timed round: enough calls to fill this
ROUNDS = 5  # rounds per size; the best round is the sustained rate
CONV_CHANNELS = (512, 1024)
CONV_SIDE = 32
# torch.mm alone is not the machine's limit: MKL's sgemm on an AMD CPU reached about 210
# GFLOP/s here where oneDNN's AVX-512 convolution kernels reached about 300 on one image and
# about 470 on a batch of 8, the shapes ResNets run at batch 8 (a whole ResNet-50 at batch 8
# reached 365), so the peak is the best of all these kernels.
BATCHED_3X3 = ((8, 128, 28), (8, 256, 14))  # (batch, channels, side)
METHOD = (
    "fp32, best sustained rate of: torch.mm of square matrices (BLAS; n = {sizes}), 1x1 "
    "torch.conv2d on {side}x{side} maps (oneDNN; channels {channels}), a 3x3 one (256 "
    "channels, {side2}x{side2}) and batched 3x3 ones (batch x channels x side: {batched}), "
    "{rounds} rounds of >= {round_s:g} s each after warm-up; 2 flops per multiply-add"
)
CALIBRATION_TIMEOUT_S = 300.0
CHILD_MODULE = "parity.run.peak"  # this module's child half, below
# Part of the cache key: raise it when the kernels change, so old figures are not reused.
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
    measurement-error flag, from the cell's FLOPs count and median latency."""
    measured = (record.get("machine") or {}).get("gemm_peak") or {}
    peak = measured.get("gflops_per_s")
    for pair in record.get("pairs", []):
        for cell in pair.get("cells", []):
            flops = ((cell.get("metrics") or {}).get("flops") or {}).get("per_sample")
            if not cell.get("latency_stats"):
                continue
            cell["efficiency"] = {
                batch: efficiency(flops, int(batch), stats["median"], peak)
                for batch, stats in cell["latency_stats"].items()
            }
            for found in cell["efficiency"].values():
                if found["flag"] and measured.get("warning"):
                    found["flag"] += " (or of the peak, measured on a busy machine)"


# ---- the child: imports torch ----


def _best_rate(run, flops: float, threads: int, rounds: int, round_s: float):
    """(best GFLOP/s over rounds, that round's CPU share) of one kernel after warm-up."""
    t0 = time.perf_counter()
    calls = 0
    while calls < 3 or time.perf_counter() - t0 < round_s:  # warm-up, and a call count
        run()
        calls += 1
    best = (0.0, 0.0)
    for _ in range(rounds):
        t0, cpu0 = time.perf_counter(), time.process_time()
        for _ in range(calls):
            run()
        wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
        # CPU seconds the process got per wall second per thread: below 1, others were
        # using the cores it asked for.
        best = max(best, (flops * calls / wall / 1e9, cpu / wall / threads))
    return best


def _benchmark(
    sizes=SIZES,
    conv_channels=CONV_CHANNELS,
    rounds=ROUNDS,
    round_s=ROUND_S,
    batched_3x3=BATCHED_3X3,
) -> dict[str, Any]:
    import torch

    threads = torch.get_num_threads()
    try:
        load_before = float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        load_before = None
    generator = torch.Generator().manual_seed(0)
    kernels = []
    for n in sizes:  # BLAS sgemm (MKL or OpenBLAS, whichever torch links)
        a, b = (torch.randn(n, n, generator=generator) for _ in range(2))
        out = torch.empty(n, n)
        kernels.append((f"mm n={n}", lambda a=a, b=b, out=out: torch.mm(a, b, out=out), 2.0 * n**3))
    for c in conv_channels:  # oneDNN: a 1x1 convolution is a GEMM (HW x C) by (C x C)
        x = torch.randn(1, c, CONV_SIDE, CONV_SIDE, generator=generator)
        w = torch.randn(c, c, 1, 1, generator=generator)
        kernels.append(
            (f"conv1x1 c={c}", lambda x=x, w=w: torch.conv2d(x, w), 2.0 * c * c * CONV_SIDE**2)
        )
    # A 3x3 convolution as ResNets use it: oneDNN's direct kernels were the fastest here.
    x = torch.randn(1, 256, 2 * CONV_SIDE, 2 * CONV_SIDE, generator=generator)
    w = torch.randn(256, 256, 3, 3, generator=generator)
    flops_3x3 = 2.0 * 256 * 256 * 9 * (2 * CONV_SIDE) ** 2
    kernels.append(("conv3x3 c=256", lambda: torch.conv2d(x, w, padding=1), flops_3x3))
    for batch, c, side in batched_3x3:
        xb = torch.randn(batch, c, side, side, generator=generator)
        wb = torch.randn(c, c, 3, 3, generator=generator)
        kernels.append(
            (
                f"conv3x3 b={batch} c={c} {side}x{side}",
                lambda xb=xb, wb=wb: torch.conv2d(xb, wb, padding=1),
                2.0 * c * c * 9 * side * side * batch,
            )
        )
    rates, shares = {}, {}
    with torch.inference_mode():
        for name, run, flops in kernels:
            rates[name], shares[name] = _best_rate(run, flops, threads, rounds, round_s)
    return {
        "gflops_per_s": max(rates.values()),
        "per_size": rates,
        # The least CPU any kernel got: one starved kernel means others were on the cores.
        "cpu_share": min(shares.values()),
        "cpu_share_per_size": shares,
        "loadavg_before": load_before,
        "method": METHOD.format(
            sizes=", ".join(map(str, sizes)),
            channels=", ".join(map(str, conv_channels)),
            side=CONV_SIDE,
            side2=2 * CONV_SIDE,
            batched=", ".join(f"{b}x{c}x{side}" for b, c, side in batched_3x3),
            rounds=rounds,
            round_s=round_s,
        ),
        "threads_effective": threads,
        "torch": torch.__version__,
    }


def _child_main(argv: list[str]) -> int:
    import torch

    threads = int(argv[0])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    print(json.dumps(_benchmark()))
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))

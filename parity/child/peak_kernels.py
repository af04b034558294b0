"""The kernels behind the machine's fp32 peak (parity/run/peak.py caches the figure and
starts this child):

    python -m parity.child.peak_kernels THREADS

prints one JSON line: the best sustained GFLOP/s of BLAS and oneDNN kernels, per kernel,
with the CPU share each got. Changing a kernel: raise CALIBRATION_VERSION in
parity/run/peak.py, so figures cached from the old kernels are measured again.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

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


def benchmark(
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


def main(argv: list[str]) -> int:
    import torch

    threads = int(argv[0])
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    print(json.dumps(benchmark()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

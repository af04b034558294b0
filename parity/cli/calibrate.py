"""`parity calibrate`: measure (or show the cached) fp32 GEMM peak of this machine."""

from __future__ import annotations

import argparse
import sys

from parity.errors import OptionsError
from parity.results.store import usable_cores


def add_parser(commands) -> None:
    calibrate = commands.add_parser(
        "calibrate",
        help="measure (or show the cached) fp32 GEMM peak that %% of peak is relative to",
    )
    calibrate.add_argument(
        "--threads",
        type=int,
        default=usable_cores(),
        help="threads, as in parity run (default: all usable cores)",
    )
    calibrate.add_argument(
        "--force", action="store_true", help="measure again even when a cached figure exists"
    )
    calibrate.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    from parity.run import peak

    if args.threads < 1:
        raise OptionsError(f"--threads must be at least 1, not {args.threads}")
    found = peak.machine_peak(args.threads, force=args.force)
    if found.get("gflops_per_s") is None:
        print(f"parity calibrate: {found['error']}", file=sys.stderr)
        return 1
    if found["cached"]:
        origin = f"cached, measured {found['measured_utc']}; {found['cache_file']}"
    elif found.get("cache_file"):
        origin = f"measured now; cached in {found['cache_file']}"
    else:
        origin = "measured now; not cached"
    print(
        f"fp32 GEMM peak: {found['gflops_per_s']:.1f} GFLOP/s with {args.threads} threads "
        f"({origin})"
    )
    sizes = ", ".join(f"{name}: {v:.1f}" for name, v in found.get("per_size", {}).items())
    print(f"per kernel (GFLOP/s): {sizes}")
    print(f"method: {found['method']}")
    return 0

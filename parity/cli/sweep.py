"""`parity sweep conversions`: does each keras-hub converter compute the same function as
the PyTorch original? One seeded checkpoint per architecture (zoo/conversions.py),
both sides in their own children (parity/run/sweep.py); the table goes to reports/."""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from parity.errors import OptionsError, UnknownArchitectureError, did_you_mean
from parity.results.store import PROJECT_ROOT
from zoo.conversions import BY_ID, CONVERSIONS, adhoc

SWEEPS = ("conversions",)


def add_parser(commands) -> None:
    parser = commands.add_parser(
        "sweep", help="check every keras-hub converter against its PyTorch original"
    )
    parser.add_argument("what", choices=SWEEPS, help="what to sweep")
    parser.add_argument(
        "rows", nargs="*", metavar="ROW", help="only these rows (default: all; --list shows them)"
    )
    parser.add_argument(
        "--add",
        action="append",
        default=[],
        metavar="HANDLE",
        help="an extra row: timm:ARCHITECTURE or hf:MODEL_TYPE[:HEAD]",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=PROJECT_ROOT / "reports",
        help="where conversions.md and conversions.json go (default: reports/)",
    )
    parser.add_argument(
        "--work-dir",
        type=Path,
        help="where the seeded checkpoints go (default: a temporary folder, removed after)",
    )
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds each child may take (default 300)"
    )
    parser.add_argument("--list", action="store_true", help="list the rows and exit")
    parser.set_defaults(func=command)


def chosen_rows(names: list[str], added: list[str]):
    rows = []
    for name in names:
        if name not in BY_ID:
            raise UnknownArchitectureError(
                f"no sweep row named {name!r}.{did_you_mean(name, BY_ID)} "
                "`parity sweep conversions --list` shows them; --add timm:ARCH or "
                "hf:MODEL_TYPE adds one"
            )
        rows.append(BY_ID[name])
    extra = [adhoc(handle) for handle in added]
    return (rows or ([] if extra else list(CONVERSIONS))) + extra


def command(args: argparse.Namespace) -> int:
    from parity.run import sweep

    if args.timeout <= 0:
        raise OptionsError(f"--timeout must be positive, not {args.timeout:g}")
    rows = chosen_rows(args.rows, args.add)
    if args.list:
        for row in rows:
            print(f"{row.id:24} {row.converter:40} {row.torch_side}")
        return 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="parity-sweep-") as scratch:
        work_dir = args.work_dir or Path(scratch)
        results = sweep.sweep(rows, work_dir, timeout_s=args.timeout)
    wall_s = time.perf_counter() - started
    md, js = sweep.write_report(results, wall_s, args.out)
    failed = [r for r in results if not r.ok]
    print(
        f"{len(results) - len(failed)} of {len(results)} rows passed in {wall_s:.0f} s; "
        f"table: {md} (and {js.name})"
    )
    return 1 if failed else 0

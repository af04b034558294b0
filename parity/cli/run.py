"""`parity run`: measure one pair, a suite or a pair of your own, and write a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.files import DiskFullError
from parity.results.store import ResultsFileError
from parity.run.profiles import DEFAULT_BATCHES, eval_batch_for, get_profile
from parity.run.settings import add_options
from zoo.catalog import SIDES, SUITES, custom_pair, get_pair, get_suite


def add_parser(commands) -> None:
    run = commands.add_parser("run", help="measure one pair or a suite and write a report")
    run.add_argument("pair", nargs="?", help="a pair id from `parity list`")
    run.add_argument("--suite", help=f"run a suite instead: {', '.join(SUITES)}")
    run.add_argument(
        "--torch",
        metavar="HANDLE",
        help="a pair of your own: the PyTorch side, "
        "e.g. timm:resnet50 or torchvision:resnet50@/path/weights.pth",
    )
    run.add_argument(
        "--tf",
        metavar="HANDLE",
        help="a pair of your own: the TensorFlow side, "
        "e.g. keras-apps:ResNet50 or keras-hub:hf://ID",
    )
    run.add_argument(
        "--task",
        choices=("text-encoder", "image-classifier"),
        help="the task of a pair of your own (inferred from the sources if omitted)",
    )
    run.add_argument(
        "--same-weights",
        action="store_true",
        help="a pair of your own holds the same weights: compare numbers, not only predictions",
    )
    add_options(run)  # every run setting's option, from parity.run.settings
    run.set_defaults(func=command)


def _parse_modes(values: list[str] | None) -> dict[str, tuple[str, ...]] | None:
    if not values:
        return None
    modes: dict[str, tuple[str, ...]] = {}
    for value in values:
        side, sep, names = value.partition("=")
        if not sep or side not in SIDES or not names:
            raise SystemExit(
                f"parity: --modes {value!r} should be SIDE=MODE[,MODE] with SIDE torch or "
                "tensorflow, e.g. --modes torch=eager --modes tensorflow=function,xla"
            )
        modes[side] = tuple(n.strip() for n in names.split(",") if n.strip())
    return modes


def _parse_batches(text: str) -> tuple[int, ...]:
    try:
        batches = tuple(sorted({int(b) for b in text.split(",") if b.strip()}))
    except ValueError:
        batches = ()
    if not batches or batches[0] < 1:
        raise SystemExit(f"parity run: --batch-sizes {text!r} needs positive integers, e.g. 1,8,32")
    return batches


def _history_path(args: argparse.Namespace) -> Path | None:
    """Where `parity run` records the run: --history, else <out>/history.sqlite."""
    if args.no_history:
        return None
    return Path(args.history) if args.history else Path(args.out) / "history.sqlite"


def command(args: argparse.Namespace) -> int:
    from parity.run import journal
    from parity.run.runner import FAILED, RunConfig, resolve_device, run
    from parity.run.scheduler import default_memory_limit_mib

    resume = None
    if args.resume:
        try:
            resume = journal.resolve(args.resume, Path(args.out))
            stored = journal.load_run(resume)
        except journal.JournalError as error:
            raise SystemExit(f"parity run --resume: {error}") from None
        if not (args.pair or args.suite or args.torch or args.tf) and stored.get("argv"):
            # Plain `--resume RUN`: replay the interrupted run's own command line.
            args = args.parser.parse_args(stored["argv"])
        args.resume, args.argv = str(resume), stored.get("argv")
    custom = bool(args.torch or args.tf)
    if [bool(args.pair), bool(args.suite), custom].count(True) != 1 or (
        custom and not (args.torch and args.tf)
    ):
        raise SystemExit(
            "parity run: name one PAIR, or --suite NAME, or --torch HANDLE --tf HANDLE "
            "(see `parity list`)"
        )
    try:
        if custom:
            entries = [(custom_pair(args.torch, args.tf, args.task, args.same_weights), None)]
        elif args.suite:
            entries = get_suite(args.suite)
        else:
            entries = [(get_pair(args.pair), None)]
    except (KeyError, ValueError) as error:
        raise SystemExit(f"parity run: {error.args[0]}") from None
    if args.threads < 1:
        raise SystemExit("parity run: --threads must be at least 1")
    batches = _parse_batches(args.batch_sizes) if args.batch_sizes else DEFAULT_BATCHES
    if args.jobs < 1:
        raise SystemExit("parity run: --jobs must be at least 1")
    if args.memory_limit is None:
        memory_limit = default_memory_limit_mib(args.jobs)
    else:
        memory_limit = args.memory_limit if args.memory_limit > 0 else None
    config = RunConfig(
        out_dir=Path(args.out),
        threads=args.threads,
        device=resolve_device(args.device),
        profile=get_profile(args.profile or "standard"),
        seq_len=args.seq_len,
        latency_batches=batches,
        eval_batch=eval_batch_for(batches),
        timeout_s=args.timeout,
        modes=_parse_modes(args.modes),
        dataset=args.dataset,
        limit=args.limit,
        diagnostics=not args.no_diagnostics,
        divergence=args.divergence,
        offline=args.offline,
        keep_work=args.keep_work,
        weights=args.weights or "pretrained",
        seed=args.seed,
        history=_history_path(args),
        jobs=args.jobs,
        memory_limit_mib=memory_limit,
        resume=resume,
        argv=getattr(args, "argv", None),
    )
    # What the user gave on the command line wins over a suite entry's settings.
    given = {
        name
        for name, value in (
            ("weights", args.weights),
            ("profile", args.profile),
            ("latency_batches", args.batch_sizes),
            ("modes", args.modes),
        )
        if value
    }
    pairs = [
        (pair, config.with_overrides(entry.overrides(), frozenset(given)) if entry else config)
        for pair, entry in entries
    ]
    try:
        record = run(pairs, config)
    except (journal.JournalError, ResultsFileError, DiskFullError) as error:
        print(f"parity run: {error}", file=sys.stderr)
        return 2
    failed = [
        c["cell_id"] for p in record["pairs"] for c in p.get("cells", []) if c["status"] == FAILED
    ]
    failed += [p["id"] for p in record["pairs"] if not p.get("cells")]
    print(
        f"run {record['run_id']} finished in {record['wall_s']:.0f} s; reports in {config.out_dir}"
    )
    if failed:
        print(
            f"{len(failed)} cell(s) failed: {', '.join(failed)} (details in the report)",
            file=sys.stderr,
        )
        return 1
    return 0

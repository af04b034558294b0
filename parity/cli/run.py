"""`parity run`: measure one pair, a suite or a pair of your own, and write a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.errors import OptionsError, did_you_mean
from parity.results.record import RunRecord
from parity.run.catalog import find_pair
from parity.run.profiles import DEFAULT_BATCHES, default_batches, eval_batch_for, get_profile
from parity.run.settings import SETTINGS, add_options
from parity.vocabulary import MODES
from zoo.catalog import SIDES, SUITES, TASK_NAMES, custom_pair, get_suite


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
        choices=TASK_NAMES,
        help="the task of a pair of your own (inferred from the sources if omitted)",
    )
    run.add_argument(
        "--same-weights",
        action="store_true",
        help="a pair of your own holds the same weights: compare numbers, not only predictions",
    )
    add_options(run)  # every run setting's option, from parity.run.settings
    run.set_defaults(func=command)


# Settings this command computes from its options itself; every other option passes through.
SPECIAL = frozenset(
    {
        "out_dir",
        "threads",
        "device",
        "profile",
        "seq_len",
        "latency_batches",
        "eval_batch",
        "timeout_s",
        "modes",
        "dataset",
        "limit",
        "diagnostics",
        "divergence",
        "offline",
        "keep_work",
        "weights",
        "seed",
        "history",
        "jobs",
        "memory_limit_mib",
        "resume",
        "argv",
    }
)


def _parse_modes(values: list[str] | None) -> dict[str, tuple[str, ...]] | None:
    if not values:
        return None
    modes: dict[str, tuple[str, ...]] = {}
    for value in values:
        side, sep, names = value.partition("=")
        wanted = tuple(n.strip() for n in names.split(",") if n.strip())
        if not sep or side not in SIDES or not wanted:
            raise OptionsError(
                f"--modes {value!r} should be SIDE=MODE[,MODE] with SIDE torch or "
                "tensorflow, e.g. --modes torch=eager --modes tensorflow=function,xla"
            )
        for mode in wanted:
            if mode not in MODES[side]:
                raise OptionsError(
                    f"--modes {value!r}: {side} has no mode {mode!r}."
                    f"{did_you_mean(mode, MODES[side])} Its modes: {', '.join(MODES[side])}"
                )
        modes[side] = wanted
    return modes


def _parse_batches(text: str) -> tuple[int, ...]:
    try:
        batches = tuple(sorted({int(b) for b in text.split(",") if b.strip()}))
    except ValueError:
        batches = ()
    if not batches or batches[0] < 1:
        raise OptionsError(f"--batch-sizes {text!r} needs positive integers, e.g. 1,8,32")
    return batches


def _check_counts(args: argparse.Namespace) -> None:
    """Numbers argparse reads as int or float but that must also be in range."""
    for option, value, least in (
        ("--threads", args.threads, 1),
        ("--jobs", args.jobs, 1),
        ("--seq-len", args.seq_len, 1),
        ("--limit", args.limit, 1),
        ("--shard-rows", args.shard_rows, 0),
    ):
        if value is not None and value < least:
            raise OptionsError(f"{option} must be at least {least}, not {value}")
    if not args.timeout > 0:  # also refuses nan
        raise OptionsError(f"--timeout must be a positive number of seconds, not {args.timeout}")
    if args.executor == "ray" and args.jobs != 1:
        raise OptionsError(
            "--jobs is for --executor local; on a Ray cluster its nodes set how many workers "
            "run at once (each node's parity_node resource, docs/ray.md): drop --jobs"
        )


def _history_path(args: argparse.Namespace) -> Path | None:
    """Where `parity run` records the run: --history, else <out>/history.sqlite."""
    if args.no_history:
        return None
    return Path(args.history) if args.history else Path(args.out) / "history.sqlite"


def command(args: argparse.Namespace) -> int:
    from parity.run import journal, names, preflight
    from parity.run.executors.ray_cluster import UNTIMED_SHARE
    from parity.run.runner import FAILED, RunConfig, resolve_device, run
    from parity.run.scheduler import default_memory_limit_mib

    resume = None
    if args.resume:
        resume = journal.resolve(args.resume, Path(args.out))
        stored = journal.load_run(resume)
        if not (args.pair or args.suite or args.torch or args.tf) and stored.get("argv"):
            # Plain `--resume RUN`: replay the interrupted run's own command line.
            args = args.parser.parse_args(stored["argv"])
        args.resume, args.argv = str(resume), stored.get("argv")
    custom = bool(args.torch or args.tf)
    if [bool(args.pair), bool(args.suite), custom].count(True) != 1 or (
        custom and not (args.torch and args.tf)
    ):
        raise OptionsError(
            "name one PAIR, or --suite NAME, or --torch HANDLE --tf HANDLE (see `parity list`)"
        )
    _check_counts(args)
    batches = _parse_batches(args.batch_sizes) if args.batch_sizes else DEFAULT_BATCHES
    modes = _parse_modes(args.modes)
    if custom:
        names.check_handles([args.torch, args.tf])
        entries = [(custom_pair(args.torch, args.tf, args.task, args.same_weights), None)]
    elif args.suite:
        entries = get_suite(args.suite)
    else:
        entries = [(find_pair(args.pair), None)]
    if args.memory_limit is None and args.executor == "ray":
        # Up to 1 / UNTIMED_SHARE workers share a node; nodes are taken to be like this one.
        memory_limit = default_memory_limit_mib(round(1 / UNTIMED_SHARE))
    elif args.memory_limit is None:
        memory_limit = default_memory_limit_mib(args.jobs)
    else:
        memory_limit = args.memory_limit if args.memory_limit > 0 else None
    # Every other setting with an option goes through as the user gave it (None: default).
    passed = {
        setting.name: value
        for setting in SETTINGS
        if setting.option
        and setting.name not in SPECIAL
        and (value := getattr(args, setting.option.lstrip("-").replace("-", "_"), None)) is not None
    }
    config = RunConfig(
        **passed,
        out_dir=Path(args.out),
        threads=args.threads,
        device=resolve_device(args.device),
        profile=get_profile(args.profile or "standard"),
        seq_len=args.seq_len,
        latency_batches=batches,
        eval_batch=eval_batch_for(batches),
        timeout_s=args.timeout,
        modes=modes,
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
        (pair, config.with_overrides(_task_defaults(pair, entry), frozenset(given)))
        for pair, entry in entries
    ]
    preflight.check_inputs([(c.dataset, pair.task) for pair, c in pairs], config.out_dir)
    record = RunRecord.from_dict(run(pairs, config))
    failed = [c.cell_id for c in record.cells() if c.status == FAILED]
    failed += [p.id for p in record.pairs if not p.was_run]
    print(f"run {record.run_id} finished in {record.wall_s:.0f} s; reports in {config.out_dir}")
    if failed:
        print(
            f"{len(failed)} cell(s) failed: {', '.join(failed)} (details in the report)",
            file=sys.stderr,
        )
        return 1
    return 0


def _task_defaults(pair, entry) -> dict:
    """A suite entry's settings, over the pair's task's own batch sizes (a causal LM's
    are not those of image and text encoder calls: profiles.default_batches)."""
    found = {"latency_batches": default_batches(pair.task)}
    return {**found, **(entry.overrides() if entry else {})}

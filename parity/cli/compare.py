"""`parity compare`: two runs figure by figure; exit 1 on a regression a --fail-on rule finds."""

from __future__ import annotations

import argparse

from parity.history import rules
from parity.history import store as history
from parity.history.compare import compare as line_up
from parity.history.compare import format_rows
from parity.history.store import DEFAULT_DB as DEFAULT_HISTORY


def add_parser(commands) -> None:
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
    compare.set_defaults(func=command)


def command(args: argparse.Namespace) -> int:
    fail_on = [rules.parse_rule(text) for value in args.fail_on or [] for text in value.split(",")]
    a = history.load_run(args.a, args.db)
    b = history.load_run(args.b, args.db)
    print(f"A: {history.describe(a)}")
    print(f"B: {history.describe(b)}")
    print()
    print(format_rows(line_up(a, b), all_rows=args.all))
    found = rules.judge(a, b, fail_on)
    print()
    print(rules.format_judgement(found, fail_on))
    return 1 if found.regressions else 0

"""`parity`: list the catalog, run pairs, publish reports, compare runs. Thin over runner,
catalog and history; each command lives in its own module (list, run, compare, calibrate)."""

from __future__ import annotations

import argparse
import sys

from parity.cli import calibrate, compare, run
from parity.cli import list as listing
from zoo.sources import UnknownSourceError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="parity",
        description="Compare the PyTorch and TensorFlow versions of pretrained models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (listing, run, calibrate, compare):
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv  # kept in the run folder, so `--resume RUN` can replay it
    args.parser = parser  # `--resume RUN` parses the interrupted run's command line with it
    try:
        return args.func(args)
    except UnknownSourceError as error:
        print(f"parity: {error}", file=sys.stderr)
        return 2

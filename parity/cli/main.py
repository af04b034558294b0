"""`parity`: list the catalog, run pairs, publish reports, compare runs. Thin over runner,
catalog and history; each command lives in its own module (list, run, compare, calibrate).

The one place bad input becomes an exit status: any ParityError, raised wherever the input
was found wanting, is printed here as one line on stderr, and parity exits with 2. Anything
else that escapes is a bug in zoo-parity and keeps its traceback."""

from __future__ import annotations

import argparse
import sys

from parity.cli import calibrate, compare, run, sweep
from parity.cli import list as listing
from parity.errors import OptionsError, ParityError

# What str.splitlines() breaks a line at, each shown escaped (\n) instead.
LINE_BREAKS = {
    ord(c): c.encode("unicode_escape").decode() for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
}


def one_line(message: str) -> str:
    """The message kept to one line: a handle or path the user typed may hold a line break."""
    return message.translate(LINE_BREAKS)


class Parser(argparse.ArgumentParser):
    """argparse, but a malformed command line is a ParityError like any other bad input:
    one line naming the problem and where the options are listed, instead of the usage."""

    def error(self, message: str):
        raise OptionsError(f"{message}; `{self.prog} --help` lists the options")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="parity",
        description="Compare the PyTorch and TensorFlow versions of pretrained models.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command in (listing, run, calibrate, compare, sweep):
        command.add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    where = "parity"
    try:
        args = parser.parse_args(argv)
        where = f"parity {args.command}"
        args.argv = argv  # kept in the run folder, so `--resume RUN` can replay it
        args.parser = parser  # `--resume RUN` parses the interrupted run's command line with it
        return args.func(args)
    except ParityError as error:
        print(f"{where}: {one_line(str(error))}", file=sys.stderr)
        return error.exit_status

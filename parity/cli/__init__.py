"""The `parity` command line: one module per command, all of them thin."""

from parity.cli.main import main

__all__ = ["main"]

"""The one error hierarchy. Every error a user can cause, or fix, is a ParityError: the CLI
prints its message as one line and exits with status 2, never a traceback. The message
names the problem and the fix. Anything else that escapes is a bug in zoo-parity.

This module imports nothing of the project, so any module, zoo's included, may use it.
"""

from __future__ import annotations

EXIT_BAD_INPUT = 2


class ParityError(Exception):
    """Bad input or an unusable environment, told in one line: what is wrong, and the fix."""

    exit_status = EXIT_BAD_INPUT


class UnknownSourceError(ParityError, LookupError):
    """A model handle whose source prefix is missing or unknown."""


class UnknownArchitectureError(ParityError, LookupError):
    """A name its source does not know (a typo, most often); the message gives the closest."""


class ModelUnavailableError(ParityError, RuntimeError):
    """The model needs something this machine lacks: the network, a package, a file."""


class DatasetError(ParityError, ValueError):
    """A data set that is missing, malformed or unreadable."""


class ResultsFileError(ParityError, ValueError):
    """A results file that cannot be read, or that this run would wrongly overwrite."""


class JournalError(ParityError, ValueError):
    """A run that cannot be resumed as asked."""


class HistoryError(ParityError, ValueError):
    """A run history, run id or comparison that cannot be used."""


class RuleError(HistoryError):
    """A malformed --fail-on rule."""


class DiskFullError(ParityError, OSError):
    """A write that found no space left: nothing good was replaced."""

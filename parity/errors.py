"""The one error hierarchy. Every error a user can cause, or fix, is a ParityError: the CLI
prints its message as one line and exits with status 2, never a traceback. The message
names the problem and the fix. Anything else that escapes is a bug in zoo-parity.

This module imports nothing of the project, so any module, zoo's included, may use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

EXIT_BAD_INPUT = 2


class ParityError(Exception):
    """Bad input or an unusable environment, told in one line: what is wrong, and the fix."""

    exit_status = EXIT_BAD_INPUT


class UnknownSourceError(ParityError, LookupError):
    """A model handle whose source prefix is missing or unknown."""


class UnknownArchitectureError(ParityError, LookupError):
    """A name its source does not know (a typo, most often); the message gives the closest."""


class HandleError(ParityError, ValueError):
    """A model handle its source cannot read as written: a malformed hub id, a missing part."""


class UnknownPairError(ParityError, LookupError):
    """A pair or suite name the catalog does not hold; the message gives the closest."""


class OptionsError(ParityError, ValueError):
    """Command-line options that are malformed, out of range, or contradict each other."""


class OutputFolderError(ParityError, OSError):
    """An output folder that cannot be created or written to."""


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


class ClusterError(ParityError, RuntimeError):
    """A Ray cluster that cannot run this run: unreachable, no node offering the parity
    resource, or nodes whose library versions differ from the driver's."""


def closest(name: str, known: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """The known names nearest a misspelt one, ignoring case, best first (difflib)."""
    by_lower: dict[str, str] = {}
    for each in known:
        by_lower.setdefault(each.lower(), each)
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=n, cutoff=cutoff)
    return [by_lower[each] for each in found]


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' Did you mean 'ResNet50'?' for a message, or '' when nothing is close."""
    found = [repr(each) for each in closest(name, known)]
    if not found:
        return ""
    listed = found[0] if len(found) == 1 else f"{', '.join(found[:-1])} or {found[-1]}"
    return f" Did you mean {listed}?"

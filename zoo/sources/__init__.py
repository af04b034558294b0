"""Sources: where a model comes from, the parent's half of each model source.

Each module in this package defines one source and registers it with
`@register_source`. `resolve(name)` says where the model is (a local folder, a package
that ships it, a hub id) and whether it can load here now; `materialize` makes it
loadable (converting a file in a child process, say). Neither imports a framework, so
the parent process and `parity list` can call them, and tests can check them offline.

The other half, building the model with its own library, is the source's loader in
parity.child.loaders (registered under the same prefix): it runs only inside a worker
child, where exactly one framework is imported.

Extra sources (tests, a user's own) come from modules named in the environment
variable PARITY_PLUGINS (comma-separated), imported in the parent and in every worker;
such a module registers a source here and a loader there.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from parity.errors import (  # noqa: F401  (raised and re-exported)
    HandleError,
    ModelUnavailableError,
    UnknownSourceError,
    closest,
)

PLUGINS_ENV = "PARITY_PLUGINS"

# Availability of a resolved model, from most to least local.
LOCAL = "local"  # a path the user gave
SHIPPED = "shipped"  # inside an installed PyPI package
CACHED = "cached"  # in the hub's local cache
NETWORK = "network"  # must be downloaded first
MISSING = "missing"  # a local path that does not exist, or a package not installed


@dataclass(frozen=True)
class Location:
    """Where a model is: `path` when it is on disk, else `hub_id` to fetch."""

    handle: str
    availability: str
    path: str | None = None
    hub_id: str | None = None
    note: str = ""

    @property
    def loadable_offline(self) -> bool:
        return self.availability in (LOCAL, SHIPPED, CACHED)

    def to_dict(self) -> dict:
        return {
            "handle": self.handle,
            "availability": self.availability,
            "path": self.path,
            "hub_id": self.hub_id,
            "note": self.note,
        }


@dataclass(frozen=True)
class ChildJob:
    """A framework step zoo needs done outside the parent, which imports no framework:
    `python -m MODULE ARGS...` under FRAMEWORK's thread environment. Zoo only describes
    it; the runner starts it (parity.spawn, with a timeout, a memory limit and death with
    the parent) and raises ValueError("FAILURE: why") when it does not succeed."""

    module: str
    args: tuple[str, ...]
    failure: str  # what went wrong, in the user's words: "converting X for Keras failed"
    framework: str = "torch"


# What zoo is handed to run its ChildJobs: returns once the job succeeded, else raises.
RunChild = Callable[[ChildJob], None]


class Source:
    """Base class; subclasses set `prefix`, `framework`, and implement `resolve`."""

    prefix: str = ""
    framework: str = ""
    description: str = ""
    tasks: tuple[str, ...] = ()  # the tasks it can load models for; empty: any
    # The library whose own list of model names a handle draws on (parity.run.names reads
    # it in a child process); empty: resolve() checks names offline, or none can be checked.
    names_library: str = ""
    # Its loader can build the architecture with random weights itself (--weights seeded
    # on an independent pair); a same-weights pair is seeded through zoo.seeding instead.
    seeds_itself: bool = False

    def resolve(self, name: str) -> Location:
        raise NotImplementedError

    def listed_name(self, name: str) -> tuple[str, str | None] | None:
        """The (model, weights variant or None) a handle asks names_library for; None when
        the handle names no listed model (a path, a hub id)."""
        return None

    def materialize(self, location: Location, work_dir: Path, run_child: RunChild) -> Location:
        """Make a resolved model loadable by this source's worker (convert a file, say).
        Runs in the parent, which must not import a framework: framework work goes to a
        child, through run_child(ChildJob(...))."""
        return location


def user_path(text: str) -> Path:
    """A path as the user typed it, ~ expanded; ~NAME of no such user is a bad handle."""
    try:
        return Path(text).expanduser()
    except RuntimeError as error:  # "Could not determine home directory"
        raise HandleError(f"{text}: {error}; write the path out in full") from None


def refuse_empty_file(location: Location) -> None:
    """A 0-byte weights file (an interrupted download or copy) fails in the parent, with
    its path, before a worker is started for it."""
    if location.path and os.path.isfile(location.path) and os.path.getsize(location.path) == 0:
        raise ValueError(
            f"weights file {location.path} is empty (0 bytes); download or export it again"
        )


_SOURCES: dict[str, Source] = {}
_discovered = False


def register_source(cls: type[Source]) -> type[Source]:
    if not cls.prefix or not cls.framework:
        raise ValueError(f"{cls.__name__} must set prefix and framework")
    if cls.prefix in _SOURCES and type(_SOURCES[cls.prefix]) is not cls:
        raise ValueError(f"source prefix {cls.prefix!r} is registered twice")
    _SOURCES[cls.prefix] = cls()
    return cls


def load_plugins() -> None:
    for module in filter(None, (m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(","))):
        importlib.import_module(module)


def _discover() -> None:
    global _discovered
    if _discovered:
        return
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    load_plugins()
    _discovered = True


def all_sources() -> dict[str, Source]:
    _discover()
    return dict(_SOURCES)


def split_handle(handle: str) -> tuple[str, str]:
    """'timm:resnet50' -> ('timm', 'resnet50'); an unknown prefix is an error with suggestions."""
    sources = all_sources()
    prefix, sep, name = handle.partition(":")
    if not sep or not name:
        raise UnknownSourceError(
            f"model handle {handle!r} has no source prefix; write PREFIX:NAME with PREFIX one of "
            f"{', '.join(sorted(sources))}"
        )
    if prefix not in sources:
        close = closest(prefix, sources, cutoff=0.4)
        hint = f" Did you mean {', '.join(repr(c + ':') for c in close)}?" if close else ""
        raise UnknownSourceError(
            f"unknown source prefix {prefix + ':'!r} in {handle!r}.{hint} "
            f"Known prefixes: {', '.join(sorted(sources))}"
        )
    return prefix, name


def get_source(handle: str) -> tuple[Source, str]:
    prefix, name = split_handle(handle)
    return all_sources()[prefix], name


def resolve(handle: str) -> Location:
    source, name = get_source(handle)
    return source.resolve(name)

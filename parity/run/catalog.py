"""The whole catalog: the hand-written pairs (zoo.catalog) and the derived ones (zoo.derived),
which join zoo tables with what the installed packages say they hold.

Those facts are read by two children, one per framework (`python -m parity.child.catalog
torch|tensorflow`: this process imports no framework), and cached in
$XDG_CACHE_HOME/zoo-parity/catalog/ (or $PARITY_CATALOG_CACHE), one file per framework
side keyed by the installed versions of its packages: a new version reads them again, and
so does `parity list --refresh`. The join itself runs on every call; it is cheap, so a
change to the tables shows at once. When a side cannot be read (a framework not installed,
a child that fails) its pairs are missing and `problems` says why in one line each; the
hand-written pairs are always there.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import spawn
from parity.errors import UnknownPairError, did_you_mean
from parity.files import write_json
from zoo.catalog import PAIRS, Pair
from zoo.derived import Dropped, derive

CHILD = "parity.child.catalog"
# framework side -> the distributions whose versions key its cache (the framework first)
SIDES = {
    "torch": ("torch", "torchvision", "timm"),
    "tensorflow": ("tensorflow", "keras", "keras-hub"),
}
FACTS_FORMAT = 1  # raise when parity.child.catalog's output changes shape
READ_TIMEOUT_S = 300.0
CACHE_ENV = "PARITY_CATALOG_CACHE"  # a folder of one's own for these facts (tests set it)


def cache_folder() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zoo-parity" / "catalog"


def installed_versions(side: str) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for distribution in SIDES[side]:
        try:
            found[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            found[distribution] = None
    return found


def cache_path(side: str, versions: dict[str, str | None]) -> Path:
    key = json.dumps([FACTS_FORMAT, versions], sort_keys=True)
    return cache_folder() / f"{side}-{hashlib.sha256(key.encode()).hexdigest()[:16]}.json"


def _well_formed(side: str, found: Any) -> bool:
    """{library: {...}} for each library the side's child reads."""
    return isinstance(found, dict) and all(
        isinstance(found.get(library), dict) for library in SIDES[side][1:]
    )


def _read_cache(side: str, path: Path) -> dict[str, Any] | None:
    try:
        found = json.loads(path.read_text())
    except (OSError, ValueError):
        return None  # absent or damaged: read again
    return found if _well_formed(side, found) else None


def read_in_child(side: str) -> tuple[dict[str, Any] | None, str]:
    """The child's facts for one side, or None and why not."""
    outcome = spawn.run_child(
        CHILD, [side], env=spawn.child_environment(1, side), timeout_s=READ_TIMEOUT_S
    )
    lines = outcome.stdout.strip().splitlines()
    if not outcome.ok or not lines:
        return None, f"reading the {side} zoos failed: {outcome.reason()}"
    try:
        found = json.loads(lines[-1])
    except ValueError:
        return None, f"reading the {side} zoos failed: its output is not JSON"
    if not _well_formed(side, found):
        return None, f"reading the {side} zoos failed: its output is not one object per library"
    return found, ""


def side_facts(side: str, refresh: bool = False) -> tuple[dict[str, Any], list[str]]:
    """{library: facts or {"error": why}} for one framework side, from the cache or a
    child; and its problems, one line each."""
    versions = installed_versions(side)
    framework = SIDES[side][0]
    if versions[framework] is None:
        return {}, [f"{framework} is not installed"]
    path = cache_path(side, versions)
    found = None if refresh else _read_cache(side, path)
    if found is None:
        found, problem = read_in_child(side)
        if found is None:
            return {}, [problem]
        # A library that failed to import is not cached: the next call tries it again.
        if not any(isinstance(facts, dict) and "error" in facts for facts in found.values()):
            try:
                write_json(path, found)
            except OSError:
                pass  # a read-only home still gets its catalog, just not cached
    problems = [
        f"could not read {library}: {facts['error']}"
        for library, facts in found.items()
        if isinstance(facts, dict) and "error" in facts
    ]
    return found, problems


def read_facts(refresh: bool = False) -> tuple[dict[str, Any], list[str]]:
    """Both sides' facts, the two children run side by side; and the problems."""
    results: dict[str, tuple[dict[str, Any], list[str]]] = {}

    def read(side: str) -> None:
        results[side] = side_facts(side, refresh)

    threads = [threading.Thread(target=read, args=(side,)) for side in SIDES]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    facts: dict[str, Any] = {}
    problems: list[str] = []
    for side in SIDES:
        found, side_problems = results[side]
        facts.update(found)
        problems += side_problems
    return facts, problems


@dataclass
class Catalog:
    pairs: dict[str, Pair]  # hand-written first, then derived
    derived: dict[str, Pair] = field(default_factory=dict)
    dropped: list[Dropped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    versions: dict[str, str] = field(default_factory=dict)


def whole_catalog(refresh: bool = False) -> Catalog:
    facts, problems = read_facts(refresh)
    derived = derive(facts)
    return Catalog(
        pairs={**PAIRS, **derived.pairs},
        derived=derived.pairs,
        dropped=derived.dropped,
        problems=problems,
        versions={
            library: found["version"]
            for library, found in facts.items()
            if isinstance(found, dict) and "version" in found
        },
    )


def _by_id(pairs: dict[str, Pair], pair_id: str) -> Pair | None:
    return {key.lower(): pair for key, pair in pairs.items()}.get(pair_id.lower())


def find_pair(pair_id: str) -> Pair:
    """A pair by id (any case): a hand-written one without reading any zoo, else a derived
    one."""
    found = _by_id(PAIRS, pair_id)
    if found is not None:
        return found
    catalog = whole_catalog()
    found = _by_id(catalog.pairs, pair_id)
    if found is not None:
        return found
    missing = (
        f" Derived pairs are missing: {'; '.join(catalog.problems)}." if catalog.problems else ""
    )
    raise UnknownPairError(
        f"no pair named {pair_id!r} in the catalog.{did_you_mean(pair_id, catalog.pairs)} "
        f"`parity list` shows them all.{missing}"
    )

